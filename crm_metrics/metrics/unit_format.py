"""One formatter per unit (the units of crm_metrics.metrics.kpis.model.UNITS): how a value in a KPI's
unit reads in the app, the report, the terminal and the sentences of findings and alerts.

It lives beside the KPIs' units so that every layer above may use it (judgement's sentences cannot
import delivery). crm_metrics.delivery.formatting re-exports it for the report and the CLI.

| unit | value | shown (REPORT style: report, CLI) |
|---|---|---|
| count | 1234.0 | ``1,234`` |
| % | 96.44 | ``96.4%`` |
| ratio | 2.346 | ``2.35`` |
| score | 4.06 | ``4.1`` |
| seconds | 95 / 453 | ``95 s`` / ``453 s`` (always seconds: goals are stated in seconds, and a card, its table and the report must agree) |
| currency | 12345.6 | ``12,345.60 USD``; compact (cards): ``12.3k USD``, ``1.23M USD`` |

A missing value (None, NaN, infinite, not a number) is ``–``. Changes carry their sign: ``+`` or a
plain ASCII hyphen-minus ``-`` (``st.metric`` reads a delta's sign from its text, and a Unicode
minus ``−`` counts as positive there), ``±`` for exactly zero; a change of a percentage is in
points (``+1.2 pts``).

What differs between the places a value is read is declared once, as a :class:`Style`, and nowhere
else: ``APP`` (cards and tables: amounts with a currency symbol and compact), ``SENTENCE`` (findings
and alerts: ``n/a`` for a missing value, seconds with one decimal). Styles may show seconds in minutes
from ``minutes_from`` on; none does, since a target of 250 s read as "4.2 min" loses its precision.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm_metrics.data.values import number

MISSING = "–"
MINUTES_FROM_SECONDS = 120
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


@dataclass(frozen=True)
class Style:
    """How one kind of place shows values (see the module's docstring)."""
    missing: str = MISSING
    minutes_from: float | None = MINUTES_FROM_SECONDS  # seconds: in minutes from here on; None: always seconds
    seconds_digits: int = 0
    currency_symbol: bool = False  # "$12.30" (the code itself when it has no symbol: "CHF 12.30")
    compact: bool = False          # amounts of 10,000 and more as 12.3k / 1.23M
    other: str = ",.2f"            # a unit not in the table (or none)


REPORT = Style(minutes_from=None)
APP = Style(minutes_from=None, currency_symbol=True, compact=True)
SENTENCE = Style(missing="n/a", minutes_from=None, seconds_digits=1, other=".1f")


def format_value(value: Any, unit: str | None, currency: str = "", *, compact: bool = False,
                 style: Style = REPORT) -> str:
    """``value`` in ``unit`` (see the module's table); ``currency``: the code shown with amounts;
    ``compact``: large amounts shortened to k / M (cards); ``style``: the place it is read."""
    v = number(value)
    if v is None:
        return style.missing
    if unit == "count":
        return f"{v:,.0f}"
    if unit == "%":
        return f"{v:.1f}%"
    if unit == "ratio":
        return f"{v:.2f}"
    if unit == "score":
        return f"{v:.1f}"
    if unit == "seconds":
        if style.minutes_from is not None and abs(v) >= style.minutes_from:
            return f"{v / 60:.1f} min"
        return f"{v:,.{style.seconds_digits}f} s"
    if unit == "currency":
        return _amount(v, currency, compact or style.compact, style.currency_symbol)
    return f"{v:{style.other}}"


def _amount(v: float, currency: str, compact: bool, symbol: bool) -> str:
    if compact and abs(v) >= 1e6:
        text = f"{v / 1e6:,.2f}M"
    elif compact and abs(v) >= 1e4:
        text = f"{v / 1e3:,.1f}k"
    else:
        text = f"{v:,.2f}"
    if symbol:
        return CURRENCY_SYMBOLS.get(currency, currency + " ") + text
    return text + (f" {currency}" if currency else "")


def format_change(delta: Any, unit: str | None, currency: str = "", *, compact: bool = False,
                  style: Style = REPORT) -> str:
    """A change in ``unit`` with its sign (``+``, ASCII ``-``, ``±`` for zero); a change of a
    percentage in points: ``+1.2 pts``."""
    d = number(delta)
    if d is None:
        return style.missing
    sign = "+" if d > 0 else ("-" if d < 0 else "±")
    if unit == "%":
        return f"{sign}{abs(d):.1f} pts"
    return sign + format_value(abs(d), unit, currency, compact=compact, style=style)


def format_share(value: Any, digits: int = 1) -> str:
    """A share already in percent (0-100): ``45.0%``."""
    v = number(value)
    return MISSING if v is None else f"{v:.{digits}f}%"


__all__ = ["MISSING", "Style", "REPORT", "APP", "SENTENCE", "format_value", "format_change", "format_share"]
