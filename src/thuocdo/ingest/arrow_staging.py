"""The usual posted batch, staged with Arrow kernels: no SQL statement, in the thread that received it.

A batch posted by an operator is nearly always clean: every record an object, a known platform, a time in
the ISO 8601 form the contract shows, integer counts, a known province or none. For such a batch,
:func:`stage_clean` computes exactly what :func:`thuocdo.ingest.stream.stage_batches` would (the typed
values, the person key, the Vietnamese day and month, the province of the day's era and the record key),
with vectorised Arrow and numpy operations, and the keyed hashes with :mod:`hashlib`. It costs a few
milliseconds per thousand records, needs no database statement, and runs in the thread that parsed the
request, so batches are staged side by side while the writer commits.

It is not a second validator. It only recognises values whose meaning is beyond doubt and declines (returns
None) as soon as one value is anything else: a bad record, but also a lower-case ``z``, blanks around a
value, a time with nanoseconds. A declined batch goes through the SQL staging, which is the one place where
records are judged and problems are written. That both give the same rows is a property test
(``tests/web/test_clean.py``), run on generated batches of valid and invalid values.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from thuocdo.catalog import Catalog
from thuocdo.ingest.contracts import INTEGER_RULES, MAX_RECORD_ID, MAX_USER_ID
from thuocdo.ingest.pseudonymise import person_keys
from thuocdo.ingest.readers import LINE, RawInput
from thuocdo.ingest.validate import INTEGER_FIELDS, REFORM_DAY, pretype_integers, province_codes

#: ISO 8601 as the contract shows it, with every part in range: a date, or a date and a time, the time
#: optionally with seconds (and up to six decimals) and an offset (Z or ±HH:MM)
_CLEAN_TIME = (r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
               r"([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-](0\d|1[0-4]):[0-5]\d)?)?$")
_WITH_OFFSET = r"(Z|[+-]\d\d:\d\d)$"
_LOCAL_OFFSET_US = 7 * 3600 * 1_000_000  # Asia/Ho_Chi_Minh is UTC+7 all year
_DAY_US = 86_400 * 1_000_000
_EPOCH = dt.datetime(1970, 1, 1)
#: the accepted instants (UTC): local times from 2000-01-01 to the end of 2100, as validation has them
_FIRST_US = (dt.datetime(1999, 12, 31, 17) - _EPOCH) // dt.timedelta(microseconds=1)
_LAST_US = (dt.datetime(2100, 12, 31, 17) - _EPOCH) // dt.timedelta(microseconds=1)
_REFORM_US = ((dt.datetime.combine(REFORM_DAY, dt.time()) - dt.timedelta(hours=7) - _EPOCH)
              // dt.timedelta(microseconds=1))


class ValueMaps:
    """Platform and province values resolved through the catalog, remembered (a process sees few distinct
    values). Safe to share between threads: a value resolved twice gives the same answer."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._platforms: dict[str, str | None] = {}
        self._provinces: dict[str, tuple[str | None, str | None]] = {}
        self._lock = threading.Lock()

    def platforms(self, values: list[str]) -> list[str | None]:
        missing = [v for v in values if v not in self._platforms]
        if missing:
            with self._lock:
                for v in missing:
                    self._platforms[v] = self.catalog.resolve_platform(v)
        return [self._platforms[v] for v in values]

    def provinces(self, values: list[str]) -> list[tuple[str | None, str | None]]:
        """(code before the reform, code from it) of each value, as validation resolves them."""
        missing = [v for v in values if v not in self._provinces]
        if missing:
            with self._lock:
                for v in missing:
                    self._provinces[v] = province_codes(self.catalog, v)
        return [self._provinces[v] for v in values]


