"""Orders fund their escrow on acknowledgement, so these tests run with Concord's contracts
deployed on the test app's embedded chain and the world's first buyer funded."""
from __future__ import annotations

from decimal import Decimal

import pytest

from concord.db import database
from concord.ledger import indexer, outbox, runtime
from concord.ledger import service as ledger_service
from concord.ledger.deploy import deploy

BUYER_FUNDS = Decimal("50000")


@pytest.fixture
def chain_worker(app, world):
    chain = runtime.chain(app)
    worker = outbox.Worker(app, chain, receipt_timeout=0)
    deploy(app, chain, worker)
    return worker


def settle(app, worker) -> None:
    """Send everything queued and index what was mined."""
    worker.drain()
    with database(app).sessionmaker() as session:
        indexer.sync(session, worker.chain)


@pytest.fixture(autouse=True)
def funded_buyer(app, session, world, chain_worker):
    with app.test_request_context():
        ledger_service.mint(session, world.operator.principal, world.buyer.org.id, "EUR", BUYER_FUNDS)
    settle(app, chain_worker)
