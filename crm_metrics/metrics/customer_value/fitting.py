"""What both models' maximum-likelihood fits share: terms evaluated once per distinct x, distinct rows
weighted by their counts, and the bounded L-BFGS-B search over log-parameters."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize

from crm_metrics.metrics.customer_value.summary import CustomerValueError

XIndex = tuple[np.ndarray, np.ndarray]


def x_index(x: np.ndarray) -> XIndex:
    """The distinct values of x (whole numbers) and where each customer's is: the terms that depend
    on x alone are evaluated on a few dozen distinct counts instead of a million customers."""
    xs, inv = np.unique(np.asarray(x, dtype=float), return_inverse=True)
    return xs, inv.ravel()


def of_x(values_on_distinct: np.ndarray, xi: XIndex) -> np.ndarray:
    return values_on_distinct[xi[1]]


def rising(c: float, xs: np.ndarray, f: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Σ_{k < x} f(c + k) for each distinct whole x in ``xs``: log Γ(c + x) − log Γ(c) with f = log,
    ψ(c + x) − ψ(c) with f = 1/·. Summed rather than differenced because for large c (a nearly
    homogeneous purchase rate drives r and alpha towards infinity) the difference of two gammaln
    values loses every digit."""
    top = int(xs[-1]) if xs.size else 0
    cum = np.concatenate([[0.0], np.cumsum(f(c + np.arange(top, dtype=float)))])
    return cum[xs.astype(np.int64)]


def recip(v: np.ndarray) -> np.ndarray:
    return 1.0 / v


def compress(*cols: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of ``cols`` and how often each occurs: the likelihood is evaluated once per
    distinct (x, t_x, T) — a few thousand rows instead of a million customers."""
    stacked = np.column_stack([np.asarray(c, dtype=float) for c in cols])
    uniq, counts = np.unique(stacked, axis=0, return_counts=True)
    return [uniq[:, i] for i in range(uniq.shape[1])], counts.astype(float)


def maximise(fun_grad: Callable[[np.ndarray], tuple[float, np.ndarray]], start: np.ndarray) -> np.ndarray:
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

