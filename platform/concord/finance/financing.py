"""Financing a verified receivable: the supplier asks its financier partners, each answers
with terms or declines, the supplier accepts one and the others are withdrawn.

    request_offers  the supplier asks one or more ACTIVE supplier–financier partners
    make_offer      the financier answers: advance rate, annual discount rate, fees, validity;
                    advance = amount × rate, discount = advance × annual rate × days to the
                    due date / 365 (each half-even to the cent), claim = advance + discount +
                    fees; within its exposure limits; made on chain
    decline         the financier will not finance it
    withdraw        the supplier withdraws its request, or the financier its offer
    accept          the supplier accepts one offer: assignment and advance in one exchange
                    transaction; every other offer is withdrawn (on chain too)
    expire_due      offers past their validity expire (a round job)
    buyer_record    the buyer's record with the platform, shown to the financiers

The receivable is financed (its holder the financier) when the exchange's acceptance is
mined (`on_accept_confirmed`); settlement.py takes it from there.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.audit.service import Action, record
from concord.db import commit_or_conflict, database
from concord.errors import Conflict, ValidationFailed
from concord.finance import limits
from concord.finance import offers_lifecycle as lifecycle
from concord.finance import queries as invoice_queries
from concord.finance import receivables as receivables_service
from concord.finance.models import FinancingOffer, Invoice, InvoiceKind, InvoiceState, OfferState, Receivable, ReceivableState, SettlementRecord
from concord.finance.settlement import settle_due as settle_due
from concord.ledger import receivables as gateway
from concord.ledger.models import OPEN_STATES, ChainIntent
from concord.notifications.service import notify
from concord.orders.models import AMOUNT, Dispute, OrderState, PurchaseOrder
from concord.policy import Principal
from concord.tenancy import service as tenancy
from concord.tenancy.models import Relation

CENT = Decimal("0.01")
RATE_STEP = Decimal("0.0001")
DAYS_A_YEAR = Decimal(365)
MAX_AMOUNT = AMOUNT.limit - CENT


def visibility() -> dict[type, Any]:
    """An offer is seen by the supplier who asked and the financier asked."""
    return {FinancingOffer: lambda p: sa.or_(FinancingOffer.supplier_org_id == p.org.id, FinancingOffer.financier_org_id == p.org.id)}


# -- the arithmetic -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    advance: Decimal
    discount: Decimal
    claim: Decimal


def days_to(due_date: date, today: date) -> int:
    return max((due_date - today).days, 0)


def offer_terms(amount: Decimal, advance_rate: Decimal, discount_rate: Decimal, fees: Decimal, due_date: date, today: date) -> Terms:
    """advance = amount × advance rate; discount = advance × annual rate × days(today → due
    date) / 365; claim = advance + discount + fees (half-even to the cent at each step)."""
    advance = (amount * advance_rate / 100).quantize(CENT, rounding=ROUND_HALF_EVEN)
    discount = (advance * discount_rate / 100 * days_to(due_date, today) / DAYS_A_YEAR).quantize(CENT, rounding=ROUND_HALF_EVEN)
    return Terms(advance=advance, discount=discount, claim=advance + discount + fees)


def programme_terms(amount: Decimal, discount_rate: Decimal, due_date: date, today: date) -> Terms:
    """Reverse factoring: the financier pays the whole amount less the discount at the
    programme's annual rate to the due date, and claims the whole amount."""
    discount = (amount * discount_rate / 100 * days_to(due_date, today) / DAYS_A_YEAR).quantize(CENT, rounding=ROUND_HALF_EVEN)
    return Terms(advance=amount - discount, discount=discount, claim=amount)


# -- telling the parties --------------------------------------------------------------------------


