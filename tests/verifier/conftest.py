"""Bundles anchored on the app's embedded chain once per module (on `funded_world`), and
the platform served on a free local port so that `concord-verify` reaches its JSON-RPC
endpoint over real HTTP."""

from __future__ import annotations

import pytest
from concord.db import database
from concord.ledger import outbox, rpc_api, runtime

from tests import factories
from tests.e2e import conftest as e2e
from tests.verifier import proofs as proof_builder

live_server = e2e.live_server  # the platform on a free local port (waitress), for these modules too


@pytest.fixture(scope="module")
def proofs(app, funded_world) -> proof_builder.Proofs:
    """Built on `funded_world` (committed, restored when the module ends)."""
    with database(app).sessionmaker() as session:
        world = factories.world_in(session, funded_world.ids)
        session.expunge_all()  # detached, loaded: the build's own sessions write (SQLite has one writer)
    built = proof_builder.build(app, world, outbox.Worker(app, runtime.chain(app), receipt_timeout=0))
    built.token = funded_world.ids["auditor"].token
    return built


@pytest.fixture(scope="module")
def rpc_url(live_server, proofs) -> str:
    return live_server + rpc_api.PATH
