"""Receivables verified, financed and settled per minute through the API on the embedded
chain, and the chain transactions (count and gas) each costs, on SQLite and PostgreSQL side
by side in one run.

N open-account orders received in full (written as rows, as tests/finance does: the order
story itself is bench/orders.py's) go through three timed stages, each stage taken by all N
receivables and then the outbox worker draining until nothing is left to send, as a busy
platform's worker does:

1. verified: the supplier invoices the order (matched), the buyer approves the invoice, the
   supplier registers it as a receivable; mined: its registration and the buyer's
   acknowledgement, and it is verified;
2. financed: the supplier asks the financier for an offer, the financier offers (90 %
   advance), the supplier accepts; mined: the financier's allowance and offer, the
   supplier's approval and the exchange's accept (assignment and advance in one
   transaction), and it is financed;
3. settled: the buyer pays the invoice (to the financier, its holder); mined: the buyer's
   allowance and payment, then the financier's allowance and the exchange's settlement that
   returns to the supplier what exceeds the financier's claim.

The run fails (exit 1) unless every receivable ends settled and the token balances on chain
moved exactly: the buyer paid the invoices, the supplier received the advances and the rest,
the financier kept its claims less the advances, to the token unit.

Run: `.venv/bin/python bench/finance.py [--receivables N] [--database-url
postgresql://postgres@127.0.0.1:5432/test]`. Without a PostgreSQL URL (option or
CONCORD_BENCH_DATABASE_URL) only SQLite is measured.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tests.…` and `bench.orders`, run from anywhere

import sqlalchemy as sa
from concord import clock
from concord.db import database
from concord.finance.models import Settlement
from concord.ledger import outbox, runtime
from concord.ledger import service as ledger_service
from concord.ledger.artifacts import load_artifact
from concord.ledger.deploy import deploy, deployments
from concord.ledger.models import ChainIntent, IntentState
from concord.ledger.service import address_of, token_units
from concord.tenancy.models import Relation

from bench.orders import BenchFailure, bench_app, expect, settle
from tests import factories
from tests.finance.invoice_factory import received_order, set_terms

CURRENCY = "EUR"
STAGES = ("verified", "financed", "settled")


def prepared(app, count: int):
    """The world, a financier partner of the supplier, contracts deployed, buyer and
    financier funded, open-account terms and `count` received orders (not timed)."""
    with app.test_request_context():
        session = database(app).sessionmaker()
        world = factories.build_world(app, session)
        financier = factories.member(session, world.operator, "financier", name="Bench Trade Finance plc")
        factories.partner(session, Relation.SUPPLIER_FINANCIER, world.supplier, financier)
        session.commit()
    chain = runtime.chain(app)
    worker = outbox.Worker(app, chain, receipt_timeout=0)
    deploy(app, chain, worker)
    settle(app, worker)
    with app.test_request_context():
        for member in (world.buyer, financier):
            ledger_service.mint(session, world.operator.principal, member.org.id, CURRENCY, Decimal(100 * count + 1000))
        session.commit()
        set_terms(session, world.buyer, world.supplier, settlement=Settlement.OPEN_ACCOUNT, net_days=30)
        orders = []
        for _ in range(count):
            order = received_order(session, world.buyer, world.supplier)
            order.settlement, order.net_days = Settlement.OPEN_ACCOUNT, 30
            orders.append(order)
        session.commit()
        lines = [
            [
                {"order_line_no": line.line_no, "quantity": q, "unit_price": p, "tax_rate": "0"}
                for line, (q, p) in zip(order.lines, (("10", "2.50"), ("3", "12.125")), strict=True)
            ]
            for order in orders
        ]
        order_ids = [str(order.id) for order in orders]
    session.close()
    settle(app, worker)
    return world, financier, worker, list(zip(order_ids, lines, strict=True))


def last_seq(app) -> int:
    with database(app).sessionmaker() as session:
        return session.execute(sa.select(sa.func.coalesce(sa.func.max(ChainIntent.seq), 0))).scalar_one()


def mined_since(app, seq: int) -> list[tuple[str, str, int]]:
    with database(app).sessionmaker() as session:
        rows = session.execute(sa.select(ChainIntent.function, ChainIntent.state, ChainIntent.gas_used).where(ChainIntent.seq > seq)).all()
    failed = [(function, str(state)) for function, state, _gas in rows if state != IntentState.CONFIRMED]
    if failed:
        raise BenchFailure(f"{len(failed)} chain transactions not confirmed: {failed[:10]}")
    return [(function, str(state), gas or 0) for function, state, gas in rows]


def balances(app, chain, *members) -> list[int]:
    with database(app).sessionmaker() as session:
        row = deployments(session, chain.chain_id)[f"SettlementToken.{CURRENCY}"]
        addresses = [address_of(session, member.org.id) for member in members]
    token = chain.contract(load_artifact(row.artifact).abi, row.address)
    return [token.functions.balanceOf(address).call() for address in addresses]


def story(app, count: int) -> dict:
    world, financier, worker, orders = prepared(app, count)
    buyer, supplier = world.buyer, world.supplier
    client = app.test_client()
    before = balances(app, worker.chain, buyer, supplier, financier)
    stages: dict[str, dict] = {}
    chain_seconds = [0.0]

    def drain() -> None:
        """The worker sends what is queued, and what its confirmations queue (a payment's
        settlement), until nothing is left."""
        begun = time.perf_counter()
        settle(app, worker)
        chain_seconds[0] += time.perf_counter() - begun

    def stage(name: str, steps) -> None:
        seq, started, chain_seconds[0] = last_seq(app), time.perf_counter(), 0.0
        requests = steps()
        drain()
        elapsed = time.perf_counter() - started
        mined = mined_since(app, seq)
        stages[name] = {
            "seconds": elapsed,
            "chain_seconds": chain_seconds[0],
            "per_minute": count / elapsed * 60,
            "requests": requests,
            "transactions": len(mined) / count,
            "gas": sum(gas for _f, _s, gas in mined) / count,
            "functions": Counter(function for function, _s, _g in mined),
        }

    receivables: list[str] = []
    invoices: list[str] = []

    def verify() -> int:
        for n, (order_id, lines) in enumerate(orders):
            body = {"order_id": order_id, "number": f"INV-BENCH-{n:05d}", "issue_date": date.today().isoformat(), "lines": lines}
            made = expect(client.post("/api/v1/invoices", json=body, headers=supplier.headers), 201, "invoice")
            if made["state"] != "matched":
                raise BenchFailure(f"invoice {made['number']} is {made['state']}, not matched")
            expect(client.post(f"/api/v1/invoices/{made['id']}/approve", json={}, headers=buyer.headers), 200, "approve")
            registered = expect(client.post(f"/api/v1/invoices/{made['id']}/receivable", headers=supplier.headers), 201, "register")
            invoices.append(made["id"])
            receivables.append(registered["id"])
        return 3 * count

    offers: list[str] = []

    def finance() -> int:
        valid_until = (clock.utcnow() + timedelta(days=7)).isoformat()
        for receivable in receivables:
            shown = expect(client.get(f"/api/v1/receivables/{receivable}", headers=supplier.headers), 200, "receivable")
            if shown["state"] != "verified":
                raise BenchFailure(f"receivable {receivable} is {shown['state']}, not verified")
            (asked,) = expect(
                client.post(f"/api/v1/receivables/{receivable}/offers", json={"financier_ids": [str(financier.org.id)]}, headers=supplier.headers), 201, "ask"
            )
            terms = {"advance_rate": "90", "discount_rate": "6", "fees": "0.50", "valid_until": valid_until}
            expect(client.post(f"/api/v1/financing-offers/{asked['id']}/offer", json=terms, headers=financier.headers), 200, "offer")
            offers.append(asked["id"])
        drain()  # the offers must be on chain before they can be accepted
        for offer in offers:
            expect(client.post(f"/api/v1/financing-offers/{offer}/accept", headers=supplier.headers), 200, "accept")
        return 4 * count

    def pay() -> int:
        for invoice in invoices:
            expect(client.post(f"/api/v1/invoices/{invoice}/pay", headers=buyer.headers), 202, "pay")
        return count

    stage("verified", verify)
    stage("financed", finance)
    stage("settled", pay)

    # Every receivable settled and the money where the waterfall says, to the token unit.
    advances = supplier_shares = financier_shares = paid = 0
    for receivable, offer in zip(receivables, offers, strict=True):
        shown = expect(client.get(f"/api/v1/receivables/{receivable}", headers=financier.headers), 200, "receivable")
        if shown["state"] != "settled":
            raise BenchFailure(f"receivable {receivable} ended {shown['state']!r}, not settled")
        waterfall = shown["settlement"]
        made = expect(client.get(f"/api/v1/financing-offers/{offer}", headers=financier.headers), 200, "offer")
        advances += token_units(Decimal(made["advance"]))
        paid += token_units(Decimal(waterfall["amount_paid"]))
        supplier_shares += token_units(Decimal(waterfall["supplier_share"]))
        financier_shares += token_units(Decimal(waterfall["financier_share"]))
    after = balances(app, worker.chain, buyer, supplier, financier)
    moved = [a - b for a, b in zip(after, before, strict=True)]
    if moved != [-paid, advances + supplier_shares, financier_shares - advances] or paid != supplier_shares + financier_shares:
        raise BenchFailure(
            f"balances moved {moved}; the waterfall says buyer -{paid}, supplier +{advances + supplier_shares}, financier +{financier_shares - advances}"
        )
    return {"receivables": count, "stages": stages, "paid_units": paid}


def report(label: str, run: dict) -> None:
    print(f"\n== {label}: {run['receivables']} open-account receivables ==")
    for name in STAGES:
        figures = run["stages"][name]
        functions = ", ".join(f"{function} {n / run['receivables']:g}" for function, n in sorted(figures["functions"].items()))
        print(
            f"  {name:<9} {figures['per_minute']:7.1f}/min  ({figures['seconds']:.1f} s, worker and chain {figures['chain_seconds']:.1f} s)"
            f"  {figures['transactions']:.1f} tx, {figures['gas']:,.0f} gas per receivable: {functions}"
        )


def summary(runs: list[tuple[str, dict]]) -> None:
    labels = [label for label, _run in runs]
    print("\n== side by side (per receivable; the rate of each stage, and of the whole) ==")
    print(f"  {'':<26}" + "".join(f"{label:>14}" for label in labels) + ("   PostgreSQL / SQLite" if len(runs) == 2 else ""))
    rows: list[tuple[str, list[float], str]] = []
    for name in STAGES:
        rows.append((f"{name} per minute", [run["stages"][name]["per_minute"] for _l, run in runs], "{:14.1f}"))
        rows.append((f"{name}: chain tx", [run["stages"][name]["transactions"] for _l, run in runs], "{:14.1f}"))
        rows.append((f"{name}: gas", [run["stages"][name]["gas"] for _l, run in runs], "{:14,.0f}"))
    whole = [run["receivables"] / sum(stage["seconds"] for stage in run["stages"].values()) * 60 for _l, run in runs]
    rows.append(("received → settled /min", whole, "{:14.1f}"))
    for title, values, shape in rows:
        ratio = f"   {values[1] / values[0]:.2f}×" if len(values) == 2 and values[0] else ""
        print(f"  {title:<26}" + "".join(shape.format(value) for value in values) + ratio)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receivables", type=int, default=20, help="receivables taken from received order to settlement (default 20)")
    parser.add_argument(
        "--database-url", default=os.environ.get("CONCORD_BENCH_DATABASE_URL"), help="a PostgreSQL URL to measure beside SQLite (a fresh schema, dropped after)"
    )
    args = parser.parse_args()
    runs: list[tuple[str, dict]] = []
    for label, url in [("SQLite", None)] + ([("PostgreSQL", args.database_url)] if args.database_url else []):
        with tempfile.TemporaryDirectory(prefix="concord-bench-finance-") as folder, bench_app(Path(folder), url) as app:
            run = story(app, args.receivables)
        report(label, run)
        runs.append((label, run))
    summary(runs)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchFailure as failure:
        print(f"\nBENCH FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
