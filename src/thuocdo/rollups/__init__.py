"""The rollups kept in step with the stored records: their definitions (engine-neutral SQL), their rebuild on
the embedded store, their build on Spark, and the per-day distinct-count sketches.

``person_day`` (stored by ingestion) → ``person_month`` → ``usage_month`` (what every metric query reads);
``person_day`` → ``sketch_day`` (mergeable HLL sketches for approximate distinct counts).
"""
