"""Keyed hashing of person ids: HMAC-SHA256 with the store's secret, computed inside the database.

A person key is the first 64 bits of HMAC-SHA256(secret, source ␟ user_id), as a signed BIGINT. Persons are
per source: the same user_id in two sources are two persons. With 64 bits, the chance that two of 80 million
persons of one source share a key is about 2 in 10,000 (birthday bound n²/2⁶⁵).

>>> person_key(b"k" * 32, "telco-a", "0912345678") == person_key(b"k" * 32, "telco-a", "0912345678")
True
"""

from __future__ import annotations

import hashlib
import hmac

_BLOCK = 64
_SIGN = 1 << 63


def hmac_pads(secret: bytes) -> tuple[str, str]:
    """The HMAC inner and outer padded keys, as hex, for the SQL form of :func:`person_key`."""
    key = secret if len(secret) <= _BLOCK else hashlib.sha256(secret).digest()
    key = key.ljust(_BLOCK, b"\x00")
    return bytes(b ^ 0x36 for b in key).hex(), bytes(b ^ 0x5C for b in key).hex()


def person_key(secret: bytes, source: str, user_id: str) -> int:
    """Reference (Python) form; the database computes the same value with :func:`person_key_sql`."""
    digest = hmac.new(secret, f"{source}\x1f{user_id}".encode(), hashlib.sha256).hexdigest()
    return int(digest[:16], 16) - _SIGN


def person_key_sql(user_id_expr: str) -> str:
    """SQL for the person key of a text expression; parameters $ipad, $opad (hex) and $source."""
    inner = f"sha256(unhex($ipad) || encode($source || chr(31) || {user_id_expr}))"
    outer = f"sha256(unhex($opad) || unhex({inner}))"
    return f"CAST(CAST(('0x' || left({outer}, 16)) AS UBIGINT)::HUGEINT - {_SIGN} AS BIGINT)"
