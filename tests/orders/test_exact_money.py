"""Money and quantities are exact on every database, at the bounds the API enforces, and an
order is worth at least one minor unit: through the API, the database and the chain."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord.db import ExactDecimal, database
from concord.orders.models import OrderLine, PurchaseOrder
from concord.orders.service import MAX_AMOUNT

from tests import orders_factory
from tests.ledger_helpers import settle

SOON = (date.today() + timedelta(days=14)).isoformat()


def body(world, shop, *lines, number="PO-EXACT-1"):
    return {
        "number": number,
        "supplier_id": str(world.supplier.org.id),
        "currency": "EUR",
        "ship_to_location_id": shop["location"],
        "incoterm": "DAP",
        "payment_terms": "Escrow",
        "lines": [
            {"product_id": shop["products"][index], "quantity": quantity, "unit_price": price, "requested_date": SOON}
            for index, (quantity, price) in enumerate(lines)
        ],
    }


def stored(app, order_id):
    with database(app).sessionmaker() as session:
        order = session.get(PurchaseOrder, uuid.UUID(str(order_id)))
        return order.total, [(line.quantity, line.unit_price, line.amount) for line in order.lines]


def orders_written(app) -> int:
    with database(app).sessionmaker() as session:
        return session.execute(sa.select(sa.func.count()).select_from(PurchaseOrder)).scalar_one()


@pytest.mark.parametrize(
    ("quantity", "unit_price", "amount"),
    [
        # The largest quantity the API takes, at the unit price that brings the line closest
        # to the largest amount an order may be worth.
        ("999999999999.999", "9999.9999", "9999999899999990.00"),
        # Seen stored as ...974.00 on SQLite when it kept floats.
        ("9007199254.741", "1000001.0001", "9007208262840974.67"),
        ("1", "9999999999999.9999", "9999999999999.9999"),
    ],
)
def test_extreme_values_round_trip_exactly_through_the_api(app, client, world, shop, quantity, unit_price, amount):
    created = client.post("/api/v1/orders", json=body(world, shop, (quantity, unit_price)), headers=world.buyer.headers)
    # 9999999999999.9999 is over the unit-price bound: refused by name, nothing written.
    if Decimal(unit_price) >= 10**12:
        assert created.status_code == 422
        assert created.get_json()["errors"]["lines"]["0"]["unit_price"] == ["At most 999999999999.9999."]
        assert orders_written(app) == 0
        return
    assert created.status_code == 201, created.get_json()
    order = created.get_json()
    assert order["lines"][0]["quantity"] == f"{Decimal(quantity):.3f}"
    assert order["lines"][0]["unit_price"] == f"{Decimal(unit_price):.4f}"
    assert order["lines"][0]["amount"] == amount and order["total"] == amount
    read = client.get(f"/api/v1/orders/{order['id']}", headers=world.buyer.headers).get_json()
    assert (read["total"], read["lines"][0]["amount"], read["lines"][0]["quantity"]) == (amount, amount, order["lines"][0]["quantity"])
    total, [(stored_quantity, stored_price, stored_amount)] = stored(app, order["id"])
    assert (total, stored_amount, stored_quantity, stored_price) == (Decimal(amount), Decimal(amount), Decimal(quantity), Decimal(unit_price))
    issued = client.post(f"/api/v1/orders/{order['id']}/issue", headers=world.buyer.headers).get_json()
    assert issued["total"] == amount


def test_a_line_or_a_total_beyond_what_an_order_may_be_worth_is_refused_by_field(app, client, world, shop):
    over_a_line = client.post("/api/v1/orders", json=body(world, shop, ("999999999999", "999999999999.9999")), headers=world.buyer.headers)
    assert over_a_line.status_code == 422
    assert over_a_line.headers["Content-Type"].startswith("application/problem+json")
    assert "at most 9999999999999999.99" in over_a_line.get_json()["errors"]["lines"]["0"]["amount"][0]
    # Each line fits; together they do not.
    over_the_total = client.post("/api/v1/orders", json=body(world, shop, ("600000000000", "10000"), ("600000000000", "10000")), headers=world.buyer.headers)
    assert over_the_total.status_code == 422
    assert "at most 9999999999999999.99" in over_the_total.get_json()["errors"]["total"][0]
    assert orders_written(app) == 0
    assert MAX_AMOUNT == Decimal("9999999999999999.99")


def test_an_order_worth_nothing_is_refused_before_anything_is_written(app, client, world, shop):
    # 3 lines x 1 x 0.0049 = 0.0147, each line 0.00: nothing an escrow could hold.
    response = client.post("/api/v1/orders", json=body(world, shop, ("1", "0.0049"), ("1", "0.0049"), ("1", "0.0049")), headers=world.buyer.headers)
    assert response.status_code == 422, response.get_json()
    assert "at least 0.01" in response.get_json()["errors"]["total"][0]
    assert orders_written(app) == 0
    smallest = client.post("/api/v1/orders", json=body(world, shop, ("0.001", "10")), headers=world.buyer.headers)
    assert smallest.status_code == 201 and smallest.get_json()["total"] == "0.01"
    # A draft edited down to nothing is refused too, and keeps its lines.
    oid = smallest.get_json()["id"]
    emptied = client.patch(f"/api/v1/orders/{oid}", json={"lines": body(world, shop, ("0.001", "1"))["lines"]}, headers=world.buyer.headers)
    assert emptied.status_code == 422 and "total" in emptied.get_json()["errors"]
    assert stored(app, oid)[0] == Decimal("0.01")


def test_a_draft_worth_nothing_from_before_the_check_cannot_be_issued(app, client, session, world):
    with app.test_request_context():
        order = orders_factory.draft_order(session, world.buyer, world.supplier, lines=((Decimal("1"), Decimal("2")),))
    session.commit()
    with database(app).sessionmaker() as s:  # as rows written before totals were checked
        s.execute(sa.update(OrderLine).where(OrderLine.order_id == order.id).values(unit_price=Decimal("0.0049"), amount=Decimal("0.00")))
        s.execute(sa.update(PurchaseOrder).where(PurchaseOrder.id == order.id).values(total=Decimal("0.00")))
        s.commit()
    response = client.post(f"/api/v1/orders/{order.id}/issue", headers=world.buyer.headers)
    assert response.status_code == 422 and "total" in response.get_json()["errors"]
    assert client.get(f"/api/v1/orders/{order.id}", headers=world.buyer.headers).get_json()["state"] == "draft"


def test_a_confirmed_part_or_a_proposal_worth_nothing_is_refused(app, client, session, world):
    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier, lines=((Decimal("1"), Decimal("0.0049")), (Decimal("10"), Decimal("5"))))
    session.commit()
    soon = date.today().isoformat()
    only_the_cheap_line = {
        "lines": [{"line_no": 1, "confirmed_quantity": "1", "confirmed_date": soon}, {"line_no": 2, "confirmed_quantity": "0", "confirmed_date": soon}]
    }
    refused = client.post(f"/api/v1/orders/{order.id}/acknowledge", json=only_the_cheap_line, headers=world.supplier.headers)
    assert refused.status_code == 422 and "at least 0.01" in refused.get_json()["errors"]["total"][0]
    proposal = client.post(
        f"/api/v1/orders/{order.id}/change-proposals", json={"lines": [{"line_no": 2, "unit_price": "0.0001"}]}, headers=world.supplier.headers
    )
    assert proposal.status_code == 422 and "total" in proposal.get_json()["errors"]
    state = client.get(f"/api/v1/orders/{order.id}", headers=world.supplier.headers).get_json()
    assert state["state"] == "issued" and state["confirmed_total"] is None


def test_a_large_order_is_funded_on_chain_to_the_token_unit(app, client, world, shop, chain_worker):
    minted = client.post(
        "/api/v1/ledger/mint",
        json={"organization_id": str(world.buyer.org.id), "currency": "EUR", "amount": "999999999999999.999999"},
        headers=world.operator.headers,
    )
    assert minted.status_code in (200, 201, 202), minted.get_json()
    settle(app, chain_worker)
    balance = {b["currency"]: b["balance"] for b in client.get("/api/v1/ledger/balances", headers=world.buyer.headers).get_json()}["EUR"]
    assert Decimal(balance) == Decimal("999999999999999.999999") + Decimal("50000")  # beyond SQLite's 64-bit integers in units
    created = client.post("/api/v1/orders", json=body(world, shop, ("123456789.123", "7654321.9876")), headers=world.buyer.headers).get_json()
    assert created["total"] == "944978015502675.42"
    client.post(f"/api/v1/orders/{created['id']}/issue", headers=world.buyer.headers)
    acknowledged = client.post(
        f"/api/v1/orders/{created['id']}/acknowledge",
        json={"lines": [{"line_no": 1, "confirmed_quantity": "123456789.123", "confirmed_date": date.today().isoformat()}]},
        headers=world.supplier.headers,
    )
    assert acknowledged.status_code == 200, acknowledged.get_json()
    assert acknowledged.get_json()["confirmed_total"] == "944978015502675.42"
    settle(app, chain_worker)
    escrow = client.get(f"/api/v1/orders/{created['id']}/escrow", headers=world.buyer.headers).get_json()
    assert Decimal(escrow["amount"]) == Decimal("944978015502675.42"), escrow
    after = {b["currency"]: b["balance"] for b in client.get("/api/v1/ledger/balances", headers=world.buyer.headers).get_json()}["EUR"]
    assert Decimal(after) == Decimal(balance) - Decimal("944978015502675.42")


def test_the_column_type_refuses_what_it_cannot_hold_exactly():
    amount = ExactDecimal(18, 2)
    assert amount.exact(Decimal("9999999999999999.99")) == Decimal("9999999999999999.99")
    with pytest.raises(ValueError, match="decimal places"):
        amount.exact(Decimal("0.001"))
    with pytest.raises(ValueError, match="does not fit"):
        amount.exact(Decimal("10000000000000000"))
    with pytest.raises(ValueError, match="finite"):
        amount.exact(Decimal("NaN"))
