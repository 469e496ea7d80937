"""The store: a partitioned Parquet lake plus an embedded DuckDB database under one home folder."""

from thuocdo.store.home import Store, StoreError, resolve_home

__all__ = ["Store", "StoreError", "resolve_home"]
