"""The fact tables: per-row facts computed once at load time, in full or for the customers a load touched.

``f_interactions``, ``f_transactions`` and ``f_surveys`` carry what KPIs need per row (the customer's
segment and region, whether the customer is known, the channel kind, the time of the customer's
next contact, continuity facts). The summary tables of crm_metrics.data.summaries are built from
them. Everything here is a function of each customer's own rows, apart from three things that span
customers: the integer keys of customers and advisors (numbered over the whole table), the
channel bits of the summaries (numbered over all channels) and the channel kinds (from
``channels``). That is what makes an **incremental refresh** exact:

- a merge load lists the customers whose rows it inserted or changed (their old and new ids) in a
  temporary table ``touched``;
- :func:`refresh` with ``touched`` computes those customers' old contributions to the summary
  tables, deletes their fact rows, inserts their rows computed afresh from the source tables, and
  adds the difference of their new and old contributions to the summaries. Keys already given keep
  their number, new customers and advisors get the next free numbers (keys are identifiers: only
  their equality is ever used); a load that adds or drops a channel rebuilds that fact's summaries;
- so a nightly append costs what its customers' rows cost, not what the store holds, and gives the
  same tables as a full rebuild (tests/test_incremental.py compares them table by table, keys
  compared as a one-to-one renaming). A full rebuild runs for replace loads, undo, channel edits,
  a changed FACTS_VERSION, and when a load touches more than ``FULL_REBUILD_SHARE`` of the customers.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable

import duckdb

from crm_metrics.data.schema import SELF_SERVICE_CHANNEL_NAMES, UNKNOWN
from crm_metrics.data.summaries import BIT_TABLES, CUBE_KEYS, SUMMARY_SOURCES, summary_sql

# Which fact tables depend on which source tables.
FACT_DEPENDENCIES: dict[str, tuple[str, ...]] = {
    "f_interactions": ("interactions", "customers", "channels"),
    "f_transactions": ("transactions", "customers"),
    "f_surveys": ("surveys", "customers"),
}
FACT_SOURCE: dict[str, str] = {"f_interactions": "interactions", "f_transactions": "transactions",
                               "f_surveys": "surveys"}
# Summary tables (crm_metrics.data.summaries) come after the fact table they are built from.
FACT_DEPENDENCIES.update({name: FACT_DEPENDENCIES[src] for name, src in SUMMARY_SOURCES.items()})

# Per fact table, the columns of the touched customers' old rows that the refresh needs: the keys
# already given (f_interactions) and what the summary tables built from the fact read.
OLD_COLUMNS: dict[str, tuple[str, ...]] = {
    "f_interactions": ("customer_id", "day", "segment", "region", "channel", "customer_key", "advisor_id",
                       "advisor_key"),
    "f_transactions": ("customer_id", "day", "segment", "region", "channel", "product"),
    "f_surveys": (),
}

# A load touching more customers than this share of the customer base rebuilds in full (faster then).
FULL_REBUILD_SHARE = 0.25

_SELF_SERVICE_LIST = ", ".join(f"'{n}'" for n in SELF_SERVICE_CHANNEL_NAMES)

# Channel kind: the channels table wins, else the default by name (data contract).
CHANNEL_KIND_SQL = f"""coalesce(
    (SELECT ch.kind FROM channels ch WHERE lower(trim(ch.channel)) = lower(trim(x.channel)) LIMIT 1),
    CASE WHEN lower(trim(x.channel)) IN ({_SELF_SERVICE_LIST}) THEN 'self_service' ELSE 'assisted' END)"""

# Dense integer keys over the whole table: continuity groups millions of (customer, advisor) pairs,
# faster on integers.
_FULL_KEYS = """        ckeys AS (
            SELECT customer_id, CAST(ROW_NUMBER() OVER (ORDER BY customer_id) AS INTEGER) AS customer_key
            FROM (SELECT DISTINCT customer_id FROM interactions) d
        ),
        akeys AS (
            SELECT advisor_id, CAST(ROW_NUMBER() OVER (ORDER BY advisor_id) AS INTEGER) AS advisor_key
            FROM (SELECT DISTINCT nullif(trim(advisor_id), '') AS advisor_id FROM interactions) d
            WHERE advisor_id IS NOT NULL
        ),
