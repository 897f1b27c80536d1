"""How sure are we? The statistics behind an initiative's effect (strategy.md, "How sure are we?").

Pure functions on numpy arrays (no store): the unit-level difference-in-differences regression with
standard errors clustered by customer, the weekly variant with Newey–West errors, the interrupted
time series without a control group, the pre-trend test, the bootstrap of incremental revenue and
ROI, and the verdict in words.

    did_units(y, after, treated, cluster) -> Estimate          # CR1 by customer, t(G − 1)
    did_weekly(d_before, d_after) -> Estimate                  # weekly treated − control, HAC(4)
    its(y_before, y_after) -> Its                              # local linear trend, forecast
    pre_trend(d_before) -> float | None                        # p of the slope, HAC(4)
    bootstrap_revenue(...) -> (inc_low, inc_high, roi_low, roi_high)
    verdict(...) -> Verdict | None
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

UncertaintyMethod = Literal["units_cluster_cr1", "weekly_hac", "its_local_linear_trend"]
Verdict = Literal["provisional", "doubtful", "improved", "worsened", "no detectable effect"]
VERDICTS: tuple[str, ...] = ("provisional", "doubtful", "improved", "worsened", "no detectable effect")

ALPHA = 0.05
HAC_LAGS = 4
BOOTSTRAP_RESAMPLES = 999
BOOTSTRAP_SEED = 20260311
# Above this many customers in a group the resampled sums are drawn from their normal limit (same
# mean and covariance as the index bootstrap; the central limit theorem is exact to far below the
# reported digits at this size) instead of an index matrix of 999 × n draws.
BOOTSTRAP_EXACT_MAX = 20_000
MIN_WEEKS = 3          # full weeks per phase for the weekly regression
MIN_WEEKS_ITS = 6      # full weeks before go-live for the structural time-series model


@dataclass(frozen=True)
class Estimate:
    effect: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n_clusters: int | None = None

    @property
    def significant(self) -> bool:
        return bool(self.p_value < ALPHA)


@dataclass(frozen=True)
class Its:
    """Interrupted time series: effect per week with its interval, and the counterfactual band."""
    effect: float
    ci_low: float
    ci_high: float
    counterfactual: np.ndarray
    low: np.ndarray
    high: np.ndarray


def _ols():
    import statsmodels.api as sm  # imported on first use: statsmodels takes a second to import
    return sm


def did_units(y: np.ndarray, after: np.ndarray, treated: np.ndarray, cluster: np.ndarray) -> Estimate:
    """δ of y = β0 + β1·after + β2·treated + δ·after·treated by OLS over units, standard error
    clustered by ``cluster`` (CR1: G/(G−1)·(N−1)/(N−K)), interval δ ± t(0.975, G−1)·se, two-sided
    p from t(G−1). ValueError when a group is empty or there are fewer than two customers.

    The design is saturated (four cells), so OLS is solved in closed form: δ is the
    difference-in-differences of the four cell means, the residuals are the deviations from the
    cell means, and δ's row of (X'X)⁻¹X' weighs unit i by s/nₖ (s = +1 for treated-after and
    control-before, −1 for the other two cells, nₖ its cell's size). The sandwich
    (X'X)⁻¹ (Σ_g X_g'e_g e_g'X_g) (X'X)⁻¹ for δ is then Σ_g (Σ_{i∈g} wᵢeᵢ)², times the CR1 factor —
    the numbers of statsmodels' OLS(...).fit(cov_type="cluster") (a test checks it), in numpy with
    one bincount over millions of units instead of statsmodels' group sums."""
    y = np.asarray(y, dtype="float64")
    a = np.asarray(after).astype(bool)
    t = np.asarray(treated).astype(bool)
    cell = a.astype("int64") * 2 + t.astype("int64")            # 0 CB, 1 TB, 2 CA, 3 TA
    n = np.bincount(cell, minlength=4).astype("float64")
    if np.any(n == 0):
        raise ValueError("a group (treated/control × before/after) has no units")
    if len(y) <= 4:
        raise ValueError(f"only {len(y)} units for the regression's 4 coefficients")
    codes = _codes(cluster)
    g = int(codes.max()) + 1
    if g < 2:
        raise ValueError("fewer than two customers: no clustered standard error")
    means = np.bincount(cell, weights=y, minlength=4) / n
    sign = np.array([1.0, -1.0, -1.0, 1.0])
    effect = float(np.dot(sign, means))
    w = (sign / n)[cell]
    score = np.bincount(codes, weights=w * (y - means[cell]), minlength=g)
    nobs = float(len(y))
    factor = g / (g - 1.0) * (nobs - 1.0) / (nobs - 4.0)
    se = float(np.sqrt(factor * np.dot(score, score)))
    return _estimate(effect, se, g - 1, g)