def audit(session: Session, action: Action, offer: FinancingOffer, actor: Principal | None, before: OfferState | None, **details: Any) -> None:
    record(
        session,
        action,
        actor=actor.actor if actor is not None else None,
        subject_org_id=offer.supplier_org_id,
        related_org_id=offer.financier_org_id,
        object_type="financing_offer",
        object_id=offer.id,
        before={"state": str(before)} if before is not None else None,
        after={"state": str(offer.state), **{k: str(getattr(offer, k)) for k in ("advance", "discount", "claim") if getattr(offer, k) is not None}},
        **details,
    )


def tell(session: Session, event: str, offer: FinancingOffer, org_ids, summary: str, **data: Any) -> None:
    notify(
        session,
        event,
        org_ids=org_ids,
        object_type="financing_offer",
        object_id=offer.id,
        summary=summary,
        data={
            "offer_id": str(offer.id),
            "receivable_id": str(offer.receivable_id),
            "state": str(offer.state),
            **{k: getattr(offer, k) for k in ("advance_rate", "discount_rate", "fees", "advance", "discount", "claim") if getattr(offer, k) is not None},
            **data,
        },
    )


def _both(offer: FinancingOffer) -> set[uuid.UUID]:
    return {offer.supplier_org_id, offer.financier_org_id}


# -- the buyer's record -----------------------------------------------------------------------------


def buyer_record(session: Session, buyer_org_id: uuid.UUID, today: date | None = None) -> dict[str, Any]:
    """The buyer's record with the platform, for a financier pricing its payables: orders
    issued and closed, invoices paid (and how many by their due date), approved open-account
    invoices past due and unpaid, and disputes; the on-time rate counts the paid and overdue."""
    today = today or clock.utcnow().date()
    orders = session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(PurchaseOrder.state == OrderState.CLOSED)).where(
            PurchaseOrder.buyer_org_id == buyer_org_id, PurchaseOrder.state != OrderState.DRAFT
        )
    ).one()
    payments = session.execute(
        sa.select(Invoice.paid_at, Invoice.due_date).where(
            Invoice.buyer_org_id == buyer_org_id, Invoice.kind == InvoiceKind.INVOICE, Invoice.state == InvoiceState.PAID, Invoice.paid_at.is_not(None)
        )
    ).all()
    paid = len(payments)
    on_time = sum(1 for when, due_date in payments if when.date() <= due_date)
    overdue = session.execute(
        sa.select(sa.func.count()).select_from(Invoice).where(Invoice.buyer_org_id == buyer_org_id, invoice_queries.overdue_condition(today))
    ).scalar_one()
    disputes = session.execute(sa.select(sa.func.count()).select_from(Dispute).where(Dispute.buyer_org_id == buyer_org_id)).scalar_one()
    due = paid + overdue
    return {
        "buyer_id": buyer_org_id,
        "buyer_name": tenancy.legal_name(session, buyer_org_id),
        "orders": orders[0],
        "orders_closed": orders[1],
        "invoices_paid": paid,
        "invoices_paid_on_time": on_time,
        "invoices_overdue": overdue,
        "on_time_payment_rate": None if due == 0 else (Decimal(on_time * 100) / due).quantize(CENT, rounding=ROUND_HALF_EVEN),
        "disputes": disputes,
    }


# -- asking ----------------------------------------------------------------------------------------


def _locked_receivable(session: Session, receivable_id: uuid.UUID) -> Receivable:
    return session.execute(sa.select(Receivable).where(Receivable.id == receivable_id).with_for_update().execution_options(populate_existing=True)).scalar_one()


def _accepted_offer(session: Session, receivable_id: uuid.UUID) -> FinancingOffer | None:
    return session.execute(
        sa.select(FinancingOffer).where(
            FinancingOffer.receivable_id == receivable_id, FinancingOffer.state.in_((OfferState.ACCEPTED, OfferState.FINANCED, OfferState.SETTLED))
        )
    ).scalar_one_or_none()


