"""Settlement of receivables: the holder is paid when the order's escrow releases (or
resolves) or when the buyer's open-account payment is mined, and the waterfall is
recorded to the token unit.

    waterfall        financier share = min(paid, claim), supplier share = the rest, shortfall
                     = what the claim misses (unfinanced: the supplier's share is all of it)
    on_escrow_settled  the escrow's release or resolution is mined (wired on the escrow)
    pay_invoice      the buyer pays an open-account invoice on chain, due or early, to
                     whoever holds the receivable then
    on_chain_step / on_chain_refusal   the gateway's confirmations and refusals of
                     receivable and offer transactions, dispatched to the finance services
    settle_due       financed settlements whose exchange settlement is not on its way are
                     queued again (a round job)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.audit.service import Action
from concord.db import commit_or_conflict, database, get_or_raise
from concord.errors import Conflict
from concord.finance import escrow_payments, invoices, queries
from concord.finance import lifecycle as invoice_lifecycle
from concord.finance import offers_lifecycle as lifecycle
from concord.finance import receivables as receivables_service
from concord.finance.models import FinancingOffer, Invoice, OfferState, Receivable, ReceivableState, SettlementRecord
from concord.ledger import escrow_state
from concord.ledger import receivables as gateway
from concord.ledger.models import OPEN_STATES, ChainIntent, IntentState
from concord.orders.models import PurchaseOrder
from concord.policy import Principal


def visibility() -> dict[type, Any]:
    """A settlement's waterfall is seen by the supplier and by the financier it paid."""
    return {
        SettlementRecord: lambda p: sa.or_(
            SettlementRecord.receivable_id.in_(sa.select(Receivable.id).where(Receivable.supplier_org_id == p.org.id)),
            SettlementRecord.offer_id.in_(sa.select(FinancingOffer.id).where(FinancingOffer.financier_org_id == p.org.id)),
        )
    }


@dataclass(frozen=True)
class Waterfall:
    amount_paid: Decimal
    financier_share: Decimal
    supplier_share: Decimal
    shortfall: Decimal


def waterfall(amount_paid: Decimal, claim: Decimal | None) -> Waterfall:
    """Who gets what of a payment: the financier at most its claim, the supplier the rest;
    the shortfall is what the claim misses. Without a claim (unfinanced), all to the supplier."""
    if claim is None:
        return Waterfall(amount_paid, Decimal("0.00"), amount_paid, Decimal("0.00"))
    financier = min(amount_paid, claim)
    return Waterfall(amount_paid, financier, amount_paid - financier, claim - financier)


def financed_offer(session: Session, receivable: Receivable) -> FinancingOffer | None:
    return session.execute(
        sa.select(FinancingOffer).where(FinancingOffer.receivable_id == receivable.id, FinancingOffer.state.in_((OfferState.FINANCED, OfferState.SETTLED)))
    ).scalar_one_or_none()


def record_settlement(session: Session, receivable: Receivable, amount_paid: Decimal, when: datetime, intent: ChainIntent) -> SettlementRecord | None:
    """The receivable's payment is mined: record the waterfall, settle it, mark its invoice
    paid, queue the exchange's settlement when it is financed, and tell the parties."""
    if not lifecycle.can_enter_receivable(receivable, "settle"):
        return None
    offer = financed_offer(session, receivable) if receivable.state == ReceivableState.FINANCED else None
    split = waterfall(amount_paid, offer.claim if offer is not None else None)
    settled = SettlementRecord(
        receivable_id=receivable.id,
        offer_id=offer.id if offer is not None else None,
        currency=receivable.currency,
        amount_paid=split.amount_paid,
        financier_share=split.financier_share,
        supplier_share=split.supplier_share,
        shortfall=split.shortfall,
        recorded_at=when,
    )
    session.add(settled)
    before = lifecycle.enter_receivable(receivable, "settle")
    receivable.settled_at, receivable.amount_paid = when, amount_paid
    intents = (
        gateway.settle(session, offer=offer, receivable=receivable, committed=queries.committed_besides(session, offer, receivable.currency))
        if offer is not None
        else []
    )
    if amount_paid > 0:  # a dispute split may leave the holder nothing: the invoice is then not paid
        invoices.mark_paid(session, receivable.invoice_id, min(amount_paid, receivable.amount), when)
    session.flush()
    receivables_service.audit(
        session,
        Action.RECEIVABLE_SETTLED,
        receivable,
        None,
        before,
        amount_paid=str(split.amount_paid),
        financier_share=str(split.financier_share),
        supplier_share=str(split.supplier_share),
        shortfall=str(split.shortfall),
        paid_by=intent.tx_hash,
        chain_transactions=[str(i.uid) for i in intents],
    )
    shares = (
        f"{split.financier_share} to the financier (claim {offer.claim}), {split.supplier_share} to the supplier"
        + (f", {split.shortfall} short" if split.shortfall else "")
        if offer is not None
        else "all of it to the supplier"
    )
    receivables_service.tell(
        session,
        "receivable.settled",
        receivable,
        receivables_service.parties(receivable),
        f"The receivable is paid: {amount_paid} {receivable.currency}, {shares}.",
        amount_paid=split.amount_paid,
        supplier_share=split.supplier_share,
        tx_hash=intent.tx_hash,
    )
    return settled