def stage_clean(maps: ValueMaps, secret: bytes, key_domain: str, raw: RawInput) -> pa.Table | None:
    """The good rows of a batch with no doubtful value, as :data:`thuocdo.ingest.usage.GOOD_ROWS_SQL` gives
    them (same columns, types and values), persons keyed in `key_domain` (the source's name, or the shared
    domain: :func:`thuocdo.store.sources.key_domain`); None when any value is doubtful or any record is bad."""
    t = raw.table
    n = t.num_rows
    if n == 0 or raw.rejections:
        return None
    if not pc.all(t["_json_ok"]).as_py() or t["user_key"].null_count != n:
        return None
    if any(pa.types.is_string(t[name].type) and t[name].null_count < n for name in INTEGER_FIELDS):
        t = pretype_integers(t, INTEGER_FIELDS)  # digits sent as text, cast as the SQL staging casts them

    user_id = t["user_id"]
    if not _strings(user_id) or user_id.null_count or not _all(pc.greater(pc.binary_length(user_id), 0)):
        return None
    if not _all(pc.less_equal(pc.utf8_length(user_id), MAX_USER_ID)):
        return None
    record_id = t["record_id"]
    if not _strings(record_id, nulls=True):
        return None
    record_id = pc.if_else(pc.equal(record_id, ""), pa.scalar(None, pa.string()), record_id)  # '' is no record_id
    if not _all(pc.less_equal(pc.utf8_length(record_id), MAX_RECORD_ID), nulls=True):
        return None

    platform = _resolve(t["platform"], maps.platforms)
    if platform is None or platform.null_count:
        return None
    ts = _instants(t["time"])
    if ts is None:
        return None
    ints = {}
    for rule in INTEGER_RULES:
        name = rule.name
        col = t[name]
        if col.null_count == n:  # absent from every record
            ints[name] = np.full(n, rule.default, dtype=np.int64)
            continue
        if not pa.types.is_integer(col.type):
            return None  # text that is not plain digits
        values = pc.fill_null(col.cast(pa.int64()), rule.default).to_numpy()
        if (values < 0).any() or (values > rule.maximum).any():
            return None
        ints[name] = values
    province = _provinces(t["province"], ts, maps)
    if province is False:
        return None

    day_number = (ts + _LOCAL_OFFSET_US) // _DAY_US
    day = pa.array(day_number.astype(np.int32), pa.date32())
    person = _person_keys(secret, key_domain, user_id)
    k1, k2 = _record_keys(secret, record_id, person, platform, ts, ints, province)
    return pa.table({
        "person": pa.array(person, pa.int64()), "platform": platform.combine_chunks(), "day": day,
        "month": _months(day_number), **{f"{name}_n": pa.array(ints[name], pa.int64()) for name in INTEGER_FIELDS},
        "province_code": province, "k1": pa.array(k1, pa.uint64()), "k2": pa.array(k2, pa.uint64()),
        LINE: t[LINE].combine_chunks()})


def _months(day_number: np.ndarray) -> pa.Array:
    """'YYYY-MM' of each day (days since the epoch), each distinct month formatted once."""
    months, index = np.unique(day_number.astype("datetime64[D]").astype("datetime64[M]"), return_inverse=True)
    return pc.take(pa.array(months.astype(str).tolist(), pa.string()), pa.array(index.astype(np.int32)))


def _strings(col: pa.ChunkedArray, *, nulls: bool = False) -> bool:
    if pa.types.is_null(col.type):
        return nulls
    return bool(pa.types.is_string(col.type))


def _all(mask: pa.ChunkedArray | pa.Array, *, nulls: bool = False) -> bool:
    """Whether every value of a boolean mask is true (a null counts as `nulls`)."""
    return len(mask) == 0 or pc.all(pc.fill_null(mask, nulls)).as_py() is True


def _resolve(col: pa.ChunkedArray, resolve: Callable[[list[str]], list[str | None]]) -> pa.ChunkedArray | None:
    """Each value mapped through `resolve` (a list of distinct values -> their ids), via a dictionary."""
    if not _strings(col) or col.null_count:
        return None
    encoded = pc.dictionary_encode(col.combine_chunks())
    ids = pa.array(resolve(encoded.dictionary.to_pylist()), pa.string())
    return pa.chunked_array([pc.take(ids, encoded.indices)])


