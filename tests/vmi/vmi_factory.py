"""VMI agreements made through the real services: a buyer's products at one of its
locations, proposed to a supplier partner."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from concord import clock
from concord.vmi.models import RecordKind, RecordSource, StockRecord
from sqlalchemy.orm import Session

from tests import orders_factory
from tests.factories import Member


def item(product_id, location_id, **overrides: Any) -> dict[str, Any]:
    return {
        "product_id": product_id,
        "location_id": location_id,
        "unit_price": Decimal("2.50"),
        "level_basis": "quantity",
        "min_level": Decimal("100"),
        "max_level": Decimal("400"),
        "review_period_days": 7,
        "lead_time_days": 5,
        "service_level": Decimal("95"),
        "consignment": False,
        **overrides,
    }


def agreement_input(session: Session, buyer: Member, supplier: Member, *, products: int = 2, **overrides: Any) -> dict[str, Any]:
    """Version 1 of an agreement for `products` new products of the buyer at a new location."""
    made, location = orders_factory.catalog_of(session, buyer, products)
    return {
        "supplier_id": supplier.org.id,
        "currency": "EUR",
        "starts_on": date.today(),
        "ends_on": date.today() + timedelta(days=365),
        "max_order_value": Decimal("5000.00"),
        "max_period_value": Decimal("20000.00"),
        "period_days": 30,
        "baseline_inventory_value": None,
        "holding_cost_rate": None,
        "supplier_share": None,
        "note": None,
        "items": [item(product.id, location.id) for product in made],
        **overrides,
    }


def terms_of(agreement_terms) -> dict[str, Any]:
    """The terms of an agreed version as input for an amendment (to change a few of them)."""
    keys = (
        "starts_on",
        "ends_on",
        "max_order_value",
        "max_period_value",
        "period_days",
        "baseline_inventory_value",
        "holding_cost_rate",
        "supplier_share",
        "self_billing_tax_rate",
    )
    return {
        **{key: getattr(agreement_terms, key) for key in keys},
        "note": None,
        "items": [
            item(
                i.product_id,
                i.location_id,
                unit_price=i.unit_price,
                level_basis=str(i.level_basis),
                min_level=i.min_level,
                max_level=i.max_level,
                review_period_days=i.review_period_days,
                lead_time_days=i.lead_time_days,
                service_level=i.service_level,
                consignment=i.consignment,
            )
            for i in agreement_terms.items
        ],
    }


def share_history(session: Session, buyer: Member, product_id, location_id, weekly: list, *, on_hand=None, until: date | None = None) -> None:
    """Consumption of `weekly[k]` in each of the weeks before `until` (default today), the
    last week ending yesterday, one record a week on its last day; and a count of `on_hand`
    yesterday. Written as rows (what the buyer's feed stores), not through the feed."""
    until = until or date.today()
    now = clock.utcnow()
    for k, quantity in enumerate(weekly):
        day = until - timedelta(days=1 + 7 * (len(weekly) - 1 - k))
        session.add(
            StockRecord(
                buyer_org_id=buyer.org.id,
                record_id=f"c-{product_id}-{location_id}-{day.isoformat()}",
                product_id=product_id,
                location_id=location_id,
                kind=RecordKind.CONSUMPTION,
                occurred_on=day,
                quantity=Decimal(quantity),
                source=RecordSource.API,
                created_by=buyer.admin.id,
                created_at=now,
            )
        )
    if on_hand is not None:
        session.add(
            StockRecord(
                buyer_org_id=buyer.org.id,
                record_id=f"s-{product_id}-{location_id}-{until.isoformat()}",
                product_id=product_id,
                location_id=location_id,
                kind=RecordKind.ON_HAND,
                occurred_on=until - timedelta(days=1),
                quantity=Decimal(on_hand),
                source=RecordSource.API,
                created_by=buyer.admin.id,
                created_at=now,
            )
        )
    session.flush()
