"""Acknowledging an order locks its confirmed total in DeliveryEscrow from the buyer's
settlement tokens, through the outbox, exactly to the token unit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from concord.db import database
from concord.ledger.encoding import to_bytes32
from concord.ledger.models import ChainIntent
from concord.orders import service as orders

from tests import orders_factory
from tests.ledger_helpers import BUYER_FUNDS, FaultyChain, contract, settle
from tests.security.helpers import audit_entries

UNIT = 10**6


def issued(app, session, world, lines):
    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier, lines=lines)
    session.commit()
    return order


def acknowledge_all(client, world, order):
    body = {"lines": [{"line_no": line.line_no, "confirmed_quantity": str(line.quantity), "confirmed_date": date.today().isoformat()} for line in order.lines]}
    return client.post(f"/api/v1/orders/{order.id}/acknowledge", json=body, headers=world.supplier.headers)


def intents_for(app, order):
    with database(app).sessionmaker() as session:
        return list(session.execute(sa.select(ChainIntent).where(ChainIntent.subject_id == str(order.id))).scalars())


def test_acknowledging_locks_the_confirmed_total_in_escrow_to_the_last_unit(app, client, session, world, chain_worker):
    order = issued(app, session, world, ((Decimal("3"), Decimal("333.3333")), (Decimal("2.5"), Decimal("0.0199"))))
    body = {
        "lines": [
            {"line_no": 1, "confirmed_quantity": "2", "confirmed_date": date.today().isoformat()},
            {"line_no": 2, "confirmed_quantity": "2.5", "confirmed_date": date.today().isoformat()},
        ]
    }
    response = client.post(f"/api/v1/orders/{order.id}/acknowledge", json=body, headers=world.supplier.headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["confirmed_total"] == "666.72"  # 666.6666 -> 666.67, plus 0.04975 -> 0.05
    pending = client.get(f"/api/v1/orders/{order.id}/escrow", headers=world.buyer.headers).get_json()
    assert pending["state"] == "pending" and [t["function"] for t in pending["transactions"]] == ["approve", "fund"]
    assert all(t["state"] == "queued" for t in pending["transactions"])

    settle(app, chain_worker)
    for party in (world.buyer, world.supplier):
        escrow = client.get(f"/api/v1/orders/{order.id}/escrow", headers=party.headers).get_json()
        assert escrow["state"] == "funded" and escrow["amount"] == "666.72"
        assert [e["event"] for e in escrow["events"]] == ["EscrowFunded"]
        assert all(t["state"] == "confirmed" and t["tx_hash"] for t in escrow["transactions"])
    on_chain = contract(app, chain_worker, "DeliveryEscrow").functions.escrowOf(to_bytes32(order.id)).call()
    buyer, supplier = world.buyer.signing_address(app), world.supplier.signing_address(app)
    assert (on_chain[0], on_chain[2], on_chain[4]) == (buyer, supplier, "0x" + "00" * 20)  # carrier comes with the shipment
    assert on_chain[10] == 666_720_000
    token = contract(app, chain_worker, "SettlementToken.EUR")
    assert token.functions.balanceOf(buyer).call() == int(BUYER_FUNDS) * UNIT - 666_720_000
    balances = {b["currency"]: b["balance"] for b in client.get("/api/v1/ledger/balances", headers=world.buyer.headers).get_json()}
    assert balances["EUR"] == str((BUYER_FUNDS - Decimal("666.72")).quantize(Decimal("0.000001")))
    assert client.get(f"/api/v1/orders/{order.id}/escrow", headers=world.carrier.headers).status_code == 404


def test_a_total_beyond_the_buyers_balance_is_a_409_and_nothing_changes(app, client, session, world):
    order = issued(app, session, world, ((Decimal("1000"), Decimal("50.01")),))  # 50,010.00 > 50,000
    response = acknowledge_all(client, world, order)
    assert response.status_code == 409, response.get_json()
    problem = response.get_json()
    assert problem["current_state"] == "issued" and "50010.00" in problem["errors"]["escrow"][0]
    after = client.get(f"/api/v1/orders/{order.id}", headers=world.supplier.headers).get_json()
    assert after["state"] == "issued" and after["confirmed_total"] is None
    assert all(line["confirmed_quantity"] is None for line in after["lines"])
    assert intents_for(app, order) == [] and audit_entries(app, action="order:acknowledged") == []


def test_pending_fundings_count_against_the_balance_before_they_are_mined(app, client, session, world):
    first = issued(app, session, world, ((Decimal("300"), Decimal("100")),))  # 30,000
    second = issued(app, session, world, ((Decimal("250"), Decimal("100")),))  # 25,000: together > 50,000
    assert acknowledge_all(client, world, first).status_code == 200  # queued, not yet on chain
    refused = acknowledge_all(client, world, second)
    assert refused.status_code == 409 and "20000.000000" in refused.get_json()["errors"]["escrow"][0]


def test_with_the_chain_unreachable_the_acknowledgement_stands_and_its_funding_waits(app, client, session, world, chain_worker):
    order = issued(app, session, world, ((Decimal("10"), Decimal("10")),))
    faulty = FaultyChain(chain_worker.chain)
    worker = type(chain_worker)(app, faulty, receipt_timeout=0)
    worker.drain()  # meets the node once
    faulty.down = True
    assert acknowledge_all(client, world, order).status_code == 200  # the balance is the indexed one
    assert worker.drain() == 0
    escrow = client.get(f"/api/v1/orders/{order.id}/escrow", headers=world.buyer.headers).get_json()
    assert escrow["state"] == "pending" and "unreachable" in escrow["transactions"][0]["last_error"]
    faulty.down = False
    with database(app).sessionmaker() as s, s.begin():
        s.execute(sa.update(ChainIntent).values(next_attempt_at=orders.clock.utcnow()))
    settle(app, worker)
    assert client.get(f"/api/v1/orders/{order.id}/escrow", headers=world.buyer.headers).get_json()["state"] == "funded"
