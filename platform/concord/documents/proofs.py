"""A document's proof bundle (format `concord-proof-bundle/1`, kind `document`): its file and
the anchoring of its SHA-256 alone on ProvenanceAnchor (the batch id is the document's id,
the root its SHA-256, the proof empty), for `concord-verify` to check without Concord."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from concord_verify.bundle import FORMAT
from concord_verify.ids import to_bytes32
from sqlalchemy.orm import Session

from concord import clock, files
from concord.documents import service
from concord.errors import Conflict
from concord.ledger import service as ledger
from concord.ledger.models import IntentState
from concord.policy import Principal
from concord.tenancy.models import Organization


class NotAnchoredYet(Conflict):
    title = "Not anchored yet"


def bundle(session: Session, principal: Principal, document_id: uuid.UUID, platform: str) -> dict[str, Any]:
    """The proof bundle of a document whose anchoring is confirmed (409 until it is)."""
    document = service.get(session, principal, document_id)
    intent = service.anchoring(session, document.id)
    anchor, consortium = ledger.deployed_address(session, "ProvenanceAnchor"), ledger.deployed_address(session, "Consortium")
    if intent is None or intent.state != IntentState.CONFIRMED or intent.tx_hash is None or anchor is None or consortium is None:
        state = intent.state if intent is not None else "not queued"
        raise NotAnchoredYet(f"The document's SHA-256 is not anchored yet (its anchoring transaction is {state}); try again once it is confirmed.")
    organization = session.get(Organization, document.organization_id)
    assert organization is not None
    content = files.content_of(session, document.file_sha256)
    return {
        "format": FORMAT,
        "kind": "document",
        "createdAt": clock.utcnow().isoformat(timespec="seconds").replace("+00:00", "Z"),
        "platform": platform,
        "chain": {"chainId": anchor[0], "provenanceAnchor": anchor[1], "consortium": consortium[1]},
        "organization": {"id": str(organization.id), "name": organization.legal_name, "bytes32": "0x" + to_bytes32(organization.id).hex()},
        "document": {
            "id": str(document.id),
            "kind": str(document.kind),
            "filename": document.file_name,
            "mediaType": files.media_type_of(content) or "application/octet-stream",
            "sha256": document.file_sha256,
            "contentBase64": base64.b64encode(content).decode(),
            "issuer": document.issuer,
            "validFrom": document.valid_from.isoformat(),
        }
        | ({"validUntil": document.valid_until.isoformat()} if document.valid_until else {}),
        "batch": {
            "batchId": "0x" + to_bytes32(document.id).hex(),
            "root": "0x" + document.file_sha256,
            "size": 1,
            "proof": [],
            "anchorTransaction": intent.tx_hash,
            "anchorBlock": intent.block_number,
        },
    }
