"""What the readers hand to validation: a table of text columns with line numbers, the lines set aside whole,
and the rows the reader itself found damaged (with their problems)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

LINE = "_line"
#: the problems the reader found in a row it kept (bad bytes, a wrong number of columns): a list of
#: {field, message}, NULL for a sound row. Validation adds them to the row's own problems.
READ_PROBLEMS = "_read_problems"
PROBLEM_LIST = pa.list_(pa.struct([("field", pa.string()), ("message", pa.string())]))
#: column names the readers use for themselves: an input column of that name is ignored
RESERVED = frozenset({LINE, READ_PROBLEMS, "_json", "_json_ok"})


class InputError(ValueError):
    """The file cannot be read; nothing of it is stored."""


@dataclass(frozen=True)
class Rejection:
    """A line set aside before parsing (too long to be a record, unreadable): only where and why is kept."""

    line: int | None
    field: str
    message: str


@dataclass
class RawInput:
    name: str
    format: str
    table: pa.Table  # text columns of the contract (missing optional ones as nulls) + _line [+ _read_problems]
    rejections: list[Rejection] = field(default_factory=list)
    extra_columns: tuple[str, ...] = ()


@dataclass
class FlaggedRow:
    """A line kept with the problems the reader found in it: its values as far as they could be assigned to
    columns (a damaged user id is left out), and (field, message) pairs, "*" for the whole line."""

    line: int
    values: dict[str, str | None]
    problems: list[tuple[str, str]]


def problem_array(problems: list[list[tuple[str, str]] | None]) -> pa.Array:
    """The READ_PROBLEMS column for a list of rows' problems (None for a sound row)."""
    return pa.array([None if p is None else [{"field": f, "message": m} for f, m in p] for p in problems],
                    PROBLEM_LIST)


def append_flagged(table: pa.Table, rows: list[FlaggedRow]) -> pa.Table:
    """The table of text columns (and _line) with the flagged rows appended and the READ_PROBLEMS column."""
    if not rows:
        return table
    names = [n for n in table.column_names if n not in (LINE, READ_PROBLEMS)]
    flagged = {n: pa.array([r.values.get(n) for r in rows], pa.string()) for n in names}
    flagged[LINE] = pa.array([r.line for r in rows], pa.int64())
    flagged[READ_PROBLEMS] = problem_array([r.problems for r in rows])
    if READ_PROBLEMS not in table.column_names:
        table = table.append_column(READ_PROBLEMS, pa.nulls(table.num_rows, PROBLEM_LIST))
    kept = table.select([*names, LINE, READ_PROBLEMS])
    return pa.concat_tables([kept, pa.table(flagged).cast(kept.schema)])
