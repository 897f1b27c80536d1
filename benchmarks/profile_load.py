"""Where a load spends its time: every SQL statement the load runs, timed (and, for the slow ones,
DuckDB's own EXPLAIN ANALYZE on request).

    .venv/bin/python benchmarks/profile_load.py STORE.duckdb FILE.csv [--table T] [--top 15]

Loads FILE into STORE in-process with ``crm_metrics.data.ingest.load_file`` and a cursor proxy that
times each ``execute``. Prints the statements sorted by time and the load phases. A diagnostic
tool beside ``run.py``; it changes nothing in the engine.
"""
from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm_metrics.data import ingest  # noqa: E402
from crm_metrics.data.store import Store  # noqa: E402


class TimedCursor:
    """Forwards everything to a DuckDB cursor; records (seconds, sql) for every execute."""

    def __init__(self, cur, log: list):
        self._cur = cur
        self._log = log

    def execute(self, sql, params=None):
        t0 = time.perf_counter()
        if params is None:
            self._cur.execute(sql)
        else:
            self._cur.execute(sql, params)
        self._log.append((time.perf_counter() - t0, " ".join(str(sql).split())))
        return self

    def __getattr__(self, name):
        return getattr(self._cur, name)


def short(sql: str, width: int = 160) -> str:
    sql = re.sub(r"_stage_[0-9a-f]{12}", "_stage", sql)
    return sql if len(sql) <= width else sql[: width - 3] + "..."


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("file")
    ap.add_argument("--table")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--json", help="write the statement timings here")
    ap.add_argument("--memory-limit", help="SET memory_limit before the load (e.g. 1500MB): what a cap would cost")
    a = ap.parse_args()
    store = Store(a.db)
    if a.memory_limit:
        store.con.execute(f"SET memory_limit = '{a.memory_limit}'")
    log: list[tuple[float, str]] = []
    orig = store.cursor
    store.cursor = lambda: TimedCursor(orig(), log)  # type: ignore[method-assign]
    phases: list[tuple[float, str]] = []
    t0 = time.perf_counter()
    rep = ingest.load_file(store, a.file, table=a.table,
                           progress=lambda f, m: phases.append((time.perf_counter() - t0, m)))
    total = time.perf_counter() - t0
    store.close()
    print(rep.summary())
    print(f"\ntotal {total:.1f} s, max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print("\nphases:")
    prev = 0.0
    for t, m in phases:
        print(f"  {t - prev:7.1f} s  until: {m}")
        prev = t
    sql_total = sum(s for s, _ in log)
    print(f"\nSQL: {len(log)} statements, {sql_total:.1f} s; top {a.top}:")
    for s, q in sorted(log, reverse=True)[: a.top]:
        print(f"  {s:7.2f} s  {short(q)}")
    if a.json:
        Path(a.json).write_text(json.dumps({"total": total, "phases": phases, "sql": log}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
