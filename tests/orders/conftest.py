"""Orders fund their escrow on acknowledgement, so these tests run with Concord's contracts
deployed on the test app's embedded chain and the world's first buyer funded: a state built
once per module (`tests.plugin.FundedWorld`) that each test starts from."""

from __future__ import annotations

import pytest
from concord.ledger import outbox, runtime

from tests.factories import world_in


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
