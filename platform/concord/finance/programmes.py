"""Buyer-led financing (reverse factoring): a buyer opens a programme with a financier
partner (a buyer–financier partnership), the financier sets its annual rate and the most it
will have outstanding, and the buyer's suppliers take early payment on the buyer's approved
invoices in one step (`early_payment`): the receivable is registered if it is not yet, and
the programme financier's offer is made and accepted at the programme's terms (the whole
amount less the discount at the programme's rate to the due date), through the same
exchange as any other financing.

    request / open / decline / close   the programme's lifecycle (TRANSITIONS)
    programme_for(invoice)             the open programme an invoice may be paid early under
    early_payment                      the supplier takes early payment on an approved invoice
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.audit.service import Action, record
from concord.db import commit_or_conflict
from concord.errors import Conflict, Forbidden, ValidationFailed
from concord.finance import financing, limits, queries
from concord.finance import offers_lifecycle as offer_lifecycle
from concord.finance import receivables as receivables_service
from concord.finance.models import FinancingOffer, FinancingProgramme, Invoice, InvoiceState, OfferState, ProgrammeState, Receivable, ReceivableState
from concord.notifications.service import notify
from concord.policy import Principal
from concord.tenancy import service as tenancy
from concord.tenancy.models import Capability, Relation

BUYER, FINANCIER, EITHER = "buyer", "financier", "either"
PARTIES = (BUYER, FINANCIER)
P = ProgrammeState
#: (state, action) -> (next state, who takes it). A declined or closed programme may be
#: asked for again ("request" reopens its row).
TRANSITIONS: dict[tuple[ProgrammeState, str], tuple[ProgrammeState, str]] = {
    (P.REQUESTED, "open"): (P.OPEN, FINANCIER),
    (P.REQUESTED, "decline"): (P.DECLINED, FINANCIER),
    (P.REQUESTED, "close"): (P.CLOSED, EITHER),
    (P.OPEN, "close"): (P.CLOSED, EITHER),
    (P.DECLINED, "request"): (P.REQUESTED, BUYER),
    (P.CLOSED, "request"): (P.REQUESTED, BUYER),
}
#: How long the offer an early payment makes stays valid (it is accepted at once).
EARLY_PAYMENT_VALIDITY = timedelta(days=1)
#: Receivables a programme's early payments may be taken on.
_EARLY_STATES = (ReceivableState.REGISTERING, ReceivableState.REGISTERED, ReceivableState.VERIFIED)


def visibility() -> dict[type, Any]:
    """A programme is seen by its buyer and its financier."""
    return {FinancingProgramme: lambda p: sa.or_(FinancingProgramme.buyer_org_id == p.org.id, FinancingProgramme.financier_org_id == p.org.id)}


def side_of(programme: FinancingProgramme, principal: Principal) -> str:
    if programme.buyer_org_id == principal.org.id:
        return BUYER
    return FINANCIER if programme.financier_org_id == principal.org.id else "reader"


def allowed_actions(programme: FinancingProgramme, side: str) -> list[str]:
    return offer_lifecycle.allowed(TRANSITIONS, programme.state, side, PARTIES)


def _check(programme: FinancingProgramme, principal: Principal, action: str) -> None:
    policy.require_writer(principal)
    offer_lifecycle.check_table(TRANSITIONS, "programme", programme.state, side_of(programme, principal), action, PARTIES)


def _enter(programme: FinancingProgramme, action: str) -> ProgrammeState:
    before, programme.state = programme.state, TRANSITIONS[(programme.state, action)][0]
    return before


def _tell(
    session: Session, event: str, action: Action, programme: FinancingProgramme, principal: Principal, before: ProgrammeState | None, summary: str
) -> None:
    record(
        session,
        action,
        actor=principal.actor,
        subject_org_id=programme.buyer_org_id,
        related_org_id=programme.financier_org_id,
        object_type="financing_programme",
        object_id=programme.id,
        before={"state": str(before)} if before is not None else None,
        after={
            "state": str(programme.state),
            "currency": programme.currency,
            "discount_rate": None if programme.discount_rate is None else str(programme.discount_rate),
            "limit_amount": None if programme.limit_amount is None else str(programme.limit_amount),
        },
    )
    notify(
        session,
        event,
        org_ids={programme.buyer_org_id, programme.financier_org_id},
        object_type="financing_programme",
        object_id=programme.id,
        summary=summary,
        data={"programme_id": str(programme.id), "state": str(programme.state), "currency": programme.currency, "discount_rate": programme.discount_rate},
    )


def request(session: Session, principal: Principal, data: dict[str, Any]) -> FinancingProgramme:
    """The buyer asks a financier partner (buyer–financier) to open a programme in a currency."""
    policy.require_writer(principal)
    if not principal.org.has(Capability.BUYER):
        raise Forbidden("Only buyers open financing programmes for their payables.")
    financier_id, currency = data["financier_id"], data["currency"].upper()
    if currency not in current_app.config["SETTLEMENT_CURRENCIES"]:
        raise ValidationFailed({"currency": [f"Programmes pay in {', '.join(current_app.config['SETTLEMENT_CURRENCIES'])}."]})
    if not tenancy.are_partners(session, Relation.BUYER_FINANCIER, principal.org.id, financier_id):
        raise ValidationFailed({"financier_id": ["Not an active financier partner of your organization (a buyer_financier partnership)."]})
    programme = session.execute(
        sa.select(FinancingProgramme)
        .where(
            FinancingProgramme.buyer_org_id == principal.org.id, FinancingProgramme.financier_org_id == financier_id, FinancingProgramme.currency == currency
        )
        .with_for_update()
    ).scalar_one_or_none()
    before = None
    if programme is None:
        programme = FinancingProgramme(buyer_org_id=principal.org.id, financier_org_id=financier_id, currency=currency, state=ProgrammeState.REQUESTED)
        session.add(programme)
    else:
        _check(programme, principal, "request")
        before = _enter(programme, "request")
        programme.discount_rate = programme.limit_amount = programme.decided_by = programme.decided_at = programme.state_reason = None
    programme.requested_by = principal.user.id
    session.flush()
    _tell(
        session,
        "programme.requested",
        Action.PROGRAMME_REQUESTED,
        programme,
        principal,
        before,
        f"{principal.org.legal_name} asks you to open a {currency} programme for its approved payables.",
    )
    commit_or_conflict(session, "This programme was just requested by another request.")
    return programme


def _decide(session: Session, principal: Principal, programme_id: uuid.UUID, action: str) -> tuple[FinancingProgramme, ProgrammeState]:
    programme = policy.get_visible(session, FinancingProgramme, programme_id, principal, for_update=True)
    _check(programme, principal, action)
    before = _enter(programme, action)
    programme.decided_by, programme.decided_at = principal.user.id, clock.utcnow()
    return programme, before


def open_programme(session: Session, principal: Principal, programme_id: uuid.UUID, data: dict[str, Any]) -> FinancingProgramme:
    """The financier opens the programme at its annual rate, with the most it will have outstanding."""
    programme, before = _decide(session, principal, programme_id, "open")
    programme.discount_rate, programme.limit_amount = data["discount_rate"].quantize(financing.RATE_STEP), data["limit_amount"].quantize(financing.CENT)
    _tell(
        session,
        "programme.opened",
        Action.PROGRAMME_OPENED,
        programme,
        principal,
        before,
        f"{principal.org.legal_name} opened the {programme.currency} programme at {programme.discount_rate} % a year, up to {programme.limit_amount} {programme.currency} outstanding.",
    )
    session.commit()
    return programme


#: How a programme ends, by action: its event, audit action and the verb its notice says.
_ENDINGS = {
    "decline": ("programme.declined", Action.PROGRAMME_DECLINED, "declined"),
    "close": ("programme.closed", Action.PROGRAMME_CLOSED, "closed"),
}


def _end(session: Session, principal: Principal, programme_id: uuid.UUID, action: str, reason: str | None) -> FinancingProgramme:
    programme, before = _decide(session, principal, programme_id, action)
    programme.state_reason = reason
    event, audited, verb = _ENDINGS[action]
    _tell(session, event, audited, programme, principal, before, f"{principal.org.legal_name} {verb} the programme" + (f": {reason}" if reason else "."))
    session.commit()
    return programme


def decline(session: Session, principal: Principal, programme_id: uuid.UUID, reason: str | None) -> FinancingProgramme:
    """The financier will not open the programme."""
    return _end(session, principal, programme_id, "decline", reason)


def close(session: Session, principal: Principal, programme_id: uuid.UUID, reason: str | None) -> FinancingProgramme:
    """Either side closes the programme: no new early payments (those taken run their course)."""
    return _end(session, principal, programme_id, "close", reason)


def programmes_query(principal: Principal, *, state: ProgrammeState | None = None) -> sa.Select:
    query = sa.select(FinancingProgramme).where(policy.visible(principal, FinancingProgramme))
    return query if state is None else query.where(FinancingProgramme.state == state)


# -- early payment ------------------------------------------------------------------------------------


def programme_for(session: Session, invoice: Invoice) -> FinancingProgramme | None:
    """The open programme the invoice's buyer runs in its currency at the lowest rate (None:
    the invoice cannot be paid early). For the supplier's invoice pages."""
    return session.execute(
        sa.select(FinancingProgramme)
        .where(
            FinancingProgramme.buyer_org_id == invoice.buyer_org_id,
            FinancingProgramme.currency == invoice.currency,
            FinancingProgramme.state == ProgrammeState.OPEN,
        )
        .order_by(FinancingProgramme.discount_rate, FinancingProgramme.created_at)
        .limit(1)
    ).scalar_one_or_none()


