"""Ingestion: read → validate (collect every problem) → pseudonymise → deduplicate → store atomically."""
