"""Asking for offers, answering and declining them, through the API: only a verified
receivable, only active financier partners, each financier seeing only what was offered to
it, 409s from the table, 422s field by field, limits refusing an offer beyond them.

Receivables are rows here (tests/finance/financing_factory.py); the chain's part of the
story (offers made on chain, acceptance, settlement) is in test_financing_chain.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord import clock
from concord.finance import financing, invoices
from concord.finance.models import FinancingOffer, OfferState, Receivable, ReceivableState, Settlement
from concord.notifications.models import Notification
from concord.tenancy.models import Relation

from tests import factories
from tests.api.helpers import assert_problem, fetch, select_all
from tests.finance.financing_factory import financier_partner, offer_row, verified_receivable
from tests.finance.invoice_factory import invoice, received_order, set_terms
from tests.security.helpers import audit_entries, audit_head


@dataclass
class Scene:
    world: factories.World
    second: factories.Member  # another financier partner of the supplier
    stranger: factories.Member  # a financier the supplier has no partnership with
    receivable: Receivable


@pytest.fixture
def scene(app, detached_session, detached_world) -> Scene:
    world = detached_world
    with app.test_request_context():
        factories.partner(detached_session, Relation.SUPPLIER_FINANCIER, world.supplier, world.financier)
        second = financier_partner(detached_session, world, world.supplier, name="Second Capital AG")
        stranger = factories.member(detached_session, world.operator, "financier", name="Stranger Bank SA")
        receivable = verified_receivable(detached_session, world.buyer, world.supplier)
    detached_session.commit()
    return Scene(world, second, stranger, receivable)


def ask(client, scene: Scene, *financiers: factories.Member):
    body = {"financier_ids": [str(f.org.id) for f in financiers]}
    return client.post(f"/api/v1/receivables/{scene.receivable.id}/offers", json=body, headers=scene.world.supplier.headers)


def terms(**overrides) -> dict:
    return {"advance_rate": "90", "discount_rate": "6.5", "fees": "1.50", "valid_until": (clock.utcnow() + timedelta(days=2)).isoformat(), **overrides}


def test_the_supplier_asks_two_partners_and_each_sees_only_its_own_request(app, detached_client, scene):
    client, world = detached_client, scene.world
    response = ask(client, scene, world.financier, scene.second)
    assert response.status_code == 201, response.get_json()
    asked = response.get_json()
    assert [o["state"] for o in asked] == ["requested", "requested"]
    assert {o["financier_org_id"] for o in asked} == {str(world.financier.org.id), str(scene.second.org.id)}
    mine = client.get("/api/v1/financing-offers", headers=world.financier.headers).get_json()["items"]
    assert [o["financier_org_id"] for o in mine] == [str(world.financier.org.id)]
    assert mine[0]["allowed_actions"] == ["decline", "offer"]
    # The financier reads the receivable, its evidence and the buyer's record; not the other offer.
    seen = client.get(f"/api/v1/receivables/{scene.receivable.id}", headers=world.financier.headers)
    assert seen.status_code == 200, seen.get_json()
    detail = seen.get_json()
    assert [o["financier_org_id"] for o in detail["offers"]] == [str(world.financier.org.id)]
    assert detail["evidence"]["invoice"]["number"] and detail["evidence"]["registry"]["fingerprint"] == scene.receivable.fingerprint
    assert detail["buyer_record"]["buyer_id"] == str(world.buyer.org.id) and detail["buyer_record"]["orders"] >= 1
    assert detail["expected_payment"] == detail["amount"] and detail["allowed_actions"] == []
    # The supplier sees both; the buyer sees the receivable but no offer; strangers nothing.
    assert len(client.get(f"/api/v1/receivables/{scene.receivable.id}/offers", headers=world.supplier.headers).get_json()["items"]) == 2
    buyer_view = client.get(f"/api/v1/receivables/{scene.receivable.id}", headers=world.buyer.headers).get_json()
    assert buyer_view["offers"] == [] and buyer_view["settlement"] is None and buyer_view["allowed_actions"] == ["pay"]
    for outsider in (scene.stranger, world.buyer2, world.supplier2):
        assert_problem(client.get(f"/api/v1/receivables/{scene.receivable.id}", headers=outsider.headers), 404)
        assert client.get("/api/v1/receivables", headers=outsider.headers).get_json()["items"] == []
    for offer in asked:
        assert_problem(client.get(f"/api/v1/financing-offers/{offer['id']}", headers=scene.stranger.headers), 404)
    assert_problem(client.get(f"/api/v1/financing-offers/{asked[1]['id']}", headers=world.financier.headers), 404)
    notices = select_all(app, sa.select(Notification).where(Notification.event == "financing.requested"))
    assert {n.organization_id for n in notices} == {world.financier.org.id, scene.second.org.id}


def test_only_active_financier_partners_are_asked_and_each_once(detached_client, scene):
    client, world = detached_client, scene.world
    refused = ask(detached_client, scene, world.financier, scene.stranger)
    assert_problem(refused, 422)
    assert refused.get_json()["errors"] == {"financier_ids": {"1": ["Not an active financier partner of your organization."]}}
    assert ask(client, scene, world.financier).status_code == 201
    again = ask(client, scene, world.financier)
    assert_problem(again, 422)
    assert "Already asked" in again.get_json()["errors"]["financier_ids"]["0"][0]
    assert_problem(client.post(f"/api/v1/receivables/{scene.receivable.id}/offers", json={"financier_ids": []}, headers=world.supplier.headers), 422)
    # A financier cannot ask on the supplier's behalf; the buyer cannot either.
    for other in (world.financier, world.buyer):
        response = client.post(f"/api/v1/receivables/{scene.receivable.id}/offers", json={"financier_ids": [str(scene.second.org.id)]}, headers=other.headers)
        assert_problem(response, 403)


def test_a_receivable_not_yet_verified_is_not_offered(app, detached_session, detached_client, scene):
    with app.test_request_context():
        registered = verified_receivable(detached_session, scene.world.buyer, scene.world.supplier, state=ReceivableState.REGISTERED)
    body = {"financier_ids": [str(scene.world.financier.org.id)]}
    response = detached_client.post(f"/api/v1/receivables/{registered.id}/offers", json=body, headers=scene.world.supplier.headers)
    assert_problem(response, 409, current_state="registered", allowed_actions=[])


def test_the_financier_declines_and_the_supplier_withdraws_its_other_request(app, detached_client, scene):
    client, world = detached_client, scene.world
    first, second = ask(client, scene, world.financier, scene.second).get_json()
    head = audit_head(app)
    declined = client.post(f"/api/v1/financing-offers/{first['id']}/decline", json={"reason": "Sector exposure is full"}, headers=world.financier.headers)
    assert declined.status_code == 200 and declined.get_json()["state"] == "declined"
    assert [e.action for e in audit_entries(app, after_seq=head)] == ["financing:declined"]
    again = client.post(f"/api/v1/financing-offers/{first['id']}/decline", json={}, headers=world.financier.headers)
    assert_problem(again, 409, current_state="declined", allowed_actions=[])
    assert_problem(client.post(f"/api/v1/financing-offers/{second['id']}/accept", headers=world.supplier.headers), 409, current_state="requested")
    assert_problem(client.post(f"/api/v1/financing-offers/{second['id']}/accept", headers=scene.second.headers), 403)
    withdrawn = client.post(f"/api/v1/financing-offers/{second['id']}/withdraw", json={}, headers=world.supplier.headers)
    assert withdrawn.status_code == 200 and withdrawn.get_json()["state"] == "withdrawn"
    # A financier that declined may be asked again.
    assert ask(client, scene, world.financier).get_json()[0]["state"] == "requested"


def test_an_answer_is_checked_field_by_field_before_anything_is_written(app, detached_client, scene):
    client, world = detached_client, scene.world
    (asked,) = ask(client, scene, world.financier).get_json()
    url = f"/api/v1/financing-offers/{asked['id']}/offer"
    schema = client.post(url, json=terms(advance_rate="0", discount_rate="101", fees="-1", valid_until="tomorrow"), headers=world.financier.headers)
    assert set(assert_problem(schema, 422)["errors"]) == {"advance_rate", "discount_rate", "fees", "valid_until"}
    past = client.post(url, json=terms(valid_until=(clock.utcnow() - timedelta(minutes=1)).isoformat()), headers=world.financier.headers)
    assert assert_problem(past, 422)["errors"] == {"valid_until": ["Must be in the future."]}
    late = client.post(url, json=terms(valid_until=(clock.utcnow() + timedelta(days=60)).isoformat()), headers=world.financier.headers)
    assert "due date" in assert_problem(late, 422)["errors"]["valid_until"][0]
    assert_problem(client.post(url, json=terms(), headers=world.supplier.headers), 403)
    assert fetch(app, FinancingOffer, uuid.UUID(asked["id"])).state == OfferState.REQUESTED


def test_exposure_limits_are_the_financiers_own_and_refuse_an_offer_beyond_them(app, detached_session, detached_client, scene):
    client, world = detached_client, scene.world
    body = {"counterparty_id": str(world.buyer.org.id), "side": "buyer", "currency": "eur", "amount": "100.00"}
    assert_problem(client.put("/api/v1/exposure-limits", json=body, headers=world.supplier.headers), 403)
    bad = client.put("/api/v1/exposure-limits", json={**body, "counterparty_id": str(world.carrier.org.id)}, headers=world.financier.headers)
    assert "buyer capability" in assert_problem(bad, 422)["errors"]["counterparty_id"][0]
    set_ = client.put("/api/v1/exposure-limits", json=body, headers=world.financier.headers)
    assert set_.status_code == 200, set_.get_json()
    assert (set_.get_json()["currency"], set_.get_json()["amount"], set_.get_json()["outstanding"]) == ("EUR", "100.00", "0.00")
    # 60.00 already advanced against this buyer on another receivable.
    with app.test_request_context():
        other = verified_receivable(detached_session, world.buyer, world.supplier, state=ReceivableState.FINANCED)
        offer_row(detached_session, other, world.supplier, world.financier, state=OfferState.FINANCED, advance="60.00")
    (limit,) = client.get("/api/v1/exposure-limits", headers=world.financier.headers).get_json()["items"]
    assert (limit["outstanding"], limit["available"]) == ("60.00", "40.00")
    assert client.get("/api/v1/exposure-limits", headers=scene.second.headers).get_json()["items"] == []
    (asked,) = ask(client, scene, world.financier).get_json()
    # 90 % of 73.04 = 65.74, beyond the 40.00 left.
    refused = client.post(f"/api/v1/financing-offers/{asked['id']}/offer", json=terms(), headers=world.financier.headers)
    problem = assert_problem(refused, 409)
    assert "buyer limit on Buyer One GmbH" in problem["detail"] and "60.00 is outstanding" in problem["detail"]
    assert fetch(app, FinancingOffer, uuid.UUID(asked["id"])).state == OfferState.REQUESTED
    # Raised, the same answer passes the limit (and goes on to the chain, tested elsewhere).
    assert client.put("/api/v1/exposure-limits", json={**body, "amount": "1000.00"}, headers=world.financier.headers).get_json()["available"] == "940.00"
    assert Decimal("60.00") + Decimal("65.74") <= Decimal("1000.00")


def test_the_buyers_record_counts_payments_on_time_overdue_payables_and_disputes(app, detached_session, scene):
    world = scene.world
    with app.test_request_context():
        set_terms(detached_session, world.buyer, world.supplier, settlement=Settlement.OPEN_ACCOUNT, net_days=30)
        made = []
        for number in ("INV-REC-1", "INV-REC-2"):
            order = received_order(detached_session, world.buyer, world.supplier)
            order.settlement, order.net_days = Settlement.OPEN_ACCOUNT, 30
            made.append(invoice(detached_session, world.supplier, order, number=number))
            invoices.approve(detached_session, world.buyer.principal, made[-1].id)
        invoices.mark_paid(detached_session, made[0].id, made[0].total, clock.utcnow())
        detached_session.commit()
        # Sixty days on, the unpaid one is overdue; the paid one was paid on time.
        record = financing.buyer_record(detached_session, world.buyer.org.id, today=date.today() + timedelta(days=60))
    assert (record["invoices_paid"], record["invoices_paid_on_time"], record["invoices_overdue"]) == (1, 1, 1)
    assert record["on_time_payment_rate"] == Decimal("50.00") and record["disputes"] == 0 and record["orders"] >= 3
    with app.test_request_context():
        fresh = financing.buyer_record(detached_session, world.buyer2.org.id)
    assert (fresh["orders"], fresh["on_time_payment_rate"]) == (0, None)
