"""Proof bundles built from their pieces for the verifier's tests: EPCIS events of the
standard's examples, signed with organizations' custodial keys, batched, anchored on the
app's embedded chain through the outbox; a document anchored alone.

What is on chain after `build` (in this order): batches A and B (the supplier's events,
anchored by the supplier), batch C (the carrier's, anchored by the carrier), then the
carrier is suspended, then batch D (a carrier event signed before the suspension with two
supplier events, anchored by the supplier), then the supplier's ISO 9001 certificate."""

from __future__ import annotations

import base64
import copy
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from concord.db import database
from concord.ledger import keys
from concord.ledger import service as ledger_service
from concord.ledger.deploy import deployments
from concord.ledger.models import ChainIntent
from concord_verify import attestation, event_hash, merkle
from concord_verify.ids import to_bytes32

from tests.provenance import examples

CREATED_AT = "2026-12-03T16:00:00Z"
DOCUMENT = b"%PDF-1.7\n% ISO 9001:2015 certificate of Supplier One Ltd, issued by Veritas Certification\n%%EOF\n"
# (example file, index of the event in it): events with quantities, bizSteps and time zone offsets.
BATCH_A = [
    ("SensorDataExample8.jsonld", 0),
    ("Example_9.6.4-TransformationEvent.jsonld", 0),
    ("Example_9.6.2-ObjectEvent.jsonld", 0),
    ("Example_9.6.3-AggregationEvent.jsonld", 0),
    ("SensorDataExample4.jsonld", 0),
]
BATCH_B = [
    ("SensorDataExample6.jsonld", 0),
    ("Example-Type-sourceOrDestination,measurement,bizTransaction.jsonld", 0),
    ("aggregation_event_all_possible_fields.jsonld", 0),
]
BATCH_C = [("Example_9.6.2-ObjectEventWithDigitalLink.jsonld", 0), ("Example_9.6.3-AggregationEventWithDigitalLink.jsonld", 0)]
BATCH_D_CARRIER = ("Example_9.6.4-TransformationEventWithDigitalLink.jsonld", 0)
BATCH_D_SUPPLIER = [("object_event_all_possible_fields.jsonld", 0), ("SensorDataExample4.jsonld", 0)]


@dataclass
class Proofs:
    """The bundles (as JSON values) and what a test needs to corrupt them."""

    bundles: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    contracts: dict[str, str] = field(default_factory=dict)
    token: str = ""
    """An API token for the platform's JSON-RPC endpoint (the auditor's)."""


def epcis_event(name: str, index: int) -> tuple[dict[str, Any], Any]:
    """An example's event (its eventID made its hash ID) and its document's @context."""
    document = examples.load(name)
    event = copy.deepcopy(examples.events_of(document)[index])
    context = document.get("@context")
    event["eventID"] = event_hash.event_hash_id(event, context)
    return event, context


