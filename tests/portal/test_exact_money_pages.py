"""Exact money in the portal: the order form keeps every digit up to the bounds, and a
line or an order worth too much, or nothing, is refused on the form where it belongs."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from concord.db import database
from concord.orders.models import PurchaseOrder

from tests.portal.helpers import field_error, text

SOON = (date.today() + timedelta(days=14)).isoformat()


def form(world, shop, *lines) -> dict[str, str]:
    fields = {
        "number": "PO-EXACT-PORTAL",
        "supplier_id": str(world.supplier.org.id),
        "currency": "EUR",
        "ship_to_location_id": shop["location"],
        "incoterm": "DAP",
        "payment_terms": "Escrow",
        "line_rows": "3",
    }
    for row in range(3):
        quantity, price = lines[row] if row < len(lines) else ("", "")
        fields.update(
            {
                f"lines-{row}-product_id": shop["products"][row] if quantity else "",
                f"lines-{row}-quantity": quantity,
                f"lines-{row}-unit_price": price,
                f"lines-{row}-requested_date": SOON if quantity else "",
            }
        )
    return fields


def orders_written(app) -> int:
    with database(app).sessionmaker() as s:
        return s.execute(sa.select(sa.func.count()).select_from(PurchaseOrder)).scalar_one()


def test_the_order_form_keeps_every_digit_of_a_large_order(app, world, shop, signed_in):
    buyer = signed_in(world.buyer)
    created = buyer.post("/orders/new", form(world, shop, ("9007199254.741", "1000001.0001")))
    assert created.status_code == 302, text(created)[:2000]
    shown = text(buyer.get(created.headers["Location"]))
    assert "9,007,208,262,840,974.67 EUR" in shown


def test_the_order_form_names_a_line_worth_too_much_and_an_order_worth_nothing(app, world, shop, signed_in):
    buyer = signed_in(world.buyer)
    too_much = buyer.post("/orders/new", form(world, shop, ("1", "5"), ("999999999999", "999999999999.9999")))
    assert too_much.status_code == 422
    assert "a line may be worth at most 9999999999999999.99" in field_error(too_much, "lines-1-amount")[0]
    nothing = buyer.post("/orders/new", form(world, shop, ("1", "0.0049"), ("1", "0.0049"), ("1", "0.0049")))
    assert nothing.status_code == 422
    assert "at least 0.01" in field_error(nothing, "total")[0]
    assert orders_written(app) == 0
