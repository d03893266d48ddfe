"""Replenishment policy from a forecast: safety stock, reorder point, a min/max band (as
quantities or days of supply), order proposals with their alerts, and the bullwhip ratio.

Days count from today (day 0 is today). The forecast's week k (k = 0, 1, ...) covers days
7k to 7k + 6 and is consumed evenly, a seventh each day; beyond the horizon the last week's
rate goes on. Statistics run in floats; quantities come back as Decimal rounded to the
item's `quantum` (Decimal("1") for whole units, Decimal("0.001") ...).

Formulas (D(a, b): forecast demand from day a to day b; L lead time, R review period, in days):

- service factor z = NormalDist().inv_cdf(service level);
- error over t days: sigma(t), the standard deviation of the forecast error summed over those
  days (the forecast's `cumulative_sigma`, its variance interpolated linearly within a week and
  growing by the last week's increment beyond the horizon). Not the root of the summed per-week
  variances: the weeks' errors of one forecast are correlated (an innovation moves the level of
  every later week), and treating them as independent left safety stock 28-42 % short;
- safety stock SS = z * sigma(L + R): stock is exposed from this review until an order placed
  at the next review arrives;
- reorder point ROP = D(0, L) + z * sigma(L) (continuous review);
- dynamic band, on the projected stock (which has already consumed the demand up to each day):
  minimum = SS, what should be left when a replenishment arrives; maximum = SS + D(L, L + R),
  enough on top of it to last until the next review's order can arrive; in days of supply,
  d days on day t mean D(t + 1, t + 1 + d): the band applies to the stock at the end of day t,
  which has already met day t's demand, so it is what days t + 1 .. t + d will consume.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from statistics import NormalDist

from concord.vmi.forecast import MAX_HORIZON, Forecast, check_quantity, check_quantum

MAX_DAYS = 7 * MAX_HORIZON
"""Longest lead time plus review period, and most days of supply, accepted (ten years)."""


class Rate:
    """Daily demand and its error variance from a forecast, by day from today."""

    def __init__(self, forecast: Forecast) -> None:
        self.weekly = list(forecast.rate)
        self.summed = [0.0] + [sigma**2 for sigma in forecast.cumulative_sigma]
        """Variance of the error summed over the first k weeks, k = 0 .. horizon."""

    def _week(self, values: list[float], week: int) -> float:
        return values[min(week, len(values) - 1)]

    def _integrate(self, values: list[float], start: float, end: float) -> float:
        """Sum of weekly `values` from day `start` to day `end`, each day a seventh of its week."""
        total, day = 0.0, start
        while day < end:
            week = int(day // 7)
            upto = min(end, (week + 1) * 7)
            total += self._week(values, week) * (upto - day) / 7
            day = upto
        return total

    def demand(self, start: float, end: float) -> float:
        return self._integrate(self.weekly, start, end)

    def _summed(self, weeks: int) -> float:
        known = len(self.summed) - 1
        if weeks <= known:
            return self.summed[weeks]
        return self.summed[known] + (weeks - known) * (self.summed[known] - self.summed[known - 1])

    def sigma(self, days: float) -> float:
        """Standard deviation of the error of the demand summed from today over `days` days."""
        weeks, part = divmod(days / 7, 1)
        before = self._summed(int(weeks))
        return math.sqrt(before + part * (self._summed(int(weeks) + 1) - before))


def service_factor(service_level: float | Decimal) -> float:
    """z such that a normal forecast error stays below z sigma with this probability."""
    level = float(service_level)
    if not 0.5 <= level < 1:
        raise ValueError(f"the service level must be at least 0.5 and below 1, got {service_level}")
    return NormalDist().inv_cdf(level)


def _check(quantum: Decimal, *days: int) -> None:
    """Inputs bounded before any arithmetic (see `MAX_QUANTITY`), the quantum and the days."""
    check_quantum(quantum)
    if any(day < 0 for day in days) or sum(days) > MAX_DAYS:
        raise ValueError(f"lead time and review period must not be negative nor add up to more than {MAX_DAYS} days, got {days}")


def _round(value: float, quantum: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    return Decimal(repr(max(value, 0.0))).quantize(quantum, rounding=rounding)


def safety_stock(forecast: Forecast, service_level: float | Decimal, lead_time_days: int, *, review_days: int = 0, quantum: Decimal = Decimal(1)) -> Decimal:
    """SS = z * sigma(L + R), rounded up to the quantum."""
    _check(quantum, lead_time_days, review_days)
    return _round(service_factor(service_level) * Rate(forecast).sigma(lead_time_days + review_days), quantum, ROUND_CEILING)


def reorder_point(forecast: Forecast, service_level: float | Decimal, lead_time_days: int, *, quantum: Decimal = Decimal(1)) -> Decimal:
    """ROP = D(0, L) + z * sigma(L), rounded up to the quantum."""
    _check(quantum, lead_time_days)
    rate = Rate(forecast)
    return _round(rate.demand(0, lead_time_days) + service_factor(service_level) * rate.sigma(lead_time_days), quantum, ROUND_CEILING)


@dataclass(frozen=True)
class Band:
    """Minimum and maximum stock as quantities."""

    minimum: Decimal
    maximum: Decimal

    def __post_init__(self) -> None:
        check_quantity(self.minimum, "band minimum")
        check_quantity(self.maximum, "band maximum")
        if not 0 <= self.minimum <= self.maximum:
            raise ValueError(f"the band needs 0 <= minimum <= maximum, got {self.minimum} and {self.maximum}")


@dataclass(frozen=True)
class DaysOfSupply:
    """Minimum and maximum stock as days of forecast demand after the day they apply to."""

    minimum_days: Decimal
    maximum_days: Decimal

    def __post_init__(self) -> None:
        if not 0 <= self.minimum_days <= self.maximum_days <= MAX_DAYS:
            raise ValueError(f"the band needs 0 <= minimum days <= maximum days, got {self.minimum_days} and {self.maximum_days} (at most {MAX_DAYS} days)")


def dynamic_band(
    forecast: Forecast, service_level: float | Decimal, lead_time_days: int, review_days: int, *, quantum: Decimal = Decimal(1)
) -> tuple[Band, DaysOfSupply]:
    """minimum = SS, maximum = SS + D(L, L + R); the same in days of supply (each quantity over
    the average daily demand of the next L + R days, to a tenth of a day)."""
    _check(quantum, lead_time_days, review_days)
    rate = Rate(forecast)
    minimum = service_factor(service_level) * rate.sigma(lead_time_days + review_days)
    maximum = minimum + rate.demand(lead_time_days, lead_time_days + review_days)
    span = lead_time_days + review_days
    daily = rate.demand(0, span) / span if span else 0.0
    tenth = Decimal("0.1")
    days = DaysOfSupply(_round(minimum / daily, tenth), _round(maximum / daily, tenth)) if daily > 0 else DaysOfSupply(Decimal(0), Decimal(0))
    return Band(_round(minimum, quantum, ROUND_CEILING), _round(maximum, quantum, ROUND_CEILING)), days


def band_on(rate: Rate, band: Band | DaysOfSupply, day: int) -> tuple[float, float]:
    """The band in quantities for the stock at the end of `day` (days of supply follow the
    forecast: the demand of the days after `day`, since `day`'s own is already consumed)."""
    if isinstance(band, Band):
        return float(band.minimum), float(band.maximum)
    return rate.demand(day + 1, day + 1 + float(band.minimum_days)), rate.demand(day + 1, day + 1 + float(band.maximum_days))


@dataclass(frozen=True)
class Incoming:
    """Stock on order, expected on `arrives` (available from that day on)."""

    quantity: Decimal
    arrives: date


class AlertKind(StrEnum):
    STOCK_OUT = "stock_out_within_lead_time"
    BELOW_MINIMUM = "below_minimum"
    ABOVE_MAXIMUM = "above_maximum"
    FORECAST_BIAS = "forecast_bias"


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    on: date | None
    """The first day the projection crosses the line (None for forecast bias)."""
    message: str


@dataclass(frozen=True)
class Proposal:
    """An order of `quantity` (zero: nothing to order at this review) placed on `order_date`
    and arriving on `arrival`, the band it aims at on arrival and the projected stock at the
    end of each day from today through the next review's earliest arrival, with and without it."""

    quantity: Decimal
    order_date: date | None
    arrival: date | None
    minimum: Decimal
    maximum: Decimal
    projected: tuple[Decimal, ...]
    projected_with_order: tuple[Decimal, ...]
    alerts: tuple[Alert, ...]


def propose(
    *,
    today: date,
    on_hand: Decimal,
    on_order: Sequence[Incoming],
    forecast: Forecast,
    lead_time_days: int,
    review_days: int,
    band: Band | DaysOfSupply,
    quantum: Decimal = Decimal(1),
    bias_threshold: float = 0.2,
) -> Proposal:
    """What to order at this review so that projected stock stays within the band.

    Projected stock at the end of day d: on hand + what arrives on or before d - D(0, d + 1).
    An order placed today arrives on day L; the next review's order on day L + R. If the
    projection stays at or above the minimum from day L through day L + R, nothing is ordered. Else the
    order arrives on the first day the projection would fall below the minimum, but not before
    day L (it is placed L days earlier), with the quantity that brings the highest projected
    stock from its arrival through day L + R up to the maximum, or, if that is not enough to
    keep the lowest above the minimum (incoming orders crowd the band), what is.

    Alerts (on the projection without the proposal): a stock-out (at or below zero) by day L,
    below the minimum by day L (too late for an order to prevent), above the maximum by day
    L + R (on hand or on order is too much), and the winning model's holdout bias beyond
    `bias_threshold` either way.
    """
    if lead_time_days < 0 or review_days < 1:
        raise ValueError("the lead time must not be negative and the review period must be at least a day")
    _check(quantum, lead_time_days, review_days)
    stock = check_quantity(on_hand, "on hand")
    incoming_quantities = [check_quantity(incoming.quantity, f"on order for {incoming.arrives}") for incoming in on_order]
    rate = Rate(forecast)
    end = lead_time_days + review_days
    arrivals = [0.0] * (end + 1)
    for incoming, quantity in zip(on_order, incoming_quantities, strict=True):
        day = max((incoming.arrives - today).days, 0)
        if day <= end:
            arrivals[day] += quantity
    projected: list[float] = []
    for day in range(end + 1):
        stock += arrivals[day] - rate.demand(day, day + 1)
        projected.append(stock)
    bands = [band_on(rate, band, day) for day in range(end + 1)]
    # An order placed today arrives on day L at the earliest: what happens before is for the alerts.
    below = [day for day in range(lead_time_days, end + 1) if projected[day] < bands[day][0]]
    quantity, order_day = 0.0, None
    if below:
        arrival = max(below[0], lead_time_days)
        order_day = arrival - lead_time_days
        window = range(arrival, end + 1)
        room = min(bands[day][1] - projected[day] for day in window)
        needed = max(bands[day][0] - projected[day] for day in window)
        quantity = room if room >= needed else needed
    with_order = [stock + (quantity if order_day is not None and day >= order_day + lead_time_days else 0.0) for day, stock in enumerate(projected)]
    alerts = _alerts(today, projected, bands, lead_time_days, forecast, bias_threshold)
    minimum, maximum = bands[lead_time_days]
    ordered = order_day is not None and quantity > 0
    return Proposal(
        quantity=_round(quantity, quantum, ROUND_CEILING) if ordered else Decimal(0).quantize(quantum),
        order_date=today + timedelta(days=order_day) if ordered and order_day is not None else None,
        arrival=today + timedelta(days=order_day + lead_time_days) if ordered and order_day is not None else None,
        minimum=_round(minimum, quantum, ROUND_CEILING),
        maximum=_round(maximum, quantum, ROUND_CEILING),
        projected=tuple(_signed(value, quantum) for value in projected),
        projected_with_order=tuple(_signed(value, quantum) for value in with_order),
        alerts=alerts,
    )


def _signed(value: float, quantum: Decimal) -> Decimal:
    """A projected stock, which may be negative (unmet demand)."""
    return Decimal(repr(value)).quantize(quantum, rounding=ROUND_FLOOR)


def _alerts(today: date, projected: list[float], bands: list[tuple[float, float]], lead: int, forecast: Forecast, threshold: float) -> tuple[Alert, ...]:
    alerts = []

    def first(days: range, crossed) -> int | None:
        return next((day for day in days if crossed(day)), None)

    checks = (
        (AlertKind.STOCK_OUT, range(lead + 1), lambda d: projected[d] <= 0, "projected stock runs out on {on}, within the lead time"),
        (
            AlertKind.BELOW_MINIMUM,
            range(lead + 1),
            lambda d: projected[d] < bands[d][0],
            "projected stock falls below the minimum on {on}, within the lead time",
        ),
        (AlertKind.ABOVE_MAXIMUM, range(len(projected)), lambda d: projected[d] > bands[d][1], "projected stock is above the maximum on {on}"),
    )
    for kind, days, crossed, message in checks:
        day = first(days, crossed)
        if day is not None:
            on = today + timedelta(days=day)
            alerts.append(Alert(kind, on, message.format(on=on.isoformat())))
    bias = forecast.winner.bias
    if bias is not None and abs(bias) > threshold:
        direction = "over" if bias > 0 else "under"
        alerts.append(Alert(AlertKind.FORECAST_BIAS, None, f"the {forecast.model} forecast {direction}-forecast by {abs(bias):.0%} on the holdout"))
    return tuple(alerts)


def bullwhip_ratio(orders: Sequence[Decimal | int | float], consumption: Sequence[Decimal | int | float]) -> float | None:
    """Variance of the orders to the supplier over variance of consumption, over the same
    periods (sample variances); None when consumption does not vary."""
    if len(orders) != len(consumption) or len(orders) < 2:
        raise ValueError("orders and consumption need the same periods, at least two")
    demand = statistics.variance([check_quantity(value, "consumption") for value in consumption])
    if demand == 0:
        return None
    return statistics.variance([check_quantity(value, "order") for value in orders]) / demand


def rolling_bullwhip(orders: Sequence[Decimal | int | float], consumption: Sequence[Decimal | int | float], window: int) -> list[float | None]:
    """The bullwhip ratio over each window of `window` periods, one per window end (from the
    `window`-th period on), to compare before and after an agreement started."""
    if window < 2:
        raise ValueError("a bullwhip window needs at least two periods")
    if len(orders) != len(consumption):
        raise ValueError("orders and consumption need the same periods")
    return [bullwhip_ratio(orders[end - window : end], consumption[end - window : end]) for end in range(window, len(orders) + 1)]
