"""Judgement: goals and the scorecard, strategy edits, health checks, initiative impact."""
