"""Customer value from the store: the per-customer summary read from transactions, both models fitted,
predictions per customer, predicted CLV by segment and by relationship class, value at risk.

A purchase is a transaction with an amount >= 0 (a free item is still a purchase day); refunds
(negative amounts) are not purchases and are left out. The summary, the models and the predictions
themselves are the pure functions of ``crm_metrics.metrics.customer_value``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from crm_metrics.data.store import Store
from crm_metrics.metrics.kpis.relationships import customer_class_sql

from . import customer_value as cv

NO_CONTACT = "no assisted contact"
DEFAULT_HORIZON_WEEKS = 52.0
AT_RISK_P_ALIVE = 0.5       # spec: customers with P(alive) < 0.5 ...
TOP_SHARE = 0.2             # ... in the top quintile of past value
ClvDimension = Literal["segment", "relationship_class", "acquisition_channel"]
CLV_DIMENSIONS: tuple[ClvDimension, ...] = ("segment", "relationship_class", "acquisition_channel")

PREDICT_COLUMNS = ("customer_id", "segment", "x", "t_x", "T", "monetary", "expected_purchases", "p_alive",
                   "expected_spend", "clv")


@dataclass(frozen=True)
class CustomerValueModel:
    """Both fits, on the customers whose first purchase is on or before calibration_end."""
    calibration_end: dt.date
    unit: cv.Unit
    bgnbd: cv.BgNbdFit
    gamma_gamma: cv.GammaGammaFit
    holdout: cv.Holdout | None


@dataclass(frozen=True)
class CustomerValue:
    """The model and its predictions: one row per customer (PREDICT_COLUMNS plus acquisition_channel,
    relationship_class and past_value) over ``horizon_weeks`` after calibration_end."""
    model: CustomerValueModel
    horizon_weeks: float
    margin: float
    annual_discount_rate: float
    customers: pd.DataFrame


@dataclass(frozen=True)
class ValueAtRisk:
    share: float          # at-risk customers' predicted CLV ÷ everyone's (0..1; 0 when nobody has value)
    at_risk_value: float
    total_value: float
    customers: int        # at-risk customers
    past_value_threshold: float  # the top quintile starts here (past value >= this)


# -- reading ---------------------------------------------------------------------------------------
def _day(v: Any) -> dt.date | None:
    if v is None:
        return None
    return v.date() if isinstance(v, dt.datetime) else v


def purchase_span(store: Store) -> tuple[dt.date | None, dt.date | None]:
    """First and last day with a purchase (amount >= 0)."""
    cur = store.cursor()
    try:
        lo, hi = cur.execute("SELECT min(day), max(day) FROM f_transactions WHERE amount >= 0").fetchone()
    finally:
        cur.close()
    return _day(lo), _day(hi)


def resolve_calibration(store: Store, calibration_end: dt.date | None) -> tuple[dt.date, dt.date | None]:
    """(calibration_end, holdout_end): by default the last purchase day and no holdout; an earlier
    calibration end leaves the days after it, up to the last purchase day, as the holdout."""
    first, last = purchase_span(store)
    if last is None:
        raise cv.CustomerValueError("no transactions with an amount >= 0: load transactions.csv first")
    if calibration_end is None:
        return last, None
    if calibration_end < first:
        raise cv.CustomerValueError(f"calibration end {calibration_end} is before the first purchase ({first})")
    return calibration_end, (last if calibration_end < last else None)


# The per-customer summary aggregated in SQL: the same definition as cv.rfm_summary (which stays the
# reference, and a test holds the two equal), but DuckDB hands pandas one row per customer instead of
# one per purchase day, which on a million customers is most of the model's time.
SUMMARY_SQL = """
WITH d AS (
  SELECT customer_id, day, SUM(amount) AS amount, ANY_VALUE(segment) AS segment,
    ANY_VALUE(acquisition_channel) AS acquisition_channel
  FROM f_transactions WHERE amount >= 0 AND day <= $last{seg_filter}
  GROUP BY customer_id, day),
cal AS (
  SELECT customer_id, ANY_VALUE(segment) AS segment, ANY_VALUE(acquisition_channel) AS acquisition_channel,
    date_diff('day', MIN(day), MAX(day)) AS span_days, date_diff('day', MIN(day), $cal) AS age_days,
    COUNT(*) AS n_days, SUM(amount) AS total, ARG_MIN(amount, day) AS first_spend
  FROM d WHERE day <= $cal GROUP BY customer_id),
