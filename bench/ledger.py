"""Outbox throughput beside a bare web3 loop, on the embedded chain and on a hardhat node.

Both sides send the same call (`ProvenanceAnchor.anchor`, a distinct batch each time) and
read each one's receipt:

- bare loop: encode, sign with a local key, send the raw bytes, read the receipt;
- outbox: intents committed in the database first, then `Worker.drain()` takes the
  sender's intents a window (`outbox.SIGN_AHEAD`) at a time: signs the window under the
  locked nonce row with consecutive nonces and commits, submits each in nonce order, reads
  the receipts (one JSON-RPC batch on a node) and records them in one more commit.

Run: `make bench` (or `.venv/bin/python bench/ledger.py [--count N]`). Prints rates and the
outbox/bare ratio per chain, measured side by side in one run (target: ratio >= 0.80).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tests.factories`, run from anywhere

from concord import migrate
from concord.app import create_app
from concord.db import database
from concord.ledger import devnode, outbox, runtime
from concord.ledger.artifacts import load_artifact
from concord.ledger.chain import open_chain
from concord.ledger.deploy import deploy, deployments
from eth_account import Account

from tests import factories


def _app(folder: Path):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
            "SECRET_KEY": "bench",
            "INSTANCE_DIR": str(folder),
            "TESTING": True,
        }
    )
    migrate.upgrade(database(app).engine)
    return app


def _batch(tag: int, index: int) -> bytes:
    return tag.to_bytes(4, "big") + index.to_bytes(28, "big")


def measure(app, chain, count: int) -> tuple[float, float]:
    worker = outbox.Worker(app, chain, receipt_timeout=30)
    with app.test_request_context(), database(app).sessionmaker() as session:
        operator = factories.operator(session)
        member = factories.member(session, operator, "supplier", name="Bench Supplier")
        member_id = member.org.id
    deploy(app, chain, worker)
    worker.drain()
    with database(app).sessionmaker() as session:
        anchor_row = deployments(session, chain.chain_id)["ProvenanceAnchor"]
    anchor = chain.contract(load_artifact("ProvenanceAnchor").abi, anchor_row.address)

    # Bare loop: a funded member key, nonces counted locally.
    bare = Account.create()
    with database(app).sessionmaker() as session, session.begin():
        from concord.ledger.encoding import to_bytes32
        from concord.tenancy.models import Organization

        operator_id = session.query(Organization.id).filter(Organization.is_operator.is_(True)).scalar()
        outbox.enqueue(
            session, organization_id=operator_id, contract="Consortium", function="addMember", args=[bare.address, to_bytes32(member_id), 2], purpose="bench"
        )
    worker.drain()
    chain.top_up(bare.address, worker.fee)
    nonce = chain.nonce(bare.address)
    started = time.perf_counter()
    for index in range(count):
        transaction = {
            "to": anchor.address,
            "data": anchor.encode_abi("anchor", args=[_batch(1, index), b"\x01" * 32, 3]),
            "gas": outbox.GAS_LIMITS["anchor"],
            "nonce": nonce + index,
            "chainId": chain.chain_id,
            "value": 0,
            "type": 2,
            **worker.fee,
        }
        tx_hash = chain.send_raw(bare.sign_transaction(transaction).raw_transaction)
        assert chain.receipt(tx_hash, timeout=30)["status"] == 1
    bare_rate = count / (time.perf_counter() - started)

    # Outbox: the member's intents, committed, then drained.
    chain.top_up(factories_address(app, member_id), worker.fee)
    with database(app).sessionmaker() as session, session.begin():
        for index in range(count):
            outbox.enqueue(
                session, organization_id=member_id, contract="ProvenanceAnchor", function="anchor", args=[_batch(2, index), b"\x02" * 32, 3], purpose="bench"
            )
    started = time.perf_counter()
    settled = worker.drain()
    outbox_rate = count / (time.perf_counter() - started)
    assert settled == count, f"only {settled} of {count} intents settled"
    return bare_rate, outbox_rate


def factories_address(app, organization_id):
    from concord.ledger.service import address_of

    with database(app).sessionmaker() as session:
        return address_of(session, organization_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="transactions per side and chain")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        embedded_dir = Path(folder) / "embedded"
        embedded_dir.mkdir()
        app = _app(embedded_dir)
        rows.append(("embedded (eth-tester/py-evm)", *measure(app, runtime.chain(app), args.count)))
        runtime.close(app)
        hardhat_dir = Path(folder) / "hardhat"
        hardhat_dir.mkdir()
        with devnode.hardhat_node(hardhat_dir / "node.log") as url:
            app = _app(hardhat_dir)
            chain = open_chain(url, str(hardhat_dir), funder_key=devnode.HARDHAT_FUNDER_KEY)
            rows.append(("hardhat node (JSON-RPC)", *measure(app, chain, args.count)))
    print(f"Ledger throughput, {args.count} anchor transactions per side, one run, {os.cpu_count()} CPUs")
    print(f"{'chain':32} {'bare web3 tx/s':>15} {'outbox intents/s':>17} {'ratio':>7}")
    for name, bare_rate, outbox_rate in rows:
        print(f"{name:32} {bare_rate:15.1f} {outbox_rate:17.1f} {outbox_rate / bare_rate:7.2f}")


if __name__ == "__main__":
    main()
