"""The use cases: ingest, metrics, indices, reports, quarantine and the long-running service.

This is the only package that opens a store and sequences steps (merge the inbox, then rebuild the rollups,
then query). The command line (:mod:`thuocdo.cli`), the web face (:mod:`thuocdo.web`) and the demo call
these functions; reports and indices never call each other's faces.
"""
