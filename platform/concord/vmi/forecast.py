"""Weekly demand forecasts for vendor-managed inventory: one model chosen per series on a
holdout, then refitted on the whole history.

Input: a weekly consumption history per item and location (quantities, oldest first, at least
`MIN_HISTORY` weeks, none negative) and a horizon in weeks. Output: a `Forecast` with the model
that won, a point forecast per future week, 80 % and 95 % prediction intervals, the standard
deviation of the forecast error per week ahead and of the error summed over the weeks up to
each (for safety stock, see `policy.py` and `_spread`) and the holdout accuracy of every
candidate.

Candidates, in this order (ties on the holdout go to the earlier, simpler one, except for
intermittent series, see `_choose`):

- ``seasonal_naive`` (the baseline when the history allows a season: the same week a year
  before), else ``naive`` (the last week);
- ``ses``: exponential smoothing, ETS(A,N,N);
- ``holt``: exponential smoothing with a (damped) trend, ETS(A,Ad,N), damping 1 included;
- ``holt_winters``: ETS(A,Ad,A) with an additive season of `season_length` weeks, its first
  season's profile smoothed over neighbouring weeks (a two-year weekly history leaves too few
  points to estimate 52 free seasonal states);
- ``croston`` (Syntetos-Boylan approximation) and ``tsb`` (Teunter-Syntetos-Babai) for
  intermittent demand.

Which candidates compete: series whose average inter-demand interval exceeds 1.32 weeks
(Syntetos-Boylan's cut-off, roughly a quarter of the weeks or more without consumption) are
intermittent: the baseline, ``croston`` and ``tsb``; the others: the baseline, ``ses``,
``holt`` and, when the training part spans a season and `SEASONAL_MARGIN` more weeks,
``holt_winters``. The smoothing parameters of each candidate are chosen per series on a fixed
grid by the sum of squared one-step errors; the candidate is chosen on the last
``min(horizon, len(history) // 3)`` weeks (the holdout) by its root mean squared error (the
error that safety stock is made of: a mean absolute error would reward forecasting zero for
intermittent demand); the winner is then refitted on the whole history. Every score is of the
forecast as served, clipped at zero. Accuracy shown per candidate: MASE, its holdout mean
absolute error over the in-sample mean absolute error of the baseline that competed (seasonal
naive, season of `season_length` weeks, when the training part spans a season and
`SEASONAL_MARGIN` more weeks, else naive), and bias, the mean error (forecast - actual, so
positive means over-forecast) over the mean actual. A history shorter than `MIN_HISTORY` weeks raises
`HistoryTooShort` (a ValueError) rather than falling back silently.

Why numpy and not statsforecast or statsmodels (measured on this 2-core machine, 200 synthetic
104-week series, 91 weeks fitted, 13 forecast):

- statsforecast 2.1.1 no longer uses numba (its models are C++ now): no compile step, but
  ``import statsforecast.models`` takes 2.5-5 s (pandas, scipy, statsmodels, fugue) and its
  dependencies add about 430 MB (pyarrow 170 MB, scipy 113 MB, pandas 79 MB, statsmodels
  65 MB). Per series: AutoETS(season_length=52) 120 ms (it drops seasons longer than 24
  anyway and fits ETS(A,Ad,N)), AutoETS("ZZN") 14 ms, fixed ETS(A,Ad,N) 3 ms, MSTL+ETS 31 ms.
  statsforecast 1.7.8 (numba 0.68.1): import 1.9-2.7 s, first fit 0.5-0.7 s with numba's cache
  as it ships, AutoETS("ZZN") 5-6.5 ms per series. A candidate set fitted twice per series
  (holdout, refit) is 50-100 ms per series: 10,000 series take minutes on 2 cores.
- statsmodels 0.15.0: ``import statsmodels.tsa.holtwinters`` 1.2-1.9 s, ExponentialSmoothing
  27-90 ms per fit without a season, 440 ms with a 52-week season (and it refuses one on 91
  weeks: fewer than two full seasons), and it has no Croston or TSB.
- These recursions are a few lines each, vectorised here over series and over the parameter
  grid at once (numpy only, imported in 0.15 s): bench/vmi.py forecasts 10,000 series with
  every candidate in seconds. The smoothing recursions are checked against statsmodels with
  the same parameters in tests/vmi.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from enum import StrEnum

import numpy as np

MIN_HISTORY = 12
"""Fewest weeks of history a forecast is made from (a third of them is the holdout)."""
SEASON_LENGTH = 52
SEASONAL_MARGIN = 8
"""Weeks beyond one season the training part needs before seasonal candidates compete."""
INTERMITTENT_ADI = 1.32
"""Average inter-demand interval (weeks) above which a series counts as intermittent."""
CHUNK = 1024
"""Series fitted together: bounds the memory of the (series x grid x season) states."""
Z80, Z95 = 1.2815515655446004, 1.959963984540054
MAX_QUANTITY = Decimal(10) ** 12
"""Largest quantity accepted (a week's consumption, stock, an order). Together with
`MIN_QUANTUM` and `MAX_HORIZON` it keeps every quantity computed from the inputs, forecasts,
intervals and stock projections included, well inside Decimal's 28 significant digits."""
MIN_QUANTUM = Decimal("0.000001")
"""Finest rounding step for quantities."""
MAX_HORIZON = 520
"""Longest forecast horizon, in weeks (ten years)."""


class Model(StrEnum):
    SEASONAL_NAIVE = "seasonal_naive"
    NAIVE = "naive"
    SES = "ses"
    HOLT = "holt"
    HOLT_WINTERS = "holt_winters"
    CROSTON = "croston"
    TSB = "tsb"


CANDIDATES = tuple(Model)
_INDEX = {model: i for i, model in enumerate(CANDIDATES)}


class HistoryTooShort(ValueError):
    """The history has fewer weeks than a forecast needs."""


class QuantityOutOfRange(ValueError):
    """A quantity is above `MAX_QUANTITY` (or not a finite number)."""


def check_quantity(value: Decimal | int | float, what: str) -> float:
    """`value` as a float, refused above `MAX_QUANTITY` before any arithmetic on it (a larger
    one would overflow Decimal's 28 significant digits once rounded to a quantum)."""
    number = float(value)
    if not math.isfinite(number):
        raise QuantityOutOfRange(f"{what}: {value} is not a finite quantity")
    if abs(number) > float(MAX_QUANTITY):
        raise QuantityOutOfRange(f"{what}: {value} is above the maximum quantity of {MAX_QUANTITY}")
    return number


def check_quantum(quantum: Decimal) -> None:
    if not MIN_QUANTUM <= quantum <= MAX_QUANTITY:
        raise ValueError(f"the quantum must be between {MIN_QUANTUM} and {MAX_QUANTITY}, got {quantum}")


@dataclass(frozen=True)
class Score:
    """One candidate's accuracy on the holdout. `mase` is None when the scale is zero (a
    constant history) and the candidate missed; `bias` is None when nothing was consumed."""

    model: Model
    mase: float | None
    bias: float | None
    rmse: float


@dataclass(frozen=True)
class Forecast:
    model: Model
    point: tuple[Decimal, ...]
    lower_80: tuple[Decimal, ...]
    upper_80: tuple[Decimal, ...]
    lower_95: tuple[Decimal, ...]
    upper_95: tuple[Decimal, ...]
    sigma: tuple[float, ...]
    """Standard deviation of the forecast error per week ahead, in quantity units."""
    cumulative_sigma: tuple[float, ...]
    """Standard deviation of the error summed over weeks 1 .. k ahead, for k = 1 .. horizon:
    what safety stock over a lead time is made of. The weekly errors of one forecast are
    correlated (a level that is off stays off), so it exceeds the root of the summed
    variances."""
    rate: tuple[float, ...]
    """The point forecast before rounding (not below zero): what replenishment plans with, so
    that a slow mover's 0.3 a week is not planned as 0."""
    scores: tuple[Score, ...]
    """Every candidate that competed, in candidate order, on the same holdout."""
    holdout: int
    season_length: int
    """The season MASE was scaled with: `season_length` when the history allows, else 1."""

    @property
    def winner(self) -> Score:
        return next(score for score in self.scores if score.model == self.model)

    @property
    def horizon(self) -> int:
        return len(self.point)


@dataclass(frozen=True)
class BatchArrays:
    """The batch engine's float results, before rounding (what bench/vmi.py measures)."""

    model: np.ndarray  # (series,) index into CANDIDATES
    point: np.ndarray  # (series, horizon)
    sigma: np.ndarray  # (series, horizon)
    cumulative: np.ndarray  # (series, horizon) sigma of the error summed over weeks 1 .. k
    mase: np.ndarray  # (series, candidates), nan where not competing or undefined
    bias: np.ndarray  # (series, candidates)
    rmse: np.ndarray  # (series, candidates), inf where not competing
    holdout: np.ndarray  # (series,)
    season: np.ndarray  # (series,) season length MASE used


def forecast(history: Sequence[Decimal | int | float], horizon: int, *, season_length: int = SEASON_LENGTH, quantum: Decimal = Decimal(1)) -> Forecast:
    """Forecast one weekly series `horizon` weeks ahead; quantities rounded to `quantum`."""
    return forecast_batch([history], horizon, season_length=season_length, quantum=quantum)[0]


def forecast_batch(
    histories: Sequence[Sequence[Decimal | int | float]], horizon: int, *, season_length: int = SEASON_LENGTH, quantum: Decimal = Decimal(1)
) -> list[Forecast]:
    """Forecast many series at once (series of equal length are fitted together)."""
    check_quantum(quantum)
    arrays = forecast_arrays(histories, horizon, season_length=season_length)
    return [_to_forecast(arrays, i, quantum) for i in range(len(histories))]


def forecast_arrays(histories: Sequence[Sequence[Decimal | int | float]], horizon: int, *, season_length: int = SEASON_LENGTH) -> BatchArrays:
    if not 1 <= horizon <= MAX_HORIZON:
        raise ValueError(f"the horizon must be from one to {MAX_HORIZON} weeks, got {horizon}")
    if season_length < 2:
        raise ValueError(f"the season length must be at least 2 weeks, got {season_length}")
    rows = [_as_floats(history, n) for n, history in enumerate(histories)]
    count, candidates = len(rows), len(CANDIDATES)
    out = BatchArrays(
        model=np.zeros(count, dtype=np.int64),
        point=np.zeros((count, horizon)),
        sigma=np.zeros((count, horizon)),
        cumulative=np.zeros((count, horizon)),
        mase=np.full((count, candidates), np.nan),
        bias=np.full((count, candidates), np.nan),
        rmse=np.full((count, candidates), np.inf),
        holdout=np.zeros(count, dtype=np.int64),
        season=np.zeros(count, dtype=np.int64),
    )
    by_length: dict[int, list[int]] = {}
    for n, row in enumerate(rows):
        by_length.setdefault(len(row), []).append(n)
    for _length, members in sorted(by_length.items()):
        for start in range(0, len(members), CHUNK):
            index = np.array(members[start : start + CHUNK])
            _fit_group(np.stack([rows[i] for i in index]), horizon, season_length, index, out)
    return out


def _as_floats(history: Sequence[Decimal | int | float], n: int) -> np.ndarray:
    values = np.array([float(quantity) for quantity in history], dtype=float)
    out_of_range = np.flatnonzero(~(np.abs(values) <= float(MAX_QUANTITY)))  # checked at once, before any arithmetic
    if len(out_of_range):
        week = int(out_of_range[0])
        check_quantity(history[week], f"series {n}, week {week + 1}")  # raises, with the quantity as given
    if len(values) < MIN_HISTORY:
        raise HistoryTooShort(f"series {n}: a forecast needs at least {MIN_HISTORY} weeks of history, got {len(values)}")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"series {n}: consumption quantities must be finite and not negative")
    return values


