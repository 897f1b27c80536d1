"""The KPI declaration (one frozen dataclass per KPI), the request a query is built from, and errors.

Only allow-listed identifiers (dimension expressions, grains, table names) are ever formatted into
SQL; every user value (dates, channel and segment names, settings) is bound as a named parameter
through :meth:`Query.bind`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from crm_metrics.data.schema import UNKNOWN

Unit = Literal["count", "%", "ratio", "seconds", "score", "currency"]
Better = Literal["higher", "lower", "neutral"]
Family = Literal["service", "relationships", "customers", "value", "data_quality"]
Dimension = Literal["channel", "segment", "period", "advisor", "region"]
Grain = Literal["day", "week", "month", "quarter", "year"]
# How values over consecutive sub-periods combine into the value over their union (foresight.md):
# ratio  Σ nᵢ·vᵢ ÷ Σ nᵢ (exact) · sum  Σ vᵢ (exact) · survival  1 − Π(1 − vᵢ) (approximate)
# stock  the last sub-period's value · distinct  per-customer measures, not combinable.
Kind = Literal["ratio", "sum", "survival", "stock", "distinct"]
# What a KPI's n counts (explain.md: a dimension must partition these units to split a change).
CountUnit = Literal["contact", "answer", "transaction", "customer", "row"]

DIMENSIONS: tuple[str, ...] = ("channel", "segment", "period", "advisor", "region")
GRAINS: tuple[str, ...] = ("day", "week", "month", "quarter", "year")
FAMILIES: tuple[str, ...] = ("service", "relationships", "customers", "value", "data_quality")
UNITS: tuple[str, ...] = ("count", "%", "ratio", "seconds", "score", "currency")
KINDS: tuple[str, ...] = ("ratio", "sum", "survival", "stock", "distinct")
COUNT_UNITS: tuple[str, ...] = ("contact", "answer", "transaction", "customer", "row")
# Units that carry exactly one channel each (a customer can use several channels).
ONE_CHANNEL_UNITS: tuple[str, ...] = ("contact", "answer", "transaction", "row")

# Source table -> the table whose emptiness means "not loaded" (fact tables mirror their source).
LOADED_CHECK: dict[str, str] = {
    "customers": "customers",
    "interactions": "f_interactions",
    "transactions": "f_transactions",
    "surveys": "f_surveys",
}


class KpiError(ValueError):
    """A KPI request that cannot be answered: unknown KPI, unsupported dimension, bad grain or window."""


class MissingDataError(KpiError):
    """A table the KPI needs is empty. ``.tables`` names them; the message says which file to load."""

    def __init__(self, message: str, tables: tuple[str, ...], kpi: str | None = None) -> None:
        super().__init__(message)
        self.tables = tuple(tables)
        self.kpi = kpi


@dataclass
class Query:
    """One KPI request, resolved: the window, filters, dimensions, grain and settings.

    Query builders turn it into SQL with :meth:`bind` collecting the parameters, so the SQL text
    only ever contains allow-listed identifiers and ``$name`` placeholders.
    """

    start: date
    end: date
    channels: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    by: tuple[str, ...] = ()
    grain: str = "month"
    settings: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.grain not in GRAINS:  # defence in depth: the grain is formatted into SQL
            raise KpiError(f"Unknown grain {self.grain!r}; use one of: {', '.join(GRAINS)}.")
        for d in self.by:
            if d not in DIMENSIONS:
                raise KpiError(f"Unknown dimension {d!r}; dimensions are: {', '.join(DIMENSIONS)}.")

    # -- parameters ---------------------------------------------------------------------------
    def bind(self, name: str, value: Any) -> str:
        """Bind ``value`` under ``name`` (an identifier chosen by the code) and return ``$name``."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"bad parameter name {name!r}")
        if name in self.params and self.params[name] != value:
            raise ValueError(f"parameter {name!r} bound twice with different values")
        self.params[name] = value
        return f"${name}"

    def setting(self, key: str) -> str:
        """A numeric setting as a bound parameter."""
        return self.bind(f"s_{key}", float(self.settings[key]))

    @property
    def p_start(self) -> str:
        return self.bind("start", self.start)

    @property
    def p_end(self) -> str:
        return self.bind("end", self.end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def in_list(self, prefix: str, values: tuple[str, ...]) -> str:
        """``($prefix0, $prefix1, ...)``: one placeholder per value (the count is not user text)."""
        return "(" + ", ".join(self.bind(f"{prefix}{i}", v) for i, v in enumerate(values)) + ")"

    # -- dimensions ---------------------------------------------------------------------------
    @property
    def has_period(self) -> bool:
        return "period" in self.by

    def period_expr(self, day_expr: str) -> str:
        """The period key of a DATE expression: first day of its calendar period at the grain."""
        return f"CAST(DATE_TRUNC('{self.grain}', {day_expr}) AS DATE)"

    def periods(self) -> list[tuple[date, date, date, int]]:
        """(period key, clipped start, clipped end, days) for every period overlapping the window.

        Without the period dimension the window is the only period, keyed by its first day.
        """
        if not self.has_period:
            return [(self.start, self.start, self.end, self.days)]
        out = []
        key = trunc_date(self.start, self.grain)
        while key <= self.end:
            nxt = next_period(key, self.grain)
            p_start = max(key, self.start)
            p_end = min(nxt - timedelta(days=1), self.end)
            out.append((key, p_start, p_end, (p_end - p_start).days + 1))
            key = nxt
        return out

    def periods_sql(self) -> str:
        """A derived table ``periods(period, p_start, p_end, days)`` built from bound values."""
        rows = []
        for i, (key, a, b, d) in enumerate(self.periods()):
            rows.append(
                f"(CAST({self.bind(f'pk{i}', key)} AS DATE), CAST({self.bind(f'pa{i}', a)} AS DATE), "
                f"CAST({self.bind(f'pb{i}', b)} AS DATE), {self.bind(f'pd{i}', d)})")
        return f"(VALUES {', '.join(rows)}) AS periods(period, p_start, p_end, days)"


def trunc_date(d: date, grain: str) -> date:
    """First day of the calendar period containing ``d`` (ISO weeks start on Monday)."""
    if grain == "day":
        return d
    if grain == "week":
        return d - timedelta(days=d.weekday())
    if grain == "month":
        return d.replace(day=1)
    if grain == "quarter":
        return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    if grain == "year":
        return date(d.year, 1, 1)
    raise KpiError(f"Unknown grain {grain!r}; use one of: {', '.join(GRAINS)}.")


def next_period(key: date, grain: str) -> date:
    """First day of the period after the one starting at ``key``."""
    if grain == "day":
        return key + timedelta(days=1)
    if grain == "week":
        return key + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    m = key.month - 1 + months
    return date(key.year + m // 12, m % 12 + 1, 1)


QueryBuilder = Callable[[Query], str]
UnitsBuilder = Callable[[Query], str]
SummaryBuilder = Callable[[Query], "str | None"]


@dataclass(frozen=True)
class Kpi:
    """One KPI, declared once: what it means, how it is shown, what it needs, and its query.

    ``query(q)`` returns SQL producing one column per dimension in ``q.by`` (in that order), then
    ``value`` and ``n``; parameters are collected in ``q.params``.

    ``unit_of_count``: what ``n`` counts (contact, answer, transaction, customer or row). It decides
    which dimensions partition the KPI's units (crm_metrics.metrics.explain): segment and region
    always; channel only for units that carry one channel each (not customers, who use several).

    ``units(q)`` (optional; explain.md "The records behind a number"): SQL for the KPI's units in the
    request's window and filters (``q.by`` is ignored), one row per unit counted in ``n``, with the
    columns, in this order: the unit's id (``interaction_id``, ``transaction_id``, ``response_id`` or
    ``customer_id``), ``customer_id`` (unless that is the id), the dimensions ``channel``, ``segment``,
    ``region``, the day or time, the columns that decide the unit's value, and ``value``: the unit's
    contribution, so that the KPI is ``mean(value)`` (ratio, survival, distinct) or ``sum(value)``
    (sum, stock; see :attr:`additive`) over the units, and their count is ``n``. None: the KPI has no
    unit-level records (its value is not a sum or mean over units).
    """

    id: str
    label: str
    description: str
    formula: str
    unit: Unit
    better: Better
    kind: Kind
    family: Family
    tables: tuple[str, ...]
    dimensions: tuple[str, ...]
    query: QueryBuilder = field(repr=False, compare=False)
    n_label: str = ""
    families: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    # The same KPI from the summary tables built at load time (crm_metrics.data.summaries): SQL, or None
    # when the request cannot be answered from them exactly. ``summary_tables`` must all have rows.
    summary: SummaryBuilder | None = field(default=None, repr=False, compare=False)
    summary_tables: tuple[str, ...] = ()
    unit_of_count: str = ""  # a CountUnit; required (checked below)
    units: UnitsBuilder | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        assert self.unit_of_count in COUNT_UNITS, (self.id, self.unit_of_count)
        assert self.unit in UNITS, self.unit
        assert self.better in ("higher", "lower", "neutral"), self.better
        assert self.kind in KINDS, self.kind
        assert self.family in FAMILIES, self.family
        assert all(d in DIMENSIONS for d in self.dimensions), self.dimensions
        assert all(t in LOADED_CHECK for t in self.tables), self.tables
        if not self.families:
            object.__setattr__(self, "families", (self.family,))
        assert self.family in self.families

    def supports(self, dimension: str) -> bool:
        return dimension in self.dimensions

    def partition_refusal(self, dimension: str) -> str | None:
        """Why ``dimension`` does not partition this KPI's units (None when it does): each unit must
        fall in exactly one group for group contributions to add up to the whole."""
        if dimension not in self.dimensions:
            return (f"{self.label} ({self.id}) cannot be split by {dimension}; it can be split by: "
                    f"{', '.join(self.dimensions)}.")
        if dimension == "period":
            return "explain compares two periods; split the change by channel, segment or region."
        if dimension == "channel" and self.unit_of_count not in ONE_CHANNEL_UNITS:
            return (f"{self.label} ({self.id}) counts {self.unit_of_count}s, and a {self.unit_of_count} can use "
                    f"several channels, so its groups by channel overlap and their contributions would not "
                    f"add up to the change; split by segment or region.")
        return None

    @property
    def additive(self) -> bool:
        """Counts, totals and levels: the value over an empty population is 0, not null."""
        return self.kind in ("sum", "stock")

    @property
    def comparable_across_period_lengths(self) -> bool:
        """True when a value over a month can be held against a goal judged over a longer period
        (only a ratio of unit values is independent of the period's length; counts, totals,
        survival over a window and per-customer measures grow or shrink with it). Trend charts draw
        goal lines only for these KPIs."""
        return self.kind == "ratio"


__all__ = [
    "Kpi", "Query", "KpiError", "MissingDataError", "DIMENSIONS", "GRAINS", "FAMILIES", "UNITS", "KINDS",
    "COUNT_UNITS", "ONE_CHANNEL_UNITS",
    "LOADED_CHECK", "UNKNOWN", "trunc_date", "next_period",
]