def request_offers(session: Session, principal: Principal, receivable_id: uuid.UUID, financier_ids: list[uuid.UUID]) -> list[FinancingOffer]:
    """Ask each financier (an ACTIVE supplier–financier partner) for an offer on a verified
    receivable. A financier asked before who declined, withdrew, or whose offer expired or
    was refused, may be asked again."""
    receivable = policy.get_visible(session, Receivable, receivable_id, principal, for_update=True)
    lifecycle.check_receivable(receivable, principal, "request_offers")
    if (taken := _accepted_offer(session, receivable.id)) is not None:
        raise Conflict(f"Offer {taken.id} was accepted already: the receivable is no longer offered.", current_state=str(receivable.state))
    errors: dict[int, list[str]] = {}
    if len(set(financier_ids)) != len(financier_ids):
        raise ValidationFailed({"financier_ids": ["Name each financier once."]})
    existing = {
        offer.financier_org_id: offer for offer in session.execute(sa.select(FinancingOffer).where(FinancingOffer.receivable_id == receivable.id)).scalars()
    }
    for index, financier_id in enumerate(financier_ids):
        if not tenancy.are_partners(session, Relation.SUPPLIER_FINANCIER, receivable.supplier_org_id, financier_id):
            errors[index] = ["Not an active financier partner of your organization."]
        elif financier_id in existing and existing[financier_id].state in lifecycle.LIVE_OFFER_STATES:
            errors[index] = [f"Already asked: offer {existing[financier_id].id} is {existing[financier_id].state}."]
    if errors:
        raise ValidationFailed({"financier_ids": errors})
    now, offers = clock.utcnow(), []
    for financier_id in financier_ids:
        offer = existing.get(financier_id)
        if offer is None:
            offer = FinancingOffer(receivable_id=receivable.id, supplier_org_id=receivable.supplier_org_id, financier_org_id=financier_id)
            session.add(offer)
        for name in (
            "advance_rate",
            "discount_rate",
            "fees",
            "valid_until",
            "advance",
            "discount",
            "claim",
            "offered_by",
            "offered_at",
            "decided_by",
            "decided_at",
        ):
            setattr(offer, name, None)
        offer.state, offer.state_reason, offer.programme_id = OfferState.REQUESTED, None, None
        offer.requested_by, offer.requested_at = principal.user.id, now
        offers.append(offer)
    session.flush()
    names = tenancy.legal_names(session, {receivable.supplier_org_id, receivable.buyer_org_id})
    for offer in offers:
        audit(session, Action.FINANCING_REQUESTED, offer, principal, None)
        tell(
            session,
            "financing.requested",
            offer,
            _both(offer),
            f"{names[receivable.supplier_org_id]} asks you to finance a verified receivable of {receivable.amount} {receivable.currency} on {names[receivable.buyer_org_id]}, due {receivable.due_date}.",
        )
    commit_or_conflict(session, "These financiers were just asked by another request.")
    return offers


# -- answering --------------------------------------------------------------------------------------


def _locked_offer(session: Session, principal: Principal, offer_id: uuid.UUID) -> FinancingOffer:
    return policy.get_visible(session, FinancingOffer, offer_id, principal, for_update=True)


def _not_under_programme(offer: FinancingOffer) -> None:
    if offer.programme_id is not None:
        raise Conflict(
            "This early payment runs at the programme's terms: it is made and accepted on chain once the receivable is verified.",
            current_state=str(offer.state),
            allowed_actions=[],
        )


def offer_mistakes(receivable: Receivable, data: dict[str, Any], now: datetime) -> dict[str, list[str]]:
    """What the schema cannot see of an answer: a validity already past or beyond the due
    date, an advance of nothing, a claim too large to hold."""
    errors: dict[str, list[str]] = {}
    valid_until = data["valid_until"]
    if valid_until <= now:
        errors["valid_until"] = ["Must be in the future."]
    elif valid_until.date() > receivable.due_date:
        errors["valid_until"] = [f"An offer cannot outlive the receivable's due date ({receivable.due_date})."]
    terms = offer_terms(receivable.amount, data["advance_rate"], data["discount_rate"], data["fees"], receivable.due_date, now.date())
    if terms.advance < CENT:
        errors["advance_rate"] = [f"The advance would be {terms.advance}: at least {CENT}."]
    if terms.claim > MAX_AMOUNT:
        errors["fees"] = [f"The claim would be {terms.claim}: at most {MAX_AMOUNT}."]
    return errors


