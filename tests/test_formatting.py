"""One formatter per unit (crm_metrics.delivery.formatting): expected texts written by hand."""
import math

import pytest

from crm_metrics.delivery.formatting import format_change, format_share, format_value


@pytest.mark.parametrize("value, unit, want", [
    (1234.0, "count", "1,234"),
    (1234.5, "count", "1,234"),          # 1234.5 rounds half to even -> 1,234
    (96.44, "%", "96.4%"),
    (2.346, "ratio", "2.35"),
    (4.06, "score", "4.1"),
    (95.0, "seconds", "95 s"),
    (119.4, "seconds", "119 s"),         # seconds, rounded to whole seconds
    (120.0, "seconds", "120 s"),         # always seconds: a card, its table, the report and a goal agree
    (453.0, "seconds", "453 s"),
    (12345.6, "currency", "12,345.60 USD"),
    (3.5, "unknown-unit", "3.50"),
])
def test_value_per_unit(value, unit, want):
    assert format_value(value, unit, "USD") == want


def test_currency_without_code_and_compact():
    assert format_value(12.5, "currency") == "12.50"
    assert format_value(12_345.6, "currency", "EUR", compact=True) == "12.3k EUR"     # 12345.6 / 1e3 = 12.35 -> 12.3
    assert format_value(1_234_567, "currency", "EUR", compact=True) == "1.23M EUR"    # 1234567 / 1e6 = 1.234567
    assert format_value(9_999, "currency", "EUR", compact=True) == "9,999.00 EUR"     # under 10k: in full


@pytest.mark.parametrize("missing", [None, float("nan"), math.inf, "n/a"])
def test_missing_is_a_dash(missing):
    assert format_value(missing, "%") == "–"
    assert format_change(missing, "%") == "–"


def test_changes_carry_an_ascii_sign():
    assert format_change(-2.0, "count") == "-2"
    assert format_change(3.0, "count") == "+3"
    assert format_change(0.0, "count") == "±0"
    assert format_change(-453.0, "seconds") == "-453 s"
    assert format_change(-1500.0, "currency", "USD") == "-1,500.00 USD"
    # the negative sign is the ASCII hyphen-minus, never U+2212 (st.metric would read it as positive)
    assert "\u2212" not in format_change(-1.0, "score")
    assert format_change(-1.0, "score").startswith("-")


def test_percentage_changes_are_points():
    assert format_change(1.24, "%") == "+1.2 pts"
    assert format_change(-0.35, "%") == "-0.3 pts"   # 0.35 is stored just below .35 -> 0.3
    assert format_change(0, "%") == "±0.0 pts"


def test_share():
    assert format_share(45) == "45.0%"
    assert format_share(12.5, 0) == "12%"   # 12.5 rounds half to even -> 12
    assert format_share(None) == "–"
