"""Purchase orders through the API: the shared story of buyer and supplier, every invalid
transition, wrong actors, bad input that writes nothing, and two answers at once."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord.db import database
from concord.orders.lifecycle import EITHER, TRANSITIONS
from concord.orders.models import ChangeProposal, OrderLine, OrderRevision, OrderState, PurchaseOrder
from concord.tenancy.models import Role

from tests import factories, orders_factory
from tests.ledger_helpers import settle
from tests.security.helpers import audit_entries

SOON = (date.today() + timedelta(days=14)).isoformat()
LATER = (date.today() + timedelta(days=21)).isoformat()


@pytest.fixture
def shop(app, session, world):
    """The buyer's catalog: two products and a location (buyer and supplier are partners)."""
    with app.test_request_context():
        products, location = orders_factory.catalog_of(session, world.buyer)
    session.commit()
    return {"products": [str(p.id) for p in products], "location": str(location.id)}


def order_body(world, shop, **overrides):
    body = {
        "number": "PO-2026-0001",
        "supplier_id": str(world.supplier.org.id),
        "currency": "EUR",
        "ship_to_location_id": shop["location"],
        "incoterm": "DAP",
        "payment_terms": "Escrow, released on receipt",
        "lines": [
            {"product_id": shop["products"][0], "quantity": "250", "unit_price": "1.2345", "requested_date": SOON},
            {"product_id": shop["products"][1], "quantity": "12.5", "unit_price": "80", "requested_date": SOON},
        ],
    }
    return {**body, **overrides}


def count(app, model) -> int:
    with database(app).sessionmaker() as s:
        return s.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_buyer_and_supplier_take_an_order_from_draft_to_partial_acknowledgement(app, client, world, shop):
    buyer, supplier = world.buyer.headers, world.supplier.headers
    created = client.post("/api/v1/orders", json=order_body(world, shop), headers=buyer)
    assert created.status_code == 201, created.get_json()
    order = created.get_json()
    # 250 x 1.2345 = 308.625 -> 308.62 (half to even); 12.5 x 80 = 1000.00
    assert [line["amount"] for line in order["lines"]] == ["308.62", "1000.00"]
    assert order["total"] == "1308.62" and order["state"] == "draft" and order["revision"] == 0
    assert order["allowed_actions"] == ["cancel", "edit", "issue"]
    oid = order["id"]
    # A draft is the buyer's alone.
    assert client.get(f"/api/v1/orders/{oid}", headers=supplier).status_code == 404
    patched = client.patch(f"/api/v1/orders/{oid}", json={"incoterm": "FCA", "payment_terms": "Net 30"}, headers=buyer).get_json()
    assert (patched["incoterm"], patched["payment_terms"]) == ("FCA", "Net 30")

    issued = client.post(f"/api/v1/orders/{oid}/issue", headers=buyer).get_json()
    assert issued["state"] == "issued" and issued["revision"] == 1
    inbox = client.get("/api/v1/orders?role=supplier&state=issued", headers=supplier).get_json()["items"]
    assert [o["id"] for o in inbox] == [oid]
    assert inbox[0]["allowed_actions"] == ["acknowledge", "propose_change", "reject"]
    assert inbox[0]["ship_to"]["city"] == "Stuttgart"

    proposal = client.post(
        f"/api/v1/orders/{oid}/change-proposals",
        json={"note": "Price list 2027", "lines": [{"line_no": 1, "unit_price": "1.30"}, {"line_no": 2, "requested_date": LATER}]},
        headers=supplier,
    )
    assert proposal.status_code == 201, proposal.get_json()
    pid = proposal.get_json()["id"]
    assert client.get(f"/api/v1/orders/{oid}", headers=supplier).get_json()["allowed_actions"] == []  # waiting for the buyer
    assert client.get(f"/api/v1/orders/{oid}", headers=buyer).get_json()["allowed_actions"] == ["accept_change", "cancel", "decline_change"]
    accepted = client.post(f"/api/v1/orders/{oid}/change-proposals/{pid}/accept", headers=buyer)
    assert accepted.status_code == 200 and accepted.get_json()["state"] == "accepted"

    revised = client.get(f"/api/v1/orders/{oid}", headers=supplier).get_json()
    assert revised["revision"] == 2 and revised["total"] == "1325.00"  # 250 x 1.30 + 1000
    assert revised["lines"][1]["requested_date"] == LATER
    revisions = client.get(f"/api/v1/orders/{oid}/revisions", headers=supplier).get_json()
    assert [r["number"] for r in revisions] == [1, 2]
    assert revisions[0]["snapshot"]["lines"][0]["unit_price"] == "1.2345"  # the old terms stay readable
    assert revisions[1]["snapshot"]["lines"][0]["unit_price"] == "1.3000"

    acknowledged = client.post(
        f"/api/v1/orders/{oid}/acknowledge",
        json={
            "lines": [
                {"line_no": 1, "confirmed_quantity": "200", "confirmed_date": SOON},
                {"line_no": 2, "confirmed_quantity": "12.5", "confirmed_date": LATER},
            ]
        },
        headers=supplier,
    )
    assert acknowledged.status_code == 200, acknowledged.get_json()
    result = acknowledged.get_json()
    assert result["state"] == "acknowledged" and result["confirmed_total"] == "1260.00"  # 200 x 1.30 + 1000
    assert [line["confirmed_quantity"] for line in result["lines"]] == ["200.000", "12.500"]
    # Both parties find every step in their audit trail.
    for headers in (buyer, supplier):
        actions = [e["action"] for e in client.get(f"/api/v1/audit?object_id={oid}&limit=50", headers=headers).get_json()["items"]]
        assert actions[:4] == ["order:acknowledged", "order:change_accepted", "order:change_proposed", "order:issued"]
    # The supplier's look at the draft was refused and recorded as such.
    assert [e.action for e in audit_entries(app) if e.object_id == oid][:3] == ["order:created", "access:denied", "order:updated"]


