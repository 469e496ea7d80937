"""Keyed hashing of person ids: HMAC-SHA256 with the store's secret, computed inside the database.

A person key is the first 64 bits of HMAC-SHA256(secret, domain ␟ user_id), as a signed BIGINT. The *key
domain* is the source's name for a source with a ``private`` link key (the default): the same user_id in two
such sources are two persons. For every source declared with the ``shared`` link key it is the one system-wide
domain, the empty string (:data:`thuocdo.model.sources.SHARED_KEY_DOMAIN`; no source name is empty): the same
user_id delivered by two shared sources is one person. A source's domain is looked up with
:func:`thuocdo.store.sources.key_domain`. With 64 bits, the chance that two of 80 million persons of one domain
share a key is about 2 in 10,000 (birthday bound n²/2⁶⁵).

>>> person_key(b"k" * 32, "telco-a", "0912345678") == person_key(b"k" * 32, "telco-a", "0912345678")
True
>>> person_key(b"k" * 32, "telco-a", "0912345678") == person_key(b"k" * 32, "", "0912345678")
False
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

import numpy as np

_BLOCK = 64
_SIGN = 1 << 63


def hmac_pads(secret: bytes) -> tuple[str, str]:
    """The HMAC inner and outer padded keys, as hex, for the SQL form of :func:`person_key`."""
    key = secret if len(secret) <= _BLOCK else hashlib.sha256(secret).digest()
    key = key.ljust(_BLOCK, b"\x00")
    return bytes(b ^ 0x36 for b in key).hex(), bytes(b ^ 0x5C for b in key).hex()


def person_key(secret: bytes, domain: str, user_id: str) -> int:
    """Reference (Python) form; the database computes the same value with :func:`person_key_sql`."""
    digest = hmac.new(secret, f"{domain}\x1f{user_id}".encode(), hashlib.sha256).hexdigest()
    return int(digest[:16], 16) - _SIGN


def person_keys(secret: bytes, domain: str, user_ids: Sequence[str]) -> np.ndarray:
    """The person keys of many user ids (int64), as :func:`person_key` computes each: the HMAC's inner and outer
    states after the padded key are computed once and copied for each id."""
    key = (secret if len(secret) <= _BLOCK else hashlib.sha256(secret).digest()).ljust(_BLOCK, b"\x00")
    inner0 = hashlib.sha256(bytes(b ^ 0x36 for b in key) + f"{domain}\x1f".encode())
    outer0 = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    digests = []
    for value in user_ids:
        inner = inner0.copy()
        inner.update(value.encode())
        outer = outer0.copy()
        outer.update(inner.digest())
        digests.append(outer.digest()[:8])
    first = np.frombuffer(b"".join(digests), dtype=">u8").astype(np.uint64)
    keys: np.ndarray = (first ^ np.uint64(_SIGN)).view(np.int64)
    return keys


def person_key_sql(user_id_expr: str) -> str:
    """SQL for the person key of a text expression; parameters $ipad, $opad (hex) and $domain
    (:func:`person_key_params`)."""
    inner = f"sha256(unhex($ipad) || encode($domain || chr(31) || {user_id_expr}))"
    outer = f"sha256(unhex($opad) || unhex({inner}))"
    return f"CAST(CAST(('0x' || left({outer}, 16)) AS UBIGINT)::HUGEINT - {_SIGN} AS BIGINT)"


def person_key_params(secret: bytes, domain: str) -> dict[str, str]:
    """The parameters of :func:`person_key_sql` for a key domain."""
    ipad, opad = hmac_pads(secret)
    return {"ipad": ipad, "opad": opad, "domain": domain}
