"""The metric dictionary, written once as engine-neutral SQL (parsed and printed per engine by SQLGlot)."""
