"""The registries through which one domain reacts to another, kept per app.

Each app gets one `Wiring` in `app.extensions`; `concord.bootstrap.wire(app)` fills it at
start-up. Nothing registers itself on import, so two apps in one process (tests, the CLI)
never share handlers, and the order in which modules are imported changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from concord.ledger.chain import Chain
    from concord.ledger.models import ChainIntent
    from concord.ledger.verification import Scope

KEY = "concord.wiring"


@dataclass(frozen=True)
class SignCheck:
    """Asked before an intent it `concerns` is signed: a reason returned means the intent is
    moot and fails unsent. The outbox signs such an intent only once every earlier intent of
    its sender is settled (others it signs ahead), so a check may read the chain's state as
    the sender's earlier steps left it."""

    concerns: Callable[[ChainIntent], bool]
    check: Callable[[Session, ChainIntent, Chain], str | None]


@dataclass(frozen=True)
class EngagedRule:
    """What an auditor reads of a model under an engagement covering `kind`: a SQL condition
    built from the engagement's grant (policy.ReadGrant: grantor, period)."""

    kind: str
    rule: Callable[[Any], Any]


@dataclass
class Wiring:
    #: Run in the worker's recording transaction when a chain intent is confirmed.
    on_confirmed: list[Callable[[Session, ChainIntent], None]] = field(default_factory=list)
    #: Asked before an intent is signed (see SignCheck).
    before_sign: list[SignCheck] = field(default_factory=list)
    #: Run with the app after each round of the ledger worker (each failure is logged alone).
    round_jobs: list[Callable[[Flask], Any]] = field(default_factory=list)
    #: What `concord ledger verify` compares with the chain beyond the ledger's own records
    #: (each is given the run's Scope: the block it reads, what changed since the last run).
    verify_checks: list[Callable[[Session, Chain, Scope], list]] = field(default_factory=list)
    #: Visibility rules of domains policy.py does not know (model -> principal -> SQL condition).
    visibility: dict[type, Callable[[Any], Any]] = field(default_factory=dict)
    #: What an engagement lets an auditor read of a model, beyond its own rule (see policy.visible).
    engaged_visibility: dict[type, EngagedRule] = field(default_factory=dict)
    #: Called with the description of an object another organization tried to reach (404).
    on_denied_probe: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)


def of(app: Flask) -> Wiring:
    """The app's wiring (empty until `bootstrap.wire(app)` fills it)."""
    wiring = app.extensions.get(KEY)
    if wiring is None:
        wiring = app.extensions[KEY] = Wiring()
    return wiring


def current() -> Wiring:
    """The wiring of the app in context (an empty one outside any app context)."""
    return of(current_app) if has_app_context() else Wiring()


def of_session(session: Session) -> Wiring:
    """The wiring of the app whose database made `session` (see db.Database.init_app)."""
    app = session.info.get("concord.app")
    return of(app) if app is not None else current()
