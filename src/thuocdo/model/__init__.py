"""The vocabulary of thuocdo: small frozen value types, no I/O."""