def make_offer(session: Session, principal: Principal, offer_id: uuid.UUID, data: dict[str, Any]) -> FinancingOffer:
    """The financier answers with its terms (within its exposure limits); the offer is made
    on chain, where the supplier's acceptance pulls the advance from the financier."""
    offer = _locked_offer(session, principal, offer_id)
    lifecycle.check_offer(offer, principal, "offer")
    _not_under_programme(offer)
    receivable = _locked_receivable(session, offer.receivable_id)
    if receivable.state != ReceivableState.VERIFIED:
        raise Conflict(f"The receivable is {receivable.state}: only a verified receivable is financed.", current_state=str(offer.state))
    now = clock.utcnow()
    if errors := offer_mistakes(receivable, data, now):
        raise ValidationFailed(errors)
    terms = offer_terms(receivable.amount, data["advance_rate"], data["discount_rate"], data["fees"], receivable.due_date, now.date())
    limits.check_room(session, offer.financier_org_id, receivable, terms.advance)
    _apply_terms(offer, principal, data["advance_rate"], data["discount_rate"], data["fees"], data["valid_until"], terms, now)
    before = lifecycle.enter_offer(offer, "offer")
    intents = gateway.make_offer(session, offer=offer, receivable=receivable, committed=invoice_queries.committed_besides(session, offer, receivable.currency))
    session.flush()
    audit(session, Action.FINANCING_OFFERED, offer, principal, before, chain_transactions=[str(i.uid) for i in intents])
    tell(
        session,
        "financing.offered",
        offer,
        _both(offer),
        f"{principal.org.legal_name} offers {offer.advance} {receivable.currency} now against {receivable.amount} due {receivable.due_date} (claim {offer.claim}), valid until {clock.shown(offer.valid_until or now)}.",
    )
    commit_or_conflict(session)
    return offer


def _apply_terms(offer, principal: Principal, advance_rate, discount_rate, fees, valid_until, terms: Terms, now: datetime) -> None:
    offer.advance_rate, offer.discount_rate = advance_rate.quantize(RATE_STEP), discount_rate.quantize(RATE_STEP)
    offer.fees, offer.valid_until = fees.quantize(CENT), valid_until
    offer.advance, offer.discount, offer.claim = terms.advance, terms.discount, terms.claim
    offer.offered_by, offer.offered_at = principal.user.id, now


def decline(session: Session, principal: Principal, offer_id: uuid.UUID, reason: str | None) -> FinancingOffer:
    offer = _locked_offer(session, principal, offer_id)
    lifecycle.check_offer(offer, principal, "decline")
    _not_under_programme(offer)
    before = lifecycle.enter_offer(offer, "decline")
    offer.state_reason, offer.decided_by, offer.decided_at = reason, principal.user.id, clock.utcnow()
    audit(session, Action.FINANCING_DECLINED, offer, principal, before, reason=reason)
    tell(
        session,
        "financing.declined",
        offer,
        _both(offer),
        f"{principal.org.legal_name} declined to finance the receivable" + (f": {reason}" if reason else "."),
    )
    session.commit()
    return offer