ACTION_REQUESTS = {
    "edit": ("PATCH", "", {"payment_terms": "Net 60"}),
    "issue": ("POST", "/issue", None),
    "cancel": ("POST", "/cancel", {"reason": "No longer needed"}),
    "acknowledge": (
        "POST",
        "/acknowledge",
        {"lines": [{"line_no": 1, "confirmed_quantity": "10", "confirmed_date": SOON}, {"line_no": 2, "confirmed_quantity": "4", "confirmed_date": SOON}]},
    ),
    "reject": ("POST", "/reject", {"reason": "Cannot deliver"}),
    "propose_change": ("POST", "/change-proposals", {"lines": [{"line_no": 1, "quantity": "9"}]}),
}
PARTY = {action: party for (_state, action), (_next, party) in TRANSITIONS.items()}


def _order_in(app, session, world, state: str, worker=None):
    """An order in `state`; an acknowledged one with its escrow funded on chain when a
    worker is given (before that, no goods move and no dispute opens)."""
    with app.test_request_context():
        order = orders_factory.draft_order(session, world.buyer, world.supplier)
        if state != "draft":
            from concord.orders import service

            service.issue(session, world.buyer.principal, order.id)
            if state == "acknowledged":
                service.acknowledge(
                    session,
                    world.supplier.principal,
                    order.id,
                    [{"line_no": n, "confirmed_quantity": Decimal(1), "confirmed_date": date.today()} for n in (1, 2)],
                )
            elif state == "rejected":
                service.reject(session, world.supplier.principal, order.id, "No capacity")
            elif state == "cancelled":
                service.cancel(session, world.buyer.principal, order.id, "Changed plans")
    session.commit()
    if worker is not None:
        settle(app, worker)
    return order.id


@pytest.mark.parametrize("state", ["draft", "issued", "acknowledged", "rejected", "cancelled"])
def test_every_action_the_table_does_not_allow_answers_409_with_the_allowed_ones(app, client, session, world, state, chain_worker):
    oid = _order_in(app, session, world, state, chain_worker)
    for action, (method, suffix, body) in ACTION_REQUESTS.items():
        if (OrderState(state), action) in TRANSITIONS:
            continue
        party = world.buyer if PARTY[action] == "buyer" else world.supplier
        if state == "draft" and party is world.supplier:
            continue  # the supplier cannot see a draft at all (404, covered below)
        before = count(app, OrderRevision), count(app, ChangeProposal)
        response = client.open(f"/api/v1/orders/{oid}{suffix}", method=method, json=body, headers=party.headers)
        assert response.status_code == 409, (state, action, response.get_json())
        problem = response.get_json()
        assert problem["current_state"] == state
        expected = sorted(
            a
            for (s, a), (_n, p) in TRANSITIONS.items()
            if s == OrderState(state) and p in (PARTY[action], EITHER) and a not in ("accept_change", "decline_change")
        )
        if state == "acknowledged":  # the escrow is funded: the buyer disputes instead of cancelling
            expected = [a for a in expected if a != "cancel"]
        assert problem["allowed_actions"] == expected, (state, action)
        assert (count(app, OrderRevision), count(app, ChangeProposal)) == before


