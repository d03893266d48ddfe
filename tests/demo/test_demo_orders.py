"""The demo's orders as `concord run` prepares them, as Acme and Northwind see them: one
order received in full, its escrow released and Acme paid; two received with rejections,
their escrows holding the receipt on chain until Acme accepts it or disputes it."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from concord import clock
from concord.db import database
from concord.demo_orders import ORDERS
from concord.ledger import runtime
from concord.ledger.escrow_state import escrow_on_chain

from tests.demo_instance import bearer, prepared

CLOSED, TO_FINANCE, TO_CHOOSE = (order.number(clock.utcnow().date()) for order in ORDERS)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    app = prepared(tmp_path_factory.mktemp("demo-orders"), "http://127.0.0.1:5000")
    yield app
    runtime.close(app)


def _by_number(client, headers, **filters) -> dict[str, dict]:
    listed = client.get("/api/v1/orders", query_string={"limit": 100, **filters}, headers=headers)
    assert listed.status_code == 200, listed.get_json()
    return {order["number"]: order for order in listed.get_json()["items"]}


def _euros(client, headers) -> Decimal:
    balances = client.get("/api/v1/ledger/balances", headers=headers).get_json()
    return next(Decimal(b["balance"]) for b in balances if b["currency"] == "EUR")


def test_acme_has_received_northwinds_orders_one_paid_and_two_waiting_on_its_answer_to_the_receipt(demo):
    client = demo.test_client()
    acme, northwind = bearer(demo, "supplier@acme.example"), bearer(demo, "buyer@northwind.example")
    received = _by_number(client, acme, role="supplier")
    assert {number: order["state"] for number, order in received.items()} == {
        CLOSED: "closed",
        TO_FINANCE: "partially_received",
        TO_CHOOSE: "partially_received",
    }
    placed = _by_number(client, northwind, role="buyer")
    assert placed.keys() == received.keys()
    assert {order["buyer_org_id"] for order in received.values()} == {placed[CLOSED]["buyer_org_id"]}
    totals = {number: order["confirmed_total"] for number, order in received.items()}
    assert totals == {CLOSED: "3800.00", TO_FINANCE: "7580.00", TO_CHOOSE: "6765.00"}

    # Received in full: released at once, the order closed, Acme paid to the cent.
    closed = received[CLOSED]
    escrow = client.get(f"/api/v1/orders/{closed['id']}/escrow", headers=acme).get_json()
    assert escrow["state"] == "released" and escrow["pending_steps"] == [] and escrow["failed_steps"] == []
    assert [e["event"] for e in escrow["events"]][-1] == "EscrowReleased"
    assert _euros(client, acme) == Decimal("3800.00")
    # Northwind's tokens: what it was minted, less what it paid and what its escrows hold.
    assert _euros(client, northwind) == Decimal("250000.00") - Decimal("3800.00") - Decimal("7580.00") - Decimal("6765.00")

    # Received with rejections: the receipt is on chain, the release is Acme's to give.
    for number, accepted, refund in ((TO_FINANCE, "7442.00", "138.00"), (TO_CHOOSE, "6555.00", "210.00")):
        order = received[number]
        assert order["allowed_actions"] == ["open_dispute", "release"], number
        receipts = client.get(f"/api/v1/orders/{order['id']}/receipts", headers=acme).get_json()
        assert [(r["accepted_value"], r["refund_value"]) for r in receipts] == [(accepted, refund)]
        rejected = [line for line in receipts[0]["lines"] if Decimal(line["rejected_quantity"])]
        assert len(rejected) == 1 and rejected[0]["rejection_reason"], number
        escrow = client.get(f"/api/v1/orders/{order['id']}/escrow", headers=northwind).get_json()
        assert escrow["state"] == "receipt_confirmed" and escrow["pending_steps"] == [] and escrow["failed_steps"] == []
        functions = [t["function"] for t in escrow["transactions"]]
        assert functions == ["approve", "fund", "assignCarrier", "attestDelivery", "confirmReceipt"], number
        with demo.app_context(), database(demo).sessionmaker() as session:
            on_chain = escrow_on_chain(session, runtime.chain(demo), uuid.UUID(order["id"]))
        assert (on_chain.state, on_chain.amount, on_chain.accepted_value) == ("receipt_confirmed", Decimal(order["confirmed_total"]), Decimal(accepted))


def test_the_orders_were_delivered_by_swift_with_a_proof_of_delivery_anchored(demo):
    client = demo.test_client()
    swift = bearer(demo, "carrier@swift.example")
    shipments = client.get("/api/v1/shipments", query_string={"limit": 100}, headers=swift).get_json()["items"]
    assert len(shipments) == len(ORDERS)
    assert {s["state"] for s in shipments} == {"delivered"}
    assert all(s["proof_of_delivery"]["document_hash"].startswith("0x") for s in shipments)
