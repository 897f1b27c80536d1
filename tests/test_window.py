"""The one window resolver (crm_metrics.metrics.window): every rule written out by hand."""
import datetime as dt

import pytest

from crm_metrics.metrics.window import WindowError, as_date, resolve_window

D = dt.date
SPAN = (D(2025, 1, 1), D(2025, 12, 31))  # the data's first and last day
TODAY = D(2026, 3, 15)


def test_both_given_are_used_as_given():
    assert resolve_window(D(2025, 3, 1), D(2025, 3, 31), SPAN) == (D(2025, 3, 1), D(2025, 3, 31))
    # outside the data is fine: the caller asked for it
    assert resolve_window("2024-06-01", "2026-06-30", SPAN) == (D(2024, 6, 1), D(2026, 6, 30))


def test_no_dates_is_the_data_span():
    assert resolve_window(None, None, SPAN, today=TODAY) == (D(2025, 1, 1), D(2025, 12, 31))


def test_no_dates_and_no_data_is_today():
    assert resolve_window(None, None, (None, None), today=TODAY) == (TODAY, TODAY)


def test_only_start_runs_to_the_data_last_day():
    assert resolve_window(D(2025, 6, 1), None, SPAN) == (D(2025, 6, 1), D(2025, 12, 31))


def test_only_start_after_the_data_is_that_one_day():
    # 2026-02-01 is after the last day 2025-12-31: the window is 2026-02-01 .. 2026-02-01, not inverted
    assert resolve_window(D(2026, 2, 1), None, SPAN) == (D(2026, 2, 1), D(2026, 2, 1))


def test_only_end_runs_from_the_data_first_day():
    assert resolve_window(None, D(2025, 6, 30), SPAN) == (D(2025, 1, 1), D(2025, 6, 30))


def test_only_end_before_the_data_is_that_one_day():
    # 2024-05-31 is before the first day 2025-01-01: clamped to 2024-05-31 .. 2024-05-31 (no error)
    assert resolve_window(None, D(2024, 5, 31), SPAN) == (D(2024, 5, 31), D(2024, 5, 31))


def test_one_date_and_no_data_is_that_one_day():
    assert resolve_window(D(2025, 6, 1), None, (None, None)) == (D(2025, 6, 1), D(2025, 6, 1))
    assert resolve_window(None, D(2025, 6, 1), (None, None)) == (D(2025, 6, 1), D(2025, 6, 1))


def test_start_after_end_is_refused():
    with pytest.raises(WindowError, match=r"starts \(2025-07-01\) after it ends \(2025-06-30\)"):
        resolve_window(D(2025, 7, 1), D(2025, 6, 30), SPAN)


def test_span_is_read_only_when_a_day_is_missing():
    calls = []

    def span():
        calls.append(1)
        return SPAN

    resolve_window(D(2025, 3, 1), D(2025, 3, 2), span)
    assert calls == []
    assert resolve_window(None, D(2025, 3, 2), span) == (D(2025, 1, 1), D(2025, 3, 2))
    assert calls == [1]


def test_dates_are_read_from_text_and_datetimes():
    assert as_date("2025-03-04T10:00:00") == D(2025, 3, 4)
    assert as_date(dt.datetime(2025, 3, 4, 23, 59)) == D(2025, 3, 4)
    assert as_date(None) is None
    with pytest.raises(WindowError, match="start must be a date"):
        resolve_window("next tuesday", None, SPAN)
    with pytest.raises(WindowError, match="end must be a date"):
        resolve_window(None, 20250101, SPAN)
