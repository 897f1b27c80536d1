"""Issue 18, finding 5 (engine side): the CLI's --format csv escapes cells a spreadsheet would run
as formulas, exactly like the app's downloads (one function: crm_metrics.delivery.output.escape_cell)."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

from crm_metrics.delivery import output

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ['=HYPERLINK("https://evil.example","x")', "+1+cmd", "-2+3", "@SUM(A1)", "\tTab", "\rCr"]


def run(*args: str, db: Path) -> tuple[int, str, str]:
    env = {**os.environ, "CRM_DB": str(db)}
    # bytes, decoded here: text mode would turn the \r of a cell into a line break
    p = subprocess.run([sys.executable, "-m", "crm_metrics", *args], capture_output=True,
                       env=env, cwd=ROOT, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_cli_csv_escapes_formula_cells_like_the_app(tmp_path):
    rows = [f'c{i},"{s.replace(chr(34), chr(34) * 2)}",2026-01-0{i + 1}' for i, s in enumerate(HOSTILE)]
    (tmp_path / "customers.csv").write_text("customer_id,segment,joined_on\n" + "\n".join(rows) + "\n")
    (tmp_path / "interactions.csv").write_text(
        "interaction_id,customer_id,occurred_at,channel\n"
        + "".join(f"i{i},c{i},2026-03-0{i + 1} 10:00,phone\n" for i in range(len(HOSTILE))))
    db = tmp_path / "crm.duckdb"
    code, _, err = run("load", str(tmp_path / "customers.csv"), str(tmp_path / "interactions.csv"), db=db)
    assert code == 0, err
    code, out, err = run("kpi", "contacts", "--by", "segment", "--format", "csv", db=db)
    assert code == 0, err
    got = {r["segment"]: r["value"] for r in csv.DictReader(io.StringIO(out, newline=""))}
    # every segment label is text beginning with a formula character: each gets a leading '
    assert set(got) == {"'" + s for s in HOSTILE}, got
    # the counts are numbers and stay as they are (one contact per segment)
    assert set(got.values()) <= {"1", "1.0"}
    # the same text as the app's download of the same rows
    rows = [{"segment": s, "value": 1} for s in HOSTILE]
    app = output.safe_csv(__import__("pandas").DataFrame(rows)).decode()
    assert {r["segment"] for r in csv.DictReader(io.StringIO(app, newline=""))} == set(got)


def test_numbers_stay_numbers_and_only_text_is_escaped():
    text = output.to_csv([{"a": -5, "b": -2.5, "c": "-5", "d": "plain", "e": None}], safe=True)
    assert text.splitlines() == ["a,b,c,d,e", "-5,-2.5,'-5,plain,"]
