#!/usr/bin/env python
"""Concurrent viewers: N browser sessions on one app process, each visiting pages in turn.

    .venv/bin/python benchmarks/bench_viewers.py --db STORE [--copy] [--n 1,10,30]
        [--pages Scorecard,Channels,Relationships] [--chromium /usr/bin/chromium] [--profile FILE]
        [--streamlit-option=--runner.postScriptGC=true ...]

Starts ``streamlit run app.py`` on a free port with ``CRM_DB`` = the store (``--copy``: a copy in a
temporary folder, so the original is never opened for writing), warms the caches with one session
visiting every page twice, then for each N opens N Playwright browser contexts (headless
Chromium) at once; each context visits the pages in turn, every visit a full page load, i.e. a
new Streamlit session on warm caches (what a new viewer costs). Reports, per N:

- the server process's CPU time (user + system, from /proc) spent during the round, per page view,
  and the same net of what the idle server spends per second (measured for ``--idle`` seconds
  before the rounds: Streamlit polls its config and secrets files every 0.2 s) times the round's
  wall time, which on a busy machine is long;
- page-ready times (median, p95): from navigation until the page's title is drawn and no element
  is a placeholder or running (the end of the quiet spell is not counted);
- the server's memory (RSS at the end and the highest seen, sampled every 0.2 s);
- the whole machine's busy CPU over the round and the server's share of it: the browsers (and,
  on a shared machine, other work) take the rest, which is what the wall times mostly measure;
- errors (a page showing an exception, a navigation failing).

``--profile FILE``: samples the server with py-spy during the largest N and writes the
collapsed stacks to FILE, and a summary of where the server's CPU went (inclusive and own
samples by function) to FILE.txt. Prints JSON and writes benchmarks/out/viewers.json.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
TICK = os.sysconf("SC_CLK_TCK")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
# page name -> URL path (st.navigation: the first page is "/")
PATHS = {"Scorecard": "/", "Channels": "/Channels", "Segments": "/Segments",
         "Relationships": "/Relationships", "Customers_and_value": "/Customers_and_value",
         "Initiatives": "/Initiatives", "Data": "/Data", "Strategy": "/Strategy"}


# -- the server and the machine, from /proc -----------------------------------------------------------
def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process, MB."""
    vals = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            k, v = line.split(":")
            vals[k] = int(v.split()[0]) / 1024
    return vals.get("VmRSS", 0.0), vals.get("VmHWM", 0.0)


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores)."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]
    return (sum(parts[:8]) - idle) / TICK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(db: Path, port: int, extra: list[str]) -> subprocess.Popen:
    env = {**os.environ, "CRM_DB": str(db)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", *extra],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("streamlit did not start: " + proc.stderr.read().decode()[-2000:])


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, proc_rss_mb(self.pid)[0])
            except OSError:
                return
            self.stop.wait(0.2)


# -- the browsers ----------------------------------------------------------------------------------
async def settle(page: Any, timeout: float) -> float:
    """Wait until the page is drawn; returns when it became quiet (perf_counter)."""
    await page.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout * 1000)
    quiet_since, quiet = None, 0
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        busy = (await page.locator('[data-testid="stSkeleton"]').count()
                + await page.locator('[data-testid="stStatusWidget"]').count())
        if busy:
            quiet_since, quiet = None, 0
        else:
            quiet_since = quiet_since or time.perf_counter()
            quiet += 1
            if quiet >= 4:
                return quiet_since
        await asyncio.sleep(0.25)
    raise TimeoutError("the page did not settle")


async def viewer(browser: Any, url: str, pages: list[str], timeout: float) -> dict[str, Any]:
    ctx = await browser.new_context(viewport={"width": 1440, "height": 1000})
    out: dict[str, Any] = {"ready_s": {}, "errors": []}
    try:
        page = await ctx.new_page()
        for name in pages:
            t0 = time.perf_counter()
            try:
                await page.goto(url + PATHS[name], wait_until="domcontentloaded", timeout=timeout * 1000)
                out["ready_s"][name] = round(await settle(page, timeout) - t0, 3)
                if await page.locator('[data-testid="stException"]').count():
                    out["errors"].append(f"{name}: exception shown")
            except Exception as e:  # noqa: BLE001  (counted, the round goes on)
                out["errors"].append(f"{name}: {type(e).__name__}: {str(e)[:200]}")
    finally:
        await ctx.close()
    return out


