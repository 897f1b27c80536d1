"""Summary tables built at load time so that per-customer KPIs aggregate a few thousand rows.

Counting *distinct* customers per channel and month over ten million contacts means grouping by
customer at query time (seconds on two cores). These tables do that grouping once, in the load's
transaction, right after the fact tables:

``f_contact_channels`` / ``f_buyer_channels``
    one bit per channel of f_interactions / f_transactions (at most 62 channels; with more the
    table stays empty and KPIs use their plain query).
``f_contact_cube`` (period, segment, region, channels, customers)
    per calendar month: how many customers contacted the company through exactly
    the set of channels ``channels`` (a bit mask) in that period. Segment and region are the
    customer's, so counts add up over them; channels do not add up (one customer uses several),
    which is what the mask is for: customers using channel c are the rows with bit c set; customers
    using two or more of a set of channels are the rows whose mask, restricted to the set, has more
    than one bit.
``f_buyer_cube`` (period, segment, region, channels, channels_two, customers)
    the same for transactions, plus ``channels_two``: the channels with at least two transactions
    by the customer in the period (repeat purchases).
``f_holding_events`` (scope, channel, segment, region, ev_day, pairs, buyers, multi)
    the events products_per_customer and cross_sell_rate accumulate, per day: first purchases of a
    (customer, product), customers' first transactions, and the day a customer's second distinct
    product was bought; once over all channels (scope 'all') and once within each channel (scope
    'channel').

A KPI declares a ``summary`` query next to its plain ``query``; ``crm_metrics.metrics.kpis.compute`` uses
it when the request can be answered exactly from these tables (crm_metrics.metrics.kpis.sql.fits_month_cubes).
The plain queries stay the definition: tests check both give the same numbers, and the Spark engine
runs the plain ones.
"""
from __future__ import annotations

MAX_CHANNEL_BITS = 62  # a BIGINT mask with room to spare for the sign


def _channel_bits(table: str, fact: str) -> str:
    return f"""
        CREATE OR REPLACE TABLE {table} AS
        WITH ch AS (SELECT DISTINCT channel FROM {fact}),
        numbered AS (SELECT channel, ROW_NUMBER() OVER (ORDER BY channel) AS rn FROM ch)
        SELECT channel, CAST(1 AS BIGINT) << CAST(rn - 1 AS INTEGER) AS bit FROM numbered
        WHERE (SELECT COUNT(*) FROM ch) <= {MAX_CHANNEL_BITS}
    """


SUMMARY_SQL: dict[str, str] = {
    "f_contact_channels": _channel_bits("f_contact_channels", "f_interactions"),
    "f_contact_cube": """
        CREATE OR REPLACE TABLE f_contact_cube AS
        SELECT month AS period, segment, region, channels, COUNT(*) AS customers
        FROM (SELECT f.customer_id, CAST(DATE_TRUNC('month', f.day) AS DATE) AS month,
                     ANY_VALUE(f.segment) AS segment, ANY_VALUE(f.region) AS region, BIT_OR(b.bit) AS channels
              FROM f_interactions f JOIN f_contact_channels b ON b.channel = f.channel
              GROUP BY f.customer_id, month) cm
        GROUP BY ALL
    """,
    "f_buyer_channels": _channel_bits("f_buyer_channels", "f_transactions"),
    "f_buyer_cube": """
        CREATE OR REPLACE TABLE f_buyer_cube AS
        WITH tcm AS (
            SELECT t.customer_id, CAST(DATE_TRUNC('month', t.day) AS DATE) AS month, b.bit,
                   ANY_VALUE(t.segment) AS segment, ANY_VALUE(t.region) AS region, COUNT(*) AS n
            FROM f_transactions t JOIN f_buyer_channels b ON b.channel = t.channel
            GROUP BY t.customer_id, month, b.bit
        )
        SELECT month AS period, segment, region, channels, channels_two, COUNT(*) AS customers
        FROM (SELECT customer_id, month, ANY_VALUE(segment) AS segment, ANY_VALUE(region) AS region,
                     BIT_OR(bit) AS channels, BIT_OR(CASE WHEN n >= 2 THEN bit ELSE 0 END) AS channels_two
              FROM tcm GROUP BY customer_id, month) cm
        GROUP BY ALL
    """,
    "f_holding_events": """
        CREATE OR REPLACE TABLE f_holding_events AS
        WITH fpc AS (
            SELECT channel, customer_id, product, MIN(day) AS first_day,
                   ANY_VALUE(segment) AS segment, ANY_VALUE(region) AS region
            FROM f_transactions GROUP BY channel, customer_id, product
        ),
        fp AS (
            SELECT 'channel' AS scope, * FROM fpc
            UNION ALL
            SELECT 'all' AS scope, '' AS channel, customer_id, product, MIN(first_day) AS first_day,
                   ANY_VALUE(segment) AS segment, ANY_VALUE(region) AS region
            FROM fpc GROUP BY customer_id, product
        ),
        -- per customer: the day of the first product and of the second (the two smallest first days)
        pc AS (
            SELECT scope, channel, customer_id, ANY_VALUE(segment) AS segment, ANY_VALUE(region) AS region,
                   MIN(first_day, 2) AS firsts
            FROM fp GROUP BY scope, channel, customer_id
        ),
        ev AS (
            SELECT scope, channel, segment, region, first_day AS ev_day, 1 AS pairs, 0 AS buyers, 0 AS multi FROM fp
            UNION ALL
            SELECT scope, channel, segment, region, firsts[1], 0, 1, 0 FROM pc
            UNION ALL
            SELECT scope, channel, segment, region, firsts[2], 0, 0, 1 FROM pc WHERE len(firsts) >= 2
        )
        SELECT scope, channel, segment, region, ev_day, SUM(pairs) AS pairs, SUM(buyers) AS buyers,
               SUM(multi) AS multi
        FROM ev GROUP BY ALL
    """,
}

# summary table -> the fact table it is built from (rebuilt whenever that fact table is)
SUMMARY_SOURCES: dict[str, str] = {
    "f_contact_channels": "f_interactions",
    "f_contact_cube": "f_interactions",
    "f_buyer_channels": "f_transactions",
    "f_buyer_cube": "f_transactions",
    "f_holding_events": "f_transactions",
}

__all__ = ["SUMMARY_SQL", "SUMMARY_SOURCES", "MAX_CHANNEL_BITS"]
