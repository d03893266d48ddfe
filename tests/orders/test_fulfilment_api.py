"""From acknowledgement to released payment, through the API, with three organizations'
users (buyer, supplier, carrier) and the operator as arbiter; every escrow step on the
embedded chain, and the token balances checked to the last unit."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord import clock
from concord.db import database
from concord.ledger.models import ChainIntent, IntentState
from concord.orders import settlement
from concord.orders.models import Receipt
from concord.tenancy.models import Relation

from tests import factories, orders_factory
from tests.ledger_helpers import BUYER_FUNDS, contract, settle
from tests.security.helpers import audit_entries

UNIT = 10**6
# draft_order's lines: 10 x 2.50 = 25.00 and 4 x 12.125 = 48.50
TOTAL = Decimal("73.50")


def now_iso(**delta) -> str:
    return (clock.utcnow() + timedelta(**delta)).isoformat()


def ship(client, world, oid, lines, carrier=None):
    body = {"carrier_id": str((carrier or world.carrier).org.id), "tracking_number": "TRK-1", "shipped_at": now_iso(hours=-2), "lines": lines}
    return client.post(f"/api/v1/orders/{oid}/shipments", json=body, headers=world.supplier.headers)


def deliver(client, world, shipment_id, receiver="Goods-in, Gate 3"):
    body = {"receiver_name": receiver, "delivered_at": now_iso(minutes=-1), "document_hash": "AB" * 32}
    return client.post(f"/api/v1/shipments/{shipment_id}/proof-of-delivery", json=body, headers=world.carrier.headers)


def delivered(app, client, world, chain_worker, oid) -> None:
    """Ship everything in one shipment and prove its delivery; settled on chain."""
    shipment = ship(client, world, oid, [{"line_no": 1, "quantity": "10"}, {"line_no": 2, "quantity": "4"}])
    assert shipment.status_code == 201, shipment.get_json()
    assert deliver(client, world, shipment.get_json()["id"]).status_code == 201
    settle(app, chain_worker)


def balances(app, worker, world) -> dict[str, int]:
    token = contract(app, worker, "SettlementToken.EUR")
    escrow = contract(app, worker, "DeliveryEscrow")
    return {
        "buyer": token.functions.balanceOf(world.buyer.signing_address(app)).call(),
        "supplier": token.functions.balanceOf(world.supplier.signing_address(app)).call(),
        "escrow": token.functions.balanceOf(escrow.address).call(),
    }


def units(amount: str | Decimal) -> int:
    return int(Decimal(amount) * UNIT)


def test_the_whole_story_partial_shipments_milestones_delivery_receipt_and_payment(app, client, world, chain_worker, order):
    buyer, supplier, carrier = world.buyer.headers, world.supplier.headers, world.carrier.headers
    first = ship(
        client,
        world,
        order,
        [
            {"line_no": 1, "quantity": "6", "lot_number": "L-A"},
            {"line_no": 2, "quantity": "2", "lot_number": "L-B"},
            {"line_no": 2, "quantity": "1", "lot_number": "L-C"},
        ],
    )
    assert first.status_code == 201, first.get_json()
    first = first.get_json()
    lots = [(1, "L-A", "6.000"), (2, "L-B", "2.000"), (2, "L-C", "1.000")]
    assert [(line["line_no"], line["lot_number"], line["quantity"]) for line in first["lines"]] == lots
    reread = client.get(f"/api/v1/shipments/{first['id']}", headers=buyer).get_json()
    assert [(line["line_no"], line["lot_number"], line["quantity"]) for line in reread["lines"]] == lots  # as the supplier listed them
    assert client.get(f"/api/v1/orders/{order}", headers=buyer).get_json()["state"] == "partially_shipped"

    # The carrier sees the shipment (with where it goes), records milestones and the proof.
    seen = client.get("/api/v1/shipments", headers=carrier).get_json()["items"]
    assert [s["id"] for s in seen] == [first["id"]] and seen[0]["ship_to"]["city"] == "Stuttgart"
    assert seen[0]["allowed_actions"] == ["prove_delivery", "record_milestone"]
    assert client.get(f"/api/v1/orders/{order}", headers=carrier).status_code == 404  # the order itself is not the carrier's
    for kind, where in (
        ("picked_up", "Supplier dock, Leeds"),
        ("departed", "Leeds, GB"),
        ("customs_cleared", "Rotterdam, NL"),
        ("out_for_delivery", "Stuttgart, DE"),
    ):
        milestone = client.post(
            f"/api/v1/shipments/{first['id']}/milestones", json={"kind": kind, "occurred_at": now_iso(minutes=-30), "location": where}, headers=carrier
        )
        assert milestone.status_code == 201, milestone.get_json()
    pod = deliver(client, world, first["id"])
    assert pod.status_code == 201, pod.get_json()
    assert pod.get_json()["proof_of_delivery"]["document_hash"] == "0x" + "ab" * 32
    assert client.get(f"/api/v1/orders/{order}", headers=buyer).get_json()["state"] == "partially_shipped"  # more to come

    second = ship(client, world, order, [{"line_no": 1, "quantity": "4", "lot_number": "L-D"}, {"line_no": 2, "quantity": "1", "lot_number": "L-C"}]).get_json()
    assert client.get(f"/api/v1/orders/{order}", headers=buyer).get_json()["state"] == "shipped"
    assert deliver(client, world, second["id"]).status_code == 201
    assert client.get(f"/api/v1/orders/{order}", headers=buyer).get_json()["allowed_actions"] == ["open_dispute", "receive"]
    settle(app, chain_worker)
    escrow = client.get(f"/api/v1/orders/{order}/escrow", headers=buyer).get_json()
    assert escrow["state"] == "delivered"
    assert [t["function"] for t in escrow["transactions"]] == ["approve", "fund", "assignCarrier", "attestDelivery"]
    assert all(t["state"] == "confirmed" for t in escrow["transactions"])

    receipt = client.post(
        f"/api/v1/orders/{order}/receipts",
        json={"lines": [{"line_no": 1, "accepted_quantity": "10"}, {"line_no": 2, "accepted_quantity": "4"}]},
        headers=buyer,
    )
    assert receipt.status_code == 201, receipt.get_json()
    assert receipt.get_json()["accepted_value"] == "73.50" and receipt.get_json()["refund_value"] == "0.00"
    assert client.get(f"/api/v1/orders/{order}", headers=supplier).get_json()["state"] == "received"
    settle(app, chain_worker)  # confirmReceipt, release; the order closes; withdrawals queued
    settle(app, chain_worker)  # withdrawals
    assert client.get(f"/api/v1/orders/{order}", headers=supplier).get_json()["state"] == "closed"
    assert balances(app, chain_worker, world) == {"buyer": units(BUYER_FUNDS - TOTAL), "supplier": units(TOTAL), "escrow": 0}
    # The indexed balances every party reads agree with the chain.
    assert client.get("/api/v1/ledger/balances", headers=supplier).get_json()[0]["balance"] == "73.500000"

    timeline = client.get(f"/api/v1/orders/{order}/timeline", headers=buyer).get_json()
    kinds = [entry["kind"] for entry in timeline]
    for kind in ("revision", "acknowledged", "shipment", "milestone", "proof_of_delivery", "receipt", "closed", "transaction"):
        assert kind in kinds, kind
    functions = [e["transaction"]["function"] for e in timeline if e["kind"] == "transaction"]
    assert sorted(functions) == sorted(["approve", "fund", "assignCarrier", "anchor", "anchor", "attestDelivery", "confirmReceipt", "release", "withdraw"])
    assert all(e["transaction"]["tx_hash"].startswith("0x") and e["transaction"]["block_number"] for e in timeline if e["kind"] == "transaction")
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)
    # Each party was told, and every step is in the audit trail.
    told = {
        name: [n["event"] for n in client.get("/api/v1/notifications?limit=100", headers=headers).get_json()["items"] if n["data"].get("order_id") == order]
        for name, headers in (("buyer", buyer), ("supplier", supplier), ("carrier", carrier))
    }
    assert {"shipment.created", "shipment.milestone", "shipment.delivered", "order.delivered", "escrow.released"} <= set(told["buyer"])
    assert "order.received" not in told["buyer"]  # the buyer confirmed it: nothing to tell it
    assert {"shipment.delivered", "order.delivered", "order.received", "escrow.released"} <= set(told["supplier"])
    assert set(told["carrier"]) == {"shipment.created"}  # assigned to it; nothing of the payment
    actions = {e.action for e in audit_entries(app) if str(e.object_id) in (order, first["id"], second["id"])}
    assert {
        "shipment:created",
        "shipment:milestone_recorded",
        "shipment:delivery_proven",
        "order:delivered",
        "order:receipt_confirmed",
        "order:closed",
    } <= actions


def test_partial_acceptance_refunds_the_rejected_value_once_the_supplier_accepts(app, client, world, chain_worker, order):
    delivered(app, client, world, chain_worker, order)
    body = {
        "lines": [
            {"line_no": 1, "accepted_quantity": "10"},
            {"line_no": 2, "accepted_quantity": "2", "rejected_quantity": "2", "rejection_reason": "Two housings cracked"},
        ]
    }
    receipt = client.post(f"/api/v1/orders/{order}/receipts", json=body, headers=world.buyer.headers).get_json()
    assert (receipt["accepted_value"], receipt["refund_value"]) == ("49.25", "24.25")  # 2 x 12.125 rejected
    shown = client.get(f"/api/v1/orders/{order}", headers=world.supplier.headers).get_json()
    assert shown["state"] == "partially_received" and shown["allowed_actions"] == ["open_dispute", "release"]
    early = client.post(f"/api/v1/orders/{order}/release", headers=world.buyer.headers)
    assert early.status_code == 409 and "supplier may accept the receipt" in early.get_json()["detail"]
    assert client.post(f"/api/v1/orders/{order}/release", headers=world.supplier.headers).status_code == 200
    settle(app, chain_worker)
    settle(app, chain_worker)
    assert client.get(f"/api/v1/orders/{order}", headers=world.buyer.headers).get_json()["state"] == "closed"
    assert balances(app, chain_worker, world) == {"buyer": units(BUYER_FUNDS - Decimal("49.25")), "supplier": units("49.25"), "escrow": 0}


def test_a_dispute_holds_the_escrow_until_the_arbiter_splits_it(app, client, world, chain_worker, order):
    delivered(app, client, world, chain_worker, order)
    opened = client.post(f"/api/v1/orders/{order}/disputes", json={"reason": "Wrong alloy on line 2"}, headers=world.buyer.headers)
    assert opened.status_code == 201, opened.get_json()
    dispute = opened.get_json()
    assert client.get(f"/api/v1/orders/{order}", headers=world.buyer.headers).get_json()["allowed_actions"] == []
    assert (
        client.post(f"/api/v1/orders/{order}/receipts", json={"lines": [{"line_no": 1, "accepted_quantity": "1"}]}, headers=world.buyer.headers).status_code
        == 409
    )
    # Only the arbiter decides; the parties see the dispute, strangers do not.
    split = {"payee_amount": "30.00", "resolution": "Line 1 as agreed, line 2 half"}
    assert client.post(f"/api/v1/disputes/{dispute['id']}/resolve", json=split, headers=world.buyer.headers).status_code == 403
    assert client.get(f"/api/v1/disputes/{dispute['id']}", headers=world.buyer2.headers).status_code == 404
    too_much = client.post(f"/api/v1/disputes/{dispute['id']}/resolve", json={**split, "payee_amount": "73.51"}, headers=world.operator.headers)
    assert too_much.status_code == 422 and "payee_amount" in too_much.get_json()["errors"]
    assert [d["id"] for d in client.get("/api/v1/disputes?state=open", headers=world.operator.headers).get_json()["items"]] == [dispute["id"]]
    settle(app, chain_worker)  # openDispute goes out before the resolution is written
    resolved = client.post(f"/api/v1/disputes/{dispute['id']}/resolve", json=split, headers=world.operator.headers)
    assert resolved.status_code == 200, resolved.get_json()
    assert (resolved.get_json()["payee_amount"], resolved.get_json()["buyer_amount"]) == ("30.00", "43.50")
    again = client.post(f"/api/v1/disputes/{dispute['id']}/resolve", json=split, headers=world.operator.headers)
    assert again.status_code == 409
    settle(app, chain_worker)
    settle(app, chain_worker)
    assert client.get(f"/api/v1/orders/{order}", headers=world.supplier.headers).get_json()["state"] == "closed"
    assert client.get(f"/api/v1/orders/{order}/escrow", headers=world.buyer.headers).get_json()["state"] == "resolved"
    assert balances(app, chain_worker, world) == {"buyer": units(BUYER_FUNDS - Decimal("30.00")), "supplier": units("30.00"), "escrow": 0}


def test_a_silent_buyer_lets_the_escrow_release_in_full_after_the_window(app, client, world, chain_worker, order, frozen_clock):
    delivered(app, client, world, chain_worker, order)
    early = client.post(f"/api/v1/orders/{order}/release", headers=world.supplier.headers)
    assert early.status_code == 409 and "may confirm receipt or dispute until" in early.get_json()["detail"]
    assert re.search(r"until \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", early.get_json()["detail"]), early.get_json()["detail"]  # not ISO 8601
    assert settlement.release_overdue(app) == 0
    frozen_clock.advance(hours=72, minutes=5)  # the window, and the margin for the node's clock
    chain_worker.chain.advance_time(72 * 3600 + 300)
    late = client.post(
        f"/api/v1/orders/{order}/receipts",
        json={"lines": [{"line_no": 1, "accepted_quantity": "1"}, {"line_no": 2, "accepted_quantity": "1"}]},
        headers=world.buyer.headers,
    )
    assert late.status_code == 409 and "window closed" in late.get_json()["detail"]
    assert client.post(f"/api/v1/orders/{order}/disputes", json={"reason": "too late"}, headers=world.buyer.headers).status_code == 409
    assert settlement.release_overdue(app) == 1
    assert settlement.release_overdue(app) == 0  # once
    settle(app, chain_worker)
    settle(app, chain_worker)
    assert client.get(f"/api/v1/orders/{order}", headers=world.buyer.headers).get_json()["state"] == "closed"
    assert balances(app, chain_worker, world) == {"buyer": units(BUYER_FUNDS - TOTAL), "supplier": units(TOTAL), "escrow": 0}


def test_shipping_more_than_confirmed_an_unknown_line_or_with_a_stranger_carrier_is_refused(app, client, session, world, chain_worker, order):
    over = ship(client, world, order, [{"line_no": 1, "quantity": "6"}, {"line_no": 1, "quantity": "5", "lot_number": "L-2"}])
    assert over.status_code == 422 and "At most" in str(over.get_json()["errors"]["lines"])
    unknown = ship(client, world, order, [{"line_no": 3, "quantity": "1"}])
    assert unknown.status_code == 422 and unknown.get_json()["errors"]["lines"]["0"]["line_no"] == ["The order has lines [1, 2]."]
    stranger = factories.member(session, world.operator, "carrier", name="Carrier Two Oy")
    session.commit()
    refused = ship(client, world, order, [{"line_no": 1, "quantity": "1"}], carrier=stranger)
    assert refused.status_code == 422 and refused.get_json()["errors"]["carrier_id"] == ["Not an active carrier partner of your organization."]
    for bad in ({"line_no": 1, "quantity": "0"}, {"line_no": 1, "quantity": "-1"}, {"line_no": 1, "quantity": "1.0001"}, {"line_no": 1, "quantity": 1.5}):
        assert ship(client, world, order, [bad]).status_code == 422, bad
    assert client.get(f"/api/v1/orders/{order}/shipments", headers=world.buyer.headers).get_json() == []
    # Once the first shipment names the escrow's carrier, the order stays with it.
    factories.partner(session, Relation.SHIPPER_CARRIER, world.supplier, stranger)
    session.commit()
    assert ship(client, world, order, [{"line_no": 1, "quantity": "1"}]).status_code == 201
    other = ship(client, world, order, [{"line_no": 1, "quantity": "1"}], carrier=stranger)
    assert other.status_code == 422 and "first shipment" in other.get_json()["errors"]["carrier_id"][0]


def test_only_the_carrier_records_milestones_and_proof_and_only_once(app, client, world, chain_worker, order):
    shipment = ship(client, world, order, [{"line_no": 1, "quantity": "10"}, {"line_no": 2, "quantity": "4"}]).get_json()
    milestone = {"kind": "departed", "occurred_at": now_iso(minutes=-5), "location": "Leeds"}
    assert client.post(f"/api/v1/shipments/{shipment['id']}/milestones", json=milestone, headers=world.supplier.headers).status_code == 403
    assert client.post(f"/api/v1/shipments/{shipment['id']}/milestones", json=milestone, headers=world.buyer2.headers).status_code == 404
    future = client.post(f"/api/v1/shipments/{shipment['id']}/milestones", json={**milestone, "occurred_at": now_iso(hours=2)}, headers=world.carrier.headers)
    assert future.status_code == 422 and "occurred_at" in future.get_json()["errors"]
    naive = client.post(
        f"/api/v1/shipments/{shipment['id']}/milestones", json={**milestone, "occurred_at": "2026-01-01T10:00:00"}, headers=world.carrier.headers
    )
    assert naive.status_code == 422
    assert deliver(client, world, shipment["id"]).status_code == 201
    assert deliver(client, world, shipment["id"]).status_code == 409
    assert client.post(f"/api/v1/shipments/{shipment['id']}/milestones", json=milestone, headers=world.carrier.headers).status_code == 409


def test_receipt_quantities_cannot_exceed_what_was_shipped_and_rejections_need_a_reason(app, client, world, chain_worker, order):
    early = client.post(f"/api/v1/orders/{order}/receipts", json={"lines": [{"line_no": 1, "accepted_quantity": "1"}]}, headers=world.buyer.headers)
    assert early.status_code == 409 and early.get_json()["current_state"] == "acknowledged"
    delivered(app, client, world, chain_worker, order)
    for lines, field in (
        (
            [{"line_no": 1, "accepted_quantity": "10"}, {"line_no": 2, "accepted_quantity": "4", "rejected_quantity": "1", "rejection_reason": "x"}],
            "accepted_quantity",
        ),
        ([{"line_no": 1, "accepted_quantity": "9", "rejected_quantity": "1"}, {"line_no": 2, "accepted_quantity": "4"}], "rejection_reason"),
    ):
        response = client.post(f"/api/v1/orders/{order}/receipts", json={"lines": lines}, headers=world.buyer.headers)
        assert response.status_code == 422 and field in str(response.get_json()["errors"]), response.get_json()
    missing = client.post(f"/api/v1/orders/{order}/receipts", json={"lines": [{"line_no": 1, "accepted_quantity": "10"}]}, headers=world.buyer.headers)
    assert missing.status_code == 422 and "missing: [2]" in str(missing.get_json()["errors"])
    assert (
        client.post(
            f"/api/v1/orders/{order}/receipts",
            json={"lines": [{"line_no": 1, "accepted_quantity": "10"}, {"line_no": 2, "accepted_quantity": "4"}]},
            headers=world.supplier.headers,
        ).status_code
        == 403
    )
    with database(app).sessionmaker() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Receipt)).scalar() == 0


def _race(app, requests) -> list[int]:
    barrier = threading.Barrier(len(requests))
    statuses: list[int] = []

    def send(path, body, headers):
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post(path, json=body, headers=headers).status_code)

    threads = [threading.Thread(target=send, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(statuses)


@pytest.mark.real_commits  # two threads, each on its own connection
def test_two_simultaneous_receipts_one_wins_the_other_gets_409(app, client, world, chain_worker, order):
    delivered(app, client, world, chain_worker, order)
    body = {"lines": [{"line_no": 1, "accepted_quantity": "10"}, {"line_no": 2, "accepted_quantity": "4"}]}
    assert _race(app, [(f"/api/v1/orders/{order}/receipts", body, world.buyer.headers)] * 2) == [201, 409]
    with database(app).sessionmaker() as s:
        releases = (
            s.execute(sa.select(ChainIntent).where(ChainIntent.subject_id == order, ChainIntent.function.in_(["confirmReceipt", "release"]))).scalars().all()
        )
    assert sorted(i.function for i in releases) == ["confirmReceipt", "release"]


@pytest.mark.real_commits  # two threads, each on its own connection
def test_two_simultaneous_releases_one_wins_the_other_gets_409(app, client, world, chain_worker, order):
    delivered(app, client, world, chain_worker, order)
    body = {
        "lines": [{"line_no": 1, "accepted_quantity": "10"}, {"line_no": 2, "accepted_quantity": "3", "rejected_quantity": "1", "rejection_reason": "Dented"}]
    }
    assert client.post(f"/api/v1/orders/{order}/receipts", json=body, headers=world.buyer.headers).status_code == 201
    assert _race(app, [(f"/api/v1/orders/{order}/release", None, world.supplier.headers)] * 2) == [200, 409]
    with database(app).sessionmaker() as s:
        assert (
            s.execute(sa.select(sa.func.count()).select_from(ChainIntent).where(ChainIntent.subject_id == order, ChainIntent.function == "release")).scalar()
            == 1
        )


def test_with_the_chain_down_the_steps_are_recorded_and_queue_in_order(app, client, world, chain_worker, order, monkeypatch):
    from concord.ledger.chain import ChainUnavailable

    def down(*args, **kwargs):
        raise ChainUnavailable("node unreachable")

    monkeypatch.setattr(type(chain_worker.chain), "send_raw", down)
    shipment = ship(client, world, order, [{"line_no": 1, "quantity": "10"}, {"line_no": 2, "quantity": "4"}]).get_json()
    assert deliver(client, world, shipment["id"]).status_code == 201
    chain_worker.drain()
    escrow = client.get(f"/api/v1/orders/{order}/escrow", headers=world.buyer.headers).get_json()
    assert escrow["state"] == "funded"  # what the chain says: delivery not attested yet
    assert escrow["pending_steps"] == ["assignCarrier", "attestDelivery"]
    assert client.get(f"/api/v1/orders/{order}", headers=world.buyer.headers).get_json()["state"] == "delivered"
    monkeypatch.undo()
    with database(app).sessionmaker() as s, s.begin():
        s.execute(sa.update(ChainIntent).where(ChainIntent.state.in_([IntentState.QUEUED, IntentState.SIGNED])).values(next_attempt_at=clock.utcnow()))
    settle(app, chain_worker)
    caught_up = client.get(f"/api/v1/orders/{order}/escrow", headers=world.buyer.headers).get_json()
    assert caught_up["state"] == "delivered" and caught_up["pending_steps"] == []


def test_a_failed_escrow_step_fails_the_steps_waiting_for_it(app, client, session, world, chain_worker, order):
    """The carrier cannot attest before the supplier names it: if naming fails, attesting is
    never sent, and says why."""
    shipment = ship(client, world, order, [{"line_no": 1, "quantity": "10"}, {"line_no": 2, "quantity": "4"}]).get_json()
    with database(app).sessionmaker() as s, s.begin():
        naming = s.execute(sa.select(ChainIntent).where(ChainIntent.function == "assignCarrier")).scalar_one()
        naming.args = [naming.args[0], "0x" + "00" * 20]  # a carrier the escrow refuses
    assert deliver(client, world, shipment["id"]).status_code == 201
    settle(app, chain_worker)
    escrow = client.get(f"/api/v1/orders/{order}/escrow", headers=world.buyer.headers).get_json()
    by_function = {t["function"]: t for t in escrow["transactions"]}
    assert by_function["assignCarrier"]["state"] == "failed" and "DeliveryEscrowZeroAddress" in by_function["assignCarrier"]["revert_reason"]
    assert by_function["attestDelivery"]["state"] == "failed" and "waited for" in by_function["attestDelivery"]["last_error"]
    assert by_function["attestDelivery"]["tx_hash"] is None  # never signed, never sent
    assert escrow["state"] == "funded"


# -- every action in every fulfilment state -------------------------------------------------

RECEIVE_ALL = {"lines": [{"line_no": 1, "accepted_quantity": "10"}, {"line_no": 2, "accepted_quantity": "4"}]}
RECEIVE_SOME = {
    "lines": [{"line_no": 1, "accepted_quantity": "10"}, {"line_no": 2, "accepted_quantity": "3", "rejected_quantity": "1", "rejection_reason": "Dented"}]
}
#: What each side may do in each state (the window after delivery still open).
EXPECTED = {
    "acknowledged": {"buyer": ["open_dispute"], "supplier": ["open_dispute", "ship"]},
    "partially_shipped": {"buyer": ["open_dispute"], "supplier": ["open_dispute", "ship"]},
    "shipped": {"buyer": ["open_dispute"], "supplier": ["open_dispute"]},
    "delivered": {"buyer": ["open_dispute", "receive"], "supplier": ["open_dispute"]},
    "partially_received": {"buyer": [], "supplier": ["open_dispute", "release"]},
    "received": {"buyer": [], "supplier": []},
    "disputed": {"buyer": [], "supplier": []},
    "closed": {"buyer": [], "supplier": []},
}


def _requests(world) -> dict[str, tuple[str, str, dict | None]]:
    return {
        "edit": ("PATCH", "", {"payment_terms": "Net 60"}),
        "issue": ("POST", "/issue", None),
        "cancel": ("POST", "/cancel", {"reason": "No longer needed"}),
        "acknowledge": (
            "POST",
            "/acknowledge",
            {
                "lines": [
                    {"line_no": 1, "confirmed_quantity": "10", "confirmed_date": date.today().isoformat()},
                    {"line_no": 2, "confirmed_quantity": "4", "confirmed_date": date.today().isoformat()},
                ]
            },
        ),
        "reject": ("POST", "/reject", {"reason": "Cannot deliver"}),
        "propose_change": ("POST", "/change-proposals", {"lines": [{"line_no": 1, "quantity": "9"}]}),
        "ship": ("POST", "/shipments", {"carrier_id": str(world.carrier.org.id), "lines": [{"line_no": 1, "quantity": "1"}]}),
        "receive": ("POST", "/receipts", RECEIVE_ALL),
        "open_dispute": ("POST", "/disputes", {"reason": "Not as agreed"}),
        "release": ("POST", "/release", None),
    }


def _order_in_state(app, client, world, chain_worker, oid: str, state: str) -> None:
    if state == "acknowledged":
        return
    if state == "partially_shipped":
        assert ship(client, world, oid, [{"line_no": 1, "quantity": "5"}]).status_code == 201
        return
    shipment = ship(client, world, oid, [{"line_no": 1, "quantity": "10"}, {"line_no": 2, "quantity": "4"}]).get_json()
    if state == "shipped":
        return
    assert deliver(client, world, shipment["id"]).status_code == 201
    if state == "disputed":
        assert client.post(f"/api/v1/orders/{oid}/disputes", json={"reason": "Short"}, headers=world.buyer.headers).status_code == 201
    elif state in ("partially_received", "received", "closed"):
        body = RECEIVE_SOME if state == "partially_received" else RECEIVE_ALL
        assert client.post(f"/api/v1/orders/{oid}/receipts", json=body, headers=world.buyer.headers).status_code == 201
    if state == "closed":
        settle(app, chain_worker)


def _written(app) -> tuple[int, ...]:
    from concord.orders.models import Dispute, Shipment

    with database(app).sessionmaker() as s:
        return tuple(s.execute(sa.select(sa.func.count()).select_from(model)).scalar() for model in (Shipment, Receipt, Dispute, ChainIntent))


@pytest.mark.parametrize("state", list(EXPECTED))
def test_every_action_a_fulfilment_state_does_not_allow_is_refused_and_changes_nothing(app, client, world, chain_worker, order, state):
    from concord.orders.lifecycle import EITHER, TRANSITIONS

    _order_in_state(app, client, world, chain_worker, order, state)
    for side, member in (("buyer", world.buyer), ("supplier", world.supplier)):
        shown = client.get(f"/api/v1/orders/{order}", headers=member.headers).get_json()
        assert shown["state"] == state and shown["allowed_actions"] == EXPECTED[state][side], (state, side)
        for action, (method, suffix, body) in _requests(world).items():
            if action in EXPECTED[state][side]:
                continue
            before = _written(app)
            response = client.open(f"/api/v1/orders/{order}{suffix}", method=method, json=body, headers=member.headers)
            parties = {party for (_s, a), (_n, party) in TRANSITIONS.items() if a == action}
            if side in parties or EITHER in parties:
                assert response.status_code == 409, (state, side, action, response.get_json())
                assert response.get_json()["current_state"] == state
                assert response.get_json()["allowed_actions"] == EXPECTED[state][side]
            else:
                assert response.status_code == 403, (state, side, action, response.get_json())
            assert _written(app) == before, (state, side, action)


# -- timing, separation of duties and races the escrow would refuse -------------------------


def test_the_buyer_cannot_act_in_the_last_half_hour_of_the_window(app, client, world, chain_worker, order, frozen_clock):
    """A receipt recorded at the very end of the window would be mined after it closed."""
    delivered(app, client, world, chain_worker, order)
    frozen_clock.advance(hours=71, minutes=31)
    late = client.post(f"/api/v1/orders/{order}/receipts", json=RECEIVE_ALL, headers=world.buyer.headers)
    assert late.status_code == 409 and "window closed" in late.get_json()["detail"]


def test_a_receipt_the_chain_refused_as_too_late_still_ends_in_a_release(app, client, world, chain_worker, order, frozen_clock):
    delivered(app, client, world, chain_worker, order)
    frozen_clock.advance(hours=71)
    assert client.post(f"/api/v1/orders/{order}/receipts", json=RECEIVE_SOME, headers=world.buyer.headers).status_code == 201
    # The ledger was unreachable for two hours: the receipt reaches the chain after the window.
    frozen_clock.advance(hours=2)
    chain_worker.chain.advance_time(73 * 3600)
    settle(app, chain_worker)
    escrow = client.get(f"/api/v1/orders/{order}/escrow", headers=world.buyer.headers).get_json()
    assert escrow["state"] == "delivered" and escrow["failed_steps"] == ["confirmReceipt"]
    by_function = {t["function"]: t for t in escrow["transactions"]}
    assert "DeliveryEscrowDisputeWindowClosed" in by_function["confirmReceipt"]["revert_reason"]
    # The chain's word stands: the window passed in silence, so the worker releases in full.
    frozen_clock.advance(minutes=5)
    assert settlement.release_overdue(app) == 1
    settle(app, chain_worker)
    settle(app, chain_worker)
    assert client.get(f"/api/v1/orders/{order}", headers=world.buyer.headers).get_json()["state"] == "closed"
    assert balances(app, chain_worker, world) == {"buyer": units(BUYER_FUNDS - TOTAL), "supplier": units(TOTAL), "escrow": 0}
    closing = [e for e in audit_entries(app, action="order:closed") if str(e.object_id) == order]
    assert closing[0].summary["after"]["paid_to_supplier"] == "73.50"  # what the chain paid, not what the receipt said


def test_the_window_is_the_one_the_escrow_was_funded_with(app, client, world, chain_worker, order, frozen_clock, monkeypatch):
    delivered(app, client, world, chain_worker, order)
    monkeypatch.setitem(app.config, "DISPUTE_WINDOW_HOURS", 24)  # changed after the escrow was funded with 72
    frozen_clock.advance(hours=25)
    chain_worker.chain.advance_time(25 * 3600)
    assert settlement.release_overdue(app) == 0
    assert client.post(f"/api/v1/orders/{order}/receipts", json=RECEIVE_ALL, headers=world.buyer.headers).status_code == 201


def test_no_party_of_the_order_can_be_its_carrier(app, client, session, world, chain_worker):
    fleet = factories.member(session, world.operator, "buyer", "carrier", name="Buyer With Fleet AG")
    factories.partner(session, Relation.BUYER_SUPPLIER, fleet, world.supplier)
    factories.partner(session, Relation.SHIPPER_CARRIER, world.supplier, fleet)
    session.commit()
    settle(app, chain_worker)
    with app.test_request_context():
        from concord.ledger import service as ledger_service

        ledger_service.mint(session, world.operator.principal, fleet.org.id, "EUR", Decimal("1000"))
        issued = orders_factory.issued_order(session, fleet, world.supplier)
    session.commit()
    settle(app, chain_worker)
    body = {"lines": [{"line_no": n, "confirmed_quantity": q, "confirmed_date": date.today().isoformat()} for n, q in ((1, "10"), (2, "4"))]}
    assert client.post(f"/api/v1/orders/{issued.id}/acknowledge", json=body, headers=world.supplier.headers).status_code == 200
    settle(app, chain_worker)  # goods move only once the escrow is funded
    own = ship(client, world, str(issued.id), [{"line_no": 1, "quantity": "10"}], carrier=fleet)
    assert own.status_code == 422 and "neither the buyer" in own.get_json()["errors"]["carrier_id"][0]


def test_every_shipped_unit_is_accepted_or_rejected(app, client, world, chain_worker, order):
    delivered(app, client, world, chain_worker, order)
    silent = {"lines": [{"line_no": 1, "accepted_quantity": "0"}, {"line_no": 2, "accepted_quantity": "4"}]}
    response = client.post(f"/api/v1/orders/{order}/receipts", json=silent, headers=world.buyer.headers)
    assert response.status_code == 422 and "must be the shipped 10.000" in str(response.get_json()["errors"])


@pytest.mark.real_commits  # two threads, each on its own connection
def test_two_simultaneous_resolutions_one_wins_the_other_gets_409(app, client, world, chain_worker, order):
    delivered(app, client, world, chain_worker, order)
    dispute = client.post(f"/api/v1/orders/{order}/disputes", json={"reason": "Wrong alloy"}, headers=world.buyer.headers).get_json()
    settle(app, chain_worker)
    path = f"/api/v1/disputes/{dispute['id']}/resolve"
    assert _race(
        app,
        [
            (path, {"payee_amount": "73.50", "resolution": "All"}, world.operator.headers),
            (path, {"payee_amount": "0.00", "resolution": "None"}, world.operator.headers),
        ],
    ) == [200, 409]
    with database(app).sessionmaker() as s:
        assert (
            s.execute(
                sa.select(sa.func.count()).select_from(ChainIntent).where(ChainIntent.subject_id == order, ChainIntent.function == "resolveDispute")
            ).scalar()
            == 1
        )


@pytest.mark.real_commits  # two threads, each on its own connection
def test_two_simultaneous_proofs_of_delivery_one_wins_the_other_gets_409(app, client, world, chain_worker, order):
    shipment = ship(client, world, order, [{"line_no": 1, "quantity": "10"}, {"line_no": 2, "quantity": "4"}]).get_json()
    body = {"receiver_name": "Gate 3", "delivered_at": now_iso(minutes=-1)}
    path = f"/api/v1/shipments/{shipment['id']}/proof-of-delivery"
    assert _race(app, [(path, body, world.carrier.headers)] * 2) == [201, 409]
    with database(app).sessionmaker() as s:
        assert (
            s.execute(
                sa.select(sa.func.count()).select_from(ChainIntent).where(ChainIntent.function == "anchor", ChainIntent.subject_id == shipment["id"])
            ).scalar()
            == 1
        )


def test_senders_waiting_for_another_senders_step_do_not_crowd_out_the_ready_ones(app, session, world, chain_worker):
    from concord.ledger import outbox

    def anchor(member, n, after=None):
        return outbox.enqueue(
            session,
            organization_id=member.org.id,
            contract="ProvenanceAnchor",
            function="anchor",
            args=[(n).to_bytes(32, "big"), b"\x02" * 32, 1],
            purpose="probe",
            after=after,
        )

    stuck = anchor(world.carrier, 1)
    session.flush()
    stuck.next_attempt_at = clock.utcnow() + timedelta(minutes=5)  # backing off
    for n in range(2, 12):
        anchor(world.supplier, n, after=stuck)
    ready = anchor(world.buyer, 99)
    session.commit()
    with database(app).sessionmaker() as s:
        assert chain_worker.due(s, limit=5) == [(ready.seq, ready.sender)]


def test_a_partnership_may_name_another_arbiter_who_alone_decides_its_disputes(app, client, session, world, chain_worker):
    buyer, supplier, auditor = world.buyer2, world.supplier, world.auditor
    ask = {"relation": "buyer_supplier", "counterparty_id": str(supplier.org.id)}
    refused = client.post("/api/v1/partnerships", json={**ask, "arbiter_id": str(supplier.org.id)}, headers=buyer.headers)
    assert refused.status_code == 422 and refused.get_json()["errors"]["arbiter_id"] == ["A partner cannot arbitrate its own disputes."]
    asked = client.post("/api/v1/partnerships", json={**ask, "arbiter_id": str(auditor.org.id)}, headers=buyer.headers)
    assert asked.status_code == 201 and asked.get_json()["arbiter"]["id"] == str(auditor.org.id)
    assert client.post(f"/api/v1/partnerships/{asked.get_json()['id']}/accept", headers=supplier.headers).status_code == 200
    with app.test_request_context():
        from concord.ledger import service as ledger_service

        ledger_service.mint(session, world.operator.principal, buyer.org.id, "EUR", Decimal("1000"))
        issued = orders_factory.issued_order(session, buyer, supplier)
    session.commit()
    settle(app, chain_worker)  # the buyer's tokens
    body = {"lines": [{"line_no": n, "confirmed_quantity": q, "confirmed_date": date.today().isoformat()} for n, q in ((1, "10"), (2, "4"))]}
    oid = str(issued.id)
    assert client.post(f"/api/v1/orders/{oid}/acknowledge", json=body, headers=supplier.headers).status_code == 200
    settle(app, chain_worker)  # the arbiter's role on chain first, then the escrow naming it
    funded = [e for e in client.get(f"/api/v1/orders/{oid}/escrow", headers=buyer.headers).get_json()["events"] if e["event"] == "EscrowFunded"]
    assert funded[0]["args"]["arbiter"].lower() == auditor.signing_address(app).lower()
    delivered(app, client, world, chain_worker, oid)
    dispute = client.post(f"/api/v1/orders/{oid}/disputes", json={"reason": "Short shipped"}, headers=supplier.headers).get_json()
    assert dispute["arbiter_org_id"] == str(auditor.org.id)
    settle(app, chain_worker)
    split = {"payee_amount": "50.00", "resolution": "Split after inspection"}
    assert client.post(f"/api/v1/disputes/{dispute['id']}/resolve", json=split, headers=world.operator.headers).status_code == 404  # not its dispute
    assert client.post(f"/api/v1/disputes/{dispute['id']}/resolve", json=split, headers=auditor.headers).status_code == 200
    settle(app, chain_worker)
    settle(app, chain_worker)
    token = contract(app, chain_worker, "SettlementToken.EUR")
    assert client.get(f"/api/v1/orders/{oid}", headers=buyer.headers).get_json()["state"] == "closed"
    assert token.functions.balanceOf(buyer.signing_address(app)).call() == units(Decimal("1000") - Decimal("50.00"))
    assert token.functions.balanceOf(supplier.signing_address(app)).call() == units("50.00")


def _partners_naming(client, world, buyer, arbiter):
    asked = client.post(
        "/api/v1/partnerships",
        json={"relation": "buyer_supplier", "counterparty_id": str(world.supplier.org.id), "arbiter_id": str(arbiter.org.id)},
        headers=buyer.headers,
    ).get_json()
    assert client.post(f"/api/v1/partnerships/{asked['id']}/accept", headers=world.supplier.headers).status_code == 200


def _funded_buyer2_order(app, client, session, world, chain_worker):
    with app.test_request_context():
        from concord.ledger import service as ledger_service

        ledger_service.mint(session, world.operator.principal, world.buyer2.org.id, "EUR", Decimal("1000"))
        issued = orders_factory.issued_order(session, world.buyer2, world.supplier)
    session.commit()
    settle(app, chain_worker)
    return str(issued.id)


def test_the_arbiter_a_partnership_names_cannot_carry_its_orders(app, client, session, world, chain_worker):
    _partners_naming(client, world, world.buyer2, world.carrier)
    oid = _funded_buyer2_order(app, client, session, world, chain_worker)
    body = {"lines": [{"line_no": n, "confirmed_quantity": q, "confirmed_date": date.today().isoformat()} for n, q in ((1, "10"), (2, "4"))]}
    assert client.post(f"/api/v1/orders/{oid}/acknowledge", json=body, headers=world.supplier.headers).status_code == 200
    settle(app, chain_worker)  # goods move only once the escrow is funded
    refused = ship(client, world, oid, [{"line_no": 1, "quantity": "10"}])
    assert refused.status_code == 422 and "nor the arbiter" in refused.get_json()["errors"]["carrier_id"][0]


def test_an_arbiter_no_longer_active_stops_funding_with_a_409(app, client, session, world, chain_worker):
    from concord.tenancy import service as tenancy

    _partners_naming(client, world, world.buyer2, world.auditor)
    oid = _funded_buyer2_order(app, client, session, world, chain_worker)
    with app.test_request_context():
        tenancy.transition_organization(session, world.operator.principal, world.auditor.org.id, "suspend", reason="Lapsed accreditation")
    session.commit()
    body = {"lines": [{"line_no": n, "confirmed_quantity": q, "confirmed_date": date.today().isoformat()} for n, q in ((1, "10"), (2, "4"))]}
    refused = client.post(f"/api/v1/orders/{oid}/acknowledge", json=body, headers=world.supplier.headers)
    assert refused.status_code == 409 and "arbiter" in refused.get_json()["detail"]
    assert client.get(f"/api/v1/orders/{oid}", headers=world.buyer2.headers).get_json()["state"] == "issued"


def test_a_release_the_chain_refuses_is_retried_later_and_a_few_times_only(app, client, world, chain_worker, order, frozen_clock, monkeypatch):
    delivered(app, client, world, chain_worker, order)
    monkeypatch.setattr(settlement, "dispute_window", lambda session, order: timedelta(hours=1))  # shorter than the escrow's 72 h
    frozen_clock.advance(hours=2)
    for attempt in range(settlement.MAX_RELEASE_ATTEMPTS):
        assert settlement.release_overdue(app) == 1, attempt
        settle(app, chain_worker)
        assert settlement.release_overdue(app) == 0  # not again at once
        frozen_clock.advance(hours=1, minutes=1)
    assert settlement.release_overdue(app) == 0  # given up: the escrow shows the refused steps
    escrow = client.get(f"/api/v1/orders/{order}/escrow", headers=world.buyer.headers).get_json()
    assert escrow["failed_steps"] == ["release"] * settlement.MAX_RELEASE_ATTEMPTS and escrow["state"] == "delivered"


def test_shipment_and_dispute_lists_filter_by_partner_and_state(app, client, world, chain_worker, order):
    shipment = ship(client, world, order, [{"line_no": 1, "quantity": "10"}, {"line_no": 2, "quantity": "4"}]).get_json()
    listed = lambda path, headers: [item["id"] for item in client.get(path, headers=headers).get_json()["items"]]  # noqa: E731
    assert listed(f"/api/v1/shipments?partner_id={world.buyer.org.id}", world.supplier.headers) == [shipment["id"]]
    assert listed(f"/api/v1/shipments?partner_id={world.carrier.org.id}&state=in_transit", world.buyer.headers) == [shipment["id"]]
    assert listed(f"/api/v1/shipments?partner_id={world.buyer2.org.id}", world.supplier.headers) == []
    assert listed("/api/v1/shipments?state=delivered", world.carrier.headers) == []
    dispute = client.post(f"/api/v1/orders/{order}/disputes", json={"reason": "Late"}, headers=world.buyer.headers).get_json()
    assert listed(f"/api/v1/disputes?partner_id={world.supplier.org.id}", world.operator.headers) == [dispute["id"]]
    assert listed(f"/api/v1/disputes?partner_id={world.buyer2.org.id}", world.operator.headers) == []
