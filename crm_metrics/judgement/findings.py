"""What a health check looks at: the shared :class:`HealthContext` (values computed once per run),
and the loop that runs checks over it. :class:`Finding` and :class:`Check` are in
crm_metrics.judgement.finding (re-exported here); the checks themselves are in
crm_metrics.judgement.health and .impact_checks, listed in .checks."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from crm_metrics.data.store import Store
from crm_metrics.judgement import goals as goals_mod
from crm_metrics.judgement import scorecard as sc
from crm_metrics.judgement import strategy
from crm_metrics.judgement.finding import FINDING_FIELDS, SEVERITIES, Check, Finding, Severity
from crm_metrics.metrics.kpis import KPIS, KpiError, MissingDataError, compute
from crm_metrics.metrics.unit_format import SENTENCE, format_value


@dataclass
class HealthContext:
    """What checks look at. Shared values are computed once, on first use, and cached."""

    store: Store
    start: dt.date | None
    end: dt.date | None
    settings: dict[str, Any]
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)
    # The window as given (None, None: not given), which lists the goal rows: without one, each goal's
    # current period, as on the scorecard (strategy.md); the checks' own window is start..end.
    goal_window: tuple[Any, Any] | None = None

    # -- generic lazy values ----------------------------------------------------------------------
    def shared(self, name: Any, make: Callable[[], Any]) -> Any:
        """The value cached under ``name``, made by ``make()`` the first time it is asked for."""
        if name not in self._cache:
            self._cache[name] = make()
        return self._cache[name]

    def kpi(self, kpi_id: str, *, start: Any = None, end: Any = None, channels: Iterable[str] = (),
            segments: Iterable[str] = (), by: Iterable[str] = ()) -> pd.DataFrame | None:
        """compute() over the context's window (or the given one); None when a table it needs is
        empty (see :meth:`missing`)."""
        s = start if start is not None else self.start
        e = end if end is not None else self.end
        key = ("kpi", kpi_id, s, e, tuple(channels), tuple(segments), tuple(by))

        def make():
            if s is None or e is None:
                return None
            try:
                return compute(self.store, kpi_id, start=s, end=e, channels=tuple(channels),
                               segments=tuple(segments), by=tuple(by), settings=self.settings)
            except MissingDataError as err:
                self._cache[("missing", kpi_id)] = str(err)
                return None
        return self.shared(key, make)

    def value(self, kpi_id: str, **kw: Any) -> tuple[float | None, int]:
        """(value, n) of a KPI without dimensions; (None, 0) when it cannot be computed."""
        df = self.kpi(kpi_id, **kw)
        if df is None or df.empty:
            return None, 0
        v = df["value"].iloc[0]
        return (None if pd.isna(v) else float(v)), int(df["n"].iloc[0])

    def missing(self, kpi_id: str) -> str | None:
        """Why a KPI could not be computed (e.g. "Load interactions.csv to see ..."), else None."""
        return self._cache.get(("missing", kpi_id))

    def fmt(self, kpi_id: str, value: float | None) -> str:
        kpi = KPIS.get(kpi_id)
        return format_value(value, kpi.unit if kpi else None, str(self.settings.get("currency", "")), style=SENTENCE)

    # -- shared tables -------------------------------------------------------------------------
    @property
    def window_text(self) -> str:
        return f"{self.start}..{self.end}" if self.start else "no data"

    @cached_property
    def previous_window(self) -> tuple[dt.date, dt.date] | None:
        if self.start is None or self.end is None:
            return None
        return sc.previous_period(self.start, self.end)

    @cached_property
    def goals(self) -> pd.DataFrame:
        return strategy.goals(self.store)

    @cached_property
    def initiatives(self) -> pd.DataFrame:
        cur = self.store.cursor()
        try:
            res = cur.execute("SELECT * FROM initiatives ORDER BY initiative_id")
            return pd.DataFrame(res.fetchall(), columns=[d[0] for d in res.description])
        finally:
            cur.close()

    @cached_property
    def segments(self) -> pd.DataFrame:
        return strategy.segments(self.store)

    @cached_property
    def scorecard(self) -> pd.DataFrame:
        return sc.scorecard(self.store, *(self.goal_window or (self.start, self.end)))

    @cached_property
    def alignment(self) -> pd.DataFrame:
        return sc.alignment(self.store, self.start, self.end)


def context(store: Store, start: Any = None, end: Any = None) -> HealthContext:
    s, e = sc.resolve_window(store, start, end)
    # A window that is the whole data span (the app's default) lists each goal's current row, as the
    # Scorecard page does: not every year of every goal (and not their cost).
    span = goals_mod.data_span(store)
    listing = (None, None) if (goals_mod.as_date(start), goals_mod.as_date(end)) == span else (start, end)
    return HealthContext(store=store, start=s, end=e, settings=store.settings(), goal_window=listing)


def run_in(ctx: HealthContext, checks: Iterable[Check]) -> list[Finding]:
    """``checks`` over a context the caller shares (the report reuses its scorecard and alignment).

    A check that fails unexpectedly yields a warning naming the error instead of stopping the
    others; a check that finds nothing yields one ``ok`` finding."""
    out: list[Finding] = []
    for check in list(checks):
        try:
            found = check.run(ctx)
        except (KpiError, ValueError) as e:
            found = [check.finding("warning", f"the check could not run: {e}",
                                   "Fix the data or settings named above, then re-run the checks.")]
        if not found:
            found = [check.finding("ok", "nothing to report", "-")]
        out.extend(found)
    return out


def findings_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """Findings as a DataFrame with the spec's field names."""
    return pd.DataFrame([f.record() for f in findings], columns=list(FINDING_FIELDS))


def worst(findings: Iterable[Finding]) -> Severity:
    level = max((SEVERITIES.index(f.severity) for f in findings), default=0)
    return SEVERITIES[level]  # type: ignore[return-value]


__all__ = ["Finding", "Check", "Severity", "SEVERITIES", "FINDING_FIELDS", "HealthContext", "context", "run_in",
           "findings_frame", "worst"]
