"""The forecasts' model (foresight.md): an ETS fit on a KPI's history and its simulated paths.

    simulate(history, steps, grain) -> (paths: repetitions x steps, method text)

statsmodels is imported on the first fit (it is slow to import). A series already simulated with
the same horizon is not fitted again (the seed is fixed, so the answer is the same).
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

SEED = 15
REPETITIONS = 1000
MIN_POINTS = 6
SEASON = {"month": 12, "week": 52}
CALIBRATION_ORIGINS = 2  # refits per forecast to measure out-of-sample errors (cost: 2 small fits)


# Simulations by series: two goals on the same KPI and scope (an annual goal and a half-year goal in
# progress, or the same goal listed under two windows) have the same history and horizon; the fit
# and the simulation are deterministic (fixed seed), so the second one is a copy of the first.
_SIMULATED: dict[tuple[Any, ...], tuple[np.ndarray, str]] = {}
_SIMULATED_MAX = 256


def simulate(history: np.ndarray, steps: int, grain: str, seed: int = SEED,
             repetitions: int = REPETITIONS) -> tuple[np.ndarray, str]:
    """Simulated future paths (repetitions x steps) from an ETS fit on ``history``, and the method."""
    y = np.asarray(history, dtype="float64")
    key = (y.tobytes(), steps, grain, seed, repetitions)
    hit = _SIMULATED.get(key)
    if hit is None:
        if len(_SIMULATED) >= _SIMULATED_MAX:
            _SIMULATED.clear()
        hit = _SIMULATED[key] = _simulate(y, steps, grain, seed, repetitions)
    return hit[0].copy(), hit[1]


def _simulate(y: np.ndarray, steps: int, grain: str, seed: int, repetitions: int) -> tuple[np.ndarray, str]:
    unit = "monthly" if grain == "month" else "weekly"
    if steps <= 0:
        return np.zeros((repetitions, 0)), f"ETS damped trend, {unit}, {len(y)} points"
    if np.ptp(y) == 0:
        return np.full((repetitions, steps), y[-1]), f"constant history, {unit}, {len(y)} points"
    seasonal = len(y) >= 2 * SEASON[grain]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = _model(y, grain).fit(disp=False)
        paths = fit.simulate(steps, anchor="end", repetitions=repetitions, rng=np.random.default_rng(seed))
    paths = np.asarray(paths, dtype="float64").reshape(steps, repetitions).T
    paths = _calibrated(fit, y, paths, grain)
    name = "ETS damped trend + additive seasonality" if seasonal else "ETS damped trend"
    return paths, f"{name}, {unit}, {len(y)} points"


def _model(y: np.ndarray, grain: str) -> Any:
    """ETS: additive errors, additive damped trend; additive seasonality with two full seasons."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel  # lazy: statsmodels is slow to import
    season = SEASON[grain]
    seasonal = len(y) >= 2 * season
    return ETSModel(y, error="add", trend="add", damped_trend=True,
                    seasonal="add" if seasonal else None, seasonal_periods=season if seasonal else None)


def _calibrated(fit: Any, y: np.ndarray, paths: np.ndarray, grain: str) -> np.ndarray:
    """Widen the paths when the model's own multi-step errors on the history are larger than its
    simulated spread (never narrow them).

    The simulation alone only knows the one-step noise of the fitted parameters; on short histories
    the fit often puts the level's smoothing at 0 and ignores that the level wanders, so its 80 %
    interval covered about half the outcomes in the backtest. Here, from every origin t of the history
    (with at least MIN_POINTS points before it), the model's point path over the next h steps (the
    simulation from the state at t with zero errors) is compared with what happened; the ratio of
    the root mean square error of the h-step mean to the simulated spread of that mean scales the
    paths' deviations from their median."""
    steps = paths.shape[1]
    n, k = len(y), len(fit.params)
    dof = math.sqrt(n / max(1, n - k))  # unbiased error variance: n / (n - k) times the MLE's
    errors = []
    for t in list(range(MIN_POINTS - 1, n - steps))[-CALIBRATION_ORIGINS:]:
        # refitted on y[0..t] only: the error of a forecast made without knowing what came next
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            past = _model(y[:t + 1], grain).fit(disp=False)
            point = past.simulate(steps, anchor="end", repetitions=1, random_errors=np.zeros((steps, 1)))
        errors.append(float(np.mean(y[t + 1:t + 1 + steps]) - np.mean(np.asarray(point, dtype="float64"))))
    spread = float(np.std(paths.mean(axis=1)))
    insample = math.sqrt(float(np.mean(np.square(errors)))) / spread if len(errors) >= 2 and spread > 0 else 0.0
    scale = max(dof, insample)
    if scale <= 1:
        return paths
    centre = np.median(paths, axis=0)
    return centre + (paths - centre) * scale


def clear_simulations() -> None:
    """Forget the remembered simulations (a test that wants to fit again)."""
    _SIMULATED.clear()


__all__ = ["simulate", "clear_simulations", "SEED", "REPETITIONS", "MIN_POINTS", "SEASON", "CALIBRATION_ORIGINS"]
