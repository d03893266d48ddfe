"""Writing and verifying the hash-chained audit trail.

Every state change calls `record()` inside the transaction that makes the change, so the
entry commits or rolls back with it. Entries are never updated or deleted by the platform.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask import g, has_request_context, request
from sqlalchemy.orm import Session

from concord import clock, db, policy
from concord.audit.models import Actor, AuditEntry
from concord.tenancy.models import Organization, User

GENESIS = "0" * 64
# pg_advisory_xact_lock key that serializes appends on PostgreSQL ("audit" in ASCII).
_PG_LOCK_KEY = 0x61756469_74


class Action(StrEnum):
    ORG_REGISTERED = "organization:registered"
    ORG_APPROVED = "organization:approved"
    ORG_REJECTED = "organization:rejected"
    ORG_SUSPENDED = "organization:suspended"
    ORG_REACTIVATED = "organization:reactivated"
    ORG_UPDATED = "organization:updated"
    ORG_LEGAL_NAME_REQUESTED = "organization:legal_name_requested"
    ORG_LEGAL_NAME_APPROVED = "organization:legal_name_approved"
    ORG_LEGAL_NAME_REJECTED = "organization:legal_name_rejected"
    USER_CREATED = "user:created"
    USER_INVITED = "user:invited"
    USER_JOINED = "user:joined"
    INVITATION_REVOKED = "user:invitation_revoked"
    USER_ROLE_CHANGED = "user:role_changed"
    USER_DISABLED = "user:disabled"
    USER_ENABLED = "user:enabled"
    PASSWORD_CHANGED = "user:password_changed"
    LOGIN_SUCCEEDED = "auth:login"
    LOGIN_FAILED = "auth:login_failed"
    LOGIN_THROTTLED = "auth:login_throttled"
    ACCOUNT_LOCKED = "auth:account_locked"
    LOGOUT = "auth:logout"
    TOKEN_CREATED = "token:created"
    TOKEN_REVOKED = "token:revoked"
    PARTNERSHIP_REQUESTED = "partnership:requested"
    PARTNERSHIP_ACCEPTED = "partnership:accepted"
    PARTNERSHIP_DECLINED = "partnership:declined"
    PARTNERSHIP_ENDED = "partnership:ended"
    ACCESS_DENIED = "access:denied"
    PRODUCT_CREATED = "product:created"
    PRODUCT_UPDATED = "product:updated"
    LOCATION_CREATED = "location:created"
    LOCATION_UPDATED = "location:updated"
    ORDER_CREATED = "order:created"
    ORDER_UPDATED = "order:updated"
    ORDER_ISSUED = "order:issued"
    ORDER_ACKNOWLEDGED = "order:acknowledged"
    ORDER_REJECTED = "order:rejected"
    ORDER_CANCELLED = "order:cancelled"
    CHANGE_PROPOSED = "order:change_proposed"
    CHANGE_ACCEPTED = "order:change_accepted"
    CHANGE_DECLINED = "order:change_declined"
    ORDER_DELIVERED = "order:delivered"
    ORDER_CLOSED = "order:closed"
    SHIPMENT_CREATED = "shipment:created"
    MILESTONE_RECORDED = "shipment:milestone_recorded"
    DELIVERY_PROVEN = "shipment:delivery_proven"
    RECEIPT_CONFIRMED = "order:receipt_confirmed"
    RELEASE_REQUESTED = "order:release_requested"
    DISPUTE_OPENED = "dispute:opened"
    DISPUTE_RESOLVED = "dispute:resolved"
    DISPUTE_EVIDENCE_ADDED = "dispute:evidence_added"
    TOKENS_MINTED = "ledger:tokens_minted"
    LEDGER_TX_CONFIRMED = "ledger:transaction_confirmed"
    LEDGER_TX_FAILED = "ledger:transaction_failed"
    LEDGER_TX_SKIPPED = "ledger:transaction_skipped"
    NOTIFICATION_READ = "notification:read"
    WEBHOOK_CREATED = "webhook:created"
    WEBHOOK_UPDATED = "webhook:updated"
    WEBHOOK_DELETED = "webhook:deleted"
    WEBHOOK_TEST_QUEUED = "webhook:test_queued"
    WEBHOOK_DELIVERED = "webhook:delivered"
    WEBHOOK_DELIVERY_FAILED = "webhook:delivery_failed"
    EPCIS_CAPTURED = "epcis:captured"
    ENGAGEMENT_GRANTED = "engagement:granted"
    ENGAGEMENT_REVOKED = "engagement:revoked"
    EPCIS_SHARING_SET = "epcis:sharing_set"
    DOCUMENT_UPLOADED = "document:uploaded"
    DOCUMENT_REMINDED = "document:reminded"
    AUDIT_HEAD_ANCHORED = "audit:head_anchored"
    PROVENANCE_BATCH_CLOSED = "provenance:batch_closed"
    PROVENANCE_BATCH_ANCHORED = "provenance:batch_anchored"
    PROVENANCE_BATCH_FAILED = "provenance:batch_failed"
    RECEIVABLE_REGISTRATION_REQUESTED = "receivable:registration_requested"
    RECEIVABLE_REGISTERED = "receivable:registered"
    RECEIVABLE_REFUSED = "receivable:refused"
    RECEIVABLE_ACKNOWLEDGEMENT_REFUSED = "receivable:acknowledgement_refused"
    RECEIVABLE_VERIFIED = "receivable:verified"
    RECEIVABLE_FINANCED = "receivable:financed"
    RECEIVABLE_PAYMENT_SENT = "receivable:payment_sent"
    RECEIVABLE_SETTLED = "receivable:settled"
    FINANCING_REQUESTED = "financing:requested"
    FINANCING_OFFERED = "financing:offered"
    FINANCING_DECLINED = "financing:declined"
    FINANCING_WITHDRAWN = "financing:withdrawn"
    FINANCING_ACCEPTED = "financing:accepted"
    FINANCING_EXPIRED = "financing:expired"
    FINANCING_REFUSED = "financing:refused"
    FINANCING_FINANCED = "financing:financed"
    FINANCING_SETTLED = "financing:settled"
    EXPOSURE_LIMIT_SET = "exposure_limit:set"
    PROGRAMME_REQUESTED = "programme:requested"
    PROGRAMME_OPENED = "programme:opened"
    PROGRAMME_DECLINED = "programme:declined"
    PROGRAMME_CLOSED = "programme:closed"
    EARLY_PAYMENT_TAKEN = "programme:early_payment_taken"
    PAYMENT_TERMS_SET = "payment_terms:set"
    INVOICE_CREATED = "invoice:created"
    INVOICE_APPROVED = "invoice:approved"
    INVOICE_REJECTED = "invoice:rejected"
    INVOICE_CANCELLED = "invoice:cancelled"
    INVOICE_PAID = "invoice:paid"
    INVOICE_OVERDUE = "invoice:overdue"
    INVOICE_SELF_BILLED = "invoice:self_billed"
    CREDIT_NOTE_CREATED = "invoice:credit_note_created"
    VMI_AGREEMENT_PROPOSED = "vmi_agreement:proposed"
    VMI_AGREEMENT_AMENDED = "vmi_agreement:amended"
    VMI_AGREEMENT_ACCEPTED = "vmi_agreement:accepted"
    VMI_AGREEMENT_DECLINED = "vmi_agreement:declined"
    VMI_AGREEMENT_WITHDRAWN = "vmi_agreement:withdrawn"
    VMI_AGREEMENT_SUSPENDED = "vmi_agreement:suspended"
    VMI_AGREEMENT_RESUMED = "vmi_agreement:resumed"
    VMI_AGREEMENT_ENDED = "vmi_agreement:ended"
    VMI_PROPOSAL_MADE = "vmi_proposal:made"
    VMI_PROPOSAL_REFERRED = "vmi_proposal:referred"
    VMI_PROPOSAL_ORDERED = "vmi_proposal:ordered"
    VMI_PROPOSAL_DISMISSED = "vmi_proposal:dismissed"
    VMI_PROPOSAL_REJECTED = "vmi_proposal:rejected"
    VMI_PROPOSAL_CANCELLED = "vmi_proposal:cancelled"
    VMI_STOCK_SHARED = "vmi_stock:shared"  # one entry per batch, with its counts
    VMI_UPLOAD_STARTED = "vmi_upload:started"
    VMI_UPLOAD_FINISHED = "vmi_upload:finished"  # with the upload's counts
    VMI_UPLOAD_FAILED = "vmi_upload:failed"
    VMI_CONSIGNMENT_BILLED = "vmi_agreement:consignment_billed"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_document(entry: AuditEntry) -> dict[str, Any]:
    """What the hash covers: every field of the entry except the hashes themselves."""

    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    return {
        "seq": entry.seq,
        "id": text(entry.id),
        "occurred_at": entry.occurred_at.isoformat(timespec="microseconds"),
        "action": entry.action,
        "actor_user_id": text(entry.actor_user_id),
        "actor_org_id": text(entry.actor_org_id),
        "subject_org_id": text(entry.subject_org_id),
        "related_org_id": text(entry.related_org_id),
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "summary": entry.summary,
        "ip": entry.ip,
    }


def compute_hash(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256((prev_hash + canonical_json(entry_document(entry))).encode()).hexdigest()


def _client_ip() -> str | None:
    return request.remote_addr if has_request_context() else None


def record(
    session: Session,
    action: Action,
    *,
    actor: Actor | None,
    subject_org_id: uuid.UUID | None = None,
    related_org_id: uuid.UUID | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    **details: Any,
) -> AuditEntry:
    """Append one entry in the caller's transaction (the caller commits)."""
    if db.is_postgresql(session):
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
    head = session.execute(sa.select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    summary: dict[str, Any] = {}
    if before is not None:
        summary["before"] = before
    if after is not None:
        summary["after"] = after
    summary.update({key: value for key, value in details.items() if value is not None})
    entry = AuditEntry(
        seq=(head.seq + 1) if head else 1,
        id=uuid.uuid4(),
        occurred_at=clock.utcnow(),
        action=str(action),
        actor_user_id=actor.user_id if actor else None,
        actor_org_id=actor.org_id if actor else None,
        subject_org_id=subject_org_id,
        related_org_id=related_org_id,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        summary=json.loads(canonical_json(summary)),
        ip=_client_ip(),
        prev_hash=head.hash if head else GENESIS,
    )
    entry.hash = compute_hash(entry.prev_hash, entry)
    session.add(entry)
    session.flush()
    return entry


def record_denied_access(probe: dict[str, Any]) -> None:
    """Write a refused cross-tenant attempt in its own transaction (the request's own
    transaction has been rolled back)."""
    principal = g.get("principal")
    actor = Actor(principal.user.id, principal.org.id) if principal else None
    session = db.session()
    session.rollback()
    record(
        session,
        Action.ACCESS_DENIED,
        actor=actor,
        subject_org_id=actor.org_id if actor else None,
        object_type=probe.get("object_type"),
        object_id=probe.get("object_id"),
        method=request.method,
        path=request.path,
    )
    session.commit()


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    kind: str  # "altered", "inserted" or "removed"
    detail: str

    def __str__(self) -> str:
        return f"entry {self.seq} {self.kind}: {self.detail}"


def verify(session: Session, batch_size: int = 1000) -> list[ChainProblem]:
    """Recompute the chain; return every break, the first one first."""
    problems: list[ChainProblem] = []
    expected_prev, expected_seq = GENESIS, 1
    rows = session.execute(sa.select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch_size)).scalars()
    iterator = iter(rows)

    def next_row() -> AuditEntry | None:
        return next(iterator, None)

    current = next_row()
    following = next_row()
    while current is not None:
        hash_ok = compute_hash(current.prev_hash, current) == current.hash
        link_ok = current.prev_hash == expected_prev
        if current.seq > expected_seq:
            missing = f"entry {expected_seq}" if current.seq == expected_seq + 1 else f"entries {expected_seq} to {current.seq - 1}"
            problems.append(ChainProblem(expected_seq, "removed", f"{missing} missing before entry {current.seq}"))
            link_ok = True  # the break is the removal; judge this entry by its own hash
        if link_ok and not hash_ok:
            problems.append(ChainProblem(current.seq, "altered", "its contents no longer match its hash"))
        elif not link_ok:
            following_links_here = following is not None and following.prev_hash == current.hash
            if following_links_here and hash_ok:
                # This entry matches its hash and the next one commits to that hash, so it is
                # authentic: the entry before it was changed and its hash recomputed.
                already = problems and problems[-1].seq == current.seq - 1 and problems[-1].kind == "altered"
                if not already:
                    problems.append(
                        ChainProblem(current.seq - 1, "altered", "its hash was recomputed after a change; the next entry still links to the original")
                    )
            elif following_links_here:
                problems.append(ChainProblem(current.seq, "altered", "its link to the previous entry was changed"))
            else:
                problems.append(ChainProblem(current.seq, "inserted", "it does not follow from the entry before it"))
                # An inserted entry is skipped: the chain should continue from the last good hash.
                expected_seq = current.seq + 1
                current, following = following, next_row()
                continue
        expected_prev, expected_seq = current.hash, current.seq + 1
        current, following = following, next_row()
    return problems


