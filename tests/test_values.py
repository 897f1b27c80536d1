"""Loose cell values read one way everywhere (crm_metrics.data.values)."""
import datetime as dt
import math

import pandas as pd
import pytest

from crm_metrics.data import values


def test_na_and_blank():
    for v in (None, float("nan"), pd.NA, pd.NaT):
        assert values.is_na(v) and values.is_blank(v)
    assert not values.is_na("  ") and values.is_blank("  ")  # blank text is not NA, but is blank
    assert not values.is_na(0) and not values.is_blank("x")
    assert not values.is_na([1, 2])  # a list is not a missing scalar


def test_text_trims_and_empties_to_none():
    assert values.text("  web ") == "web"
    assert values.text("   ") is None
    assert values.text(float("nan")) is None
    assert values.text(12) == "12"


def test_number_is_finite_or_none():
    assert values.number("2.5") == 2.5
    assert values.number(3) == 3.0
    for v in (None, "x", float("nan"), math.inf, -math.inf, pd.NA):
        assert values.number(v) is None, v


def test_day():
    assert values.day("2025-03-04 10:00:00") == dt.date(2025, 3, 4)
    assert values.day(pd.Timestamp("2025-03-04 23:00")) == dt.date(2025, 3, 4)
    assert values.day(dt.date(2025, 3, 4)) == dt.date(2025, 3, 4)
    assert values.day(pd.NaT) is None and values.day(None) is None
    with pytest.raises(ValueError):
        values.day("soon")