class _Builder:
    def __init__(self, app, world, worker) -> None:
        self.app, self.world, self.worker = app, world, worker
        self.chain_id = worker.chain.chain_id
        with database(app).sessionmaker() as session:
            rows = deployments(session, self.chain_id)
            self.anchor, self.consortium = rows["ProvenanceAnchor"].address, rows["Consortium"].address
            ring = keys.KeyRing.of(app)
            self.signers = {m.org.id: keys.signer_for(session, ring, m.org.id) for m in (world.supplier, world.carrier)}
        self.domain = attestation.Domain(self.chain_id, self.anchor)

    def sign(self, member, pieces: list[tuple[str, int]]) -> list[tuple[Any, dict[str, Any], Any, attestation.Attestation]]:
        signed = []
        for name, index in pieces:
            event, context = epcis_event(name, index)
            signed.append((member, event, context, attestation.sign(self.signers[member.org.id], self.domain, event["eventID"], member.org.id)))
        return signed

    def anchor_batch(self, anchoring_member, signed: list) -> list[dict[str, Any]]:
        batch_id = uuid.uuid4()
        place = merkle.Placement(self.chain_id, self.anchor, to_bytes32(batch_id))
        tree = merkle.MerkleTree(place.leaf(s.event_hash, s.organization_id, s.signer) for *_, s in signed)
        intent = self._anchor(anchoring_member, batch_id, tree.root.hex(), len(tree))
        bundles = []
        for member, event, context, signature in signed:
            leaf = place.leaf(signature.event_hash, signature.organization_id, signature.signer)
            bundles.append(
                {
                    "format": "concord-proof-bundle/1",
                    "kind": "event",
                    "createdAt": CREATED_AT,
                    "platform": "http://concord.test",
                    "chain": self._chain(),
                    "organization": _organization(member),
                    "event": event,
                    "context": context,
                    "eventHashId": event["eventID"],
                    "attestation": {"signer": signature.signer, "signature": "0x" + signature.signature.hex(), "domain": self.domain.as_eip712()},
                    "batch": {**_batch(batch_id, tree.root, len(tree), intent), "leaf": "0x" + leaf.hex(), "proof": ["0x" + p.hex() for p in tree.proof(leaf)]},
                }
            )
        return bundles

    def _anchor(self, member, batch_id: uuid.UUID, root_hex: str, size: int) -> ChainIntent:
        with database(self.app).sessionmaker() as session, session.begin():
            queued = ledger_service.anchor_proof(session, member.org.id, batch_id, root_hex, "Anchor a provenance batch", ("batch", batch_id), batch_size=size)
            session.flush()
            seq = queued.seq
        self.worker.drain()
        with database(self.app).sessionmaker() as session:
            intent = session.get_one(ChainIntent, seq)
            assert intent.block_number is not None and intent.receipt_status == 1, intent.last_error
            session.expunge(intent)
            return intent

    def suspend(self, member) -> None:
        with database(self.app).sessionmaker() as session, session.begin():
            ledger_service.change_membership(session, session.merge(member.org), suspend=True)
        self.worker.drain()

    def document(self, member) -> dict[str, Any]:
        digest = hashlib.sha256(DOCUMENT).hexdigest()
        batch_id = uuid.uuid4()
        intent = self._anchor(member, batch_id, digest, 1)
        return {
            "format": "concord-proof-bundle/1",
            "kind": "document",
            "createdAt": CREATED_AT,
            "platform": "http://concord.test",
            "chain": self._chain(),
            "organization": _organization(member),
            "document": document_json(),
            "batch": {**_batch(batch_id, bytes.fromhex(digest), 1, intent), "proof": []},
        }

    def _chain(self) -> dict[str, Any]:
        return {"chainId": self.chain_id, "provenanceAnchor": self.anchor, "consortium": self.consortium}


def document_json() -> dict[str, Any]:
    """The `document` of a bundle of DOCUMENT, an ISO 9001 certificate."""
    return {
        "id": str(uuid.uuid4()),
        "kind": "iso_9001",
        "filename": "iso-9001-certificate.pdf",
        "mediaType": "application/pdf",
        "sha256": hashlib.sha256(DOCUMENT).hexdigest(),
        "contentBase64": base64.b64encode(DOCUMENT).decode(),
        "issuer": "Veritas Certification",
        "validFrom": "2026-01-01",
        "validUntil": "2028-12-31",
    }


def _organization(member) -> dict[str, Any]:
    return {"id": str(member.org.id), "name": member.org.legal_name, "bytes32": "0x" + to_bytes32(member.org.id).hex()}


def _batch(batch_id: uuid.UUID, root: bytes, size: int, intent: ChainIntent) -> dict[str, Any]:
    return {
        "batchId": "0x" + to_bytes32(batch_id).hex(),
        "root": "0x" + root.hex(),
        "size": size,
        "anchorTransaction": intent.tx_hash,
        "anchorBlock": intent.block_number,
    }


def build(app, world, worker) -> Proofs:
    """Everything the module docstring lists, on chain, and the bundles of it."""
    builder = _Builder(app, world, worker)
    supplier, carrier = world.supplier, world.carrier
    proofs = Proofs(contracts={"ProvenanceAnchor": builder.anchor, "Consortium": builder.consortium})
    proofs.members = {
        label: {**_organization(m), "address": m.signing_address(app)} for label, m in (("supplier", supplier), ("carrier", carrier), ("buyer", world.buyer))
    }
    proofs.bundles["A"] = builder.anchor_batch(supplier, builder.sign(supplier, BATCH_A))
    proofs.bundles["B"] = builder.anchor_batch(supplier, builder.sign(supplier, BATCH_B))
    proofs.bundles["C"] = builder.anchor_batch(carrier, builder.sign(carrier, BATCH_C))
    signed_before = builder.sign(carrier, [BATCH_D_CARRIER])
    builder.suspend(carrier)
    proofs.bundles["D"] = builder.anchor_batch(supplier, signed_before + builder.sign(supplier, BATCH_D_SUPPLIER))
    proofs.document = builder.document(supplier)
    return proofs
