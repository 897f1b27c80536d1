"""SQL for reading timestamps and dates from text: UTC offsets in every common form, and the
"no such day" message for a date the calendar does not have.

Offsets: ``+0100``, ``+01:00``, ``+01``, ``Z``, `` UTC`` / `` GMT``, with or without a space before
them, are converted to UTC; values without an offset are kept as they are (data contract).
String tests pick the rows with an offset, so the regular expressions run on those rows only.
"""
from __future__ import annotations


def has_offset_sql(raw: str) -> str:
    """True when the text (after its date part) ends in a UTC offset or zone word."""
    tail = f"substr({raw}, 11)"
    return (f"(strpos({tail}, '+') > 0 OR strpos({tail}, '-') > 0 OR right({raw}, 1) IN ('Z', 'z') "
            f"OR upper(right({raw}, 3)) IN ('UTC', 'GMT'))")


def offset_normalised_sql(raw: str) -> str:
    """The text with its offset in the one form DuckDB's TIMESTAMPTZ cast reads: glued to the time,
    ``+hh:mm``; Z / UTC / GMT as +00:00."""
    zone = f"regexp_replace({raw}, '\\s*(Z|UTC|GMT)$', '+00:00', 'i')"
    full = f"regexp_replace({zone}, '\\s*([+-]\\d{{2}}):?(\\d{{2}})$', '\\1:\\2')"
    return f"regexp_replace({full}, '\\s+([+-]\\d{{2}})$', '\\1:00')"


def iso_timestamp_sql(raw: str) -> str:
    """ISO 8601 dates and timestamps as TIMESTAMP; values with an offset converted to UTC."""
    return (f"CASE WHEN {has_offset_sql(raw)} THEN CAST(timezone('UTC', TRY_CAST("
            f"{offset_normalised_sql(raw)} AS TIMESTAMPTZ)) AS TIMESTAMP) ELSE TRY_CAST({raw} AS TIMESTAMP) END")


def no_such_day_sql(val: str) -> str:
    """A rule text for a value whose date part is well formed but not in the calendar
    (2025-02-30, 31.04.2025), else NULL: such a value gets "no such day" rather than a format
    message. Reads yyyy-mm-dd and dd.mm.yyyy (the forms without a day/month order question)."""
    iso = f"regexp_extract({val}, '^\\s*(\\d{{4}})-(\\d{{1,2}})-(\\d{{1,2}})', ['y', 'm', 'd'])"
    dotted = f"regexp_extract({val}, '^\\s*(\\d{{1,2}})\\.(\\d{{1,2}})\\.(\\d{{4}})', ['d', 'm', 'y'])"
    parts = f"CASE WHEN {iso}.y <> '' THEN {iso} WHEN {dotted}.y <> '' THEN {dotted} END"
    return (f"(SELECT CASE WHEN p.y IS NULL THEN NULL "
            f"WHEN TRY_CAST(p.m AS INTEGER) NOT BETWEEN 1 AND 12 "
            f"THEN 'no such month: ' || p.m || ' (months are 1 to 12)' "
            f"WHEN TRY_CAST(p.d AS INTEGER) < 1 OR TRY_CAST(p.d AS INTEGER) > day(last_day(make_date("
            f"TRY_CAST(p.y AS INTEGER), TRY_CAST(p.m AS INTEGER), 1))) "
            f"THEN 'no such day: ' || strftime(make_date(TRY_CAST(p.y AS INTEGER), TRY_CAST(p.m AS INTEGER), 1), '%B %Y') "
            f"|| ' has ' || day(last_day(make_date(TRY_CAST(p.y AS INTEGER), TRY_CAST(p.m AS INTEGER), 1))) "
            f"|| ' days, not ' || TRY_CAST(p.d AS INTEGER) END FROM (SELECT ({parts}) AS q) s, "
            f"LATERAL (SELECT s.q.y AS y, s.q.m AS m, s.q.d AS d) p)")


__all__ = ["has_offset_sql", "iso_timestamp_sql", "no_such_day_sql", "offset_normalised_sql"]
