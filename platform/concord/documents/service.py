"""Documents: certificates and reports uploaded by an organization, their SHA-256 anchored
on chain in the transaction that stores them, verified against the chain on demand, and
their owners reminded before and when they expire.

Who sees a document is one SQL condition, `visible_condition`, registered with policy by
concord.bootstrap: today the organization that owns it. A rule for auditors' engagements
is added there (an `or_` clause), and every lookup, list and download follows it.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from concord import clock, files, policy
from concord.audit.service import Action, record
from concord.catalog import gs1
from concord.catalog.models import Product
from concord.db import database, get_or_raise
from concord.documents.models import Document, DocumentKind, SubjectType
from concord.errors import ValidationFailed
from concord.ledger import anchors, runtime
from concord.ledger import service as ledger
from concord.ledger.chain import Chain
from concord.ledger.models import ChainIntent, IntentState
from concord.notifications.service import notify
from concord.policy import Principal
from concord.tenancy.models import Organization

SUBJECT = "document"  # the chain intents' subject type
#: What a document's file may be, as its content shows it (no plain text: a certificate is a scan or a PDF).
ACCEPTED_TYPES = ("application/pdf", "image/png", "image/jpeg")
ACCEPTED_TEXT = "PDF, PNG or JPEG"
KIND_NAMES = {
    DocumentKind.ISO_9001: "ISO 9001 certificate",
    DocumentKind.ISO_14001: "ISO 14001 certificate",
    DocumentKind.CERTIFICATE_OF_ORIGIN: "Certificate of origin",
    DocumentKind.LAB_TEST_REPORT: "Lab test report",
    DocumentKind.OTHER: "Document",
}
LOT_MAX = 20  # GS1 AI (10): up to 20 characters


def visible_condition(principal: Principal) -> Any:
    """The documents the principal may see: its own organization's. (An auditor's
    engagement that covers documents adds its clause here.)"""
    return Document.organization_id == principal.org.id


def visibility() -> dict[type, Any]:
    """Registered with policy by concord.bootstrap."""
    return {Document: visible_condition}


# -- upload ---------------------------------------------------------------------------------


def subject_mistakes(session: Session, principal: Principal, data: dict[str, Any]) -> dict[str, list[str]]:
    """What is wrong with what the document is about, field by field."""
    errors: dict[str, list[str]] = {}
    subject = data.get("subject_type")
    product_id, gtin, lot = data.get("product_id"), data.get("gtin"), data.get("lot")
    if subject == SubjectType.PRODUCT:
        if product_id is None:
            errors["product_id"] = ["Name the product the document is about."]
        elif session.execute(sa.select(Product.id).where(Product.id == product_id, policy.visible(principal, Product))).first() is None:
            errors["product_id"] = ["No such product in your catalog."]
    if subject == SubjectType.LOT:
        if not gtin:
            errors["gtin"] = ["Name the lot's GTIN."]
        elif problem := gs1.problem(gtin, gs1.GTIN_LENGTHS, "GTIN"):
            errors["gtin"] = [problem]
        if not lot:
            errors["lot"] = ["Name the lot number."]
    for name, value, needed in (("product_id", product_id, SubjectType.PRODUCT), ("gtin", gtin, SubjectType.LOT), ("lot", lot, SubjectType.LOT)):
        if value and subject != needed and name not in errors:
            errors[name] = [f"Only a document about a {needed} names its {name.replace('_id', '')}."]
    valid_from, valid_until = data.get("valid_from"), data.get("valid_until")
    if valid_from and valid_until and valid_until < valid_from:
        errors["valid_until"] = ["The document cannot expire before it becomes valid."]
    return errors


def upload(session: Session, principal: Principal, data: dict[str, Any], stored_upload: files.Upload) -> Document:
    """Store the file, write the document, and queue the anchoring of its SHA-256 by the
    organization's key, all in one transaction (any refusal writes nothing)."""
    policy.require_writer(principal)
    errors = subject_mistakes(session, principal, data)
    if stored_upload.media_type not in ACCEPTED_TYPES:
        errors["file"] = [f"Not a file type accepted for documents: {ACCEPTED_TEXT}."]
    if errors:
        raise ValidationFailed(errors)
    kind = DocumentKind(data["kind"])
    subject = SubjectType(data["subject_type"])
    document = Document(
        id=uuid.uuid4(),
        organization_id=principal.org.id,
        kind=str(kind),
        title=(data.get("title") or "").strip() or f"{KIND_NAMES[kind]} {data['document_number'].strip()}",
        issuer=data["issuer"].strip(),
        document_number=data["document_number"].strip(),
        valid_from=data["valid_from"],
        valid_until=data.get("valid_until"),
        subject_type=str(subject),
        product_id=data.get("product_id") if subject == SubjectType.PRODUCT else None,
        gtin=data.get("gtin") if subject == SubjectType.LOT else None,
        lot=data.get("lot") if subject == SubjectType.LOT else None,
        file_sha256=stored_upload.sha256,
        file_name=stored_upload.name,
        uploaded_by=principal.user.id,
        created_at=clock.utcnow(),
    )
    # The anchoring first (it refuses while the ledger is not deployed), the audit entry last.
    ledger.anchor_proof(
        session,
        principal.org.id,
        document.id,
        stored_upload.sha256,
        f"{principal.org.legal_name} anchors the SHA-256 of {document.title}"[:200],
        (SUBJECT, document.id),
    )
    stored = files.store(session, stored_upload)
    session.add(document)
    session.flush()
    record(
        session,
        Action.DOCUMENT_UPLOADED,
        actor=principal.actor,
        subject_org_id=principal.org.id,
        object_type="document",
        object_id=document.id,
        after={**described(document), "sha256": stored.sha256, "size": stored.size, "media_type": stored.media_type},
    )
    session.commit()
    return document