later AS (
  SELECT customer_id, COUNT(*) AS holdout_x FROM d WHERE day > $cal GROUP BY customer_id)
SELECT cal.*, COALESCE(later.holdout_x, 0) AS holdout_x
FROM cal LEFT JOIN later USING (customer_id)
ORDER BY cal.customer_id
"""


def _summary_frame(rows: pd.DataFrame, unit: cv.Unit, with_holdout: bool) -> pd.DataFrame:
    """cv.rfm_summary's columns from the per-customer aggregates of SUMMARY_SQL."""
    per_unit = cv.DAYS_PER_UNIT[unit]
    x = rows["n_days"].to_numpy(dtype="int64") - 1
    repeat_spend = rows["total"].to_numpy(dtype=float) - rows["first_spend"].to_numpy(dtype=float)
    out = pd.DataFrame({
        "customer_id": rows["customer_id"].to_numpy(),
        "segment": rows["segment"].to_numpy(),
        "acquisition_channel": rows["acquisition_channel"].to_numpy(),
        "x": x,
        "t_x": rows["span_days"].to_numpy(dtype=float) / per_unit,
        "T": rows["age_days"].to_numpy(dtype=float) / per_unit,
        "monetary": np.where(x > 0, repeat_spend / np.maximum(x, 1), np.nan),
        "past_value": rows["total"].to_numpy(dtype=float),
    })
    if with_holdout:
        out["holdout_x"] = rows["holdout_x"].to_numpy(dtype="int64")
    return out


def load_summary(store: Store, calibration_end: dt.date, unit: cv.Unit = "week",
                 holdout_end: dt.date | None = None, segments: Sequence[str] = ()) -> pd.DataFrame:
    """The per-customer summary (cv.rfm_summary's definition) with segment, acquisition_channel and
    relationship_class (from assisted contacts on or before calibration_end; NO_CONTACT without)."""
    if unit not in cv.DAYS_PER_UNIT:
        raise cv.CustomerValueError(f"unit: must be week or day, got {unit!r}")
    seg_filter, params = "", {"cal": calibration_end, "last": holdout_end or calibration_end}
    if segments:
        # values bound as parameters; only their count shapes the SQL
        seg_filter = " AND segment IN (" + ", ".join(f"$seg{i}" for i in range(len(segments))) + ")"
        params.update({f"seg{i}": s for i, s in enumerate(segments)})
    cur = store.cursor()
    try:
        settings = store.settings(cur)
        missing = cur.execute("SELECT count(*) FROM f_transactions WHERE amount IS NULL").fetchone()[0]
        if missing:
            raise cv.CustomerValueError(f"{missing:,} transaction(s) have no amount; fix them and load again")
        rows = cur.execute(SUMMARY_SQL.format(seg_filter=seg_filter), params).df()
        purchases = cur.execute("SELECT count(*) FROM f_transactions WHERE amount >= 0").fetchone()[0]
        classes = cur.execute(customer_class_sql(), [calibration_end,
                                                     float(settings["relationship_upc_threshold"])]).df()
    finally:
        cur.close()
    if rows.empty:
        if segments or purchases == 0:
            raise cv.CustomerValueError("no purchases for the customers selected" if segments else
                                        "no purchases to model: load transactions.csv first")
        raise cv.CustomerValueError(f"no purchases on or before the calibration end {calibration_end}")
    summary = _summary_frame(rows, unit, holdout_end is not None)
    cls = classes.set_index("customer_id")["relationship_class"]
    summary.insert(3, "relationship_class", summary["customer_id"].map(cls).astype(object).fillna(NO_CONTACT))
    return summary


# -- fitting and predicting ------------------------------------------------------------------------
def fit_models(summary: pd.DataFrame, calibration_end: dt.date, unit: cv.Unit,
               holdout_end: dt.date | None) -> CustomerValueModel:
    bg = cv.fit_bgnbd(summary["x"], summary["t_x"], summary["T"], unit=unit)
    gg = cv.fit_gamma_gamma(summary["x"], summary["monetary"])
    holdout = cv.holdout_validation(summary, bg, calibration_end, holdout_end) if holdout_end else None
    return CustomerValueModel(calibration_end=calibration_end, unit=unit, bgnbd=bg, gamma_gamma=gg, holdout=holdout)