def on_escrow_settled(session: Session, order_id: uuid.UUID, intent: ChainIntent) -> None:
    """The order's escrow released (or resolved) on chain: it paid the receivable's holder
    what it paid the payee, and the order's invoices no receivable holds are paid from what
    is left (wired by concord.bootstrap on the escrow's settlement)."""
    receivables = session.execute(
        sa.select(Receivable)
        .where(
            Receivable.order_id == order_id,
            Receivable.escrowed.is_(True),
            Receivable.state.in_((ReceivableState.REGISTERED, ReceivableState.VERIFIED, ReceivableState.FINANCED)),
        )
        .with_for_update()
    ).scalars()
    order = get_or_raise(session, PurchaseOrder, order_id)
    split = escrow_state.settled_split(session, order, settled_by=intent)
    if split is None:
        raise LookupError(f"Order {order_id}: no settling step of its escrow")
    for receivable in list(receivables):
        record_settlement(session, receivable, split[0], clock.utcnow(), intent)
    escrow_payments.settle_from_escrow(session, order, split[0])


# -- open account: the buyer pays ---------------------------------------------------------------------


def _payment_sent(session: Session, receivable: Receivable) -> bool:
    intents = receivables_service.receivable_intents(session, receivable)
    return any(gateway.step_of(i) == gateway.ReceivableStep.PAY and i.state in (*OPEN_STATES, IntentState.CONFIRMED) for i in intents)


def pay_invoice(session: Session, principal: Principal, invoice_id: uuid.UUID) -> Receivable:
    """The buyer pays an approved open-account invoice on chain, at its due date or early,
    to whoever holds its receivable then (registered first when it is not yet)."""
    invoice = policy.get_visible(session, Invoice, invoice_id, principal, for_update=True)
    invoice_lifecycle.check(session, invoice, principal, "pay")
    receivable = session.execute(sa.select(Receivable).where(Receivable.invoice_id == invoice.id).with_for_update()).scalar_one_or_none()
    if receivable is None:
        receivable = receivables_service.register(session, invoice, principal)
    lifecycle.check_receivable(receivable, principal, "pay")
    if _payment_sent(session, receivable):
        raise Conflict(f"Invoice {invoice.number}'s payment is already on its way to the ledger.", current_state=str(receivable.state), allowed_actions=[])
    amount = receivables_service.expected_payment(session, receivable)
    intents = []
    if receivables_service.acknowledgement_refused(receivables_service.receivable_intents(session, receivable)):
        intents.append(gateway.acknowledge(session, receivable=receivable))  # the chain pays only what the buyer acknowledged
    intents += gateway.pay(session, receivable=receivable, amount=amount)
    session.flush()
    receivables_service.audit(
        session, Action.RECEIVABLE_PAYMENT_SENT, receivable, principal, receivable.state, amount=str(amount), chain_transactions=[str(i.uid) for i in intents]
    )
    commit_or_conflict(session, "This invoice's payment was just sent by another request.")
    return receivable


# -- the chain's answers ------------------------------------------------------------------------------


