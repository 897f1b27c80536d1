"""Where the KPI SQL runs: DuckDB (embedded, the default) or Apache Spark (scale-out).

    from crm_metrics.metrics.engines import configure_from_env, get_engine, use_engine
    eng = get_engine()                       # CRM_ENGINE=duckdb|spark (default duckdb)
    eng = get_engine("spark", master="local[4]", data="exports/crm")
    df = compute(store, "fcr_rate", start=..., end=..., by=["channel"], engine=eng)
    with use_engine(eng):                    # scorecard, health, impact, report on that engine
        card = scorecard(store)
    configure_from_env()                     # the app at start-up: honour CRM_ENGINE

Configuration (environment; command-line options override):

| variable | meaning |
|---|---|
| ``CRM_ENGINE`` | ``duckdb`` (default) or ``spark`` |
| ``CRM_SPARK_MASTER`` | ``local[N]``, ``spark://host:7077``, ``yarn``, ``k8s://...`` or Spark Connect ``sc://host:15002`` (default ``local[*]``) |
| ``CRM_SPARK_DATA`` | a folder (or ``s3a://`` / ``abfss://`` / ``hdfs://`` URL) written by ``python -m crm_metrics export --format parquet`` |
| ``CRM_SPARK_TABLES`` | catalog tables instead of (or over) the folder: ``f_interactions=crm.f_interactions,customers=crm.customers`` |
| ``CRM_SPARK_CONF`` | extra session settings: ``spark.executor.memory=8g,spark.sql.shuffle.partitions=400`` |
| ``CRM_SPARK_CACHE`` | ``1``: cache the views in Spark memory (repeated queries over the same data) |

See docs/scale-out.md.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crm_metrics.metrics.engines.base import (
    Engine,
    EngineError,
    active_engine,
    default_engine,
    set_default_engine,
    use_engine,
)
from crm_metrics.metrics.engines.duckdb_engine import DUCKDB, DuckDBEngine

ENGINES = ("duckdb", "spark")
_SPARK_ENGINES: dict[tuple, Engine] = {}
_LOCK = threading.Lock()


def _env(name: str) -> str | None:
    v = os.environ.get(name)
    return v.strip() if v and v.strip() else None


def get_engine(name: str | None = None, *, master: str | None = None, data: str | os.PathLike[str] | None = None,
               tables: Mapping[str, str] | str | None = None, conf: Mapping[str, str] | None = None,
               cache: bool | None = None, spark: Any = None) -> Engine:
    """The engine by name (default: env CRM_ENGINE, else ``duckdb``).

    For ``spark``, unset arguments come from CRM_SPARK_MASTER / CRM_SPARK_DATA / CRM_SPARK_TABLES /
    CRM_SPARK_CONF / CRM_SPARK_CACHE; an engine is created once per configuration and process (one
    SparkSession per process) and reused. ``spark=`` uses an existing session (notebooks, tests).
    Raises EngineError for an unknown name or a Spark engine without data."""
    name = (name or _env("CRM_ENGINE") or "duckdb").lower()
    if name == "duckdb":
        return DUCKDB
    if name != "spark":
        raise EngineError(f"unknown engine {name!r}; use one of: {', '.join(ENGINES)}")
    from crm_metrics.metrics.engines.spark_engine import SparkEngine, parse_conf, parse_tables

    master = master or _env("CRM_SPARK_MASTER") or "local[*]"
    data = data or _env("CRM_SPARK_DATA")
    tables = parse_tables(tables if tables is not None else _env("CRM_SPARK_TABLES"))
    conf = {**parse_conf(_env("CRM_SPARK_CONF")), **(conf or {})}
    if cache is None:
        cache = (_env("CRM_SPARK_CACHE") or "").lower() in ("1", "true", "yes", "on")
    data_key = str(data) if data is None or "://" in str(data) else str(Path(data).resolve())
    key = (master, data_key, tuple(sorted(tables.items())), tuple(sorted(conf.items())), cache, id(spark))
    with _LOCK:
        eng = _SPARK_ENGINES.get(key)
        if eng is None:
            eng = SparkEngine(spark, master=master, data=data, tables=tables, conf=conf, cache=cache)
            _SPARK_ENGINES[key] = eng
        return eng


def configure_from_env() -> Engine:
    """For the app's start-up: make the engine CRM_ENGINE names (with CRM_SPARK_*) the process
    default, so every ``compute`` -- and the pages built on it -- runs there. Returns it."""
    eng = get_engine()
    set_default_engine(None if isinstance(eng, DuckDBEngine) else eng)  # None: the store itself
    return eng


def close_engines() -> None:
    """Stop the Spark sessions the engines created (tests, scripts)."""
    with _LOCK:
        for eng in _SPARK_ENGINES.values():
            try:
                eng.close()
            except Exception:
                pass
        _SPARK_ENGINES.clear()


def __getattr__(attr: str) -> Any:  # SparkEngine without importing pyspark up front
    if attr == "SparkEngine":
        from crm_metrics.metrics.engines.spark_engine import SparkEngine
        return SparkEngine
    raise AttributeError(attr)


__all__ = [
    "Engine", "EngineError", "DuckDBEngine", "SparkEngine", "DUCKDB", "ENGINES", "get_engine", "use_engine",
    "set_default_engine", "default_engine", "active_engine", "close_engines", "configure_from_env",
]
