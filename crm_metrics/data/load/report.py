"""What a load tells its caller: the report, its problems, and the refusal that carries them.
Every refusal is built here (:func:`refuse`, :func:`refuse_all`), so problems reach the report one way."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from crm_metrics.data.load_warnings import LoadWarning
from crm_metrics.data.problems import ProblemSummary, problem_rows, summarise

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
    problems: list[Problem] = field(default_factory=list)  # the first MAX_PROBLEMS_SHOWN, in file order
    problem_count: int = 0
    load_id: int | None = None
    # one per column and rule, most frequent first (count, first lines and values, the full rule)
    summaries: list[ProblemSummary] = field(default_factory=list)
    # every cell-level problem, for the download (at most problems.MAX_KEPT; problem_count is exact)
    all_problems: list[Problem] = field(default_factory=list)
    # after a successful load: what should still stop the green tick (crm_metrics.data.load_warnings)
    warnings: list[LoadWarning] = field(default_factory=list)
    # exports (crm_metrics.data.load.exports): the preset used, rows its filter skipped, what it did
    preset: str | None = None
    preset_detected: bool = False
    skipped: int = 0
    notes: list[str] = field(default_factory=list)
    currency: str | None = None   # the file's currency when its amounts were converted
    rate: float | None = None     # the rate they were converted at

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def ok_without_warnings(self) -> bool:
        """Loaded, and nothing to look at: the plain success (the app's green tick)."""
        return self.ok and not self.warnings

    def problem_rows(self) -> list[dict[str, Any]]:
        """Every kept cell-level problem as rows (line, column, value, rule), for a CSV download:
        write them with crm_metrics.delivery.output's safe CSV (formulas escaped)."""
        return problem_rows(self.all_problems or self.problems)

    def summary(self) -> str:
        if not self.ok:
            return self._refusal()
        preset = ""
        if self.preset:
            preset = f", preset {self.preset}{' (detected from the headers)' if self.preset_detected else ''}"
        parts = [f"{self.file_name} -> {self.table} ({self.mode}, {self.encoding}, "
                 f"delimiter {self.delimiter!r}{preset}): {self.rows_read} rows read, {self.inserted} inserted, "
                 f"{self.updated} updated, {self.unchanged} unchanged"]
        if self.removed:
            parts.append(f"{self.removed} previous rows removed (replace)")
        if self.unmatched:
            parts.append(f"{self.unmatched} rows with a customer_id not in customers (kept, counted)")
        parts += self.notes[1:] if self.preset else self.notes  # the first note names the preset
        if self.extra_columns:
            parts.append("ignored extra columns: " + header_names(self.extra_columns))
        return "; ".join(parts) + "."

    def _refusal(self) -> str:
        """Up to MAX_PROBLEMS_SHOWN problems: each with its line. More: one line per column and
        rule (how many, where first, the full rule), the cell list being in problem_rows()."""
        n = self.problem_count
        preset = f" (preset {self.preset})" if self.preset else ""
        into = f" into {self.table}" if self.table != "?" else ""
        head = (f"{self.file_name}: refused, nothing was loaded{into}{preset} "
                f"({n:,} problem{'s' if n != 1 else ''}).")
        if n <= MAX_PROBLEMS_SHOWN or not self.summaries:
            lines = [head] + [f"  {self.file_name}: {p}" for p in self.problems]
            if n > len(self.problems):
                lines.append(f"  ... and {n - len(self.problems)} more")
            return "\n".join(lines)
        lines = [head] + [f"  {self.file_name}: {s}" for s in self.summaries]
        lines.append(f"  ({n:,} problems in {len(self.summaries)} group{'s' if len(self.summaries) != 1 else ''} "
                     f"of column and rule; every problem with its line: --problems FILE, or the Data page's download)")
        return "\n".join(lines)

    def reset_counts(self) -> None:
        """Back to what was known before any row was written (the fast path gave up)."""
        self.rows_read = self.inserted = self.updated = self.unchanged = self.removed = 0
        self.unmatched = 0
        self.load_id = None
        self.warnings = []


class LoadRefused(Exception):
    """The file was refused; ``report.problems`` says why. Nothing changed."""

    def __init__(self, report: LoadReport) -> None:
        super().__init__(report.summary())
        self.report = report


def refuse_all(report: LoadReport, problems: Sequence[Problem], count: int | None = None,
               summaries: Sequence[ProblemSummary] | None = None) -> LoadRefused:
    """The refusal carrying ``problems`` (every one found, or the first of them: ``count`` is the
    total when more were found than were listed); the report lists the first MAX_PROBLEMS_SHOWN,
    keeps them all for the download, and summarises them per column and rule (``summaries`` when
    the caller counted them over more problems than it lists)."""
    report.problems = list(problems[:MAX_PROBLEMS_SHOWN])
    report.all_problems = list(problems)
    report.problem_count = len(problems) if count is None else count
    report.summaries = list(summaries) if summaries is not None else summarise(problems)
    return LoadRefused(report)


def refuse(report: LoadReport, rule: str, line: int | None = None, column: str | None = None) -> LoadRefused:
    """The refusal of a whole file for one reason."""
    return refuse_all(report, [Problem(line, column, None, rule)])
