"""Payment terms per buyer–supplier partnership: how the buyer pays (escrow, or open account
at net N days) and the tolerances of the three-way match.

The buyer sets them; the supplier reads them (and is told of every change). They apply to
the orders issued afterwards: an order fixes its settlement and net days when it is issued,
so the supplier sees them on the order before acknowledging it (it may reject an order whose
terms it does not accept), and an invoice keeps the terms it was entered under.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.audit.service import Action, record
from concord.errors import Conflict, Forbidden, NotFound
from concord.finance.matching import NO_TOLERANCE, Tolerances
from concord.finance.models import PaymentTerms, Settlement
from concord.notifications.service import notify
from concord.policy import Principal
from concord.tenancy.models import Partnership, PartnershipStatus, Relation

#: What a partnership without terms pays by: escrow, with no tolerance.
DEFAULT_SETTLEMENT = Settlement.ESCROW
DEFAULT_NET_DAYS = 30


@dataclass(frozen=True)
class Terms:
    """A partnership's terms as they apply (its row, or the defaults)."""

    settlement: Settlement
    net_days: int
    tolerances: Tolerances
    agreed: bool  # False: the partnership has no terms row, the defaults apply


DEFAULT_TERMS = Terms(DEFAULT_SETTLEMENT, DEFAULT_NET_DAYS, NO_TOLERANCE, agreed=False)


def _partnership_of(buyer_org_id: uuid.UUID, supplier_org_id: uuid.UUID) -> sa.Select:
    return sa.select(Partnership.id).where(
        Partnership.relation == Relation.BUYER_SUPPLIER,
        Partnership.org_a_id == buyer_org_id,
        Partnership.org_b_id == supplier_org_id,
    )


def terms_for(session: Session, buyer_org_id: uuid.UUID, supplier_org_id: uuid.UUID) -> PaymentTerms | None:
    """The payment terms of the buyer–supplier partnership (None: none were set)."""
    query = sa.select(PaymentTerms).where(PaymentTerms.partnership_id.in_(_partnership_of(buyer_org_id, supplier_org_id)))
    return session.execute(query).scalars().first()


def applying(session: Session, buyer_org_id: uuid.UUID, supplier_org_id: uuid.UUID) -> Terms:
    """The terms that apply between the two: the partnership's, or the defaults."""
    row = terms_for(session, buyer_org_id, supplier_org_id)
    return DEFAULT_TERMS if row is None else as_terms(row)


def as_terms(row: PaymentTerms) -> Terms:
    return Terms(row.settlement, row.net_days, Tolerances(row.quantity_tolerance, row.price_tolerance, row.amount_tolerance), agreed=True)


def partnership(session: Session, principal: Principal, partnership_id: uuid.UUID, *, for_update: bool = False) -> Partnership:
    """A buyer–supplier partnership the principal's organization is part of (404 otherwise,
    and for other relations: they have no payment terms)."""
    found = policy.get_visible(session, Partnership, partnership_id, principal, for_update=for_update)
    if found.relation != Relation.BUYER_SUPPLIER:
        raise NotFound("No such buyer–supplier partnership.")
    return found


def get_terms(session: Session, principal: Principal, partnership_id: uuid.UUID) -> tuple[Partnership, PaymentTerms | None]:
    found = partnership(session, principal, partnership_id)
    return found, session.get(PaymentTerms, found.id)


def snapshot(row: PaymentTerms) -> dict[str, Any]:
    return {
        "settlement": str(row.settlement),
        "net_days": row.net_days,
        "quantity_tolerance": str(row.quantity_tolerance),
        "price_tolerance": str(row.price_tolerance),
        "amount_tolerance": str(row.amount_tolerance),
    }


def set_terms(session: Session, principal: Principal, partnership_id: uuid.UUID, data: dict[str, Any]) -> PaymentTerms:
    """The buyer sets the partnership's terms (every field; the schema bounds them). Orders
    already issued keep the terms they were issued under."""
    policy.require_writer(principal)
    found = partnership(session, principal, partnership_id, for_update=True)
    if found.org_a_id != principal.org.id:
        raise Forbidden("The buyer of the partnership sets its payment terms; the supplier reads them.")
    if found.status != PartnershipStatus.ACTIVE:
        raise Conflict(f"The partnership is {found.status}: payment terms are set on an active partnership.", current_state=str(found.status))
    row = session.get(PaymentTerms, found.id)
    before = snapshot(row) if row is not None else None
    if row is None:
        row = PaymentTerms(partnership_id=found.id)
        session.add(row)
    row.settlement = Settlement(data["settlement"])
    row.net_days = data["net_days"]
    row.quantity_tolerance = data["quantity_tolerance"]
    row.price_tolerance = data["price_tolerance"]
    row.amount_tolerance = data["amount_tolerance"]
    row.updated_by = principal.user.id
    row.updated_at = clock.utcnow()
    session.flush()
    after = snapshot(row)
    record(
        session,
        Action.PAYMENT_TERMS_SET,
        actor=principal.actor,
        subject_org_id=found.org_a_id,
        related_org_id=found.org_b_id,
        object_type="partnership",
        object_id=found.id,
        before=before,
        after=after,
    )
    how = "open account, net " + str(row.net_days) + " days" if row.settlement == Settlement.OPEN_ACCOUNT else "escrow"
    notify(
        session,
        "payment_terms.updated",
        org_ids={found.org_a_id, found.org_b_id},
        object_type="partnership",
        object_id=found.id,
        summary=f"{principal.org.legal_name} set the payment terms of your partnership: {how}; they apply to orders issued from now on.",
        data={"partnership_id": str(found.id), **after},
    )
    session.commit()
    return row


def snapshot_of(applied: Terms) -> dict[str, Any]:
    """The terms an invoice was matched under, as its audit entry keeps them."""
    return {
        "settlement": str(applied.settlement),
        "net_days": applied.net_days,
        "quantity_tolerance": str(applied.tolerances.quantity),
        "price_tolerance": str(applied.tolerances.price),
        "amount_tolerance": str(applied.tolerances.amount),
        "agreed": applied.agreed,
    }
