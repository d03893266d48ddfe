"""Ledger tests, each run on two chains: the test app's embedded chain (one per session,
kept between tests while the database is emptied) and a hardhat node started for the
session. Concord's contracts are deployed afresh for each test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from concord.db import database
from concord.ledger import devnode, outbox, runtime
from concord.ledger.artifacts import load_artifact
from concord.ledger.chain import Chain, open_chain
from concord.ledger.deploy import deploy, deployments
from concord.ledger.models import ChainIntent

from tests.ledger_helpers import FaultyChain


@dataclass
class Ledger:
    app: Any
    chain: Chain
    worker: outbox.Worker

    @property
    def chain_id(self) -> int:
        return self.chain.chain_id

    def contract(self, name: str):
        with database(self.app).sessionmaker() as session:
            row = deployments(session, self.chain_id)[name]
        return self.chain.contract(load_artifact(row.artifact).abi, row.address)

    def intents(self, **filters) -> list[ChainIntent]:
        with database(self.app).sessionmaker() as session:
            query = sa.select(ChainIntent).filter_by(**filters).order_by(ChainIntent.seq)
            return list(session.execute(query).scalars())

    def restarted_worker(self, chain=None) -> outbox.Worker:
        """A new worker process: nothing kept in memory from the one that died."""
        return outbox.Worker(self.app, chain or self.chain, receipt_timeout=10)


@pytest.fixture(scope="session")
def hardhat_url(tmp_path_factory) -> Iterator[str]:
    """A hardhat node (pinned in contracts/package.json) on a free local port, for the session."""
    try:
        with devnode.hardhat_node(tmp_path_factory.mktemp("hardhat") / "node.log") as url:
            yield url
    except devnode.DevNodeError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def hardhat_chain(hardhat_url) -> Iterator[Chain]:
    chain = open_chain(hardhat_url, "", funder_key=devnode.HARDHAT_FUNDER_KEY)
    yield chain
    chain.close()


@pytest.fixture(params=["embedded", "hardhat"])
def ledger(request, app, world) -> Ledger:
    """Concord's contracts deployed and the world admitted, on each kind of chain."""
    chain = runtime.chain(app) if request.param == "embedded" else request.getfixturevalue("hardhat_chain")
    worker = outbox.Worker(app, chain, receipt_timeout=0 if request.param == "embedded" else 10)
    deploy(app, chain, worker)
    worker.drain()  # the world's admissions
    return Ledger(app=app, chain=chain, worker=worker)


@pytest.fixture
def faulty(ledger) -> FaultyChain:
    return FaultyChain(ledger.chain)
