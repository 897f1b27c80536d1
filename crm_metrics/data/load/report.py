"""What a load tells its caller: the report, its problems, and the refusal that carries them.
Every refusal is built here (:func:`refuse`, :func:`refuse_all`), so problems reach the report one way."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["merge", "replace"]
Progress = Callable[[float, str], None]

MAX_PROBLEMS_SHOWN = 20
MAX_EXTRA_SHOWN = 20
SHOWN_CHARS = 80  # of one value or name from a file in a message


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """A value from a file cut to a readable length for a message: a 1 MB cell (or a 1 GB line)
    must not become a 1 MB message."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…({len(text):,} characters)"


def header_names(headers: Sequence[str], limit: int = MAX_EXTRA_SHOWN) -> str:
    """Header names for a message: each clipped, at most ``limit`` of them."""
    shown = ", ".join(clip(h) for h in headers[:limit])
    more = len(headers) - limit
    return shown + (f" and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class Problem:
    line: int | None
    column: str | None
    value: str | None
    rule: str

    def __post_init__(self) -> None:
        # cut once here, so that every view of a problem (message, the app's table) is short
        if self.value is not None:
            object.__setattr__(self, "value", clip(str(self.value)))
        if self.column is not None:
            object.__setattr__(self, "column", clip(str(self.column)))

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
            parts.append("ignored extra columns: " + header_names(self.extra_columns))
        return "; ".join(parts) + "."

    def reset_counts(self) -> None:
        """Back to what was known before any row was written (the fast path gave up)."""
        self.rows_read = self.inserted = self.updated = self.unchanged = self.removed = 0
        self.unmatched = 0
        self.load_id = None


class LoadRefused(Exception):
    """The file was refused; ``report.problems`` says why. Nothing changed."""

    def __init__(self, report: LoadReport) -> None:
        super().__init__(report.summary())
        self.report = report


def refuse_all(report: LoadReport, problems: Sequence[Problem], count: int | None = None) -> LoadRefused:
    """The refusal carrying ``problems`` (the first MAX_PROBLEMS_SHOWN of them; ``count`` is the
    total when more were found than were listed)."""
    report.problems = list(problems[:MAX_PROBLEMS_SHOWN])
    report.problem_count = len(problems) if count is None else count
    return LoadRefused(report)


def refuse(report: LoadReport, rule: str, line: int | None = None, column: str | None = None) -> LoadRefused:
    """The refusal of a whole file for one reason."""
    return refuse_all(report, [Problem(line, column, None, rule)])
