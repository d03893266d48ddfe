"""The lifecycle tables themselves, iterated: the order's, the shipment's and the dispute's.

Every state is in its table; every state that is not terminal has a way on; terminal states
hold no open money or goods (they are entered only before anything was escrowed, by the
chain's settlement, or by voiding a funding the chain refused); and, for an order put in
every state in turn, each party's allowed actions are rows of the table for that party, and
every other action of the API answers 409 (403 for the wrong party) and writes nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from concord import clock
from concord.db import database
from concord.disputes import lifecycle as disputes
from concord.ledger.models import ChainIntent
from concord.logistics import lifecycle as shipments
from concord.orders import lifecycle
from concord.orders.lifecycle import TERMINAL, TRANSITIONS
from concord.orders.models import (
    DisputeState,
    OrderState,
    PurchaseOrder,
    Receipt,
    ShipmentState,
)

from tests import orders_factory
from tests.ledger_helpers import settle
from tests.orders.test_orders_api import ACTION_REQUESTS

ACTORS = {lifecycle.BUYER, lifecycle.SUPPLIER, lifecycle.EITHER, lifecycle.CARRIER, lifecycle.ARBITER, lifecycle.CHAIN, lifecycle.CLOCK}
#: States reached before anything is escrowed.
BEFORE_ESCROW = {OrderState.DRAFT, OrderState.ISSUED}


def _targets(row) -> tuple:
    return row[0] if isinstance(row[0], tuple) else (row[0],)


@pytest.mark.parametrize(
    "table, states, terminal",
    [
        (TRANSITIONS, set(OrderState), TERMINAL),
        (shipments.TRANSITIONS, set(ShipmentState), shipments.TERMINAL),
        (disputes.TRANSITIONS, set(DisputeState), disputes.TERMINAL),
    ],
    ids=["order", "shipment", "dispute"],
)
def test_every_state_is_in_its_table_and_every_open_one_has_a_way_on(table, states, terminal):
    sources = {state for state, _action in table}
    reached = {target for row in table.values() for target in _targets(row)}
    assert states == sources | reached | set(terminal) and set(terminal) <= states
    for state in states - set(terminal):
        assert any(source == state for source, _action in table), f"{state} has no action left"
    for state in terminal:
        assert all(target == state for (source, _a), row in table.items() if source == state for target in _targets(row))


def test_every_row_names_a_known_actor_and_leads_to_states_of_the_order():
    for (state, action), row in TRANSITIONS.items():
        assert row[1] in ACTORS, (state, action)
        assert all(isinstance(target, OrderState) for target in _targets(row)), (state, action)


def test_an_order_ends_only_with_nothing_escrowed_or_its_escrow_settled():
    """Terminal states hold no open money or goods."""
    for (state, action), row in TRANSITIONS.items():
        ending = [target for target in _targets(row) if target in TERMINAL and target != state]
        if not ending or state in BEFORE_ESCROW:
            continue
        guards = lifecycle.GUARDS.get((state, action), ())
        # ... or the order never had an escrow (open account: it closes on its receipt).
        assert row[1] == lifecycle.CHAIN or lifecycle.funding_voidable in guards or lifecycle.nothing_escrowed in guards, (state, action, ending)


def test_what_the_parties_may_do_comes_from_the_table_and_its_guards():
    for (state, action), (_next, actor) in TRANSITIONS.items():
        if actor in (lifecycle.BUYER, lifecycle.SUPPLIER, lifecycle.EITHER):
            assert any(lifecycle.takes(actor, side) for side in lifecycle.PARTIES)
        else:
            assert not any(lifecycle.takes(actor, side) for side in lifecycle.PARTIES), (state, action)


# -- through the API, an order in every state ----------------------------------------------

#: The order's own steps (as the order tests send them), and the fulfilment steps on it.
REQUESTS = {
    **ACTION_REQUESTS,
    "receive": ("POST", "/receipts", {"lines": [{"line_no": 1, "accepted_quantity": "10"}, {"line_no": 2, "accepted_quantity": "4"}]}),
    "open_dispute": ("POST", "/disputes", {"reason": "Not as agreed"}),
    "release": ("POST", "/release", None),
}


def _written(app) -> tuple[int, ...]:
    with database(app).sessionmaker() as s:
        return tuple(s.execute(sa.select(sa.func.count()).select_from(model)).scalar_one() for model in (Receipt, ChainIntent))


@pytest.mark.parametrize("state", [s for s in OrderState if s != OrderState.DRAFT])
def test_in_every_state_each_party_may_take_only_its_rows_and_anything_else_is_refused(app, client, session, world, chain_worker, state):
    with app.test_request_context():
        issued = orders_factory.issued_order(session, world.buyer, world.supplier)
    session.commit()
    body = REQUESTS["acknowledge"][2]
    assert client.post(f"/api/v1/orders/{issued.id}/acknowledge", json=body, headers=world.supplier.headers).status_code == 200
    settle(app, chain_worker)  # a funded escrow behind every state
    with database(app).sessionmaker() as s, s.begin():
        delivered = state in (OrderState.DELIVERED, OrderState.PARTIALLY_RECEIVED, OrderState.RECEIVED, OrderState.CLOSED)
        s.execute(sa.update(PurchaseOrder).where(PurchaseOrder.id == issued.id).values(state=state, delivered_at=clock.utcnow() if delivered else None))
    for side, member in ((lifecycle.BUYER, world.buyer), (lifecycle.SUPPLIER, world.supplier)):
        shown = client.get(f"/api/v1/orders/{issued.id}", headers=member.headers).get_json()
        rows = {action for (s, action), (_n, actor) in TRANSITIONS.items() if s == state and lifecycle.takes(actor, side)}
        assert set(shown["allowed_actions"]) <= rows, (state, side)
        for action, (method, suffix, payload) in REQUESTS.items():
            if action in shown["allowed_actions"]:
                continue
            before = _written(app)
            response = client.open(f"/api/v1/orders/{issued.id}{suffix}", method=method, json=payload, headers=member.headers)
            actors = {actor for (_s, a), (_n, actor) in TRANSITIONS.items() if a == action}
            expected = 409 if any(lifecycle.takes(actor, side) for actor in actors) else 403
            assert response.status_code == expected, (state, side, action, response.get_json())
            if expected == 409:
                assert response.get_json()["allowed_actions"] == shown["allowed_actions"]
            assert _written(app) == before, (state, side, action)
