"""`concord ledger verify` on a platform with a few hundred closed orders: a full run, the
same run read from a snapshot beside the running chain, an incremental run with nothing
changed, and an incremental run after a few more orders closed.

The orders go through the whole story of bench/orders.py (create, issue, acknowledge, ship,
prove delivery, receive, release; about 8 chain transactions each) on the embedded chain
and SQLite. Incremental runs look at what changed since the previous run started, less
`CHANGE_MARGIN`, so the bench moves the platform's clock: the first orders close three hours
ago, the full runs two hours ago, the quiet incremental run an hour ago, the last orders half
an hour ago, and the last run now, as scheduled runs would follow the writes.

Run: `make bench` (or `.venv/bin/python bench/verify.py [--orders 300] [--more 20]`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tests.factories`
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/orders.py (bench/ is not a package)

from concord import clock
from concord.db import database
from concord.ledger import runtime, verification
from concord.ledger.embedded import EmbeddedSnapshot
from concord.tenancy.models import Relation
from orders import bench_app, full_story

from tests import factories


def timed_run(app, chain, *, full: bool, through_block: int | None = None) -> tuple[verification.Run, int]:
    with database(app).sessionmaker() as session:
        run = verification.check(session, chain, full=full, through_block=through_block)
        row = verification.record(session, run)
        if run.problems:
            raise SystemExit(f"verify found {len(run.problems)} disagreement(s), first: {run.problems[0]}")
        return run, row.id


def line(label: str, run: verification.Run) -> str:
    checked = run.scope.checked
    orders = checked.get("orders", 0)
    per_order = f"{run.seconds / orders * 1000:8.1f}" if orders else f"{'-':>8}"
    return (
        f"{label:<44} {run.seconds:7.2f} {orders:7d} {checked.get('transactions', 0):7d} {checked.get('organizations', 0):5d} {per_order}"
        f"  block {run.scope.through_block}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--more", type=int, default=20, help="orders closed between the two incremental runs")
    arguments = parser.parse_args()
    real_utcnow = clock.utcnow

    def hours_ago(hours: float) -> None:
        clock.utcnow = lambda: real_utcnow() - timedelta(hours=hours)

    try:
        with tempfile.TemporaryDirectory() as folder, bench_app(Path(folder), None) as app:
            measure(app, arguments, hours_ago)
    finally:
        clock.utcnow = real_utcnow


def measure(app, arguments, hours_ago) -> None:
    client = app.test_client()
    hours_ago(3)
    with app.test_request_context(), database(app).sessionmaker() as session:
        operator = factories.operator(session)
        pairs = []
        for name in ("One", "Two"):
            buyer = factories.member(session, operator, "buyer", name=f"Bench Buyer {name} GmbH")
            supplier = factories.member(session, operator, "supplier", name=f"Bench Supplier {name} Ltd")
            carrier = factories.member(session, operator, "carrier", name=f"Bench Carrier {name} AS")
            factories.partner(session, Relation.BUYER_SUPPLIER, buyer, supplier)
            factories.partner(session, Relation.SHIPPER_CARRIER, supplier, carrier)
            pairs.append((buyer, supplier, carrier))
        session.commit()
    print(f"ledger verify on the embedded chain and SQLite, {os.cpu_count()} CPUs", flush=True)
    started = time.perf_counter()
    full_story(app, client, operator, *pairs[0], arguments.orders)
    chain = runtime.chain(app)
    print(f"{arguments.orders} orders closed in {time.perf_counter() - started:.0f} s; the chain is at block {chain.block_number()}", flush=True)
    print(f"{'run':<44} {'seconds':>7} {'orders':>7} {'txs':>7} {'orgs':>5} {'ms/order':>8}")

    hours_ago(2)
    full, _ = timed_run(app, chain, full=True)
    print(line("full, the app's own chain", full), flush=True)
    snapshot = EmbeddedSnapshot(chain.directory)  # as `concord ledger verify` beside `concord run`
    try:
        beside, _ = timed_run(app, snapshot, full=True, through_block=snapshot.head)
    finally:
        snapshot.close()
    print(line("full, read-only snapshot beside the chain", beside), flush=True)
    hours_ago(1)
    quiet, _ = timed_run(app, chain, full=False)
    print(line("incremental, nothing changed", quiet), flush=True)
    hours_ago(0.5)
    full_story(app, client, operator, *pairs[1], arguments.more)
    hours_ago(0)
    after, _ = timed_run(app, chain, full=False)
    print(line(f"incremental, after {arguments.more} more orders closed", after), flush=True)
    if after.scope.checked.get("orders", 0) != arguments.more or quiet.scope.checked.get("orders", 0) != 0:
        raise SystemExit(
            f"the incremental runs checked {quiet.scope.checked.get('orders', 0)} and {after.scope.checked.get('orders', 0)} orders, not 0 and {arguments.more}"
        )


if __name__ == "__main__":
    main()
