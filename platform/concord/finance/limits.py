"""Exposure limits: the most a financier will have outstanding on one buyer (the debtor of
the receivables it finances) or one supplier (their seller), per currency.

Outstanding = the advances of its accepted or financed offers whose receivable is not yet
settled. An offer (or an acceptance) that would take the financier past a limit is refused
with a 409 naming the limit. A financier without a limit for a counterparty sets none.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from concord import policy
from concord.audit.service import Action, record
from concord.db import commit_or_conflict
from concord.errors import Conflict, Forbidden, ValidationFailed
from concord.finance.models import ExposureLimit, FinancingOffer, LimitSide, Receivable
from concord.finance.offers_lifecycle import EXPOSED_OFFER_STATES
from concord.policy import Principal
from concord.tenancy import service as tenancy
from concord.tenancy.models import Capability, Organization, OrgStatus

_SIDE_COLUMN = {LimitSide.BUYER: Receivable.buyer_org_id, LimitSide.SUPPLIER: Receivable.supplier_org_id}


def visibility() -> dict[type, Any]:
    """A financier's limits are its own."""
    return {ExposureLimit: lambda p: ExposureLimit.financier_org_id == p.org.id}


def outstanding(session: Session, financier_org_id: uuid.UUID, side: LimitSide, counterparty_org_id: uuid.UUID, currency: str) -> Decimal:
    """The financier's advances outstanding on the counterparty (as buyer or supplier)."""
    total = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(FinancingOffer.advance), 0))
        .join(Receivable, Receivable.id == FinancingOffer.receivable_id)
        .where(
            FinancingOffer.financier_org_id == financier_org_id,
            FinancingOffer.state.in_(EXPOSED_OFFER_STATES),
            _SIDE_COLUMN[side] == counterparty_org_id,
            Receivable.currency == currency,
        )
    ).scalar_one()
    return Decimal(str(total)).quantize(Decimal("0.01"))


def limit_of(
    session: Session, financier_org_id: uuid.UUID, side: LimitSide, counterparty_org_id: uuid.UUID, currency: str, *, for_update: bool = False
) -> ExposureLimit | None:
    query = sa.select(ExposureLimit).where(
        ExposureLimit.financier_org_id == financier_org_id,
        ExposureLimit.side == side,
        ExposureLimit.counterparty_org_id == counterparty_org_id,
        ExposureLimit.currency == currency,
    )
    return session.execute(query.with_for_update() if for_update else query).scalar_one_or_none()


def check_room(session: Session, financier_org_id: uuid.UUID, receivable: Receivable, advance: Decimal) -> None:
    """Raise a 409 naming the limit when `advance` more on this receivable's buyer or supplier
    would take the financier past one of its limits. The limits' rows are locked, so two
    acceptances against one limit are checked one after the other."""
    for side, counterparty in ((LimitSide.BUYER, receivable.buyer_org_id), (LimitSide.SUPPLIER, receivable.supplier_org_id)):
        limit = limit_of(session, financier_org_id, side, counterparty, receivable.currency, for_update=True)
        if limit is None:
            continue
        used = outstanding(session, financier_org_id, side, counterparty, receivable.currency)
        if used + advance > limit.amount:
            name = tenancy.legal_name(session, counterparty)
            raise Conflict(
                f"This advance of {advance} {receivable.currency} would exceed the {side} limit on {name}: {limit.amount} {receivable.currency}, of which {used} is outstanding.",
                errors={
                    "limit": [
                        f"{side} limit {limit.id}: {limit.amount} {receivable.currency}, outstanding {used}, available {max(limit.amount - used, Decimal('0.00'))}."
                    ]
                },
            )


def _require_financier(principal: Principal) -> None:
    policy.require_writer(principal)
    if not principal.org.has(Capability.FINANCIER):
        raise Forbidden("Only financiers set exposure limits.")


def set_limit(session: Session, principal: Principal, data: dict[str, Any]) -> ExposureLimit:
    """Set (or change) the financier's limit on one buyer or supplier in one currency. A
    limit below what is outstanding is allowed: it refuses new exposure until repaid."""
    _require_financier(principal)
    side = LimitSide(data["side"])
    counterparty = session.get(Organization, data["counterparty_id"])
    needed = Capability.BUYER if side == LimitSide.BUYER else Capability.SUPPLIER
    if counterparty is None or counterparty.status != OrgStatus.ACTIVE or not counterparty.has(needed):
        raise ValidationFailed({"counterparty_id": [f"No active consortium member with the {needed} capability has this id."]})
    currency = data["currency"].upper()
    if currency not in current_app.config["SETTLEMENT_CURRENCIES"]:
        raise ValidationFailed({"currency": [f"Receivables settle in {', '.join(current_app.config['SETTLEMENT_CURRENCIES'])}."]})
    limit = limit_of(session, principal.org.id, side, counterparty.id, currency)
    before = None if limit is None else {"amount": str(limit.amount)}
    if limit is None:
        limit = ExposureLimit(
            financier_org_id=principal.org.id,
            counterparty_org_id=counterparty.id,
            side=side,
            currency=currency,
            amount=data["amount"],
            updated_by=principal.user.id,
        )
        session.add(limit)
    else:
        limit.amount, limit.updated_by = data["amount"], principal.user.id
    session.flush()
    record(
        session,
        Action.EXPOSURE_LIMIT_SET,
        actor=principal.actor,
        subject_org_id=principal.org.id,
        related_org_id=counterparty.id,
        object_type="exposure_limit",
        object_id=limit.id,
        before=before,
        after={"side": str(side), "counterparty_id": str(counterparty.id), "currency": currency, "amount": str(limit.amount)},
    )
    commit_or_conflict(session, "This limit was just set by another request; reload and try again.")
    return limit


def limits_query(principal: Principal) -> sa.Select:
    return sa.select(ExposureLimit).where(policy.visible(principal, ExposureLimit))


def shown_limit(session: Session, limit: ExposureLimit) -> dict[str, Any]:
    """The limit with what is outstanding against it and what is left."""
    used = outstanding(session, limit.financier_org_id, limit.side, limit.counterparty_org_id, limit.currency)
    return {
        "id": limit.id,
        "counterparty_id": limit.counterparty_org_id,
        "counterparty_name": tenancy.legal_name(session, limit.counterparty_org_id),
        "side": limit.side,
        "currency": limit.currency,
        "amount": limit.amount,
        "outstanding": used,
        "available": max(limit.amount - used, Decimal("0.00")),
        "updated_at": limit.updated_at,
    }
