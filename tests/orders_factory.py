"""Orders made through the real services: a buyer's product and location, then a draft or
an issued order to a supplier partner."""
from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from concord.catalog import service as catalog
from concord.orders import service as orders
from tests.factories import Member

_numbers = itertools.count(1)


def catalog_of(session: Session, buyer: Member, count: int = 2):
    n = next(_numbers)
    products = [
        catalog.create_product(session, buyer.principal, {"sku": f"P{n}-{i}", "name": f"Part {n}-{i}", "unit_of_measure": "H87"})
        for i in range(1, count + 1)
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
            "number": f"PO-{next(_numbers):05d}", "supplier_id": supplier.org.id, "currency": "EUR",
            "ship_to_location_id": location.id, "incoterm": "DAP", "payment_terms": "Escrow, released on receipt",
            "lines": [
                {"product_id": product.id, "quantity": quantity, "unit_price": price, "requested_date": date.today() + timedelta(days=14)}
                for product, (quantity, price) in zip(products, lines)
            ],
        },
    )


def issued_order(session: Session, buyer: Member, supplier: Member, **kwargs):
    order = draft_order(session, buyer, supplier, **kwargs)
    return orders.issue(session, buyer.principal, order.id)