def _withdraw(session: Session, offer: FinancingOffer, actor: Principal | None, reason: str) -> list[ChainIntent]:
    made = offer.state == OfferState.OFFERED
    before = lifecycle.enter_offer(offer, "withdraw")
    offer.state_reason, offer.decided_at = reason, clock.utcnow()
    offer.decided_by = actor.user.id if actor is not None else None
    intents = [gateway.withdraw_offer(session, offer=offer)] if made else []
    session.flush()
    audit(session, Action.FINANCING_WITHDRAWN, offer, actor, before, reason=reason, chain_transactions=[str(i.uid) for i in intents])
    tell(session, "financing.withdrawn", offer, _both(offer), f"The financing offer on the receivable is withdrawn: {reason}")
    return intents


def withdraw_refused(session: Session, offer: FinancingOffer, reason: str) -> None:
    """Withdraw an offer the platform could not carry through (no one's decision), in the caller's transaction."""
    _withdraw(session, offer, None, reason)


def withdraw(session: Session, principal: Principal, offer_id: uuid.UUID, reason: str | None) -> FinancingOffer:
    """The supplier withdraws its request (or the offer it no longer wants), or the
    financier its offer before it is accepted (withdrawn on chain too)."""
    offer = _locked_offer(session, principal, offer_id)
    lifecycle.check_offer(offer, principal, "withdraw")
    _withdraw(session, offer, principal, reason or f"withdrawn by {principal.org.legal_name}")
    session.commit()
    return offer


# -- accepting --------------------------------------------------------------------------------------


def _on_its_way(session: Session, offer: FinancingOffer) -> bool:
    return (
        session.execute(
            sa.select(ChainIntent.seq)
            .where(ChainIntent.subject_type == gateway.OFFER_SUBJECT, ChainIntent.subject_id == str(offer.id), ChainIntent.state.in_(OPEN_STATES))
            .limit(1)
        ).first()
        is not None
    )


def accept_terms(session: Session, offer: FinancingOffer, receivable: Receivable, actor: Principal | None) -> list[ChainIntent]:
    """Accept an offer (the caller checked who may; `actor` None when an early payment taken
    earlier completes): the exchange assigns the receivable and pays the advance in one
    transaction; every other offer on the receivable is withdrawn."""
    now = clock.utcnow()
    if offer.valid_until is not None and offer.valid_until <= now:
        raise Conflict(f"This offer expired at {clock.shown(offer.valid_until)}.", current_state=str(offer.state), allowed_actions=[])
    if (taken := _accepted_offer(session, receivable.id)) is not None:
        raise Conflict(f"Offer {taken.id} was accepted already.", current_state=str(offer.state))
    if offer.advance is None:
        raise LookupError(f"Offer {offer.id} is offered without terms")
    limits.check_room(session, offer.financier_org_id, receivable, offer.advance)
    intents = list(gateway.accept_offer(session, offer=offer, receivable=receivable))
    before = lifecycle.enter_offer(offer, "accept")
    offer.decided_by, offer.decided_at = actor.user.id if actor is not None else offer.requested_by, now
    session.flush()
    others = session.execute(
        sa.select(FinancingOffer)
        .where(
            FinancingOffer.receivable_id == receivable.id, FinancingOffer.id != offer.id, FinancingOffer.state.in_((OfferState.REQUESTED, OfferState.OFFERED))
        )
        .with_for_update()
    ).scalars()
    for other in others:
        intents += _withdraw(session, other, actor, "the supplier accepted another offer")
    audit(session, Action.FINANCING_ACCEPTED, offer, actor, before, chain_transactions=[str(i.uid) for i in intents])
    tell(
        session,
        "financing.accepted",
        offer,
        _both(offer),
        f"{tenancy.legal_name(session, offer.supplier_org_id)} accepted the offer: {offer.advance} {receivable.currency} is paid against the receivable's assignment on chain.",
    )
    return intents


