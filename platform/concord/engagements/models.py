"""Engagements: an organization (the grantor) lets an auditor read some of its records, of
some kinds, dated within a period, until a moment or until it revokes the grant; and the log
of every read the auditor made under it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from concord import clock
from concord.db import Base, IdMixin
from concord.tenancy.models import str_enum


class Kind(StrEnum):
    """What an engagement covers (shipments, receipts and the timeline go with their order)."""

    ORDERS = "orders"
    LOTS = "lots"
    PRODUCTS = "products"
    DOCUMENTS = "documents"
    EVENTS = "events"


class EngagementState(StrEnum):
    GRANTED = "granted"
    REVOKED = "revoked"
    EXPIRED = "expired"  # never stored: a granted engagement whose valid_until has passed


class Engagement(IdMixin, Base):
    __tablename__ = "engagements"
    __table_args__ = (
        sa.CheckConstraint("grantor_org_id <> auditor_org_id", name="distinct_parties"),
        sa.CheckConstraint("period_from <= period_to", name="period_ordered"),
        sa.Index("ix_engagements_auditor_listing", "auditor_org_id", "granted_at", "id"),
        sa.Index("ix_engagements_grantor_listing", "grantor_org_id", "granted_at", "id"),
    )

    grantor_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    auditor_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    kinds: Mapped[list[str]] = mapped_column(sa.JSON)
    # The records covered are those whose own date (an order's issue, an event's time) falls
    # on these days (UTC), both included.
    period_from: Mapped[date]
    period_to: Mapped[date]
    valid_until: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(sa.String(500))
    # granted or revoked; "expired" is read from valid_until (see `state`).
    stored_state: Mapped[EngagementState] = mapped_column("state", str_enum(EngagementState, "engagement_state"), default=EngagementState.GRANTED)
    granted_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    granted_at: Mapped[datetime]
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]

    @property
    def state(self) -> EngagementState:
        if self.stored_state == EngagementState.GRANTED and self.valid_until <= clock.utcnow():
            return EngagementState.EXPIRED
        return self.stored_state

    @property
    def expired_at(self) -> datetime | None:
        return self.valid_until if self.state == EngagementState.EXPIRED else None


class EngagementRead(IdMixin, Base):
    """One request of the auditor answered under an engagement: a page, a list or one object."""

    __tablename__ = "engagement_reads"
    __table_args__ = (sa.Index("ix_engagement_reads_listing", "engagement_id", "read_at", "id"),)

    engagement_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("engagements.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    read_at: Mapped[datetime]
    via: Mapped[str] = mapped_column(sa.String(16))  # "api" or "portal"
    endpoint: Mapped[str] = mapped_column(sa.String(100))
    # The path with its query string: the object read, or the list and its filters.
    request: Mapped[str] = mapped_column(sa.String(2000))
    # The kinds of records the request read under the engagement, and the object's id (a detail).
    kinds: Mapped[list[str]] = mapped_column(sa.JSON)
    object_id: Mapped[str | None] = mapped_column(sa.String(500))
