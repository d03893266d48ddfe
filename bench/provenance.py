"""Provenance: capture throughput, and what one Merkle anchor buys beside one chain
transaction per event.

Three measurements in one run, on the embedded defaults (SQLite, eth-tester/py-evm):

- capture: events/s through `POST /api/v1/epcis/capture` (schema validation, event hash
  IDs, the organization's signature on each event, the rows written and committed) beside
  a bare Flask endpoint that only parses the same JSON documents, and before the ledger is
  deployed (no signature); then the captured events batched, anchored, and their proof
  bundles served;

- the tree at N leaves (default one million): hashing the attested events into leaves,
  building the tree, its memory, proof size (steps and bytes), hashes per verification,
  proofs made and offline verifications (`merkle.verify_event`, from the event's values)
  per second, and a sample of proofs checked by `ProvenanceAnchor.verifyInclusion`;
- the anchoring gain: events made verifiable per second when each event is its own anchor
  transaction (`anchor_proof` with a batch of one, sent by the outbox worker) beside one
  anchor transaction per batch of N, end to end (leaf hashing + tree + the outbox sending
  the root), for several N.

Run: `make bench` (or `.venv/bin/python bench/provenance.py [--leaves N] [--single K]`).
Figures are measured, never asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import logging
import os
import pstats
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tests.factories`, run from anywhere

from concord import migrate
from concord.app import create_app
from concord.db import database
from concord.ledger import outbox, runtime
from concord.ledger import service as ledger_service
from concord.ledger.artifacts import load_artifact
from concord.ledger.deploy import deploy, deployments
from concord.ledger.encoding import to_bytes32
from concord.provenance import batches as provenance_batches
from concord.provenance.models import EpcisEvent
from concord_verify import merkle
from concord_verify.contexts import EPCIS_CONTEXT_URL
from flask import Flask, request

from tests import factories


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _app(folder: Path):
    app = create_app({"SQLALCHEMY_DATABASE_URL": f"sqlite:///{folder / 'bench.db'}", "SECRET_KEY": "bench", "INSTANCE_DIR": str(folder), "TESTING": True})
    migrate.upgrade(database(app).engine)
    return app


def _events(tag: str, count: int) -> list[bytes]:
    """SHA-256 digests standing for the GS1 event hash IDs of `count` events."""
    return [hashlib.sha256(f"{tag} event {i}".encode()).digest() for i in range(count)]


class Bench:
    def __init__(self, app) -> None:
        self.app = app
        self.chain = runtime.chain(app)
        self.worker = outbox.Worker(app, self.chain, receipt_timeout=30)
        with app.test_request_context(), database(app).sessionmaker() as session:
            operator = factories.operator(session)
            self.member = factories.member(session, operator, "supplier", name="Bench Supplier")
            self.member_id = self.member.org.id
            session.commit()

    def deploy_ledger(self) -> None:
        deploy(self.app, self.chain, self.worker)
        self.worker.drain()
        with database(self.app).sessionmaker() as session:
            row = deployments(session, self.chain.chain_id)["ProvenanceAnchor"]
            self.attester = ledger_service.address_of(session, self.member_id)
        self.anchor = self.chain.contract(load_artifact("ProvenanceAnchor").abi, row.address)
        self.organization = to_bytes32(self.member_id)
        self.attester_bytes = bytes.fromhex(self.attester[2:])

    def placement(self, batch_id: uuid.UUID) -> merkle.Placement:
        return merkle.Placement(self.chain.chain_id, self.anchor.address, to_bytes32(batch_id))

    def enqueue_anchor(self, batch_id: uuid.UUID, root: bytes, size: int) -> None:
        with database(self.app).sessionmaker() as session, session.begin():
            ledger_service.anchor_proof(session, self.member_id, batch_id, root.hex(), "bench", ("batch", batch_id), batch_size=size)

    def anchor_each(self, count: int) -> float:
        """Events/s when every event is its own anchor transaction (a batch of one)."""
        digests = _events("single", count)
        started = time.perf_counter()
        for digest in digests:
            batch_id = uuid.uuid4()
            leaf = self.placement(batch_id).leaf(digest, self.organization, self.attester_bytes)
            self.enqueue_anchor(batch_id, leaf, 1)  # a tree of one leaf: its root is the leaf
        settled = self.worker.drain()
        elapsed = time.perf_counter() - started
        assert settled == count, f"only {settled} of {count} anchors settled"
        return count / elapsed

    def anchor_batch(self, digests: list[bytes]) -> dict:
        """Leaf hashing, tree, and one anchor transaction for a batch, timed apart."""
        batch_id = uuid.uuid4()
        place = self.placement(batch_id)
        rss_before = _rss_mb()
        started = time.perf_counter()
        leaves = place.leaves((digest, self.organization, self.attester_bytes) for digest in digests)
        hashed = time.perf_counter()
        tree = merkle.MerkleTree(leaves)
        built = time.perf_counter()
        self.enqueue_anchor(batch_id, tree.root, len(tree))
        assert self.worker.drain() == 1
        anchored = time.perf_counter()
        return {
            "size": len(digests),
            "place": place,
            "tree": tree,
            "leaves": leaves,
            "hash_s": hashed - started,
            "build_s": built - hashed,
            "anchor_s": anchored - built,
            "total_s": anchored - started,
            "rss_growth_mb": _peak_rss_mb() - rss_before,
        }


def capture_documents(count: int, events: int, first: int = 0) -> list[bytes]:
    """`count` EPCIS documents of `events` ObjectEvents each, as JSON bodies (the first
    document numbered `first`)."""
    bodies = []
    for d in range(first, first + count):
        event_list = [
            {
                "type": "ObjectEvent",
                "eventID": f"urn:uuid:{uuid.UUID(int=d * events + e)}",
                "eventTime": f"2024-01-05T10:{e // 60:02d}:{e % 60:02d}.000+01:00",
                "eventTimeZoneOffset": "+01:00",
                "epcList": [f"urn:epc:id:sgtin:4012345.011111.{d * events + e}"],
                "action": "OBSERVE",
                "bizStep": "shipping",
                "disposition": "in_transit",
                "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
                "bizTransactionList": [{"type": "po", "bizTransaction": f"urn:epc:id:gdti:4012345.00001.{d}"}],
            }
            for e in range(events)
        ]
        document = {"@context": [EPCIS_CONTEXT_URL], "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2024-01-05T10:00:00.000Z"}
        bodies.append(json.dumps(document | {"epcisBody": {"eventList": event_list}}).encode())
    return bodies


def capture_figures(bench: Bench, bodies: list[bytes], events: int, profile: bool) -> dict:
    """Events/s captured through the API beside a bare endpoint parsing the same bodies."""
    bare = Flask("bare")

    @bare.post("/capture")
    def parse():
        return {"events": len(request.get_json()["epcisBody"]["eventList"])}, 202

    headers = {**bench.member.headers, "Content-Type": "application/json"}
    bare_client, client = bare.test_client(), bench.app.test_client()
    started = time.perf_counter()
    for body in bodies:
        assert bare_client.post("/capture", data=body, headers=headers).status_code == 202
    bare_s = time.perf_counter() - started
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    for body in bodies:
        response = client.post("/api/v1/epcis/capture", data=body, headers=headers)
        assert response.status_code == 202, response.get_json()
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    concord_s = time.perf_counter() - started
    total = len(bodies) * events
    return {"documents": len(bodies), "events": total, "bare_rate": total / bare_s, "rate": total / concord_s}


def proof_figures(bench: Bench, batch_size: int, samples: int) -> dict:
    """Every captured event batched (`close_due`, the round job) and anchored, then the proof
    bundles of a sample of them fetched through GET /api/v1/epcis/events/{eventID}/proof."""
    bench.app.config.update(PROVENANCE_BATCH_SIZE=batch_size, PROVENANCE_BATCH_AGE_SECONDS=0)
    started = time.perf_counter()
    closed = provenance_batches.close_due(bench.app)
    close_s = time.perf_counter() - started
    bench.worker.drain()
    with database(bench.app).sessionmaker() as session:
        event_ids = session.execute(sa.select(EpcisEvent.event_id)).scalars().all()
    picks = random.Random(11).sample(event_ids, min(samples, len(event_ids)))
    client = bench.app.test_client()
    started = time.perf_counter()
    for event_id in picks:
        response = client.get(f"/api/v1/epcis/events/{quote(event_id, safe='')}/proof", headers=bench.member.headers)
        assert response.status_code == 200, response.get_json()
    proof_s = time.perf_counter() - started
    return {"events": len(event_ids), "batches": closed, "close_s": close_s, "proof_ms": proof_s / len(picks) * 1000, "samples": len(picks)}


def tree_figures(bench: Bench, batch: dict, digests: list[bytes], samples: int) -> dict:
    tree: merkle.MerkleTree = batch["tree"]
    place: merkle.Placement = batch["place"]
    picks = random.Random(7).sample(range(len(digests)), min(samples, len(digests)))
    started = time.perf_counter()
    proofs = [tree.proof(batch["leaves"][i]) for i in picks]
    proof_rate = len(picks) / (time.perf_counter() - started)
    steps = [len(p) for p in proofs]
    started = time.perf_counter()
    ok = all(merkle.verify_event(tree.root, place, digests[i], bench.organization, bench.attester_bytes, p) for i, p in zip(picks, proofs, strict=True))
    verify_rate = len(picks) / (time.perf_counter() - started)
    on_chain = picks[:100]
    started = time.perf_counter()
    chain_ok = all(bench.anchor.functions.verifyInclusion(place.batch_id, batch["leaves"][i], tree.proof(batch["leaves"][i])).call() for i in on_chain)
    chain_rate = len(on_chain) / (time.perf_counter() - started)
    gas = bench.anchor.functions.verifyInclusion(place.batch_id, batch["leaves"][picks[0]], proofs[0]).estimate_gas()
    return {
        "steps": (min(steps), max(steps)),
        "proof_rate": proof_rate,
        "verify_rate": verify_rate,
        "verified": ok,
        "chain_ok": chain_ok,
        "chain_rate": chain_rate,
        "chain_checked": len(on_chain),
        "gas": gas,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1_000_000, help="leaves of the largest batch")
    parser.add_argument("--single", type=int, default=300, help="events anchored one transaction each")
    parser.add_argument("--samples", type=int, default=20_000, help="proofs made and verified offline")
    parser.add_argument("--documents", type=int, default=100, help="EPCIS documents captured")
    parser.add_argument("--events", type=int, default=100, help="events per captured document")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the capture")
    args = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    sizes = sorted({n for n in (1_000, 10_000, 100_000) if n < args.leaves} | {args.leaves})
    with tempfile.TemporaryDirectory() as folder:
        app = _app(Path(folder))
        bench = Bench(app)
        # Before the ledger is deployed events are stored unsigned (the batching job signs
        # them): the difference is what signing costs a capture.
        unsigned = capture_figures(bench, capture_documents(args.documents, args.events), args.events, profile=False)
        bench.deploy_ledger()
        capture = capture_figures(bench, capture_documents(args.documents, args.events, first=args.documents), args.events, args.profile)
        proofs = proof_figures(bench, 1000, 200)
        single_rate = bench.anchor_each(args.single)
        batches = []
        for size in sizes:
            digests = _events(f"batch {size}", size)
            batches.append(batch := bench.anchor_batch(digests))
            if size == args.leaves:
                figures = tree_figures(bench, batch, digests, args.samples)
            if size != args.leaves:
                batch.pop("tree"), batch.pop("leaves")
        runtime.close(app)

    big = batches[-1]
    low, high = figures["steps"]
    print(f"Provenance batches on the embedded chain (eth-tester/py-evm), one run, {os.cpu_count()} CPUs")
    print()
    print(f"Capture: {capture['documents']} documents of {capture['events'] // capture['documents']} events, one at a time (Flask test client)")
    print(f"  {'bare Flask endpoint (JSON parse only)':62} {capture['bare_rate']:12,.0f} events/s")
    print(f"  {'POST /api/v1/epcis/capture, ledger not deployed (unsigned)':62} {unsigned['rate']:12,.0f} events/s")
    print(
        f"  {'POST /api/v1/epcis/capture (validated, hashed, signed, stored)':62} {capture['rate']:12,.0f} events/s  (the bare endpoint: {capture['bare_rate'] / capture['rate']:,.0f}x as many)"
    )
    print()
    print(
        f"Batches of captured events: {proofs['events']:,} events closed into {proofs['batches']} batches of 1,000 (round job) in {proofs['close_s']:.2f} s, anchored"
    )
    print(
        f"  {'GET /api/v1/epcis/events/{eventID}/proof':62} {proofs['proof_ms']:12.1f} ms per bundle ({proofs['samples']} fetched, tree rebuilt from the batch's rows)"
    )
    print()
    print(f"Tree of {big['size']:,} leaves")
    rows = [
        ("leaf hashing (2 keccak256 each)", f"{big['hash_s']:.2f} s  ({big['size'] / big['hash_s']:,.0f} leaves/s)"),
        ("tree build (sort + n-1 pair hashes)", f"{big['build_s']:.2f} s  ({big['size'] / big['build_s']:,.0f} leaves/s)"),
        ("tree storage (2n-1 nodes of 32 bytes)", f"{(2 * big['size'] - 1) * 32 / 2**20:.1f} MB"),
        ("peak RSS growth (leaves + tree)", f"{big['rss_growth_mb']:.1f} MB"),
        ("proof size", f"{low}-{high} steps, {low * 32}-{high * 32} bytes"),
        ("hashes per verification", f"{low + 2}-{high + 2} keccak256 (2 for the leaf, 1 per step)"),
        ("proofs made", f"{figures['proof_rate']:,.0f} /s"),
        ("offline verifications (from event values)", f"{figures['verify_rate']:,.0f} /s  (all valid: {figures['verified']})"),
        ("verifyInclusion calls (eth_call)", f"{figures['chain_rate']:,.0f} /s  ({figures['chain_checked']} checked, all true: {figures['chain_ok']})"),
        ("verifyInclusion gas (estimate)", f"{figures['gas']:,}"),
    ]
    for name, value in rows:
        print(f"  {name:44} {value}")
    print()
    print("Events made verifiable per second: one anchor transaction per event vs one per batch (outbox worker, same chain)")
    print(f"  {'anchoring':28} {'hash s':>8} {'tree s':>8} {'anchor s':>9} {'events/s':>12} {'gain':>9}")
    print(f"  {'1 tx per event':28} {'':>8} {'':>8} {args.single / single_rate:9.2f} {single_rate:12,.1f} {1:9.0f}x")
    for batch in batches:
        rate = batch["size"] / batch["total_s"]
        label = f"1 tx per {batch['size']:,} events"
        print(f"  {label:28} {batch['hash_s']:8.2f} {batch['build_s']:8.2f} {batch['anchor_s']:9.3f} {rate:12,.1f} {rate / single_rate:9,.0f}x")


if __name__ == "__main__":
    main()
