"""The Apache Spark engine: the KPI declarations of crm_metrics.metrics.kpis, run on Spark.

Each request is resolved and built once by ``crm_metrics.metrics.kpis.compute`` (DuckDB dialect,
``$name`` parameters) -- ``compute(store, kpi, ..., engine=SparkEngine(...))`` -- transpiled by SQLGlot (crm_metrics.metrics.engines.transpile) and run with
``spark.sql(sql, args=...)``: there is no second, hand-written version of any KPI.

Data: temp views named like the store's tables (``f_interactions``, ``f_transactions``,
``f_surveys``, ``customers``, and ``goals``, ``segments``, ``channels``, ``initiatives``,
``settings`` when present), over

* a folder written by ``python -m crm_metrics export --format parquet --out DIR`` (one sub-folder
  per table, facts hive-partitioned by ``month=YYYY-MM``), and/or
* tables already in the Spark catalog: ``tables={"f_interactions": "crm.f_interactions", ...}``
  (env ``CRM_SPARK_TABLES``); these win over the folder.

The session: given (``spark=``), or built from a master URL -- ``local[N]``, ``spark://host:7077``,
``yarn``, ``k8s://...`` -- or a Spark Connect URL ``sc://host:15002``. The engine sets
``spark.sql.session.timeZone=UTC`` on it (timestamps in the store carry no zone).
"""
from __future__ import annotations

import datetime as dt
import os
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crm_metrics.data import values
from crm_metrics.data.schema import SETTINGS_DEFAULTS
from crm_metrics.metrics.engines.base import Engine, EngineError
from crm_metrics.metrics.engines.transpile import PARTITION_COLUMN, to_spark

#: the views the engine registers (those a folder or the catalog provides)
FACT_VIEWS = ("f_interactions", "f_transactions", "f_surveys")
VIEWS = (*FACT_VIEWS, "customers", "goals", "segments", "channels", "initiatives", "settings")
#: the views KPI queries read (an empty table is fine: its KPIs say which file to load)
REQUIRED_VIEWS = (*FACT_VIEWS, "customers")
_VIEW_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_QUALIFIED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$|^`[^`]+`(\.`[^`]+`){0,2}$")


def _local_cores(master: str) -> int | None:
    m = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\d+)?\])?", master.strip())
    if not m:
        return None
    n = m.group(1)
    return (os.cpu_count() or 1) if n in (None, "*") else int(n)


def default_conf(master: str) -> dict[str, str]:
    """Session settings the engine asks for (explicit ``conf`` wins)."""
    conf = {"spark.sql.session.timeZone": "UTC"}
    cores = _local_cores(master)
    if cores is not None:  # one machine: no web UI, few shuffle partitions
        conf.update({"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": str(max(2, 2 * cores)),
                     "spark.ui.showConsoleProgress": "false"})
    return conf


