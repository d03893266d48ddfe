"""Reading ProvenanceAnchor back: what the chain holds for one batch id (a document's
SHA-256, an audit trail head, a Merkle root), as a typed record other domains compare
with their own rows. Only this package names the contract's functions."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session
from web3.types import BlockIdentifier

from concord.ledger.artifacts import load_artifact
from concord.ledger.chain import Chain
from concord.ledger.encoding import to_bytes32
from concord.ledger.models import ContractDeployment

CONTRACT = "ProvenanceAnchor"
_ZERO_ADDRESS = "0x" + "0" * 40


@dataclass(frozen=True)
class AnchorOnChain:
    """What ProvenanceAnchor holds under one batch id."""

    root: str  # hex, without 0x
    anchored_by: str
    batch_size: int
    anchored_at: int
    block_number: int


def reader(session: Session, chain: Chain, *, block: BlockIdentifier = "latest") -> Callable[[uuid.UUID], AnchorOnChain | None] | None:
    """A reader of anchors by batch id at `block` (None when the contract is not deployed on
    this chain); it answers None for a batch id nothing was anchored under."""
    deployment = session.get(ContractDeployment, (chain.chain_id, CONTRACT))
    if deployment is None:
        return None
    contract = chain.contract(load_artifact(deployment.artifact).abi, deployment.address)

    def read(batch_id: uuid.UUID) -> AnchorOnChain | None:
        root, anchored_by, batch_size, anchored_at, _organization, block_number = contract.functions.anchorOf(to_bytes32(batch_id)).call(block_identifier=block)
        if anchored_by == _ZERO_ADDRESS:
            return None
        return AnchorOnChain(bytes(root).hex(), anchored_by, int(batch_size), int(anchored_at), int(block_number))

    return read
