"""Data in: the contract, the store, loads, summaries, undo, the inbox, the sample company."""
