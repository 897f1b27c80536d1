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


def _channel_bits(fact: str) -> str:
    return f"""
        WITH ch AS (SELECT DISTINCT channel FROM {fact}),
        numbered AS (SELECT channel, ROW_NUMBER() OVER (ORDER BY channel) AS rn FROM ch)
        SELECT channel, CAST(1 AS BIGINT) << CAST(rn - 1 AS INTEGER) AS bit FROM numbered
        WHERE (SELECT COUNT(*) FROM ch) <= {MAX_CHANNEL_BITS}
    """


def _contact_cube(src: str) -> str:
    return f"""
        SELECT month AS period, segment, region, channels, COUNT(*) AS customers
        FROM (SELECT f.customer_id, CAST(DATE_TRUNC('month', f.day) AS DATE) AS month,
                     ANY_VALUE(f.segment) AS segment, ANY_VALUE(f.region) AS region, BIT_OR(b.bit) AS channels
              FROM {src} f JOIN f_contact_channels b ON b.channel = f.channel
              GROUP BY f.customer_id, month) cm
        GROUP BY ALL
    """


def _buyer_cube(src: str) -> str:
    return f"""
        WITH tcm AS (
            SELECT t.customer_id, CAST(DATE_TRUNC('month', t.day) AS DATE) AS month, b.bit,
                   ANY_VALUE(t.segment) AS segment, ANY_VALUE(t.region) AS region, COUNT(*) AS n
            FROM {src} t JOIN f_buyer_channels b ON b.channel = t.channel
            GROUP BY t.customer_id, month, b.bit
        )
        SELECT month AS period, segment, region, channels, channels_two, COUNT(*) AS customers
        FROM (SELECT customer_id, month, ANY_VALUE(segment) AS segment, ANY_VALUE(region) AS region,
                     BIT_OR(bit) AS channels, BIT_OR(CASE WHEN n >= 2 THEN bit ELSE 0 END) AS channels_two
              FROM tcm GROUP BY customer_id, month) cm
        GROUP BY ALL
    """


def _holding_events(src: str) -> str:
    return f"""
        WITH fpc AS (
            SELECT channel, customer_id, product, MIN(day) AS first_day,
                   ANY_VALUE(segment) AS segment, ANY_VALUE(region) AS region
            FROM {src} ft GROUP BY channel, customer_id, product
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
    """


_BUILDERS = {
    "f_contact_channels": _channel_bits,
    "f_contact_cube": _contact_cube,
    "f_buyer_channels": _channel_bits,
    "f_buyer_cube": _buyer_cube,
    "f_holding_events": _holding_events,
}


def summary_sql(name: str, src: str) -> str:
    """The SELECT building summary table ``name`` from the fact rows ``src`` (the whole fact table,
    or a subquery: every cube row is a count or sum over customers, so the rows of some customers give
    their contribution)."""
    return _BUILDERS[name](src)


# Channel bit tables (numbered over all channels of their fact table) and, per cube, its key columns
# and its measures (counts or sums over customers: contributions of customers add up).
BIT_TABLES = ("f_contact_channels", "f_buyer_channels")
CUBE_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "f_contact_cube": (("period", "segment", "region", "channels"), ("customers",)),
    "f_buyer_cube": (("period", "segment", "region", "channels", "channels_two"), ("customers",)),
    "f_holding_events": (("scope", "channel", "segment", "region", "ev_day"), ("pairs", "buyers", "multi")),
}


# summary table -> the fact table it is built from (rebuilt whenever that fact table is)
SUMMARY_SOURCES: dict[str, str] = {
    "f_contact_channels": "f_interactions",
    "f_contact_cube": "f_interactions",
    "f_buyer_channels": "f_transactions",
    "f_buyer_cube": "f_transactions",
    "f_holding_events": "f_transactions",
}

__all__ = ["summary_sql", "SUMMARY_SOURCES", "BIT_TABLES", "CUBE_KEYS", "MAX_CHANNEL_BITS"]
