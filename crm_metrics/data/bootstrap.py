"""First start: an empty store gets the sample company, so the first screen is a working dashboard."""
from __future__ import annotations

from pathlib import Path

from crm_metrics.data.ingest import LoadReport, TableRules, load_file
from crm_metrics.data.store import Store

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"
SAMPLE_USER = "sample"
# customers first so unmatched counts are meaningful; strategy tables before goals' KPIs matter not.
SAMPLE_ORDER = ("customers", "channels", "segments", "interactions", "transactions", "surveys",
                "initiatives", "goals")


def load_sample(store: Store, sample_dir: Path = SAMPLE_DIR, table_rules: TableRules | None = None
                ) -> list[LoadReport]:
    """Load the sample company's CSVs and mark the store as showing the sample (``table_rules``: see
    ingest.load_file)."""
    if not (sample_dir / "customers.csv").exists():
        raise ValueError(f"no sample company in {sample_dir}; write one with "
                         f"`python -m crm_metrics sample --out {sample_dir.name}`")
    reports = []
    for table in SAMPLE_ORDER:
        path = sample_dir / f"{table}.csv"
        if path.exists():
            reports.append(load_file(store, path, table=table, loaded_by=SAMPLE_USER, table_rules=table_rules))
    set_sample_flag(store, True)
    return reports


def ensure_sample(store: Store, sample_dir: Path = SAMPLE_DIR, table_rules: TableRules | None = None
                  ) -> list[LoadReport]:
    """Load the sample company when the store is empty; otherwise do nothing."""
    with store.write_lock:
        if not store.is_empty():
            return []
        return load_sample(store, sample_dir, table_rules)


def set_sample_flag(store: Store, on: bool) -> None:
    with store.transaction(lock=False) as cur:
        cur.execute("DELETE FROM meta WHERE key = 'sample'")
        if on:
            cur.execute("INSERT INTO meta VALUES ('sample', 'true')")


def showing_sample(store: Store) -> bool:
    row = store.cursor().execute("SELECT value FROM meta WHERE key = 'sample'").fetchone()
    return bool(row and row[0] == "true")