def classic_se(y: np.ndarray, after: np.ndarray, treated: np.ndarray) -> tuple[float, float]:
    """(δ, the usual OLS standard error of δ): homoskedastic, what textbook tables print."""
    sm = _ols()
    a = np.asarray(after, dtype="float64")
    t = np.asarray(treated, dtype="float64")
    x = np.column_stack([np.ones_like(a), a, t, a * t])
    res = sm.OLS(np.asarray(y, dtype="float64"), x).fit()
    return float(res.params[3]), float(res.bse[3])


def _codes(cluster: np.ndarray) -> np.ndarray:
    """Integer cluster codes; a missing customer id is its own cluster."""
    import pandas as pd
    arr = np.asarray(cluster)
    codes, uniques = pd.factorize(arr if arr.dtype != object else pd.Series(arr, dtype="object"),
                                  use_na_sentinel=True)
    codes = np.asarray(codes, dtype="int64")
    na = codes < 0
    if na.any():
        codes[na] = len(uniques) + np.arange(int(na.sum()))
    return codes


def _estimate(effect: float, se: float, df: int | None, n_clusters: int | None = None) -> Estimate:
    """δ ± q·se and the two-sided p, with t(df) or, when df is None, the normal."""
    if not np.isfinite(se) or not np.isfinite(effect):
        raise ValueError("the standard error cannot be computed from so few values")
    if se <= 0:
        p = 1.0 if effect == 0 else 0.0
        return Estimate(effect, float(se), effect, effect, p, n_clusters)
    dist = stats.t(df) if df is not None else stats.norm()
    q = float(dist.ppf(1 - ALPHA / 2))
    p = float(2 * dist.sf(abs(effect / se)))
    return Estimate(effect, se, effect - q * se, effect + q * se, p, n_clusters)


def hac_mean_shift(d_before: np.ndarray, d_after: np.ndarray) -> tuple[float, float]:
    """(coefficient, HAC(4) se) of ``after`` in d_t = a + b·after_t over the weekly series."""
    d = np.concatenate([d_before, d_after]).astype("float64")
    after = np.concatenate([np.zeros(len(d_before)), np.ones(len(d_after))])
    sm = _ols()
    res = sm.OLS(d, np.column_stack([np.ones_like(d), after])).fit(
        cov_type="HAC", cov_kwds={"maxlags": HAC_LAGS})
    return float(res.params[1]), float(res.bse[1])


def did_weekly(effect: float, d_before: np.ndarray, d_after: np.ndarray, scale: float = 1.0) -> Estimate:
    """The weekly variant: the regression on weekly values of treated and control, written as the
    weekly difference d_t = treated_t − control_t on ``after`` (the same δ when both groups have a
    value every week) with Newey–West (HAC, 4 lags) errors. ``effect`` is the window's own DiD;
    its se is the weekly one × ``scale`` (w/7 for totals, whose window value sums the weeks), the
    interval and p from the normal (HAC inference is asymptotic)."""
    if len(d_before) < MIN_WEEKS or len(d_after) < MIN_WEEKS:
        raise ValueError(f"fewer than {MIN_WEEKS} full weeks on one side of the go-live")
    _, se = hac_mean_shift(np.asarray(d_before), np.asarray(d_after))
    return _estimate(effect, se * scale, None)


def pre_trend(d_before: np.ndarray) -> float | None:
    """p-value of the slope of the weekly treated − control difference over the before window
    (OLS on the week number, HAC(4) errors); None with fewer than MIN_WEEKS weeks."""
    d = np.asarray(d_before, dtype="float64")
    if len(d) < MIN_WEEKS:
        return None
    sm = _ols()
    x = np.column_stack([np.ones_like(d), np.arange(len(d), dtype="float64")])
    res = sm.OLS(d, x).fit(cov_type="HAC", cov_kwds={"maxlags": HAC_LAGS})
    p = float(res.pvalues[1])
    return p if np.isfinite(p) else None


def its(y_before: np.ndarray, y_after: np.ndarray, steps: np.ndarray | None = None) -> Its:
    """Interrupted time series: a local-linear-trend structural model (statsmodels
    UnobservedComponents) fitted on the weekly before series, forecast over the after weeks.
    effect = mean(actual − counterfactual); its 95 % interval = the mean of actual − the forecast's
    95 % bounds. ``steps``: 1-based forecast step of each after value (default 1..n)."""
    yb = np.asarray(y_before, dtype="float64")
    ya = np.asarray(y_after, dtype="float64")
    if len(yb) < MIN_WEEKS_ITS or len(ya) < 1:
        raise ValueError(f"fewer than {MIN_WEEKS_ITS} full weeks before go-live or none after")
    st = np.arange(1, len(ya) + 1) if steps is None else np.asarray(steps, dtype="int64")
    from statsmodels.tsa.statespace.structural import UnobservedComponents
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short series: the optimiser's convergence chatter
        res = UnobservedComponents(yb, level="local linear trend").fit(disp=False)
        fc = res.get_forecast(int(st.max()))
        mean = np.asarray(fc.predicted_mean)[st - 1]
        ci = np.asarray(fc.conf_int(alpha=ALPHA))[st - 1]
    low, high = ci[:, 0], ci[:, 1]
    return Its(float(np.mean(ya - mean)), float(np.mean(ya - high)), float(np.mean(ya - low)), mean, low, high)