def accept(session: Session, principal: Principal, offer_id: uuid.UUID) -> FinancingOffer:
    """The supplier accepts one offer (once it is on the ledger, within its validity and
    the financier's limits)."""
    # The receivable's row first, then the offer's: acceptances of several offers on one
    # receivable queue on it (offer first, each would wait for the others' offers, which
    # accept_terms withdraws, while they wait for the receivable: a deadlock on PostgreSQL).
    offer = policy.get_visible(session, FinancingOffer, offer_id, principal)
    receivable = _locked_receivable(session, offer.receivable_id)
    session.refresh(offer, with_for_update=True)
    lifecycle.check_offer(offer, principal, "accept")
    lifecycle.check_receivable(receivable, principal, "accept_offer")
    if _on_its_way(session, offer):
        raise Conflict("The financier's offer is still on its way to the ledger; accept it once it is there.", current_state=str(offer.state))
    accept_terms(session, offer, receivable, principal)
    commit_or_conflict(session, "Another offer on this receivable was just accepted.")
    return offer


# -- the clock and the chain ------------------------------------------------------------------------


def expire_due(app: Flask) -> int:
    """Expire the offers past their validity (a round job); the chain refuses to accept
    them by itself. Returns how many expired."""
    expired = 0
    with app.app_context(), database(app).sessionmaker() as session:
        due = session.execute(
            sa.select(FinancingOffer.id).where(FinancingOffer.state == OfferState.OFFERED, FinancingOffer.valid_until <= clock.utcnow())
        ).scalars()
        for offer_id in list(due):
            offer = session.execute(sa.select(FinancingOffer).where(FinancingOffer.id == offer_id).with_for_update()).scalar_one()
            if offer.state != OfferState.OFFERED:
                session.rollback()
                continue
            before = lifecycle.enter_offer(offer, "expire")
            offer.state_reason = "its validity passed"
            audit(session, Action.FINANCING_EXPIRED, offer, None, before)
            tell(session, "financing.expired", offer, _both(offer), "A financing offer expired before it was accepted.")
            session.commit()
            expired += 1
    return expired


def on_offer_refused(session: Session, offer_id: uuid.UUID, intent: ChainIntent) -> None:
    """The chain refused an offer or its acceptance (balance, allowance, the receivable
    moved): the offer is refused; the receivable stays verified, to be offered again."""
    offer = session.execute(sa.select(FinancingOffer).where(FinancingOffer.id == offer_id).with_for_update()).scalar_one_or_none()
    if offer is None or not lifecycle.can_enter_offer(offer, "refuse"):
        return
    before = lifecycle.enter_offer(offer, "refuse")
    offer.state_reason = (intent.revert_reason or intent.last_error or "refused by the chain")[:500]
    audit(session, Action.FINANCING_REFUSED, offer, None, before, reason=offer.state_reason, tx_hash=intent.tx_hash)
    tell(session, "financing.refused", offer, _both(offer), f"The chain refused the financing: {offer.state_reason}")


def on_accept_confirmed(session: Session, offer_id: uuid.UUID, intent: ChainIntent) -> None:
    """The exchange's acceptance is mined: the receivable is the financier's, the advance paid."""
    offer = session.execute(sa.select(FinancingOffer).where(FinancingOffer.id == offer_id).with_for_update()).scalar_one_or_none()
    if offer is None or not lifecycle.can_enter_offer(offer, "finance"):
        return
    receivable = _locked_receivable(session, offer.receivable_id)
    now = clock.utcnow()
    before = lifecycle.enter_offer(offer, "finance")
    offer.financed_at = now
    audit(session, Action.FINANCING_FINANCED, offer, None, before, tx_hash=intent.tx_hash, block_number=intent.block_number)
    if lifecycle.can_enter_receivable(receivable, "finance"):
        before_receivable = lifecycle.enter_receivable(receivable, "finance")
        receivable.holder_org_id, receivable.financed_at = offer.financier_org_id, now
        receivables_service.audit(session, Action.RECEIVABLE_FINANCED, receivable, None, before_receivable, offer_id=str(offer.id), tx_hash=intent.tx_hash)
    tell(
        session,
        "financing.financed",
        offer,
        {*_both(offer), receivable.buyer_org_id},
        f"The receivable of {receivable.amount} {receivable.currency} is assigned on chain to {tenancy.legal_name(session, offer.financier_org_id)}, who paid {offer.advance} {receivable.currency}; it is paid to them when due.",
        tx_hash=intent.tx_hash,
    )


