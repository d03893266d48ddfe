"""Portal sessions and API tokens. Only hashes of their secrets are stored."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from concord.db import Base, IdMixin
from concord.tenancy.models import User


class UserSession(IdMixin, Base):
    __tablename__ = "user_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(IdMixin, Base):
    __tablename__ = "api_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")

    def state(self, now: datetime) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "active"


class LoginThrottle(Base):
    """Counters of failed logins, by what a failure is counted against (`scope`): one email
    from one source address, one source address, or the whole platform. The key is a hash,
    so the table holds no email addresses."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(16))
    window_started_at: Mapped[datetime]
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None] = mapped_column(index=True)
