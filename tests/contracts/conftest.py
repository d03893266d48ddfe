"""Contract tests: one eth-tester chain and one deployment per test module, and a
snapshot taken before and restored after every test, so tests never see each other."""

from __future__ import annotations

import pytest

from tests.contracts.chain import Chain, Concord, deploy_concord


@pytest.fixture(scope="module")
def chain() -> Chain:
    return Chain.start()


@pytest.fixture(scope="module")
def concord(chain) -> Concord:
    return deploy_concord(chain)


@pytest.fixture(autouse=True)
def _chain_isolation(request):
    """Snapshot/revert around each test that touches the chain (after the module's
    deployment, which the snapshot must include)."""
    if "concord" in request.fixturenames:
        request.getfixturevalue("concord")
    if "chain" not in request.fixturenames and "concord" not in request.fixturenames:
        yield
        return
    tester = request.getfixturevalue("chain").tester
    snapshot = tester.take_snapshot()
    yield
    tester.revert_to_snapshot(snapshot)
