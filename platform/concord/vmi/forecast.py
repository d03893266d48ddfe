"""Weekly demand forecasts for vendor-managed inventory: one model chosen per series on a
holdout, then refitted on the whole history. The models are statsforecast's; this module
chooses between them, scores them and derives the error spread safety stock is made of.

Input: a weekly consumption history per item and location (quantities, oldest first, at least
`MIN_HISTORY` weeks, none negative) and a horizon in weeks. Output: a `Forecast` with the model
that won, a point forecast per future week, 80 % and 95 % prediction intervals, the standard
deviation of the forecast error per week ahead and of the error summed over the weeks up to
each (for safety stock, see `policy.py` and `_spread`) and the holdout accuracy of every
candidate.

Candidates, in this order (ties on the holdout go to the earlier, simpler one, except for
intermittent series, see `_ranked`), each a statsforecast model:

- ``seasonal_naive`` (`SeasonalNaive`, the baseline when the history allows a season: the same
  week a year before), else ``naive`` (`Naive`, the last week);
- ``ses``: simple exponential smoothing, `AutoETS` ETS(A,N,N), alpha by maximum likelihood;
- ``holt``: exponential smoothing with a trend, `AutoETS` ETS(A,A,N) or ETS(A,Ad,N), damped or
  not by AICc;
- ``holt_winters``: `AutoETS` ETS(A,A,A) or ETS(A,Ad,A), for seasons of at most
  `ETS_MAX_SEASON` periods (monthly data; for weekly data, 52 initial seasonal states to
  estimate from about two years, MSTL competes instead);
- ``mstl``: `MSTL`, a seasonal-trend decomposition (STL, `season_length` periods) whose season
  repeats and whose trend and remainder are forecast by `AutoETS` ETS(A,A(d),N);
- ``croston`` (`CrostonSBA`, the Syntetos-Boylan approximation) and ``tsb`` (`TSB`,
  Teunter-Syntetos-Babai) for intermittent demand.

Which candidates compete: series whose average inter-demand interval exceeds 1.32 weeks
(Syntetos-Boylan's cut-off, roughly a quarter of the weeks or more without consumption) are
intermittent: the baseline, ``croston`` and ``tsb``; the others: the baseline, ``ses``,
``holt`` and, when the training part spans a season and `SEASONAL_MARGIN` more weeks,
``holt_winters`` (short seasons) and ``mstl``. A model the library refuses on a history that short (ETS needs a few weeks per
parameter) does not compete. The candidate is chosen on the last ``min(horizon,
len(history) // 3)`` weeks (the holdout) by its root mean squared error (the error that safety
stock is made of: a mean absolute error would reward forecasting zero for intermittent
demand); the winner is then refitted on the whole history. Every score is of the forecast as
served, clipped at zero. Accuracy shown per candidate: MASE, its holdout mean absolute error
over the in-sample mean absolute error of the baseline that competed (seasonal naive, season
of `season_length` weeks, when the training part spans a season and `SEASONAL_MARGIN` more
weeks, else naive), and bias, the mean error (forecast - actual, so positive means
over-forecast) over the mean actual. A history shorter than `MIN_HISTORY` weeks raises
`HistoryTooShort` (a ValueError) rather than falling back silently.

Why statsforecast 2 (measured on this 2-core machine; bench/vmi.py has the figures): its
models are compiled C++ since version 2, so there is no numba compile at the first fit (1.x
compiled for 0.5-0.7 s per process); ``import statsforecast.models`` takes 1.3-5 s (pandas,
scipy, statsmodels), so it is imported at the first forecast, never when the platform starts.
An ETS fit without a season takes 0.6-2.5 ms per series, MSTL 6-10 ms, Holt-Winters on a
12-month season about 20 ms; every candidate on the holdout plus the winner's refit about 9 ms
per 104-week series. statsmodels' ExponentialSmoothing takes 10-90 ms per fit without a
season, 440 ms with a 52-week one, and it has no Croston or TSB.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from types import ModuleType
from typing import Any

import numpy as np

MIN_HISTORY = 12
"""Fewest weeks of history a forecast is made from (a third of them is the holdout)."""
SEASON_LENGTH = 52
SEASONAL_MARGIN = 8
"""Weeks beyond one season the training part needs before seasonal candidates compete."""
INTERMITTENT_ADI = 1.32
"""Average inter-demand interval (weeks) above which a series counts as intermittent."""
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
    MSTL = "mstl"
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
    """The engine's float results for many series, before rounding (what bench/vmi.py measures)."""

    model: np.ndarray  # (series,) index into CANDIDATES
    point: np.ndarray  # (series, horizon)
    sigma: np.ndarray  # (series, horizon)
    cumulative: np.ndarray  # (series, horizon) sigma of the error summed over weeks 1 .. k
    mase: np.ndarray  # (series, candidates), nan where not competing or undefined
    bias: np.ndarray  # (series, candidates)
    rmse: np.ndarray  # (series, candidates), inf where not competing
    holdout: np.ndarray  # (series,)
    season: np.ndarray  # (series,) season length MASE used

    @classmethod
    def empty(cls, count: int, horizon: int) -> BatchArrays:
        candidates = len(CANDIDATES)
        return cls(
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


def forecast(history: Sequence[Decimal | int | float], horizon: int, *, season_length: int = SEASON_LENGTH, quantum: Decimal = Decimal(1)) -> Forecast:
    """Forecast one weekly series `horizon` weeks ahead; quantities rounded to `quantum`."""
    return forecast_batch([history], horizon, season_length=season_length, quantum=quantum)[0]


def forecast_batch(
    histories: Sequence[Sequence[Decimal | int | float]], horizon: int, *, season_length: int = SEASON_LENGTH, quantum: Decimal = Decimal(1)
) -> list[Forecast]:
    """Forecast many series (each on its own: a series' forecast never depends on the others)."""
    check_quantum(quantum)
    arrays = forecast_arrays(histories, horizon, season_length=season_length)
    return [_to_forecast(arrays, i, quantum) for i in range(len(histories))]


def forecast_arrays(histories: Sequence[Sequence[Decimal | int | float]], horizon: int, *, season_length: int = SEASON_LENGTH) -> BatchArrays:
    if not 1 <= horizon <= MAX_HORIZON:
        raise ValueError(f"the horizon must be from one to {MAX_HORIZON} weeks, got {horizon}")
    if season_length < 2:
        raise ValueError(f"the season length must be at least 2 weeks, got {season_length}")
    rows = [_as_floats(history, n) for n, history in enumerate(histories)]  # every series checked before any is fitted
    out = BatchArrays.empty(len(rows), horizon)
    for i, row in enumerate(rows):
        _fit_series(row, horizon, season_length, i, out)
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


def _fit_series(y: np.ndarray, horizon: int, season_length: int, i: int, out: BatchArrays) -> None:
    holdout = min(horizon, len(y) // 3)
    train, actual = y[:-holdout], y[-holdout:]
    seasonal = len(train) >= season_length + SEASONAL_MARGIN
    m = season_length if seasonal else 1
    intermittent = bool(len(train) > INTERMITTENT_ADI * np.count_nonzero(train))
    rmse, mae, mean_error = (np.full(len(CANDIDATES), np.inf) for _ in range(3))
    for model in _competing(seasonal, intermittent, season_length):
        tested = _fit(model, train, holdout, season_length)
        if tested is None:
            continue
        # Scored as served: the forecast is clipped at zero before anyone sees or plans with it.
        errors = np.maximum(tested[0], 0.0) - actual
        k = _INDEX[model]
        rmse[k], mae[k], mean_error[k] = math.sqrt(np.mean(errors**2)), np.mean(np.abs(errors)), np.mean(errors)
    scale = float(np.mean(np.abs(train[m:] - train[:-m]))) if len(train) > m else 0.0
    competed = np.isfinite(rmse)
    with np.errstate(divide="ignore", invalid="ignore"):
        mase = np.where(competed, mae / scale if scale > 0 else np.where(mae == 0, 0.0, np.nan), np.nan)
        mean_actual = float(actual.mean())
        bias = np.where(competed & (mean_actual > 0), mean_error / mean_actual, np.nan)
    for choice in _ranked(rmse, intermittent):
        refitted = _fit(CANDIDATES[choice], y, horizon, season_length)
        if refitted is not None:  # the whole history is longer than the training part: a refusal here is theoretical
            break
    else:
        raise AssertionError("the baseline always fits")
    out.model[i] = choice
    out.point[i] = np.maximum(refitted[0], 0.0)
    out.sigma[i], out.cumulative[i] = refitted[1], refitted[2]
    out.mase[i], out.bias[i], out.rmse[i] = mase, bias, rmse
    out.holdout[i], out.season[i] = holdout, m


ETS_MAX_SEASON = 24
"""Longest season Holt-Winters competes for (R's forecast::ets draws the same line): beyond it
the initial seasonal states outnumber what a few years of history can estimate."""


def _competing(seasonal: bool, intermittent: bool, season_length: int) -> list[Model]:
    baseline = Model.SEASONAL_NAIVE if seasonal else Model.NAIVE
    if intermittent:
        return [baseline, Model.CROSTON, Model.TSB]
    if not seasonal:
        return [baseline, Model.SES, Model.HOLT]
    return [baseline, Model.SES, Model.HOLT] + ([Model.HOLT_WINTERS] if season_length <= ETS_MAX_SEASON else []) + [Model.MSTL]


TIE = 1e-9
"""Relative difference of holdout RMSE within which candidates tie."""
_INTERMITTENT_FIRST = [Model.CROSTON, Model.TSB] + [model for model in CANDIDATES if model not in (Model.CROSTON, Model.TSB)]


def _ranked(rmse: np.ndarray, intermittent: bool) -> list[int]:
    """Competing candidates by least holdout RMSE. Ties go to the earlier, simpler candidate,
    except for intermittent series: there Croston, then TSB, win ties with the baseline. An
    all-zero training part or holdout ties every candidate, and the baseline would then repeat
    one late spike every week (naive) or a year later (seasonal naive), where the intermittent
    models spread it over the weeks between demands."""
    best = float(np.min(rmse))
    order = _INTERMITTENT_FIRST if intermittent else list(CANDIDATES)

    def key(k: int) -> tuple[bool, float, int]:
        tied = bool(np.isclose(rmse[k], best, rtol=TIE, atol=0.0))
        return (not tied, 0.0 if tied else float(rmse[k]), order.index(CANDIDATES[k]))

    return sorted(np.flatnonzero(np.isfinite(rmse)).tolist(), key=key)


@functools.cache
def _library() -> ModuleType:
    """statsforecast's models, imported at the first forecast (seconds on 2 cores) rather than
    when the platform starts."""
    from statsforecast import models

    return models


Spread = tuple[np.ndarray, np.ndarray, np.ndarray]
"""Point forecast, error sigma per week ahead, sigma of the error summed over weeks 1 .. k."""


def _fit(model: Model, y: np.ndarray, h: int, m: int) -> Spread | None:
    """`model` fitted by statsforecast on `y` and forecast `h` weeks, with its error spread;
    None when the library refuses a history this short for the model."""
    library = _library()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # numpy warnings inside the optimiser on flat series
            match model:
                case Model.NAIVE:
                    return _naive(y, library.Naive().forecast(y=y, h=h, fitted=True), h)
                case Model.SEASONAL_NAIVE:
                    found = library.SeasonalNaive(season_length=m).forecast(y=y, h=h, fitted=True)
                    return _spread(found["mean"], _residual_sigma(y - found["fitted"]), (np.arange(1, h) % m == 0).astype(float))
                case Model.SES | Model.HOLT:
                    ets = library.AutoETS(model="ANN" if model is Model.SES else "AAN").fit(y)
                    return _ets(ets.predict(h)["mean"], ets.model_, h)
                case Model.HOLT_WINTERS:
                    ets = library.AutoETS(model="AAA", season_length=m).fit(y)
                    return _ets(ets.predict(h)["mean"], ets.model_, h, m)
                case Model.MSTL:
                    mstl = library.MSTL(season_length=m, trend_forecaster=library.AutoETS(model="AAN")).fit(y)
                    return _ets(mstl.predict(h)["mean"], mstl.trend_forecaster.model_, h, season_estimated=m)
                case Model.CROSTON:
                    return _flat(library.CrostonSBA().forecast(y=y, h=h, fitted=True), y, CROSTON_ALPHA, h)
                case Model.TSB:
                    return _flat(library.TSB(alpha_d=TSB_ALPHA_SIZE, alpha_p=TSB_ALPHA_CHANCE).forecast(y=y, h=h, fitted=True), y, TSB_ALPHA_CHANCE, h)
    except NotImplementedError:  # statsforecast's ETS: "tiny datasets", fewer weeks than its parameters need
        return None
    raise AssertionError(f"no fit for {model}")


CROSTON_ALPHA = 0.1
"""statsforecast's CrostonSBA smooths size and interval at 0.1."""
TSB_ALPHA_SIZE, TSB_ALPHA_CHANCE = 0.1, 0.1
"""TSB's smoothing of the demand size and of its probability (Teunter, Syntetos & Babai 2011
use 0.05-0.3; 0.1 for both is the common default)."""


def _spread(point: np.ndarray, sigma: float, c: np.ndarray) -> Spread:
    """The error spread of a linear innovations model (Hyndman, Koehler, Ord & Snyder 2008,
    ch. 6, class 1): the error k weeks ahead is e_k + c_1 e_(k-1) + ... + c_(k-1) e_1 with
    independent one-step errors e of sigma `sigma`, c (h - 1,). So the variance k weeks ahead
    is sigma^2 (1 + c_1^2 + ... + c_(k-1)^2), and that of the error summed over weeks 1 .. k
    (the lead-time demand's) sigma^2 sum_(r < k) (1 + c_1 + ... + c_r)^2: one innovation moves
    every later week's forecast error the same way.

    Every candidate is such a model, so each uses its own analytic c rather than sums of
    overlapping k-week residuals (about a hundred weeks hold few independent 13-week windows):
    ETS its smoothing parameters, naive is the random walk (ETS(A,N,N) at alpha 1, c = 1),
    seasonal naive the seasonal random walk (c = 1 every m weeks), MSTL the ETS of its trend
    and remainder (its season repeats unchanged), Croston and TSB the simple exponential
    smoothing of their demand rate (c = alpha; for i.i.d. demand this slightly overstates).
    sigma is the library's error variance for ETS (see `_ets`), else the root mean square of
    the model's one-step in-sample errors."""
    reach = np.concatenate([[0.0], np.cumsum(c)])
    weekly = 1.0 + np.concatenate([[0.0], np.cumsum(c**2)])
    summed = np.cumsum((1.0 + reach) ** 2)
    return np.asarray(point, dtype=float), sigma * np.sqrt(weekly), sigma * np.sqrt(summed)


def _residual_sigma(errors: np.ndarray) -> float:
    """Root mean square of one-step in-sample errors (weeks without a fitted value skipped)."""
    known = errors[np.isfinite(errors)]
    return float(np.sqrt(np.mean(known**2))) if len(known) else 0.0


def _ets(point: np.ndarray, fitted: dict[str, Any], h: int, m: int | None = None, *, season_estimated: int | None = None) -> Spread:
    """An additive ETS forecast's spread from its fitted model (statsforecast's `par`: alpha,
    beta, gamma, phi, then the initial states, NaN where the model has no such component;
    `sigma2`: the one-step error variance, the squared errors over the weeks less the
    parameters): c_j = alpha + beta (phi + ... + phi^j) + gamma [j = 0 mod m].

    MSTL fits this ETS to the history less a season STL estimated from the same weeks, one
    value per week of the season (`season_estimated`): like a regression's m seasonal dummies,
    that season took up m degrees of freedom of the errors (about half of them on two years of
    weekly history), and a season estimated from n / m years misses by sigma^2 m / n each
    week. Hence the error variance sse / (n - parameters - m), times 1 + m / n."""
    par = fitted["par"]
    alpha, beta, gamma = float(par[0]), float(np.nan_to_num(par[1])), float(np.nan_to_num(par[2]))
    phi = float(par[3]) if np.isfinite(par[3]) else 1.0
    variance = float(fitted["sigma2"])
    if season_estimated:
        errors = np.asarray(fitted["residuals"], dtype=float)
        weeks, parameters = len(errors), int(fitted["n_params"])
        variance = float(np.sum(errors**2)) / max(weeks - parameters - season_estimated, 1) * (1 + season_estimated / weeks)
    damping = np.cumsum(phi ** np.arange(1, h))
    seasonal = (np.arange(1, h) % m == 0) if m else np.zeros(h - 1)
    return _spread(point, math.sqrt(max(variance, 0.0)), alpha + beta * damping + gamma * seasonal)


def _naive(y: np.ndarray, found: dict[str, np.ndarray], h: int) -> Spread:
    """The last week, with its error summed over k weeks measured in-sample where the history
    holds at least k windows of k weeks (the naive forecast from every past week costs nothing):
    the random walk's analytic sum overstates it some 1.7-fold on a level series with noise,
    where naive still wins a holdout now and then. Beyond, the random walk's growth."""
    length = len(y)
    point, weekly, summed = _spread(found["mean"], _residual_sigma(y - found["fitted"]), np.ones(h - 1))
    reach = min(h, (length - 1) // 2)
    totals = np.concatenate([[0.0], np.cumsum(y)])
    measured = np.array([_residual_sigma(totals[k + 1 :] - totals[1:-k] - k * y[: length - k]) for k in range(1, reach + 1)])
    growth = summed[reach - 1 :] / summed[reach - 1] if summed[reach - 1] > 0 else np.ones(h - reach + 1)
    return point, weekly, np.concatenate([measured, measured[-1] * growth[1:]])


def _flat(found: dict[str, np.ndarray], y: np.ndarray, alpha: float, h: int) -> Spread:
    """A flat forecast (Croston, TSB) with the error growth of simple exponential smoothing at `alpha`."""
    return _spread(found["mean"], _residual_sigma(y - found["fitted"]), np.full(h - 1, alpha))


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
