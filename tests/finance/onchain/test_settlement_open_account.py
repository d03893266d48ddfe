"""Open account on the embedded chain: an approved invoice is registered and acknowledged by
the buyer (verified), financed or not; the buyer pays it through the API, due or early, to
whoever holds it then; the waterfall is recorded and the invoice paid. And reverse
factoring: the supplier takes early payment under the buyer's programme in one call."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from concord import clock
from concord.finance.models import Invoice, InvoiceState, OfferState, Receivable, SettlementRecord
from concord.ledger import service as ledger_service
from concord.notifications.models import Notification
from concord.tenancy.models import Organization, Relation

from tests import factories
from tests.api.helpers import assert_problem
from tests.finance.chain_story import approved_open_account_invoice, balances, funded_financier, units
from tests.ledger_helpers import settle


def registered(app, client, world, worker, invoice: Invoice) -> dict:
    response = client.post(f"/api/v1/invoices/{invoice.id}/receivable", headers=world.supplier.headers)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["escrowed"] is False
    settle(app, worker)
    return client.get(f"/api/v1/receivables/{response.get_json()['id']}", headers=world.supplier.headers).get_json()


def test_an_unfinanced_open_account_invoice_is_paid_by_the_buyer_to_the_supplier(app, client, session, world, chain_worker):
    made = approved_open_account_invoice(app, session, world)
    receivable = registered(app, client, world, chain_worker, made)
    assert receivable["state"] == "verified", receivable  # the buyer's acknowledgement is mined
    assert {"registerOpenAccount", "acknowledge"} <= {t["step"] for t in receivable["evidence"]["transactions"]}
    before = balances(app, chain_worker, supplier=world.supplier, buyer=world.buyer)
    assert_problem(client.post(f"/api/v1/invoices/{made.id}/pay", headers=world.supplier.headers), 403)
    paying = client.post(f"/api/v1/invoices/{made.id}/pay", headers=world.buyer.headers)
    assert paying.status_code == 202, paying.get_json()
    assert_problem(client.post(f"/api/v1/invoices/{made.id}/pay", headers=world.buyer.headers), 409)
    settle(app, chain_worker)
    after = balances(app, chain_worker, supplier=world.supplier, buyer=world.buyer)
    assert after["supplier"] - before["supplier"] == units("61.38") == before["buyer"] - after["buyer"]
    record = session.execute(sa.select(SettlementRecord).where(SettlementRecord.receivable_id == uuid.UUID(receivable["id"]))).scalar_one()
    assert (record.amount_paid, record.financier_share, record.supplier_share, record.offer_id) == (Decimal("61.38"), Decimal("0.00"), Decimal("61.38"), None)
    invoice = session.get(Invoice, made.id, populate_existing=True)
    assert (invoice.state, invoice.paid_amount) == (InvoiceState.PAID, Decimal("61.38"))


def test_a_financed_open_account_invoice_pays_the_financier_who_returns_the_rest(app, client, session, world, chain_worker):
    harbor = funded_financier(app, session, world, chain_worker, world.supplier, name="Harbor Trade Finance plc")
    made = approved_open_account_invoice(app, session, world, number="INV-OA-FIN")
    receivable = registered(app, client, world, chain_worker, made)
    (asked,) = client.post(
        f"/api/v1/receivables/{receivable['id']}/offers", json={"financier_ids": [str(harbor.org.id)]}, headers=world.supplier.headers
    ).get_json()
    body = {"advance_rate": "80", "discount_rate": "10", "fees": "0.50", "valid_until": (clock.utcnow() + timedelta(days=1)).isoformat()}
    offered = client.post(f"/api/v1/financing-offers/{asked['id']}/offer", json=body, headers=harbor.headers).get_json()
    # 61.38 × 80 % = 49.104 → 49.10; 49.10 × 10 % × 30/365 = 0.4036 → 0.40; + 0.50
    assert (offered["advance"], offered["claim"]) == ("49.10", "50.00")
    settle(app, chain_worker)
    before = balances(app, chain_worker, supplier=world.supplier, buyer=world.buyer, harbor=harbor)
    assert client.post(f"/api/v1/financing-offers/{asked['id']}/accept", headers=world.supplier.headers).status_code == 200
    settle(app, chain_worker)
    assert client.get(f"/api/v1/receivables/{receivable['id']}", headers=world.buyer.headers).get_json()["holder_org_id"] == str(harbor.org.id)
    assert client.post(f"/api/v1/invoices/{made.id}/pay", headers=world.buyer.headers).status_code == 202
    settle(app, chain_worker)
    settle(app, chain_worker)
    after = balances(app, chain_worker, supplier=world.supplier, buyer=world.buyer, harbor=harbor)
    assert before["buyer"] - after["buyer"] == units("61.38")
    assert after["harbor"] - before["harbor"] == units("50.00") - units("49.10")
    assert after["supplier"] - before["supplier"] == units("49.10") + units("11.38")
    record = session.execute(sa.select(SettlementRecord).where(SettlementRecord.receivable_id == uuid.UUID(receivable["id"]))).scalar_one()
    assert (record.financier_share, record.supplier_share, record.shortfall) == (Decimal("50.00"), Decimal("11.38"), Decimal("0.00"))
    assert record.tx_hash is not None
    assert client.get(f"/api/v1/financing-offers/{asked['id']}", headers=harbor.headers).get_json()["state"] == OfferState.SETTLED


def test_early_payment_under_the_buyers_programme_in_one_call(app, client, session, world, chain_worker):
    harbor = funded_financier(app, session, world, chain_worker, world.supplier, name="Harbor Trade Finance plc")
    with app.test_request_context():
        factories.partner(session, Relation.BUYER_FINANCIER, world.buyer, harbor)
    session.commit()
    made = approved_open_account_invoice(app, session, world, number="INV-RF-1")
    assert_problem(client.post(f"/api/v1/invoices/{made.id}/early-payment", headers=world.supplier.headers), 409)  # no programme yet
    programme = client.post(
        "/api/v1/financing-programmes", json={"financier_id": str(harbor.org.id), "currency": "EUR"}, headers=world.buyer.headers
    ).get_json()
    opened = client.post(
        f"/api/v1/financing-programmes/{programme['id']}/open", json={"discount_rate": "4.5", "limit_amount": "1000.00"}, headers=harbor.headers
    )
    assert opened.status_code == 200, opened.get_json()
    before = balances(app, chain_worker, supplier=world.supplier, harbor=harbor)
    assert_problem(client.post(f"/api/v1/invoices/{made.id}/early-payment", headers=world.buyer.headers), 403)
    early = client.post(f"/api/v1/invoices/{made.id}/early-payment", headers=world.supplier.headers)
    assert early.status_code == 201, early.get_json()
    # 61.38 × 4.5 % × 30/365 = 0.2270 → 0.23: paid 61.15 now against 61.38 at the due date.
    # Not yet verified: the offer is made and accepted on chain once the buyer's acknowledgement is mined.
    assert (early.get_json()["state"], early.get_json()["advance"], early.get_json()["claim"], early.get_json()["programme_id"]) == (
        "requested",
        "61.15",
        "61.38",
        programme["id"],
    )
    assert_problem(client.post(f"/api/v1/financing-offers/{early.get_json()['id']}/offer", json={}, headers=harbor.headers), 422)
    assert_problem(client.post(f"/api/v1/financing-offers/{early.get_json()['id']}/decline", json={}, headers=harbor.headers), 409)
    for _ in range(3):
        settle(app, chain_worker)
    assert client.get(f"/api/v1/financing-offers/{early.get_json()['id']}", headers=harbor.headers).get_json()["state"] == "financed"
    receivable = session.execute(sa.select(Receivable).where(Receivable.invoice_id == made.id)).scalar_one()
    session.refresh(receivable)
    assert (receivable.state, receivable.holder_org_id) == ("financed", harbor.org.id)
    after = balances(app, chain_worker, supplier=world.supplier, harbor=harbor)
    assert after["supplier"] - before["supplier"] == units("61.15") == before["harbor"] - after["harbor"]
    shown = client.get(f"/api/v1/financing-programmes/{programme['id']}", headers=world.buyer.headers).get_json()
    assert shown["outstanding"] == "61.15"
    again = client.post(f"/api/v1/invoices/{made.id}/early-payment", headers=world.supplier.headers)
    assert_problem(again, 409)


def test_a_refused_acknowledgement_is_told_and_the_buyers_payment_acknowledges_again(app, client, session, world, chain_worker):
    made = approved_open_account_invoice(app, session, world, number="INV-OA-ACK")
    response = client.post(f"/api/v1/invoices/{made.id}/receivable", headers=world.supplier.headers)
    assert response.status_code == 201, response.get_json()
    rid = response.get_json()["id"]
    # The operator suspends the buyer on chain before its acknowledgement is sent.
    buyer = session.get(Organization, world.buyer.org.id)
    ledger_service.change_membership(session, buyer, suspend=True)
    session.commit()
    settle(app, chain_worker)
    shown = client.get(f"/api/v1/receivables/{rid}", headers=world.supplier.headers).get_json()
    assert (shown["state"], shown["state_reason"].split("(")[0]) == ("registered", "ConsortiumMemberNotActive"), shown
    events = session.execute(sa.select(Notification.organization_id).where(Notification.event == "receivable.acknowledgement_refused")).scalars().all()
    assert set(events) == {world.supplier.org.id, world.buyer.org.id}
    assert shown["allowed_actions"] == []  # unverified: the supplier cannot offer it to a financier
    # Reinstated, the buyer pays: its acknowledgement is sent again first, then the payment.
    ledger_service.change_membership(session, buyer, suspend=False)
    session.commit()
    settle(app, chain_worker)
    assert client.post(f"/api/v1/invoices/{made.id}/pay", headers=world.buyer.headers).status_code == 202
    settle(app, chain_worker)
    paid = client.get(f"/api/v1/receivables/{rid}", headers=world.supplier.headers).get_json()
    assert (paid["state"], paid["amount_paid"]) == ("settled", "61.38"), paid
    invoice = session.get(Invoice, made.id, populate_existing=True)
    assert (invoice.state, invoice.paid_amount) == (InvoiceState.PAID, Decimal("61.38"))
