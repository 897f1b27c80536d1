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
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, special

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


# -- the per-customer summary -------------------------------------------------------------------
def _check_unit(unit: str) -> Unit:
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
    unit = _check_unit(unit)
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


# -- BG/NBD ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BgNbdFit:
    """BG/NBD parameters (transaction rate ~ Gamma(r, alpha), dropout ~ Beta(a, b)) per ``unit``."""
    r: float
    alpha: float
    a: float
    b: float
    loglik: float
    customers: int
    unit: Unit = "week"


XIndex = tuple[np.ndarray, np.ndarray]


def _x_index(x: np.ndarray) -> XIndex:
    """The distinct values of x (whole numbers) and where each customer's is: the terms that depend
    on x alone are evaluated on a few dozen distinct counts instead of a million customers."""
    xs, inv = np.unique(np.asarray(x, dtype=float), return_inverse=True)
    return xs, inv.ravel()


def _of_x(values_on_distinct: np.ndarray, xi: XIndex) -> np.ndarray:
    return values_on_distinct[xi[1]]


def _rising(c: float, xs: np.ndarray, f: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Σ_{k < x} f(c + k) for each distinct whole x in ``xs``: log Γ(c + x) − log Γ(c) with f = log,
    ψ(c + x) − ψ(c) with f = 1/·. Summed rather than differenced because for large c (a nearly
    homogeneous purchase rate drives r and alpha towards infinity) the difference of two gammaln
    values loses every digit."""
    top = int(xs[-1]) if xs.size else 0
    cum = np.concatenate([[0.0], np.cumsum(f(c + np.arange(top, dtype=float)))])
    return cum[xs.astype(np.int64)]


def _recip(v: np.ndarray) -> np.ndarray:
    return 1.0 / v


def _bgnbd_branches(params: tuple[float, float, float, float], x: np.ndarray, t_x: np.ndarray,
                    T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two branches of the BG/NBD likelihood besides the x-only terms: alive through T (a3) and
    dropped out right after the last purchase at t_x (a4, only for x > 0). r·log(alpha) − (r + x)·
    log(alpha + T) is written −r·log1p(T/alpha) − x·log(alpha + T), exact also for huge r and alpha."""
    r, alpha, a, b = params
    a3 = -r * np.log1p(T / alpha) - x * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(b + (x - 1)) - r * np.log1p(t_x / alpha)
                      - x * np.log(alpha + t_x), -np.inf)
    return a3, a4


def bgnbd_loglik_terms(params: tuple[float, float, float, float], x: np.ndarray, t_x: np.ndarray,
                       T: np.ndarray, xi: XIndex | None = None) -> np.ndarray:
    """Each customer's log-likelihood (Fader, Hardie & Lee 2005, eq. 6), vectorised:
    log Γ(r+x)/Γ(r) + log B(a, b+x)/B(a, b) + log(e^a3 + e^a4)."""
    r, _alpha, a, b = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    xi = xi or _x_index(x)
    xs = xi[0]
    by_x = _of_x(_rising(r, xs, np.log) + _rising(b, xs, np.log) - _rising(a + b, xs, np.log), xi)
    a3, a4 = _bgnbd_branches(params, x, t_x, T)
    return by_x + np.logaddexp(a3, a4)


def bgnbd_loglik(params: tuple[float, float, float, float], x: np.ndarray, t_x: np.ndarray,
                 T: np.ndarray) -> float:
    return float(np.sum(bgnbd_loglik_terms(params, x, t_x, T)))


