"""Predicted customer value and churn risk: BG/NBD and Gamma-Gamma (docs/customer-value.md).

Pure functions on numpy / pandas; reading the store is in ``crm_metrics.metrics.customer_value_store``.

Per customer over the calibration period [first purchase day, calibration_end] (spec
customer-value.md): purchases on the same day count once; x = purchase days after the first; t_x =
days from the first to the last purchase day; T = days from the first purchase day to
calibration_end; times in weeks (days ÷ 7) or days. Monetary value m = mean spend per repeat
purchase day (the first purchase day excluded).

Models (maximum likelihood, closed-form likelihoods):
- BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", Marketing Science 24(2).
- Gamma-Gamma: Fader, Hardie & Lee (2005), "RFM and CLV", JMR 42(4); Fader & Hardie (2013), "The
  Gamma-Gamma Model of Monetary Value".

Why scipy and not a library: lifetimes has had no release since 2020 and already warns under pandas 3
about an option pandas 4 removes; PyMC-Marketing pulls PyMC and PyTensor (+~460 MB, ~5 CPU s to
import); the likelihoods are a few lines of scipy.special (measurements in docs/customer-value.md).

Modules: summary (the per-customer summary, units, limits, CustomerValueError), fitting (what both
fits share), bgnbd (purchases and P(alive)), gamma_gamma (spend), predictions (per-customer value,
holdout validation). The names below are re-exported here.
"""
from __future__ import annotations

from crm_metrics.metrics.customer_value.bgnbd import (
    BgNbdFit,
    bgnbd_gradient_terms,
    bgnbd_loglik,
    bgnbd_loglik_terms,
    expected_purchases,
    expected_purchases_unconditional,
    fit_bgnbd,
    p_alive,
)
from crm_metrics.metrics.customer_value.gamma_gamma import (
    GammaGammaFit,
    expected_spend,
    fit_gamma_gamma,
    gamma_gamma_gradient_terms,
    gamma_gamma_loglik,
    gamma_gamma_loglik_terms,
)
from crm_metrics.metrics.customer_value.predictions import (
    Holdout,
    HoldoutRow,
    discount_factor,
    holdout_validation,
    predict,
)
from crm_metrics.metrics.customer_value.summary import (
    DAYS_PER_UNIT,
    DAYS_PER_YEAR,
    MIN_CUSTOMERS,
    MIN_REPEAT_CUSTOMERS,
    SUMMARY_COLUMNS,
    UNITS,
    X_BUCKETS,
    CustomerValueError,
    Unit,
    check_unit,
    rfm_summary,
)

__all__ = [
    "BgNbdFit", "bgnbd_gradient_terms", "bgnbd_loglik", "bgnbd_loglik_terms", "expected_purchases",
    "expected_purchases_unconditional", "fit_bgnbd", "p_alive", "GammaGammaFit", "expected_spend",
    "fit_gamma_gamma", "gamma_gamma_gradient_terms", "gamma_gamma_loglik", "gamma_gamma_loglik_terms",
    "Holdout", "HoldoutRow", "discount_factor", "holdout_validation", "predict", "DAYS_PER_UNIT",
    "DAYS_PER_YEAR", "MIN_CUSTOMERS", "MIN_REPEAT_CUSTOMERS", "SUMMARY_COLUMNS", "UNITS", "X_BUCKETS",
    "CustomerValueError", "Unit", "check_unit", "rfm_summary",
]