async def round_of(n: int, url: str, pages: list[str], chromium: str, timeout: float,
                   server_pid: int) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            sampler = RssSampler(server_pid)
            sampler.start()
            cpu0, busy0, t0 = proc_cpu(server_pid), machine_busy(), time.perf_counter()
            results = await asyncio.gather(*(viewer(browser, url, pages, timeout) for _ in range(n)))
            cpu1, busy1, wall = proc_cpu(server_pid), machine_busy(), time.perf_counter() - t0
            sampler.stop.set()
        finally:
            await browser.close()
    ready = sorted(v for r in results for v in r["ready_s"].values())
    views = n * len(pages)
    server_cpu = cpu1 - cpu0
    per_page = {name: [r["ready_s"][name] for r in results if name in r["ready_s"]] for name in pages}
    rss, _ = proc_rss_mb(server_pid)
    return {
        "n": n, "views": views, "views_ok": len(ready), "wall_s": round(wall, 2),
        "server_cpu_s": round(server_cpu, 2), "server_cpu_per_view_ms": round(1000 * server_cpu / views, 1),
        "ready_median_s": round(statistics.median(ready), 2) if ready else None,
        "ready_p95_s": round(ready[min(len(ready) - 1, int(0.95 * len(ready)))], 2) if ready else None,
        "ready_median_by_page_s": {k: round(statistics.median(v), 2) for k, v in per_page.items() if v},
        "server_rss_mb": round(rss, 1), "server_rss_peak_mb": round(sampler.peak, 1),
        "machine_busy_cpu_s": round(busy1 - busy0, 1),
        "server_share_of_busy": round(server_cpu / max(busy1 - busy0, 1e-9), 3),
        "loadavg": os.getloadavg()[0],
        "errors": [e for r in results for e in r["errors"]][:20],
    }


