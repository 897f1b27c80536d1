"""The load, by concern: reading, column plans, rules, the careful and the fast path, the tail.
The entry points are in crm_metrics.data.ingest (load_file, inspect_file)."""
