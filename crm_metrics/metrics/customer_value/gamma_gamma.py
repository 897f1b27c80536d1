"""Gamma-Gamma (Fader & Hardie 2013): how much a customer spends per purchase. The likelihood and its
gradient, the fit, and the expected spend per customer."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from crm_metrics.metrics.customer_value.fitting import XIndex, compress, maximise, of_x, x_index
from crm_metrics.metrics.customer_value.summary import MIN_REPEAT_CUSTOMERS, CustomerValueError


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
    xi = xi or x_index(x)
    xs = xi[0]
    px = p * x
    by_x = of_x(special.gammaln(p * xs + q) - special.gammaln(p * xs) + p * xs * np.log(xs), xi)
    return (by_x - special.gammaln(q) + q * np.log(g)
            + (px - 1) * np.log(m) - (px + q) * np.log(g + m * x))


def gamma_gamma_gradient_terms(params: tuple[float, float, float], x: np.ndarray, m: np.ndarray,
                               xi: XIndex | None = None) -> np.ndarray:
    """d(log-likelihood)/d(p, q, gamma) per repeat customer (3 × n)."""
    p, q, g = params
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    xi = xi or x_index(x)
    xs = xi[0]
    px = p * x
    dg = special.digamma
    dg_pxq = dg(p * xs + q)
    log_gm = np.log(g + m * x)
    d_p = x * (of_x(dg_pxq - dg(p * xs) + np.log(xs), xi) + np.log(m) - log_gm)
    d_q = of_x(dg_pxq, xi) - dg(q) + np.log(g) - log_gm
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
    (ux, um), w = compress(x, m)

    w = w / w.sum()
    xi = x_index(ux)

    def neg_ll(logp: np.ndarray) -> tuple[float, np.ndarray]:
        p = np.exp(logp)
        v = -float(np.dot(w, gamma_gamma_loglik_terms(tuple(p), ux, um, xi)))
        if not np.isfinite(v):
            return 1e300, np.zeros(3)
        return v, -(gamma_gamma_gradient_terms(tuple(p), ux, um, xi) @ w) * p

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        best = np.exp(maximise(neg_ll, np.log([1.0, 2.0, float(np.mean(m))])))
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