def _fit_group(Y: np.ndarray, horizon: int, season_length: int, index: np.ndarray, out: BatchArrays) -> None:
    length = Y.shape[1]
    holdout = min(horizon, length // 3)
    train, actual = Y[:, :-holdout], Y[:, -holdout:]
    seasonal = train.shape[1] >= season_length + SEASONAL_MARGIN
    m = season_length if seasonal else 1
    eligible, intermittent = _eligible(train, seasonal)
    tested = _all_candidates(train, holdout, season_length if seasonal else None)
    # Scored as served: the forecast is clipped at zero before anyone sees or plans with it.
    errors = np.maximum(tested[0], 0.0) - actual[None, :, :]  # (candidates, series, holdout)
    rmse = np.sqrt(np.mean(errors**2, axis=2)).T
    rmse = np.where(eligible, rmse, np.inf)
    choice = _choose(rmse, intermittent)
    scale = np.mean(np.abs(train[:, m:] - train[:, :-m]), axis=1) if train.shape[1] > m else np.zeros(len(Y))
    mae = np.mean(np.abs(errors), axis=2).T
    with np.errstate(divide="ignore", invalid="ignore"):
        mase = np.where(scale[:, None] > 0, mae / scale[:, None], np.where(mae == 0, 0.0, np.nan))
        mean_actual = actual.mean(axis=1)
        bias = np.where(mean_actual[:, None] > 0, np.mean(errors, axis=2).T / mean_actual[:, None], np.nan)
    full = _all_candidates(Y, horizon, season_length if seasonal else None)
    rows = np.arange(len(Y))
    out.model[index] = choice
    out.point[index] = np.maximum(full[0][choice, rows], 0.0)
    out.sigma[index] = full[1][choice, rows]
    out.cumulative[index] = full[2][choice, rows]
    out.mase[index] = np.where(eligible, mase, np.nan)
    out.bias[index] = np.where(eligible, bias, np.nan)
    out.rmse[index] = rmse
    out.holdout[index] = holdout
    out.season[index] = m


TIE = 1e-9
"""Relative difference of holdout RMSE within which candidates tie."""
_SMOOTH_RANK = np.arange(len(CANDIDATES))
_INTERMITTENT_FIRST = [Model.CROSTON, Model.TSB] + [model for model in CANDIDATES if model not in (Model.CROSTON, Model.TSB)]
_INTERMITTENT_RANK = np.array([_INTERMITTENT_FIRST.index(model) for model in CANDIDATES])


def _choose(rmse: np.ndarray, intermittent: np.ndarray) -> np.ndarray:
    """The candidate per series with the least holdout RMSE. Ties go to the earlier, simpler
    candidate, except for intermittent series: there Croston, then TSB, win ties with the
    baseline. An all-zero training part or holdout ties every candidate, and the baseline would
    then repeat one late spike every week (naive) or a year later (seasonal naive), where the
    intermittent models spread it over the weeks between demands."""
    tied = np.isclose(rmse, rmse.min(axis=1, keepdims=True), rtol=TIE, atol=0.0)
    rank = np.where(intermittent[:, None], _INTERMITTENT_RANK[None, :], _SMOOTH_RANK[None, :])
    return np.argmin(np.where(tied, rank, len(CANDIDATES)), axis=1)


def _eligible(train: np.ndarray, seasonal: bool) -> tuple[np.ndarray, np.ndarray]:
    demands = np.count_nonzero(train, axis=1)
    with np.errstate(divide="ignore"):
        intermittent = train.shape[1] / np.maximum(demands, 0) > INTERMITTENT_ADI
    eligible = np.zeros((len(train), len(CANDIDATES)), dtype=bool)
    eligible[:, _INDEX[Model.SEASONAL_NAIVE]] = seasonal
    eligible[:, _INDEX[Model.NAIVE]] = not seasonal
    for model in (Model.SES, Model.HOLT):
        eligible[:, _INDEX[model]] = ~intermittent
    eligible[:, _INDEX[Model.HOLT_WINTERS]] = ~intermittent & seasonal
    for model in (Model.CROSTON, Model.TSB):
        eligible[:, _INDEX[model]] = intermittent
    return eligible, intermittent


def _all_candidates(Y: np.ndarray, h: int, season: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point forecasts, error standard deviations per week and of the error summed up to each
    week, of every candidate, each (candidates, series, h); a candidate that cannot run on this
    group (no season) repeats the naive one."""
    naive = _naive(Y, h)
    results = {
        Model.NAIVE: naive,
        Model.SEASONAL_NAIVE: _seasonal_naive(Y, h, season) if season else naive,
        Model.SES: _ets(Y, h, SES_GRID),
        Model.HOLT: _ets(Y, h, HOLT_GRID),
        Model.HOLT_WINTERS: _ets(Y, h, HW_GRID, season) if season else naive,
        Model.CROSTON: _croston(Y, h),
        Model.TSB: _tsb(Y, h),
    }
    point, sigma, summed = (np.stack([results[model][k] for model in CANDIDATES]) for k in range(3))
    return point, sigma, summed


Spread = tuple[np.ndarray, np.ndarray, np.ndarray]
"""Point forecast, error sigma per week ahead, sigma of the error summed over weeks 1 .. k."""


def _spread(point: np.ndarray, sigma: np.ndarray, c: np.ndarray) -> Spread:
    """The error spread of a linear innovations model (Hyndman, Koehler, Ord & Snyder 2008,
    ch. 6, class 1): the error k weeks ahead is e_k + c_1 e_(k-1) + ... + c_(k-1) e_1 with
    independent one-step errors e of sigma `sigma` (series,), c (series, h - 1). So the
    variance k weeks ahead is sigma^2 (1 + c_1^2 + ... + c_(k-1)^2), and that of the error
    summed over weeks 1 .. k (the lead-time demand's) sigma^2 sum_(r < k) (1 + c_1 + ... + c_r)^2:
    one innovation moves every later week's forecast error the same way.

    Every candidate is such a model, so each uses its own analytic c rather than sums of
    overlapping k-week residuals (about a hundred weeks hold few independent 13-week windows,
    and those sums would need in-sample multi-step forecasts of each grid winner): ETS its
    smoothing parameters, naive is the random walk (ETS(A,N,N) at alpha 1, c = 1), seasonal
    naive the seasonal random walk (c = 1 every m weeks), Croston and TSB the simple exponential
    smoothing of their demand rate (c = alpha; for i.i.d. demand this slightly overstates)."""
    reach = np.concatenate([np.zeros((len(c), 1)), np.cumsum(c, axis=1)], axis=1)
    weekly = 1.0 + np.concatenate([np.zeros((len(c), 1)), np.cumsum(c**2, axis=1)], axis=1)
    summed = np.cumsum((1.0 + reach) ** 2, axis=1)
    return point, sigma[:, None] * np.sqrt(weekly), sigma[:, None] * np.sqrt(summed)


def _residual_sigma(errors: np.ndarray) -> np.ndarray:
    """Root mean square of one-step errors (series x steps)."""
    return np.sqrt(np.mean(errors**2, axis=1))


def _naive(Y: np.ndarray, h: int) -> Spread:
    """The last week, with its error summed over k weeks measured in-sample where the history
    holds at least k windows of k weeks (the naive forecast from every past week costs nothing):
    the random walk's analytic sum overstates it some 1.7-fold on a level series with noise,
    where naive still wins a holdout now and then. Beyond, the random walk's growth."""
    length = Y.shape[1]
    point, weekly, summed = _spread(np.repeat(Y[:, -1:], h, axis=1), _residual_sigma(np.diff(Y, axis=1)), np.ones((len(Y), h - 1)))
    reach = min(h, (length - 1) // 2)
    totals = np.concatenate([np.zeros((len(Y), 1)), np.cumsum(Y, axis=1)], axis=1)
    measured = np.stack([_residual_sigma(totals[:, k + 1 :] - totals[:, 1:-k] - k * Y[:, : length - k]) for k in range(1, reach + 1)], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.where(summed[:, reach - 1 : reach] > 0, summed[:, reach - 1 :] / summed[:, reach - 1 : reach], 1.0)
    return point, weekly, np.concatenate([measured, measured[:, -1:] * growth[:, 1:]], axis=1)


def _seasonal_naive(Y: np.ndarray, h: int, m: int) -> Spread:
    point = Y[:, -m:][:, np.arange(h) % m]
    c = np.repeat((np.arange(1, h) % m == 0)[None, :].astype(float), len(Y), axis=0)
    return _spread(point, _residual_sigma(Y[:, m:] - Y[:, :-m]), c)


def _grid(**axes: Sequence[float]) -> np.ndarray:
    """Rows (alpha, beta, gamma, phi) of every combination with beta <= alpha."""
    rows = [combo for combo in itertools.product(axes["alpha"], axes["beta"], axes["gamma"], axes["phi"]) if combo[1] <= combo[0]]
    return np.array(rows, dtype=float)


SES_GRID = _grid(alpha=[0.02 * k for k in range(1, 51)], beta=[0.0], gamma=[0.0], phi=[1.0])
HOLT_GRID = _grid(alpha=[0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9], beta=[0.005, 0.02, 0.05, 0.1, 0.2], gamma=[0.0], phi=[0.9, 0.98, 1.0])
HW_GRID = _grid(alpha=[0.05, 0.1, 0.2, 0.4], beta=[0.0, 0.01, 0.03], gamma=[0.0, 0.1, 0.3], phi=[0.98, 1.0])
SMOOTHING = np.array([1.0, 2.0, 3.0, 2.0, 1.0]) / 9.0
"""Circular weights a first season's profile is smoothed with (two weeks either side)."""


def _ets(Y: np.ndarray, h: int, grid: np.ndarray, m: int | None = None) -> Spread:
    """Additive error-correction ETS, every series x every grid row at once:
    forecast = level + phi * trend + season; level += phi * trend + alpha * e;
    trend = phi * trend + beta * e; season += gamma * e. The best row per series (least
    squared one-step error, the first season excluded when seasonal) makes the forecast."""
    series, length = Y.shape
    alpha, beta, gamma, phi = (grid[:, k][None, :] for k in range(4))
    if m:  # trend from the average seasonal difference, level and profile from the first season
        slope = (Y[:, m:] - Y[:, :-m]).mean(axis=1) / m
        intercept = Y[:, :m].mean(axis=1) - slope * (m - 1) / 2
    elif np.any(grid[:, 1] > 0):  # trend and level from a line through the first weeks
        first = min(length, 12)
        slope, intercept = np.polyfit(np.arange(first, dtype=float), Y[:, :first].T, 1)
    else:
        slope, intercept = np.zeros(series), Y[:, : min(length, 12)].mean(axis=1)
    level = np.repeat((intercept - slope)[:, None], len(grid), axis=1)
    trend = np.repeat(slope[:, None], len(grid), axis=1)
    season_state = None  # (m, series, grid): the week's slice is contiguous
    if m:
        profile = Y[:, :m] - (intercept[:, None] + slope[:, None] * np.arange(m)[None, :])
        wrapped = np.concatenate([profile[:, -2:], profile, profile[:, :2]], axis=1)
        profile = sum(weight * wrapped[:, k : k + m] for k, weight in enumerate(SMOOTHING))
        profile = profile - profile.mean(axis=1, keepdims=True)
        season_state = np.repeat(profile.T[:, :, None], len(grid), axis=2)
    start = m or 0
    sse = np.zeros((series, len(grid)))
    for t in range(length):
        seasonal = season_state[t % m] if season_state is not None and m else 0.0
        error = Y[:, t : t + 1] - (level + phi * trend + seasonal)
        if t >= start:
            sse += error**2
        level = level + phi * trend + alpha * error
        trend = phi * trend + beta * error
        if season_state is not None and m:
            season_state[t % m] += gamma * error
    best = np.argmin(sse, axis=1)
    rows = np.arange(series)
    level, trend, params = level[rows, best], trend[rows, best], grid[best]
    damping = np.cumsum(params[:, 3:4] ** np.arange(1, h + 1)[None, :], axis=1)  # phi + ... + phi^j
    point = level[:, None] + trend[:, None] * damping
    if season_state is not None and m:
        point = point + season_state[(length + np.arange(h)) % m][:, rows, best].T
    sigma = np.sqrt(sse[rows, best] / max(length - start, 1))
    # Hyndman et al. (2008), class 1: c_j = alpha + beta (phi + ... + phi^j) + gamma [j = 0 mod m]
    c = params[:, 0:1] + params[:, 1:2] * damping[:, : h - 1]
    if m:
        c = c + params[:, 2:3] * ((np.arange(1, h) % m) == 0)[None, :]
    return _spread(point, sigma, c)


CROSTON_ALPHAS = np.array([0.05, 0.1, 0.15, 0.2, 0.3])
TSB_GRID = np.array(list(itertools.product([0.05, 0.1, 0.2, 0.3], [0.02, 0.05, 0.1, 0.2, 0.3])), dtype=float)


def _intermittent_start(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean non-zero demand and share of weeks with demand, per series."""
    demands = np.count_nonzero(Y, axis=1)
    size = np.where(demands > 0, Y.sum(axis=1) / np.maximum(demands, 1), 0.0)
    return size, demands / Y.shape[1]


def _flat(forecast_rows: np.ndarray, sse: np.ndarray, alpha: np.ndarray, length: int, h: int) -> Spread:
    """A flat forecast with the error growth of simple exponential smoothing at `alpha`."""
    sigma = np.sqrt(sse / max(length - 1, 1))
    return _spread(np.repeat(forecast_rows[:, None], h, axis=1), sigma, np.repeat(alpha[:, None], h - 1, axis=1))


def _croston(Y: np.ndarray, h: int) -> Spread:
    """Croston with the Syntetos-Boylan correction: size and interval smoothed at each demand;
    forecast (1 - alpha / 2) * size / interval."""
    series, length = Y.shape
    size0, share = _intermittent_start(Y)
    alpha = CROSTON_ALPHAS[None, :]
    size = np.repeat(size0[:, None], len(CROSTON_ALPHAS), axis=1)
    interval = np.repeat((1.0 / np.maximum(share, 1.0 / length))[:, None], len(CROSTON_ALPHAS), axis=1)
    since = np.ones((series, 1))
    sse = np.zeros_like(size)
    correction = 1.0 - alpha / 2.0
    for t in range(length):
        y = Y[:, t : t + 1]
        if t > 0:
            sse += (y - correction * size / interval) ** 2
        demand = y > 0
        size = np.where(demand, size + alpha * (y - size), size)
        interval = np.where(demand, interval + alpha * (since - interval), interval)
        since = np.where(demand, 1.0, since + 1.0)
    best = np.argmin(sse, axis=1)
    rows = np.arange(series)
    point = (correction * size / interval)[rows, best]
    return _flat(point, sse[rows, best], CROSTON_ALPHAS[best], length, h)


def _tsb(Y: np.ndarray, h: int) -> Spread:
    """Teunter-Syntetos-Babai: the probability of a demand is smoothed every week (towards 1
    or 0), the size at each demand; forecast probability * size (it decays when demand stops)."""
    series, length = Y.shape
    size0, share = _intermittent_start(Y)
    alpha_size, alpha_chance = TSB_GRID[:, 0][None, :], TSB_GRID[:, 1][None, :]
    size = np.repeat(size0[:, None], len(TSB_GRID), axis=1)
    chance = np.repeat(share[:, None], len(TSB_GRID), axis=1)
    sse = np.zeros_like(size)
    for t in range(length):
        y = Y[:, t : t + 1]
        if t > 0:
            sse += (y - chance * size) ** 2
        demand = y > 0
        size = np.where(demand, size + alpha_size * (y - size), size)
        chance = chance + alpha_chance * (demand - chance)
    best = np.argmin(sse, axis=1)
    rows = np.arange(series)
    return _flat((chance * size)[rows, best], sse[rows, best], TSB_GRID[best, 1], length, h)


def _to_forecast(arrays: BatchArrays, i: int, quantum: Decimal) -> Forecast:
    point, sigma = arrays.point[i], arrays.sigma[i]
    scores = tuple(
        Score(model, _finite(arrays.mase[i, k]), _finite(arrays.bias[i, k]), float(arrays.rmse[i, k]))
        for k, model in enumerate(CANDIDATES)
        if np.isfinite(arrays.rmse[i, k])
    )
    return Forecast(
        model=CANDIDATES[int(arrays.model[i])],
        point=_quantities(point, quantum, ROUND_HALF_EVEN),
        lower_80=_quantities(point - Z80 * sigma, quantum, ROUND_FLOOR),
        upper_80=_quantities(point + Z80 * sigma, quantum, ROUND_CEILING),
        lower_95=_quantities(point - Z95 * sigma, quantum, ROUND_FLOOR),
        upper_95=_quantities(point + Z95 * sigma, quantum, ROUND_CEILING),
        sigma=tuple(float(value) for value in sigma),
        cumulative_sigma=tuple(float(value) for value in arrays.cumulative[i]),
        rate=tuple(max(float(value), 0.0) for value in point),
        scores=scores,
        holdout=int(arrays.holdout[i]),
        season_length=int(arrays.season[i]),
    )


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _quantities(values: np.ndarray, quantum: Decimal, rounding: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(repr(max(float(value), 0.0))).quantize(quantum, rounding=rounding) for value in values)