"""


def _interactions_select(src: str, keys: str) -> str:
    """SELECT of f_interactions over the interactions rows ``src`` (a table or subquery), with the
    key CTEs ``keys`` (``ckeys``, ``akeys``)."""
    return f"""

        WITH kinds AS (
            SELECT x.channel, {CHANNEL_KIND_SQL} AS kind
            FROM (SELECT DISTINCT channel FROM {src}) x
        ),
{keys}        x AS (
            SELECT x.*, k.kind, nullif(trim(x.advisor_id), '') AS advisor,
                   CASE WHEN k.kind = 'assisted' THEN nullif(trim(x.advisor_id), '') END AS cont_advisor
            FROM {src} x LEFT JOIN kinds k ON k.channel IS NOT DISTINCT FROM x.channel
        ),
        -- each (customer, advisor) pair of assisted contacts over the whole history: continuity reads a
        -- pair's count directly when all of its contacts fall inside the window (no grouping per pair).
        -- Read from the source, not from x: a second reader of x would materialise that wide CTE.
        pairs AS (
            SELECT x.customer_id, nullif(trim(x.advisor_id), '') AS cont_advisor,
                   CAST(count(*) AS INTEGER) AS pair_contacts,
                   min(CAST(x.occurred_at AS DATE)) AS pair_first_day,
                   max(CAST(x.occurred_at AS DATE)) AS pair_last_day
            FROM {src} x JOIN kinds k ON k.channel IS NOT DISTINCT FROM x.channel
            WHERE k.kind = 'assisted' AND nullif(trim(x.advisor_id), '') IS NOT NULL
            GROUP BY x.customer_id, nullif(trim(x.advisor_id), '')
        ),
        -- one pass over each customer's contacts in time order (no self-join on interaction_id):
        -- the next strictly later contact, and the previous assisted contact with an advisor
        i AS (
            SELECT *,
                   first_value(occurred_at) OVER (
                       PARTITION BY customer_id ORDER BY occurred_at
                       RANGE BETWEEN INTERVAL 1 MICROSECOND FOLLOWING AND UNBOUNDED FOLLOWING
                   ) AS next_contact_at,
                   last_value(cont_advisor IGNORE NULLS) OVER earlier AS prev_advisor,
                   last_value(CASE WHEN cont_advisor IS NOT NULL THEN CAST(occurred_at AS DATE) END IGNORE NULLS)
                       OVER earlier AS prev_advisor_day
            FROM x
            WINDOW earlier AS (PARTITION BY customer_id ORDER BY occurred_at, interaction_id
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
        )
        SELECT i.interaction_id, i.customer_id, i.occurred_at,
               CAST(i.occurred_at AS DATE) AS day,
               coalesce(nullif(trim(i.channel), ''), '{UNKNOWN}') AS channel,
               i.kind,
               i.advisor AS advisor_id,
               lower(trim(i.reason)) AS reason,
               i.handle_seconds, i.wait_seconds, i.resolved, i.csat, i.ces,
               i.next_contact_at,
               -- microseconds to the next contact: repeat / FCR tests compare a number per row
               DATE_DIFF('microsecond', i.occurred_at, i.next_contact_at) AS next_gap_us,
               -- sequential continuity: for an assisted contact with an advisor, whether the customer's
               -- previous such contact (by occurred_at, then interaction_id; any channel) had the same
               -- advisor, and that contact's day (a pair counts only if both are in the window / period)
               CASE WHEN i.cont_advisor IS NOT NULL AND i.prev_advisor IS NOT NULL
                    THEN i.prev_advisor = i.cont_advisor END AS same_advisor_as_prev,
               CASE WHEN i.cont_advisor IS NOT NULL THEN i.prev_advisor_day END AS prev_advisor_day,
               coalesce(c.segment, '{UNKNOWN}') AS segment,
               coalesce(c.region, '{UNKNOWN}') AS region,
               c.customer_id IS NOT NULL AS known,
               ck.customer_key, ak.advisor_key,
               p.pair_contacts, p.pair_first_day, p.pair_last_day
        FROM i
        LEFT JOIN customers c ON c.customer_id = i.customer_id
        LEFT JOIN ckeys ck ON ck.customer_id = i.customer_id
        LEFT JOIN akeys ak ON ak.advisor_id = i.advisor
        LEFT JOIN pairs p ON p.customer_id = i.customer_id AND p.cont_advisor = i.cont_advisor
"""


def _transactions_select(src: str) -> str:
    return f"""

        SELECT t.transaction_id, t.customer_id, t.occurred_on,
               CAST(t.occurred_on AS DATE) AS day,
               t.product, t.amount,
               coalesce(nullif(trim(t.channel), ''), '{UNKNOWN}') AS channel,
               coalesce(c.segment, '{UNKNOWN}') AS segment,
               coalesce(c.region, '{UNKNOWN}') AS region,
               c.customer_id IS NOT NULL AS known,
               -- the customer's acquisition channel and assigned advisor (customer KPIs split revenue by them)
               coalesce(nullif(trim(c.acquisition_channel), ''), '{UNKNOWN}') AS acquisition_channel,
               coalesce(nullif(trim(c.advisor_id), ''), '{UNKNOWN}') AS customer_advisor
        FROM {src} t LEFT JOIN customers c ON c.customer_id = t.customer_id
"""


def _surveys_select(src: str) -> str:
    return f"""

        SELECT s.response_id, s.customer_id, s.answered_on AS day, s.nps,
               coalesce(nullif(trim(s.channel), ''), '{UNKNOWN}') AS channel,
               coalesce(c.segment, '{UNKNOWN}') AS segment,
               coalesce(c.region, '{UNKNOWN}') AS region,
               c.customer_id IS NOT NULL AS known
        FROM {src} s LEFT JOIN customers c ON c.customer_id = s.customer_id
"""


def fact_select(name: str, src: str, keys: str = _FULL_KEYS) -> str:
    """The SELECT building fact table ``name`` from the source rows ``src``."""
    if name == "f_interactions":
        return _interactions_select(src, keys)
    if name == "f_transactions":
        return _transactions_select(src)
    if name == "f_surveys":
        return _surveys_select(src)
    raise KeyError(name)


FACT_SQL: dict[str, str] = {
    name: f"CREATE OR REPLACE TABLE {name} AS {fact_select(name, src)}" for name, src in FACT_SOURCE.items()
}
FACT_SQL.update({name: f"CREATE OR REPLACE TABLE {name} AS {summary_sql(name, SUMMARY_SOURCES[name])}"
                 for name in SUMMARY_SOURCES})

# Bump when FACT_SQL changes shape: stores written before are rebuilt once when opened.
FACTS_VERSION = "6"


def refresh(cur: duckdb.DuckDBPyConnection, names: Iterable[str], touched: str | None = None) -> None:
    """Rebuild the fact and summary tables ``names`` (in dependency order; inside the caller's
    transaction): in full, or -- with ``touched``, a table of customer_id -- for those customers only."""
    names = list(names)
    if touched is not None and not _worth_it(cur, touched):
        touched = None
    if touched is None:
        for n in names:
            cur.execute(FACT_SQL[n])
        return
    tag = uuid.uuid4().hex[:10]
    temps: list[str] = []
    try:
        _incremental(cur, names, touched, tag, temps)
    finally:
        for t in temps:
            cur.execute(f"DROP TABLE IF EXISTS {t}")


def _worth_it(cur: duckdb.DuckDBPyConnection, touched: str) -> bool:
    n_touched = int(cur.execute(f"SELECT count(*) FROM {touched}").fetchone()[0])
    n_customers = int(cur.execute("SELECT count(*) FROM customers").fetchone()[0])
    return n_touched <= FULL_REBUILD_SHARE * max(n_customers, 1)


def _incremental(cur: duckdb.DuckDBPyConnection, names: list[str], touched: str, tag: str,
                 temps: list[str]) -> None:
    mine = f"customer_id IN (SELECT customer_id FROM {touched})"
    facts = [n for n in names if n in FACT_SOURCE]
    cubes = [n for n in names if n in CUBE_KEYS]
    bits = [n for n in names if n in BIT_TABLES]

    def temp(kind: str, name: str, select: str) -> str:
        t = f"_crm_{kind}_{name}_{tag}"
        temps.append(t)
        cur.execute(f"CREATE TEMP TABLE {t} AS {select}")
        return t

    # 1. the touched customers' fact rows as they are, and afresh from their source rows (each big
    #    table is read once, here; everything after works on these small tables)
    old_rows: dict[str, str] = {}
    new_rows: dict[str, str] = {}
    for f in facts:
        # only the columns the keys and the summaries read: the matching rows are spread over the
        # whole table, so every column read here is decompressed for nearly all of it
        if OLD_COLUMNS.get(f):
            old_rows[f] = temp("old", f, f"SELECT {', '.join(OLD_COLUMNS[f])} FROM {f} WHERE {mine}")
        src = temp("src", f, f"SELECT * FROM {FACT_SOURCE[f]} WHERE {mine}")
        keys = _incremental_keys(cur, src, old_rows[f], tag, temps) if f == "f_interactions" else _FULL_KEYS
        new_rows[f] = temp("new", f, fact_select(f, src, keys))
    # 2. their old contributions to the summaries, before their facts change
    old = {c: temp("oldc", c, summary_sql(c, old_rows[SUMMARY_SOURCES[c]])) for c in cubes}
    # 3. their fact rows replaced
    for f in facts:
        cur.execute(f"DELETE FROM {f} WHERE {mine}")
        cur.execute(f"INSERT INTO {f} SELECT * FROM {new_rows[f]}")
    # 4. channel bits: unchanged unless the load added or removed a channel (then rebuild the cubes)
    rebuilt: set[str] = set()
    for b in bits:
        fact = SUMMARY_SOURCES[b]
        added = cur.execute(f"SELECT count(*) FROM (SELECT DISTINCT channel FROM {new_rows[fact]} "
                            f"EXCEPT SELECT channel FROM {b})").fetchone()[0]
        # a channel of the old rows that no row has any more (checked only for those few channels)
        gone = cur.execute(f"""SELECT count(*) FROM (SELECT DISTINCT channel FROM {old_rows[fact]}
                                EXCEPT SELECT DISTINCT channel FROM {new_rows[fact]}) g
                               WHERE NOT EXISTS (SELECT 1 FROM {fact} f WHERE f.channel = g.channel)""").fetchone()[0]
        if added or gone:
            cur.execute(FACT_SQL[b])
            rebuilt.add(fact)
    # 5. cubes: add the difference of new and old contributions
    for c in cubes:
        fact = SUMMARY_SOURCES[c]
        if fact in rebuilt:
            cur.execute(FACT_SQL[c])
            continue
        new = temp("newc", c, summary_sql(c, new_rows[fact]))
        keys, measures = CUBE_KEYS[c]
        k = ", ".join(keys)
        sums = ", ".join(f"SUM({m}) AS {m}" for m in measures)
        neg = ", ".join(f"-{m}" for m in measures)
        pos = ", ".join(measures)
        nonzero = " OR ".join(f"SUM({m}) <> 0" for m in measures)
        merged = temp("merged", c, f"""
            SELECT {k}, {sums} FROM (
                SELECT {k}, {pos} FROM {c}
                UNION ALL SELECT {k}, {neg} FROM {old[c]}
                UNION ALL SELECT {k}, {pos} FROM {new}) u
            GROUP BY {k} HAVING {nonzero}""")
        cur.execute(f"DELETE FROM {c}")
        cur.execute(f"INSERT INTO {c} ({k}, {pos}) SELECT {k}, {pos} FROM {merged}")


def _incremental_keys(cur: duckdb.DuckDBPyConnection, src: str, old_rows: str, tag: str, temps: list[str]) -> str:
    """Key CTEs for the touched customers' rows (``src``): the numbers already given (from their old
    fact rows ``old_rows``; an advisor new to these customers is looked up in f_interactions), the
    next free ones for customers and advisors new to the store."""
    ck, ak = f"_crm_ckeys_{tag}", f"_crm_akeys_{tag}"
    temps += [ck, ak]
    cur.execute(f"""
        CREATE TEMP TABLE {ck} AS
        WITH old AS (SELECT DISTINCT customer_id, customer_key FROM {old_rows}),
             fresh AS (SELECT DISTINCT customer_id FROM {src} s
                       WHERE NOT EXISTS (SELECT 1 FROM old WHERE old.customer_id = s.customer_id)),
             base AS (SELECT coalesce(max(customer_key), 0) AS m FROM f_interactions)
        SELECT customer_id, customer_key FROM old
        UNION ALL
        SELECT customer_id, CAST(base.m + ROW_NUMBER() OVER (ORDER BY customer_id) AS INTEGER) FROM fresh, base""")
    cur.execute(f"""
        CREATE TEMP TABLE {ak} AS
        WITH used AS (SELECT DISTINCT nullif(trim(advisor_id), '') AS advisor_id FROM {src} s
                      WHERE nullif(trim(advisor_id), '') IS NOT NULL),
             mine AS (SELECT DISTINCT advisor_id, advisor_key FROM {old_rows} WHERE advisor_id IS NOT NULL),
             other AS (SELECT advisor_id FROM used WHERE advisor_id NOT IN (SELECT advisor_id FROM mine))
        SELECT advisor_id, advisor_key FROM mine WHERE advisor_id IN (SELECT advisor_id FROM used)
        UNION ALL
        SELECT advisor_id, any_value(advisor_key) FROM f_interactions
        WHERE advisor_id IN (SELECT advisor_id FROM other) GROUP BY advisor_id""")
    cur.execute(f"""
        INSERT INTO {ak}
        WITH fresh AS (SELECT DISTINCT nullif(trim(advisor_id), '') AS advisor_id FROM {src} s
                       WHERE nullif(trim(advisor_id), '') IS NOT NULL
                         AND nullif(trim(advisor_id), '') NOT IN (SELECT advisor_id FROM {ak})),
             base AS (SELECT coalesce(max(advisor_key), 0) AS m FROM f_interactions)
        SELECT advisor_id, CAST(base.m + ROW_NUMBER() OVER (ORDER BY advisor_id) AS INTEGER) FROM fresh, base""")
    return (f"        ckeys AS (SELECT customer_id, customer_key FROM {ck}),\n"
            f"        akeys AS (SELECT advisor_id, advisor_key FROM {ak}),\n")


def facts_for(tables: Iterable[str]) -> list[str]:
    """The fact and summary tables to rebuild when ``tables`` changed, in dependency order."""
    changed = set(tables)
    return [f for f, deps in FACT_DEPENDENCIES.items() if changed & set(deps)]


__all__ = ["FACT_DEPENDENCIES", "FACT_SQL", "FACTS_VERSION", "CHANNEL_KIND_SQL", "refresh", "facts_for",
           "fact_select", "FULL_REBUILD_SHARE"]
