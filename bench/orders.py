"""Order throughput on the embedded chain, and the order list's latency and rate beside a bare
Flask endpoint, measured side by side in one run.

1. The full story, through the API with three organizations' bearer tokens: N orders are
   created and issued (buyer), acknowledged in full (supplier), shipped in one shipment
   (supplier), proven delivered (carrier) and received in full (buyer), which queues the
   escrow's release itself (the API's `release` is for a partial receipt or a silent buyer);
   the outbox worker drains and the indexer syncs until every order is `closed` and the
   withdrawals are confirmed (an open withdrawal takes later credits too, so there can be
   fewer withdrawals than orders). The orders move through the story in stages
   (all N take a step, then the worker drains), as a busy platform's worker does. The run
   fails (exit 1) unless every order is closed and the supplier's token balance on chain is
   exactly the sum of the order totals.
2. `GET /api/v1/orders` (the default page, and `?limit=100`) for a buyer with 10,000 orders
   bulk-inserted straight into the database (PurchaseOrder + OrderLine rows, states spread
   across OrderState): p50/p95 of each request, `allowed_actions` included.
3. The same page's rate beside a bare Flask app returning the same JSON (the very items the
   list answered, via `jsonify`, no database), each through its own test client, the two
   requests interleaved one by one so that a busy machine slows both alike.

Run: `make bench` (or `.venv/bin/python bench/orders.py [--orders N] [--requests N]
[--database-url postgresql://postgres@127.0.0.1:5432/test]`). On PostgreSQL the run works in
a fresh schema and drops it afterwards.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tests.factories`, run from anywhere

import sqlalchemy as sa
from concord import clock, migrate
from concord.app import create_app
from concord.db import database
from concord.ledger import indexer, outbox, runtime
from concord.ledger.artifacts import load_artifact
from concord.ledger.deploy import deploy, deployments
from concord.ledger.models import ChainIntent, IntentState
from concord.ledger.service import address_of, token_units
from concord.orders.models import OrderLine, OrderState, PurchaseOrder
from concord.tenancy.models import Relation
from flask import Flask, jsonify

from tests import factories

CURRENCY = "EUR"
DEFAULT_PAGE = 50  # concord.pagination.DEFAULT_LIMIT
BIG_PAGE = 100  # PageArgsSchema allows up to 200


class BenchFailure(Exception):
    """The platform did not do what the story expects: the figures would mean nothing."""


def expect(response, status: int, what: str) -> dict:
    if response.status_code != status:
        raise BenchFailure(f"{what}: HTTP {response.status_code} (expected {status}): {response.get_data(as_text=True)[:500]}")
    return response.get_json()


# -- the app, on SQLite in a temp folder or in a fresh PostgreSQL schema --------------------


@contextmanager
def bench_app(folder: Path, database_url: str | None):
    schema = None
    if not database_url:
        url = f"sqlite:///{folder / 'bench.db'}"
    else:
        url = database_url
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                url = "postgresql+psycopg://" + url[len(prefix) :]
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(url)
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    app = create_app({"SQLALCHEMY_DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_DIR": str(folder), "TESTING": True})
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        migrate.upgrade(database(app).engine)
        yield app
    finally:
        runtime.close(app)
        database(app).engine.dispose()
        if schema:
            admin = sa.create_engine(url.split("?")[0])
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


class StatementCounter:
    """Counts the SQL statements the app's engine runs while `active`."""

    def __init__(self, engine) -> None:
        self.active = False
        self.statements: Counter[str] = Counter()
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, _params, _context, _executemany) -> None:
        if self.active:
            self.statements[" ".join(statement.split())] += 1

    @contextmanager
    def counting(self):
        self.statements.clear()
        self.active = True
        try:
            yield self.statements
        finally:
            self.active = False


# -- 1. the full story ----------------------------------------------------------------------


def settle(app, worker) -> int:
    """Send everything queued and index what was mined, until nothing is left to send."""
    sent = 0
    for _ in range(10):
        settled = worker.drain()
        with database(app).sessionmaker() as session:
            indexer.sync(session, worker.chain)
            session.commit()
        sent += settled
        if not settled:
            return sent
    return sent


