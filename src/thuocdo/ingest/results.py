"""What an ingestion reports back."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str
    message: str

    def text(self) -> str:
        where = f"dòng {self.line}" if self.line is not None else "dòng không xác định"
        column = "" if self.field == "*" else f", cột `{self.field}`"
        return f"{self.file}, {where}{column}: {self.message}."


@dataclass
class BatchResult:
    file: str
    source: str
    kind: str
    batch_id: str
    rows_read: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    problems: list[Problem] = field(default_factory=list)
