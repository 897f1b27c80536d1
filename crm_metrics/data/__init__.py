"""Data: the contract (schema), the store, loading and undoing files, summaries, the inbox, the sample company."""
