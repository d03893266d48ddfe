"""EPCIS 2.0 events as their organization captured them, with the rows that make them
queryable, and the capture jobs that brought them in.

An event is kept whole (`document`: every field, extensions included, `eventTime` with the
offset it was given) beside the columns a query filters on. Identifiers and vocabulary
values in those columns are canonical (a GS1 Digital Link URI for an EPC, the CBV web URI
for a business step), so a query finds an event whichever way either of them spelled it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from concord.db import Base, IdMixin
from concord.tenancy.models import str_enum

# Identifiers and vocabulary URIs: the longest an index holds on every database (PostgreSQL
# refuses a B-tree entry over 2,704 bytes, and a URI may be written in 4-byte characters).
URI_LENGTH = 500


class Sharing(StrEnum):
    """Who in the consortium sees an organization's event besides itself (provenance.sharing)."""

    PRIVATE = "private"  # the capturing organization only
    TRANSACTION = "transaction"  # the parties of the business transactions it names (orders, shipments)
    LOT = "lot"  # every organization that captured events about the same EPCs or EPC classes


def _sharing_column(**kwargs):
    return mapped_column(str_enum(Sharing, "epcis_sharing"), default=Sharing.PRIVATE, server_default="private", **kwargs)


class CaptureJob(IdMixin, Base):
    """One POST of an EPCISDocument to /epcis/capture: all its events or none of them."""

    __tablename__ = "epcis_capture_jobs"
    __table_args__ = (sa.CheckConstraint("event_count >= 0", name="event_count_not_negative"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    running: Mapped[bool]
    success: Mapped[bool]
    error_behaviour: Mapped[str] = mapped_column(sa.String(16))
    event_count: Mapped[int]
    # RFC 9457 problems, empty when the job succeeded.
    errors: Mapped[list] = mapped_column(sa.JSON)


class EpcisEvent(IdMixin, Base):
    """One captured event. `event_id` is its own eventID, or its hash ID when it came
    without one; it is unique in its organization."""

    __tablename__ = "epcis_events"
    __public_key__ = "event_id"
    __table_args__ = (
        sa.UniqueConstraint("organization_id", "event_id"),
        sa.Index("ix_epcis_events_organization_id_event_time", "organization_id", "event_time"),
        sa.Index("ix_epcis_events_organization_id_record_time", "organization_id", "record_time"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    capture_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("epcis_capture_jobs.id"), index=True)
    event_id: Mapped[str] = mapped_column(sa.String(URI_LENGTH))
    hash_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    event_type: Mapped[str] = mapped_column(sa.String(64))
    event_time: Mapped[datetime]
    event_time_offset: Mapped[str] = mapped_column(sa.String(6))
    record_time: Mapped[datetime]
    action: Mapped[str | None] = mapped_column(sa.String(16))
    biz_step: Mapped[str | None] = mapped_column(sa.String(URI_LENGTH), index=True)
    disposition: Mapped[str | None] = mapped_column(sa.String(URI_LENGTH), index=True)
    read_point: Mapped[str | None] = mapped_column(sa.String(URI_LENGTH), index=True)
    biz_location: Mapped[str | None] = mapped_column(sa.String(URI_LENGTH), index=True)
    # The event as captured, and the @context of its document (the prefixes of its extensions).
    document: Mapped[dict] = mapped_column(sa.JSON)
    context: Mapped[list] = mapped_column(sa.JSON)
    sharing: Mapped[Sharing] = _sharing_column()
    # The organization's EIP-712 attestation (concord_verify.attestation) and the domain it
    # was made in (chain, ProvenanceAnchor deployment): empty while the ledger is not
    # deployed; the batching job signs such events before it puts them in a batch.
    signer: Mapped[str | None] = mapped_column(sa.String(42))
    signature: Mapped[bytes | None] = mapped_column(sa.LargeBinary(65))
    signed_chain_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    signed_anchor: Mapped[str | None] = mapped_column(sa.String(42))
    # The Merkle batch the event is anchored in; none while its organization's batch is open.
    batch_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("provenance_batches.id"), index=True)

    identifiers: Mapped[list[EventIdentifier]] = relationship(cascade="all, delete-orphan", lazy="raise")
    biz_transactions: Mapped[list[EventBizTransaction]] = relationship(cascade="all, delete-orphan", lazy="raise")
    parties: Mapped[list[EventParty]] = relationship(cascade="all, delete-orphan", lazy="raise")


class EventIdentifier(Base):
    """An EPC or an EPC class an event names, by its role (see service.IDENTIFIER_ROLES)."""

    __tablename__ = "epcis_event_identifiers"

    event_pk: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("epcis_events.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(URI_LENGTH), primary_key=True, index=True)


class EventBizTransaction(Base):
    """A business transaction an event names: its type ('' when none is given) and value."""

    __tablename__ = "epcis_event_biz_transactions"
    __table_args__ = (sa.Index("ix_epcis_event_biz_transactions_type_value", "type", "value"),)

    event_pk: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("epcis_events.id", ondelete="CASCADE"), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(URI_LENGTH), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(URI_LENGTH), primary_key=True)


class EventParty(Base):
    """An organization an event is shared with beyond the one that recorded it: the parties
    of the business transaction of an order step (buyer, supplier, carrier)."""

    __tablename__ = "epcis_event_parties"

    event_pk: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("epcis_events.id", ondelete="CASCADE"), primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), primary_key=True, index=True)


class SharingDefault(Base):
    """How an organization shares the events it captures unless a capture says otherwise."""

    __tablename__ = "epcis_sharing_defaults"

    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), primary_key=True)
    sharing: Mapped[Sharing] = _sharing_column()
    updated_at: Mapped[datetime]


class BatchState(StrEnum):
    ANCHORING = "anchoring"  # closed, its root on its way to ProvenanceAnchor
    ANCHORED = "anchored"  # the anchor transaction is confirmed
    FAILED = "failed"  # the anchor intent failed: its events went back to the open batch


class ProvenanceBatch(IdMixin, Base):
    """A closed Merkle batch of one organization's events, anchored under the bytes32 of
    its id. Events not yet in a batch form their organization's open batch."""

    __tablename__ = "provenance_batches"
    __table_args__ = (sa.CheckConstraint("size > 0", name="size_positive"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    state: Mapped[BatchState] = mapped_column(str_enum(BatchState, "provenance_batch_state"), index=True)
    chain_id: Mapped[int] = mapped_column(sa.BigInteger)
    anchor: Mapped[str] = mapped_column(sa.String(42))  # the ProvenanceAnchor deployment
    root: Mapped[str] = mapped_column(sa.String(66))
    size: Mapped[int]
    intent_uid: Mapped[uuid.UUID | None] = mapped_column(index=True)
    tx_hash: Mapped[str | None] = mapped_column(sa.String(66))
    block_number: Mapped[int | None] = mapped_column(sa.BigInteger)
    closed_at: Mapped[datetime]
    anchored_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
