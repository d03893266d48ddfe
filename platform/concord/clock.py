"""The platform's one source of the current time (tests move it forward)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def shown(moment: datetime) -> str:
    """A moment as people read it in a message: "2026-12-03 08:45 UTC", not ISO 8601."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
