"""What the ledger, order, portal and browser tests share about the chain: settling the
outbox, reading a deployed contract, a chain that fails on demand, and a checkpoint of the
embedded chain that a test can go back to (its memory and its durable journal alike)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from concord.db import database
from concord.ledger import indexer, outbox, runtime
from concord.ledger import service as ledger_service
from concord.ledger.artifacts import load_artifact
from concord.ledger.chain import Chain, ChainUnavailable
from concord.ledger.deploy import deploy, deployments
from concord.ledger.embedded import EmbeddedChain

BUYER_FUNDS = Decimal("50000")


def settle(app, worker) -> None:
    """Send everything queued and index what was mined."""
    worker.drain()
    with database(app).sessionmaker() as session:
        indexer.sync(session, worker.chain)


def deploy_contracts(app) -> outbox.Worker:
    """Concord's contracts deployed on the app's embedded chain (the world admitted)."""
    chain = runtime.chain(app)
    worker = outbox.Worker(app, chain, receipt_timeout=0)
    deploy(app, chain, worker)
    return worker


def fund_buyer(app, session, world, worker) -> None:
    """The first buyer holding 50,000 EUR, minted and indexed."""
    with app.test_request_context():
        ledger_service.mint(session, world.operator.principal, world.buyer.org.id, "EUR", BUYER_FUNDS)
    session.commit()
    settle(app, worker)


def contract(app, worker, name):
    with database(app).sessionmaker() as session:
        row = deployments(session, worker.chain.chain_id)[name]
    return worker.chain.contract(load_artifact(row.artifact).abi, row.address)


class SimulatedCrash(BaseException):
    """The worker process dies here (a BaseException, so no handler in the worker catches it)."""


class FaultyChain:
    """The app's chain behind a switch: `down` makes every call fail as an unreachable node;
    `crash_before_send` / `crash_after_send` kill the worker around a submission."""

    def __init__(self, chain: Chain) -> None:
        self._chain = chain
        self.down = False
        self.crash_before_send = False
        self.crash_after_send = False
        self.sent: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._chain, name)
        if callable(attribute) and self.down:

            def unreachable(*args, **kwargs):
                raise ChainUnavailable("connection refused (simulated)")

            return unreachable
        return attribute

    @property
    def chain_id(self) -> int:
        if self.down:
            raise ChainUnavailable("connection refused (simulated)")
        return self._chain.chain_id

    def send_raw(self, raw: bytes) -> str:
        if self.down:
            raise ChainUnavailable("connection refused (simulated)")
        if self.crash_before_send:
            self.crash_before_send = False
            raise SimulatedCrash("killed after signing, before submitting")
        tx_hash = self._chain.send_raw(raw)
        self.sent.append(tx_hash)
        if self.crash_after_send:
            self.crash_after_send = False
            raise SimulatedCrash("killed after submitting, before recording")
        return tx_hash


class ChainCheckpoint:
    """The embedded chain as it is now: py-evm's state (an eth-tester snapshot) and its
    journal on disk (blocks and the time offset), so that `restore()` leaves a chain that a
    restart would replay to exactly the same state."""

    def __init__(self, chain: EmbeddedChain) -> None:
        self.chain = chain
        with chain._lock:
            self.snapshot = chain.tester.take_snapshot()
            self.block = chain.tester.get_block_by_number("latest")["number"]
            row = chain._journal.execute("SELECT value FROM meta WHERE key = 'time_offset'").fetchone()
            self.time_offset = row[0] if row else None

    def restore(self) -> None:
        chain = self.chain
        with chain._lock:
            chain.rewind(self.snapshot, self.block)
            journal = chain._journal
            if self.time_offset is None:
                journal.execute("DELETE FROM meta WHERE key = 'time_offset'")
            else:
                journal.execute(
                    "INSERT INTO meta (key, value) VALUES ('time_offset', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (self.time_offset,),
                )
