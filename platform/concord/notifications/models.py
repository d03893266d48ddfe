"""What each organization is told: in-app notifications, webhook subscriptions and the
log of each event's delivery to each subscription."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from concord.db import Base, IdMixin, TimestampMixin
from concord.tenancy.models import str_enum


class Notification(IdMixin, Base):
    """One event as one organization sees it in the portal; `event_id` is the id its
    webhook deliveries carry too."""

    __tablename__ = "notifications"

    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    event_id: Mapped[uuid.UUID] = mapped_column(index=True)
    event: Mapped[str] = mapped_column(sa.String(64))
    object_type: Mapped[str] = mapped_column(sa.String(64))
    object_id: Mapped[str] = mapped_column(sa.String(64))
    summary: Mapped[str] = mapped_column(sa.Text)
    data: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class WebhookSubscription(IdMixin, TimestampMixin, Base):
    """An organization's endpoint for events. Its signing secret is sealed under the master
    key (concord.ledger.keys), bound to the subscription's id, and shown only at creation."""

    __tablename__ = "webhook_subscriptions"
    __sealed__ = ("secret_nonce", "secret_ciphertext", "secret_key_id", "id")

    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    # Event names ("order.issued"), or ["*"] for every event.
    events: Mapped[list] = mapped_column(sa.JSON)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    secret_nonce: Mapped[bytes] = mapped_column(sa.LargeBinary(12))
    secret_ciphertext: Mapped[bytes] = mapped_column(sa.LargeBinary)
    secret_key_id: Mapped[str] = mapped_column(sa.String(16))


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(IdMixin, Base):
    """One event for one subscription, with what happened at its last attempt. It is due
    while pending and `next_attempt_at` has passed; a dispatcher claims it by moving
    `next_attempt_at` forward and counting the attempt, in one short transaction."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "event_id"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    subscription_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[uuid.UUID]
    event: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[dict] = mapped_column(sa.JSON)
    state: Mapped[DeliveryState] = mapped_column(str_enum(DeliveryState, "webhook_delivery_state"), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    response_ms: Mapped[int | None]
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
