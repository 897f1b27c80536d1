"""The analysis commands of the CLI (kpis, kpi, scorecard, health, impact, report)."""
from __future__ import annotations
