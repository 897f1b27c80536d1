"""The command line: exit codes 0 / 1 / 2 and messages a person can act on."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crm_metrics.delivery.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, db: Path) -> tuple[int, str, str]:
    """The CLI in a child process, as cron or a shell would run it."""
    env = {**os.environ, "CRM_DB": str(db)}
    p = subprocess.run([sys.executable, "-m", "crm_metrics", *args], capture_output=True, text=True,
                       env=env, cwd=ROOT, timeout=120)
    return p.returncode, p.stdout, p.stderr


def test_load_ok_then_status(tmp_path):
    db = tmp_path / "crm.duckdb"
    f = tmp_path / "customers.csv"
    f.write_text("customer_id,segment,joined_on\nc1,Mass,2024-01-01\n")
    code, out, err = run("load", str(f), db=db)
    assert code == 0, err
    assert "customers.csv -> customers" in out and "1 inserted" in out
    code, out, _ = run("status", "--format", "json", db=db)
    status = json.loads(out)
    assert code == 0 and status["tables"]["customers"] == 1
    assert status["loads"][0]["file_name"] == "customers.csv"


def test_refused_file_exit_1_with_line_column_rule_and_no_traceback(tmp_path):
    db = tmp_path / "crm.duckdb"
    f = tmp_path / "customers.csv"
    f.write_text("customer_id,segment,joined_on\nc1,Mass,2024-01-01\nc2,Mass,yesterday\n")
    code, out, err = run("load", str(f), db=db)
    assert code == 1
    assert "customers.csv: line 3, column joined_on, value 'yesterday'" in err
    assert "Traceback" not in err
    code, out, _ = run("status", "--format", "json", db=db)
    assert json.loads(out)["tables"]["customers"] == 0 and json.loads(out)["loads"] == []


def test_one_bad_file_does_not_stop_the_others(tmp_path):
    db = tmp_path / "crm.duckdb"
    good = tmp_path / "customers.csv"
    good.write_text("customer_id,segment,joined_on\nc1,Mass,2024-01-01\n")
    bad = tmp_path / "surveys.csv"
    bad.write_text("response_id,customer_id,answered_on,nps\nr1,c1,2024-01-01,12\n")
    code, out, err = run("load", str(bad), str(good), db=db)
    assert code == 1 and "1 inserted" in out and "surveys.csv: line 2, column nps" in err


def test_map_option_and_table_option(tmp_path):
    db = tmp_path / "crm.duckdb"
    f = tmp_path / "export_2026.csv"
    f.write_text("Kundennummer,Segment,Seit\nc1,Mass,01.02.2024\n")
    code, out, err = run("load", str(f), "--table", "customers", "--map", "Kundennummer=customer_id",
                         "--map", "Seit=joined_on", db=db)
    assert code == 0, err


def test_missing_file_is_refused(tmp_path):
    code, _, err = run("load", str(tmp_path / "nope.csv"), db=tmp_path / "crm.duckdb")
    assert code == 1 and "no such file" in err


@pytest.mark.parametrize("args", [[], ["load"], ["frobnicate"], ["load", "x.csv", "--mode", "append"],
                                  ["load", "x.csv", "--map", "nonsense"], ["sample"]])
def test_usage_errors_exit_2(args, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main([*args, "--db", str(tmp_path / "crm.duckdb")] if args else [])
    assert e.value.code == 2


def test_sample_then_init_loads_into_empty_store_only(tmp_path):
    db = tmp_path / "crm.duckdb"
    code, out, err = run("init", db=db)
    assert code == 0, err
    assert "loaded the sample company" in out
    code, out, err = run("init", db=db)
    assert code == 0 and "already holds data" in out


@pytest.fixture(scope="module")
def tiny_db(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("kpi")
    (d / "customers.csv").write_text("customer_id,segment,joined_on\nc1,Mass,2024-01-01\nc2,Premier,2024-01-01\n")
    # 3 phone contacts (2 resolved, one of them followed by another contact within 7 days) and 1 web
    (d / "interactions.csv").write_text(
        "interaction_id,customer_id,occurred_at,channel,resolved\n"
        "i1,c1,2026-03-01 10:00,phone,true\n"
        "i2,c1,2026-03-03 10:00,phone,true\n"
        "i3,c2,2026-03-05 10:00,phone,false\n"
        "i4,c2,2026-04-20 10:00,web,\n")
    db = d / "crm.duckdb"
    code, _, err = run("load", str(d / "customers.csv"), str(d / "interactions.csv"), db=db)
    assert code == 0, err
    return db


def test_kpi_json_shape_and_values(tiny_db):
    code, out, err = run("kpi", "fcr_rate", "--by", "channel,period", "--grain", "month", "--format", "json",
                         db=tiny_db)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kpi"] == "fcr_rate" and doc["unit"] == "%"
    # phone, March: resolved not empty = i1, i2, i3 (3); resolved and no later contact within 7 days:
    # i2 only (i1 is followed by i2 two days later) -> 100 * 1 / 3
    assert doc["rows"] == [{"channel": "phone", "period": "2026-03-01", "value": pytest.approx(100 / 3), "n": 3}]


def test_kpi_csv_and_filters(tiny_db):
    code, out, err = run("kpi", "contacts", "--by", "segment", "--channel", "phone", "--format", "csv", db=tiny_db)
    assert code == 0, err
    # phone contacts: c1 (Mass) twice, c2 (Premier) once
    assert out.splitlines() == ["segment,value,n", "Mass,2.0,2", "Premier,1.0,1"] or \
        out.splitlines() == ["segment,value,n", "Mass,2,2", "Premier,1,1"]


def test_kpi_refusals_exit_1(tiny_db):
    code, _, err = run("kpi", "no_such_kpi", db=tiny_db)
    assert code == 1 and "Unknown KPI" in err
    code, _, err = run("kpi", "multichannel_rate", "--by", "channel", db=tiny_db)
    assert code == 1 and "cannot be split by channel" in err
    code, _, err = run("kpi", "nps", db=tiny_db)
    assert code == 1 and "surveys.csv" in err


def test_kpis_catalogue(tiny_db):
    code, out, _ = run("kpis", "--format", "json", db=tiny_db)
    ids = [k["id"] for k in json.loads(out)]
    assert code == 0 and len(ids) == 32 and ids[0] == "contacts" and "customer_match_rate" in ids