def programme_outstanding(session: Session, programme_id: uuid.UUID) -> Decimal:
    total = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(FinancingOffer.advance), 0)).where(
            FinancingOffer.programme_id == programme_id, FinancingOffer.state.in_(offer_lifecycle.EXPOSED_OFFER_STATES)
        )
    ).scalar_one()
    return Decimal(str(total)).quantize(Decimal("0.01"))


def early_payment(session: Session, principal: Principal, invoice_id: uuid.UUID) -> FinancingOffer:
    """The supplier takes early payment on an invoice its buyer approved, under the buyer's
    open programme, in one call: the invoice is registered as a receivable if it is not yet,
    and the programme financier's offer is recorded at the programme's terms; it is made and
    accepted on chain at once when the receivable is verified, or as soon as it is
    (`continue_early_payment`)."""
    invoice = policy.get_visible(session, Invoice, invoice_id, principal, for_update=True)
    policy.require_writer(principal)
    if invoice.supplier_org_id != principal.org.id:
        raise Forbidden("Only the supplier who issued the invoice takes early payment on it.")
    if invoice.state != InvoiceState.APPROVED:
        raise Conflict(
            f"Invoice {invoice.number} is {invoice.state}: early payment is for invoices the buyer approved.",
            current_state=str(invoice.state),
            allowed_actions=[],
        )
    programme = programme_for(session, invoice)
    if programme is None or programme.discount_rate is None:
        raise Conflict(
            f"The buyer runs no open {invoice.currency} programme: ask for financing offers instead.", current_state=str(invoice.state), allowed_actions=[]
        )
    now = clock.utcnow()
    if invoice.due_date <= now.date():
        raise Conflict(
            f"Invoice {invoice.number} is due {invoice.due_date}: there is nothing to pay early.", current_state=str(invoice.state), allowed_actions=[]
        )
    receivable = session.execute(sa.select(Receivable).where(Receivable.invoice_id == invoice.id).with_for_update()).scalar_one_or_none()
    if receivable is None:
        receivable = receivables_service.register(session, invoice, principal)
    elif receivable.state not in _EARLY_STATES:
        raise Conflict(f"The invoice's receivable is {receivable.state}: it cannot be paid early.", current_state=str(receivable.state), allowed_actions=[])
    terms = financing.programme_terms(receivable.amount, programme.discount_rate, receivable.due_date, now.date())
    used = programme_outstanding(session, programme.id)
    if programme.limit_amount is not None and used + terms.advance > programme.limit_amount:
        raise Conflict(
            f"The programme's limit of {programme.limit_amount} {programme.currency} has {max(programme.limit_amount - used, Decimal('0.00'))} left; this early payment needs {terms.advance}.",
            errors={"limit": [f"programme {programme.id}: {programme.limit_amount}, outstanding {used}"]},
        )
    limits.check_room(session, programme.financier_org_id, receivable, terms.advance)
    offer = session.execute(
        sa.select(FinancingOffer)
        .where(FinancingOffer.receivable_id == receivable.id, FinancingOffer.financier_org_id == programme.financier_org_id)
        .with_for_update()
    ).scalar_one_or_none()
    if offer is not None and offer.state in offer_lifecycle.LIVE_OFFER_STATES:
        raise Conflict(
            f"The programme's financier already has offer {offer.id} ({offer.state}) on this receivable.", current_state=str(offer.state), allowed_actions=[]
        )
    if offer is None:
        offer = FinancingOffer(receivable_id=receivable.id, supplier_org_id=receivable.supplier_org_id, financier_org_id=programme.financier_org_id)
        session.add(offer)
    offer.state, offer.state_reason, offer.programme_id = OfferState.REQUESTED, None, programme.id
    offer.requested_by, offer.requested_at = principal.user.id, now
    financing._apply_terms(offer, principal, Decimal(100), programme.discount_rate, Decimal("0.00"), _validity(receivable, now), terms, now)
    offer.offered_by = None  # made at the programme's terms, not by a person of the financier
    session.flush()
    chain = _make_and_accept(session, offer, receivable, principal) if receivable.state == ReceivableState.VERIFIED else []
    financing.audit(session, Action.EARLY_PAYMENT_TAKEN, offer, principal, None, programme_id=str(programme.id), chain_transactions=[str(i.uid) for i in chain])
    financing.tell(
        session,
        "financing.requested",
        offer,
        {offer.supplier_org_id, offer.financier_org_id},
        f"{principal.org.legal_name} takes early payment under your programme: {terms.advance} {receivable.currency} now against {receivable.amount} due {receivable.due_date}.",
    )
    commit_or_conflict(session, "This invoice's early payment was just taken by another request.")
    return offer


