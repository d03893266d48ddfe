"""Signed events in Merkle batches, their roots anchored on ProvenanceAnchor.

- **Signing**: an event is signed when it is stored, with its organization's custodial
  chain key, in the domain of the current ProvenanceAnchor deployment
  (`concord_verify.attestation`). Before the contracts are deployed (or for an organization
  without a key yet) it is stored unsigned; the batching job signs it before it batches it,
  and signs anew an event signed for a deployment that is no longer the current one.
- **Batches**: an organization's events not in a batch form its open batch. The round job
  `close_due` closes it once it holds `PROVENANCE_BATCH_SIZE` events or its oldest event is
  `PROVENANCE_BATCH_AGE_SECONDS` old: the events get the batch, the batch its Merkle root,
  and the anchor intent is queued, all in one transaction. Two workers cannot put one event
  in two batches: an event is claimed by `UPDATE ... WHERE batch_id IS NULL`, and a batch
  whose claim came up short rolls back (PostgreSQL also skips rows another worker locked).
- **Confirmation** (`on_confirmed`) marks the batch anchored with its transaction and block.
  A **failed** anchor intent loses nothing: the batch is marked failed and its events go
  back to the open batch, to be closed again in a new batch (a new batch id: the chain
  refuses nothing about the failed one, which was never anchored), once a batch age has
  passed since the failure (a suspended member is not retried every round).
- **Proofs** are recomputed from the batch's events (the tree of 1,000 events takes a few
  milliseconds), never stored.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from concord_verify import attestation, merkle
from concord_verify.ids import to_bytes32
from flask import Flask
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from concord import clock
from concord.audit.service import Action, record
from concord.db import database
from concord.ledger import service as ledger
from concord.ledger.keys import SigningKeyError
from concord.ledger.models import ChainIntent, IntentState
from concord.provenance.models import BatchState, EpcisEvent, ProvenanceBatch

log = logging.getLogger(__name__)
ANCHOR = "ProvenanceAnchor"
SUBJECT = "provenance_batch"
_FINISHED_BADLY = (IntentState.FAILED, IntentState.SKIPPED)


def current_domain(session: Session) -> attestation.Domain | None:
    """The attestation domain of the current ProvenanceAnchor deployment (None before one)."""
    deployed = ledger.deployed_address(session, ANCHOR)
    return attestation.Domain(*deployed) if deployed is not None else None


def sign_events(session: Session, organization_id: uuid.UUID, rows: list[EpcisEvent], domain: attestation.Domain | None = None) -> int:
    """Sign the rows for their organization in the current domain (nothing without a
    deployment or a key); returns how many were signed."""
    domain = domain or current_domain(session)
    if domain is None or not rows:
        return 0
    try:
        account = attestation.KeySigner(bytes(ledger.signer(session, organization_id).key))
    except SigningKeyError:
        return 0
    for row in rows:
        signed = attestation.sign(account, domain, row.hash_id, organization_id)
        row.signer, row.signature = signed.signer, signed.signature
        row.signed_chain_id, row.signed_anchor = domain.chain_id, domain.verifying_contract
    return len(rows)


def placement(batch: ProvenanceBatch) -> merkle.Placement:
    return merkle.Placement(batch.chain_id, batch.anchor, to_bytes32(batch.id))


def _tree(session: Session, batch: ProvenanceBatch) -> merkle.MerkleTree:
    rows = session.execute(sa.select(EpcisEvent.hash_id, EpcisEvent.signer).where(EpcisEvent.batch_id == batch.id)).all()
    return merkle.build(placement(batch), ((hash_id, batch.organization_id, signer) for hash_id, signer in rows))


# -- closing batches ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenBatch:
    """An organization's events not in a batch yet."""

    organization_id: uuid.UUID
    size: int
    oldest: datetime

    def closes_at(self, age: timedelta) -> datetime:
        return self.oldest + age