def test_the_wrong_party_gets_403_and_a_stranger_404(app, client, session, world):
    oid = _order_in(app, session, world, "issued")
    assert client.post(f"/api/v1/orders/{oid}/acknowledge", json=ACTION_REQUESTS["acknowledge"][2], headers=world.buyer.headers).status_code == 403
    assert client.post(f"/api/v1/orders/{oid}/cancel", json={"reason": "mine now"}, headers=world.supplier.headers).status_code == 403
    assert client.get(f"/api/v1/orders/{oid}", headers=world.supplier2.headers).status_code == 404
    assert client.post(f"/api/v1/orders/{oid}/reject", json={"reason": "x"}, headers=world.carrier.headers).status_code == 404
    draft = _order_in(app, session, world, "draft")
    assert client.post(f"/api/v1/orders/{draft}/acknowledge", json=ACTION_REQUESTS["acknowledge"][2], headers=world.supplier.headers).status_code == 404
    with app.test_request_context():
        _, viewer = factories.add_user(session, world.buyer, Role.VIEWER)
    assert client.get(f"/api/v1/orders/{oid}", headers=factories.bearer(viewer)).status_code == 200
    assert client.post(f"/api/v1/orders/{draft}/issue", headers=factories.bearer(viewer)).status_code == 403
    # A supplier-only organization places no orders, even with a valid body.
    with app.test_request_context():
        products, location = orders_factory.catalog_of(session, world.supplier)
    session.commit()
    body = {
        "number": "S-1",
        "supplier_id": str(world.buyer.org.id),
        "currency": "EUR",
        "ship_to_location_id": str(location.id),
        "incoterm": "EXW",
        "payment_terms": "Net 30",
        "lines": [{"product_id": str(products[0].id), "quantity": "1", "unit_price": "1", "requested_date": SOON}],
    }
    assert client.post("/api/v1/orders", json=body, headers=world.supplier.headers).status_code == 403


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"lines": [{"product_id": "{p0}", "quantity": 250, "unit_price": "1.00", "requested_date": SOON}]}, ("lines", "0", "quantity")),
        ({"lines": [{"product_id": "{p0}", "quantity": "-1", "unit_price": "1.00", "requested_date": SOON}]}, ("lines", "0", "quantity")),
        ({"lines": [{"product_id": "{p0}", "quantity": "1.0001", "unit_price": "1.00", "requested_date": SOON}]}, ("lines", "0", "quantity")),
        ({"lines": [{"product_id": "{p0}", "quantity": "1", "unit_price": "0", "requested_date": SOON}]}, ("lines", "0", "unit_price")),
        ({"lines": [{"product_id": "{p0}", "quantity": "1", "unit_price": "NaN", "requested_date": SOON}]}, ("lines", "0", "unit_price")),
        ({"lines": [{"product_id": "{foreign}", "quantity": "1", "unit_price": "1", "requested_date": SOON}]}, ("lines", "0", "product_id")),
        ({"lines": []}, ("lines",)),
        ({"supplier_id": "{stranger}"}, ("supplier_id",)),
        ({"currency": "JPY"}, ("currency",)),
        ({"ship_to_location_id": "{foreign_location}"}, ("ship_to_location_id",)),
        ({"incoterm": "XYZ"}, ("incoterm",)),
    ],
)
def test_bad_order_input_is_refused_by_field_and_writes_nothing(app, client, session, world, shop, change, where):
    with app.test_request_context():
        foreign_products, foreign_location = orders_factory.catalog_of(session, world.buyer2)
    session.commit()
    names = {
        "{p0}": shop["products"][0],
        "{foreign}": str(foreign_products[0].id),
        "{stranger}": str(world.supplier2.org.id),
        "{foreign_location}": str(foreign_location.id),
    }

    def fill(value):
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return names.get(value, value)

    response = client.post("/api/v1/orders", json=order_body(world, shop, **fill(change)), headers=world.buyer.headers)
    assert response.status_code == 422, response.get_json()
    assert response.content_type == "application/problem+json"
    errors = response.get_json()["errors"]
    for key in where:
        errors = errors[key]
    assert errors
    assert count(app, PurchaseOrder) == count(app, OrderLine) == 0


