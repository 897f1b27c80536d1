"""clv-model and clv-predict: the published CDNOW fit through the command line, exit codes 0 / 1 / 2."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from crm_metrics.data.store import close_all
from crm_metrics.delivery.cli import main

ROOT = Path(__file__).resolve().parent.parent
CDNOW = Path(__file__).parent / "data" / "cdnow_sample.txt"


def run(*args: str, db: Path) -> tuple[int, str, str]:
    env = {**os.environ, "CRM_DB": str(db)}
    p = subprocess.run([sys.executable, "-m", "crm_metrics", *args], capture_output=True, text=True,
                       env=env, cwd=ROOT, timeout=300, check=False)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture(scope="module")
def cdnow_db(tmp_path_factory) -> Path:
    """The raw CDNOW sample as transactions.csv, loaded through the CLI."""
    d = tmp_path_factory.mktemp("cdnow")
    raw = pd.read_csv(CDNOW, sep=r"\s+", header=None, names=["master_id", "customer_id", "day", "cds", "amount"],
                      dtype={"day": str, "customer_id": str})
    tx = pd.DataFrame({"transaction_id": [f"T{i}" for i in range(len(raw))], "customer_id": raw["customer_id"],
                       "occurred_on": pd.to_datetime(raw["day"], format="%Y%m%d").dt.strftime("%Y-%m-%d"),
                       "product": "CD", "amount": raw["amount"]})
    tx.to_csv(d / "transactions.csv", index=False)
    db = d / "cdnow.duckdb"
    code, _, err = run("load", str(d / "transactions.csv"), db=db)
    assert code == 0, err
    yield db
    close_all()


def test_clv_model_json_reproduces_the_published_fit(cdnow_db):
    code, out, err = run("clv-model", "--calibration-end", "1997-09-30", "--format", "json", db=cdnow_db)
    assert code == 0, err
    rec = json.loads(out)
    assert list(rec) == ["calibration_end", "unit", "bgnbd", "gamma_gamma", "holdout"]
    assert rec["calibration_end"] == "1997-09-30" and rec["unit"] == "week"
    bg, gg = rec["bgnbd"], rec["gamma_gamma"]
    assert list(bg) == ["r", "alpha", "a", "b", "loglik", "customers"]
    assert list(gg) == ["p", "q", "gamma", "loglik", "customers"]
    # Fader, Hardie & Lee (2005), Marketing Science 24(2): r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9,582.4
    assert [round(bg[k], 3) for k in ("r", "alpha", "a", "b")] == [0.243, 4.414, 0.793, 2.426]
    assert round(bg["loglik"], 1) == -9582.4 and bg["customers"] == 2357
    # Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value": p 6.25, q 3.74, gamma 15.44
    assert [round(gg[k], 2) for k in ("p", "q", "gamma")] == [6.25, 3.74, 15.44] and gg["customers"] == 946
    h = rec["holdout"]
    # the holdout is the rest of the file: 1997-10-01 .. 1998-06-30, 273 days = 39 weeks
    assert (h["start"], h["end"], h["duration"]) == ("1997-10-01", "1998-06-30", 39.0)
    assert [r["x"] for r in h["by_x"]] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert set(h["by_x"][0]) == {"x", "customers", "predicted", "actual"}


def test_clv_model_table_and_day_unit(cdnow_db, capsys):
    assert main(["clv-model", "--db", str(cdnow_db), "--calibration-end", "1997-09-30", "--unit", "day"]) == 0
    out = capsys.readouterr().out
    assert "times in days" in out and "holdout 1997-10-01 .. 1998-06-30" in out and "7+" in out


def test_clv_predict_csv_and_json(cdnow_db, capsys):
    assert main(["clv-predict", "--db", str(cdnow_db), "--calibration-end", "1997-09-30",
                 "--horizon-weeks", "39"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == ["customer_id", "segment", "x", "t_x", "T", "monetary", "expected_purchases",
                             "p_alive", "expected_spend", "clv"]
    assert len(rows) == 2357
    one = next(r for r in rows if r["customer_id"] == "0001")   # ids as written in the file
    # the published example (FHL 2005): x = 2, t_x = 30.43, T = 38.86 -> 1.226 purchases in 39 weeks
    assert one["x"] == "2" and round(float(one["expected_purchases"]), 3) == 1.226
    assert one["segment"] == "(unknown)"        # no customers.csv loaded
    assert main(["clv-predict", "--db", str(cdnow_db), "--calibration-end", "1997-09-30", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data) == 2357
    # customers without repeat purchases have no monetary value: null, never NaN
    assert all(r["monetary"] is None for r in data if r["x"] == 0)
    assert all(r["monetary"] >= 0 for r in data if r["x"] > 0)


def test_refusals_exit_1_without_traceback(tmp_path):
    db = tmp_path / "few.duckdb"
    f = tmp_path / "transactions.csv"
    f.write_text("transaction_id,customer_id,occurred_on,product,amount\n"
                 "t1,c1,2024-01-01,p,10\nt2,c1,2024-02-01,p,20\nt3,c2,2024-01-05,p,5\n")
    assert run("load", str(f), db=db)[0] == 0
    code, out, err = run("clv-model", db=db)
    assert code == 1 and out == ""
    assert "refused: too few customers to fit the purchase model: 2 (at least 10)" in err
    assert "Traceback" not in err
    code, _, err = run("clv-predict", "--calibration-end", "2023-01-01", db=db)
    assert code == 1 and "calibration end 2023-01-01 is before the first purchase (2024-01-01)" in err


def test_usage_errors_exit_2(tmp_path, capsys):
    db = str(tmp_path / "x.duckdb")
    for argv in (["clv-predict", "--horizon-weeks", "0"], ["clv-model", "--unit", "month"],
                 ["clv-model", "--calibration-end", "yesterday"], ["clv-predict", "--format", "table"]):
        with pytest.raises(SystemExit) as e:
            main([*argv, "--db", db])
        assert e.value.code == 2
    capsys.readouterr()
