"""Goal periods, the data's span, the previous-period rule and which rows a window lists (strategy.md).

    data_span(store)                         -> (first, last) day with data
    goal_periods(start, end, first, last)    -> the periods a goal is judged on
    previous_period(start, end)              -> the period of equal length just before
    covered_previous(start, end, first_day)  -> that period, or None when the data does not cover it whole
    previous_window(store, start, end)       -> the same rule on a store (KPI cards, report, scorecard)
    listed(periods, window, last)            -> which of a goal's periods a viewed window lists

Choices beyond the spec (docs/foresight.md):
- "the data" is the span of the fact tables (interactions, transactions, surveys); a store with
  customers only falls back to the customers' joined / left days;
- a goal with only ``period_start`` runs to the end of that calendar year, one with only
  ``period_end`` from the start of that calendar year (never from the viewed window);
- the previous period of a whole calendar year is the calendar year before (strategy.md: "for an
  annual goal: the year before"), so 2025 is compared with all of 2024 even though 2024 has 366 days.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from crm_metrics.data import values
from crm_metrics.data.store import Store

Period = tuple[dt.date, dt.date]


# A date from a date, datetime, ISO text or a missing value (None): crm_metrics.data.values.day.
as_date = values.day


def data_span(store: Store) -> tuple[dt.date | None, dt.date | None]:
    """First and last day with data (fact tables; else the customers' joined / left days)."""
    lo, hi = store.data_span()
    if lo is None:
        cur = store.cursor()
        try:
            lo, hi = cur.execute(
                "SELECT min(joined_on), max(greatest(joined_on, coalesce(left_on, joined_on))) FROM customers"
            ).fetchone()
        finally:
            cur.close()
    return as_date(lo), as_date(hi)


def _is_calendar_year(start: dt.date, end: dt.date) -> bool:
    return (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year


def goal_periods(period_start: Any, period_end: Any, first: dt.date | None, last: dt.date | None) -> list[Period]:
    """The periods one goal is judged on: its own, else one per calendar year the data touches."""
    s, e = as_date(period_start), as_date(period_end)
    if s is not None and e is not None:
        return [(s, e)] if s <= e else []
    if s is not None:
        return [(s, dt.date(s.year, 12, 31))]
    if e is not None:
        return [(dt.date(e.year, 1, 1), e)]
    if first is None or last is None:
        return []
    return [(dt.date(y, 1, 1), dt.date(y, 12, 31)) for y in range(first.year, last.year + 1)]


def previous_period(start: dt.date, end: dt.date) -> Period:
    """The period of equal length just before [start, end] (a calendar year: the year before)."""
    if _is_calendar_year(start, end):
        return dt.date(start.year - 1, 1, 1), dt.date(start.year - 1, 12, 31)
    days = (end - start).days + 1
    return start - dt.timedelta(days=days), start - dt.timedelta(days=1)


def covered_previous(start: dt.date, end: dt.date, first_day: dt.date | None) -> Period | None:
    """The previous period, only when the data covers it whole (its first day >= the data's first day).

    A period the data covers only in part has no value: comparing with it would report the missing
    months as a change ("Contacts +4,456")."""
    if first_day is None:
        return None
    p = previous_period(start, end)
    return p if p[0] >= first_day else None


def previous_window(store: Store, start: Any, end: Any) -> Period | None:
    """The rule on a store: what every "change vs previous period" compares with (None: show "–")."""
    s, e = as_date(start), as_date(end)
    if s is None or e is None or s > e:
        return None
    return covered_previous(s, e, data_span(store)[0])


def listed(periods: list[Period], window: tuple[dt.date | None, dt.date | None], last: dt.date | None) -> list[Period]:
    """The periods a viewed window lists: those overlapping it; without a window, the period that
    contains the data's last day, else the latest one."""
    w_start, w_end = window
    if w_start is not None or w_end is not None:
        lo = w_start or dt.date.min
        hi = w_end or dt.date.max
        return [p for p in periods if p[0] <= hi and p[1] >= lo]
    if not periods:
        return []
    if last is not None:
        current = [p for p in periods if p[0] <= last <= p[1]]
        if current:
            return current
    return [max(periods, key=lambda p: (p[1], p[0]))]


def elapsed_share(start: dt.date, end: dt.date, first: dt.date | None, last: dt.date | None) -> float:
    """Days of [start, end] with data ÷ days of [start, end]."""
    if first is None or last is None:
        return 0.0
    lo, hi = max(start, first), min(end, last)
    days = (hi - lo).days + 1
    return max(0, days) / ((end - start).days + 1)


__all__ = [
    "Period", "as_date", "data_span", "goal_periods", "previous_period", "covered_previous",
    "previous_window", "listed", "elapsed_share",
]
