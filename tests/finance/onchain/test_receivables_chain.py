"""Registering receivables on the embedded chain: only a ready invoice (matched on escrow,
approved on open account), by the worker's round job as well as by the supplier; and the
same invoice registered first by another platform on the chain is refused by the chain."""

from __future__ import annotations

import uuid
from datetime import date
from types import SimpleNamespace

import sqlalchemy as sa
from concord.finance import invoices, receivables
from concord.finance.models import InvoiceState, Receivable, ReceivableState, Settlement
from concord.ledger import receivables as gateway
from concord.notifications.models import Notification
from concord.orders.models import PurchaseOrder

from tests.api.helpers import assert_problem
from tests.finance.chain_story import approved_open_account_invoice, invoice_of, received_in_part
from tests.finance.invoice_factory import invoice_lines, received_order, set_terms
from tests.ledger_helpers import settle


def test_only_a_ready_invoice_becomes_a_receivable(app, client, session, world, chain_worker):
    with app.test_request_context():
        set_terms(session, world.buyer, world.supplier, settlement=Settlement.OPEN_ACCOUNT, net_days=30)
        order = received_order(session, world.buyer, world.supplier)
        order.settlement, order.net_days = Settlement.OPEN_ACCOUNT, 30
        session.commit()
        matched = invoices.create_invoice(
            session,
            world.supplier.principal,
            {"order_id": order.id, "number": "INV-NA-1", "issue_date": date.today(), "lines": invoice_lines(order, ("4", "2.50"), tax_rate="0")},
        )
        exception = invoices.create_invoice(
            session,
            world.supplier.principal,
            {"order_id": order.id, "number": "INV-NA-2", "issue_date": date.today(), "lines": invoice_lines(order, ("6", "2.60"), tax_rate="0")},
        )
    session.commit()
    assert (matched.state, exception.state) == (InvoiceState.MATCHED, InvoiceState.EXCEPTION)
    # On open account a matched invoice waits for the buyer's approval; an exception too.
    refused = client.post(f"/api/v1/invoices/{matched.id}/receivable", headers=world.supplier.headers)
    assert "once the buyer approved it" in assert_problem(refused, 409, current_state="matched")["detail"]
    assert_problem(client.post(f"/api/v1/invoices/{exception.id}/receivable", headers=world.supplier.headers), 409, current_state="exception")
    credit = client.post(
        f"/api/v1/invoices/{matched.id}/credit-notes",
        json={"number": "CN-NA-1", "issue_date": date.today().isoformat(), "reason": "Returned", "lines": [{"invoice_line_no": 1, "quantity": "1"}]},
        headers=world.supplier.headers,
    )
    assert credit.status_code == 201, credit.get_json()
    assert "credit note" in assert_problem(client.post(f"/api/v1/invoices/{credit.get_json()['id']}/receivable", headers=world.supplier.headers), 409)["detail"]
    assert session.execute(sa.select(sa.func.count()).select_from(Receivable)).scalar_one() == 0


def test_the_worker_registers_ready_invoices_by_itself(app, client, session, world, chain_worker):
    order_id = received_in_part(app, client, session, world, chain_worker)
    escrowed = invoice_of(app, session, world, order_id, number="INV-AUTO-1")
    open_account = approved_open_account_invoice(app, session, world, number="INV-AUTO-2")
    assert receivables.register_due(app) == 2
    assert receivables.register_due(app) == 0  # once
    settle(app, chain_worker)
    states = dict(session.execute(sa.select(Receivable.invoice_id, Receivable.state).execution_options(populate_existing=True)).all())
    assert states == {escrowed.id: ReceivableState.VERIFIED, open_account.id: ReceivableState.VERIFIED}
    order = session.get(PurchaseOrder, uuid.UUID(order_id))
    assert order is not None and order.state == "partially_received"


def test_the_chain_refuses_an_invoice_another_platform_registered_first(app, client, session, world, chain_worker):
    made = approved_open_account_invoice(app, session, world, number="INV-TWICE-1")
    # Another platform instance on the same chain (its own database) registers the very same
    # invoice first: same issuer, debtor, number, amount, currency and due date.
    with app.test_request_context():
        fingerprint = gateway.fingerprint_of(
            session,
            supplier_org_id=made.supplier_org_id,
            buyer_org_id=made.buyer_org_id,
            invoice_number=made.number,
            amount=made.total,
            currency=made.currency,
            due_date=made.due_date,
        )
        elsewhere = SimpleNamespace(
            id=uuid.uuid4(),
            escrowed=False,
            fingerprint=fingerprint,
            supplier_org_id=made.supplier_org_id,
            buyer_org_id=made.buyer_org_id,
            amount=made.total,
            currency=made.currency,
            due_date=made.due_date,
            state="registering",
        )
        gateway.register(session, receivable=elsewhere, order=SimpleNamespace(id=uuid.uuid4(), number="PO-ELSEWHERE"))
    session.commit()
    settle(app, chain_worker)
    response = client.post(f"/api/v1/invoices/{made.id}/receivable", headers=world.supplier.headers)
    assert response.status_code == 201 and response.get_json()["fingerprint"] == fingerprint
    settle(app, chain_worker)
    receivable = session.get(Receivable, uuid.UUID(response.get_json()["id"]), populate_existing=True)
    assert receivable.state == ReceivableState.REFUSED and receivable.state_reason
    notices = session.execute(sa.select(Notification).where(Notification.event == "receivable.refused")).scalars().all()
    assert [n.organization_id for n in notices] == [world.supplier.org.id]
    shown = client.get(f"/api/v1/receivables/{receivable.id}", headers=world.supplier.headers).get_json()
    assert (shown["state"], shown["allowed_actions"]) == ("refused", [])
