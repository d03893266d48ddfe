"""The append-only, hash-chained audit trail."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from concord.db import Base


@dataclass(frozen=True)
class Actor:
    """Who did something: a user acting for an organization (None for the platform itself)."""

    user_id: uuid.UUID | None
    org_id: uuid.UUID | None


class AuditEntry(Base):
    """One entry; `hash` covers `prev_hash` and the entry's canonical JSON, so altering,
    inserting or removing an entry breaks the chain from that point on."""

    __tablename__ = "audit_entries"

    __public_key__ = "id"  # `seq` orders the chain; clients name entries by id
    seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False)
    id: Mapped[uuid.UUID] = mapped_column(unique=True)
    occurred_at: Mapped[datetime]
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    actor_user_id: Mapped[uuid.UUID | None]
    actor_org_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    subject_org_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    related_org_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    object_type: Mapped[str | None] = mapped_column(sa.String(64))
    # A uuid, or an id a standard lets clients choose (an EPCIS eventID is a URI of up to 500 bytes).
    object_id: Mapped[str | None] = mapped_column(sa.String(500))
    summary: Mapped[dict] = mapped_column(sa.JSON)
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    prev_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)


class AuditAnchor(Base):
    """One anchoring of the trail's head on chain: the entry at `seq` had `hash` when it was
    anchored (ProvenanceAnchor, batch id = `id`, with the operator's key)."""

    __tablename__ = "audit_anchors"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), index=True)
    entry_id: Mapped[uuid.UUID]
    hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(index=True)
