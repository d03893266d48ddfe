"""The stock position read back from shared records, on a small example worked by hand:
counts reset the balance, receipts add, consumption takes away; the weekly consumption
history the forecast takes."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from concord.errors import NotFound, ValidationFailed
from concord.vmi import forecast, review, stock
from concord.vmi.models import StockRecord

from tests.vmi.stock_helpers import rec, stock_catalog, today

D = Decimal


@pytest.fixture
def series(session, world):
    (bolt,), store = stock_catalog(session, world.buyer)
    monday = today() - timedelta(days=today().weekday() + 35)
    day = lambda n: monday + timedelta(days=n)  # noqa: E731
    records = [
        rec("P-0", bolt, store, kind="on_hand", day=day(-1), quantity="100"),  # before the period: the opening balance
        rec("P-1", bolt, store, kind="receipt", day=day(0), quantity="20"),
        rec("P-2", bolt, store, kind="consumption", day=day(0), quantity="5"),
        rec("P-3", bolt, store, kind="consumption", day=day(1), quantity="10"),
        rec("P-4", bolt, store, kind="consumption", day=day(2), quantity="3"),
        rec("P-5", bolt, store, kind="on_hand", day=day(2), quantity="90"),  # the count includes that day's consumption
        rec("P-6", bolt, store, kind="consumption", day=day(6), quantity="7"),
        rec("P-7", bolt, store, kind="receipt", day=day(7), quantity="10.5"),
        rec("P-8", bolt, store, kind="consumption", day=day(9), quantity="2.25"),
    ]
    result = stock.share(session, world.buyer.principal, records)
    assert result.counts == {"kept": 9, "unchanged": 0, "rejected": 0}
    return bolt, store, monday


def test_the_daily_position_and_weekly_consumption_of_a_worked_example(session, world, series):
    bolt, store, monday = series
    found = stock.position(session, world.buyer.principal, bolt.id, store.id, monday, monday + timedelta(days=13))
    assert [day.on_hand for day in found.days] == [
        D(x) for x in ("115", "105", "90", "90", "90", "90", "83", "93.5", "93.5", "91.25", "91.25", "91.25", "91.25", "91.25")
    ]
    assert found.days[2].counted == D("90") and found.days[2].consumption == D("3")
    assert found.days[0].receipts == D("20") and found.days[0].counted is None
    assert found.counted_since == monday + timedelta(days=2)
    assert found.weeks == (monday, monday + timedelta(days=7))
    assert found.weekly_consumption == (D("25"), D("2.25"))
    # A period starting after the count builds on it; a week cut by the period is left out.
    later = stock.position(session, world.buyer.principal, bolt.id, store.id, monday + timedelta(days=5), monday + timedelta(days=9))
    assert [day.on_hand for day in later.days] == [D("90"), D("83"), D("93.5"), D("93.5"), D("91.25")]
    assert later.weeks == () and later.weekly_consumption == ()
    assert later.counted_since == monday + timedelta(days=2)


def test_without_any_count_the_position_starts_from_zero(session, world):
    (bolt,), store = stock_catalog(session, world.buyer)
    day = today() - timedelta(days=3)
    stock.share(
        session,
        world.buyer.principal,
        [rec("Z-1", bolt, store, kind="receipt", day=day, quantity="4"), rec("Z-2", bolt, store, kind="consumption", day=day, quantity="1")],
    )
    found = stock.position(session, world.buyer.principal, bolt.id, store.id, day - timedelta(days=1), day)
    assert [d.on_hand for d in found.days] == [D("0"), D("3")] and found.counted_since is None


def test_the_weekly_history_feeds_the_forecast(session, world):
    (bolt,), store = stock_catalog(session, world.buyer)
    last_sunday = today() - timedelta(days=today().weekday() + 1)
    records = [rec(f"F-{week}", bolt, store, kind="consumption", day=last_sunday - timedelta(days=7 * week), quantity=str(10 + week % 3)) for week in range(13)]
    stock.share(session, world.buyer.principal, records)
    history = review.history(session, world.buyer.org.id, bolt.id, store.id, today()).weekly_consumption  # weeks ending yesterday
    assert history == [D(10 + week % 3) for week in reversed(range(13))]
    assert len(forecast.forecast(history, 4).point) == 4


def test_another_buyers_product_is_not_found_and_a_reversed_period_is_refused(session, world, series):
    bolt, store, monday = series
    with pytest.raises(NotFound):
        stock.position(session, world.buyer2.principal, bolt.id, store.id, monday, monday)
    with pytest.raises(NotFound):
        stock.position(session, world.buyer.principal, uuid.uuid4(), store.id, monday, monday)
    with pytest.raises(ValidationFailed):
        stock.position(session, world.buyer.principal, bolt.id, store.id, monday, monday - timedelta(days=1))
    # A scope that lets another organization read (as an agreement will for its supplier).
    shared = stock.position(
        session, world.supplier.principal, bolt.id, store.id, monday, monday, scope=lambda _p: StockRecord.buyer_org_id == world.buyer.org.id
    )
    assert shared.days[0].on_hand == D("115")
