"""The fixtures of suites that run on the funded world (`tests.plugin.FundedWorld`, Concord's
contracts deployed on the test app's chain and the first buyer funded, built once per
module): each suite's conftest imports them, so that `world` means the funded world there."""

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
