"""The forecast a VMI agreement's proposals are made from: a model chosen per series on a
holdout among statsforecast's models, intervals, accuracy."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from concord.vmi.forecast import MAX_HORIZON, MAX_QUANTITY, MIN_QUANTUM, HistoryTooShort, Model, QuantityOutOfRange, forecast, forecast_batch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.vmi.series import intermittent, seasonal, trending


def test_seasonal_series_picks_a_seasonal_model_that_beats_seasonal_naive():
    result = forecast(seasonal(), 13)
    assert result.model in {Model.MSTL, Model.SEASONAL_NAIVE}
    assert result.season_length == 52
    assert result.winner.mase is not None and result.winner.mase < 1
    # The forecast follows last year's shape: week 0 of the next year is near the mean, week 13 near the peak.
    assert abs(result.point[0] - 100) < 15 and result.point[12] > 125


def test_intermittent_series_picks_croston_or_tsb():
    history = intermittent()
    assert history.count(0) / len(history) > 0.6
    result = forecast(history, 8)
    assert result.model in {Model.CROSTON, Model.TSB}
    assert {score.model for score in result.scores} == {Model.SEASONAL_NAIVE, Model.CROSTON, Model.TSB}
    assert len(set(result.point)) == 1  # a flat demand rate


def test_trending_series_picks_a_trended_exponential_smoothing():
    result = forecast(trending(weeks=60), 8)
    assert result.model == Model.HOLT
    assert result.season_length == 1  # 60 weeks hold no season with a holdout: naive is the baseline
    assert list(result.point) == sorted(result.point) and result.point[-1] > Decimal(50 + 1.5 * 60)
    naive = next(score for score in result.scores if score.model == Model.NAIVE)
    assert result.winner.mase is not None and naive.mase is not None and result.winner.mase < 1 < naive.mase
    assert forecast(trending(), 13).model in {Model.HOLT, Model.MSTL}


def test_constant_series_forecasts_the_constant_with_the_baseline():
    result = forecast([Decimal(7)] * 30, 4)
    assert result.model == Model.NAIVE
    assert result.point == (Decimal(7),) * 4 and result.lower_95 == result.upper_95 == result.point
    assert result.winner.mase == 0 and result.winner.bias == 0


def test_all_zero_history_forecasts_zero():
    result = forecast([0] * 20, 3)
    assert result.point == (Decimal(0),) * 3 and result.winner.bias is None


def test_too_short_history_is_refused_with_its_length():
    with pytest.raises(HistoryTooShort, match="at least 12 weeks of history, got 5"):
        forecast([1, 2, 3, 4, 5], 4)
    assert issubclass(HistoryTooShort, ValueError)


def test_negative_consumption_and_empty_horizon_are_refused():
    with pytest.raises(ValueError, match="not negative"):
        forecast([5] * 11 + [-1], 4)
    with pytest.raises(ValueError, match="horizon"):
        forecast([5] * 12, 0)


def test_accuracy_is_shown_for_every_candidate_and_the_winner_has_the_least_holdout_error():
    result = forecast(seasonal(), 13)
    assert [score.model for score in result.scores] == [Model.SEASONAL_NAIVE, Model.SES, Model.HOLT, Model.MSTL]
    assert result.winner.rmse == min(score.rmse for score in result.scores)
    assert result.holdout == 13
    baseline = result.scores[0]
    assert baseline.mase is not None and 0.5 < baseline.mase < 2


def test_quantities_are_rounded_to_the_items_quantum():
    result = forecast([Decimal("1.25"), Decimal("2.5")] * 10, 3, quantum=Decimal("0.001"))
    assert all(value.as_tuple().exponent == -3 for value in result.point + result.upper_95)


def test_batch_equals_one_by_one_and_is_deterministic():
    histories = [seasonal(), trending(), intermittent(), trending(weeks=40), seasonal(seed=9)]
    batch = forecast_batch(histories, 6)
    assert batch == [forecast(history, 6) for history in histories]
    assert batch == forecast_batch(histories, 6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=st.lists(st.integers(min_value=0, max_value=10_000), min_size=12, max_size=70),
    horizon=st.integers(min_value=1, max_value=20),
)
def test_forecasts_are_non_negative_and_the_intervals_hold_the_point(history, horizon):
    result = forecast(history, horizon)
    assert len(result.point) == horizon == len(result.sigma)
    for low95, low80, point, high80, high95 in zip(result.lower_95, result.lower_80, result.point, result.upper_80, result.upper_95, strict=True):
        assert Decimal(0) <= low95 <= low80 <= point <= high80 <= high95
    assert all(sigma >= 0 for sigma in result.sigma)


MONTHLY = [100 + 30 * ((month % 12) in (5, 6, 7)) + month + (month * 7919) % 11 for month in range(72)]


@pytest.mark.parametrize(
    ("model", "history", "season"),
    [
        (Model.SES, seasonal(), 52),
        (Model.HOLT, trending(), 52),
        (Model.HOLT, [40 + (week % 7) * 3 for week in range(60)], 52),
        (Model.HOLT_WINTERS, MONTHLY, 12),
    ],
)
def test_error_spread_grows_over_the_weeks_as_the_librarys_own_ets_intervals_do(model, history, season):
    """Safety stock comes from our error spread (derived from the fitted parameters and error
    variance); week by week it must be what statsforecast's own ETS prediction intervals say."""
    from concord.vmi import forecast as engine
    from statsforecast.models import AutoETS

    y = np.array(history, dtype=float)
    _point, weekly, _summed = engine._fit(model, y, 13, season)
    spec = {Model.SES: "ANN", Model.HOLT: "AAN", Model.HOLT_WINTERS: "AAA"}[model]
    fitted = AutoETS(model=spec, season_length=season if model is Model.HOLT_WINTERS else 1).fit(y)
    library_sigma = (fitted.predict(13, level=[95])["hi-95"] - fitted.predict(13)["mean"]) / 1.959963984540054
    np.testing.assert_allclose(weekly, library_sigma, rtol=1e-3)


