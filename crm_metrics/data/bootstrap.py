"""First start: an empty store gets the sample company, so the first screen is a working dashboard."""
from __future__ import annotations

from pathlib import Path

from crm_metrics.data.ingest import LoadReport, TableRules, load_file
from crm_metrics.data.reset import SAMPLE_USER, remember_sample, store_contents
from crm_metrics.data.store import Store

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"
# customers first so unmatched counts are meaningful; strategy tables before goals' KPIs matter not.
SAMPLE_ORDER = ("customers", "channels", "segments", "interactions", "transactions", "surveys",
                "initiatives", "goals")


def load_sample(store: Store, sample_dir: Path = SAMPLE_DIR, table_rules: TableRules | None = None
                ) -> list[LoadReport]:
    """Load the sample company's CSVs into an empty store and remember its rows as the sample's (so
    that they can be told from the analyst's own and removed: crm_metrics.data.reset);
    ``table_rules``: see ingest.load_file."""
    if not (sample_dir / "customers.csv").exists():
        raise ValueError(f"no sample company in {sample_dir}; write one with "
                         f"`python -m crm_metrics sample --out {sample_dir.name}`")
    reports = []
    for table in SAMPLE_ORDER:
        path = sample_dir / f"{table}.csv"
        if path.exists():
            reports.append(load_file(store, path, table=table, loaded_by=SAMPLE_USER, table_rules=table_rules))
    with store.transaction(lock=False) as cur:
        remember_sample(cur, [r.table for r in reports])
    set_sample_flag(store, True)
    return reports


def ensure_sample(store: Store, sample_dir: Path = SAMPLE_DIR, table_rules: TableRules | None = None
                  ) -> list[LoadReport]:
    """Load the sample company when the store is empty and was never used; otherwise do nothing (a
    store emptied on purpose, e.g. by removing the sample, has a load history and stays empty)."""
    with store.write_lock:
        if not store.is_empty() or store.load_history():
            return []
        return load_sample(store, sample_dir, table_rules)


def set_sample_flag(store: Store, on: bool) -> None:
    with store.transaction(lock=False) as cur:
        cur.execute("DELETE FROM meta WHERE key = 'sample'")
        if on:
            cur.execute("INSERT INTO meta VALUES ('sample', 'true')")


def showing_sample(store: Store) -> bool:
    """The store holds the sample company and nothing of the analyst's own."""
    return store_contents(store) == "sample"