def on_settle_confirmed(session: Session, offer_id: uuid.UUID, intent: ChainIntent) -> None:
    """The exchange's settlement is mined: the financier kept its share, the rest went back
    to the supplier."""
    from concord.finance import financing  # financing re-exports settle_due from here

    offer = session.execute(sa.select(FinancingOffer).where(FinancingOffer.id == offer_id).with_for_update()).scalar_one_or_none()
    if offer is None or not lifecycle.can_enter_offer(offer, "settle"):
        return
    settled = session.execute(sa.select(SettlementRecord).where(SettlementRecord.offer_id == offer.id)).scalar_one_or_none()
    before = lifecycle.enter_offer(offer, "settle")
    if settled is not None:
        settled.tx_hash = intent.tx_hash
    financing.audit(session, Action.FINANCING_SETTLED, offer, None, before, tx_hash=intent.tx_hash)
    financing.tell(
        session,
        "financing.settled",
        offer,
        {offer.supplier_org_id, offer.financier_org_id},
        "The financing is settled on chain"
        + (f": {settled.financier_share} kept by the financier, {settled.supplier_share} returned to the supplier." if settled is not None else "."),
        tx_hash=intent.tx_hash,
    )


def _on_pay_confirmed(session: Session, receivable_id: uuid.UUID, intent: ChainIntent) -> None:
    receivable = session.execute(sa.select(Receivable).where(Receivable.id == receivable_id).with_for_update()).scalar_one_or_none()
    if receivable is not None:
        record_settlement(session, receivable, receivables_service.expected_payment(session, receivable), clock.utcnow(), intent)


def on_chain_step(session: Session, subject_type: str, subject_id: uuid.UUID, step: gateway.ReceivableStep, intent: ChainIntent) -> None:
    """A receivable's or an offer's transaction is mined (the gateway's `on_step` adapter)."""
    from concord.finance import financing

    handlers = {
        (gateway.RECEIVABLE_SUBJECT, gateway.ReceivableStep.REGISTER): receivables_service.on_registration_confirmed,
        (gateway.RECEIVABLE_SUBJECT, gateway.ReceivableStep.ACKNOWLEDGE): receivables_service.on_acknowledged,
        (gateway.RECEIVABLE_SUBJECT, gateway.ReceivableStep.PAY): _on_pay_confirmed,
        (gateway.OFFER_SUBJECT, gateway.ReceivableStep.ACCEPT): financing.on_accept_confirmed,
        (gateway.OFFER_SUBJECT, gateway.ReceivableStep.SETTLE): on_settle_confirmed,
    }
    handler = handlers.get((subject_type, step))
    if handler is not None:
        handler(session, subject_id, intent)


def on_chain_refusal(session: Session, subject_type: str, subject_id: uuid.UUID, step: gateway.ReceivableStep, intent: ChainIntent) -> None:
    """A receivable's or an offer's transaction failed for good (the gateway's `on_refused`)."""
    from concord.finance import financing

    if subject_type == gateway.RECEIVABLE_SUBJECT and step == gateway.ReceivableStep.REGISTER:
        receivables_service.on_registration_refused(session, subject_id, intent)
    elif subject_type == gateway.RECEIVABLE_SUBJECT and step == gateway.ReceivableStep.ACKNOWLEDGE:
        receivables_service.on_acknowledgement_refused(session, subject_id, intent)
    elif subject_type == gateway.OFFER_SUBJECT and step in (gateway.ReceivableStep.OFFER, gateway.ReceivableStep.ACCEPT):
        financing.on_offer_refused(session, subject_id, intent)


def settle_due(app: Flask) -> int:
    """Queue again the exchange's settlement of financed receivables already paid whose
    settlement is neither on its way nor mined (it was refused: the financier's escrow
    withdrawal not yet mined, say). Returns how many were queued."""
    queued = 0
    with app.app_context(), database(app).sessionmaker() as session:
        pending = session.execute(
            sa.select(SettlementRecord.offer_id)
            .join(FinancingOffer, FinancingOffer.id == SettlementRecord.offer_id)
            .where(FinancingOffer.state == OfferState.FINANCED)
        ).scalars()
        for offer_id in list(pending):
            intents = session.execute(
                sa.select(ChainIntent).where(ChainIntent.subject_type == gateway.OFFER_SUBJECT, ChainIntent.subject_id == str(offer_id))
            ).scalars()
            if any(gateway.step_of(i) == gateway.ReceivableStep.SETTLE and i.state != IntentState.FAILED for i in intents):
                session.rollback()
                continue
            offer = session.execute(sa.select(FinancingOffer).where(FinancingOffer.id == offer_id).with_for_update()).scalar_one()
            receivable = get_or_raise(session, Receivable, offer.receivable_id)
            gateway.settle(session, offer=offer, receivable=receivable, committed=queries.committed_besides(session, offer, receivable.currency))
            session.commit()
            queued += 1
    return queued
