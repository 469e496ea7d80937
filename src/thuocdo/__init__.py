"""thuocdo: measures Vietnam's digital transformation."""

__version__ = "0.1.0"
