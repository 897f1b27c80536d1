"""Per-customer value from both fits (expected purchases × expected spend × margin, discounted), and
the holdout check of the purchase model against what customers really bought later."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_metrics.metrics.customer_value.bgnbd import BgNbdFit, expected_purchases, p_alive
from crm_metrics.metrics.customer_value.gamma_gamma import GammaGammaFit, expected_spend
from crm_metrics.metrics.customer_value.summary import DAYS_PER_UNIT, DAYS_PER_YEAR, X_BUCKETS, CustomerValueError


def discount_factor(horizon_days: float, annual_discount_rate: float) -> float:
    """Value over the horizon discounted by its middle: 1 ÷ (1 + d)^(horizon_years ÷ 2)."""
    if annual_discount_rate < 0:
        raise CustomerValueError(f"annual_discount_rate: must be >= 0, got {annual_discount_rate}")
    return float((1 + annual_discount_rate) ** (-(horizon_days / DAYS_PER_YEAR) / 2))


def predict(summary: pd.DataFrame, bgnbd: BgNbdFit, gg: GammaGammaFit, horizon_weeks: float,
            margin: float = 1.0, annual_discount_rate: float = 0.10) -> pd.DataFrame:
    """Per customer: expected_purchases over the horizon, p_alive, expected_spend and clv =
    expected purchases × expected spend × margin, discounted by the mid-horizon."""
    if horizon_weeks <= 0:
        raise CustomerValueError(f"horizon: must be > 0 weeks, got {horizon_weeks}")
    if margin < 0:
        raise CustomerValueError(f"margin: must be >= 0, got {margin}")
    horizon = horizon_weeks * 7.0 / DAYS_PER_UNIT[bgnbd.unit]
    x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
    out = summary.copy()
    out["expected_purchases"] = expected_purchases(bgnbd, horizon, x, t_x, T)
    out["p_alive"] = p_alive(bgnbd, x, t_x, T)
    out["expected_spend"] = expected_spend(gg, x, summary["monetary"].to_numpy(dtype=float))
    out["clv"] = (out["expected_purchases"] * out["expected_spend"] * margin
                  * discount_factor(horizon_weeks * 7.0, annual_discount_rate))
    return out


@dataclass(frozen=True)
class HoldoutRow:
    x: str            # "0" .. "6", "7+"
    customers: int
    predicted: float  # mean predicted repeat purchases in the holdout
    actual: float     # mean actual repeat purchases (purchase days) in the holdout


@dataclass(frozen=True)
class Holdout:
    start: dt.date    # first day of the holdout (the day after calibration_end)
    end: dt.date
    duration: float   # in the fit's unit
    customers: int
    predicted: float  # total predicted repeat purchases in the holdout
    actual: float     # total actual
    by_x: tuple[HoldoutRow, ...]


def holdout_validation(summary: pd.DataFrame, fit: BgNbdFit, calibration_end: dt.date,
                       holdout_end: dt.date) -> Holdout:
    """Predicted vs actual repeat purchases in (calibration_end, holdout_end], in total and by x in
    calibration (0 … 6, 7+). ``summary`` needs holdout_x (rfm_summary with holdout_end)."""
    if "holdout_x" not in summary.columns:
        raise CustomerValueError("the summary has no holdout counts (build it with holdout_end)")
    duration = (holdout_end - calibration_end).days / DAYS_PER_UNIT[fit.unit]
    x = summary["x"].to_numpy(dtype=float)
    pred = expected_purchases(fit, duration, x, summary["t_x"].to_numpy(dtype=float),
                              summary["T"].to_numpy(dtype=float))
    act = summary["holdout_x"].to_numpy(dtype=float)
    bucket = np.minimum(x, X_BUCKETS - 1).astype(int)
    rows = []
    for k in range(X_BUCKETS):
        sel = bucket == k
        n = int(sel.sum())
        label = f"{k}+" if k == X_BUCKETS - 1 else str(k)
        rows.append(HoldoutRow(x=label, customers=n, predicted=float(pred[sel].mean()) if n else 0.0,
                               actual=float(act[sel].mean()) if n else 0.0))
    return Holdout(start=calibration_end + dt.timedelta(days=1), end=holdout_end, duration=duration,
                   customers=int(x.size), predicted=float(pred.sum()), actual=float(act.sum()), by_x=tuple(rows))