def _validity(receivable: Receivable, now: datetime) -> datetime:
    return min(now + EARLY_PAYMENT_VALIDITY, datetime.combine(receivable.due_date, time.max, tzinfo=now.tzinfo))


def _make_and_accept(session: Session, offer: FinancingOffer, receivable: Receivable, actor: Principal | None) -> list:
    """Make the programme's offer on chain and accept it (the accept waits for the offer)."""
    now = clock.utcnow()
    offer.valid_until, offer.offered_at = _validity(receivable, now), now
    offer_lifecycle.enter_offer(offer, "offer")
    session.flush()
    made = list(
        financing.gateway.make_offer(session, offer=offer, receivable=receivable, committed=queries.committed_besides(session, offer, receivable.currency))
    )
    return made + financing.accept_terms(session, offer, receivable, actor)


def continue_early_payment(session: Session, receivable: Receivable) -> None:
    """The receivable just became verified: an early payment taken before is made and
    accepted now (in the caller's transaction). One that can no longer be (the programme's
    limits were used meanwhile) is withdrawn, saying why."""
    waiting = session.execute(
        sa.select(FinancingOffer)
        .where(FinancingOffer.receivable_id == receivable.id, FinancingOffer.programme_id.is_not(None), FinancingOffer.state == OfferState.REQUESTED)
        .with_for_update()
    ).scalars()
    for offer in list(waiting):
        try:
            with session.begin_nested():
                _make_and_accept(session, offer, receivable, None)
        except Conflict as refused:
            financing.withdraw_refused(session, offer, f"the early payment could not be completed: {refused.detail}")
