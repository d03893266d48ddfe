"""The registries through which one domain reacts to another, kept per app.

Each app gets one `Wiring` in `app.extensions`; `concord.bootstrap.wire(app)` fills it at
start-up. Nothing registers itself on import, so two apps in one process (tests, the CLI)
never share handlers, and the order in which modules are imported changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
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
class StepLine:
    """Goods a physical step moved: a product class (GTIN, lot when known) and how many."""

    gtin: str | None
    lot: str | None
    quantity: Decimal
    unit: str


@dataclass(frozen=True)
class PhysicalStep:
    """A physical step of an order, as its domain tells it to those who keep its trace (the
    provenance records its EPCIS event), inside the step's own transaction.

    `kind` is "shipped" (the supplier), "milestone" (the carrier: `milestone` and `place`),
    "delivered" (the carrier's proof of delivery) or "received" (the buyer: `lines` accepted,
    `rejected` the rest). `organization_id` took the step; `parties` may see its trace."""

    kind: str
    organization_id: uuid.UUID
    user_id: uuid.UUID
    occurred_at: datetime
    order_id: uuid.UUID
    supplier_org_id: uuid.UUID
    buyer_org_id: uuid.UUID
    parties: frozenset[uuid.UUID]
    lines: tuple[StepLine, ...]
    ship_to_gln: str | None = None
    shipment_id: uuid.UUID | None = None
    receipt_id: uuid.UUID | None = None
    rejected: tuple[StepLine, ...] = ()
    milestone: str | None = None
    place: str | None = None


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
    #: Run in the transaction that settles a chain intent as failed (reverted, refused by the
    #: node for good, or never sendable), so a domain can undo what the intent was for.
    on_failed: list[Callable[[Session, ChainIntent], None]] = field(default_factory=list)
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
    #: Run in the step's transaction when a physical step of an order is taken (a failure
    #: fails the step: nothing of it is written).
    on_physical_step: list[Callable[[Session, PhysicalStep], None]] = field(default_factory=list)


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


def physical_step(session: Session, step: PhysicalStep) -> None:
    """Tell the step to every reaction registered for it, in the step's transaction."""
    for react in of_session(session).on_physical_step:
        react(session, step)
