"""An order whose escrow is not funded on chain: no proof of delivery, receipt or release
while its funding is on its way; nothing at all once the chain refused it, except the way
out (the buyer cancels, the funding is voided), offered in the API and on the order page."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import sqlalchemy as sa
from concord import clock
from concord.db import database
from concord.ledger import escrow, runtime, verification
from concord.ledger.models import ChainIntent, IntentState
from concord.orders.models import OrderState, PurchaseOrder

from tests import orders_factory
from tests.ledger_helpers import settle
from tests.security.helpers import audit_entries

ALL_LINES = [{"line_no": 1, "quantity": "10"}, {"line_no": 2, "quantity": "4"}]


def _acknowledged(app, client, session, world) -> str:
    with app.test_request_context():
        issued = orders_factory.issued_order(session, world.buyer, world.supplier)
    session.commit()
    body = {"lines": [{"line_no": n, "confirmed_quantity": q, "confirmed_date": date.today().isoformat()} for n, q in ((1, "10"), (2, "4"))]}
    assert client.post(f"/api/v1/orders/{issued.id}/acknowledge", json=body, headers=world.supplier.headers).status_code == 200
    return str(issued.id)


def _refuse_funding(app, oid: str) -> None:
    """Ask the escrow for more than the buyer approved: the chain reverts the funding."""
    with database(app).sessionmaker() as s, s.begin():
        funding = s.execute(sa.select(ChainIntent).where(ChainIntent.subject_id == oid, ChainIntent.function == "fund")).scalar_one()
        funding.args = [*funding.args[:5], int(funding.args[5]) + 1]


def _ship(client, world, oid):
    body = {"carrier_id": str(world.carrier.org.id), "shipped_at": (clock.utcnow() - timedelta(hours=1)).isoformat(), "lines": ALL_LINES}
    return client.post(f"/api/v1/orders/{oid}/shipments", json=body, headers=world.supplier.headers)


def _order(client, member, oid):
    return client.get(f"/api/v1/orders/{oid}", headers=member.headers).get_json()


def test_a_refused_funding_stops_every_step_and_offers_the_buyer_a_way_out(app, client, session, world, chain_worker):
    oid = _acknowledged(app, client, session, world)
    _refuse_funding(app, oid)
    settle(app, chain_worker)
    with database(app).sessionmaker() as s:
        assert escrow.funding(s, oid) == escrow.Funding.REFUSED
    escrow_view = client.get(f"/api/v1/orders/{oid}/escrow", headers=world.buyer.headers).get_json()
    assert escrow_view["state"] == "failed" and escrow_view["failed_steps"] == ["fund"]

    refused = _ship(client, world, oid)
    assert refused.status_code == 409 and "refused to fund" in refused.get_json()["detail"]
    assert _order(client, world.supplier, oid)["allowed_actions"] == []
    assert _order(client, world.buyer, oid)["allowed_actions"] == ["cancel"]
    dispute = client.post(f"/api/v1/orders/{oid}/disputes", json={"reason": "Never funded"}, headers=world.buyer.headers)
    assert dispute.status_code == 409 and dispute.get_json()["allowed_actions"] == ["cancel"]

    cancelled = client.post(f"/api/v1/orders/{oid}/cancel", json={"reason": "The ledger refused the escrow"}, headers=world.buyer.headers)
    assert cancelled.status_code == 200, cancelled.get_json()
    assert cancelled.get_json()["state"] == "cancelled" and cancelled.get_json()["allowed_actions"] == []
    settle(app, chain_worker)
    # The approval went through before the funding was refused: it is revoked on chain.
    with database(app).sessionmaker() as s:
        approvals = (
            s.execute(sa.select(ChainIntent).where(ChainIntent.subject_id == oid, ChainIntent.function == "approve").order_by(ChainIntent.seq)).scalars().all()
        )
        assert [a.state for a in approvals] == [IntentState.CONFIRMED, IntentState.CONFIRMED]
        assert int(approvals[-1].args[1]) == 0
        assert escrow.funding(s, oid) == escrow.Funding.VOIDED
        assert [str(p) for p in verification.verify(s, runtime.chain(app)) if oid in str(p)] == []
    [entry] = [e for e in audit_entries(app, action="order:cancelled") if str(e.object_id) == oid]
    assert entry.summary["before"] == {"state": "acknowledged"} and entry.summary["after"]["state"] == "cancelled"
    assert len(entry.summary["escrow_transactions"]) == 1  # the revocation


def test_no_goods_move_and_no_dispute_opens_while_the_funding_is_on_its_way(app, client, session, world, chain_worker):
    oid = _acknowledged(app, client, session, world)  # funding queued, not sent
    assert _order(client, world.supplier, oid)["allowed_actions"] == []
    refused = _ship(client, world, oid)
    assert refused.status_code == 409 and "not funded on the ledger yet" in refused.get_json()["detail"]
    disputed = client.post(f"/api/v1/orders/{oid}/disputes", json={"reason": "Wrong parts"}, headers=world.buyer.headers)
    assert disputed.status_code == 409 and "not funded on the ledger yet" in disputed.get_json()["detail"]
    assert _order(client, world.buyer, oid)["allowed_actions"] == ["cancel"]  # the way out meanwhile

    settle(app, chain_worker)  # funded: the goods may go, and the way out closes
    assert _order(client, world.supplier, oid)["allowed_actions"] == ["open_dispute", "ship"]
    assert "cancel" not in _order(client, world.buyer, oid)["allowed_actions"]
    shipment = _ship(client, world, oid)
    assert shipment.status_code == 201
    body = {"receiver_name": "Goods-in", "delivered_at": (clock.utcnow() - timedelta(minutes=1)).isoformat()}
    settle(app, chain_worker)
    assert client.post(f"/api/v1/shipments/{shipment.get_json()['id']}/proof-of-delivery", json=body, headers=world.carrier.headers).status_code == 201


def test_a_funding_still_queued_is_withdrawn_when_the_buyer_cancels(app, client, session, world, chain_worker):
    oid = _acknowledged(app, client, session, world)
    assert "cancel" in _order(client, world.buyer, oid)["allowed_actions"]
    cancelled = client.post(f"/api/v1/orders/{oid}/cancel", json={"reason": "Ordered twice"}, headers=world.buyer.headers)
    assert cancelled.status_code == 200, cancelled.get_json()
    settle(app, chain_worker)
    with database(app).sessionmaker() as s:
        intents = s.execute(sa.select(ChainIntent).where(ChainIntent.subject_id == oid)).scalars().all()
        assert {i.function for i in intents} == {"approve", "fund"}
        assert all(i.state == IntentState.FAILED and i.tx_hash is None for i in intents)  # never sent
        assert s.get(PurchaseOrder, uuid.UUID(oid)).state == OrderState.CANCELLED
        assert [str(p) for p in verification.verify(s, runtime.chain(app)) if oid in str(p)] == []


def test_a_funded_order_cannot_be_cancelled(app, client, session, world, chain_worker):
    oid = _acknowledged(app, client, session, world)
    settle(app, chain_worker)
    refused = client.post(f"/api/v1/orders/{oid}/cancel", json={"reason": "Changed my mind"}, headers=world.buyer.headers)
    assert refused.status_code == 409 and refused.get_json()["allowed_actions"] == ["open_dispute"]
