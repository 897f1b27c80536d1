"""Shared helpers of the benchmarks: paths, the sample and the bench store, child processes with
their own peak memory and CPU time, machine facts, and the machine's load while we measure."""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
DOC = ROOT / "docs" / "benchmarks.md"
PY = sys.executable

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The order a first load uses (crm_metrics.data.bootstrap.SAMPLE_ORDER): customers first.
LOAD_ORDER = ("customers", "channels", "segments", "interactions", "transactions", "surveys",
              "initiatives", "goals")


@dataclass
class Config:
    customers: int
    workdir: Path
    repeats: int = 5
    quiet_wait: float = 300.0

    @property
    def sample_dir(self) -> Path:
        return self.workdir / f"sample-{self.customers}"

    @property
    def store_path(self) -> Path:
        return self.workdir / f"store-{self.customers}.duckdb"


# -- the machine -------------------------------------------------------------------------------
def loadavg() -> tuple[float, float, float]:
    a, b, c = Path("/proc/loadavg").read_text().split()[:3]
    return float(a), float(b), float(c)


def ncpu() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


def wait_quiet(max_wait: float, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Wait (up to ``max_wait`` s) until the 1-minute load average is below the number of cores,
    so that other work on the machine disturbs the measurement less. Returns what was seen."""
    t0 = time.time()
    limit = ncpu()
    first = loadavg()[0]
    told = False
    while loadavg()[0] >= limit and time.time() - t0 < max_wait:
        if not told:
            say(f"  (waiting up to {max_wait:.0f} s for a quieter machine: load {loadavg()[0]:.1f} on {limit} cores)")
            told = True
        time.sleep(10)
    return {"load_before_wait": first, "load_at_start": loadavg()[0], "waited_s": round(time.time() - t0, 1)}


def machine() -> dict[str, Any]:
    import duckdb
    import pandas
    import streamlit

    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": ncpu(), "cpu": model, "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "os": platform.platform(), "python": platform.python_version(),
        "duckdb": duckdb.__version__, "pandas": pandas.__version__, "streamlit": streamlit.__version__,
    }


# -- child processes -----------------------------------------------------------------------------
@dataclass
class Child:
    cmd: list[str]
    rc: int
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mb: float
    stdout: str
    stderr: list[tuple[float, str]] = field(default_factory=list)  # (seconds since start, line)
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)              # load average at the end

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    def stderr_text(self) -> str:
        return "\n".join(line for _, line in self.stderr)

    def brief(self) -> dict[str, Any]:
        return {"wall_s": round(self.wall_s, 3), "cpu_s": round(self.cpu_s, 3),
                "max_rss_mb": round(self.max_rss_mb, 1), "rc": self.rc, "load_end": self.load[0]}


TIME = "/usr/bin/time"
RSS_MARK = "@@bench-max-rss-kb "


def run_child(cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT) -> Child:
    """Run ``cmd``; wall time, CPU time and peak RSS, stdout, and stderr lines time-stamped as they
    arrive (progress messages).

    Peak RSS comes from ``/usr/bin/time -f %M`` when it exists: Linux carries the *parent's* peak RSS
    over into a child's ``ru_maxrss`` at exec (Python's subprocess uses vfork), so ``os.wait4`` alone
    reports at least this benchmark process's own peak (several GB once pandas has held the fact
    tables). GNU time is a small process of its own, so its child starts from a clean count."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault("PYTHONUNBUFFERED", "1")
    use_time = os.path.exists(TIME)
    argv = ([TIME, "-f", RSS_MARK + "%M"] if use_time else []) + list(cmd)
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=full_env, cwd=str(cwd), bufsize=1)
    out: list[str] = []
    err: list[tuple[float, str]] = []

    def read_out() -> None:
        out.append(p.stdout.read())  # type: ignore[union-attr]

    def read_err() -> None:
        for line in p.stderr:  # type: ignore[union-attr]
            err.append((time.perf_counter() - t0, line.rstrip("\n")))

    threads = [threading.Thread(target=read_out, daemon=True), threading.Thread(target=read_err, daemon=True)]
    for t in threads:
        t.start()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    for t in threads:
        t.join()
    max_rss_kb = float(ru.ru_maxrss)
    marks = [line for _, line in err if line.startswith(RSS_MARK)]
    if marks:
        max_rss_kb = float(marks[-1][len(RSS_MARK):])
        err = [(t, line) for t, line in err if not line.startswith(RSS_MARK)]
    if use_time:  # GNU time's own note
        err = [(t, line) for t, line in err if not line.startswith("Command exited with non-zero status")]
    return Child(list(cmd), p.returncode, wall, ru.ru_utime, ru.ru_stime, max_rss_kb / 1024.0,
                 "".join(out), err, loadavg())


