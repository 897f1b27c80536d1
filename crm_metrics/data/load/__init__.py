"""The load, one module per concern. The entry points are in crm_metrics.data.ingest (load_file,
load_files, inspect_file), which also re-exports the public names.

- report: what a load tells its caller (LoadReport, Problem, LoadRefused; refusals collect here)
- reading: size limits, delimiter, header, line numbers, DuckDB's CSV errors, the read_csv SQL
- records: one read of the bytes (hash, NUL, UTF-8, the independent record count, long lines)
- encoding: the encoding (detected or named), mixed encodings, transcoding to UTF-8
- columns: matching headers to the contract; each column's plan (how its text is parsed and checked)
- prepare: a file read up to its header (every refusal that needs no rows)
- rules: the careful path's checks over the staged rows, and the caller's table rules
- write: merge or replace the typed rows
- careful: stage as text, check every rule, report every problem with its line
- fast: one pass that reads, checks and writes a clean file
- tail: facts, snapshots, unmatched customers and the load history, in the load's transaction
"""
