"""Several `concord worker`s share one database and one chain node: 50 orders, from
acknowledgement to closing, go through two and four workers at once against a hardhat
node, and no transaction is sent twice, no gas top-up is sent twice, no round fails, and
the database and the chain agree at the end.

Workers divide the senders between them with PostgreSQL locks, so the parallel runs need
PostgreSQL (`make test-postgres`); on SQLite, which serialises every writer anyway, one
worker runs the same story."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord import wiring
from concord.db import database
from concord.ledger import devnode, indexer, outbox, verification
from concord.ledger import service as ledger_service
from concord.ledger.chain import TransactionRejected, open_chain
from concord.ledger.claims import SenderClaims
from concord.ledger.deploy import deploy
from concord.ledger.models import OPEN_STATES, ChainIntent, IntentState
from concord.orders.models import OrderState, PurchaseOrder
from concord.tenancy.models import Relation

from tests import factories, orders_factory
from tests.orders.test_fulfilment_api import deliver, now_iso

pytestmark = pytest.mark.real_commits  # the workers commit on connections of their own

ORDERS = 50
WORKERS = (2, 4) if os.environ.get("CONCORD_TEST_DATABASE_URL", "").startswith("postgresql") else (1,)
SETTLE_TIMEOUT = 120


class CountingChain:
    """One worker's own connection to the node, counting what it sends and what is refused."""

    def __init__(self, url: str, tally: Counter, top_ups: Counter, lock: threading.Lock) -> None:
        self._chain = open_chain(url, "", funder_key=devnode.HARDHAT_FUNDER_KEY)
        self.tally, self.top_ups, self.lock = tally, top_ups, lock

    def __getattr__(self, name: str):
        return getattr(self._chain, name)

    def send_raw(self, raw: bytes) -> str:
        try:
            tx_hash = self._chain.send_raw(raw)
        except TransactionRejected as rejection:
            with self.lock:
                self.tally["sends"] += 1
                self.tally["needs gas money" if rejection.cannot_pay else "rejected"] += 1
            raise
        with self.lock:
            self.tally["sends"] += 1
        return tx_hash

    def top_up(self, address: str, fee: dict[str, int], **kwargs) -> str | None:
        tx_hash = self._chain.top_up(address, fee, **kwargs)
        with self.lock:
            self.top_ups[address] += 1
        return tx_hash


def _ship_everything(client, world, supplier, order_id):
    body = {
        "carrier_id": str(world.carrier.org.id),
        "tracking_number": "TRK-1",
        "shipped_at": now_iso(hours=-2),
        "lines": [{"line_no": 1, "quantity": "10"}, {"line_no": 2, "quantity": "4"}],
    }
    return client.post(f"/api/v1/orders/{order_id}/shipments", json=body, headers=supplier.headers)


def _open_intents(app) -> int:
    with database(app).sessionmaker() as session:
        return session.execute(sa.select(sa.func.count()).select_from(ChainIntent).where(ChainIntent.state.in_(OPEN_STATES))).scalar_one()


def _states(app, order_ids) -> Counter:
    with database(app).sessionmaker() as session:
        return Counter(session.execute(sa.select(PurchaseOrder.state).where(PurchaseOrder.id.in_(order_ids))).scalars())