def now_iso(**delta) -> str:
    return (clock.utcnow() + timedelta(**delta)).isoformat()


def order_lines(index: int) -> list[tuple[Decimal, Decimal]]:
    """Two lines whose quantities vary per order, so that the totals differ."""
    return [(Decimal(5 + index % 7), Decimal("2.50")), (Decimal(1 + index % 4), Decimal("12.125"))]


def full_story(app, client, operator, buyer, supplier, carrier, count: int) -> dict:
    chain = runtime.chain(app)
    worker = outbox.Worker(app, chain, receipt_timeout=0)
    deploy(app, chain, worker)
    settle(app, worker)

    # The buyer's catalog and funds (set-up, not timed).
    products = [
        expect(
            client.post("/api/v1/products", json={"sku": f"BENCH-{i}", "name": f"Bench part {i}", "unit_of_measure": "H87"}, headers=buyer.headers),
            201,
            "product",
        )["id"]
        for i in (1, 2)
    ]
    location = expect(
        client.post(
            "/api/v1/locations",
            json={"name": "Plant Bench", "address_line1": "Werkstrasse 7", "postal_code": "70565", "city": "Stuttgart", "country": "DE"},
            headers=buyer.headers,
        ),
        201,
        "location",
    )["id"]
    funds = sum((sum((q * p for q, p in order_lines(i)), Decimal(0)) for i in range(count)), Decimal(0)) + Decimal(1000)
    expect(
        client.post("/api/v1/ledger/mint", json={"organization_id": str(buyer.org.id), "currency": CURRENCY, "amount": str(funds)}, headers=operator.headers),
        202,
        "mint",
    )
    settle(app, worker)
    with database(app).sessionmaker() as session:
        first_seq = session.execute(sa.select(sa.func.coalesce(sa.func.max(ChainIntent.seq), 0))).scalar_one()

    requests, chain_seconds = 0, 0.0

    def drain_and_index() -> None:
        nonlocal chain_seconds
        begun = time.perf_counter()
        settle(app, worker)
        chain_seconds += time.perf_counter() - begun

    started = time.perf_counter()
    orders: dict[str, Decimal] = {}
    for index in range(count):
        body = {
            "number": f"PO-BENCH-{index:05d}",
            "supplier_id": str(supplier.org.id),
            "currency": CURRENCY,
            "ship_to_location_id": location,
            "incoterm": "DAP",
            "payment_terms": "Escrow, released on receipt",
            "lines": [
                {"product_id": product, "quantity": str(quantity), "unit_price": str(price), "requested_date": (date.today() + timedelta(days=14)).isoformat()}
                for product, (quantity, price) in zip(products, order_lines(index), strict=False)
            ],
        }
        created = expect(client.post("/api/v1/orders", json=body, headers=buyer.headers), 201, "create order")
        issued = expect(client.post(f"/api/v1/orders/{created['id']}/issue", headers=buyer.headers), 200, "issue")
        orders[created["id"]] = Decimal(issued["total"])
        requests += 2
    for index, order_id in enumerate(orders):
        lines = [{"line_no": n, "confirmed_quantity": str(q), "confirmed_date": date.today().isoformat()} for n, (q, _p) in enumerate(order_lines(index), 1)]
        expect(client.post(f"/api/v1/orders/{order_id}/acknowledge", json={"lines": lines}, headers=supplier.headers), 200, "acknowledge")
        requests += 1
    drain_and_index()  # approve, fund
    shipments = []
    for index, order_id in enumerate(orders):
        body = {
            "carrier_id": str(carrier.org.id),
            "tracking_number": f"TRK-{index}",
            "shipped_at": now_iso(hours=-2),
            "lines": [{"line_no": n, "quantity": str(q)} for n, (q, _p) in enumerate(order_lines(index), 1)],
        }
        shipments.append(expect(client.post(f"/api/v1/orders/{order_id}/shipments", json=body, headers=supplier.headers), 201, "ship")["id"])
        requests += 1
    for shipment_id in shipments:
        body = {"receiver_name": "Goods-in, Gate 3", "delivered_at": now_iso(minutes=-1), "document_hash": "AB" * 32}
        expect(client.post(f"/api/v1/shipments/{shipment_id}/proof-of-delivery", json=body, headers=carrier.headers), 201, "proof of delivery")
        requests += 1
    drain_and_index()  # assignCarrier, anchor, attestDelivery
    for index, order_id in enumerate(orders):
        lines = [{"line_no": n, "accepted_quantity": str(q)} for n, (q, _p) in enumerate(order_lines(index), 1)]
        receipt = expect(client.post(f"/api/v1/orders/{order_id}/receipts", json={"lines": lines}, headers=buyer.headers), 201, "receipt")
        if Decimal(receipt["accepted_value"]) != orders[order_id] or Decimal(receipt["refund_value"]) != 0:
            raise BenchFailure(f"order {order_id}: receipt accepted {receipt['accepted_value']}, refund {receipt['refund_value']}")
        requests += 1
    drain_and_index()  # confirmReceipt, release; the orders close and queue withdrawals, sent too
    elapsed = time.perf_counter() - started

    # Every order closed, its escrow released, every transaction confirmed, and the money
    # where it belongs to the last token unit.
    for order_id in orders:
        shown = expect(client.get(f"/api/v1/orders/{order_id}", headers=supplier.headers), 200, "order")
        if shown["state"] != "closed":
            raise BenchFailure(f"order {order_id} ended {shown['state']!r}, not closed")
        escrow = expect(client.get(f"/api/v1/orders/{order_id}/escrow", headers=buyer.headers), 200, "escrow")
        if escrow["state"] != "released":
            raise BenchFailure(f"order {order_id}: escrow {escrow['state']!r}, not released")
    with database(app).sessionmaker() as session:
        intents = session.execute(sa.select(ChainIntent.function, ChainIntent.state, ChainIntent.gas_used).where(ChainIntent.seq > first_seq)).all()
        deployed = deployments(session, chain.chain_id)
        supplier_address, buyer_address = address_of(session, supplier.org.id), address_of(session, buyer.org.id)
    unconfirmed = [(f, str(s)) for f, s, _g in intents if s != IntentState.CONFIRMED]
    if unconfirmed:
        raise BenchFailure(f"{len(unconfirmed)} chain transactions not confirmed: {unconfirmed[:10]}")
    token_row = deployed[f"SettlementToken.{CURRENCY}"]
    token = chain.contract(load_artifact(token_row.artifact).abi, token_row.address)
    paid = token.functions.balanceOf(supplier_address).call()
    expected = sum(token_units(total) for total in orders.values())
    if paid != expected:
        raise BenchFailure(f"supplier holds {paid} token units on chain, the orders total {expected}")
    escrow_row = deployed["DeliveryEscrow"]
    held = token.functions.balanceOf(escrow_row.address).call()
    if held != 0:
        raise BenchFailure(f"the escrow still holds {held} token units: not everything was withdrawn")
    left = token.functions.balanceOf(buyer_address).call()
    if left != token_units(funds) - expected:
        raise BenchFailure(f"buyer holds {left} token units on chain, expected {token_units(funds) - expected}")
    return {
        "orders": count,
        "seconds": elapsed,
        "chain_seconds": chain_seconds,
        "per_minute": count / elapsed * 60,
        "requests": requests,
        "tx_per_order": len(intents) / count,
        "gas_per_order": sum(g or 0 for _f, _s, g in intents) / count,
        "functions": Counter(f for f, _s, _g in intents),
        "supplier_units": paid,
    }


