"""Financing on the embedded chain, through the API: an escrowed order received in part is
invoiced, registered and verified; two financiers offer; the supplier accepts one (the other
is withdrawn, on chain too); the assignment and the advance are mined together; the escrow's
release pays the financier, who keeps at most its claim and returns the rest to the
supplier. Balances on chain add up to the token unit. Also: an escrow already released is
no receivable, a dispute split leaves the financier short, an offer expires."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord.finance import financing
from concord.finance.models import FinancingOffer, Invoice, InvoiceState, OfferState, Receivable, ReceivableState, SettlementRecord
from concord.notifications.models import Notification

from tests.api.helpers import assert_problem
from tests.finance.chain_story import balances, funded_financier, invoice_of, received_in_part, split_by_the_arbiter, terms, units, verified
from tests.ledger_helpers import contract, settle


@pytest.fixture
def financiers(app, session, world, chain_worker):
    first = funded_financier(app, session, world, chain_worker, world.supplier, name="Harbor Trade Finance plc")
    second = funded_financier(app, session, world, chain_worker, world.supplier, name="Second Capital AG")
    return first, second


def test_two_financiers_offer_one_is_accepted_and_the_escrow_pays_the_waterfall(app, client, session, world, chain_worker, financiers):
    harbor, second = financiers
    order_id, receivable = verified(app, client, session, world, chain_worker)
    rid = receivable["id"]
    # The evidence: the escrow's funding, delivery and receipt on chain, and the match.
    proven = {t["step"] for t in receivable["evidence"]["transactions"]}
    assert {"fund", "attestDelivery", "confirmReceipt"} <= proven, proven
    assert all(t["tx_hash"] and t["block_number"] for t in receivable["evidence"]["transactions"])
    assert [m["status"] for m in receivable["evidence"]["invoice"]["match"]] == ["matched", "matched"]
    assert receivable["evidence"]["receipt"]["accepted_value"] == "61.38" and receivable["expected_payment"] == "61.38"
    before = balances(app, chain_worker, supplier=world.supplier, harbor=harbor, second=second, buyer=world.buyer)

    asked = client.post(f"/api/v1/receivables/{rid}/offers", json={"financier_ids": [str(harbor.org.id), str(second.org.id)]}, headers=world.supplier.headers)
    assert asked.status_code == 201, asked.get_json()
    by_financier = {o["financier_org_id"]: o["id"] for o in asked.get_json()}
    harbor_offer, second_offer = by_financier[str(harbor.org.id)], by_financier[str(second.org.id)]
    seen = client.get(f"/api/v1/receivables/{rid}", headers=harbor.headers).get_json()
    assert seen["buyer_record"]["orders"] >= 1 and seen["evidence"]["registry"]["fingerprint"] == receivable["fingerprint"]
    made = client.post(f"/api/v1/financing-offers/{harbor_offer}/offer", json=terms("90", "6.5", "1.50"), headers=harbor.headers)
    assert made.status_code == 200, made.get_json()
    # 61.38 × 90 % = 55.242 → 55.24; 55.24 × 6.5 % × 30/365 = 0.2951 → 0.30; + 1.50 fees
    assert (made.get_json()["advance"], made.get_json()["discount"], made.get_json()["claim"]) == ("55.24", "0.30", "57.04")
    assert client.post(f"/api/v1/financing-offers/{second_offer}/offer", json=terms("85", "5", "0"), headers=second.headers).status_code == 200
    settle(app, chain_worker)

    accepted = client.post(f"/api/v1/financing-offers/{harbor_offer}/accept", headers=world.supplier.headers)
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["state"] == "accepted"
    assert client.get(f"/api/v1/financing-offers/{second_offer}", headers=second.headers).get_json()["state"] == "withdrawn"
    assert_problem(client.post(f"/api/v1/financing-offers/{second_offer}/accept", headers=world.supplier.headers), 409, current_state="withdrawn")
    settle(app, chain_worker)
    financed = client.get(f"/api/v1/receivables/{rid}", headers=harbor.headers).get_json()
    assert (financed["state"], financed["holder_org_id"]) == ("financed", str(harbor.org.id))
    registry = contract(app, chain_worker, "ReceivableRegistry")
    assert registry.functions.payeeOf(bytes.fromhex(uuid.UUID(order_id).hex.rjust(64, "0"))).call() == harbor.signing_address(app)
    exchange = contract(app, chain_worker, "ReceivableExchange")
    withdrawn_on_chain = exchange.functions.offerOf(bytes.fromhex(uuid.UUID(second_offer).hex.rjust(64, "0"))).call()
    assert withdrawn_on_chain[4] == 2  # OfferState.Withdrawn
    advanced = balances(app, chain_worker, supplier=world.supplier, harbor=harbor, second=second, buyer=world.buyer)
    assert advanced["supplier"] - before["supplier"] == units("55.24") == before["harbor"] - advanced["harbor"]
    assert advanced["second"] == before["second"]

    # The supplier accepts the partial receipt: the escrow releases 61.38 to the holder.
    assert client.post(f"/api/v1/orders/{order_id}/release", headers=world.supplier.headers).status_code == 200
    settle(app, chain_worker)
    settle(app, chain_worker)
    paid = client.get(f"/api/v1/receivables/{rid}", headers=world.supplier.headers).get_json()
    assert paid["state"] == "settled" and paid["amount_paid"] == "61.38"
    assert {k: paid["settlement"][k] for k in ("amount_paid", "financier_share", "supplier_share", "shortfall")} == {
        "amount_paid": "61.38",
        "financier_share": "57.04",
        "supplier_share": "4.34",
        "shortfall": "0.00",
    }
    assert paid["settlement"]["tx_hash"]
    assert client.get(f"/api/v1/financing-offers/{harbor_offer}", headers=harbor.headers).get_json()["state"] == "settled"
    assert session.get(Invoice, uuid.UUID(receivable["invoice_id"]), populate_existing=True).state == InvoiceState.PAID
    after = balances(app, chain_worker, supplier=world.supplier, harbor=harbor, second=second, buyer=world.buyer)
    # To the unit: the supplier got the advance and the rest, the financier its claim less
    # what it advanced, the buyer back what it rejected; nothing left in escrow or exchange.
    assert after["supplier"] - before["supplier"] == units("55.24") + units("4.34")
    assert after["harbor"] - before["harbor"] == units("57.04") - units("55.24") == units("1.80")
    assert after["buyer"] - before["buyer"] == units("12.12")  # it had locked 73.50: the rejected housing comes back
    assert after["escrow"] == before["escrow"] - units("73.50") and after["exchange"] == 0
    # What left the escrow is what the buyer, the supplier and the financier received.
    received = sum(after[name] - before[name] for name in ("supplier", "harbor", "second", "buyer"))
    assert received == units("73.50") and (after["supplier"] - before["supplier"]) + (after["harbor"] - before["harbor"]) == units("61.38")
    events = set(session.execute(sa.select(Notification.event).where(Notification.organization_id == harbor.org.id)).scalars())
    assert {"financing.requested", "financing.accepted", "financing.financed", "receivable.settled", "financing.settled"} <= events


def test_an_escrow_already_released_is_no_receivable(app, client, session, world, chain_worker):
    order_id = received_in_part(app, client, session, world, chain_worker)
    made = invoice_of(app, session, world, order_id, number="INV-LATE-1")
    assert client.post(f"/api/v1/orders/{order_id}/release", headers=world.supplier.headers).status_code == 200
    refused = client.post(f"/api/v1/invoices/{made.id}/receivable", headers=world.supplier.headers)
    assert "being released" in assert_problem(refused, 409)["detail"]
    settle(app, chain_worker)
    # The release paid the supplier, and with it the invoice: nothing is left to finance.
    released = client.post(f"/api/v1/invoices/{made.id}/receivable", headers=world.supplier.headers)
    assert "INV-LATE-1 is paid" in assert_problem(released, 409)["detail"]
    assert client.get(f"/api/v1/invoices/{made.id}", headers=world.supplier.headers).get_json()["paid_amount"] == "61.38"
    assert session.execute(sa.select(Receivable).where(Receivable.invoice_id == made.id)).first() is None
    # Nor may the buyer register the supplier's invoice, nor anyone else see it.
    assert_problem(client.post(f"/api/v1/invoices/{made.id}/receivable", headers=world.buyer.headers), 403)
    assert_problem(client.post(f"/api/v1/invoices/{made.id}/receivable", headers=world.supplier2.headers), 404)


def test_the_same_invoice_is_registered_once(app, client, session, world, chain_worker):
    order_id = received_in_part(app, client, session, world, chain_worker)
    made = invoice_of(app, session, world, order_id, number="INV-ONCE-1")
    assert client.post(f"/api/v1/invoices/{made.id}/receivable", headers=world.supplier.headers).status_code == 201
    again = client.post(f"/api/v1/invoices/{made.id}/receivable", headers=world.supplier.headers)
    assert "already receivable" in assert_problem(again, 409)["detail"]
    settle(app, chain_worker)
    (row,) = session.execute(sa.select(Receivable).where(Receivable.invoice_id == made.id)).scalars()
    registry = contract(app, chain_worker, "ReceivableRegistry")
    on_chain = registry.functions.receivableOf(bytes.fromhex(row.fingerprint.removeprefix("0x"))).call()
    assert on_chain[0] != b"\x00" * 32 or any(on_chain)  # it is there, once
    assert registry.functions.isVerified(bytes.fromhex(row.fingerprint.removeprefix("0x"))).call() is True


def test_a_dispute_split_leaves_the_financier_short_and_it_sees_the_drop_at_once(app, client, session, world, chain_worker, financiers):
    harbor, _second = financiers
    order_id, receivable = verified(app, client, session, world, chain_worker)
    rid = receivable["id"]
    (asked,) = client.post(f"/api/v1/receivables/{rid}/offers", json={"financier_ids": [str(harbor.org.id)]}, headers=world.supplier.headers).get_json()
    assert client.post(f"/api/v1/financing-offers/{asked['id']}/offer", json=terms("90", "6.5", "1.50"), headers=harbor.headers).status_code == 200
    settle(app, chain_worker)
    assert client.post(f"/api/v1/financing-offers/{asked['id']}/accept", headers=world.supplier.headers).status_code == 200
    settle(app, chain_worker)
    # The supplier disputes the partial receipt; the arbiter gives it 40.00 of the 73.50.
    split_by_the_arbiter(app, client, world, chain_worker, order_id, "40.00")
    settle(app, chain_worker)
    paid = client.get(f"/api/v1/receivables/{rid}", headers=harbor.headers).get_json()
    assert (paid["state"], paid["expected_payment"]) == ("settled", "40.00")
    assert {k: paid["settlement"][k] for k in ("financier_share", "supplier_share", "shortfall")} == {
        "financier_share": "40.00",
        "supplier_share": "0.00",
        "shortfall": "17.04",
    }
    record = session.execute(sa.select(SettlementRecord).where(SettlementRecord.receivable_id == uuid.UUID(rid))).scalar_one()
    assert record.financier_share + record.supplier_share == record.amount_paid == Decimal("40.00")


def test_an_offer_past_its_validity_expires_and_cannot_be_accepted(app, client, session, world, chain_worker, financiers, frozen_clock):
    harbor, _second = financiers
    _order_id, receivable = verified(app, client, session, world, chain_worker)
    (asked,) = client.post(
        f"/api/v1/receivables/{receivable['id']}/offers", json={"financier_ids": [str(harbor.org.id)]}, headers=world.supplier.headers
    ).get_json()
    assert client.post(f"/api/v1/financing-offers/{asked['id']}/offer", json=terms("80", "5", "0", hours=1), headers=harbor.headers).status_code == 200
    settle(app, chain_worker)
    frozen_clock.advance(hours=2)
    assert "expired" in assert_problem(client.post(f"/api/v1/financing-offers/{asked['id']}/accept", headers=world.supplier.headers), 409)["detail"]
    assert financing.expire_due(app) == 1
    offer = session.get(FinancingOffer, uuid.UUID(asked["id"]), populate_existing=True)
    assert offer.state == OfferState.EXPIRED
    assert_problem(client.post(f"/api/v1/financing-offers/{asked['id']}/accept", headers=world.supplier.headers), 409, current_state="expired")
    # The receivable may be offered to the same financier again.
    again = client.post(f"/api/v1/receivables/{receivable['id']}/offers", json={"financier_ids": [str(harbor.org.id)]}, headers=world.supplier.headers)
    assert again.status_code == 201 and session.get(Receivable, uuid.UUID(receivable["id"])).state == ReceivableState.VERIFIED