def actor_names(session: Session, entries: list[AuditEntry]) -> dict[uuid.UUID, str]:
    """Display names of the users and organizations named by `entries` (for the portal)."""
    user_ids = {e.actor_user_id for e in entries if e.actor_user_id}
    org_ids = {oid for e in entries for oid in (e.actor_org_id, e.subject_org_id, e.related_org_id) if oid}
    names: dict[uuid.UUID, str] = {}
    if user_ids:
        names.update(session.execute(sa.select(User.id, User.full_name).where(User.id.in_(user_ids))).tuples().all())
    if org_ids:
        names.update(session.execute(sa.select(Organization.id, Organization.legal_name).where(Organization.id.in_(org_ids))).tuples().all())
    return names


def page_keys(principal) -> list[Any]:
    """How a principal's list of entries is ordered and paged. Members page by time: the
    chain's sequence numbers would show them how much happened elsewhere in between."""
    return [AuditEntry.seq] if principal.is_operator else [AuditEntry.occurred_at, AuditEntry.id]


def shown(entry: AuditEntry, principal) -> dict[str, Any]:
    """An entry as `principal` may see it: who acted and from where only for its own
    organization's people (others appear as their organization), and the chain position
    only for the operator."""
    view = {column: getattr(entry, column) for column in _SHOWN_COLUMNS}
    if not principal.is_operator:
        view["seq"] = None
        if entry.actor_org_id != principal.org.id:
            view["actor_user_id"] = None
            view["ip"] = None
    return view


_SHOWN_COLUMNS = (
    "id",
    "seq",
    "occurred_at",
    "action",
    "actor_user_id",
    "actor_org_id",
    "subject_org_id",
    "related_org_id",
    "object_type",
    "object_id",
    "summary",
    "ip",
    "prev_hash",
    "hash",
)


def visible_entries(principal, *, action: str | None = None, object_id: str | None = None) -> sa.Select:
    query = sa.select(AuditEntry).where(policy.visible(principal, AuditEntry))
    if action:
        query = query.where(AuditEntry.action == action)
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    return query