async def first_visits_after_load(url: str, pages: list[str], chromium: str, timeout: float, db: Path,
                                  load_file: Path, server_pid: int, idle_rate: float) -> dict[str, Any]:
    """One browser (an executive with the app open): visits every page, then a load is handed to the
    app (the CLI, as the nightly job runs it), the app's precompute runs, and the same browser
    visits every page again: the first visit of each page after the load, against its visit before."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        ctx = await browser.new_context(viewport={"width": 1440, "height": 1000})
        page = await ctx.new_page()

        async def visit(name: str) -> float:
            t0 = time.perf_counter()
            await page.goto(url + PATHS[name], wait_until="domcontentloaded", timeout=timeout * 1000)
            ready = await settle(page, timeout) - t0
            if await page.locator('[data-testid="stException"]').count():
                raise SystemExit(f"{name}: exception shown")
            return round(ready, 3)

        try:
            before = {name: await visit(name) for name in pages}
            t0 = time.perf_counter()
            load = subprocess.run([sys.executable, "-m", "crm_metrics", "load", str(load_file), "--db", str(db)],
                                  cwd=ROOT, capture_output=True, text=True)
            load_s = time.perf_counter() - t0
            if load.returncode != 0:
                raise SystemExit("the load failed: " + load.stderr[-2000:])
            # the precompute: the server busy until it has recomputed the views; done when its CPU
            # rate is back near idle for two seconds
            t1 = time.perf_counter()
            quiet = 0
            while quiet < 4 and time.perf_counter() - t1 < timeout:
                c0 = proc_cpu(server_pid)
                await asyncio.sleep(0.5)
                quiet = quiet + 1 if proc_cpu(server_pid) - c0 < max(3 * idle_rate, 0.05) * 0.5 else 0
            precompute_s = time.perf_counter() - t1 - 2.0
            after = {name: await visit(name) for name in pages}
        finally:
            await ctx.close()
            await browser.close()
    return {"load_s": round(load_s, 2), "load_stdout": load.stdout.strip()[-300:],
            "precompute_s": round(max(precompute_s, 0.0), 1), "ready_before_s": before, "first_visit_after_s": after}


# -- profile ---------------------------------------------------------------------------------------
def start_profile(pid: int, out: Path) -> subprocess.Popen | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("py-spy not found: no profile", file=sys.stderr)
        return None
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "200",
                             "--output", str(out), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarise_profile(raw: Path, top: int = 40) -> str:
    """Collapsed stacks -> samples per function, inclusive and own, as a text table."""
    incl: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        for f in set(frames):
            incl[f] += n
        own[frames[-1]] += n
    lines = [f"{total} samples (all threads, idle excluded)", "", "inclusive:"]
    lines += [f"{100 * c / max(total, 1):5.1f}%  {f}" for f, c in incl.most_common(top)]
    lines += ["", "own:"]
    lines += [f"{100 * c / max(total, 1):5.1f}%  {f}" for f, c in own.most_common(top)]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True, type=Path)
    ap.add_argument("--copy", action="store_true", help="run on a copy of the store in a temporary folder")
    ap.add_argument("--n", default="1,10,30", help="session counts, comma separated")
    ap.add_argument("--pages", default="Scorecard,Channels,Relationships")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--timeout", type=float, default=600, help="seconds a page may take to settle")
    ap.add_argument("--streamlit-option", action="append", default=[], metavar="--server.x=VALUE",
                    help="a further `streamlit run` option (repeatable), e.g. --streamlit-option="
                         "--runner.postScriptGC=true to measure Streamlit's defaults")
    ap.add_argument("--idle", type=float, default=15, help="seconds to measure the idle server's CPU")
    ap.add_argument("--profile", type=Path, default=None, help="py-spy collapsed stacks of the largest N here")
    ap.add_argument("--after-load", type=Path, default=None, metavar="CSV",
                    help="after the rounds: hand this file to the app as a load, wait for its precompute, "
                         "and time the first visit of each page after it (use --copy)")
    a = ap.parse_args()
    pages = [p.strip() for p in a.pages.split(",") if p.strip()]
    unknown = [p for p in pages if p not in PATHS]
    if unknown:
        raise SystemExit(f"unknown page(s) {unknown}; known: {', '.join(PATHS)}")
    counts = [int(x) for x in a.n.split(",") if x.strip()]
    tmp = None
    db = a.db
    if a.copy:
        tmp = Path(tempfile.mkdtemp(prefix="crm-viewers-"))
        db = tmp / a.db.name
        shutil.copy2(a.db, db)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = start_app(db, port, a.streamlit_option)
    res: dict[str, Any] = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "db": a.db.name,
                           "pages": pages, "streamlit_options": a.streamlit_option, "cores": os.cpu_count(), "rounds": []}
    try:
        t0 = time.perf_counter()
        warm = asyncio.run(round_of(1, url, pages, a.chromium, a.timeout, app.pid))
        warm2 = asyncio.run(round_of(1, url, pages, a.chromium, a.timeout, app.pid))
        res["warm_up"] = {"first_s": round(time.perf_counter() - t0, 1), "cold": warm, "second": warm2}
        print(f"warm-up: cold round {warm['wall_s']} s, server CPU {warm['server_cpu_s']} s; "
              f"second round {warm2['server_cpu_per_view_ms']} ms CPU per view", file=sys.stderr)
        # what the server spends with nobody looking (Streamlit polls its config and secrets files,
        # the app's inbox and precompute threads): subtracted for the "net" figure per view
        c0, t1 = proc_cpu(app.pid), time.perf_counter()
        time.sleep(a.idle)
        idle_rate = (proc_cpu(app.pid) - c0) / (time.perf_counter() - t1)
        res["idle_server_cpu_per_s_ms"] = round(1000 * idle_rate, 1)
        print(f"idle server: {1000 * idle_rate:.1f} ms CPU per second", file=sys.stderr)
        for i, n in enumerate(counts):
            spy = start_profile(app.pid, a.profile) if a.profile and i == len(counts) - 1 else None
            r = asyncio.run(round_of(n, url, pages, a.chromium, a.timeout, app.pid))
            if spy is not None:
                spy.send_signal(__import__("signal").SIGINT)
                spy.wait(30)
                if a.profile.exists():
                    summary = summarise_profile(a.profile)
                    Path(str(a.profile) + ".txt").write_text(summary)
                    r["profile"] = str(a.profile) + ".txt"
            r["server_cpu_per_view_net_ms"] = round(
                max(0.0, 1000 * (r["server_cpu_s"] - idle_rate * r["wall_s"]) / r["views"]), 1)
            res["rounds"].append(r)
            print(f"N={n}: {r['server_cpu_per_view_ms']} ms server CPU per view "
                  f"({r['server_cpu_per_view_net_ms']} ms net of the idle rate), ready median "
                  f"{r['ready_median_s']} s p95 {r['ready_p95_s']} s, server RSS {r['server_rss_mb']} MB "
                  f"(peak {r['server_rss_peak_mb']}), server {100 * r['server_share_of_busy']:.0f} % of the "
                  f"machine's busy CPU, errors {len(r['errors'])}", file=sys.stderr)
        if a.after_load:
            r = asyncio.run(first_visits_after_load(url, pages, a.chromium, a.timeout, db, a.after_load.resolve(),
                                                    app.pid, idle_rate))
            res["after_load"] = r
            print(f"after a load ({r['load_s']} s, precompute {r['precompute_s']} s): first visits "
                  f"{r['first_visit_after_s']}, before the load {r['ready_before_s']}", file=sys.stderr)
    finally:
        app.terminate()
        try:
            app.wait(20)
        except subprocess.TimeoutExpired:
            app.kill()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "viewers.json").write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
