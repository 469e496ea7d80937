"""Reading the CSV files shipped in ``thuocdo/catalog/data`` (UTF-8, NFC, header row)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from importlib import resources

from thuocdo.catalog.model import CatalogError

_PACKAGE = "thuocdo.catalog"


def read_table(file_name: str, columns: Sequence[str]) -> list[dict[str, str]]:
    """The rows of ``data/<file_name>``; raises :class:`CatalogError` when a column is missing."""
    text = (resources.files(_PACKAGE) / "data" / file_name).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in columns if c not in (reader.fieldnames or ())]
    if missing:
        raise CatalogError(f"{file_name}: missing column(s) {', '.join(missing)}")
    return [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]


def parse_bool(value: str, where: str) -> bool:
    if value in ("true", "false"):
        return value == "true"
    raise CatalogError(f"{where}: expected true or false, got {value!r}")


def split_list(value: str) -> tuple[str, ...]:
    """A ``|``-separated cell as a tuple, empty items dropped."""
    return tuple(item.strip() for item in value.split("|") if item.strip())


def require_unique(values: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise CatalogError(f"{what}: {value!r} appears more than once")
        seen.add(value)
