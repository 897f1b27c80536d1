"""DuckDB (embedded) vs Apache Spark on the same KPI declarations (docs/scale-out.md). Not a test.

    .venv/bin/python benchmarks/spark_vs_duckdb.py                       # the committed sample company
    .venv/bin/python benchmarks/spark_vs_duckdb.py --customers 1000000 --master 'local[*]'
    .venv/bin/python benchmarks/spark_vs_duckdb.py --db data/crm.duckdb --kpis fcr_rate,clv --by channel

Steps (each timed): generate the sample (with --customers) and load it into a DuckDB store under
--workdir (skipped when the store already has data), export it to Parquet
(``python -m crm_metrics export``), start Spark, then per KPI: DuckDB compute and Spark compute
(first run, then a second run once Spark's code generation is warm), and check both engines agree.
Writes ``results.json`` in --workdir and prints a table.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm_metrics.data.bootstrap import SAMPLE_DIR, load_sample  # noqa: E402
from crm_metrics.data.store import Store  # noqa: E402
from crm_metrics.delivery.export import export_parquet  # noqa: E402
from crm_metrics.metrics.kpis import KPIS, compute  # noqa: E402


def _same(a, b) -> bool:
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    for c in a.columns:
        if c == "value":
            for x, y in zip(a[c], b[c]):
                if math.isnan(x) != math.isnan(y):
                    return False
                if not math.isnan(x) and abs(x - y) > 1e-9 * max(1.0, abs(x)):
                    return False
        elif list(a[c]) != list(b[c]):
            return False
    return True


def _jvm_pid(engine) -> int | None:
    """The local Spark driver JVM (its CPU time is load-independent, unlike wall time)."""
    try:
        return engine.spark.sparkContext._gateway.proc.pid
    except Exception:
        return None


def _cpu(pid: int | None) -> float | None:
    if pid is None:
        return None
    import os
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customers", type=int, default=None, help="generate a sample company of this size")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--db", default=None, help="use this store instead of building one")
    p.add_argument("--workdir", default=str(ROOT / "benchmarks" / "out" / "spark"))
    p.add_argument("--master", default="local[*]")
    p.add_argument("--conf", action="append", default=[], metavar="K=V", help="extra Spark setting (repeatable)")
    p.add_argument("--kpis", default=None, help="comma-separated KPI ids (default: all)")
    p.add_argument("--by", default="", help="dimension(s) to split by, e.g. channel or period (default none)")
    p.add_argument("--grain", default="month")
    p.add_argument("--cache", action="store_true", help="cache the Spark views in memory")
    args = p.parse_args(argv)

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    def step(name, fn):
        t0 = time.perf_counter()
        out = fn()
        timings[name] = round(time.perf_counter() - t0, 3)
        print(f"{name}: {timings[name]:.1f} s", flush=True)
        return out

    if args.db:
        store = Store(args.db)
    else:
        src = SAMPLE_DIR
        tag = "sample"
        if args.customers:
            tag = f"c{args.customers}-s{args.seed}"
            src = work / f"csv-{tag}"
            if not (src / "customers.csv").exists():
                from crm_metrics.data.sample import generate
                step("generate csv", lambda: generate(src, customers=args.customers, seed=args.seed))
        store = Store(work / f"{tag}.duckdb")
        if store.is_empty():
            step("load into duckdb", lambda: load_sample(store, src))
    counts = store.row_counts()
    print("rows:", {k: v for k, v in counts.items() if v})
    pq = work / "parquet"
    manifest = step("export parquet", lambda: export_parquet(store, pq))
    lo, hi = store.data_span()
    by = [d for d in args.by.split(",") if d]
    ids = args.kpis.split(",") if args.kpis else [k for k, v in KPIS.items() if all(d in v.dimensions for d in by)]

    from crm_metrics.metrics.engines.spark_engine import SparkEngine
    conf = dict(c.split("=", 1) for c in args.conf)
    spark_engine = step("start spark", lambda: SparkEngine(master=args.master, data=pq, conf=conf, cache=args.cache))

    jvm = _jvm_pid(spark_engine)
    rows = []
    for k in ids:
        r = {"kpi": k}
        t0, c0 = time.perf_counter(), time.process_time()
        a = compute(store, k, start=lo, end=hi, by=by, grain=args.grain)
        r["duckdb_s"] = round(time.perf_counter() - t0, 3)
        r["duckdb_cpu_s"] = round(time.process_time() - c0, 3)
        t0, c0 = time.perf_counter(), _cpu(jvm)
        b = compute(store, k, start=lo, end=hi, by=by, grain=args.grain, engine=spark_engine)
        r["spark_first_s"] = round(time.perf_counter() - t0, 3)
        r["spark_first_cpu_s"] = None if c0 is None else round(_cpu(jvm) - c0, 3)
        t0 = time.perf_counter()
        compute(store, k, start=lo, end=hi, by=by, grain=args.grain, engine=spark_engine)
        r["spark_warm_s"] = round(time.perf_counter() - t0, 3)
        r["rows"] = len(a)
        r["same"] = _same(a, b)
        rows.append(r)
        print(f"{k:28} duckdb {r['duckdb_s']:7.3f} s   spark {r['spark_first_s']:7.3f} s "
              f"(JVM CPU {r['spark_first_cpu_s'] or 0:6.2f} s) "
              f"(warm {r['spark_warm_s']:7.3f} s)   {'same' if r['same'] else 'DIFFERENT'}", flush=True)
    total = {c: round(sum(r[c] or 0 for r in rows), 2)
             for c in ("duckdb_s", "duckdb_cpu_s", "spark_first_s", "spark_first_cpu_s", "spark_warm_s")}
    print("total:", total)
    result = {"machine": {"python": platform.python_version(), "platform": platform.platform(),
                          "cpus": __import__("os").cpu_count()},
              "master": args.master, "by": by, "grain": args.grain, "window": [str(lo), str(hi)],
              "rows": counts, "parquet": manifest["tables"], "timings": timings, "kpis": rows, "total": total}
    (work / "results.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"wrote {work / 'results.json'}")
    spark_engine.close()
    return 0 if all(r["same"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