def open_batches(session: Session, organization_id: uuid.UUID | None = None) -> list[OpenBatch]:
    query = sa.select(EpcisEvent.organization_id, sa.func.count(), sa.func.min(EpcisEvent.record_time)).where(EpcisEvent.batch_id.is_(None))
    if organization_id is not None:
        query = query.where(EpcisEvent.organization_id == organization_id)
    return [OpenBatch(org, size, oldest) for org, size, oldest in session.execute(query.group_by(EpcisEvent.organization_id))]


def close_batch(session: Session, organization_id: uuid.UUID, limit: int, domain: attestation.Domain) -> ProvenanceBatch | None:
    """Close the organization's open batch (its `limit` oldest events) and queue its
    anchor, in the caller's transaction (the caller commits; None: nothing to close, or
    another worker claimed some of the events first and the caller must roll back)."""
    rows = list(
        session.execute(
            sa.select(EpcisEvent)
            .where(EpcisEvent.organization_id == organization_id, EpcisEvent.batch_id.is_(None))
            .order_by(EpcisEvent.record_time, EpcisEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    if not rows:
        return None
    stale = [row for row in rows if row.signature is None or (row.signed_chain_id, row.signed_anchor) != (domain.chain_id, domain.verifying_contract)]
    if stale and sign_events(session, organization_id, stale, domain) == 0:
        return None  # the organization has no key yet: its events wait
    batch = ProvenanceBatch(
        id=uuid.uuid4(),
        organization_id=organization_id,
        state=BatchState.ANCHORING,
        chain_id=domain.chain_id,
        anchor=domain.verifying_contract,
        root="",
        size=len(rows),
        closed_at=clock.utcnow(),
    )
    tree = merkle.build(placement(batch), ((row.hash_id, organization_id, cast(str, row.signer)) for row in rows))
    batch.root = "0x" + tree.root.hex()
    session.add(batch)
    session.flush()
    ids = [row.id for row in rows]
    session.expire_all()  # the rows are claimed below, by id, not through the identity map
    claimed = 0
    for start in range(0, len(ids), 500):
        result = session.execute(
            sa.update(EpcisEvent).where(EpcisEvent.id.in_(ids[start : start + 500]), EpcisEvent.batch_id.is_(None)).values(batch_id=batch.id),
            execution_options={"synchronize_session": False},
        )
        claimed += cast(CursorResult[Any], result).rowcount  # an UPDATE's result (SQLAlchemy types it as Result)
    if claimed != len(ids):
        return None  # another worker batched some of these events meanwhile
    intent = ledger.anchor_proof(
        session, organization_id, batch.id, batch.root, f"Anchor a batch of {batch.size} provenance events", (SUBJECT, batch.id), batch_size=batch.size
    )
    session.flush()
    batch.intent_uid = intent.uid
    _audit(session, Action.PROVENANCE_BATCH_CLOSED, batch, after={"root": batch.root, "size": batch.size})
    return batch


def _audit(session: Session, action: Action, batch: ProvenanceBatch, **details: Any) -> None:
    """A batch's change in the audit trail (the worker's doing: no actor)."""
    record(session, action, actor=None, subject_org_id=batch.organization_id, object_type=SUBJECT, object_id=batch.id, **details)


def _is_due(session: Session, organization_id: uuid.UUID, size: int, age: timedelta) -> bool:
    """Whether the organization's open batch is full or old enough, and no anchor of its
    failed within the batch age (a suspended member's events wait, not retried each round)."""
    now = clock.utcnow()
    waiting = open_batches(session, organization_id)
    if not waiting or (waiting[0].size < size and waiting[0].closes_at(age) > now):
        return False
    failed_lately = sa.select(ProvenanceBatch.id).where(
        ProvenanceBatch.organization_id == organization_id, ProvenanceBatch.state == BatchState.FAILED, ProvenanceBatch.failed_at > now - age
    )
    return session.execute(failed_lately.limit(1)).first() is None


def close_due(app: Flask) -> int:
    """Round job: settle batches whose anchor failed, then close every due open batch.
    Returns how many batches were closed."""
    size = int(app.config["PROVENANCE_BATCH_SIZE"])
    age = timedelta(seconds=float(app.config["PROVENANCE_BATCH_AGE_SECONDS"]))
    closed = 0
    with app.app_context(), database(app).sessionmaker() as session:  # the key ring is the app's
        release_failed(session)
        session.commit()
        domain = current_domain(session)
        if domain is None:
            return 0
        for organization_id in [due.organization_id for due in open_batches(session)]:
            session.rollback()
            while _is_due(session, organization_id, size, age):
                if close_batch(session, organization_id, size, domain) is None:
                    session.rollback()
                    break
                session.commit()
                closed += 1
            session.rollback()
    return closed


def release_failed(session: Session) -> int:
    """Batches whose anchor intent failed: marked failed, their events back in the open
    batch (the caller commits). Returns how many were released."""
    failed = session.execute(
        sa.select(ProvenanceBatch, ChainIntent)
        .join(ChainIntent, ChainIntent.uid == ProvenanceBatch.intent_uid)
        .where(ProvenanceBatch.state == BatchState.ANCHORING, ChainIntent.state.in_(_FINISHED_BADLY))
        .with_for_update(of=ProvenanceBatch, skip_locked=True)
    ).all()
    for batch, intent in failed:
        batch.state, batch.failed_at = BatchState.FAILED, clock.utcnow()
        batch.error = intent.last_error or intent.revert_reason or str(intent.state)
        session.execute(sa.update(EpcisEvent).where(EpcisEvent.batch_id == batch.id).values(batch_id=None), execution_options={"synchronize_session": False})
        _audit(session, Action.PROVENANCE_BATCH_FAILED, batch, error=batch.error)
    return len(failed)


def on_confirmed(session: Session, intent: ChainIntent) -> None:
    """Outbox confirmation handler: the batch's root is on chain (registered by bootstrap)."""
    if intent.subject_type != SUBJECT or intent.function != "anchor":
        return
    batch = session.get(ProvenanceBatch, uuid.UUID(intent.subject_id), with_for_update=True)
    if batch is None or batch.intent_uid != intent.uid or batch.state == BatchState.ANCHORED:
        return
    batch.state = BatchState.ANCHORED
    batch.tx_hash, batch.block_number, batch.anchored_at = intent.tx_hash, intent.block_number, clock.utcnow()
    _audit(session, Action.PROVENANCE_BATCH_ANCHORED, batch, after={"root": batch.root, "tx_hash": batch.tx_hash, "block_number": batch.block_number})


# -- proofs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inclusion:
    """An anchored event's place in its batch."""

    batch: ProvenanceBatch
    leaf: bytes
    proof: list[bytes]


def inclusion(session: Session, event: EpcisEvent) -> Inclusion | None:
    """The proof of an event whose batch is anchored (None otherwise)."""
    batch = session.get(ProvenanceBatch, event.batch_id) if event.batch_id is not None else None
    if batch is None or batch.state != BatchState.ANCHORED or event.signer is None:
        return None
    leaf = placement(batch).leaf(event.hash_id, event.organization_id, event.signer)
    return Inclusion(batch, leaf, _tree(session, batch).proof(leaf))


def pending_reason(session: Session, app_config, event: EpcisEvent) -> str:
    """Why an event has no proof yet, and when it will have one."""
    batch = session.get(ProvenanceBatch, event.batch_id) if event.batch_id is not None else None
    if batch is not None:
        return f"The event is in batch {batch.id}, closed at {batch.closed_at.isoformat()}; its root is on its way to the chain. Ask again in a few seconds."
    if current_domain(session) is None:
        return "The ledger's contracts are not deployed yet: the event will be batched and anchored once they are."
    age = timedelta(seconds=float(app_config["PROVENANCE_BATCH_AGE_SECONDS"]))
    waiting = next(iter(open_batches(session, event.organization_id)), None)
    closes = waiting.closes_at(age) if waiting is not None else clock.utcnow()
    return (
        f"The event is in your organization's open batch, which closes by {closes.isoformat()} "
        f"(or sooner, at {app_config['PROVENANCE_BATCH_SIZE']} events); its proof is ready once the batch's root is anchored."
    )
