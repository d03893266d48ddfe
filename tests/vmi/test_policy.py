"""Safety stock, band, proposals, alerts and the bullwhip ratio a VMI supplier acts on."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from concord.vmi.forecast import MAX_QUANTITY, Forecast, Model, QuantityOutOfRange, Score, forecast, forecast_batch
from concord.vmi.policy import (
    AlertKind,
    Band,
    DaysOfSupply,
    Incoming,
    Rate,
    bullwhip_ratio,
    dynamic_band,
    propose,
    reorder_point,
    rolling_bullwhip,
    safety_stock,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.vmi.series import seasonal

TODAY = date(2026, 3, 2)


def flat(weekly: int = 70, sigma: float = 10.0, weeks: int = 12, bias: float | None = 0.0) -> Forecast:
    """A forecast of `weekly` units a week (10 a day at 70) with a known error."""
    point = (Decimal(weekly),) * weeks
    return Forecast(
        model=Model.SES,
        point=point,
        lower_80=point,
        upper_80=point,
        lower_95=point,
        upper_95=point,
        sigma=(sigma,) * weeks,
        cumulative_sigma=tuple(sigma * (k + 1) ** 0.5 for k in range(weeks)),  # independent weekly errors: they do not grow
        rate=(float(weekly),) * weeks,
        scores=(Score(Model.SES, 0.8, bias, sigma),),
        holdout=weeks,
        season_length=1,
    )


def kinds(proposal) -> set[AlertKind]:
    return {alert.kind for alert in proposal.alerts}


def test_safety_stock_rises_with_service_level_and_lead_time():
    result = forecast(seasonal(), 13)
    levels = [safety_stock(result, level, 14) for level in (0.8, 0.9, 0.95, 0.99)]
    assert levels == sorted(levels) and levels[0] < levels[-1]
    leads = [safety_stock(result, 0.95, days) for days in (7, 14, 28, 56)]
    assert leads == sorted(leads) and leads[0] < leads[-1]


def test_safety_stock_of_a_forecast_whose_weekly_errors_are_independent():
    # z(0.95) = 1.645; 14 days = two weeks of independent errors of sigma 10: sqrt(200) = 14.14 -> 23.26, rounded up.
    assert safety_stock(flat(), Decimal("0.95"), 14, quantum=Decimal("0.01")) == Decimal("23.27")
    assert safety_stock(flat(), 0.95, 7, review_days=7) == Decimal(24)
    with pytest.raises(ValueError, match="service level"):
        safety_stock(flat(), 1, 7)


def test_reorder_point_and_dynamic_band():
    assert reorder_point(flat(), 0.95, 7) == Decimal(70 + 17)  # 70 + 1.645 * 10, rounded up
    band, days = dynamic_band(flat(), 0.95, 7, 14)
    # minimum = SS = z * sqrt(3 * 100) = 28.49 -> 29; maximum = SS + D(7, 21) = 168.49 -> 169
    assert band == Band(Decimal(29), Decimal(169))
    assert days == DaysOfSupply(Decimal("2.8"), Decimal("16.8"))


def test_no_proposal_when_the_projection_stays_within_the_band():
    proposal = propose(today=TODAY, on_hand=Decimal(300), on_order=[], forecast=flat(), lead_time_days=7, review_days=7, band=Band(Decimal(100), Decimal(400)))
    assert proposal.quantity == 0 and proposal.order_date is None and proposal.alerts == ()
    assert proposal.projected[-1] == Decimal(300 - 150)


def test_proposal_brings_the_projection_back_within_the_band():
    band = Band(Decimal(100), Decimal(400))
    proposal = propose(today=TODAY, on_hand=Decimal(200), on_order=[], forecast=flat(), lead_time_days=7, review_days=7, band=band)
    # below 100 from day 10 on: the order arrives then (placed on day 3) and tops the stock up to 400.
    assert proposal.order_date == TODAY + timedelta(days=3) and proposal.arrival == TODAY + timedelta(days=10)
    with_order = proposal.projected_with_order[10:]
    assert max(with_order) == band.maximum and min(with_order) >= band.minimum
    assert proposal.quantity == Decimal(400 - 90)
    assert proposal.alerts == ()


def test_proposal_counts_what_is_on_order():
    order = Incoming(Decimal(250), TODAY + timedelta(days=5))
    proposal = propose(
        today=TODAY, on_hand=Decimal(200), on_order=[order], forecast=flat(), lead_time_days=7, review_days=7, band=Band(Decimal(100), Decimal(500))
    )
    assert proposal.quantity == 0


def test_proposal_with_days_of_supply_follows_the_forecast():
    band = DaysOfSupply(Decimal(10), Decimal(30))  # 100 and 300 units at 10 a day
    proposal = propose(today=TODAY, on_hand=Decimal(120), on_order=[], forecast=flat(), lead_time_days=7, review_days=7, band=band)
    assert (proposal.minimum, proposal.maximum) == (Decimal(100), Decimal(300))
    assert proposal.order_date == TODAY and proposal.arrival == TODAY + timedelta(days=7)
    assert all(Decimal(100) <= stock <= Decimal(300) for stock in proposal.projected_with_order[7:])
    assert kinds(proposal) == {AlertKind.BELOW_MINIMUM}


@settings(max_examples=60, deadline=None)
@given(on_hand=st.integers(min_value=0, max_value=2000), lead=st.integers(min_value=0, max_value=21), review=st.integers(min_value=1, max_value=14))
def test_a_proposal_keeps_the_stock_within_the_band_from_its_arrival(on_hand, lead, review):
    band = Band(Decimal(150), Decimal(600))
    proposal = propose(today=TODAY, on_hand=Decimal(on_hand), on_order=[], forecast=flat(), lead_time_days=lead, review_days=review, band=band)
    start = lead if proposal.quantity else 0
    after = proposal.projected_with_order[start:]
    if proposal.quantity:
        assert min(after) >= band.minimum - 1 and max(after) <= band.maximum
    elif on_hand <= 600:
        assert min(after) >= band.minimum


def test_alerts_stock_out_and_below_minimum_within_the_lead_time():
    proposal = propose(today=TODAY, on_hand=Decimal(50), on_order=[], forecast=flat(), lead_time_days=7, review_days=7, band=Band(Decimal(100), Decimal(400)))
    assert kinds(proposal) == {AlertKind.STOCK_OUT, AlertKind.BELOW_MINIMUM}
    stock_out = next(alert for alert in proposal.alerts if alert.kind == AlertKind.STOCK_OUT)
    assert stock_out.on == TODAY + timedelta(days=4) and "runs out" in stock_out.message
    assert proposal.order_date == TODAY and proposal.quantity > 0


def test_alert_above_maximum():
    proposal = propose(today=TODAY, on_hand=Decimal(900), on_order=[], forecast=flat(), lead_time_days=7, review_days=7, band=Band(Decimal(100), Decimal(400)))
    assert kinds(proposal) == {AlertKind.ABOVE_MAXIMUM} and proposal.quantity == 0


def test_alert_forecast_bias_beyond_the_threshold():
    biased = flat(bias=-0.35)
    proposal = propose(today=TODAY, on_hand=Decimal(300), on_order=[], forecast=biased, lead_time_days=7, review_days=7, band=Band(Decimal(100), Decimal(400)))
    [alert] = proposal.alerts
    assert alert.kind == AlertKind.FORECAST_BIAS and "under-forecast by 35%" in alert.message
    calm = propose(
        today=TODAY,
        on_hand=Decimal(300),
        on_order=[],
        forecast=replace(biased),
        lead_time_days=7,
        review_days=7,
        band=Band(Decimal(100), Decimal(400)),
        bias_threshold=0.4,
    )
    assert calm.alerts == ()


def test_bullwhip_ratio_of_identical_series_is_one_and_of_amplified_orders_above_one():
    consumption = [10, 12, 9, 14, 11, 8, 13, 10]
    assert bullwhip_ratio(consumption, consumption) == pytest.approx(1.0)
    amplified = [11 + 2 * (value - 11) for value in consumption]
    assert bullwhip_ratio(amplified, consumption) == pytest.approx(4.0)
    assert bullwhip_ratio([Decimal(5)] * 4, [Decimal(5)] * 4) is None


def test_rolling_bullwhip_shows_the_ratio_fall_once_orders_follow_consumption():
    consumption = [10, 12, 9, 14, 11, 8, 13, 10] * 2
    orders = [0, 30, 0, 35, 0, 25, 0, 30] + consumption[8:]  # batched before the agreement, as consumed after
    ratios = rolling_bullwhip(orders, consumption, 8)
    assert len(ratios) == 9 and ratios[0] is not None and ratios[0] > 10 and ratios[-1] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        rolling_bullwhip(orders, consumption[:-1], 8)


def test_no_order_when_stock_is_within_the_band_from_the_earliest_arrival_on():
    """A dip before day L is for the alerts: an order placed today could not prevent it."""
    on_order = [Incoming(Decimal(150), TODAY + timedelta(days=3))]
    band = Band(Decimal(100), Decimal(200))
    proposal = propose(today=TODAY, on_hand=Decimal(105), on_order=on_order, forecast=flat(), lead_time_days=7, review_days=7, band=band)
    assert proposal.quantity == 0 and proposal.order_date is None
    assert all(band.minimum <= stock <= band.maximum for stock in proposal.projected[7:])
    assert kinds(proposal) == {AlertKind.BELOW_MINIMUM, AlertKind.ABOVE_MAXIMUM}


def test_a_slow_mover_is_planned_with_its_demand_before_rounding():
    result = forecast([0, 0, 1] * 20, 8)
    assert set(result.point) == {Decimal(0)} and 0.2 < result.rate[0] < 0.5  # a third of a unit a week
    proposal = propose(
        today=TODAY, on_hand=Decimal(0), on_order=[], forecast=result, lead_time_days=7, review_days=28, band=DaysOfSupply(Decimal(14), Decimal(56))
    )
    assert proposal.quantity >= 1 and proposal.minimum > 0


def test_days_of_supply_count_the_days_after_the_one_whose_closing_stock_they_apply_to():
    """Stock at the end of day d has already met day d's demand: d days of supply there are
    the demand of days d + 1 .. d + days."""
    slow_then_fast = replace(flat(), rate=(7.0, 70.0) + (70.0,) * 10)  # 1 a day in week 0, 10 a day from day 7
    band = DaysOfSupply(Decimal(2), Decimal(4))
    proposal = propose(today=TODAY, on_hand=Decimal(500), on_order=[], forecast=slow_then_fast, lead_time_days=5, review_days=7, band=band)
    # On day 5 (the lead time): the minimum is days 6 and 7 (1 + 10), the maximum days 6 .. 9 (1 + 3 * 10).
    assert (proposal.minimum, proposal.maximum) == (Decimal(11), Decimal(31))


def test_stock_quantities_above_the_maximum_are_refused_with_a_clear_error():
    band = Band(Decimal(100), Decimal(400))
    huge = Decimal("1e30")
    with pytest.raises(QuantityOutOfRange, match="on hand"):
        propose(today=TODAY, on_hand=huge, on_order=[], forecast=flat(), lead_time_days=7, review_days=7, band=band)
    with pytest.raises(QuantityOutOfRange, match="on order"):
        propose(today=TODAY, on_hand=Decimal(1), on_order=[Incoming(huge, TODAY)], forecast=flat(), lead_time_days=7, review_days=7, band=band)
    with pytest.raises(QuantityOutOfRange, match="maximum"):
        Band(Decimal(1), huge)
    with pytest.raises(ValueError, match="days"):
        DaysOfSupply(Decimal(1), huge)
    with pytest.raises(QuantityOutOfRange):
        bullwhip_ratio([huge, 1], [1, 2])
    at_most = propose(today=TODAY, on_hand=MAX_QUANTITY, on_order=[], forecast=flat(), lead_time_days=7, review_days=7, band=Band(MAX_QUANTITY, MAX_QUANTITY))
    assert at_most.projected[0] == MAX_QUANTITY - 10


@pytest.mark.parametrize("shape", ["random_walk", "level"])
def test_safety_stock_covers_the_error_summed_over_lead_time_and_review(shape):
    """Multi-step errors of one forecast are correlated (a level that is off stays off), so the
    error over L + R days is that of the demand summed over them: on many simulated series the
    sigma safety stock is made of matches the spread of the summed errors, and at a 95 % service
    level about 5 % of them run short."""
    rng = np.random.default_rng(11)
    count, weeks, ahead = 2000, 60, 4  # L + R = 28 days = 4 weeks
    steps = rng.normal(0, 10, (count, weeks + ahead))
    series = 1000 + np.cumsum(steps, axis=1) if shape == "random_walk" else 100 + steps
    forecasts = forecast_batch(series[:, :weeks].tolist(), 8, quantum=Decimal("0.001"))
    planned = np.array([Rate(f).demand(0, 28) for f in forecasts])
    errors = series[:, weeks:].sum(axis=1) - planned
    sigma = np.array([Rate(f).sigma(28) for f in forecasts])
    assert 0.85 < np.sqrt(np.mean(sigma**2)) / np.std(errors) < 1.2
    stock = np.array([float(safety_stock(f, 0.95, 14, review_days=14, quantum=Decimal("0.001"))) for f in forecasts])
    assert 0.03 < np.mean(errors > stock) < 0.08
