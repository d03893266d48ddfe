"""Orders made through the real services: a buyer's product and location, then a draft or
an issued order to a supplier partner."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

from concord import clock
from concord.catalog import service as catalog
from concord.orders import service as orders
from concord.orders.models import Dispute, DisputeState, OrderState, Shipment, ShipmentLine, ShipmentState
from sqlalchemy.orm import Session

from tests.factories import Member

_numbers = itertools.count(1)


def catalog_of(session: Session, buyer: Member, count: int = 2):
    n = next(_numbers)
    products = [
        catalog.create_product(session, buyer.principal, {"sku": f"P{n}-{i}", "name": f"Part {n}-{i}", "unit_of_measure": "H87"}) for i in range(1, count + 1)
    ]
    location = catalog.create_location(
        session, buyer.principal, {"name": f"Plant {n}", "address_line1": "Werkstrasse 7", "postal_code": "70565", "city": "Stuttgart", "country": "DE"}
    )
    return products, location


def draft_order(session: Session, buyer: Member, supplier: Member, *, lines=((Decimal("10"), Decimal("2.50")), (Decimal("4"), Decimal("12.125")))):
    products, location = catalog_of(session, buyer, len(lines))
    return orders.create_order(
        session,
        buyer.principal,
        {
            "number": f"PO-{next(_numbers):05d}",
            "supplier_id": supplier.org.id,
            "currency": "EUR",
            "ship_to_location_id": location.id,
            "incoterm": "DAP",
            "payment_terms": "Escrow, released on receipt",
            "lines": [
                {"product_id": product.id, "quantity": quantity, "unit_price": price, "requested_date": date.today() + timedelta(days=14)}
                for product, (quantity, price) in zip(products, lines, strict=False)
            ],
        },
    )


def issued_order(session: Session, buyer: Member, supplier: Member, **kwargs):
    order = draft_order(session, buyer, supplier, **kwargs)
    return orders.issue(session, buyer.principal, order.id)


def shipped_and_disputed(session: Session, buyer: Member, supplier: Member, carrier: Member, arbiter: Member):
    """A shipment of an order and a dispute on it, written as rows without the escrow behind
    them: for tests that need the objects (access, fuzzing), not the story (tests/orders)."""
    order = issued_order(session, buyer, supplier)
    order.state, order.confirmed_total = OrderState.DISPUTED, order.total
    for line in order.lines:
        line.confirmed_quantity = line.quantity
    shipment = Shipment(
        order_id=order.id,
        number=1,
        buyer_org_id=buyer.org.id,
        supplier_org_id=supplier.org.id,
        carrier_org_id=carrier.org.id,
        state=ShipmentState.IN_TRANSIT,
        shipped_at=clock.utcnow(),
        created_by=supplier.admin.id,
        lines=[ShipmentLine(position=1, order_line_id=order.lines[0].id, line_no=1, quantity=Decimal(1))],
    )
    dispute = Dispute(
        order_id=order.id,
        buyer_org_id=buyer.org.id,
        supplier_org_id=supplier.org.id,
        arbiter_org_id=arbiter.org.id,
        opened_by_org_id=supplier.org.id,
        opened_by=supplier.admin.id,
        state=DisputeState.OPEN,
        reason="Unpaid",
        order_state_before="shipped",
    )
    session.add_all([shipment, dispute])
    session.flush()
    return shipment, dispute
