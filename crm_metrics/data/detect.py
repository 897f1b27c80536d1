"""Which table a file is for, from its headers (the file name only breaks ties).

A file named ``transactions_march.csv`` whose headers are the transactions' columns is a
transactions file: the headers are the evidence, the name a hint. Column matching follows the
contract ("How a file is read"): the contract's name, else an alias, compared case-insensitively
with spaces and hyphens as underscores.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crm_metrics.data.schema import TABLES, Table, normalise_name, table_for_file


@dataclass(frozen=True)
class TableCandidate:
    table: str
    score: float
    matched: dict[str, str]            # contract column -> the file's header
    missing_required: tuple[str, ...]  # required contract columns no header matches

    @property
    def complete(self) -> bool:
        return not self.missing_required


def auto_sources(table: Table, headers: Sequence[str]) -> dict[str, str]:
    """Contract column -> header, by the contract's name first, then by alias; each header used once."""
    norm = [normalise_name(h) for h in headers]
    out: dict[str, str] = {}
    used: set[int] = set()
    for by_alias in (False, True):
        for col in table.columns:
            if col.name in out:
                continue
            names = col.aliases if by_alias else (col.name,)
            for i, h in enumerate(norm):
                if i not in used and h in names:
                    out[col.name] = headers[i]
                    used.add(i)
                    break
    return out


def _score(table: Table, matched: dict[str, str]) -> float:
    """Required columns weigh most; a column matched by its own name counts more than by an alias
    (``id`` or ``date`` fit many tables); the share of the table's columns found breaks near-ties."""
    score = 0.0
    for col in table.columns:
        h = matched.get(col.name)
        if h is None:
            continue
        exact = normalise_name(h) == col.name
        score += (3.0 if col.required else 1.0) * (1.0 if exact else 0.6)
    return score + len(matched) / len(table.columns)


def name_hint(file_name: str | None) -> str | None:
    """The table a file name suggests: its name (``customers.csv``) or, failing that, a table name or
    alias it starts with (``transactions_march.csv``)."""
    if not file_name:
        return None
    if (t := table_for_file(file_name)) is not None:
        return t.name
    stem = normalise_name(file_name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0])
    for t in TABLES.values():
        for name in (t.name, *t.aliases):
            if stem.startswith(name + "_"):
                return t.name
    return None


def rank_tables(headers: Sequence[str], file_name: str | None = None) -> list[TableCandidate]:
    """Every table, best first: complete matches (every required column found) before incomplete
    ones, then by score; the table the file name suggests wins a tie (and only a tie)."""
    named = name_hint(file_name)
    out = []
    for t in TABLES.values():
        matched = auto_sources(t, headers)
        missing = tuple(c.name for c in t.columns if c.required and c.name not in matched)
        out.append(TableCandidate(t.name, round(_score(t, matched), 3), matched, missing))
    out.sort(key=lambda c: (not c.complete, -c.score, c.table != named))
    return out


def best_table(headers: Sequence[str], file_name: str | None = None) -> str | None:
    """The table the headers fit completely (best score), else the table the file name names, else None."""
    ranked = rank_tables(headers, file_name)
    if ranked and ranked[0].complete:
        return ranked[0].table
    return name_hint(file_name)


__all__ = ["TableCandidate", "auto_sources", "best_table", "name_hint", "rank_tables"]
