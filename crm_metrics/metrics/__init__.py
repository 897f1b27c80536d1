"""Metrics computed from the store: the KPI catalogue and the predictive customer-value models."""
