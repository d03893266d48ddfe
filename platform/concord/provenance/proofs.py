"""An anchored event's proof bundle (format `concord-proof-bundle/1`, kind `event`): what
the standalone `concord-verify` checks, and the portal's "Verify" with it (`verify`)."""

from __future__ import annotations

from typing import Any

from concord_verify import attestation, checks
from concord_verify.ids import to_bytes32
from sqlalchemy.orm import Session

from concord import clock
from concord.errors import Conflict
from concord.ledger import rpc_api
from concord.ledger import service as ledger
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


def verify(chain: Chain, bundle: dict[str, Any]) -> list[checks.Result]:
    """Every check `concord-verify` makes of the bundle, against the platform's chain."""
    return checks.run(bundle, rpc_api.InProcessClient(chain))[1]
