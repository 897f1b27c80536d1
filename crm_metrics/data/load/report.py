"""What a load tells its caller: the report, its problems, and the refusal that carries them."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["merge", "replace"]
Progress = Callable[[float, str], None]

MAX_PROBLEMS_SHOWN = 20
MAX_EXTRA_SHOWN = 20


# -- results -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    line: int | None
    column: str | None
    value: str | None
    rule: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        col = f", column {self.column}" if self.column else ""
        val = f", value {self.value!r}" if self.value is not None else ""
        return f"{where}{col}{val}: {self.rule}"


@dataclass
class LoadReport:
    file_name: str
    table: str
    mode: str
    encoding: str = "utf-8"
    delimiter: str = ","
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    unmatched: int = 0
    sha256: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # target column -> source header
    extra_columns: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    load_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def summary(self) -> str:
        if not self.ok:
            head = (f"{self.file_name}: refused, nothing was loaded into {self.table} "
                    f"({self.problem_count} problem{'s' if self.problem_count != 1 else ''}).")
            lines = [head] + [f"  {self.file_name}: {p}" for p in self.problems]
            if self.problem_count > len(self.problems):
                lines.append(f"  ... and {self.problem_count - len(self.problems)} more")
            return "\n".join(lines)
        parts = [f"{self.file_name} -> {self.table} ({self.mode}, {self.encoding}, "
                 f"delimiter {self.delimiter!r}): {self.rows_read} rows read, {self.inserted} inserted, "
                 f"{self.updated} updated, {self.unchanged} unchanged"]
        if self.removed:
            parts.append(f"{self.removed} previous rows removed (replace)")
        if self.unmatched:
            parts.append(f"{self.unmatched} rows with a customer_id not in customers (kept, counted)")
        if self.extra_columns:
            shown = ", ".join(self.extra_columns[:MAX_EXTRA_SHOWN])
            more = len(self.extra_columns) - MAX_EXTRA_SHOWN
            parts.append("ignored extra columns: " + shown + (f" and {more} more" if more > 0 else ""))
        return "; ".join(parts) + "."


class LoadRefused(Exception):
    """The file was refused; ``report.problems`` says why. Nothing changed."""

    def __init__(self, report: LoadReport) -> None:
        super().__init__(report.summary())
        self.report = report


def refuse(report: LoadReport, rule: str, line: int | None = None, column: str | None = None) -> LoadRefused:
    report.problems = [Problem(line, column, None, rule)]
    report.problem_count = 1
    return LoadRefused(report)
