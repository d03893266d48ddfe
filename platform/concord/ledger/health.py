"""Whether the ledger keeps up: chain steps that are due but not sent tell, whatever
process runs the worker (this one in embedded mode, `concord worker` elsewhere)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord.ledger.models import OPEN_STATES, ChainIntent

#: A step due for longer than this, or refused this many times, is stalled: a worker polls
#: every fraction of a second and the chain mines in seconds.
STALL_AFTER = timedelta(seconds=60)
STALL_ATTEMPTS = 3


@dataclass(frozen=True)
class Stall:
    waiting: int  # chain steps stalled
    since: datetime  # when the oldest of them was written
    last_error: str | None  # what the worker last met, if anything


def stall(session: Session, now: datetime, *, organization_id: uuid.UUID | None = None) -> Stall | None:
    """The chain steps (of one organization, or all) that should have gone out by now."""
    stalled = sa.and_(
        ChainIntent.state.in_(OPEN_STATES),
        sa.or_(ChainIntent.next_attempt_at < now - STALL_AFTER, ChainIntent.attempts >= STALL_ATTEMPTS),
    )
    if organization_id is not None:
        stalled = sa.and_(stalled, ChainIntent.organization_id == organization_id)
    waiting, since = session.execute(sa.select(sa.func.count(), sa.func.min(ChainIntent.created_at)).where(stalled)).one()
    if not waiting:
        return None
    last_error = session.execute(
        sa.select(ChainIntent.last_error).where(stalled, ChainIntent.last_error.is_not(None)).order_by(ChainIntent.updated_at.desc()).limit(1)
    ).scalar_one_or_none()
    return Stall(waiting=waiting, since=since, last_error=last_error)
