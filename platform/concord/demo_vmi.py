"""The demo's vendor-managed inventory: Northwind and Baltic agreed twelve weeks ago that
Baltic keeps three of Northwind's items stocked at the Stuttgart plant — bolts (seasonal
demand), aluminium sheet (rising demand) and seal kits (intermittent demand) — and
Northwind has shared a year of daily stock movements. Before the agreement Northwind
ordered in monthly batches; since, Baltic has replenished weekly. The first review runs
as the demo is seeded, so Baltic finds proposals on the first `make run`.

The history is simulated from a fixed seed, day by day: consumption from the item's weekly
demand, receipts from the replenishment of the time, a stock count at the end of every week. Weeks count back from the
day the demo is seeded, so every seeding tells the same story.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import clock
from concord.catalog.models import Location, Product
from concord.policy import Principal
from concord.vmi import agreements, review
from concord.vmi.models import RecordKind, RecordSource, StockRecord

HISTORY_WEEKS = 52
AGREED_WEEKS_AGO = 12
BUYER, SUPPLIER = "northwind", "baltic"


@dataclass(frozen=True)
class DemoItem:
    sku: str
    weekly_demand: Callable[[int, random.Random], float]  # week index from the start of the history
    terms: dict
    batch_weeks: int  # how often Northwind ordered before the agreement


def _seasonal(week: int, rng: random.Random) -> float:
    return max(0.0, 700 + 250 * math.sin(2 * math.pi * week / 52) + rng.gauss(0, 40))


def _trending(week: int, rng: random.Random) -> float:
    return max(0.0, 300 + 3 * week + rng.gauss(0, 20))


def _intermittent(week: int, rng: random.Random) -> float:
    return float(rng.randint(1, 4)) if rng.random() < 0.3 else 0.0


def _terms(price: str, basis: str, low: str, high: str, lead: int, level: str) -> dict:
    return {
        "unit_price": Decimal(price),
        "level_basis": basis,
        "min_level": Decimal(low),
        "max_level": Decimal(high),
        "review_period_days": 7,
        "lead_time_days": lead,
        "service_level": Decimal(level),
        "consignment": False,
    }


ITEMS = [
    DemoItem("NW-BLT-M8", _seasonal, _terms("0.12", "quantity", "600", "2400", 5, "95"), 4),
    DemoItem("NW-SHT-2MM", _trending, _terms("3.85", "days_of_supply", "7", "21", 7, "97.5"), 4),
    DemoItem("NW-SEAL-K1", _intermittent, _terms("24.50", "quantity", "2", "10", 10, "90"), 8),
]


def _simulate(item: DemoItem, rng: random.Random, first_day: date, agreed_on: date, days: int) -> list[tuple[date, RecordKind, Decimal]]:
    """Daily consumption, receipts and weekly counts. Before the agreement: a batch every
    `batch_weeks` weeks, up to that many weeks of demand plus two; since: every week, up
    to three weeks of demand — except this week's delivery, which is still due."""
    records: list[tuple[date, RecordKind, Decimal]] = []
    step = Decimal(1) if item.terms["level_basis"] == "quantity" else Decimal("0.001")
    stock, weekly = Decimal(0), Decimal(0)
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        if offset % 7 == 0:
            weekly = Decimal(repr(item.weekly_demand(offset // 7, rng))).quantize(step)
        receipt = Decimal(0)
        if day < agreed_on and offset % (7 * item.batch_weeks) == 0:
            receipt = max(weekly * (item.batch_weeks + 2) - stock, Decimal(0))
        elif agreed_on <= day < first_day + timedelta(days=days - 7) and offset % 7 == 0:
            receipt = max(weekly * 3 - stock, Decimal(0))
        if receipt > 0:
            records.append((day, RecordKind.RECEIPT, receipt))
            stock += receipt
        rate = float(weekly) / 7
        if step == 1:  # whole units: a day takes the whole part of the rate and the rest by chance
            wanted = Decimal(int(rate) + (1 if rng.random() < rate - int(rate) else 0))
        else:
            wanted = Decimal(repr(max(rate * (1 + rng.gauss(0, 0.1)), 0.0))).quantize(step)
        used = min(wanted, stock)
        if used > 0:
            records.append((day, RecordKind.CONSUMPTION, used))
            stock -= used
        if offset % 7 == 6:
            records.append((day, RecordKind.ON_HAND, stock))
    return records


def seed(session: Session, admins: dict[str, Principal]) -> None:
    """Write Northwind's catalogue items' year of history, propose and agree the agreement,
    and run its first review."""
    northwind, baltic = admins[BUYER], admins[SUPPLIER]
    today = clock.utcnow().date()
    first_day, agreed_on = today - timedelta(weeks=HISTORY_WEEKS), today - timedelta(weeks=AGREED_WEEKS_AGO)
    location = session.execute(sa.select(Location).where(Location.organization_id == northwind.org.id, Location.gln.is_not(None))).scalars().first()
    assert location is not None, "the demo's Northwind plant comes first"
    products = {p.sku: p for p in session.execute(sa.select(Product).where(Product.organization_id == northwind.org.id)).scalars()}
    rng, now = random.Random(2026), clock.utcnow()
    for item in ITEMS:
        product = products[item.sku]
        for n, (day, kind, quantity) in enumerate(_simulate(item, rng, first_day, agreed_on, HISTORY_WEEKS * 7)):
            session.add(
                StockRecord(
                    buyer_org_id=northwind.org.id,
                    record_id=f"demo-{item.sku}-{n:05d}",
                    product_id=product.id,
                    location_id=location.id,
                    kind=kind,
                    occurred_on=day,
                    quantity=quantity,
                    source=RecordSource.API,
                    created_by=northwind.user.id,
                    created_at=now,
                )
            )
    session.flush()
    terms = {
        "supplier_id": baltic.org.id,
        "currency": "EUR",
        "starts_on": agreed_on,
        "ends_on": today + timedelta(days=365),
        "max_order_value": Decimal("5000.00"),
        "max_period_value": Decimal("15000.00"),
        "period_days": 30,
        "baseline_inventory_value": Decimal("18000.00"),
        "holding_cost_rate": Decimal("20"),
        "supplier_share": Decimal("50"),
        "note": "Baltic keeps the Stuttgart plant's fasteners, sheet and seal kits within the agreed bands.",
        "items": [{"product_id": products[i.sku].id, "location_id": location.id, **i.terms} for i in ITEMS],
    }
    agreement = agreements.propose(session, northwind, terms)
    agreements.accept(session, baltic, agreement.id, "Agreed at the quarterly review")
    review.review(session, baltic, agreement.id)