def customer_value(store: Store, calibration_end: dt.date | None = None, unit: cv.Unit = "week",
                   horizon_weeks: float = DEFAULT_HORIZON_WEEKS, segments: Sequence[str] = ()) -> CustomerValue:
    """Fit both models on the store's transactions and predict every customer's value over the
    horizon after calibration_end; margin and annual_discount_rate from the settings."""
    cv.check_unit(unit)
    cal, hold = resolve_calibration(store, calibration_end)
    summary = load_summary(store, cal, unit, hold, segments)
    model = fit_models(summary, cal, unit, hold)
    settings = store.settings()
    margin = float(settings["margin"])
    rate = float(settings["annual_discount_rate"])
    pred = cv.predict(summary, model.bgnbd, model.gamma_gamma, horizon_weeks, margin=margin,
                      annual_discount_rate=rate)
    return CustomerValue(model=model, horizon_weeks=float(horizon_weeks), margin=margin,
                         annual_discount_rate=rate, customers=pred)


def model_record(model: CustomerValueModel) -> dict[str, Any]:
    """The clv-model JSON (spec customer-value.md): calibration_end, unit, bgnbd, gamma_gamma, holdout."""
    bg, gg = model.bgnbd, model.gamma_gamma
    holdout = None
    if model.holdout is not None:
        h = model.holdout
        holdout = {"start": h.start.isoformat(), "end": h.end.isoformat(), "duration": h.duration,
                   "customers": h.customers, "predicted": h.predicted, "actual": h.actual,
                   "by_x": [asdict(r) for r in h.by_x]}
    return {"calibration_end": model.calibration_end.isoformat(), "unit": model.unit,
            "bgnbd": {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b, "loglik": bg.loglik, "customers": bg.customers},
            "gamma_gamma": {"p": gg.p, "q": gg.q, "gamma": gg.gamma, "loglik": gg.loglik, "customers": gg.customers},
            "holdout": holdout}


def prediction_rows(value: CustomerValue) -> pd.DataFrame:
    """The clv-predict rows: PREDICT_COLUMNS, monetary empty (None) for customers without repeat purchases."""
    out = value.customers[list(PREDICT_COLUMNS)].copy()
    out["monetary"] = out["monetary"].astype(object).where(out["monetary"].notna(), None)
    return out


# -- views for the page ----------------------------------------------------------------------------
def clv_by(value: CustomerValue, dim: ClvDimension) -> pd.DataFrame:
    """Predicted CLV per group: customers, total and mean predicted CLV, mean P(alive), mean past value."""
    if dim not in CLV_DIMENSIONS:
        raise cv.CustomerValueError(f"split: must be one of {', '.join(CLV_DIMENSIONS)}, got {dim!r}")
    g = value.customers.groupby(dim, sort=True)
    out = pd.DataFrame({"customers": g.size(), "clv_total": g["clv"].sum(), "clv_mean": g["clv"].mean(),
                        "p_alive_mean": g["p_alive"].mean(), "past_value_mean": g["past_value"].mean()})
    return out.reset_index()


def _at_risk_mask(df: pd.DataFrame) -> tuple[np.ndarray, float]:
    """Customers in the top quintile of past value (the TOP_SHARE with the highest past value, ties at
    the edge included) with P(alive) < 0.5, and the past value where the quintile starts."""
    if df.empty:
        return np.zeros(0, dtype=bool), 0.0
    threshold = float(np.quantile(df["past_value"].to_numpy(dtype=float), 1 - TOP_SHARE, method="higher"))
    mask = (df["past_value"].to_numpy() >= threshold) & (df["p_alive"].to_numpy() < AT_RISK_P_ALIVE)
    return mask, threshold


def value_at_risk(value: CustomerValue) -> ValueAtRisk:
    """The share of predicted value held by customers with P(alive) < 0.5 in the top quintile of past value."""
    df = value.customers
    mask, threshold = _at_risk_mask(df)
    total = float(df["clv"].sum())
    risk = float(df.loc[mask, "clv"].sum())
    return ValueAtRisk(share=risk / total if total > 0 else 0.0, at_risk_value=risk, total_value=total,
                       customers=int(mask.sum()), past_value_threshold=threshold)


def at_risk_customers(value: CustomerValue) -> pd.DataFrame:
    """The at-risk customers for a retention campaign, highest past value first."""
    df = value.customers
    mask, _ = _at_risk_mask(df)
    cols = ["customer_id", "segment", "relationship_class", "past_value", "p_alive", "expected_purchases", "clv",
            "x", "t_x", "T"]
    return df.loc[mask, cols].sort_values(["past_value", "customer_id"], ascending=[False, True]).reset_index(drop=True)
