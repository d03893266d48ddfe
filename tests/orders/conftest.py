"""Orders fund their escrow on acknowledgement, so these tests run with Concord's contracts
deployed on the test app's embedded chain and the world's first buyer funded: a state built
once per module (`tests.plugin.FundedWorld`) that each test starts from."""

from __future__ import annotations

from datetime import date

import pytest
from concord.ledger import outbox, runtime

from tests import orders_factory
from tests.factories import world_in
from tests.ledger_helpers import settle


@pytest.fixture
def world(session, funded_world):
    return world_in(session, funded_world.ids)


@pytest.fixture
def chain_worker(app, world):
    """A worker of the app's chain, where the module's contracts are deployed."""
    return outbox.Worker(app, runtime.chain(app), receipt_timeout=0)


@pytest.fixture(autouse=True)
def funded_buyer(chain_worker):
    return chain_worker


@pytest.fixture
def order(app, client, session, world, chain_worker):
    """An order the supplier confirmed in full, its escrow funded on chain."""
    with app.test_request_context():
        issued = orders_factory.issued_order(session, world.buyer, world.supplier)
    session.commit()
    body = {"lines": [{"line_no": n, "confirmed_quantity": q, "confirmed_date": date.today().isoformat()} for n, q in ((1, "10"), (2, "4"))]}
    assert client.post(f"/api/v1/orders/{issued.id}/acknowledge", json=body, headers=world.supplier.headers).status_code == 200
    settle(app, chain_worker)
    return str(issued.id)
