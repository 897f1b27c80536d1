"""Delivery: the report, the command line, exports and formatting."""
