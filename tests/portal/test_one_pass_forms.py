"""Every mistake of a fulfilment form in one answer: the shipment, milestone, proof of
delivery and receipt forms report the service's own checks (over-shipping, times before the
shipment left or in the future, receipt totals) beside the fields the form could not read,
each at its field and listed in an error summary at the top of the form, focused on
arrival; nothing is written."""

from __future__ import annotations

from datetime import timedelta

from concord import clock
from concord.orders.models import Milestone, OrderState, PurchaseOrder, Receipt, Shipment, ShipmentState

from tests.portal.helpers import error_summary, field_error
from tests.portal.test_fulfilment_pages import acknowledged, count, delivered, fetch, local, ship_form, shipped

OVER = "At most 10.000 more of line 1 can be shipped (confirmed 10.000, shipped 0)."


def test_every_mistake_of_a_shipment_is_reported_in_one_pass(app, world, session, signed_in, funded):
    order = acknowledged(app, session, world, funded)
    supplier = signed_in(world.supplier)
    form = ship_form(
        world.carrier,
        shipped_at=local(clock.utcnow() + timedelta(hours=3), 0),
        **{"ship-1-quantity": "11", "ship-2-quantity": "-1", "ship-2-lot_number_2": "L-9"},
    )
    response = supplier.post(f"/orders/{order.id}/shipments", form)
    assert response.status_code == 422
    assert field_error(response, "shipped_at") == ["Cannot be in the future."]
    assert field_error(response, "ship-1-quantity") == [OVER]
    assert field_error(response, "ship-2-quantity") == ["Must be greater than zero."]
    assert field_error(response, "ship-2-quantity_2") == ["Missing data for required field."]
    assert error_summary(response, "ship-errors") == [
        ("shipped_at", "Shipped at: Cannot be in the future."),
        ("ship-1-quantity", f"Line 1, quantity: {OVER}"),
        ("ship-2-quantity", "Line 2, quantity: Must be greater than zero."),
        ("ship-2-quantity_2", "Line 2, second lot quantity: Missing data for required field."),
    ]
    # An unreadable time beside a lot beyond what is left to ship: both at once too.
    unreadable = supplier.post(f"/orders/{order.id}/shipments", {**ship_form(world.carrier, **{"ship-1-quantity": "11"}), "shipped_at": "soon"})
    assert unreadable.status_code == 422
    assert field_error(unreadable, "shipped_at") == ["Not a valid datetime."]
    assert field_error(unreadable, "ship-1-quantity") == [OVER]
    assert count(app, Shipment) == 0 and fetch(app, PurchaseOrder, order.id).state == OrderState.ACKNOWLEDGED


def test_every_mistake_of_a_milestone_and_a_proof_of_delivery_is_reported_in_one_pass(app, world, session, signed_in, funded):
    order = acknowledged(app, session, world, funded)
    shipment = shipped(app, session, world, order)
    carrier = signed_in(world.carrier)
    early = carrier.post(f"/shipments/{shipment.id}/milestones", {"kind": "", "occurred_at": local(clock.utcnow() - timedelta(days=2), 0), "location": " "})
    assert early.status_code == 422
    assert field_error(early, "kind") == ["Missing data for required field."]
    assert field_error(early, "location") == ["Must not be blank."]
    assert field_error(early, "occurred_at")[0].startswith("Cannot be before the shipment left")
    assert [field for field, _ in error_summary(early, "milestone-errors")] == ["kind", "milestone-location", "occurred_at"]
    assert error_summary(early, "milestone-errors")[1] == ("milestone-location", "Location: Must not be blank.")

    future = carrier.post(
        f"/shipments/{shipment.id}/proof-of-delivery",
        {"receiver_name": "", "delivered_at": local(clock.utcnow() + timedelta(hours=2), 0), "document_hash": "xyz"},
    )
    assert future.status_code == 422
    assert field_error(future, "receiver_name") == ["Missing data for required field."]
    assert field_error(future, "delivered_at") == ["Cannot be in the future."]
    assert field_error(future, "document_hash") == ["A SHA-256 as 64 hex digits."]
    assert error_summary(future, "delivery-errors") == [
        ("receiver_name", "Receiver name: Missing data for required field."),
        ("delivered_at", "Delivered at: Cannot be in the future."),
        ("document_hash", "Delivery note SHA-256: A SHA-256 as 64 hex digits."),
    ]
    assert count(app, Milestone) == 0 and fetch(app, Shipment, shipment.id).state == ShipmentState.IN_TRANSIT


def test_every_mistake_of_a_receipt_is_reported_in_one_pass(app, world, session, signed_in, funded):
    order = acknowledged(app, session, world, funded)
    delivered(app, session, world, funded, order)
    buyer = signed_in(world.buyer)
    response = buyer.post(
        f"/orders/{order.id}/receipt",
        {"receipt-1-accepted_quantity": "8", "receipt-1-rejected_quantity": "1", "receipt-2-accepted_quantity": "-1"},
    )
    assert response.status_code == 422
    totals = "Accepted and rejected together must be the shipped 10.000 (count missing goods as rejected, with a reason)."
    assert field_error(response, "receipt-1-accepted_quantity") == [totals]
    assert field_error(response, "receipt-1-rejection_reason") == ["Say why the goods are rejected."]
    assert field_error(response, "receipt-2-accepted_quantity") == ["Must not be negative."]
    assert error_summary(response, "receipt-errors") == [
        ("receipt-1-accepted_quantity", f"Line 1, accepted: {totals}"),
        ("receipt-1-rejection_reason", "Line 1, reason for rejecting: Say why the goods are rejected."),
        ("receipt-2-accepted_quantity", "Line 2, accepted: Must not be negative."),
    ]
    assert count(app, Receipt) == 0 and fetch(app, PurchaseOrder, order.id).state == OrderState.DELIVERED