def _compress(*cols: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of ``cols`` and how often each occurs: the likelihood is evaluated once per
    distinct (x, t_x, T) — a few thousand rows instead of a million customers."""
    stacked = np.column_stack([np.asarray(c, dtype=float) for c in cols])
    uniq, counts = np.unique(stacked, axis=0, return_counts=True)
    return [uniq[:, i] for i in range(uniq.shape[1])], counts.astype(float)


def _maximise(fun_grad: Callable[[np.ndarray], tuple[float, np.ndarray]], start: np.ndarray) -> np.ndarray:
    """Minimise a mean negative log-likelihood over log-parameters with its analytic gradient
    (L-BFGS-B). The mean, not the sum, keeps the gradient's scale independent of the number of
    customers, so one tolerance serves 2,000 customers and a million."""
    # log-parameters within ±30 (1e-13 .. 1e13): where the likelihood keeps rising towards a limit
    # (e.g. r and alpha -> infinity for a homogeneous purchase rate) the fit stops at the bound,
    # whose predictions equal the limit's to 13 digits, instead of overflowing
    res = optimize.minimize(fun_grad, start, jac=True, method="L-BFGS-B", bounds=[(-30.0, 30.0)] * len(start),
                            options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10})
    if not np.all(np.isfinite(res.x)) or not np.isfinite(fun_grad(res.x)[0]):
        raise CustomerValueError("the maximum-likelihood search did not converge on these data")
    return res.x


def bgnbd_gradient_terms(params: tuple[float, float, float, float], x: np.ndarray, t_x: np.ndarray,
                         T: np.ndarray, xi: XIndex | None = None) -> np.ndarray:
    """d(log-likelihood)/d(r, alpha, a, b) per customer (4 × n): the two branches enter through their
    softmax weights w3 (alive through T) and w4 (dropped out after t_x)."""
    r, alpha, a, b = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    rep = x > 0
    a3, a4 = _bgnbd_branches(params, x, t_x, T)
    w4 = np.where(rep, special.expit(a4 - a3), 0.0)
    w3 = 1.0 - w4
    xi = xi or _x_index(x)
    xs = xi[0]
    s_ab = _rising(a + b, xs, _recip)
    d_r = _of_x(_rising(r, xs, _recip), xi) - w3 * np.log1p(T / alpha) - w4 * np.log1p(t_x / alpha)
    # r/alpha − (r+x)/(alpha+T) = (r·T/alpha − x)/(alpha+T): no cancellation of large terms
    d_alpha = w3 * (r * T / alpha - x) / (alpha + T) + w4 * (r * t_x / alpha - x) / (alpha + t_x)
    bx1 = np.where(rep, b + (x - 1), 1.0)
    d_a = -_of_x(s_ab, xi) + w4 / a
    d_b = _of_x(_rising(b, xs, _recip) - s_ab, xi) - w4 / bx1
    return np.vstack([d_r, d_alpha, d_a, d_b])


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, unit: Unit = "week") -> BgNbdFit:
    """Maximum-likelihood BG/NBD fit. Refuses too few customers or no repeat purchases."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    n = int(x.size)
    if n < MIN_CUSTOMERS:
        raise CustomerValueError(f"too few customers to fit the purchase model: {n} (at least {MIN_CUSTOMERS})")
    if not np.all(np.isfinite(x) & np.isfinite(t_x) & np.isfinite(T)):
        raise CustomerValueError("x, t_x and T must all be known numbers")
    if np.any(x != np.round(x)):
        raise CustomerValueError("x must be whole numbers (purchase days after the first)")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(T < t_x):
        raise CustomerValueError("x and t_x must be >= 0 and t_x <= T for every customer")
    if not np.any(x > 0):
        raise CustomerValueError(f"no repeat purchases among the {n:,} customers: the purchase model needs "
                                 "customers who bought on at least two days")
    if not np.any(T > 0):
        raise CustomerValueError("every customer's first purchase is on the calibration end: nothing to observe")
    (ux, ut, uT), w = _compress(x, t_x, T)
    scale = float(np.max(T)) / 10.0  # alpha lives on the scale of T: start near it

    w = w / w.sum()

    xi = _x_index(ux)

    def neg_ll(logp: np.ndarray) -> tuple[float, np.ndarray]:
        p = np.exp(logp)
        v = -float(np.dot(w, bgnbd_loglik_terms(tuple(p), ux, ut, uT, xi)))
        if not np.isfinite(v):
            return 1e300, np.zeros(4)
        # chain rule for log-parameters: d/d(log p) = p · d/dp
        return v, -(bgnbd_gradient_terms(tuple(p), ux, ut, uT, xi) @ w) * p

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        best = np.exp(_maximise(neg_ll, np.log([1.0, max(scale, 1e-3), 1.0, 1.0])))
        ll = bgnbd_loglik(tuple(best), x, t_x, T)
    return BgNbdFit(r=float(best[0]), alpha=float(best[1]), a=float(best[2]), b=float(best[3]),
                    loglik=ll, customers=n, unit=unit)


def _params(fit: BgNbdFit) -> tuple[float, float, float, float]:
    return fit.r, fit.alpha, fit.a, fit.b


def expected_purchases_unconditional(fit: BgNbdFit, t: np.ndarray | float) -> np.ndarray:
    """E[X(t)] for a customer just acquired (FHL 2005, eq. 7)."""
    r, alpha, a, b = _params(fit)
    t = np.asarray(t, dtype=float)
    hyp = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


def p_alive(fit: BgNbdFit, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(alive | x, t_x, T) (Fader, Hardie & Lee 2008 note "Computing P(alive) using the BG/NBD
    model"): 1 for x = 0 (the model's dropout happens only after a purchase)."""
    r, alpha, a, b = _params(fit)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # ((alpha+T)/(alpha+t_x))^(r+x) through log1p: alpha + T and alpha + t_x may be equal in
        # floating point when alpha is huge, their ratio is not
        odds = np.where(x > 0, a / (b + (x - 1))
                        * np.exp((r + x) * np.log1p((T - t_x) / (alpha + t_x))), 0.0)
    return 1.0 / (1.0 + odds)


def expected_purchases(fit: BgNbdFit, horizon: float, x: np.ndarray, t_x: np.ndarray,
                       T: np.ndarray) -> np.ndarray:
    """E[X(T, T + horizon) | x, t_x, T] (FHL 2005, eq. 10), ``horizon`` in the fit's unit."""
    r, alpha, a, b = _params(fit)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    t = float(horizon)
    if t < 0 or not math.isfinite(t):
        raise CustomerValueError(f"horizon: must be >= 0, got {horizon}")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z) with z = t/(alpha+T+t), rewritten by
        # Euler's transformation 2F1(A,B;C;z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z) as
        # ((alpha+T)/(alpha+T+t))^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z): the same number, but scipy's
        # hyp2f1 with A, B growing with x and z near 1 returns inf/NaN for frequent buyers
        z = t / (alpha + T + t)
        hyp = special.hyp2f1(a + b - 1 - r, a - 1, a + b + (x - 1), z)
        # a nearly homogeneous purchase rate (r, alpha -> infinity, r/alpha fixed) puts the first
        # parameter far below zero with z near 0, where hyp2f1 fails; there 2F1(A, B; C; z) tends to
        # the confluent 1F1(B; C; A·z) (A -> -infinity, A·z fixed)
        bad = ~np.isfinite(hyp)
        if np.any(bad):
            hyp = np.where(bad, special.hyp1f1(a - 1, a + b + (x - 1), (a + b - 1 - r) * z), hyp)
        first = (a + b + (x - 1)) / (a - 1)
        second = 1 - np.exp(-(a - 1) * np.log1p(t / (alpha + T))) * hyp
        out = first * second * p_alive(fit, x, t_x, T)
    if not np.all(np.isfinite(out)):
        raise CustomerValueError(
            f"the expected purchases could not be computed for {int(np.sum(~np.isfinite(out))):,} customer(s): "
            f"the purchase model's fit is degenerate (r = {r:.3g}, alpha = {alpha:.3g}, a = {a:.3g}, b = {b:.3g}), "
            "the customers differ too little for it to be identified; more customers or a longer history help")
    return out


# -- Gamma-Gamma -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class GammaGammaFit:
    """Gamma-Gamma spend model: spend per purchase ~ Gamma(p, nu), nu ~ Gamma(q, gamma)."""
    p: float
    q: float
    gamma: float
    loglik: float
    customers: int


def gamma_gamma_loglik_terms(params: tuple[float, float, float], x: np.ndarray, m: np.ndarray,
                             xi: XIndex | None = None) -> np.ndarray:
    """Each repeat customer's log-likelihood of their mean spend m over x purchases (Fader & Hardie
    2013, eq. 3 — the density of the mean, so the px·log x term is part of it)."""
    p, q, g = params
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    xi = xi or _x_index(x)
    xs = xi[0]
    px = p * x
    by_x = _of_x(special.gammaln(p * xs + q) - special.gammaln(p * xs) + p * xs * np.log(xs), xi)
    return (by_x - special.gammaln(q) + q * np.log(g)
            + (px - 1) * np.log(m) - (px + q) * np.log(g + m * x))


def gamma_gamma_gradient_terms(params: tuple[float, float, float], x: np.ndarray, m: np.ndarray,
                               xi: XIndex | None = None) -> np.ndarray:
    """d(log-likelihood)/d(p, q, gamma) per repeat customer (3 × n)."""
    p, q, g = params
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    xi = xi or _x_index(x)
    xs = xi[0]
    px = p * x
    dg = special.digamma
    dg_pxq = dg(p * xs + q)
    log_gm = np.log(g + m * x)
    d_p = x * (_of_x(dg_pxq - dg(p * xs) + np.log(xs), xi) + np.log(m) - log_gm)
    d_q = _of_x(dg_pxq, xi) - dg(q) + np.log(g) - log_gm
    d_g = q / g - (px + q) / (g + m * x)
    return np.vstack([d_p, d_q, d_g])


def gamma_gamma_loglik(params: tuple[float, float, float], x: np.ndarray, m: np.ndarray) -> float:
    return float(np.sum(gamma_gamma_loglik_terms(params, x, m)))


def fit_gamma_gamma(x: np.ndarray, monetary: np.ndarray) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma fit on the customers with x >= 1 (the others are ignored)."""
    x = np.asarray(x, dtype=float)
    m = np.asarray(monetary, dtype=float)
    keep = x > 0
    x, m = x[keep], m[keep]
    n = int(x.size)
    if n == 0:
        raise CustomerValueError("no repeat purchases: the spend model needs customers who bought on at least two days")
    if n < MIN_REPEAT_CUSTOMERS:
        raise CustomerValueError(f"too few repeat customers to fit the spend model: {n} (at least {MIN_REPEAT_CUSTOMERS})")
    bad = int(np.count_nonzero(~(m > 0)))
    if bad:
        raise CustomerValueError(f"{bad:,} repeat customer(s) have a missing, zero or negative mean spend; "
                                 "the spend model needs positive amounts")
    (ux, um), w = _compress(x, m)

    w = w / w.sum()
    xi = _x_index(ux)

    def neg_ll(logp: np.ndarray) -> tuple[float, np.ndarray]:
        p = np.exp(logp)
        v = -float(np.dot(w, gamma_gamma_loglik_terms(tuple(p), ux, um, xi)))
        if not np.isfinite(v):
            return 1e300, np.zeros(3)
        return v, -(gamma_gamma_gradient_terms(tuple(p), ux, um, xi) @ w) * p

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        best = np.exp(_maximise(neg_ll, np.log([1.0, 2.0, float(np.mean(m))])))
    if best[1] <= 1:
        # E[spend] = p·gamma ÷ (q − 1) is infinite for q <= 1: no usable prediction
        raise CustomerValueError(f"the spend model's fit has q = {best[1]:.3g} <= 1 (spend too dispersed across "
                                 "customers for a finite expected spend)")
    return GammaGammaFit(p=float(best[0]), q=float(best[1]), gamma=float(best[2]),
                         loglik=gamma_gamma_loglik(tuple(best), x, m), customers=n)


def expected_spend(fit: GammaGammaFit, x: np.ndarray, monetary: np.ndarray) -> np.ndarray:
    """E[spend per purchase | x, m] = p(gamma + x m) ÷ (p x + q − 1) (Fader & Hardie 2013, eq. 5);
    a customer without repeat purchases gets the population mean p·gamma ÷ (q − 1)."""
    x = np.asarray(x, dtype=float)
    m = np.where(x > 0, np.nan_to_num(np.asarray(monetary, dtype=float)), 0.0)
    return fit.p * (fit.gamma + x * m) / (fit.p * x + fit.q - 1)


# -- predictions -----------------------------------------------------------------------------------
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


# -- holdout validation ----------------------------------------------------------------------------
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