def test_a_po_number_is_unique_per_buyer_and_acknowledgements_stay_within_the_order(app, client, world, shop):
    first = client.post("/api/v1/orders", json=order_body(world, shop), headers=world.buyer.headers).get_json()
    again = client.post("/api/v1/orders", json=order_body(world, shop), headers=world.buyer.headers)
    assert again.status_code == 409 and "number" in again.get_json()["errors"]
    client.post(f"/api/v1/orders/{first['id']}/issue", headers=world.buyer.headers)
    too_much = {
        "lines": [{"line_no": 1, "confirmed_quantity": "251", "confirmed_date": SOON}, {"line_no": 2, "confirmed_quantity": "1", "confirmed_date": SOON}]
    }
    nothing = {"lines": [{"line_no": 1, "confirmed_quantity": "0", "confirmed_date": SOON}, {"line_no": 2, "confirmed_quantity": "0", "confirmed_date": SOON}]}
    missing = {"lines": [{"line_no": 1, "confirmed_quantity": "1", "confirmed_date": SOON}]}
    for body in (too_much, nothing, missing):
        response = client.post(f"/api/v1/orders/{first['id']}/acknowledge", json=body, headers=world.supplier.headers)
        assert response.status_code == 422, response.get_json()
        assert "lines" in response.get_json()["errors"]
    assert client.get(f"/api/v1/orders/{first['id']}", headers=world.supplier.headers).get_json()["state"] == "issued"


@pytest.mark.real_commits  # two threads, each on its own connection
def test_two_simultaneous_acknowledgements_one_wins_the_other_gets_409(app, session, world):
    oid = _order_in(app, session, world, "issued")
    body = ACTION_REQUESTS["acknowledge"][2]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def answer():
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post(f"/api/v1/orders/{oid}/acknowledge", json=body, headers=world.supplier.headers).status_code)

    threads = [threading.Thread(target=answer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200, 409]
    assert len(audit_entries(app, action="order:acknowledged")) == 1


def test_a_decided_proposal_cannot_be_decided_again_and_belongs_to_its_order(app, client, session, world):
    oid = _order_in(app, session, world, "issued")
    other = _order_in(app, session, world, "issued")
    proposal = client.post(
        f"/api/v1/orders/{oid}/change-proposals", json={"lines": [{"line_no": 2, "quantity": "3"}]}, headers=world.supplier.headers
    ).get_json()
    second = client.post(f"/api/v1/orders/{oid}/change-proposals", json={"lines": [{"line_no": 1, "quantity": "3"}]}, headers=world.supplier.headers)
    assert second.status_code == 409 and second.get_json()["allowed_actions"] == []  # one open proposal at a time
    assert client.post(f"/api/v1/orders/{other}/change-proposals/{proposal['id']}/accept", headers=world.buyer.headers).status_code == 404
    declined = client.post(f"/api/v1/orders/{oid}/change-proposals/{proposal['id']}/decline", json={"reason": "Keep 4"}, headers=world.buyer.headers)
    assert declined.status_code == 200 and declined.get_json()["decision_reason"] == "Keep 4"
    again = client.post(f"/api/v1/orders/{oid}/change-proposals/{proposal['id']}/accept", headers=world.buyer.headers)
    assert again.status_code == 409 and again.get_json()["current_state"] == "declined"
    order = client.get(f"/api/v1/orders/{oid}", headers=world.buyer.headers).get_json()
    assert order["revision"] == 1 and order["lines"][1]["quantity"] == "4.000"
    assert order["allowed_actions"] == ["cancel"]


def test_an_organization_on_both_sides_pages_through_all_its_orders_once_newest_first(app, client, session, world):
    """The list reads the orders placed and the orders received separately and merges them."""
    from concord.tenancy.models import Relation

    from tests import factories

    trader = factories.member(session, world.operator, "buyer", "supplier", name="Trading House KG")
    factories.partner(session, Relation.BUYER_SUPPLIER, trader, world.supplier)
    factories.partner(session, Relation.BUYER_SUPPLIER, world.buyer, trader)
    with app.test_request_context():
        placed = [orders_factory.issued_order(session, trader, world.supplier).id for _ in range(4)]
        received = [orders_factory.issued_order(session, world.buyer, trader).id for _ in range(3)]
        hidden = orders_factory.draft_order(session, world.buyer, trader).id  # another buyer's draft
        placed.append(orders_factory.draft_order(session, trader, world.supplier).id)  # its own draft
    session.commit()
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/orders?limit=3" + (f"&cursor={cursor}" if cursor else ""), headers=trader.headers).get_json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    ids = [o["id"] for o in seen]
    assert sorted(ids) == sorted(str(i) for i in placed + received) and str(hidden) not in ids
    keys = [(o["created_at"], o["id"]) for o in seen]
    assert keys == sorted(keys, reverse=True)