def crm(cfg_or_db: Config | Path | str, *args: str) -> list[str]:
    db = cfg_or_db.store_path if isinstance(cfg_or_db, Config) else cfg_or_db
    return [PY, "-m", "crm_metrics", "--db", str(db), *args]


# -- timing in process ---------------------------------------------------------------------------
def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    r = fn()
    return time.perf_counter() - t0, r


def repeat(fn: Callable[[], Any], n: int, warmup: int = 1) -> dict[str, Any]:
    """``warmup`` untimed calls, then ``n`` timed ones: median / min / max in ms, and the last result."""
    r = None
    for _ in range(warmup):
        r = fn()
    times, cpu = [], []
    for _ in range(n):
        c0 = time.process_time()
        t, r = timed(fn)
        cpu.append((time.process_time() - c0) * 1000)
        times.append(t * 1000)
    # cpu: this process's CPU time (all threads, DuckDB's included) per call: steadier than wall time
    # on a shared machine; on an idle machine with k cores the wall time is at least cpu / k.
    return {"median_ms": round(statistics.median(times), 2), "min_ms": round(min(times), 2),
            "max_ms": round(max(times), 2), "cpu_median_ms": round(statistics.median(cpu), 2),
            "runs": n, "result": r}


# -- the sample and the bench store ----------------------------------------------------------------
def ensure_sample(cfg: Config, say: Callable[[str], None] = print) -> dict[str, Any]:
    """``crm_metrics.data.sample.generate(dir, customers=N, seed=42)`` once; reused when complete."""
    marker = cfg.sample_dir / ".complete"
    if marker.exists():
        return json.loads(marker.read_text())
    from crm_metrics.data.sample import generate

    say(f"generating the sample company with {cfg.customers:,} customers in {cfg.sample_dir} ...")
    cfg.sample_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows = generate(cfg.sample_dir, customers=cfg.customers, seed=42)
    info = {"customers": cfg.customers, "seed": 42, "rows": rows, "seconds": round(time.perf_counter() - t0, 1)}
    marker.write_text(json.dumps(info))
    return info


def sample_files(cfg: Config) -> dict[str, Path]:
    return {t: cfg.sample_dir / f"{t}.csv" for t in LOAD_ORDER if (cfg.sample_dir / f"{t}.csv").exists()}


def remove_db(path: Path) -> None:
    for p in (path, Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)


def store_ready(cfg: Config) -> bool:
    """The bench store exists and holds every table of the sample (marker written after a full load)."""
    return cfg.store_path.exists() and Path(str(cfg.store_path) + ".complete").exists()


def mark_store_complete(cfg: Config, info: dict[str, Any]) -> None:
    Path(str(cfg.store_path) + ".complete").write_text(json.dumps(info, default=str))


def ensure_store(cfg: Config, say: Callable[[str], None] = print) -> None:
    """Build the bench store (every sample file loaded, customers first) unless it is there."""
    if store_ready(cfg):
        return
    ensure_sample(cfg, say)
    say(f"building the bench store {cfg.store_path} (not timed) ...")
    remove_db(cfg.store_path)
    for _table, path in sample_files(cfg).items():
        c = run_child(crm(cfg, "load", str(path)))
        if c.rc != 0:
            raise SystemExit(f"loading {path} failed:\n{c.stderr_text()}")
    mark_store_complete(cfg, {"built_by": "ensure_store"})


# -- results ---------------------------------------------------------------------------------------
def code_state() -> dict[str, Any]:
    """Which engine code was measured: a hash over crm_metrics/**/*.py, ui/*.py, app.py, pages/*.py and
    the newest modification time among them (the code changes while work goes on)."""
    import hashlib

    files = sorted([*ROOT.glob("crm_metrics/**/*.py"), *ROOT.glob("ui/*.py"), ROOT / "app.py", *ROOT.glob("pages/*.py")])
    h = hashlib.sha256()
    newest = 0.0
    for f in files:
        if f.exists():
            h.update(f.read_bytes())
            newest = max(newest, f.stat().st_mtime)
    return {"sha256_12": h.hexdigest()[:12],
            "newest_change": dt.datetime.fromtimestamp(newest, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def save(section: str, data: dict[str, Any]) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{section}.json"
    path.write_text(json.dumps(data, indent=1, default=str))
    return path


def load_results() -> dict[str, dict[str, Any]]:
    out = {}
    for name in ("meta", "load", "kpis", "app", "report", "analysis"):
        p = OUT / f"{name}.json"
        if p.exists():
            out[name] = json.loads(p.read_text())
    return out


def plain(obj: Any) -> Any:
    """JSON-friendly copy (dataclasses, numpy numbers)."""
    if hasattr(obj, "__dataclass_fields__"):
        return plain(asdict(obj))
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        try:
            return obj.item()
        except (ValueError, AttributeError):
            return str(obj)
    return obj