def described(document: Document) -> dict[str, Any]:
    return {
        "kind": document.kind,
        "title": document.title,
        "issuer": document.issuer,
        "document_number": document.document_number,
        "valid_from": document.valid_from.isoformat(),
        "valid_until": document.valid_until.isoformat() if document.valid_until else None,
        "subject_type": document.subject_type,
        "product_id": str(document.product_id) if document.product_id else None,
        "gtin": document.gtin,
        "lot": document.lot,
        "file_name": document.file_name,
    }


# -- reading --------------------------------------------------------------------------------


def status(document: Document, today: date, reminder_days: int) -> str:
    """not_yet_valid, valid, expiring (within the reminder window) or expired."""
    if document.valid_from > today:
        return "not_yet_valid"
    if document.valid_until is None:
        return "valid"
    if document.valid_until < today:
        return "expired"
    return "expiring" if document.valid_until <= today + timedelta(days=reminder_days) else "valid"


def documents_query(
    principal: Principal,
    *,
    kind: str | None = None,
    subject_type: str | None = None,
    product_id: uuid.UUID | None = None,
    gtin: str | None = None,
    lot: str | None = None,
    expiring_within: int | None = None,
) -> sa.Select:
    """The documents the principal sees, filtered; `expiring_within` days keeps those whose
    validity ends by then (expired ones included)."""
    query = sa.select(Document).where(policy.visible(principal, Document))
    for column, value in (
        (Document.kind, kind),
        (Document.subject_type, subject_type),
        (Document.product_id, product_id),
        (Document.gtin, gtin),
        (Document.lot, lot),
    ):
        if value is not None:
            query = query.where(column == value)
    if expiring_within is not None:
        query = query.where(Document.valid_until.is_not(None), Document.valid_until <= clock.utcnow().date() + timedelta(days=expiring_within))
    return query


def get(session: Session, principal: Principal, document_id: uuid.UUID) -> Document:
    return policy.get_visible(session, Document, document_id, principal)


def content(session: Session, principal: Principal, document_id: uuid.UUID) -> tuple[Document, files.StoredFile]:
    document = get(session, principal, document_id)
    return document, get_or_raise(session, files.StoredFile, document.file_sha256)


def anchoring(session: Session, document_id: uuid.UUID) -> ChainIntent | None:
    """The chain transaction anchoring the document's SHA-256 (the latest, should it be
    queued again)."""
    intents = ledger.intents_about(session, SUBJECT, document_id)
    return intents[-1] if intents else None


# -- verification ---------------------------------------------------------------------------


def current_chain() -> Chain:
    """The chain of the app in context (what a verification reads)."""
    return runtime.chain(cast(Any, current_app)._get_current_object())


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: cannot be told yet (the anchoring is not mined)
    detail: str


def verify(session: Session, principal: Principal, document_id: uuid.UUID, chain: Chain) -> dict[str, Any]:
    """Each check and its result: the stored bytes hash to the recorded SHA-256, the
    anchoring transaction is confirmed on chain, and ProvenanceAnchor holds that SHA-256
    under the document's id, anchored by the owner's account."""
    document = get(session, principal, document_id)
    data = files.content_of(session, document.file_sha256)
    digest = hashlib.sha256(data).hexdigest()
    checks = [
        Check(
            "content",
            digest == document.file_sha256,
            f"The stored file hashes to {digest}"
            + (", the SHA-256 recorded for the document." if digest == document.file_sha256 else f", not to the recorded {document.file_sha256}."),
        )
    ]
    intent = anchoring(session, document.id)
    checks.append(_transaction_check(intent, chain))
    checks.append(_record_check(session, document, chain))
    verdict = "failed" if any(c.ok is False for c in checks) else ("pending" if any(c.ok is None for c in checks) else "verified")
    return {
        "document_id": document.id,
        "sha256": document.file_sha256,
        "verdict": verdict,
        "chain_id": chain.chain_id,
        "tx_hash": intent.tx_hash if intent else None,
        "block_number": intent.block_number if intent else None,
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks],
    }


