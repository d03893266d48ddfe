"""Order throughput on the embedded chain, and the order list's statements, latency and rate
beside a bare Flask endpoint, on SQLite and PostgreSQL side by side in one run.

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
   across OrderState): p50/p95 of each request, `allowed_actions` included, and the SQL
   statements one request runs.
3. The same page's rate beside two bare Flask apps, each through its own test client, the
   requests interleaved one by one so that a busy machine slows all alike:
   - "bare SQL": the same JSON shape (the page's orders and their lines, same keys, same
     order) from one query on the same database, its own engine, no Concord code;
   - "jsonify": the very items the list answered, via `jsonify`, no database.

Each database gets its own app (SQLite in a temp folder; PostgreSQL in a fresh schema,
dropped afterwards) and the summary shows them side by side.

Run: `make bench` (or `.venv/bin/python bench/orders.py [--orders N] [--requests N]
[--database-url postgresql://postgres@127.0.0.1:5432/test] [--no-story]`). Without a
PostgreSQL URL (option or CONCORD_BENCH_DATABASE_URL) only SQLite is measured.
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
from datetime import date, datetime, timedelta
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


def side_by_side(client, path: str, headers: dict, limit: int, bare_url: str, buyer_id: uuid.UUID, warmup: int, count: int) -> dict:
    """Per-request seconds of `path` and of the two bare apps answering the same page (see the
    module's docstring), the requests interleaved (so a noisy neighbour slows all alike),
    after untimed warm-ups."""
    body = None
    for _ in range(warmup):
        body = expect(client.get(path, headers=headers), 200, path)
    assert body is not None
    engine = sa.create_engine(bare_url)
    try:
        bare_sql = bare_query_app(engine, buyer_id, limit).test_client()
        bare_json = bare_app(body).test_client()
        for _ in range(warmup):
            if bare_json.get("/orders").get_json() != body:
                raise BenchFailure("the bare jsonify endpoint answered other JSON")
            same_shape(body, bare_sql.get("/orders").get_json())
        seconds: dict[str, list[float]] = {"concord": [], "bare_sql": [], "jsonify": []}
        for _ in range(count):
            for name, (one, url, one_headers) in {
                "concord": (client, path, headers),
                "bare_sql": (bare_sql, "/orders", {}),
                "jsonify": (bare_json, "/orders", {}),
            }.items():
                started = time.perf_counter()
                response = one.get(url, headers=one_headers)
                seconds[name].append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise BenchFailure(f"{name} {url}: HTTP {response.status_code}")
    finally:
        engine.dispose()
    return {"seconds": seconds, "body": body}


def same_shape(concord: dict, bare: dict) -> None:
    """The bare SQL endpoint answers the page's orders, in order, with the same keys."""
    if [item["id"] for item in bare["items"]] != [item["id"] for item in concord["items"]]:
        raise BenchFailure("the bare SQL endpoint answered other orders")
    for ours, theirs in zip(concord["items"], bare["items"], strict=True):
        if set(ours) != set(theirs) or [set(line) for line in ours["lines"]] != [set(line) for line in theirs["lines"]]:
            raise BenchFailure(f"the bare SQL endpoint answered another shape: {sorted(set(ours) ^ set(theirs))}")
    if set(bare) != set(concord):
        raise BenchFailure("the bare SQL endpoint answered another envelope")


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


_ORDER_KEYS = (
    "id number buyer_org_id supplier_org_id state revision currency total confirmed_total ship_to incoterm payment_terms state_reason "
    "issued_at acknowledged_at closed_at created_at updated_at"
).split()
_LINE_KEYS = "line_no product_id sku product_name unit_of_measure gtin quantity unit_price amount requested_date confirmed_quantity confirmed_date".split()


def _plain(value):
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def bare_query_app(engine, buyer_id: uuid.UUID, limit: int) -> Flask:
    """A minimal Flask app answering a buyer's newest orders with their lines in the list's
    JSON shape, from one query (a page of orders joined to their lines)."""
    orders, lines = PurchaseOrder.__table__, OrderLine.__table__
    page = (
        sa.select(*[orders.c[k] for k in _ORDER_KEYS])
        .where(orders.c.buyer_org_id == buyer_id)
        .order_by(orders.c.created_at.desc(), orders.c.id.desc())
        .limit(limit + 1)
        .subquery()
    )
    query = (
        sa.select(page, *[lines.c[k].label(f"line_{k}") for k in _LINE_KEYS])
        .join(lines, lines.c.order_id == page.c.id)
        .order_by(page.c.created_at.desc(), page.c.id.desc(), lines.c.line_no)
    )
    bare = Flask("bare_sql")

    @bare.get("/orders")
    def listed():
        items: dict = {}
        with engine.connect() as connection:
            for row in connection.execute(query).mappings():
                item = items.get(row["id"])
                if item is None:
                    item = items[row["id"]] = {k: _plain(row[k]) for k in _ORDER_KEYS} | {"allowed_actions": [], "lines": []}
                item["lines"].append({k: _plain(row[f"line_{k}"]) for k in _LINE_KEYS})
        shown = list(items.values())
        next_cursor = f"{shown[limit - 1]['created_at']}|{shown[limit - 1]['id']}" if len(shown) > limit else None
        return jsonify({"items": shown[:limit], "next_cursor": next_cursor})

    return bare


# -- the run --------------------------------------------------------------------------------


def measure(database_url: str | None, args) -> dict:
    """The story and the list measurements on one database (a fresh one, dropped afterwards)."""
    with tempfile.TemporaryDirectory() as folder, bench_app(Path(folder), database_url) as app:
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

        print(f"[{backend}] Concord orders bench, embedded chain, {os.cpu_count()} CPUs", flush=True)
        story = None
        if args.story:
            print(f"[{backend}] 1. full story for {args.orders} orders ...", flush=True)
            story = full_story(app, client, operator, buyer, supplier, carrier, args.orders)

        print(f"[{backend}] 2. seeding {args.list_orders} orders for another buyer ...", flush=True)
        started = time.perf_counter()
        states = seed_orders(app, client, lister, listed, args.list_orders)
        seeded_in = time.perf_counter() - started

        bare_url = database(app).engine.url.render_as_string(hide_password=False)
        rows = []
        for limit in (DEFAULT_PAGE, BIG_PAGE):
            path = "/api/v1/orders" if limit == DEFAULT_PAGE else f"/api/v1/orders?limit={limit}"
            print(f"[{backend}] 3. GET {path} x {args.requests}, interleaved with the bare SQL and jsonify endpoints ...", flush=True)
            measured = side_by_side(client, path, lister.headers, limit, bare_url, lister.org.id, args.warmup, args.requests)
            body = measured["body"]
            if len(body["items"]) != limit or body["next_cursor"] is None:
                raise BenchFailure(f"{path} answered {len(body['items'])} items")
            with counter.counting() as seen:
                expect(client.get(path, headers=lister.headers), 200, path)
            rows.append(
                {
                    "path": path,
                    "limit": limit,
                    "seconds": measured["seconds"],
                    "statements": sum(seen.values()),
                    "most_repeated": seen.most_common(3),
                    "page_states": Counter(item["state"] for item in body["items"]),
                }
            )
    return {"backend": backend, "story": story, "states": states, "seeded_in": seeded_in, "rows": rows}


def report(run: dict, args) -> None:
    backend, story = run["backend"], run["story"]
    if story is not None:
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
        f"GET /api/v1/orders on {backend} for a buyer with {args.list_orders:,} orders (bulk-seeded in {run['seeded_in']:.1f} s: "
        + ", ".join(f"{s} {n}" for s, n in run["states"].most_common())
        + ")"
    )
    for row in run["rows"]:
        print(
            f"  SQL for one page of {row['limit']} ({', '.join(f'{s} {n}' for s, n in row['page_states'].most_common())}): {row['statements']} statements; most repeated:"
        )
        for statement, n in row["most_repeated"]:
            print(f"    {n:>4} x {statement[:150]}")


