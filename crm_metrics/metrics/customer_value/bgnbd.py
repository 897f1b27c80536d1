"""BG/NBD (Fader, Hardie & Lee 2005): who keeps buying and how often. The likelihood and its gradient,
the fit, and the per-customer predictions (P(alive), expected purchases over a horizon)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from crm_metrics.metrics.customer_value.fitting import XIndex, compress, maximise, of_x, recip, rising, x_index
from crm_metrics.metrics.customer_value.summary import MIN_CUSTOMERS, CustomerValueError, Unit


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
    xi = xi or x_index(x)
    xs = xi[0]
    by_x = of_x(rising(r, xs, np.log) + rising(b, xs, np.log) - rising(a + b, xs, np.log), xi)
    a3, a4 = _bgnbd_branches(params, x, t_x, T)
    return by_x + np.logaddexp(a3, a4)


def bgnbd_loglik(params: tuple[float, float, float, float], x: np.ndarray, t_x: np.ndarray,
                 T: np.ndarray) -> float:
    return float(np.sum(bgnbd_loglik_terms(params, x, t_x, T)))


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
    xi = xi or x_index(x)
    xs = xi[0]
    s_ab = rising(a + b, xs, recip)
    d_r = of_x(rising(r, xs, recip), xi) - w3 * np.log1p(T / alpha) - w4 * np.log1p(t_x / alpha)
    # r/alpha − (r+x)/(alpha+T) = (r·T/alpha − x)/(alpha+T): no cancellation of large terms
    d_alpha = w3 * (r * T / alpha - x) / (alpha + T) + w4 * (r * t_x / alpha - x) / (alpha + t_x)
    bx1 = np.where(rep, b + (x - 1), 1.0)
    d_a = -of_x(s_ab, xi) + w4 / a
    d_b = of_x(rising(b, xs, recip) - s_ab, xi) - w4 / bx1
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
    (ux, ut, uT), w = compress(x, t_x, T)
    scale = float(np.max(T)) / 10.0  # alpha lives on the scale of T: start near it

    w = w / w.sum()

    xi = x_index(ux)

    def neg_ll(logp: np.ndarray) -> tuple[float, np.ndarray]:
        p = np.exp(logp)
        v = -float(np.dot(w, bgnbd_loglik_terms(tuple(p), ux, ut, uT, xi)))
        if not np.isfinite(v):
            return 1e300, np.zeros(4)
        # chain rule for log-parameters: d/d(log p) = p · d/dp
        return v, -(bgnbd_gradient_terms(tuple(p), ux, ut, uT, xi) @ w) * p

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        best = np.exp(maximise(neg_ll, np.log([1.0, max(scale, 1e-3), 1.0, 1.0])))
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