def its_estimate(i: Its, scale: float = 1.0) -> Estimate:
    """The ITS effect in the window's units, se from the interval's half-width, p from the normal."""
    se = (i.ci_high - i.ci_low) / (2 * float(stats.norm.ppf(1 - ALPHA / 2))) * scale
    e = _estimate(i.effect * scale, se, None)
    return Estimate(e.effect, e.se, i.ci_low * scale, i.ci_high * scale, e.p_value)


def _resampled_sums(rng: np.random.Generator, before: np.ndarray, after: np.ndarray,
                    b: int) -> tuple[np.ndarray, np.ndarray]:
    """Sums of before and after over b resamples (with replacement) of the customers."""
    n = len(before)
    if n == 0:
        return np.zeros(b), np.zeros(b)
    if n > BOOTSTRAP_EXACT_MAX:
        pairs = np.column_stack([before, after])
        mu = pairs.mean(axis=0) * n
        cov = np.cov(pairs, rowvar=False) * n
        s = rng.multivariate_normal(mu, cov, size=b, method="cholesky" if np.all(np.linalg.eigvalsh(cov) > 0)
                                    else "eigh")
        return s[:, 0], s[:, 1]
    out_b, out_a = np.empty(b), np.empty(b)
    chunk = max(1, 2_000_000 // n)  # an index matrix of at most ~2M entries at a time
    for i in range(0, b, chunk):
        k = min(chunk, b - i)
        idx = rng.integers(0, n, size=(k, n))
        out_b[i:i + k] = before[idx].sum(axis=1)
        out_a[i:i + k] = after[idx].sum(axis=1)
    return out_b, out_a


def bootstrap_revenue(treated_before: np.ndarray, treated_after: np.ndarray,
                      control_before: np.ndarray | None, control_after: np.ndarray | None,
                      *, annual_factor: float, margin: float, cost: float | None,
                      resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                      ) -> tuple[float | None, float | None, float | None, float | None]:
    """95 % percentile intervals of incremental revenue and first-year ROI from a bootstrap over
    customers: each customer's (before, after) revenue pair is resampled within treated and within
    control (999 resamples, fixed seed). Incremental revenue per resample = ΣA_t − ΣB_t × ΣA_c ÷ ΣB_c
    (ΣA_t − ΣB_t without control); ROI = (inc × annual_factor × margin − cost) ÷ cost.
    Returns (inc_low, inc_high, roi_low, roi_high); None where not defined."""
    rng = np.random.default_rng(seed)
    tb, ta = _resampled_sums(rng, np.asarray(treated_before, float), np.asarray(treated_after, float), resamples)
    if control_before is None or control_after is None:
        inc = ta - tb
    else:
        cb, ca = _resampled_sums(rng, np.asarray(control_before, float), np.asarray(control_after, float), resamples)
        with np.errstate(divide="ignore", invalid="ignore"):
            inc = ta - tb * np.where(cb != 0, ca / np.where(cb != 0, cb, 1.0), np.nan)
    inc = inc[np.isfinite(inc)]
    if inc.size < resamples // 2:
        return None, None, None, None
    lo, hi = (float(v) for v in np.percentile(inc, [2.5, 97.5]))
    if cost is None or cost == 0:
        return lo, hi, None, None
    roi = (inc * annual_factor * margin - cost) / cost
    rlo, rhi = (float(v) for v in np.percentile(roi, [2.5, 97.5]))
    return lo, hi, rlo, rhi


def verdict(*, provisional: bool, pre_trend_p: float | None, placebo_p: float | None,
            significant: bool | None, effect: float | None, better: str | None) -> str | None:
    """provisional · doubtful · improved / worsened · no detectable effect (strategy.md), in that
    order of precedence; None when there is no effect to judge. A significant change of a KPI with no
    better direction (neutral) is reported as "no detectable effect" only when not significant; when
    significant its direction is not a judgement, so the verdict says "changed"."""
    if effect is None or significant is None:
        return "provisional" if provisional else None
    if provisional:
        return "provisional"
    if (pre_trend_p is not None and pre_trend_p < ALPHA) or (placebo_p is not None and placebo_p < ALPHA):
        return "doubtful"
    if not significant:
        return "no detectable effect"
    if better == "higher":
        return "improved" if effect > 0 else "worsened"
    if better == "lower":
        return "improved" if effect < 0 else "worsened"
    return "changed"


__all__ = [
    "Estimate", "Its", "did_units", "classic_se", "did_weekly", "hac_mean_shift", "pre_trend", "its",
    "its_estimate", "bootstrap_revenue", "verdict", "VERDICTS", "ALPHA", "HAC_LAGS", "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED", "MIN_WEEKS", "MIN_WEEKS_ITS", "UncertaintyMethod",
]
