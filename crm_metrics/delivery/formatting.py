"""One formatter per unit, for the app, the report and the CLI: a value reads the same on a card,
in a table, in the report and on the terminal.

Units (crm_metrics.metrics.kpis.model.UNITS):

| unit | value | shown |
|---|---|---|
| count | 1234.0 | ``1,234`` |
| % | 96.44 | ``96.4%`` |
| ratio | 2.346 | ``2.35`` |
| score | 4.06 | ``4.1`` |
| seconds | 95 / 453 | ``95 s`` / ``7.6 min`` (two minutes and longer in minutes) |
| currency | 12345.6 | ``12,345.60 USD``; compact (cards): ``12.3k USD``, ``1.23M USD`` |

A missing value (None, NaN, infinite) is ``–``. Changes carry their sign: ``+`` or a plain ASCII
hyphen-minus ``-`` (``st.metric`` reads a delta's sign from its text, and a Unicode minus ``−``
counts as positive there), ``±`` for exactly zero; a change of a percentage is in points
(``+1.2 pts``).
"""
from __future__ import annotations

from typing import Any

from crm_metrics.data.values import number

MISSING = "–"
MINUTES_FROM_SECONDS = 120


def format_value(value: Any, unit: str | None, currency: str = "", *, compact: bool = False) -> str:
    """``value`` in ``unit`` (see the module's table); ``currency``: the code shown after amounts;
    ``compact``: large amounts shortened to k / M (cards)."""
    v = number(value)
    if v is None:
        return MISSING
    if unit == "count":
        return f"{v:,.0f}"
    if unit == "%":
        return f"{v:.1f}%"
    if unit == "ratio":
        return f"{v:.2f}"
    if unit == "score":
        return f"{v:.1f}"
    if unit == "seconds":
        return f"{v / 60:.1f} min" if abs(v) >= MINUTES_FROM_SECONDS else f"{v:.0f} s"
    if unit == "currency":
        code = f" {currency}" if currency else ""
        if compact and abs(v) >= 1e6:
            return f"{v / 1e6:,.2f}M{code}"
        if compact and abs(v) >= 1e4:
            return f"{v / 1e3:,.1f}k{code}"
        return f"{v:,.2f}{code}"
    return f"{v:,.2f}"


def format_change(delta: Any, unit: str | None, currency: str = "", *, compact: bool = False) -> str:
    """A change in ``unit`` with its sign (``+``, ASCII ``-``, ``±`` for zero); a change of a
    percentage in points: ``+1.2 pts``."""
    d = number(delta)
    if d is None:
        return MISSING
    sign = "+" if d > 0 else ("-" if d < 0 else "±")
    if unit == "%":
        return f"{sign}{abs(d):.1f} pts"
    return sign + format_value(abs(d), unit, currency, compact=compact)


def format_share(value: Any, digits: int = 1) -> str:
    """A share already in percent (0-100): ``45.0%``."""
    v = number(value)
    return MISSING if v is None else f"{v:.{digits}f}%"


__all__ = ["MISSING", "format_value", "format_change", "format_share"]
