"""The fact tables: per-row facts KPIs need (the customer's segment and region, whether the customer
is known, the channel kind, the time of the customer's next contact), rebuilt from the contract's
tables inside each load's transaction (Store.refresh_facts), plus the summary tables built from them
(crm_metrics.data.summaries). Declarations only: SQL per table and what each depends on."""
from __future__ import annotations

from crm_metrics.data.schema import SELF_SERVICE_CHANNEL_NAMES, UNKNOWN
from crm_metrics.data.summaries import SUMMARY_SOURCES, SUMMARY_SQL

# Which fact tables depend on which source tables.
FACT_DEPENDENCIES: dict[str, tuple[str, ...]] = {
    "f_interactions": ("interactions", "customers", "channels"),
    "f_transactions": ("transactions", "customers"),
    "f_surveys": ("surveys", "customers"),
}
# Summary tables (crm_metrics.data.summaries) come after the fact table they are built from.
FACT_DEPENDENCIES.update({name: FACT_DEPENDENCIES[src] for name, src in SUMMARY_SOURCES.items()})

_SELF_SERVICE_LIST = ", ".join(f"'{n}'" for n in SELF_SERVICE_CHANNEL_NAMES)

# Channel kind: the channels table wins, else the default by name (data contract).
CHANNEL_KIND_SQL = f"""coalesce(
    (SELECT ch.kind FROM channels ch WHERE lower(trim(ch.channel)) = lower(trim(x.channel)) LIMIT 1),
    CASE WHEN lower(trim(x.channel)) IN ({_SELF_SERVICE_LIST}) THEN 'self_service' ELSE 'assisted' END)"""

FACT_SQL: dict[str, str] = {
    "f_interactions": f"""
        CREATE OR REPLACE TABLE f_interactions AS
        WITH kinds AS (
            SELECT x.channel, {CHANNEL_KIND_SQL} AS kind
            FROM (SELECT DISTINCT channel FROM interactions) x
        ),
        -- dense integer keys: continuity groups millions of (customer, advisor) pairs, faster on integers
        ckeys AS (
            SELECT customer_id, CAST(ROW_NUMBER() OVER (ORDER BY customer_id) AS INTEGER) AS customer_key
            FROM (SELECT DISTINCT customer_id FROM interactions) d
        ),
        akeys AS (
            SELECT advisor_id, CAST(ROW_NUMBER() OVER (ORDER BY advisor_id) AS INTEGER) AS advisor_key
            FROM (SELECT DISTINCT nullif(trim(advisor_id), '') AS advisor_id FROM interactions) d
            WHERE advisor_id IS NOT NULL
        ),
        x AS (
            SELECT x.*, k.kind, nullif(trim(x.advisor_id), '') AS advisor,
                   CASE WHEN k.kind = 'assisted' THEN nullif(trim(x.advisor_id), '') END AS cont_advisor
            FROM interactions x LEFT JOIN kinds k ON k.channel IS NOT DISTINCT FROM x.channel
        ),
        -- each (customer, advisor) pair of assisted contacts over the whole history: continuity reads a
        -- pair's count directly when all of its contacts fall inside the window (no grouping per pair).
        -- Read from interactions, not from x: a second reader of x would materialise that wide CTE.
        pairs AS (
            SELECT x.customer_id, nullif(trim(x.advisor_id), '') AS cont_advisor,
                   CAST(count(*) AS INTEGER) AS pair_contacts,
                   min(CAST(x.occurred_at AS DATE)) AS pair_first_day,
                   max(CAST(x.occurred_at AS DATE)) AS pair_last_day
            FROM interactions x JOIN kinds k ON k.channel IS NOT DISTINCT FROM x.channel
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
    """,
    "f_transactions": f"""
        CREATE OR REPLACE TABLE f_transactions AS
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
        FROM transactions t LEFT JOIN customers c ON c.customer_id = t.customer_id
    """,
    "f_surveys": f"""
        CREATE OR REPLACE TABLE f_surveys AS
        SELECT s.response_id, s.customer_id, s.answered_on AS day, s.nps,
               coalesce(nullif(trim(s.channel), ''), '{UNKNOWN}') AS channel,
               coalesce(c.segment, '{UNKNOWN}') AS segment,
               coalesce(c.region, '{UNKNOWN}') AS region,
               c.customer_id IS NOT NULL AS known
        FROM surveys s LEFT JOIN customers c ON c.customer_id = s.customer_id
    """,
}

FACT_SQL.update(SUMMARY_SQL)
