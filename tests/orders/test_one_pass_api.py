"""Every mistake of a fulfilment request in one 422: the service's own checks (beyond what
is left to ship, times before the shipment left or in the future, receipt totals) are
reported beside the fields the schema could not read, field by field, and nothing is
written."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from concord.db import database
from concord.orders.models import Milestone, PurchaseOrder, Receipt, Shipment

from tests import orders_factory
from tests.orders.test_fulfilment_api import delivered, now_iso, ship

OVER = "At most 10.000 more of line 1 can be shipped (confirmed 10.000, shipped 0)."


def count(app, model) -> int:
    with database(app).sessionmaker() as s:
        return s.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_a_shipment_reports_the_future_time_the_over_shipped_lot_and_the_unreadable_quantity_at_once(app, client, world, chain_worker, order):
    body = {
        "carrier_id": str(world.carrier.org.id),
        "shipped_at": now_iso(hours=3),
        "lines": [{"line_no": 1, "quantity": "11"}, {"line_no": 2, "quantity": "-1"}, {"line_no": 2, "lot_number": "L-9"}],
    }
    response = client.post(f"/api/v1/orders/{order}/shipments", json=body, headers=world.supplier.headers)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    assert errors["shipped_at"] == ["Cannot be in the future."]
    assert errors["lines"]["0"] == {"quantity": [OVER]}
    assert errors["lines"]["1"] == {"quantity": ["Must be greater than zero."]}
    assert errors["lines"]["2"] == {"quantity": ["Missing data for required field."]}
    # Junk where the lines go changes nothing but the messages: never a 500.
    junk = {
        **body,
        "lines": [{"line_no": [1], "quantity": "11"}, "x", {"line_no": 1, "quantity": "1e999999"}, {"line_no": 1, "quantity": "11", "lot_number": "L-3"}],
    }
    response = client.post(f"/api/v1/orders/{order}/shipments", json=junk, headers=world.supplier.headers)
    assert response.status_code == 422 and response.get_json()["errors"]["lines"]["3"] == {"quantity": [OVER]}
    assert ship(client, world, order, "lines").status_code == 422
    assert count(app, Shipment) == 0


def test_a_milestone_and_a_proof_of_delivery_report_every_mistake_at_once(app, client, world, chain_worker, order):
    shipment = ship(client, world, order, [{"line_no": 1, "quantity": "10"}, {"line_no": 2, "quantity": "4"}]).get_json()
    early = {"kind": "departed", "occurred_at": now_iso(days=-2), "location": "  "}
    response = client.post(f"/api/v1/shipments/{shipment['id']}/milestones", json=early, headers=world.carrier.headers)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["location"] == ["Must not be blank."] and errors["occurred_at"][0].startswith("Cannot be before the shipment left")
    future = {"receiver_name": "Gate 3", "delivered_at": now_iso(hours=2), "document_hash": "xyz"}
    response = client.post(f"/api/v1/shipments/{shipment['id']}/proof-of-delivery", json=future, headers=world.carrier.headers)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors == {"delivered_at": ["Cannot be in the future."], "document_hash": ["A SHA-256 as 64 hex digits."]}
    # Only the carrier is told about the shipment's times; the others keep their answers.
    response = client.post(f"/api/v1/shipments/{shipment['id']}/milestones", json=early, headers=world.supplier.headers)
    assert response.status_code == 422 and "occurred_at" not in response.get_json()["errors"]
    assert count(app, Milestone) == 0


def test_a_receipt_reports_totals_missing_reasons_and_unreadable_quantities_at_once(app, client, world, chain_worker, order):
    delivered(app, client, world, chain_worker, order)
    lines = [{"line_no": 1, "accepted_quantity": "8", "rejected_quantity": "1"}, {"line_no": 2, "accepted_quantity": "-1"}]
    response = client.post(f"/api/v1/orders/{order}/receipts", json={"lines": lines}, headers=world.buyer.headers)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["lines"]["0"]["accepted_quantity"][0].startswith("Accepted and rejected together must be the shipped 10.000")
    assert errors["lines"]["0"]["rejection_reason"] == ["Say why the goods are rejected."]
    assert errors["lines"]["1"] == {"accepted_quantity": ["Must not be negative."]}
    assert count(app, Receipt) == 0


def test_an_acknowledgement_reports_lines_beyond_the_ordered_quantity_beside_unreadable_ones(app, client, session, world):
    with app.test_request_context():
        issued = orders_factory.issued_order(session, world.buyer, world.supplier)
    session.commit()
    today = date.today().isoformat()
    body = {"lines": [{"line_no": 1, "confirmed_quantity": "11", "confirmed_date": today}, {"line_no": 2, "confirmed_quantity": "-1", "confirmed_date": today}]}
    response = client.post(f"/api/v1/orders/{issued.id}/acknowledge", json=body, headers=world.supplier.headers)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["lines"]["0"] == {"confirmed_quantity": ["At most the ordered 10.000."]}
    assert "confirmed_quantity" in errors["lines"]["1"]
    with database(app).sessionmaker() as s:
        assert s.get(PurchaseOrder, issued.id).state == "issued"
