"""Reading timestamps and dates from text: SQL for the load, Python for the reshape of exports
(crm_metrics.data.reshape); UTC offsets in every common form, and the "no such day" message for a
date the calendar does not have.

Offsets: ``+0100``, ``+01:00``, ``+01``, ``Z``, `` UTC`` / `` GMT``, with or without a space before
them, are converted to UTC; values without an offset are kept as they are (data contract).
String tests pick the rows with an offset, so the regular expressions run on those rows only.
"""
from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache


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


_DIRECTIVES = {
    "Y": r"(?P<Y>\d{4})", "m": r"(?P<m>\d{1,2})", "d": r"(?P<d>\d{1,2})", "H": r"(?P<H>\d{1,2})",
    "I": r"(?P<I>\d{1,2})", "M": r"(?P<M>\d{2})", "S": r"(?P<S>\d{2})", "f": r"(?P<f>\d{1,6})",
    "p": r"(?P<p>[AaPp][Mm])", "z": r"\s*(?P<z>[+-]\d{2}(?::?\d{2})?|[Zz]|UTC|GMT|utc|gmt)",
}


@lru_cache(maxsize=64)
def _compiled(fmt: str) -> re.Pattern[str]:
    """A strptime format as a regular expression (the directives presets use): a regex match and a
    datetime() call are many times faster than strptime on a 300,000-row export. %z also reads
    the offset's other common forms: +01:00, +01, Z, UTC, GMT, with or without a space before."""
    out, i, f = [], 0, fmt.replace(" %z", "%z")
    while i < len(f):
        if f[i] == "%" and i + 1 < len(f) and f[i + 1] in _DIRECTIVES:
            out.append(_DIRECTIVES[f[i + 1]])
            i += 2
        else:
            out.append(re.escape(f[i]))
            i += 1
    return re.compile("".join(out))


def parse_time(text: str, fmt: str) -> dt.datetime | None:
    """The value read with ``fmt`` (a strptime format), None when it does not fit or names no real
    day or time (2025-02-30)."""
    m = _compiled(fmt).fullmatch(text.strip())
    if m is None:
        return None
    g = m.groupdict()
    try:
        hour = int(g.get("H") or 0)
        if g.get("I") is not None:
            hour = int(g["I"]) % 12 + (12 if g["p"].lower() == "pm" else 0)
            if not 1 <= int(g["I"]) <= 12:
                return None
        tz = None
        if (z := g.get("z")) is not None and z[0] not in "+-":
            tz = dt.UTC
        elif z is not None:
            digits = z[1:].replace(":", "")
            minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
            tz = dt.timezone(dt.timedelta(minutes=minutes if z[0] == "+" else -minutes))
        micro = int((g.get("f") or "0").ljust(6, "0"))
        return dt.datetime(int(g["Y"]), int(g["m"]), int(g["d"]), hour, int(g.get("M") or 0),
                           int(g.get("S") or 0), micro, tzinfo=tz)
    except (ValueError, KeyError):
        return None


def impossible_day_text(text: str, fmt: str) -> str | None:
    """For a value in the format's shape that names no real day (2/30/2025 9:05 AM): its date in
    ISO form (2025-02-30 09:05), so that the load reports "no such day" for it rather than a
    format problem. None when the value is not in the format's shape at all."""
    m = _compiled(fmt).fullmatch(text.strip())
    if m is None:
        return None
    g = m.groupdict()
    day = f"{int(g['Y']):04d}-{int(g['m']):02d}-{int(g['d']):02d}"
    if g.get("H") is None and g.get("I") is None:
        return day
    hour = int(g.get("H") or g.get("I") or 0)
    return f"{day} {hour:02d}:{int(g.get('M') or 0):02d}"


def iso_text(value: dt.datetime, as_date: bool) -> str:
    """UTC for a value with an offset; naive values as they are (data contract)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.date().isoformat() if as_date else value.isoformat(sep=" ")


__all__ = ["has_offset_sql", "impossible_day_text", "iso_text", "iso_timestamp_sql", "no_such_day_sql", "offset_normalised_sql",
           "parse_time"]
