"""The order list reads what the lifecycle guards need (escrow fundings and steps, dispute
windows, open change proposals) for the whole page at once: a page of 10 orders costs the
same number of SQL statements as a page of 3, and each order's `allowed_actions` in the list
is what the order alone answers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from concord import clock
from concord.db import database
from concord.orders.models import OrderState, PurchaseOrder

from tests import orders_factory
from tests.ledger_helpers import settle
from tests.orders.test_lifecycle_table import REQUESTS
from tests.statements import statements

S = OrderState
#: Oldest first: the newest three (issued, delivered, partially received) read every kind of
#: guard fact (proposals, escrow intents, dispute windows), so a page of 3 runs every query a
#: page of 10 runs.
STATES = (S.ACKNOWLEDGED, S.PARTIALLY_SHIPPED, S.SHIPPED, S.DISPUTED, S.RECEIVED, S.CLOSED, S.CANCELLED, S.PARTIALLY_RECEIVED, S.DELIVERED, S.ISSUED)


@pytest.fixture
def order_book(app, client, session, world, chain_worker) -> list[str]:
    """One order in each of STATES (newest last), every one past issue with a funded escrow."""
    with app.test_request_context():
        ids = [orders_factory.issued_order(session, world.buyer, world.supplier).id for _state in STATES]
    session.commit()
    for order_id, state in zip(ids, STATES, strict=True):
        if state != S.ISSUED:
            response = client.post(f"/api/v1/orders/{order_id}/acknowledge", json=REQUESTS["acknowledge"][2], headers=world.supplier.headers)
            assert response.status_code == 200, response.get_json()
    settle(app, chain_worker)
    delivered = {S.DELIVERED, S.PARTIALLY_RECEIVED, S.RECEIVED, S.CLOSED}
    with database(app).sessionmaker() as s, s.begin():
        for order_id, state in zip(ids, STATES, strict=True):
            at = clock.utcnow() if state in delivered else None
            s.execute(sa.update(PurchaseOrder).where(PurchaseOrder.id == order_id).values(state=state, delivered_at=at))
    return [str(i) for i in ids]


@pytest.mark.parametrize("party", ["buyer", "supplier"])
def test_a_page_of_orders_costs_the_same_statements_whatever_its_size(app, client, world, order_book, party):
    headers = getattr(world, party).headers
    counts, pages = {}, {}
    for limit in (3, len(STATES)):
        client.get(f"/api/v1/orders?limit={limit}", headers=headers)  # warm: the first request loads more
        with statements(app) as seen:
            response = client.get(f"/api/v1/orders?limit={limit}", headers=headers)
        assert response.status_code == 200, response.get_json()
        pages[limit] = response.get_json()["items"]
        counts[limit] = (sum(seen.values()), seen)
    assert [item["state"] for item in pages[len(STATES)]] == [str(s) for s in reversed(STATES)]
    small, large = counts[3], counts[len(STATES)]
    assert small[0] == large[0], f"{small[0]} statements for 3 orders, {large[0]} for {len(STATES)}: " + "; ".join(
        f"{n} x {sql[:120]}" for sql, n in large[1].most_common(5)
    )


@pytest.mark.parametrize("party", ["buyer", "supplier"])
def test_each_order_in_the_list_offers_what_the_order_alone_offers(client, world, order_book, party):
    headers = getattr(world, party).headers
    listed = {item["id"]: item["allowed_actions"] for item in client.get(f"/api/v1/orders?limit={len(STATES)}", headers=headers).get_json()["items"]}
    assert set(listed) == set(order_book)
    alone = {order_id: client.get(f"/api/v1/orders/{order_id}", headers=headers).get_json()["allowed_actions"] for order_id in order_book}
    assert listed == alone
    assert any(listed.values())  # the guards let something through: the comparison is not of empty lists