def create_session(master: str = "local[*]", conf: Mapping[str, str] | None = None,
                   app_name: str = "crm_metrics") -> tuple[Any, bool]:
    """A SparkSession for ``master`` (``sc://...`` = Spark Connect). Returns (session, created)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise EngineError("the Spark engine needs PySpark: pip install 'pyspark>=4,<5' "
                          "(and Java 17 for a local master)") from e
    remote = master.startswith("sc://")
    settings = {**({"spark.sql.session.timeZone": "UTC"} if remote else default_conf(master)), **(conf or {})}
    # an existing session (this thread's active one, or the process default) is reused, not owned
    active = None if remote else (SparkSession.getActiveSession() or getattr(SparkSession, "_instantiatedSession", None))
    b = SparkSession.builder.appName(app_name)
    b = b.remote(master) if remote else b.master(master)
    for k, v in settings.items():
        b = b.config(k, v)
    try:
        spark = b.getOrCreate()
    except Exception as e:
        raise EngineError(f"cannot start Spark at {master!r}: {str(e).splitlines()[0][:300]}") from e
    return spark, active is None


def parse_tables(text: str | Mapping[str, str] | None) -> dict[str, str]:
    """``"f_interactions=db.tbl, customers=db.cust"`` -> {"f_interactions": "db.tbl", ...}."""
    if not text:
        return {}
    items = text.items() if isinstance(text, Mapping) else (
        p.split("=", 1) if "=" in p else (p, "") for p in re.split(r"[,;\s]+", text.strip()) if p)
    out: dict[str, str] = {}
    for view, table in items:
        view, table = str(view).strip(), str(table).strip()
        if view not in VIEWS:
            raise EngineError(f"CRM_SPARK_TABLES: unknown table {view!r}; known: {', '.join(VIEWS)}")
        if not table or not _QUALIFIED.match(table):
            raise EngineError(f"CRM_SPARK_TABLES: {view}= needs a catalog table name like db.table, got {table!r}")
        out[view] = table
    return out


def parse_conf(text: str | None) -> dict[str, str]:
    """``"spark.executor.memory=8g,spark.sql.shuffle.partitions=400"`` -> dict."""
    out: dict[str, str] = {}
    for p in re.split(r"[,;]", text or ""):
        if p.strip():
            if "=" not in p:
                raise EngineError(f"CRM_SPARK_CONF: expected key=value, got {p.strip()!r}")
            k, v = p.split("=", 1)
            out[k.strip()] = v.strip()
    return out


class SparkEngine(Engine):
    """KPIs on Spark. ``SparkEngine(data="exports/crm")`` or ``SparkEngine(spark, tables={...})``."""

    name = "spark"

    def __init__(self, spark: Any = None, *, master: str | None = None, data: str | os.PathLike[str] | None = None,
                 tables: Mapping[str, str] | str | None = None, conf: Mapping[str, str] | None = None,
                 cache: bool = False, app_name: str = "crm_metrics") -> None:
        self.master = master or "local[*]"
        self.data = (str(data) if _is_url(str(data)) else str(Path(data).resolve())) if data else None
        self.tables = parse_tables(tables)
        self._check_data()  # before starting a JVM for nothing
        if spark is None:
            self.spark, self._owns_session = create_session(self.master, conf, app_name)
        else:
            self.spark, self._owns_session = spark, False
            for k, v in (conf or {}).items():
                self.spark.conf.set(k, v)
        self.spark.conf.set("spark.sql.session.timeZone", "UTC")
        self.cache = bool(cache)
        self.views: dict[str, str] = {}          # view -> where it comes from
        self.partitioned: set[str] = set()       # views hive-partitioned by month
        self._lock = threading.RLock()
        self._has_rows: dict[str, bool] = {}
        self._span: tuple[dt.date | None, dt.date | None] | None = None
        self.register()

    # -- data ------------------------------------------------------------------------------------
    def register(self) -> dict[str, str]:
        """(Re)register the temp views; forget cached emptiness / span (call after a new export)."""
        with self._lock:
            self._check_data()
            views: dict[str, str] = {}
            partitioned: set[str] = set()
            for view in VIEWS:
                df, source, parts = None, None, False
                try:
                    if view in self.tables:
                        source = self.tables[view]
                        df = self.spark.table(source)
                        parts = self._catalog_partitioned(source)
                    elif self.data:
                        path = self._data_path(view)
                        if path is not None:
                            source = path
                            df = self.spark.read.parquet(path)
                            parts = view in FACT_VIEWS and PARTITION_COLUMN in df.columns
                except Exception as e:  # not found / unreadable: fatal for the tables KPIs read
                    if view in REQUIRED_VIEWS or view in self.tables:
                        raise EngineError(f"Spark cannot read {view} from {source}: "
                                          f"{str(e).splitlines()[0][:300]}") from e
                    df = None
                if df is None:
                    self._drop_view(view)  # never read a stale view another engine left in the session
                    continue
                df.createOrReplaceTempView(view)
                if self.cache:
                    self.spark.catalog.cacheTable(view)
                views[view] = source
                if parts:
                    partitioned.add(view)
            missing = [v for v in REQUIRED_VIEWS if v not in views]
            if missing:
                raise EngineError(f"the Spark engine found no {', '.join(missing)} in "
                                  f"{self.data or 'CRM_SPARK_TABLES'}; export all tables (`python -m crm_metrics "
                                  f"export --format parquet --out DIR`) or name them in CRM_SPARK_TABLES")
            self.views, self.partitioned = views, partitioned
            self._has_rows.clear()
            self._span = None
            return dict(views)

    def _check_data(self) -> None:
        if not self.data and not self.tables:
            raise EngineError("the Spark engine needs data: --spark-data DIR / CRM_SPARK_DATA (a folder "
                              "written by `python -m crm_metrics export --format parquet --out DIR`) "
                              "or catalog tables in CRM_SPARK_TABLES (f_interactions=db.table,...)")
        if self.data and not _is_url(self.data) and not Path(self.data).is_dir():
            raise EngineError(f"--spark-data {self.data}: no such folder (write it with "
                              f"`python -m crm_metrics export --format parquet --out {self.data}`)")

    def _drop_view(self, view: str) -> None:
        try:
            self.spark.catalog.dropTempView(view)
        except Exception:
            pass

    def _data_path(self, view: str) -> str | None:
        assert self.data is not None
        if _is_url(self.data):  # s3a://, abfss://, gs://, hdfs://: trust the layout
            return self.data.rstrip("/") + "/" + view
        p = Path(self.data) / view
        if p.is_dir() and any(p.rglob("*.parquet")):
            return str(p)
        return None

    def _catalog_partitioned(self, table: str) -> bool:
        try:
            return any(c.name == PARTITION_COLUMN and c.isPartition for c in self.spark.catalog.listColumns(table))
        except Exception:
            return False

    def has_rows(self, store: Any, tables: Sequence[str]) -> tuple[bool, ...]:
        """Whether each view holds a row (``store`` is not read: the views are the data)."""
        return tuple(self._view_has_rows(v) for v in tables)

    def _view_has_rows(self, view: str) -> bool:
        with self._lock:
            if view not in self._has_rows:
                self._has_rows[view] = view in self.views and len(self.spark.table(view).take(1)) > 0
            return self._has_rows[view]

    def data_span(self, store: Any = None) -> tuple[dt.date | None, dt.date | None]:
        """First and last day with data in the fact views (else the customers' joined/left span)."""
        with self._lock:
            if self._span is None:
                facts = [v for v in FACT_VIEWS if v in self.views]
                lo = hi = None
                if facts:
                    union = " UNION ALL ".join(f"SELECT min(day) AS lo, max(day) AS hi FROM {v}" for v in facts)
                    lo, hi = self.spark.sql(f"SELECT min(lo), max(hi) FROM ({union}) x").collect()[0]
                if lo is None and "customers" in self.views:
                    lo, hi = self.spark.sql(
                        "SELECT min(joined_on), max(greatest(joined_on, coalesce(left_on, joined_on))) "
                        "FROM customers").collect()[0]
                self._span = (_day(lo), _day(hi))
            return self._span

    def settings(self, store: Any = None) -> dict[str, Any]:
        """The store's settings when a store is given, else the exported ones (the ``settings``
        view); defaults applied."""
        if store is not None:
            return store.settings()
        out: dict[str, Any] = dict(SETTINGS_DEFAULTS)
        if "settings" in self.views:
            for key, value in self.spark.sql("SELECT key, value FROM settings").collect():
                if key in SETTINGS_DEFAULTS:
                    out[key] = float(value) if isinstance(SETTINGS_DEFAULTS[key], float) else value
        return out

    # -- queries ---------------------------------------------------------------------------------
    def translate(self, sql: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The Spark SQL and its ``args`` for a query in the declarations' DuckDB dialect."""
        return to_spark(sql, dict(params), partitioned=self.partitioned)

    def run(self, spark_sql: str, args: Mapping[str, Any] | None = None) -> tuple[list[str], list[tuple]]:
        df = self.spark.sql(spark_sql, args=dict(args or {}))
        return list(df.columns), [tuple(r) for r in df.collect()]

    def execute(self, store: Any, sql: str, params: Mapping[str, Any]) -> tuple[list[str], list[tuple]]:
        return self.run(*self.translate(sql, params))

    def describe(self) -> str:
        where = self.data or ", ".join(f"{k}={v}" for k, v in self.tables.items())
        try:
            master = self.spark.conf.get("spark.master")
        except Exception:
            master = self.master
        return f"spark {master} ({where})"

    def close(self) -> None:
        if self._owns_session:
            self.spark.stop()
            self._owns_session = False


def _is_url(text: str) -> bool:
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text) is not None


_day = values.day  # a date, None when missing


__all__ = ["SparkEngine", "create_session", "parse_tables", "parse_conf", "default_conf", "VIEWS", "FACT_VIEWS"]
