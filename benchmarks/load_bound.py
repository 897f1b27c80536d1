"""How fast could a load of interactions.csv be at best? DuckDB alone, without our rules.

    .venv/bin/python benchmarks/load_bound.py --csv WORKDIR/sample-1000000/interactions.csv

Each step runs in a fresh database file in this process (median of --repeats), after one untimed
read of the file into the page cache:

1. ``ctas``: ``CREATE TABLE t AS SELECT * FROM read_csv(FILE)`` (the benchmark's reference);
2. ``typed``: the same with the contract's column types given (no sniffing, no checks);
3. ``typed_window``: 2 plus the per-contact window facts the KPIs need (next strictly later
   contact of the customer; previous assisted advisor and its day) computed in the same pass and
   stored in the same table -- one table, no validation, no joins, no summaries;
4. ``typed_then_window``: 2 into one table, then a second table with the window facts (two tables,
   as the store keeps them).

It answers whether ``load >= 50 % of CTAS`` is reachable: step 3 is a lower bound for any design that
computes the facts during the load, before parsing rules, trimming, customer joins and summaries.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

TYPES = {"interaction_id": "VARCHAR", "customer_id": "VARCHAR", "occurred_at": "TIMESTAMP",
         "channel": "VARCHAR", "advisor_id": "VARCHAR", "reason": "VARCHAR", "handle_seconds": "DOUBLE",
         "wait_seconds": "DOUBLE", "resolved": "BOOLEAN", "csat": "INTEGER", "ces": "INTEGER"}

WINDOW = """first_value(occurred_at) OVER (PARTITION BY customer_id ORDER BY occurred_at
                RANGE BETWEEN INTERVAL 1 MICROSECOND FOLLOWING AND UNBOUNDED FOLLOWING) AS next_contact_at,
            last_value(advisor_id IGNORE NULLS) OVER earlier AS prev_advisor,
            last_value(CASE WHEN advisor_id IS NOT NULL THEN CAST(occurred_at AS DATE) END IGNORE NULLS)
                OVER earlier AS prev_advisor_day"""
EARLIER = ("WINDOW earlier AS (PARTITION BY customer_id ORDER BY occurred_at, interaction_id "
           "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)")


def steps(csv: str) -> dict[str, list[str]]:
    q = csv.replace("'", "''")
    cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in TYPES.items()) + "}"
    typed = f"read_csv('{q}', header=true, auto_detect=false, columns={cols})"
    return {
        "ctas": [f"CREATE TABLE t AS SELECT * FROM read_csv('{q}')"],
        "typed": [f"CREATE TABLE t AS SELECT * FROM {typed}"],
        "typed_window": [f"CREATE TABLE t AS SELECT *, {WINDOW} FROM {typed} {EARLIER}"],
        "typed_then_window": [f"CREATE TABLE t AS SELECT * FROM {typed}",
                              f"CREATE TABLE f AS SELECT *, {WINDOW} FROM t {EARLIER}"],
    }


def run_step(sqls: list[str]) -> float:
    with tempfile.TemporaryDirectory() as d:
        con = duckdb.connect(os.path.join(d, "b.duckdb"))
        con.execute("SET enable_progress_bar = false")
        t0 = time.perf_counter()
        for s in sqls:
            con.execute(s)
        con.execute("CHECKPOINT")
        el = time.perf_counter() - t0
        con.close()
    return el


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", required=True, help="the interactions CSV (bench_load passes the sample's)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "load_bound.json")
    a = ap.parse_args()
    with open(a.csv, "rb") as f:
        while f.read(16 * 1024 * 1024):
            pass
    res: dict[str, float] = {}
    for name, sqls in steps(a.csv).items():
        times = [run_step(sqls) for _ in range(a.repeats)]
        res[name] = round(statistics.median(times), 2)
        print(f"{name:18s} {res[name]:6.1f} s  (CTAS / this = {res['ctas'] / res[name]:.0%})", flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"csv_mb": round(os.path.getsize(a.csv) / 1e6, 1), "seconds": res}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
