"""An anchored event's proof bundle (format `concord-proof-bundle/1`, kind `event`) and the
checks the portal's "Verify" shows: each made with `concord_verify` (the event hash, the
signature, the Merkle proof) and the chain (the member, the anchor, its transaction), as
the standalone `concord-verify` command makes them from the bundle alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from concord_verify import attestation, event_hash, merkle
from concord_verify.ids import to_bytes32
from eth_utils import to_checksum_address
from sqlalchemy.orm import Session

from concord import clock
from concord.errors import Conflict
from concord.ledger import service as ledger
from concord.ledger.artifacts import load_artifact
from concord.ledger.chain import Chain
from concord.provenance import batches
from concord.provenance.models import EpcisEvent
from concord.tenancy.models import Organization

FORMAT = "concord-proof-bundle/1"


class NotAnchoredYet(Conflict):
    title = "Not anchored yet"


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def event_bundle(session: Session, event: EpcisEvent, config: Any, platform: str) -> dict[str, Any]:
    """The proof bundle of an event whose batch is anchored (409 `NotAnchoredYet` saying
    when it will be, otherwise)."""
    found = batches.inclusion(session, event)
    if found is None:
        raise NotAnchoredYet(batches.pending_reason(session, config, event))
    batch = found.batch
    consortium = ledger.deployed_address(session, "Consortium")
    organization = session.get(Organization, event.organization_id)
    assert organization is not None and event.signature is not None  # an anchored event is signed, its organization kept
    domain = attestation.Domain(batch.chain_id, batch.anchor)
    return {
        "format": FORMAT,
        "kind": "event",
        "createdAt": clock.utcnow().isoformat(timespec="seconds").replace("+00:00", "Z"),
        "platform": platform,
        "chain": {"chainId": batch.chain_id, "provenanceAnchor": batch.anchor, "consortium": consortium[1] if consortium else None},
        "organization": {"id": str(organization.id), "name": organization.legal_name, "bytes32": _hex(to_bytes32(organization.id))},
        "event": event.document,
        "context": event.context,
        "eventHashId": event.hash_id,
        "attestation": {"signer": event.signer, "signature": _hex(event.signature), "domain": domain.as_eip712()},
        "batch": {
            "batchId": _hex(to_bytes32(batch.id)),
            "root": batch.root,
            "size": batch.size,
            "leaf": _hex(found.leaf),
            "proof": [_hex(step) for step in found.proof],
            "anchorTransaction": batch.tx_hash,
            "anchorBlock": batch.block_number,
        },
    }


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


def _raw(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def offline_checks(bundle: dict[str, Any]) -> list[Check]:
    """The checks a bundle passes or fails without the chain."""
    return _offline_checks(bundle)[0]


def _offline_checks(bundle: dict[str, Any]) -> tuple[list[Check], bytes | None]:
    """The checks that need no chain; with the leaf recomputed from the event's values."""
    chain, batch, signed = bundle["chain"], bundle["batch"], bundle["attestation"]
    recomputed = event_hash.event_hash_id(bundle["event"], bundle["context"])
    checks = [Check("event-hash", recomputed == bundle["eventHashId"], f"recomputed {recomputed}")]
    domain = attestation.Domain(chain["chainId"], chain["provenanceAnchor"])
    try:
        signer = attestation.recover(domain, recomputed, _raw(bundle["organization"]["bytes32"]), _raw(signed["signature"]))
    except attestation.AttestationError as error:
        checks.append(Check("signature", False, str(error)))
        return checks, None
    checks.append(Check("signature", signer == to_checksum_address(signed["signer"]), f"recovers to {signer}"))
    place = merkle.Placement(chain["chainId"], chain["provenanceAnchor"], _raw(batch["batchId"]))
    leaf = place.leaf(recomputed, _raw(bundle["organization"]["bytes32"]), signer)
    proof = [_raw(step) for step in batch["proof"]]
    reaches = merkle.verify(_raw(batch["root"]), leaf, proof)
    checks.append(
        Check("merkle-proof", reaches, f"{len(proof)} steps from leaf {_hex(leaf)[:18]}… {'reach' if reaches else 'miss'} the root {batch['root'][:18]}…")
    )
    return checks, leaf


def verify_bundle(chain: Chain, bundle: dict[str, Any]) -> list[Check]:
    """Every check of an event bundle, against the chain the platform uses."""
    checks, leaf = _offline_checks(bundle)
    batch, organization = bundle["batch"], _raw(bundle["organization"]["bytes32"])
    signer = to_checksum_address(bundle["attestation"]["signer"])
    consortium = chain.contract(load_artifact("Consortium").abi, bundle["chain"]["consortium"]).functions
    at = int(batch["anchorBlock"])
    member = consortium.organizationOf(signer).call(block_identifier=at) == organization and consortium.isActiveMember(signer).call(block_identifier=at)
    checks.append(
        Check("member", bool(member), f"{signer} {'was' if member else 'was not'} an active member for {bundle['organization']['name']} at block {at}")
    )
    anchor = chain.contract(load_artifact("ProvenanceAnchor").abi, bundle["chain"]["provenanceAnchor"]).functions
    batch_id = _raw(batch["batchId"])
    on_chain = anchor.anchorOf(batch_id).call()
    included = leaf is not None and on_chain[1] != "0x" + "0" * 40 and anchor.verifyInclusion(batch_id, leaf, [_raw(s) for s in batch["proof"]]).call()
    anchored = _hex(on_chain[0]) == batch["root"] and on_chain[4] == organization and on_chain[5] == at and bool(included)
    checks.append(
        Check("anchored", anchored, f"batch {batch['batchId'][:18]}… root {_hex(on_chain[0])[:18]}… at block {on_chain[5]}; verifyInclusion {bool(included)}")
    )
    receipt = chain.receipt(batch["anchorTransaction"])
    confirmed = (
        receipt is not None
        and receipt.get("status") == 1
        and receipt.get("blockNumber") == at
        and to_checksum_address(receipt.get("to")) == to_checksum_address(bundle["chain"]["provenanceAnchor"])
    )
    checks.append(
        Check("anchor-transaction", bool(confirmed), f"{batch['anchorTransaction'][:18]}… {'confirmed' if confirmed else 'not confirmed'} in block {at}")
    )
    return checks
