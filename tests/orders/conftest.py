"""Orders fund their escrow on acknowledgement, so these tests run with Concord's contracts
deployed on the test app's embedded chain and the world's first buyer funded: a state built
once per module (`tests.plugin.FundedWorld`) that each test starts from."""

from __future__ import annotations

from datetime import date

import pytest

from tests import orders_factory
from tests.funded_fixtures import chain_worker, world
from tests.ledger_helpers import settle

__all__ = ["chain_worker", "world"]


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
