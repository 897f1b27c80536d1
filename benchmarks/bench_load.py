"""1. Load: ``python -m crm_metrics load`` of every sample file into a fresh store (customers first),
timed per file with its phases (from the --progress messages), CPU time and peak memory; beside
it, DuckDB's own ``CREATE TABLE t AS SELECT * FROM read_csv(...)`` of the same files."""
from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import (
    PY,
    Config,
    crm,
    ensure_sample,
    mark_store_complete,
    now_iso,
    remove_db,
    run_child,
    sample_files,
    wait_quiet,
)

RAW_SCRIPT = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
con.execute("SET enable_progress_bar = false")
t0 = time.perf_counter()
con.execute("CREATE TABLE t AS SELECT * FROM read_csv('" + sys.argv[2].replace("'", "''") + "')")
t1 = time.perf_counter()
n = con.execute("SELECT count(*) FROM t").fetchone()[0]
con.close()
t2 = time.perf_counter()
print(t1 - t0, t2 - t0, n)
"""

# progress message (ingest.load_file) -> the phase that starts there
PHASES = [
    ("checking encoding", "scan"),          # SHA-256, NUL bytes, UTF-8 check, header, column matching
    ("reading rows", "read_csv"),           # fast path: sample + column plans; careful path: text staging table
    ("checking and writing rows", "check_write"),  # fast path: one pass reading, checking, writing; duplicates
    ("validating", "validate"),             # date/number plans, every rule on every row, duplicate keys
    ("writing", "write"),                   # typed copy, snapshot for undo, insert / merge
    ("computing derived facts", "facts"),   # rebuild the fact and summary tables, unmatched count, record, commit
    ("done", "exit"),                       # after the commit until the process has ended
]
TARGET_RATIO = 0.50
TARGET_RSS_MB = 2048


def phases(child) -> dict[str, float]:
    """Seconds per phase from the time-stamped progress lines; 'startup' = process start to the first."""
    marks: list[tuple[float, str]] = []
    for t, line in child.stderr:
        for key, name in PHASES:
            if re.search(r"\]\s.*: " + re.escape(key), line):
                marks.append((t, name))
                break
    out: dict[str, float] = {}
    prev_t, prev_name = 0.0, "startup"
    for t, name in marks:
        out[prev_name] = round(out.get(prev_name, 0.0) + t - prev_t, 2)
        prev_t, prev_name = t, name
    out[prev_name] = round(out.get(prev_name, 0.0) + child.wall_s - prev_t, 2)
    return out


def warm_page_cache(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(16 * 1024 * 1024):
            pass


def run(cfg: Config, say: Callable[[str], None] = print) -> dict[str, Any]:
    sample = ensure_sample(cfg, say)
    files = sample_files(cfg)
    for p in files.values():
        warm_page_cache(p)
    res: dict[str, Any] = {"when": now_iso(), "customers": cfg.customers, "sample": sample,
                           "file_mb": {t: round(p.stat().st_size / 1e6, 1) for t, p in files.items()},
                           "raw": {}, "ours": {}, "quiet": wait_quiet(cfg.quiet_wait, say)}

    # DuckDB alone, fresh database file per table, in a child process like ours
    for table in ("customers", "interactions", "transactions", "surveys"):
        db = cfg.workdir / f"raw-{table}.duckdb"
        remove_db(db)
        say(f"  raw DuckDB CTAS read_csv({table}.csv) ...")
        c = run_child([PY, "-c", RAW_SCRIPT, str(db), str(files[table])])
        if c.rc != 0:
            raise SystemExit(c.stderr_text())
        ctas_s, total_in_proc_s, n = c.stdout.strip().splitlines()[-1].split()
        res["raw"][table] = {**c.brief(), "ctas_s": round(float(ctas_s), 3), "rows": int(n)}
        remove_db(db)
        say(f"    {c.wall_s:.1f} s wall (CTAS {float(ctas_s):.1f} s), {c.max_rss_mb:.0f} MB peak")

    # what DuckDB alone needs for the table plus the window facts, without our rules (load_bound.py)
    say("  lower bound: typed CTAS, + window facts in one pass, + a second table (load_bound.py) ...")
    bound_json = cfg.workdir / "load_bound.json"
    c = run_child([PY, str(Path(__file__).with_name("load_bound.py")), "--csv", str(files["interactions"]),
                   "--repeats", "1", "--out", str(bound_json)])
    if c.rc != 0:
        raise SystemExit(c.stderr_text())
    res["bound"] = json.loads(bound_json.read_text())["seconds"]
    say(f"    {res['bound']}")

    # ours: a fresh store, every file, customers first
    work_db = cfg.workdir / f"load-{cfg.customers}.duckdb"
    remove_db(work_db)
    for table, path in files.items():
        say(f"  python -m crm_metrics load {path.name} ...")
        c = run_child(crm(work_db, "load", str(path), "--progress"))
        if c.rc != 0:
            raise SystemExit(f"load of {path} failed (exit {c.rc}):\n{c.stdout}\n{c.stderr_text()}")
        res["ours"][table] = {**c.brief(), "phases": phases(c), "report": c.stdout.strip()}
        say(f"    {c.wall_s:.1f} s wall, {c.cpu_s:.1f} s CPU, {c.max_rss_mb:.0f} MB peak; phases {phases(c)}")
    res["store_mb"] = round(work_db.stat().st_size / 1e6, 1)

    raw_i, our_i = res["raw"]["interactions"], res["ours"]["interactions"]
    res["interactions"] = {
        "raw_wall_s": raw_i["wall_s"], "our_wall_s": our_i["wall_s"],
        "ratio_wall": round(raw_i["wall_s"] / our_i["wall_s"], 4),
        "ratio_cpu": round(raw_i["cpu_s"] / our_i["cpu_s"], 4) if our_i["cpu_s"] else None,
        "our_max_rss_mb": our_i["max_rss_mb"],
        "target_ratio": TARGET_RATIO, "target_rss_mb": TARGET_RSS_MB,
        "ratio_ok": raw_i["wall_s"] / our_i["wall_s"] >= TARGET_RATIO,
        "rss_ok": our_i["max_rss_mb"] <= TARGET_RSS_MB,
    }
    # the loaded store becomes the bench store of the other sections
    remove_db(cfg.store_path)
    shutil.move(str(work_db), str(cfg.store_path))
    if Path(str(work_db) + ".wal").exists():
        shutil.move(str(work_db) + ".wal", str(cfg.store_path) + ".wal")
    mark_store_complete(cfg, {"built_by": "bench_load", "when": res["when"]})
    return res
