"""Initiative impact, cold: ``python -m crm_metrics --db X impact --format json`` in a fresh process
(every initiative, 90 days, with the uncertainty: units, weekly series, ITS, placebo, bootstrap),
and in-process where the time goes per initiative. Target (issue 19): ≤ 30 s on the 1M-customer store.

    python benchmarks/bench_impact.py STORE.duckdb
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 30.0


def main(db: str) -> dict:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "crm_metrics", "--db", db, "impact", "--format", "json"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    cold = time.perf_counter() - t
    rows = json.loads(out)["initiatives"]
    sys.path.insert(0, str(ROOT))
    from crm_metrics.data.store import Store
    from crm_metrics.judgement.impact import impact
    store = Store(db)
    per = {}
    for r in rows:
        t = time.perf_counter()
        impact(store, initiative_id=r["initiative_id"])
        per[r["initiative_id"]] = round(time.perf_counter() - t, 2)
    store.close()
    res = {"cold_cli_s": round(cold, 2), "target_s": TARGET_S, "per_initiative_warm_s": per,
           "verdicts": {r["initiative_id"]: r["verdict"] for r in rows}}
    print(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main(sys.argv[1])
