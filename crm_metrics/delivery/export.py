"""Export the store for Apache Spark (or any Parquet reader): ``python -m crm_metrics export``.

    export_parquet(store, "exports/crm")  ->  manifest (dict, also written as manifest.json)

Layout (one folder per table, read by crm_metrics.metrics.engines.SparkEngine as temp views of that name)::

    DIR/f_interactions/month=2026-03/data_0.parquet     facts: hive-partitioned by month (YYYY-MM of `day`)
    DIR/f_transactions/month=.../                       (the partition column holds text 'YYYY-MM')
    DIR/f_surveys/month=.../
    DIR/customers/data.parquet                          customers, initiatives: one file each
    DIR/goals/ segments/ channels/ settings/            the strategy tables and the settings
    DIR/manifest.json                                   rows per table, data span, data_version

Each table is written next to the old one and swapped in when complete, so a reader sees the
old or the new folder of a table, never half of one. Files are zstd-compressed Parquet written by
DuckDB's ``COPY ... (FORMAT parquet, PARTITION_BY (month))``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from crm_metrics.data.store import Store
from crm_metrics.delivery.cli_support import EXIT_OK, Refused, store_for, terminal_progress

FACTS = ("f_interactions", "f_transactions", "f_surveys")
OTHERS = ("customers", "initiatives", "goals", "segments", "channels", "settings")
EXPORT_TABLES = FACTS + OTHERS
PARTITION_COLUMN = "month"
MANIFEST = "manifest.json"
FORMAT_NAME = "crm_metrics parquet export"


class ExportError(ValueError):
    """The export cannot be written (bad folder, store locked down, unknown table)."""


def _q(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def export_parquet(store: Store, out_dir: str | os.PathLike[str], tables: Iterable[str] | None = None,
                   *, partition: bool = True,
                   progress: Callable[[float, str], None] | None = None) -> dict[str, Any]:
    """Write the fact tables (partitioned by month), customers, initiatives, the strategy tables and
    the settings of ``store`` as Parquet under ``out_dir``; return the manifest."""
    names = list(tables) if tables is not None else list(EXPORT_TABLES)
    unknown = [t for t in names if t not in EXPORT_TABLES]
    if unknown:
        raise ExportError(f"cannot export {', '.join(unknown)}; tables: {', '.join(EXPORT_TABLES)}")
    out = Path(out_dir).resolve()
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    if not store.can_read(out):
        raise ExportError(f"this process may not write to {out} (the store is locked down)")
    staging = out / f".staging-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    manifest: dict[str, Any] = {"format": FORMAT_NAME, "version": 1,
                                "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                                "db": store.path, "partition_column": PARTITION_COLUMN if partition else None,
                                "tables": {}}
    try:
        with store.transaction(lock=False) as cur:  # one snapshot for every table; readers need no lock
            manifest["data_version"] = store.data_version(cur)
            lo, hi = cur.execute("""
                SELECT min(d), max(d) FROM (
                    SELECT min(day) d FROM f_interactions UNION ALL SELECT max(day) FROM f_interactions
                    UNION ALL SELECT min(day) FROM f_transactions UNION ALL SELECT max(day) FROM f_transactions
                    UNION ALL SELECT min(day) FROM f_surveys UNION ALL SELECT max(day) FROM f_surveys)""").fetchone()
            manifest["data_span"] = [lo.isoformat() if lo else None, hi.isoformat() if hi else None]
            for i, name in enumerate(names):
                t0 = time.perf_counter()
                target = staging / name
                rows = int(cur.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
                parted = partition and name in FACTS
                if parted and rows:
                    cur.execute(
                        f"COPY (SELECT *, coalesce(strftime(day, '%Y-%m'), 'none') AS {PARTITION_COLUMN} FROM {name}) "
                        f"TO {_q(target)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY ({PARTITION_COLUMN}))")
                else:
                    target.mkdir()
                    extra = f", CAST(NULL AS VARCHAR) AS {PARTITION_COLUMN}" if parted else ""
                    cur.execute(f"COPY (SELECT *{extra} FROM {name}) TO {_q(target / 'data.parquet')} "
                                f"(FORMAT parquet, COMPRESSION zstd)")
                files = sorted(p for p in target.rglob("*.parquet"))
                manifest["tables"][name] = {
                    "rows": rows, "partitioned_by": PARTITION_COLUMN if parted and rows else None,
                    "files": len(files), "bytes": sum(p.stat().st_size for p in files)}
                if progress:
                    progress((i + 1) / len(names), f"{name}: {rows:,} rows in {time.perf_counter() - t0:.1f} s")
    except Exception:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    # swap each table folder in (old -> trash, new -> place), then the manifest
    for name in names:
        dest = out / name
        trash = None
        if dest.exists():
            trash = out / f".old-{name}-{uuid.uuid4().hex[:8]}"
            dest.rename(trash)
        (staging / name).rename(dest)
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)
    previous = read_manifest(out) or {}
    if tables is not None and previous.get("tables"):  # a partial export keeps the others' entries
        manifest["tables"] = {**previous["tables"], **manifest["tables"]}
    tmp = staging / MANIFEST
    tmp.write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, out / MANIFEST)
    shutil.rmtree(staging, ignore_errors=True)
    return manifest


def read_manifest(out_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    p = Path(out_dir) / MANIFEST
    if not p.is_file():
        return None
    return json.loads(p.read_text(encoding="utf-8"))


# -- the command --------------------------------------------------------------------------------
def cmd_export(args: argparse.Namespace) -> int:
    store = store_for(args)
    progress = terminal_progress if getattr(args, "progress", False) else None
    try:
        manifest = export_parquet(store, args.out, tables=args.table or None, partition=not args.no_partition,
                                  progress=progress)
    except ExportError as e:
        raise Refused(str(e)) from None
    for name, info in manifest["tables"].items():
        if args.table and name not in args.table:
            continue
        part = f", partitioned by {info['partitioned_by']}" if info["partitioned_by"] else ""
        print(f"{Path(args.out) / name}: {info['rows']:,} rows, {info['files']} file(s){part}")
    print(f"{Path(args.out) / MANIFEST}: data_version {manifest['data_version']}, "
          f"span {manifest['data_span'][0] or '-'} .. {manifest['data_span'][1] or '-'}")
    return EXIT_OK


def register(sub: Any, common: Any) -> None:
    """``export --format parquet --out DIR [--table T ...] [--no-partition] [--progress]``."""
    s = sub.add_parser("export", parents=[common],
                       help="write the fact tables, customers and strategy tables as Parquet (for Spark)")
    s.add_argument("--format", choices=("parquet",), default="parquet")
    s.add_argument("--out", required=True, metavar="DIR", help="the folder to write (tables are replaced)")
    s.add_argument("--table", action="append", choices=EXPORT_TABLES, metavar="T",
                   help=f"only this table (repeatable; default all: {', '.join(EXPORT_TABLES)})")
    s.add_argument("--no-partition", dest="no_partition", action="store_true",
                   help="write each fact table as one file instead of month=YYYY-MM folders")
    s.add_argument("--progress", action="store_true", help="show progress on stderr")
    s.set_defaults(func=cmd_export)


__all__ = ["export_parquet", "read_manifest", "ExportError", "EXPORT_TABLES", "FACTS", "MANIFEST", "register"]
