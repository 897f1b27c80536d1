"""Metrics: the KPI catalogue, its compute API and the engines that run it."""