def _settled(app, order_ids, done) -> None:
    """Wait until the workers have nothing open and every order is as `done` wants it."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while not (_open_intents(app) == 0 and done(_states(app, order_ids))):
        assert time.monotonic() < deadline, f"not settled: {_open_intents(app)} open intents, orders {_states(app, order_ids)}"
        time.sleep(0.1)


@pytest.mark.parametrize("workers", WORKERS)
def test_workers_divide_fifty_orders_without_sending_anything_twice(app, session, world, hardhat_url, workers, caplog):
    caplog.set_level(logging.ERROR)
    with app.test_request_context():
        factories.partner(session, Relation.BUYER_SUPPLIER, world.buyer2, world.supplier2)
        factories.partner(session, Relation.SHIPPER_CARRIER, world.supplier2, world.carrier)
    session.commit()
    tally: Counter = Counter()
    top_ups: Counter = Counter()
    lock = threading.Lock()
    setup = outbox.Worker(app, CountingChain(hardhat_url, tally, top_ups, lock), receipt_timeout=10)
    deploy(app, setup.chain, setup)
    with app.test_request_context():
        for buyer in (world.buyer, world.buyer2):
            ledger_service.mint(session, world.operator.principal, buyer.org.id, "EUR", Decimal("50000"))
    session.commit()
    setup.drain()
    with database(app).sessionmaker() as indexing:
        indexer.sync(indexing, setup.chain)
    pairs = [(world.buyer, world.supplier), (world.buyer2, world.supplier2)]
    with app.test_request_context():
        orders = [(pairs[n % 2], orders_factory.issued_order(session, *pairs[n % 2])) for n in range(ORDERS)]
    session.commit()
    order_ids = [order.id for _pair, order in orders]

    stop = threading.Event()

    def after_round(worker: outbox.Worker) -> None:
        with database(app).sessionmaker() as indexing:
            indexer.sync(indexing, worker.chain)
        with app.app_context():
            for job in wiring.of(app).round_jobs:
                job(app)

    pool = [outbox.Worker(app, CountingChain(hardhat_url, tally, top_ups, lock), receipt_timeout=10) for _ in range(workers)]
    threads = [
        threading.Thread(target=worker.run, args=(stop,), kwargs={"poll_seconds": 0.25, "after_round": lambda w=worker: after_round(w)}, daemon=True)
        for worker in pool
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        client = app.test_client()
        today = date.today().isoformat()
        acknowledgement = {"lines": [{"line_no": n, "confirmed_quantity": q, "confirmed_date": today} for n, q in ((1, "10"), (2, "4"))]}
        for (_buyer, supplier), order in orders:
            response = client.post(f"/api/v1/orders/{order.id}/acknowledge", json=acknowledgement, headers=supplier.headers)
            assert response.status_code == 200, response.get_json()
        _settled(app, order_ids, lambda states: states == Counter({OrderState.ACKNOWLEDGED: ORDERS}))
        for (_buyer, supplier), order in orders:
            sent = _ship_everything(client, world, supplier, order.id)
            assert sent.status_code == 201, sent.get_json()
            assert deliver(client, world, sent.get_json()["id"]).status_code == 201
        _settled(app, order_ids, lambda states: states == Counter({OrderState.DELIVERED: ORDERS}))
        received = {"lines": [{"line_no": 1, "accepted_quantity": "10"}, {"line_no": 2, "accepted_quantity": "4"}]}
        for (buyer, _supplier), order in orders:
            response = client.post(f"/api/v1/orders/{order.id}/receipts", json=received, headers=buyer.headers)
            assert response.status_code == 201, response.get_json()
        _settled(app, order_ids, lambda states: states == Counter({OrderState.CLOSED: ORDERS}))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    elapsed = time.monotonic() - started

    with database(app).sessionmaker() as checking:
        states = Counter(checking.execute(sa.select(ChainIntent.state)).scalars())
        skipped = checking.execute(sa.select(ChainIntent.purpose, ChainIntent.last_error).where(ChainIntent.state == IntentState.SKIPPED)).all()
        indexer.sync(checking, setup.chain)
        problems = [str(problem) for problem in verification.verify(checking, setup.chain)]
    print(
        f"\n{workers} worker(s), {ORDERS} orders: {elapsed:.1f} s, {dict(tally)}, {sum(top_ups.values())} top-ups of {len(top_ups)} senders, intents {dict(states)}"
    )
    assert tally["rejected"] == 0, tally  # no transaction sent twice, no nonce taken twice
    # Confirmed, but for a withdrawal an earlier one of the same payee made moot (never sent).
    assert all(error.startswith("not sent: nothing left to withdraw") for _purpose, error in skipped), skipped
    assert states[IntentState.CONFIRMED] + len(skipped) == sum(states.values()), states
    assert all(count == 1 for count in top_ups.values()), top_ups  # one top-up per sender that needed gas money
    assert tally["needs gas money"] == len(top_ups)
    failures = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert failures == []  # no round failed, no intent hit an unexpected error
    assert problems == []


def test_a_sender_belongs_to_one_worker_at_a_time_and_a_dead_workers_senders_pass_on(app):
    engine = database(app).engine
    first, second = SenderClaims(engine), SenderClaims(engine)
    sender = "0x" + "ab" * 20
    with first.round(), second.round():
        assert first.take(sender) is True
        # PostgreSQL: the other worker skips the sender; SQLite (one worker) grants every claim.
        assert second.take(sender) is (not first.enabled)
        assert second.take("0x" + "cd" * 20) is True
        first.release(sender)
        assert second.take(sender) is True
    with first.round():
        assert first.take(sender) is True
        if first.enabled:  # the worker dies: its connection closes, and its claims with it
            first._connection.invalidate()
            # PostgreSQL ends the dead connection's backend (and frees its locks) a moment
            # after the socket closes: the sender passes on within a few rounds.
            deadline = time.monotonic() + 10
            while True:
                with second.round():
                    if second.take(sender):
                        break
                assert time.monotonic() < deadline, "the dead worker's sender never passed on"
                time.sleep(0.05)