# -- 2. the list endpoint with 10,000 orders ------------------------------------------------

#: How a buyer's order book of a year or so might look (weights per state).
STATE_WEIGHTS = {
    OrderState.CLOSED: 50,
    OrderState.DRAFT: 4,
    OrderState.ISSUED: 6,
    OrderState.ACKNOWLEDGED: 8,
    OrderState.PARTIALLY_SHIPPED: 4,
    OrderState.SHIPPED: 6,
    OrderState.DELIVERED: 5,
    OrderState.PARTIALLY_RECEIVED: 2,
    OrderState.RECEIVED: 3,
    OrderState.REJECTED: 3,
    OrderState.CANCELLED: 6,
    OrderState.DISPUTED: 3,
}
_ACKNOWLEDGED = set(STATE_WEIGHTS) - {OrderState.DRAFT, OrderState.ISSUED, OrderState.REJECTED, OrderState.CANCELLED}
_DELIVERED = {OrderState.DELIVERED, OrderState.PARTIALLY_RECEIVED, OrderState.RECEIVED, OrderState.CLOSED}


def seed_orders(app, client, buyer, supplier, count: int) -> Counter:
    """`count` orders of 1-4 lines each, written with bulk inserts (not through the API)."""
    products = [
        expect(
            client.post(
                "/api/v1/products", json={"sku": f"SEED-{i}", "name": f"Seeded part {i}", "unit_of_measure": "H87", "gtin": None}, headers=buyer.headers
            ),
            201,
            "product",
        )
        for i in range(1, 5)
    ]
    location = expect(
        client.post(
            "/api/v1/locations",
            json={"name": "Plant Seed", "address_line1": "Hafenstrasse 1", "postal_code": "20457", "city": "Hamburg", "country": "DE"},
            headers=buyer.headers,
        ),
        201,
        "location",
    )
    ship_to = {k: location.get(k) for k in ("name", "address_line1", "address_line2", "postal_code", "city", "country", "gln")}
    rng = random.Random(7)
    states, weights = zip(*STATE_WEIGHTS.items(), strict=True)
    now = clock.utcnow()
    order_rows, line_rows = [], []
    for index in range(count):
        state = rng.choices(states, weights)[0]
        created = now - timedelta(days=365) + timedelta(seconds=index * 365 * 86400 // count, microseconds=rng.randrange(10**6))
        order_id = uuid.uuid4()
        total = confirmed = Decimal("0.00")
        for line_no in range(1, rng.randint(1, 4) + 1):
            product = products[line_no - 1]
            quantity, price = Decimal(rng.randint(1, 500)), Decimal(rng.randint(100, 99999)) / 100
            amount = (quantity * price).quantize(Decimal("0.01"))
            total += amount
            confirmed_quantity = quantity if state in _ACKNOWLEDGED else None
            confirmed += amount if confirmed_quantity else 0
            line_rows.append(
                {
                    "id": uuid.uuid4(),
                    "order_id": order_id,
                    "line_no": line_no,
                    "product_id": uuid.UUID(product["id"]),
                    "sku": product["sku"],
                    "product_name": product["name"],
                    "unit_of_measure": "H87",
                    "gtin": None,
                    "quantity": quantity,
                    "unit_price": price,
                    "amount": amount,
                    "requested_date": (created + timedelta(days=21)).date(),
                    "confirmed_quantity": confirmed_quantity,
                    "confirmed_date": (created + timedelta(days=20)).date() if confirmed_quantity else None,
                }
            )
        delivered = created + timedelta(days=10) if state in _DELIVERED else None
        order_rows.append(
            {
                "id": order_id,
                "number": f"PO-SEED-{index:06d}",
                "buyer_org_id": buyer.org.id,
                "supplier_org_id": supplier.org.id,
                "currency": CURRENCY,
                "ship_to_location_id": uuid.UUID(location["id"]),
                "ship_to": ship_to,
                "incoterm": "DAP",
                "payment_terms": "Escrow, released on receipt",
                "state": state,
                "revision": 0 if state == OrderState.DRAFT else 1,
                "total": total,
                "confirmed_total": confirmed if state in _ACKNOWLEDGED else None,
                "created_by": buyer.admin.id,
                "issued_at": None if state == OrderState.DRAFT else created + timedelta(hours=1),
                "acknowledged_at": created + timedelta(days=1) if state in _ACKNOWLEDGED else None,
                "closed_at": created + timedelta(days=14) if state == OrderState.CLOSED else None,
                # Delivered orders are still inside the buyer's dispute window (receive is allowed).
                "delivered_at": now - timedelta(hours=1) if state == OrderState.DELIVERED else delivered,
                "settlement_queued_at": created + timedelta(days=12) if state in (OrderState.RECEIVED, OrderState.CLOSED) else None,
                "state_reason": "Capacity fully booked" if state == OrderState.REJECTED else ("Requirement changed" if state == OrderState.CANCELLED else None),
                "created_at": created,
                "updated_at": created + timedelta(days=1),
            }
        )
    with database(app).sessionmaker() as session, session.begin():
        for start in range(0, len(order_rows), 2000):
            session.execute(sa.insert(PurchaseOrder), order_rows[start : start + 2000])
        for start in range(0, len(line_rows), 5000):
            session.execute(sa.insert(OrderLine), line_rows[start : start + 5000])
    if database(app).engine.dialect.name == "postgresql":
        with database(app).engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE purchase_orders; ANALYZE order_lines"))
    return Counter(row["state"] for row in order_rows)


def side_by_side(client, path: str, headers: dict, warmup: int, count: int) -> tuple[list[float], list[float], dict]:
    """Per-request seconds of `path` and of a bare Flask app answering the same JSON, the two
    requests interleaved (so a noisy neighbour slows both alike), after untimed warm-ups."""
    body = None
    for _ in range(warmup):
        body = expect(client.get(path, headers=headers), 200, path)
    bare = bare_app(body).test_client()
    for _ in range(warmup):
        if bare.get("/orders").get_json() != body:
            raise BenchFailure("the bare endpoint answered other JSON")
    concord_seconds, bare_seconds = [], []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        concord_seconds.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise BenchFailure(f"{path}: HTTP {response.status_code}")
        started = time.perf_counter()
        response = bare.get("/orders")
        bare_seconds.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise BenchFailure(f"bare /orders: HTTP {response.status_code}")
    return concord_seconds, bare_seconds, body


def rate(seconds: list[float]) -> float:
    return len(seconds) / sum(seconds)


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def bare_app(payload: dict) -> Flask:
    bare = Flask("bare")

    @bare.get("/orders")
    def orders():
        return jsonify(payload)

    return bare


# -- the run --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20, help="orders taken through the full story (default 20)")
    parser.add_argument("--list-orders", type=int, default=10_000, help="orders seeded for the list measurement (default 10000)")
    parser.add_argument("--requests", type=int, default=200, help="timed list requests per page size and side (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests before each measurement (default 20)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("CONCORD_BENCH_DATABASE_URL", ""),
        help="PostgreSQL URL (a fresh schema is used and dropped); SQLite in a temp folder by default",
    )
    args = parser.parse_args()
    if args.orders < 1 or args.list_orders <= BIG_PAGE or args.requests < 2 or args.warmup < 1:
        parser.error(f"needs --orders >= 1, --list-orders > {BIG_PAGE}, --requests >= 2 and --warmup >= 1")

    with tempfile.TemporaryDirectory() as folder, bench_app(Path(folder), args.database_url or None) as app:
        backend = database(app).engine.dialect.name
        client = app.test_client()
        counter = StatementCounter(database(app).engine)
        with app.test_request_context(), database(app).sessionmaker() as session:
            operator = factories.operator(session)
            buyer = factories.member(session, operator, "buyer", name="Bench Buyer GmbH")
            supplier = factories.member(session, operator, "supplier", name="Bench Supplier Ltd")
            carrier = factories.member(session, operator, "carrier", name="Bench Carrier AS")
            factories.partner(session, Relation.BUYER_SUPPLIER, buyer, supplier)
            factories.partner(session, Relation.SHIPPER_CARRIER, supplier, carrier)
            lister = factories.member(session, operator, "buyer", name="Bench Lister SE")
            listed = factories.member(session, operator, "supplier", name="Bench Listed Oy")
            factories.partner(session, Relation.BUYER_SUPPLIER, lister, listed)
            session.commit()

        print(f"Concord orders bench on {backend}, embedded chain, {os.cpu_count()} CPUs", flush=True)
        print(f"1. full story for {args.orders} orders ...", flush=True)
        story = full_story(app, client, operator, buyer, supplier, carrier, args.orders)

        print(f"2. seeding {args.list_orders} orders for another buyer ...", flush=True)
        started = time.perf_counter()
        states = seed_orders(app, client, lister, listed, args.list_orders)
        seeded_in = time.perf_counter() - started

        rows, statements = [], {}
        for limit in (DEFAULT_PAGE, BIG_PAGE):
            path = "/api/v1/orders" if limit == DEFAULT_PAGE else f"/api/v1/orders?limit={limit}"
            print(f"3. GET {path} x {args.requests}, interleaved with a bare Flask jsonify of the same items ...", flush=True)
            latencies, bare_latencies, body = side_by_side(client, path, lister.headers, args.warmup, args.requests)
            if len(body["items"]) != limit or body["next_cursor"] is None:
                raise BenchFailure(f"{path} answered {len(body['items'])} items")
            with counter.counting() as seen:
                expect(client.get(path, headers=lister.headers), 200, path)
            statements[limit] = (sum(seen.values()), seen.most_common(3), Counter(item["state"] for item in body["items"]))
            rows.append((path, limit, latencies, bare_latencies))

    print()
    print(f"Orders through the full story on the embedded chain ({backend}, one run, {os.cpu_count()} CPUs)")
    print(f"  orders                  {story['orders']:>10}      create, issue, acknowledge, ship, proof of delivery, receipt, release, withdraw")
    print(
        f"  wall time               {story['seconds']:>10.1f} s    {story['requests']} API calls, and {story['chain_seconds']:.1f} s of worker drains + indexer syncs"
    )
    print(f"  orders per minute       {story['per_minute']:>10.1f}")
    print(f"  chain tx per order      {story['tx_per_order']:>10.2f}      {', '.join(f'{f} {n}' for f, n in sorted(story['functions'].items()))}")
    print(f"  gas per order           {story['gas_per_order']:>10,.0f}")
    print(f"  supplier paid on chain  {Decimal(story['supplier_units']).scaleb(-6):>10}      = sum of order totals, to the unit (verified)")
    print()
    print(
        f"GET /api/v1/orders for a buyer with {args.list_orders:,} orders (bulk-seeded in {seeded_in:.1f} s: "
        + ", ".join(f"{s} {n}" for s, n in states.most_common())
        + ")"
    )
    print(f"{'request':30} {'items':>5} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8} {'bare p50':>9} {'bare req/s':>10} {'concord/bare':>12} {'SQL/req':>8}")
    for path, limit, latencies, bare_latencies in rows:
        print(
            f"{path:30} {limit:>5} {percentile(latencies, 50) * 1000:8.1f} {percentile(latencies, 95) * 1000:8.1f} {rate(latencies):8.1f} "
            f"{percentile(bare_latencies, 50) * 1000:9.2f} {rate(bare_latencies):10.1f} {rate(latencies) / rate(bare_latencies):12.3f} {statements[limit][0]:>8}"
        )
    print(f"({args.requests} timed requests per side and row after {args.warmup} warm-up, interleaved; req/s = requests / summed request time;")
    print(" bare = a minimal Flask app returning the very same JSON via jsonify, no database; SQL/req = statements in one request)")
    for limit, (total, common, page_states) in statements.items():
        print(f"  SQL for one page of {limit} ({', '.join(f'{s} {n}' for s, n in page_states.most_common())}): {total} statements; most repeated:")
        for statement, n in common:
            print(f"    {n:>4} x {statement[:150]}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchFailure as failure:
        print(f"\nBENCH FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
