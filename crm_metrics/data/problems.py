"""A refused file's problems, summarised: one entry per column and rule (how many, the first lines
and values, the rule's full text), with the cell-level list kept for download.

4,490 problems listed cell by cell say less than "occurred_at: 4,490 values are not timestamps,
first at lines 2, 3, 4"; the cell list stays available (``LoadReport.problem_rows``) for the
analyst who wants to fix the file row by row.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

FIRST_SHOWN = 5          # lines and values per summary
MAX_KEPT = 100_000       # cell-level problems kept for the download (the counts stay exact)
SHOWN_CHARS = 80


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= SHOWN_CHARS:
        return text
    return f"{text[:SHOWN_CHARS]}…({len(text):,} characters)"


@dataclass(frozen=True)
class ProblemSummary:
    column: str | None
    rule: str                          # the full rule text, never cut
    count: int
    first_lines: tuple[int | None, ...]
    first_values: tuple[str | None, ...]

    def with_lines(self, lines: tuple[int | None, ...]) -> ProblemSummary:
        return replace(self, first_lines=lines)

    def __str__(self) -> str:
        where = f"column {self.column}" if self.column else "file"
        noun = "value" if self.column else "problem"
        lines = ", ".join(str(n) for n in self.first_lines if n is not None)
        values = ", ".join(repr(_clip(v)) for v in self.first_values if v is not None)
        out = f"{where}: {self.count:,} {noun}{'s' if self.count != 1 else ''} — {self.rule}"
        if lines:
            out += f"; first at line{'s' if len(self.first_lines) > 1 else ''} {lines}"
        if values:
            out += f" ({values})"
        return out


def summary_query(problems: str) -> str:
    """SQL over a problems table (r: record index, col, val, rule): one row per column and rule,
    most frequent first, with the first FIRST_SHOWN record indexes and values."""
    return (f"SELECT col, rule, count(*) AS n, list(r ORDER BY r)[1:{FIRST_SHOWN}] AS rs, "
            f"list(val ORDER BY r)[1:{FIRST_SHOWN}] AS vals FROM {problems} "
            f"GROUP BY col, rule ORDER BY n DESC, min(r), col")


def summaries_from_rows(rows: Iterable[Sequence[Any]], line_of: Callable[[int], int | None]) -> list[ProblemSummary]:
    """ProblemSummary per row of :func:`summary_query`, record indexes turned into file lines."""
    return [ProblemSummary(col, str(rule), int(n), tuple(line_of(int(r)) for r in rs),
                           tuple(None if v is None else str(v) for v in vals))
            for col, rule, n, rs, vals in rows]


def summarise(problems: Iterable[Any]) -> list[ProblemSummary]:
    """Summaries of problems already in memory (objects with line, column, value, rule): for the
    refusals found before any row is read (missing columns, a mapping that names nothing)."""
    groups: dict[tuple[str | None, str], list[Any]] = {}
    for p in problems:
        groups.setdefault((p.column, p.rule), []).append(p)
    out = [ProblemSummary(col, rule, len(ps), tuple(p.line for p in ps[:FIRST_SHOWN]),
                          tuple(p.value for p in ps[:FIRST_SHOWN])) for (col, rule), ps in groups.items()]
    return sorted(out, key=lambda s: -s.count)


def problem_rows(problems: Iterable[Any]) -> list[dict[str, Any]]:
    """The cell-level list as rows for a CSV download (line, column, value, rule)."""
    return [{"line": p.line, "column": p.column, "value": p.value, "rule": p.rule} for p in problems]


__all__ = ["FIRST_SHOWN", "MAX_KEPT", "ProblemSummary", "problem_rows", "summarise", "summaries_from_rows",
           "summary_query"]
