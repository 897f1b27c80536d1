#!/usr/bin/env python
"""What a nightly append costs: one day of new contacts merged into the store holding the whole
sample (incremental facts, crm_metrics.data.facts), against the same file into a store holding only
the customers (docs/benchmarks.md, "Appending a day").

    .venv/bin/python benchmarks/bench_append.py [--customers 1000000] [--workdir /tmp/crm-bench] [--days 3]
        [--first-day 1] [--held]

Builds (untimed, once) a store with the sample's customers and interactions, and one with the
customers only. Each "day" is the sample's last day of contacts moved to the following days, with
new interaction ids (the same customers contacting again): day k is appended to a copy of the full
store made for this run (a merge that touches only those customers; days follow each other in the
copy), and to a fresh copy of the customers-only store. Each load runs as its own process: wall
time, CPU time and peak memory (GNU time). ``--held``: each store is held by a process serving its
inbox (benchmarks/hold_store.py), as the app holds it in production, and the load command hands
the file over; the holders' peak memory is reported too. Prints JSON and writes
benchmarks/out/append.json (append-held.json).
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Config, crm, ensure_sample, machine, now_iso, plain, remove_db, run_child, save  # noqa: E402


def day_file(sample: Path, out: Path, k: int) -> tuple[Path, int]:
    """The sample's last day of contacts, moved k days later, with new ids."""
    src = sample / "interactions.csv"
    with open(src, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:]
    at = head.index("occurred_at")
    last = max(r[at][:10] for r in body)
    day = [r for r in body if r[at][:10] == last]
    new_day = (dt.date.fromisoformat(last) + dt.timedelta(days=k)).isoformat()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "interactions.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(head)
        for i, r in enumerate(day):
            r = list(r)
            r[0] = f"append{k}-{i}"
            r[at] = new_day + r[at][10:]
            w.writerow(r)
    return path, len(day)


def build(db: Path, files: list[Path], say) -> None:
    if Path(str(db) + ".complete").exists():
        return
    remove_db(db)
    for f in files:
        say(f"   loading {f.name} into {db.name} (untimed) ...")
        c = run_child(crm(db, "load", str(f)))
        if c.rc != 0:
            raise SystemExit(c.stderr_text())
    Path(str(db) + ".complete").write_text("{}")


class Holder:
    """A process holding a store as the app does (benchmarks/hold_store.py): loads are handed to it."""

    def __init__(self, db: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("hold_store.py")), str(db)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":  # type: ignore[union-attr]
            raise SystemExit(f"the holder of {db} did not start")

    def peak_mb(self) -> float:
        """The holder's peak resident memory so far (VmHWM)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/crm-bench"))
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--held", action="store_true",
                    help="each store held by a process serving its inbox, as the app holds it in production: "
                         "the load command hands the file over (no process start or closing checkpoint in the load)")
    ap.add_argument("--first-day", type=int, default=1,
                    help="offset of the first appended day (the full store is a copy made for this run)")
    a = ap.parse_args(argv)
    cfg = Config(customers=a.customers, workdir=a.workdir.resolve())
    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    ensure_sample(cfg, say)
    full = cfg.workdir / f"append-full-{cfg.customers}.duckdb"
    only = cfg.workdir / f"append-customers-{cfg.customers}.duckdb"
    build(full, [cfg.sample_dir / "customers.csv", cfg.sample_dir / "interactions.csv"], say)
    build(only, [cfg.sample_dir / "customers.csv"], say)
    # each run appends to its own copy of the full store, so runs repeat: the same days, the same history
    work = cfg.workdir / "append-full-copy.duckdb"
    remove_db(work)
    shutil.copyfile(full, work)
    runs = []
    held_full = Holder(work) if a.held else None
    try:
        for k in range(a.first_day, a.first_day + a.days):
            path, n = day_file(cfg.sample_dir, cfg.workdir / f"append-day{k}", k)
            # the customers-only store: a fresh copy each day, so it holds only the customers and this file
            fresh = cfg.workdir / "append-customers-copy.duckdb"
            remove_db(fresh)
            shutil.copyfile(only, fresh)
            held_only = Holder(fresh) if a.held else None
            try:
                into_full = run_child(crm(work, "load", str(path)))
                into_customers = run_child(crm(fresh, "load", str(path)))
                peaks = (held_full.peak_mb(), held_only.peak_mb()) if held_full and held_only else None
            finally:
                if held_only is not None:
                    held_only.close()
            for c in (into_full, into_customers):
                if c.rc != 0:
                    raise SystemExit(c.stderr_text())
            run = {"day": k, "contacts": n, "into_full_store": into_full.brief(),
                   "into_customers_only": into_customers.brief(),
                   "ratio": round(into_full.wall_s / max(into_customers.wall_s, 1e-9), 2)}
            if peaks:
                run["holder_peak_rss_mb"] = {"full_store": round(peaks[0]), "customers_only": round(peaks[1])}
            runs.append(run)
            say(f"   day {k}: {n:,} contacts: {into_full.wall_s:.2f} s / {into_full.max_rss_mb:.0f} MB into the full "
                f"store, {into_customers.wall_s:.2f} s into customers only")
    finally:
        if held_full is not None:
            held_full.close()
    res = {"when": now_iso(), "machine": machine(), "customers": cfg.customers, "held": a.held, "runs": runs}
    save("append-held" if a.held else "append", plain(res))
    print(json.dumps(plain(res), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