def _transaction_check(intent: ChainIntent | None, chain: Chain) -> Check:
    if intent is None:
        return Check("anchor_transaction", False, "No anchoring transaction was ever queued for this document.")
    if intent.state in (IntentState.FAILED, IntentState.SKIPPED):
        return Check(
            "anchor_transaction", False, f"The anchoring transaction {intent.state}: {intent.revert_reason or intent.last_error or 'no reason given'}."
        )
    if intent.state != IntentState.CONFIRMED or intent.tx_hash is None:
        return Check("anchor_transaction", None, f"The anchoring transaction is {intent.state}: not mined yet.")
    receipt = chain.receipt(intent.tx_hash)
    if receipt is None or int(receipt["status"]) != 1:
        return Check("anchor_transaction", False, f"The chain has no successful receipt for the anchoring transaction {intent.tx_hash}.")
    return Check("anchor_transaction", True, f"Transaction {intent.tx_hash} confirmed in block {receipt['blockNumber']}.")


def _record_check(session: Session, document: Document, chain: Chain) -> Check:
    read = anchors.reader(session, chain)
    if read is None:
        return Check("on_chain_record", False, "ProvenanceAnchor is not deployed on this chain.")
    found = read(document.id)
    if found is None:
        return Check("on_chain_record", None, f"ProvenanceAnchor holds nothing under batch {document.id} yet.")
    owner = ledger.address_of(session, document.organization_id)
    if found.root != document.file_sha256:
        return Check("on_chain_record", False, f"ProvenanceAnchor holds {found.root} under batch {document.id}, not the document's SHA-256.")
    if owner is None or found.anchored_by.lower() != owner.lower():
        return Check("on_chain_record", False, f"The anchor was made by {found.anchored_by}, not by the owner's account {owner}.")
    return Check(
        "on_chain_record", True, f"ProvenanceAnchor holds the SHA-256 under batch {document.id}, anchored by {found.anchored_by} in block {found.block_number}."
    )


# -- expiry reminders (a round job of the ledger worker) ------------------------------------


def remind_expiring(app: Flask) -> int:
    """Tell each owner, once, that a document expires within DOCUMENT_REMINDER_DAYS, and
    once that it has expired (in-app and `document.expiring` / `document.expired`
    webhooks). Each reminder is claimed by an update that only one worker wins."""
    days = int(app.config["DOCUMENT_REMINDER_DAYS"])
    sent = 0
    with database(app).sessionmaker() as session:
        today = clock.utcnow().date()
        due = [
            ("expired", Document.expired_notice_at, sa.and_(Document.valid_until < today)),
            ("expiring", Document.expiring_notice_at, sa.and_(Document.valid_until >= today, Document.valid_until <= today + timedelta(days=days))),
        ]
        for which, column, condition in due:
            ids = session.execute(
                sa.select(Document.id).where(Document.valid_until.is_not(None), column.is_(None), Document.expired_notice_at.is_(None), condition)
            ).scalars()
            for document_id in list(ids):
                claimed = session.execute(sa.update(Document).where(Document.id == document_id, column.is_(None)).values({column.key: clock.utcnow()}))
                if getattr(claimed, "rowcount", 0) != 1:
                    session.rollback()
                    continue
                _tell(session, get_or_raise(session, Document, document_id), which, today)
                session.commit()
                sent += 1
    return sent


def _tell(session: Session, document: Document, which: str, today: date) -> None:
    assert document.valid_until is not None  # selected so
    left = (document.valid_until - today).days
    when = f"expired on {document.valid_until.isoformat()}" if which == "expired" else f"expires on {document.valid_until.isoformat()} (in {left} days)"
    owner = get_or_raise(session, Organization, document.organization_id)
    notify(
        session,
        f"document.{which}",
        org_ids=[owner.id],
        object_type="document",
        object_id=document.id,
        summary=f"{document.title} issued by {document.issuer} {when}.",
        data={"document_id": str(document.id), "kind": document.kind, "valid_until": document.valid_until.isoformat()},
    )
    record(session, Action.DOCUMENT_REMINDED, actor=None, subject_org_id=owner.id, object_type="document", object_id=document.id, reminder=which)
