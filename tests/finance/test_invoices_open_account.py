"""An order on open account, from issue to the paid invoice, through the API: nothing is
escrowed (no escrow transaction at all), the receipt closes the order, no dispute or release
is open to the parties, the buyer approves the invoice as a payable, and an approved payable
left unpaid past its due date is told to both sides once."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from concord import clock
from concord.finance import invoices
from concord.finance.models import Invoice, InvoiceState, Settlement
from concord.ledger.escrow import ESCROW_SUBJECT
from concord.ledger.models import ChainIntent
from concord.notifications.models import Notification, WebhookDelivery
from concord.notifications.service import create_subscription

from tests import orders_factory
from tests.finance.invoice_factory import invoice, received_order, set_terms
from tests.ledger_helpers import settle


def now_iso(**delta) -> str:
    return (clock.utcnow() + timedelta(**delta)).isoformat()


def test_an_open_account_order_runs_without_escrow_and_closes_on_its_receipt(app, client, session, world, chain_worker):
    set_terms(session, world.buyer, world.supplier, settlement=Settlement.OPEN_ACCOUNT, net_days=30)
    order = orders_factory.issued_order(session, world.buyer, world.supplier)
    session.commit()
    url, buyer, supplier = f"/api/v1/orders/{order.id}", world.buyer.headers, world.supplier.headers
    answers = {"lines": [{"line_no": n, "confirmed_quantity": q, "confirmed_date": date.today().isoformat()} for n, q in ((1, "10"), (2, "4"))]}
    acknowledged = client.post(f"{url}/acknowledge", json=answers, headers=supplier)
    assert acknowledged.status_code == 200, acknowledged.get_json()
    assert acknowledged.get_json()["settlement"] == "open_account" and "ship" in acknowledged.get_json()["allowed_actions"]
    shipment_body = {
        "carrier_id": str(world.carrier.org.id),
        "tracking_number": "TRK-OA",
        "shipped_at": now_iso(hours=-2),
        "lines": [{"line_no": 1, "quantity": "10"}, {"line_no": 2, "quantity": "4"}],
    }
    shipment = client.post(f"{url}/shipments", json=shipment_body, headers=supplier)
    assert shipment.status_code == 201, shipment.get_json()
    cancel = client.post(f"{url}/cancel", json={"reason": "Changed my mind"}, headers=buyer)
    assert cancel.status_code == 409 and "goods are shipped" in cancel.get_json()["detail"]
    pod = {"receiver_name": "Goods-in", "delivered_at": now_iso(minutes=-1), "document_hash": "AB" * 32}
    assert client.post(f"/api/v1/shipments/{shipment.get_json()['id']}/proof-of-delivery", json=pod, headers=world.carrier.headers).status_code == 201
    settle(app, chain_worker)
    delivered = client.get(url, headers=buyer).get_json()
    assert delivered["state"] == "delivered" and "open_dispute" not in delivered["allowed_actions"] and "receive" in delivered["allowed_actions"]
    dispute = client.post(f"{url}/disputes", json={"reason": "Scratched"}, headers=buyer)
    assert dispute.status_code == 409 and "open account" in dispute.get_json()["detail"]
    receipt = {
        "lines": [{"line_no": 1, "accepted_quantity": "8", "rejected_quantity": "2", "rejection_reason": "Bent"}, {"line_no": 2, "accepted_quantity": "4"}]
    }
    received = client.post(f"{url}/receipts", json=receipt, headers=buyer)
    assert received.status_code == 201, received.get_json()
    closed = client.get(url, headers=supplier).get_json()
    assert closed["state"] == "closed" and closed["allowed_actions"] == []
    session.expire_all()
    escrow_steps = session.execute(sa.select(ChainIntent.function).where(ChainIntent.subject_type == ESCROW_SUBJECT)).scalars().all()
    assert escrow_steps == [], "an open-account order escrows nothing"

    proposal = client.get(f"{url}/invoice-proposal", headers=supplier).get_json()
    assert [(line["order_line_no"], line["quantity"]) for line in proposal["lines"]] == [(1, "8.000"), (2, "4.000")]
    lines = [
        {"order_line_no": line["order_line_no"], "quantity": line["quantity"], "unit_price": line["unit_price"], "tax_rate": "0"} for line in proposal["lines"]
    ]
    created = client.post(
        "/api/v1/invoices", json={"order_id": str(order.id), "number": "OA-1", "issue_date": date.today().isoformat(), "lines": lines}, headers=supplier
    )
    made = created.get_json()
    assert created.status_code == 201 and (made["state"], made["settlement"], made["total"]) == ("matched", "open_account", "68.50")
    assert made["due_date"] == (date.today() + timedelta(days=30)).isoformat()
    approved = client.post(f"/api/v1/invoices/{made['id']}/approve", json={}, headers=buyer).get_json()
    assert approved["state"] == "approved" and approved["allowed_actions"] == ["pay"]


def test_an_overdue_payable_is_told_to_both_sides_once(app, session, world, frozen_clock):
    set_terms(session, world.buyer, world.supplier, settlement=Settlement.OPEN_ACCOUNT, net_days=5)
    for member in (world.buyer, world.supplier):
        create_subscription(session, member.principal, {"url": "https://erp.example.com/hooks", "events": ["invoice.overdue"]})
    session.commit()
    unpaid = invoice(session, world.supplier, received_order(session, world.buyer, world.supplier))
    paid = invoice(session, world.supplier, received_order(session, world.buyer, world.supplier))
    pending = invoice(session, world.supplier, received_order(session, world.buyer, world.supplier))  # never approved: not a payable
    for made in (unpaid, paid):
        invoices.approve(session, world.buyer.principal, made.id)
    invoices.mark_paid(session, paid.id, paid.total, clock.utcnow())
    session.commit()
    assert invoices.notify_overdue(app) == 0  # not due yet
    frozen_clock.advance(days=6)
    assert invoices.notify_overdue(app) == 1
    assert invoices.notify_overdue(app) == 0  # once only
    session.expire_all()
    told = session.execute(sa.select(Notification.organization_id, Notification.object_id).where(Notification.event == "invoice.overdue")).all()
    assert sorted(told) == sorted([(world.buyer.org.id, str(unpaid.id)), (world.supplier.org.id, str(unpaid.id))])
    assert session.execute(sa.select(sa.func.count()).select_from(WebhookDelivery).where(WebhookDelivery.event == "invoice.overdue")).scalar_one() == 2
    states = {i.number: i.state for i in session.execute(sa.select(Invoice)).scalars()}
    assert states == {unpaid.number: InvoiceState.APPROVED, paid.number: InvoiceState.PAID, pending.number: InvoiceState.MATCHED}