def offer_intents(session: Session, offer_ids) -> list[ChainIntent]:
    """The chain transactions of these offers, oldest first."""
    ids = [str(i) for i in offer_ids]
    if not ids:
        return []
    return list(
        session.execute(
            sa.select(ChainIntent).where(ChainIntent.subject_type == gateway.OFFER_SUBJECT, ChainIntent.subject_id.in_(ids)).order_by(ChainIntent.seq)
        ).scalars()
    )


def offers_query(principal: Principal, *, receivable_id: uuid.UUID | None = None, state: OfferState | None = None) -> sa.Select:
    query = sa.select(FinancingOffer).where(policy.visible(principal, FinancingOffer))
    if receivable_id is not None:
        query = query.where(FinancingOffer.receivable_id == receivable_id)
    if state is not None:
        query = query.where(FinancingOffer.state == state)
    return query


def receivables_query(principal: Principal, *, state: ReceivableState | None = None) -> sa.Select:
    query = sa.select(Receivable).where(policy.visible(principal, Receivable))
    return query if state is None else query.where(Receivable.state == state)


def receivable_of_invoice(session: Session, invoice_id: uuid.UUID) -> Receivable | None:
    return session.execute(sa.select(Receivable).where(Receivable.invoice_id == invoice_id)).scalar_one_or_none()


def shown_offer(session: Session, principal: Principal, offer: FinancingOffer) -> dict[str, Any]:
    """The offer as OfferSchema shows it, with what the principal may do with it now."""
    shown = {column.key: getattr(offer, column.key) for column in sa.inspect(FinancingOffer).column_attrs}
    shown["financier_name"] = tenancy.legal_name(session, offer.financier_org_id)
    shown["allowed_actions"] = lifecycle.offer_actions(offer, lifecycle.offer_side(offer, principal))
    return shown


def shown_receivable(session: Session, principal: Principal, receivable: Receivable) -> dict[str, Any]:
    """The receivable as ReceivableSchema shows it: its row, what its holder will be paid,
    and what the principal may do with it now."""
    shown = {column.key: getattr(receivable, column.key) for column in sa.inspect(Receivable).column_attrs}
    shown["expected_payment"] = receivables_service.expected_payment(session, receivable)
    shown["allowed_actions"] = lifecycle.receivable_actions(receivable, lifecycle.receivable_side(receivable, principal))
    return shown


def receivable_detail(session: Session, principal: Principal, receivable_id: uuid.UUID) -> dict[str, Any]:
    """A receivable with its evidence (as frozen when verified, or as it stands), the buyer's
    record, the offers the principal may see, its settlement and its chain history (the
    receivable's transactions and those of the offers shown)."""
    receivable = policy.get_visible(session, Receivable, receivable_id, principal)
    offers = list(session.execute(offers_query(principal, receivable_id=receivable.id).order_by(FinancingOffer.requested_at)).scalars())
    settled = session.execute(sa.select(SettlementRecord).where(SettlementRecord.receivable_id == receivable.id)).scalar_one_or_none()
    history = sorted([*receivables_service.receivable_intents(session, receivable), *offer_intents(session, [o.id for o in offers])], key=lambda i: i.seq)
    return {
        **shown_receivable(session, principal, receivable),
        "evidence": receivable.evidence or receivables_service.evidence(session, receivable),
        "buyer_record": buyer_record(session, receivable.buyer_org_id),
        "offers": [shown_offer(session, principal, offer) for offer in offers],
        "settlement": settled if settled is not None and (principal.org.id != receivable.buyer_org_id) else None,
        "chain_history": history,
    }
