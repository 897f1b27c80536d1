"""The per-customer summary the models read (x, t_x, T, monetary value), the models' units and limits,
and the error they raise."""
from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import pandas as pd

from crm_metrics.metrics.kpis.model import KpiError

Unit = Literal["week", "day"]
UNITS: tuple[Unit, ...] = ("week", "day")
DAYS_PER_UNIT: dict[Unit, float] = {"week": 7.0, "day": 1.0}
DAYS_PER_YEAR = 365.0  # the discounting year, as in the clv KPI (365 ÷ D)

# Below this many customers the four BG/NBD parameters are not identified in any useful sense.
MIN_CUSTOMERS = 10
# Gamma-Gamma's three parameters need a handful of repeat customers.
MIN_REPEAT_CUSTOMERS = 5
X_BUCKETS = 8  # holdout validation by x in calibration: 0, 1, ..., 6, 7+

SUMMARY_COLUMNS = ("customer_id", "x", "t_x", "T", "monetary", "past_value")


class CustomerValueError(KpiError):
    """The models cannot be fitted or applied to these data (too few customers, no repeat purchases,
    non-positive or missing amounts, a calibration end outside the data). The message says why."""


def check_unit(unit: str) -> Unit:
    if unit not in UNITS:
        raise CustomerValueError(f"unit: must be week or day, got {unit!r}")
    return unit  # type: ignore[return-value]


def rfm_summary(transactions: pd.DataFrame, calibration_end: dt.date, unit: Unit = "week",
                holdout_end: dt.date | None = None) -> pd.DataFrame:
    """One row per customer whose first purchase is on or before ``calibration_end``.

    ``transactions`` has columns customer_id, day (date or timestamp; the time of day is ignored)
    and amount (>= 0: a free item is still a purchase day; refunds must be removed before). Returns customer_id, x, t_x, T (in ``unit``),
    monetary (mean spend per repeat purchase day; NaN when x = 0), past_value (all spend in the
    calibration period, first purchase included) and, with ``holdout_end``, holdout_x (purchase days
    in (calibration_end, holdout_end]).
    """
    unit = check_unit(unit)
    missing = {"customer_id", "day", "amount"} - set(transactions.columns)
    if missing:
        raise CustomerValueError(f"transactions: missing column(s) {', '.join(sorted(missing))}")
    amount = pd.to_numeric(transactions["amount"], errors="coerce").to_numpy(dtype=float)
    bad = int(np.count_nonzero(~(amount >= 0)))  # NaN compares False: missing counts as bad
    if bad:
        raise CustomerValueError(
            f"{bad:,} transaction(s) have a missing or negative amount; every purchase needs an amount "
            ">= 0 (remove refunds and fix missing amounts first)")
    days = pd.to_datetime(transactions["day"], errors="coerce").dt.normalize()
    if days.isna().any():
        raise CustomerValueError(f"{int(days.isna().sum()):,} transaction(s) have no date")
    if transactions["customer_id"].isna().any():
        raise CustomerValueError(f"{int(transactions['customer_id'].isna().sum()):,} transaction(s) have no customer_id")
    cal = pd.Timestamp(calibration_end)
    hold = pd.Timestamp(holdout_end) if holdout_end is not None else None
    if hold is not None and hold <= cal:
        raise CustomerValueError(f"holdout end {hold.date()} must be after the calibration end {cal.date()}")
    # same-day purchases count once: one row per customer and purchase day, its spend summed
    daily = (pd.DataFrame({"customer_id": transactions["customer_id"].to_numpy(), "day": days.to_numpy(),
                           "amount": amount})
             .groupby(["customer_id", "day"], sort=True, observed=True)["amount"].sum().reset_index())
    in_cal = daily["day"] <= cal
    cal_days = daily[in_cal]
    if cal_days.empty:
        raise CustomerValueError(f"no purchases on or before the calibration end {cal.date()}")
    g = cal_days.groupby("customer_id", sort=True, observed=True)
    first = g["day"].min()
    last = g["day"].max()
    n_days = g["day"].size()
    total = g["amount"].sum()
    # the first purchase day's spend (rows are sorted by day within a customer)
    first_spend = g["amount"].first()
    per_unit = DAYS_PER_UNIT[unit]
    x = (n_days - 1).astype("int64")
    out = pd.DataFrame({
        "customer_id": first.index.to_numpy(),
        "x": x.to_numpy(),
        "t_x": ((last - first).dt.days / per_unit).to_numpy(dtype=float),
        "T": ((cal - first).dt.days / per_unit).to_numpy(dtype=float),
        "monetary": np.where(x.to_numpy() > 0, (total - first_spend).to_numpy() / np.maximum(x.to_numpy(), 1),
                             np.nan),
        "past_value": total.to_numpy(dtype=float),
    })
    if hold is not None:
        later = daily[(~in_cal) & (daily["day"] <= hold)]
        counts = later.groupby("customer_id", observed=True)["day"].size()
        out["holdout_x"] = out["customer_id"].map(counts).fillna(0).astype("int64").to_numpy()
    return out