def summary(runs: list[dict], args) -> None:
    print()
    print(
        f"GET /api/v1/orders with {args.list_orders:,} orders, side by side ({args.requests} timed requests per endpoint and row after {args.warmup} warm-up, interleaved)"
    )
    header = f"{'database':10} {'request':26} {'items':>5} {'SQL/req':>7} {'p50 ms':>7} {'p95 ms':>7} {'req/s':>7} {'bare SQL req/s':>14} {'vs bare SQL':>11} {'jsonify req/s':>13} {'vs jsonify':>10}"
    print(header)
    print("-" * len(header))
    for run in runs:
        for row in run["rows"]:
            seconds = row["seconds"]
            ours, bare_sql, bare_json = rate(seconds["concord"]), rate(seconds["bare_sql"]), rate(seconds["jsonify"])
            print(
                f"{run['backend']:10} {row['path']:26} {row['limit']:>5} {row['statements']:>7} {percentile(seconds['concord'], 50) * 1000:7.1f} "
                f"{percentile(seconds['concord'], 95) * 1000:7.1f} {ours:7.1f} {bare_sql:14.1f} {ours / bare_sql:10.3f}x {bare_json:13.1f} {ours / bare_json:9.3f}x"
            )
    print("req/s = requests / summed request time; SQL/req = statements of one request (auth, the page's two keyset queries,")
    print("their lines, the guards' prefetch); bare SQL = a minimal Flask app answering the same JSON shape from one query on the")
    print("same database (its own engine); jsonify = a minimal Flask app returning the very same JSON, no database.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20, help="orders taken through the full story (default 20)")
    parser.add_argument("--no-story", dest="story", action="store_false", help="measure the order list only")
    parser.add_argument("--list-orders", type=int, default=10_000, help="orders seeded for the list measurement (default 10000)")
    parser.add_argument("--requests", type=int, default=200, help="timed list requests per page size and endpoint (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests before each measurement (default 20)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("CONCORD_BENCH_DATABASE_URL", ""),
        help="PostgreSQL URL, measured after SQLite (a fresh schema is used and dropped); SQLite only without it",
    )
    args = parser.parse_args()
    if args.orders < 1 or args.list_orders <= BIG_PAGE or args.requests < 2 or args.warmup < 1:
        parser.error(f"needs --orders >= 1, --list-orders > {BIG_PAGE}, --requests >= 2 and --warmup >= 1")

    runs = []
    for database_url in [None, *([args.database_url] if args.database_url else [])]:
        run = measure(database_url, args)
        report(run, args)
        runs.append(run)
    summary(runs, args)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchFailure as failure:
        print(f"\nBENCH FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
