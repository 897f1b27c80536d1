"""The date window of a request: one resolver for every engine and caller.

Rules (``start`` / ``end`` as given, ``lo`` / ``hi`` the data's first and last day, ``today``
the fallback when there is no data at all):

* both given: used as given;
* neither given: the data's span (``lo`` .. ``hi``); with no data, ``today`` .. ``today``;
* only ``end``: from the data's first day -- or from ``end`` itself when ``end`` is before the
  data (or there is no data), so the window is the one day ``end`` .. ``end``, never inverted;
* only ``start``: to the data's last day -- or to ``start`` itself when ``start`` is after the
  data (or there is no data): ``start`` .. ``start``;
* ``start`` after ``end`` (both given): refused with ``WindowError``.

The data span is asked for only when a day is missing (it costs a query on some engines).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

Span = tuple[dt.date | None, dt.date | None]


class WindowError(ValueError):
    """A window that cannot be used: a value that is not a date, or a start after the end."""


def as_date(value: Any, name: str = "date") -> dt.date | None:
    """``value`` as a date: None stays None; datetimes (and pandas Timestamps) keep their day;
    text is read as YYYY-MM-DD (anything after the tenth character is ignored)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):  # includes pandas.Timestamp
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError as e:
            raise WindowError(f"{name} must be a date (YYYY-MM-DD), got {value!r}.") from e
    raise WindowError(f"{name} must be a date, got {value!r}.")


def resolve_window(start: Any, end: Any, span: Callable[[], Span] | Span,
                   today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The window (first day, last day) for ``start`` / ``end`` (dates, datetimes, ISO text or None)
    under the rules in this module's docstring. ``span``: the data's (first, last) day, or a
    function returning it (called only when a day is missing)."""
    s, e = as_date(start, "start"), as_date(end, "end")
    if s is None or e is None:
        lo, hi = span() if callable(span) else span
        lo, hi = as_date(lo, "first day"), as_date(hi, "last day")
        if s is None and e is None:
            day = today or dt.date.today()
            s, e = lo or day, hi or day
        elif s is None:
            s = lo if lo is not None and lo <= e else e
        else:
            e = hi if hi is not None and hi >= s else s
    assert s is not None and e is not None
    if s > e:
        raise WindowError(f"the window starts ({s}) after it ends ({e}).")
    return s, e


__all__ = ["Span", "WindowError", "as_date", "resolve_window"]
