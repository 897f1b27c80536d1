"""The Spark engine gives the numbers the DuckDB store gives (docs/scale-out.md).

The committed sample company is loaded into a temporary store, exported to Parquet (partitioned by
month) and read by a PySpark ``local[2]`` session shared by the whole module (ANSI mode on, session
time zone UTC). Every KPI of the catalogue, split by channel, by segment and by month (each
dimension it supports), must give the same rows, the same n and values within 1e-9; so must the
scorecard. PySpark and Java 17 are required: without them these tests fail with the reason
(set CRM_SKIP_SPARK=1 to switch them off deliberately).
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
import sqlglot

from crm_metrics.data.store import Store
from crm_metrics.metrics.engines import DUCKDB, EngineError, get_engine, use_engine
from crm_metrics.metrics.engines.transpile import to_spark, transpile, unguarded_divisions
from crm_metrics.metrics.kpis import KPIS, build_sql, compute

TOL = 1e-9
DIMS = (None, "channel", "segment", "period")  # period at grain month
SPARK_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.memory": "1g",
    # Speed on tiny data, not semantics: the JVM's C1 compiler only and interpreted expressions
    # instead of generated code halve the CPU these ~170 short queries cost (measured: JVM CPU
    # 160 s -> 84 s for 22 KPI queries). Production sessions keep Spark's defaults.
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}
CASES = [(k, d) for k, kpi in KPIS.items() for d in DIMS if d is None or d in kpi.dimensions]
# Divisions the KPI SQL leaves without NULLIF because the denominator is never 0 by construction
# (a customer in `cust` has n_tot >= 1; n_tot - 1 and n_tot (n_tot - 1) only under CASE WHEN
# n_tot >= 2; a period has days >= 1). The Spark transpiler wraps them in NULLIF anyway.
STRUCTURALLY_SAFE = {
    "CAST(c.n_max AS DOUBLE) / c.n_tot",
    "CAST(c.n_sq - c.n_tot AS DOUBLE) / (c.n_tot * (c.n_tot - 1))",
    "CAST(s.same_pairs AS DOUBLE) / (c.n_tot - 1)",
    "365.0 / days",
    "CAST(revenue AS DOUBLE) / NULLIF(base, 0) * 365.0 / days",
}


# -- fixtures ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spark():
    if os.environ.get("CRM_SKIP_SPARK") == "1":
        pytest.skip("CRM_SKIP_SPARK=1: the Spark engine tests were switched off")
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:
        pytest.fail(f"PySpark is not installed ({e}): pip install -r requirements-dev.txt "
                    "(pyspark 4.x, needs Java 17)", pytrace=False)
    b = SparkSession.builder.master("local[2]").appName("crm_metrics-tests")
    for k, v in SPARK_CONF.items():
        b = b.config(k, v)
    try:
        session = b.getOrCreate()
    except Exception as e:  # typically: no Java, or the wrong one
        pytest.fail(f"cannot start Spark local[2] (is Java 17 installed and on PATH / JAVA_HOME?): {e}",
                    pytrace=False)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    """(store, parquet folder): the sample company in a DuckDB store and exported for Spark."""
    from crm_metrics.data.bootstrap import load_sample
    from crm_metrics.delivery.export import export_parquet
    root = tmp_path_factory.mktemp("spark")
    store = Store(root / "sample.duckdb")
    load_sample(store)
    out = root / "parquet"
    export_parquet(store, out)
    yield store, out
    store.close()


@pytest.fixture(scope="module")
def engine(spark, company):
    from crm_metrics.metrics.engines.spark_engine import SparkEngine
    return SparkEngine(spark, data=company[1])


@pytest.fixture(scope="module")
def window(company):
    return company[0].data_span()


@pytest.fixture(scope="module")
def results(engine, company, window):
    """Every case on both engines, Spark queries three at a time (one shared session)."""
    store = company[0]
    lo, hi = window
    lock = threading.Lock()

    def run(case):
        k, d = case
        by = [d] if d else []
        with lock:  # DuckDB: one cursor at a time is plenty here
            try:
                a = compute(store, k, start=lo, end=hi, by=by)
            except Exception as e:  # noqa: BLE001 - reported by the test of that case
                a = e
        try:
            b = compute(store, k, start=lo, end=hi, by=by, engine=engine)
        except Exception as e:  # noqa: BLE001
            b = e
        return case, (a, b)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(pool.map(run, CASES))


def assert_same(a: pd.DataFrame, b: pd.DataFrame, what: str = "") -> None:
    if isinstance(a, Exception):
        raise a
    if isinstance(b, Exception):
        raise b
    assert list(a.columns) == list(b.columns), what
    assert len(a) == len(b), f"{what}: {len(a)} rows on DuckDB, {len(b)} on Spark"
    for c in a.columns:
        if c == "value":
            continue
        assert list(a[c]) == list(b[c]), f"{what}: column {c} differs"
    assert a["n"].dtype == b["n"].dtype == "int64"
    assert a["value"].dtype == b["value"].dtype == "float64"
    for i, (x, y) in enumerate(zip(a["value"], b["value"])):
        if math.isnan(x) or math.isnan(y):
            assert math.isnan(x) and math.isnan(y), f"{what}: row {i}: {x} vs {y}"
        else:
            assert abs(x - y) <= TOL * max(1.0, abs(x)), f"{what}: row {i}: {x!r} vs {y!r}"


# -- every KPI, by channel / segment / month ----------------------------------------------------------
@pytest.mark.parametrize("kpi_id,dim", CASES, ids=[f"{k}-{d or 'total'}" for k, d in CASES])
def test_same_values_on_spark(results, kpi_id, dim):
    a, b = results[(kpi_id, dim)]
    assert_same(a, b, f"{kpi_id} by {dim or 'nothing'}")
    if not isinstance(a, Exception):
        assert len(a) >= 1


def test_the_sample_is_split_into_several_groups(results):
    """The comparison is not vacuous: splits have several rows and most values are not null."""
    a, _ = results[("fcr_rate", "period")]
    assert len(a) >= 12 and a["value"].notna().all()
    a, _ = results[("clv", "segment")]
    assert len(a) >= 3 and a["value"].notna().any()


@pytest.mark.parametrize("kpi_id,kw", [
    ("fcr_rate", dict(channels=["phone", "email"], by=["channel", "period"], grain="week")),
    ("clv", dict(segments=["Mass Retail"], by=["period"], grain="quarter")),
    ("churn_rate", dict(channels=["branch"], by=["segment", "period"], grain="month")),
    ("secon", dict(by=["advisor"])),
    ("products_per_customer", dict(segments=["Mass Retail", "Premier"], by=["period"], grain="week")),
    ("customer_match_rate", dict(channels=["web"], by=["period"], grain="day")),
], ids=["fcr-week-filter", "clv-quarter", "churn-seg-month", "secon-advisor", "products-week", "match-day"])
def test_filters_grains_and_clipped_periods(engine, company, kpi_id, kw):
    """A window that cuts periods in the middle, IN-list filters, ISO weeks (Monday), two dims."""
    store = company[0]
    start, end = dt.date(2025, 2, 9), dt.date(2025, 8, 20)  # a Sunday .. a Wednesday
    a = compute(store, kpi_id, start=start, end=end, **kw)
    b = compute(store, kpi_id, start=start, end=end, **kw, engine=engine)
    assert_same(a, b, f"{kpi_id} {kw}")
    if kw.get("grain") == "week" and "period" in kw.get("by", ()):
        assert all(p.weekday() == 0 for p in b["period"]), "weeks start on Monday"


def test_default_window_and_settings_override(engine, company):
    store = company[0]
    over = {"fcr_window_days": 2.5}
    a = compute(store, "repeat_contact_rate", settings=over)
    b = compute(store, "repeat_contact_rate", settings=over, engine=engine)
    assert_same(a, b, "default window")
    assert engine.data_span() == store.data_span()


def test_week_truncation_is_monday_on_both(spark):
    sunday, monday = dt.date(2025, 1, 5), dt.date(2025, 1, 6)
    sql = "SELECT CAST(DATE_TRUNC('week', $d) AS DATE) AS w"
    for d in (sunday, monday):
        spark_sql, args = to_spark(sql, {"d": d})
        got = spark.sql(spark_sql, args=args).collect()[0][0]
        import duckdb
        want = duckdb.connect().execute(sql, {"d": d}).fetchone()[0]
        assert got == want == dt.date(2024, 12, 30) + dt.timedelta(days=7 * (d == monday))


# -- the scorecard ------------------------------------------------------------------------------------
def test_scorecard_same_on_spark(engine, company):
    from crm_metrics.judgement.scorecard import scorecard
    store = company[0]
    a = scorecard(store)
    with use_engine(engine):
        b = scorecard(store)
    assert len(a) >= 5 and (a["status"] != "no_data").any()
    assert list(a.columns) == list(b.columns)
    for c in a.columns:
        if c in ("actual", "attainment", "previous", "change"):
            for x, y in zip(a[c], b[c]):
                if pd.isna(x) or pd.isna(y):
                    assert pd.isna(x) and pd.isna(y), c
                else:
                    assert abs(x - y) <= TOL * max(1.0, abs(x)), (c, x, y)
        else:
            assert [None if pd.isna(v) else v for v in a[c]] == [None if pd.isna(v) else v for v in b[c]], c


def test_cli_kpi_on_spark(engine, company, capsys):
    """`kpi --engine spark --spark-data DIR` prints what the DuckDB engine prints."""
    from crm_metrics.delivery import cli
    store, pq = company
    base = ["kpi", "nps", "--db", store.path, "--by", "segment", "--from", "2025-01-01", "--to", "2025-12-31",
            "--format", "json"]
    assert cli.main(base) == 0
    duck = json.loads(capsys.readouterr().out)
    from crm_metrics.metrics.engines import close_engines
    try:  # the same JVM: get_engine's getOrCreate() returns the module's session
        assert cli.main(base + ["--engine", "spark", "--spark-master", "local[2]", "--spark-data", str(pq)]) == 0
    finally:
        close_engines()  # forget the CLI's engine (it does not own the session: nothing is stopped)
    spark = json.loads(capsys.readouterr().out)
    assert [r["segment"] for r in duck["rows"]] == [r["segment"] for r in spark["rows"]]
    assert [r["n"] for r in duck["rows"]] == [r["n"] for r in spark["rows"]]
    for x, y in zip(duck["rows"], spark["rows"]):
        assert abs(x["value"] - y["value"]) <= TOL * max(1.0, abs(x["value"]))


def test_empty_tables_are_missing_data_on_spark(spark, engine, tmp_path):
    """A store with only customers: Spark refuses interaction KPIs like DuckDB does."""
    from crm_metrics.data.bootstrap import SAMPLE_DIR
    from crm_metrics.data.ingest import load_file
    from crm_metrics.delivery.export import export_parquet
    from crm_metrics.metrics.engines.spark_engine import SparkEngine
    from crm_metrics.metrics.kpis import MissingDataError
    store = Store(tmp_path / "customers-only.duckdb")
    try:
        load_file(store, SAMPLE_DIR / "customers.csv", table="customers")
        export_parquet(store, tmp_path / "pq")
        eng = SparkEngine(spark, data=tmp_path / "pq")
        for e in (None, eng):
            with pytest.raises(MissingDataError, match="interactions.csv") as info:
                compute(store, "fcr_rate", start="2025-01-01", end="2025-01-31", engine=e)
            assert info.value.tables == ("interactions",)
        kw = dict(start="2025-01-01", end="2025-06-30", by=["period"])
        assert_same(compute(store, "customer_base", **kw), compute(store, "customer_base", **kw, engine=eng))
    finally:
        store.close()
        engine.register()  # the module's views again (one session, one set of temp views)


# -- the transpiled SQL -------------------------------------------------------------------------------
@pytest.mark.parametrize("kpi_id", list(KPIS))
def test_transpiled_sql_has_no_dollar_placeholders(kpi_id):
    kpi = KPIS[kpi_id]
    for by in ([], list(kpi.dimensions)):
        sql, params = build_sql(kpi_id, start="2025-01-01", end="2025-03-31", channels=["phone", "web"],
                                segments=["Mass Retail"], by=by, grain="month")
        assert "$" in sql
        spark_sql, args = to_spark(sql, params, partitioned=["f_interactions", "f_transactions", "f_surveys"])
        assert "$" not in spark_sql
        used = {p.name for p in sqlglot.parse_one(spark_sql, read="spark").find_all(sqlglot.exp.Placeholder)}
        assert used == set(args) and all(name.startswith("p_") for name in used)
        # no division left that could raise DIVIDE_BY_ZERO under ANSI mode
        assert unguarded_divisions(spark_sql, read="spark") == []


def test_kpi_sql_divides_only_by_guarded_or_safe_denominators():
    """Every division in the KPI SQL (DuckDB dialect) is NULLIF-guarded or known to be non-zero."""
    found = set()
    for k, kpi in KPIS.items():
        for by in ([], list(kpi.dimensions)):
            sql, _ = build_sql(k, start="2025-01-01", end="2025-03-31", by=by)
            found |= set(unguarded_divisions(sql))
    assert found <= STRUCTURALLY_SAFE, f"new unguarded division(s): {found - STRUCTURALLY_SAFE}"


def test_unguarded_division_does_not_raise_under_ansi(spark):
    assert spark.conf.get("spark.sql.ansi.enabled") == "true"
    sql = "SELECT CAST(a AS DOUBLE) / b AS value, a / (b - b) AS other, 1.0 / b AS third FROM (VALUES (1, 0)) AS t(a, b)"
    raw = sqlglot.transpile(sql, read="duckdb", write="spark")[0]
    with pytest.raises(Exception, match="DIVIDE_BY_ZERO"):
        spark.sql(raw).collect()
    guarded = transpile(sql)
    assert "NULLIF" in guarded
    assert tuple(spark.sql(guarded).collect()[0]) == (None, None, None)


def test_decimal_literals_are_double_on_spark(spark):
    spark_sql, args = to_spark("SELECT 365.0 / $d AS value, 1 AS n", {"d": 7})
    row = spark.sql(spark_sql, args=args).collect()[0]
    assert isinstance(row["value"], float) and row["value"] == 365.0 / 7


def test_export_layout(company):
    from crm_metrics.delivery.export import read_manifest
    store, pq = company
    m = read_manifest(pq)
    counts = store.row_counts()
    assert m["tables"]["customers"]["rows"] == counts["customers"]
    for fact in ("f_interactions", "f_transactions", "f_surveys"):
        months = sorted(p.name for p in (pq / fact).iterdir() if p.is_dir())
        assert months and all(p.startswith("month=20") and len(p) == len("month=2026-03") for p in months)
        assert m["tables"][fact]["partitioned_by"] == "month"
    for t in ("goals", "segments", "channels", "settings", "initiatives"):
        assert list((pq / t).glob("*.parquet")), t


def test_engine_selection(monkeypatch):
    monkeypatch.delenv("CRM_ENGINE", raising=False)
    assert get_engine() is DUCKDB
    monkeypatch.setenv("CRM_ENGINE", "duckdb")
    assert get_engine() is DUCKDB
    with pytest.raises(EngineError, match="unknown engine"):
        get_engine("oracle")
    monkeypatch.delenv("CRM_SPARK_DATA", raising=False)
    monkeypatch.setenv("CRM_SPARK_TABLES", "f_interactions")
    with pytest.raises(EngineError, match="catalog table"):
        get_engine("spark")
    from crm_metrics.metrics.engines.spark_engine import parse_tables
    assert parse_tables("f_interactions=crm.fi, customers=crm.cust") == {"f_interactions": "crm.fi",
                                                                         "customers": "crm.cust"}