def _instants(col: pa.ChunkedArray) -> np.ndarray | None:
    """Microseconds since the epoch (UTC) of each time: with its offset as given, without one as local time
    (UTC+7); None unless every time is clean and within 2000–2100."""
    if not _strings(col) or col.null_count or not _all(pc.match_substring_regex(col, _CLEAN_TIME)):
        return None
    offset = pc.match_substring_regex(col, _WITH_OFFSET).to_numpy(zero_copy_only=False)
    us = np.empty(len(col), dtype=np.int64)
    try:
        if offset.all():  # the usual batch: one cast
            us[:] = pc.cast(col, pa.timestamp("us", "UTC")).cast(pa.int64()).to_numpy()
        elif offset.any():
            us[offset] = pc.cast(col.filter(pa.array(offset)), pa.timestamp("us", "UTC")).cast(pa.int64()).to_numpy()
        if not offset.all():
            local = pc.cast(col.filter(pa.array(~offset)), pa.timestamp("us")).cast(pa.int64()).to_numpy()
            us[~offset] = local - _LOCAL_OFFSET_US
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # a day that does not exist (2022-02-30)
    if (us < _FIRST_US).any() or (us >= _LAST_US).any():
        return None
    return us


def _provinces(col: pa.ChunkedArray, ts: np.ndarray, maps: ValueMaps) -> pa.Array | bool:
    """The 34-unit code of each record's province in its era (null when absent or empty); False when a value
    is doubtful (blanks around it, unknown in either era)."""
    if pa.types.is_null(col.type):
        return pa.nulls(len(col), pa.string())
    if not _strings(col):
        return False
    encoded = pc.dictionary_encode(col.combine_chunks())
    values = [v for v in encoded.dictionary.to_pylist() if v]
    if any(v != v.strip() for v in values):
        return False
    known = dict(zip(values, maps.provinces(values), strict=True))
    if any(before is None or after is None for before, after in known.values()):
        return False
    codes = [known.get(v, (None, None)) for v in encoded.dictionary.to_pylist()]
    before = pc.take(pa.array([c[0] for c in codes], pa.string()), encoded.indices)
    after = pc.take(pa.array([c[1] for c in codes], pa.string()), encoded.indices)
    return pc.if_else(pa.array(ts >= _REFORM_US), after, before)


def _person_keys(secret: bytes, domain: str, user_id: pa.ChunkedArray) -> np.ndarray:
    """HMAC-SHA256(secret, domain ␟ user_id), first 64 bits, as signed integers: each distinct id hashed once
    (the same value as :func:`thuocdo.ingest.pseudonymise.person_key`)."""
    encoded = pc.dictionary_encode(user_id.combine_chunks())
    keys: np.ndarray = person_keys(secret, domain, encoded.dictionary.to_pylist())[encoded.indices.to_numpy()]
    return keys


def _record_keys(secret: bytes, record_id: pa.ChunkedArray, person: np.ndarray, platform: pa.ChunkedArray,
                 ts: np.ndarray, ints: dict[str, np.ndarray], province: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The two halves of each record key's md5 (as :data:`thuocdo.ingest.usage.RECORD_KEY_SQL` and
    ``md5_number`` make them): from the record_id, or else from the record's typed content."""
    prefix = f"{secret.hex()}\x1f"
    by_id = hashlib.md5(f"{prefix}i".encode())
    digests = []
    ids = record_id.to_pylist()
    if record_id.null_count:  # content keys: the typed values as text, as concat_ws writes them
        columns = zip(person.tolist(), platform.to_pylist(), ts.tolist(),
                      *(ints[name].tolist() for name in INTEGER_FIELDS), province.to_pylist(), strict=True)
        for rid, (p, plat, us, a, b, s, i, prov) in zip(ids, columns, strict=True):
            if rid is None:
                content = f"{prefix}c\x1f{p}\x1f{plat}\x1f{us}\x1f{a}\x1f{b}\x1f{s}\x1f{i}\x1f{prov or ''}"
                digests.append(hashlib.md5(content.encode()).digest())
            else:
                h = by_id.copy()
                h.update(rid.encode())
                digests.append(h.digest())
    else:
        for rid in ids:
            h = by_id.copy()
            h.update(rid.encode())
            digests.append(h.digest())
    halves = np.frombuffer(b"".join(digests), dtype="<u8").reshape(-1, 2)  # md5_number reads the digest little-endian
    return halves[:, 1].copy(), halves[:, 0].copy()
