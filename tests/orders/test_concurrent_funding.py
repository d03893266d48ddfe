"""One buyer's orders acknowledged at the same moment: each escrow's `approve` and `fund`
stay one run in the buyer's outbox, so no funding finds its allowance taken by another."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord.db import database
from concord.ledger import outbox
from concord.ledger.models import ChainIntent, IntentState

from tests import factories, orders_factory
from tests.ledger_helpers import deploy_contracts, fund_buyer, settle

# Threads commit on their own connections: nothing can be rolled back, so this module
# builds its world and deployment per test and has the tables emptied afterwards.
pytestmark = pytest.mark.real_commits


@pytest.fixture
def world(app, session):
    return factories.build_world(app, session)


@pytest.fixture
def chain_worker(app, world):
    return deploy_contracts(app)


@pytest.fixture(autouse=True)
def funded_buyer(app, session, world, chain_worker):
    fund_buyer(app, session, world, chain_worker)


def test_concurrent_acknowledgements_keep_each_buyers_approve_and_fund_together(app, session, world, chain_worker, monkeypatch):
    orders = []
    with app.test_request_context():
        for price in ("10", "20", "30"):
            orders.append(orders_factory.issued_order(session, world.buyer, world.supplier, lines=((Decimal("3"), Decimal(price)),)))
    session.commit()

    # Each acknowledgement pauses after writing its `approve` until the others have written
    # theirs (or a second has passed): the interleaving a busy PostgreSQL produced.
    approvals_written = threading.Barrier(len(orders))
    real_enqueue = outbox.enqueue

    def enqueue_and_wait(session_, **intent):
        queued = real_enqueue(session_, **intent)
        if intent.get("function") == "approve":
            session_.flush()
            try:
                approvals_written.wait(timeout=1)
            except threading.BrokenBarrierError:
                pass  # the others wait for this transaction, as they should
        return queued

    monkeypatch.setattr(outbox, "enqueue", enqueue_and_wait)
    statuses: list[int] = []

    def acknowledge(order):
        body = {"lines": [{"line_no": 1, "confirmed_quantity": "3", "confirmed_date": date.today().isoformat()}]}
        statuses.append(app.test_client().post(f"/api/v1/orders/{order.id}/acknowledge", json=body, headers=world.supplier.headers).status_code)

    threads = [threading.Thread(target=acknowledge, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses == [200, 200, 200]

    with database(app).sessionmaker() as s:
        steps = s.execute(
            sa.select(ChainIntent.function, ChainIntent.subject_id)
            .where(ChainIntent.function.in_(("approve", "fund")), ChainIntent.organization_id == world.buyer.org.id)
            .order_by(ChainIntent.seq)
        ).all()
    assert [function for function, _order in steps] == ["approve", "fund"] * 3
    assert all(steps[i].subject_id == steps[i + 1].subject_id for i in range(0, 6, 2)), steps

    settle(app, chain_worker)
    with database(app).sessionmaker() as s:
        fundings = s.execute(sa.select(ChainIntent.state).where(ChainIntent.function == "fund")).scalars().all()
    assert fundings == [IntentState.CONFIRMED] * 3
