"""The input contracts of DESIGN.md, declared once: the readers, the validators and the docs use them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Contract:
    kind: str
    fields: tuple[str, ...]
    required: tuple[str, ...]
    #: a column that may stand in for a required one (a repaired quarantine row carries `user_key`)
    alternatives: tuple[tuple[str, str], ...] = ()
    #: fields read as integers when a typed file (Parquet) gives them so; any other field is read as text
    integers: tuple[str, ...] = ()
    #: free-text fields whose value may span several lines; in any other field a line break is a damaged row
    #: (an unclosed quote of a CSV file swallows the lines after it)
    multiline: tuple[str, ...] = ()

    def missing(self, columns: set[str]) -> list[str]:
        alt = dict(self.alternatives)
        return [f for f in self.required if f not in columns and alt.get(f) not in columns]


MAX_USER_ID = 256
MAX_RECORD_ID = 128
#: The largest plausible value of a record's integer fields (one person on one platform, for one session or
#: one day); a larger value is rejected with its reason. They also keep every stored sum far from overflowing.
MAX_ACTIVE_SECONDS = 86_400      # a whole day in the foreground
MAX_BYTES = 10_000_000_000_000   # 10 TB: a day at 1 Gbit/s moves 10.8 TB
MAX_SESSIONS = 86_400            # one session a second for a whole day
MAX_INSTALLS = 1_000             # first-time installs of one app by one person in one record


@dataclass(frozen=True)
class IntegerField:
    """A record's optional non-negative integer field: its value when absent and its largest plausible value."""

    name: str
    default: int
    maximum: int


#: the integer fields of a usage record, the one rule table of their defaults and bounds
INTEGER_RULES = (
    IntegerField("active_seconds", 0, MAX_ACTIVE_SECONDS),
    IntegerField("bytes", 0, MAX_BYTES),
    IntegerField("sessions", 1, MAX_SESSIONS),
    IntegerField("installs", 0, MAX_INSTALLS),
)


USAGE = Contract(
    kind="usage",
    fields=("record_id", "user_id", "user_key", "platform", "time", "active_seconds", "bytes", "sessions",
            "installs", "province"),
    required=("user_id", "platform", "time"),
    alternatives=(("user_id", "user_key"),),
    integers=tuple(rule.name for rule in INTEGER_RULES),
)
WEIGHTS = Contract(
    kind="weights",
    fields=("user_id", "user_key", "month", "weight"),
    required=("user_id", "month", "weight"),
    alternatives=(("user_id", "user_key"),),
)
AGGREGATES = Contract(
    kind="aggregates",
    fields=("platform", "period", "metric", "value", "source"),
    required=("platform", "period", "metric", "value"),
)

CONTRACTS = {c.kind: c for c in (USAGE, WEIGHTS, AGGREGATES)}

#: no valid row of any contract comes near this; longer lines are rejected before parsing
MAX_LINE_BYTES = 64 * 1024
