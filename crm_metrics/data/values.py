"""Reading loose cell values (DataFrame cells, JSON, form input): one definition of "empty",
"text", "number" and "day" for every layer above."""
from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd


def is_na(v: Any) -> bool:
    """None, NaN, pandas NA or NaT (a blank string is *not* NA: see :func:`is_blank`)."""
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # list-likes: not a missing scalar
        return False


def is_blank(v: Any) -> bool:
    """NA, or text with nothing but white space."""
    return is_na(v) or (isinstance(v, str) and not v.strip())


def text(v: Any) -> str | None:
    """The value as trimmed text; None when it is NA or blank."""
    return None if is_blank(v) else str(v).strip()


def number(v: Any) -> float | None:
    """The value as a finite float; None when it is NA, not a number, or infinite."""
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) or math.isinf(x) else x


def day(v: Any) -> dt.date | None:
    """The value as a date: None when NA; datetimes keep their day; text is read as YYYY-MM-DD
    (anything after the tenth character is ignored). Raises ValueError for other text."""
    if is_na(v):
        return None
    if isinstance(v, dt.datetime):  # includes pandas.Timestamp
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v)[:10])


__all__ = ["is_na", "is_blank", "text", "number", "day"]
