"""Escrowed invoices that no receivable holds are paid by the escrow itself: its release pays
them from what it paid the supplier, in the order they were issued, and an invoice matched
after the release is paid at once. Nothing is left "matched" forever once the money moved."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from concord.finance import invoices
from concord.notifications.models import Notification
from concord.orders.models import PurchaseOrder

from tests.finance.chain_story import received_in_part, split_by_the_arbiter
from tests.finance.invoice_factory import invoice_lines
from tests.ledger_helpers import settle


def _invoice(app, session, world, order_id: str, number: str, *pairs):
    order = session.get(PurchaseOrder, uuid.UUID(order_id))
    with app.test_request_context():
        made = invoices.create_invoice(
            session,
            world.supplier.principal,
            {"order_id": order.id, "number": number, "issue_date": date.today(), "lines": invoice_lines(order, *pairs, tax_rate="0")},
        )
    session.commit()
    return str(made.id)


def _shown(client, world, invoice_id: str) -> tuple[str, str | None]:
    body = client.get(f"/api/v1/invoices/{invoice_id}", headers=world.buyer.headers).get_json()
    return body["state"], body["paid_amount"]


def test_the_release_pays_the_invoices_and_a_later_invoice_is_paid_at_once(app, client, session, world, chain_worker):
    order_id = received_in_part(app, client, session, world, chain_worker)  # 61.38 accepted
    washers = _invoice(app, session, world, order_id, "INV-ESC-1", ("10", "2.50"))  # 25.00
    assert _shown(client, world, washers) == ("matched", None)
    assert client.post(f"/api/v1/orders/{order_id}/release", headers=world.supplier.headers).status_code == 200
    assert _shown(client, world, washers) == ("matched", None)  # not until the release is mined
    settle(app, chain_worker)
    assert _shown(client, world, washers) == ("paid", "25.00")
    # The housings are invoiced after the release: the escrow already paid them.
    housings = _invoice(app, session, world, order_id, "INV-ESC-2", None, ("3", "12.125"))
    assert _shown(client, world, housings) == ("paid", "36.38")
    told = session.execute(sa.select(Notification.summary).where(Notification.event == "invoice.paid", Notification.organization_id == world.supplier.org.id))
    assert sum("INV-ESC" in summary for summary in told.scalars()) == 2


def test_an_exception_approved_after_a_dispute_split_is_paid_what_the_escrow_paid(app, client, session, world, chain_worker):
    order_id = received_in_part(app, client, session, world, chain_worker)
    split_by_the_arbiter(app, client, world, chain_worker, order_id, "40.00")
    # Invoiced at a price above the order's: an exception until the buyer approves it.
    dear = _invoice(app, session, world, order_id, "INV-ESC-3", ("10", "2.60"))
    assert _shown(client, world, dear) == ("exception", None)
    assert client.post(f"/api/v1/invoices/{dear}/approve", json={}, headers=world.buyer.headers).status_code == 200
    assert _shown(client, world, dear) == ("paid", "26.00")
    # The escrow paid the supplier 40.00: the next invoice gets only what is left of it.
    rest = _invoice(app, session, world, order_id, "INV-ESC-4", None, ("3", "12.125"))
    assert _shown(client, world, rest) == ("paid", "14.00")