def test_mstl_error_spread_counts_the_season_it_estimated_from_the_same_weeks():
    """MSTL's in-sample errors come after STL took a season out of the very weeks it is fitted
    to (one value per week of the season): taken as they are, they said half the true error.
    Its stated one-week error must match what it misses out of sample, on 40 seasonal series."""
    from concord.vmi import forecast as engine

    rng = np.random.default_rng(7)
    missed, stated = [], []
    for _ in range(40):
        weeks = np.arange(130)
        y = 100 + 20 * np.sin(2 * np.pi * weeks / 52) + rng.normal(0, 5, len(weeks))
        point, weekly, _summed = engine._fit(Model.MSTL, y[:117], 4, 52)
        missed.append(point[0] - y[117])
        stated.append(weekly[0])
    ratio = np.sqrt(np.mean(np.square(stated))) / np.sqrt(np.mean(np.square(missed)))
    assert 0.8 < ratio < 1.25, ratio


def test_error_summed_over_weeks_is_that_of_the_models_innovations():
    """The spread of a sum over k weeks: for simple exponential smoothing at alpha, the error of
    week j carries (1 + (j - 1) alpha) times one innovation into the total (Hyndman et al. 2008,
    ch. 6), checked by simulating the model's own innovations."""
    from concord.vmi import forecast as engine

    alpha, sigma, weeks = 0.3, 2.0, 6
    _point, weekly, summed = engine._spread(np.zeros(weeks), sigma, np.full(weeks - 1, alpha))
    rng = np.random.default_rng(5)
    innovations = rng.normal(0, sigma, (200_000, weeks))
    reach = np.array([1 + alpha * (weeks - 1 - j) for j in range(weeks)])  # innovation j's weight in the total
    np.testing.assert_allclose(np.std(innovations @ reach), summed[-1], rtol=0.01)
    np.testing.assert_allclose(weekly[-1], sigma * np.sqrt(1 + (weeks - 1) * alpha**2))


@pytest.mark.parametrize("history", [[0] * 11 + [5], [0] * 30 + [5], [0] * 40 + [3]])
def test_a_sparse_series_ending_in_one_spike_is_not_forecast_to_repeat_the_spike(history):
    """Every candidate ties on an all-zero holdout or training part: intermittent demand goes
    to a smoother (Croston, TSB), not to the baseline that repeats the last week every week."""
    result = forecast(history, 4)
    assert result.model in {Model.CROSTON, Model.TSB}
    assert sum(result.rate) < max(history)  # the spike is spread over the weeks, not repeated each week


def test_ties_are_broken_the_same_way_whatever_the_batch():
    histories = [[0] * 11 + [5], [7] * 30, [0] * 20]
    assert [f.model for f in forecast_batch(histories, 4)] == [forecast(h, 4).model for h in histories] == [Model.CROSTON, Model.NAIVE, Model.CROSTON]


def test_accuracy_is_that_of_the_forecast_served_which_is_never_negative():
    """A falling line that reaches zero: the trended model's raw extrapolation goes negative,
    but what it serves, clipped at zero, is exactly the zero demand of the holdout."""
    history = [150 - 10 * week for week in range(16)] + [0] * 8
    result = forecast(history, 8)
    holt = next(score for score in result.scores if score.model == Model.HOLT)
    assert holt.rmse == 0 and holt.mase == 0
    assert result.winner.rmse == 0


@pytest.mark.parametrize("huge", [Decimal("1e30"), Decimal("12345678901234567890123456789"), MAX_QUANTITY + 1, 1e300])
def test_a_quantity_above_the_maximum_is_refused_with_a_clear_error(huge):
    with pytest.raises(QuantityOutOfRange, match=r"series 0, week 12: .* above the maximum quantity"):
        forecast([5] * 11 + [huge], 4)
    assert issubclass(QuantityOutOfRange, ValueError)


def test_quantities_up_to_the_maximum_forecast_to_the_finest_quantum_and_the_longest_horizon():
    rising = [MAX_QUANTITY * week / 20 for week in range(1, 21)]
    result = forecast(rising, MAX_HORIZON, quantum=MIN_QUANTUM)
    assert result.point[-1] > MAX_QUANTITY and result.upper_95[-1] >= result.point[-1]
    with pytest.raises(ValueError, match="quantum"):
        forecast([5] * 12, 4, quantum=MIN_QUANTUM / 10)
    with pytest.raises(ValueError, match="horizon"):
        forecast([5] * 12, MAX_HORIZON + 1)


def test_a_monthly_season_brings_holt_winters_into_the_competition():
    result = forecast(MONTHLY, 12, season_length=12)
    assert [score.model for score in result.scores] == [Model.SEASONAL_NAIVE, Model.SES, Model.HOLT, Model.HOLT_WINTERS, Model.MSTL]
    assert result.season_length == 12 and result.winner.rmse == min(score.rmse for score in result.scores)


def test_a_model_the_library_refuses_on_a_short_history_does_not_compete():
    """Twelve weeks leave eight to train on: too few for statsforecast's trended ETS (five
    parameters), enough for simple exponential smoothing."""
    result = forecast([10, 12, 11, 13, 12, 14, 13, 15, 14, 16, 15, 17], 4)
    assert [score.model for score in result.scores] == [Model.NAIVE, Model.SES]
    assert result.holdout == 4 and len(result.point) == 4
