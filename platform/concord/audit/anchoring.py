"""The audit trail's head, anchored on chain on a schedule, and checked back.

A round job of the ledger worker (`anchor_head`) anchors the hash of the trail's latest
entry in ProvenanceAnchor with the operator's key, at most every AUDIT_ANCHOR_MINUTES and
only when the trail moved since the last anchor (its own bookkeeping aside: the anchoring's
audit entry and the confirmation of an anchoring transaction). Each anchor is a row naming
the entry (seq and id) and the hash anchored; its batch id on chain is the row's id.

`verify_anchors` is what `concord audit verify` adds to the recomputation of the chain:
each anchored entry must still have the anchored hash, and the chain must hold it. A rewrite
that recomputed every hash after it still shows there, between the last anchor that holds
and the first that does not.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from concord import clock, db
from concord.audit.models import AuditAnchor, AuditEntry
from concord.audit.service import Action, ChainProblem, record
from concord.db import database
from concord.ledger import anchors
from concord.ledger import service as ledger
from concord.ledger.chain import Chain
from concord.ledger.models import ChainIntent, IntentState
from concord.tenancy.models import Organization

SUBJECT = "audit_head"  # the chain intents' subject type
_PG_LOCK_KEY = 0x61756469_61  # pg_try_advisory_xact_lock key of the anchoring ("audia")


def _bookkeeping(session: Session, last: AuditAnchor | None) -> sa.ColumnElement[bool]:
    """Entries the anchoring itself writes after the last anchor: they do not count as the
    trail moving (its own entries, and the outcomes of anchoring transactions settled since)."""
    own = sa.select(ChainIntent.uid).where(ChainIntent.subject_type == SUBJECT)
    if last is not None:
        own = own.where(sa.or_(ChainIntent.finished_at.is_(None), ChainIntent.finished_at >= last.created_at))
    uids = [str(uid) for uid in session.execute(own).scalars()]
    return sa.or_(
        AuditEntry.action == str(Action.AUDIT_HEAD_ANCHORED),
        sa.and_(AuditEntry.object_type == "chain_transaction", AuditEntry.object_id.in_(uids)),
    )


def due_head(session: Session, interval: timedelta) -> AuditEntry | None:
    """The head to anchor now, or None (anchored lately, or nothing but the anchoring's own
    bookkeeping written since)."""
    last = session.execute(sa.select(AuditAnchor).order_by(AuditAnchor.created_at.desc(), AuditAnchor.seq.desc()).limit(1)).scalar_one_or_none()
    if last is not None and clock.utcnow() - last.created_at < interval:
        return None
    moved = sa.select(AuditEntry.seq).where(~_bookkeeping(session, last))
    if last is not None:
        moved = moved.where(AuditEntry.seq > last.seq)
    if session.execute(moved.limit(1)).first() is None:
        return None
    return session.execute(sa.select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()


def anchor(session: Session, head: AuditEntry) -> AuditAnchor:
    """Queue the anchoring of `head`'s hash by the operator, recorded in the caller's
    transaction (the caller commits)."""
    operator = session.execute(sa.select(Organization).where(Organization.is_operator.is_(True))).scalar_one()
    row = AuditAnchor(id=uuid.uuid4(), seq=head.seq, entry_id=head.id, hash=head.hash, created_at=clock.utcnow())
    ledger.anchor_proof(session, operator.id, row.id, head.hash, f"Anchor the audit trail's head (entry {head.seq})", (SUBJECT, row.id))
    session.add(row)
    session.flush()
    record(
        session,
        Action.AUDIT_HEAD_ANCHORED,
        actor=None,
        subject_org_id=operator.id,
        object_type="audit_anchor",
        object_id=row.id,
        after={"seq": head.seq, "entry_id": str(head.id), "hash": head.hash},
    )
    return row


def anchor_head(app: Flask) -> AuditAnchor | None:
    """The round job: anchor the head when it is due (nothing while the ledger is not deployed)."""
    interval = timedelta(minutes=float(app.config["AUDIT_ANCHOR_MINUTES"]))
    with database(app).sessionmaker() as session:
        if ledger.current_chain_id(session) is None:
            return None
        # Several workers on PostgreSQL: one of them anchors, the others skip this round.
        if db.is_postgresql(session) and not session.execute(sa.select(sa.func.pg_try_advisory_xact_lock(_PG_LOCK_KEY))).scalar_one():
            return None
        head = due_head(session, interval)
        if head is None:
            return None
        row = anchor(session, head)
        session.commit()
        return row


# -- checking the anchored heads ------------------------------------------------------------


@dataclass(frozen=True)
class AnchorReport:
    problems: list[ChainProblem]
    checked: int  # anchors confirmed on chain and compared
    pending: int  # anchors not mined yet


def _anchor_text(row: AuditAnchor, intent: ChainIntent | None) -> str:
    where = f" (tx {intent.tx_hash}, block {intent.block_number})" if intent is not None and intent.tx_hash else ""
    return f"anchor {row.id} of entry {row.seq}{where}"


def verify_anchors(session: Session, chain: Chain | None, chain_problems: list[ChainProblem], *, block: int | None = None) -> AnchorReport:
    """Check every anchored head: the entry at that position still has the anchored hash,
    and ProvenanceAnchor holds it. Returns the recomputation's problems (`chain_problems`),
    each named with the first confirmed anchor that covers it, then the anchors' own."""
    rows = list(session.execute(sa.select(AuditAnchor).order_by(AuditAnchor.seq, AuditAnchor.created_at)).scalars())
    intents = {
        intent.subject_id: intent
        for intent in session.execute(sa.select(ChainIntent).where(ChainIntent.subject_type == SUBJECT).order_by(ChainIntent.seq)).scalars()
    }
    read: Callable[[uuid.UUID], anchors.AnchorOnChain | None] | None = (
        anchors.reader(session, chain, block="latest" if block is None else block) if chain is not None else None
    )
    problems: list[ChainProblem] = []
    checked = pending = 0
    last_good = 0
    for row in rows:
        intent = intents.get(str(row.id))
        named = _anchor_text(row, intent)
        mined_later = block is not None and intent is not None and (intent.block_number or 0) > block
        if intent is None or intent.state != IntentState.CONFIRMED or mined_later:
            pending += 1  # not mined yet, or after the block this run reads
            continue
        if read is None:
            problems.append(ChainProblem(row.seq, "unverifiable", f"{named}: ProvenanceAnchor cannot be read on this chain"))
            continue
        on_chain = read(row.id)
        checked += 1
        if on_chain is None:
            problems.append(ChainProblem(row.seq, "unanchored", f"{named}: ProvenanceAnchor holds nothing under that batch"))
            continue
        entry = session.execute(sa.select(AuditEntry).where(AuditEntry.seq == row.seq)).scalar_one_or_none()
        if entry is None:
            problems.append(ChainProblem(row.seq, "removed", f"the entry {named} anchored is gone"))
        elif entry.hash != on_chain.root:
            since = f"entries {last_good + 1} to {row.seq}" if last_good + 1 < row.seq else f"entry {row.seq}"
            problems.append(ChainProblem(row.seq, "rewritten", f"its hash is {entry.hash}, but {named} holds {on_chain.root} on chain: {since} were rewritten"))
        elif row.hash != on_chain.root:
            problems.append(ChainProblem(row.seq, "rewritten", f"the record of {named} was changed: the chain holds {on_chain.root}"))
        else:
            last_good = row.seq
            continue
    confirmed = [r for r in rows if str(r.id) in intents and intents[str(r.id)].state == IntentState.CONFIRMED]

    def covered(problem: ChainProblem) -> ChainProblem:
        row = next((r for r in confirmed if r.seq >= problem.seq), None)
        if row is None:
            return problem
        return ChainProblem(problem.seq, problem.kind, f"{problem.detail}; below the anchored head of {_anchor_text(row, intents[str(row.id)])}")

    return AnchorReport(problems=[covered(p) for p in chain_problems] + problems, checked=checked, pending=pending)
