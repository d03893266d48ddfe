"""Receivables: a matched (escrow) or approved (open account) invoice registered in the
chain's ReceivableRegistry, once across every platform on the chain.

    register_invoice      the supplier registers its invoice (POST /invoices/{id}/receivable)
    register_due          the worker registers every invoice ready for it (a round job)
    refresh_verification  verified once the receipt is confirmed on chain (escrow) or the
                          buyer's acknowledgement is mined (open account), the invoice matched
    evidence              what proves it: the order's, shipments' and receipt's transactions
                          and the match, frozen into the receivable when it is verified
    expected_payment      what its holder will be paid, as the escrow (or invoice) stands now

The chain's answers move a receivable through `on_step` / `on_refused` (registered by
concord.bootstrap with the gateway's adapters): nothing here names a contract function.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.audit.service import Action, record
from concord.db import commit_or_conflict, database, get_or_raise
from concord.errors import Conflict, Forbidden, NotFound
from concord.finance import offers_lifecycle as lifecycle
from concord.finance.models import FinancingOffer, Invoice, InvoiceKind, InvoiceState, Receivable, ReceivableState, Settlement
from concord.ledger import escrow, escrow_state
from concord.ledger import receivables as gateway
from concord.ledger.models import ChainIntent, IntentState
from concord.logistics.service import shipments_of
from concord.notifications.service import notify
from concord.orders.models import OrderState, PurchaseOrder, Receipt
from concord.policy import Principal
from concord.tenancy import service as tenancy

#: Invoice states a receivable may be registered from, by how the order settles.
REGISTRABLE = {
    Settlement.ESCROW: (InvoiceState.MATCHED, InvoiceState.APPROVED),
    Settlement.OPEN_ACCOUNT: (InvoiceState.APPROVED,),
}
#: Invoice states in which a registered receivable counts as matched (for verification).
MATCHED_STATES = (InvoiceState.MATCHED, InvoiceState.APPROVED, InvoiceState.PAID)


def visibility() -> dict[type, Any]:
    """A receivable is seen by its supplier, its buyer, its holder and every financier it
    was offered to (registered with policy by concord.bootstrap)."""
    return {
        Receivable: lambda p: sa.or_(
            Receivable.supplier_org_id == p.org.id,
            Receivable.buyer_org_id == p.org.id,
            Receivable.holder_org_id == p.org.id,
            Receivable.id.in_(sa.select(FinancingOffer.receivable_id).where(FinancingOffer.financier_org_id == p.org.id)),
        )
    }


# -- telling the parties --------------------------------------------------------------------


def parties(receivable: Receivable) -> set[uuid.UUID]:
    return {receivable.supplier_org_id, receivable.buyer_org_id, receivable.holder_org_id}


def audit(session: Session, action: Action, receivable: Receivable, actor: Principal | None, before: ReceivableState | None, **details: Any) -> None:
    record(
        session,
        action,
        actor=actor.actor if actor is not None else None,
        subject_org_id=receivable.supplier_org_id,
        related_org_id=receivable.holder_org_id if receivable.holder_org_id != receivable.supplier_org_id else receivable.buyer_org_id,
        object_type="receivable",
        object_id=receivable.id,
        before={"state": str(before)} if before is not None else None,
        after={"state": str(receivable.state), "amount": str(receivable.amount), "currency": receivable.currency},
        **details,
    )


def tell(session: Session, event: str, receivable: Receivable, org_ids, summary: str, **data: Any) -> None:
    """Notify organizations of a receivable's step (in-app and webhooks), in the caller's transaction."""
    notify(
        session,
        event,
        org_ids=org_ids,
        object_type="receivable",
        object_id=receivable.id,
        summary=summary,
        data={
            "receivable_id": str(receivable.id),
            "invoice_id": str(receivable.invoice_id),
            "order_id": str(receivable.order_id),
            "state": str(receivable.state),
            "amount": str(receivable.amount),
            "currency": receivable.currency,
            "fingerprint": receivable.fingerprint,
            **data,
        },
    )


# -- registering ------------------------------------------------------------------------------


def _registrable(session: Session, invoice: Invoice, order: PurchaseOrder) -> None:
    """Raise a 409 unless the invoice may become a receivable now."""
    if invoice.kind != InvoiceKind.INVOICE:
        raise Conflict("A credit note is not a receivable; register the invoice it credits.", current_state=str(invoice.state))
    wanted = REGISTRABLE[invoice.settlement]
    if invoice.state not in wanted:
        names = " or ".join(str(state) for state in wanted)
        raise Conflict(
            f"Invoice {invoice.number} is {invoice.state}: only a {names} invoice becomes a receivable"
            + (" (on open account, once the buyer approved it)." if invoice.settlement == Settlement.OPEN_ACCOUNT else "."),
            current_state=str(invoice.state),
        )
    existing = session.execute(sa.select(Receivable).where(Receivable.invoice_id == invoice.id)).scalar_one_or_none()
    if existing is not None:
        raise Conflict(f"Invoice {invoice.number} is already receivable {existing.id} ({existing.state}).", current_state=str(invoice.state))
    if invoice.total - invoice.credited_total <= 0:
        raise Conflict(f"Invoice {invoice.number} is fully credited: nothing is receivable.", current_state=str(invoice.state))
    if invoice.settlement != Settlement.ESCROW:
        return
    if escrow.funding(session, order.id) != escrow.Funding.FUNDED:
        raise Conflict(f"The escrow of order {order.number} is not funded on chain yet; register the receivable once it is.", current_state=str(order.state))
    if order.state == OrderState.CLOSED or escrow_state.progress(session, order.id).settled:
        raise Conflict(
            f"The escrow of order {order.number} is already released: its payment went to the supplier, so there is no receivable left to register.",
            current_state=str(order.state),
        )
    if order.settlement_queued_at is not None:
        raise Conflict(f"The escrow of order {order.number} is being released; its payment can no longer go to a financier.", current_state=str(order.state))
    taken = session.execute(
        sa.select(Receivable.id).where(Receivable.order_id == order.id, Receivable.escrowed.is_(True), Receivable.state != ReceivableState.REFUSED)
    ).first()
    if taken is not None:
        raise Conflict(f"Order {order.number}'s escrow already pays receivable {taken[0]}: an escrow pays one receivable.", current_state=str(order.state))


def register(session: Session, invoice: Invoice, actor: Principal | None) -> Receivable:
    """Register the (locked) invoice as a receivable in the caller's transaction (409 when it
    is not ready); `actor` None when the worker does it."""
    order = get_or_raise(session, PurchaseOrder, invoice.order_id)
    _registrable(session, invoice, order)
    amount = invoice.total - invoice.credited_total
    fingerprint = gateway.fingerprint_of(
        session,
        supplier_org_id=invoice.supplier_org_id,
        buyer_org_id=invoice.buyer_org_id,
        invoice_number=invoice.number,
        amount=amount,
        currency=invoice.currency,
        due_date=invoice.due_date,
    )
    if session.execute(sa.select(Receivable.id).where(Receivable.fingerprint == fingerprint)).first() is not None:
        raise Conflict("This invoice (same issuer, debtor, number, amount, currency and due date) is already registered as a receivable.")
    chain_id, registry = gateway.registry_address(session)
    receivable = Receivable(
        invoice_id=invoice.id,
        order_id=order.id,
        supplier_org_id=invoice.supplier_org_id,
        buyer_org_id=invoice.buyer_org_id,
        holder_org_id=invoice.supplier_org_id,
        fingerprint=fingerprint,
        chain_id=chain_id,
        registry_address=registry,
        escrowed=invoice.settlement == Settlement.ESCROW,
        amount=amount,
        currency=invoice.currency,
        due_date=invoice.due_date,
        state=ReceivableState.REGISTERING,
    )
    session.add(receivable)
    session.flush()
    intents = list(gateway.register(session, receivable=receivable, order=order))
    if not receivable.escrowed:
        # The buyer's approval of the invoice authorises its acknowledgement on chain.
        intents.append(gateway.acknowledge(session, receivable=receivable))
    session.flush()
    audit(session, Action.RECEIVABLE_REGISTRATION_REQUESTED, receivable, actor, None, fingerprint=fingerprint, chain_transactions=[str(i.uid) for i in intents])
    return receivable


def register_invoice(session: Session, principal: Principal, invoice_id: uuid.UUID) -> Receivable:
    """The supplier registers its invoice as a receivable: a matched invoice of an order whose
    escrow is still open, or an approved open-account invoice (the buyer's acknowledgement
    follows on chain). 409 when the invoice is not ready, already registered, or the same
    invoice is registered already (here, or by the database's unique fingerprint)."""
    invoice = policy.get_visible(session, Invoice, invoice_id, principal, for_update=True)
    policy.require_writer(principal)
    if invoice.supplier_org_id != principal.org.id:
        raise Forbidden("Only the supplier who issued the invoice registers it as a receivable.")
    receivable = register(session, invoice, principal)
    commit_or_conflict(session, "This invoice was just registered as a receivable by another request.")
    return receivable


def _ready_invoices(session: Session) -> list[uuid.UUID]:
    registered = sa.select(Receivable.invoice_id)
    ready = sa.or_(
        sa.and_(Invoice.settlement == Settlement.ESCROW, Invoice.state.in_(REGISTRABLE[Settlement.ESCROW])),
        sa.and_(Invoice.settlement == Settlement.OPEN_ACCOUNT, Invoice.state.in_(REGISTRABLE[Settlement.OPEN_ACCOUNT])),
    )
    return list(session.execute(sa.select(Invoice.id).where(Invoice.kind == InvoiceKind.INVOICE, ready, Invoice.id.not_in(registered))).scalars())


def register_due(app: Flask) -> int:
    """Register every invoice ready to become a receivable and not yet one (a round job of
    the worker); an invoice not ready yet (escrow not funded, being released) is passed over.
    Returns how many were registered."""
    registered = 0
    with app.app_context(), database(app).sessionmaker() as session:
        for invoice_id in _ready_invoices(session):
            invoice = session.execute(sa.select(Invoice).where(Invoice.id == invoice_id).with_for_update()).scalar_one()
            try:
                register(session, invoice, None)
                session.commit()
                registered += 1
            except (Conflict, NotFound):
                session.rollback()
            except sa.exc.IntegrityError:  # registered meanwhile by the supplier
                session.rollback()
        for receivable_id in session.execute(sa.select(Receivable.id).where(Receivable.state == ReceivableState.REGISTERED)).scalars().all():
            if refresh_verification(session, get_or_raise(session, Receivable, receivable_id)):
                session.commit()
            else:
                session.rollback()
    return registered


# -- verification and evidence ----------------------------------------------------------------


def step_confirmed(intents: list[ChainIntent], step: gateway.ReceivableStep) -> bool:
    """Whether one of these intents took `step` and the chain confirmed it."""
    return any(gateway.step_of(i) == step and i.state == IntentState.CONFIRMED for i in intents)


def receivable_intents(session: Session, receivable: Receivable) -> list[ChainIntent]:
    """The receivable's own chain transactions (registration, acknowledgement, payment), oldest first."""
    return list(
        session.execute(
            sa.select(ChainIntent)
            .where(ChainIntent.subject_type == gateway.RECEIVABLE_SUBJECT, ChainIntent.subject_id == str(receivable.id))
            .order_by(ChainIntent.seq)
        ).scalars()
    )


def verification_gap(session: Session, receivable: Receivable) -> str | None:
    """What the receivable still lacks to be verified (None: nothing)."""
    if receivable.state != ReceivableState.REGISTERED:
        return f"it is {receivable.state}"
    invoice = get_or_raise(session, Invoice, receivable.invoice_id)
    if invoice.state not in MATCHED_STATES:
        return f"its invoice is {invoice.state}"
    if receivable.escrowed:
        if escrow_state.confirmed_at(session, receivable.order_id, escrow.Step.CONFIRM_RECEIPT) is None:
            return "the buyer's receipt is not confirmed on chain yet"
    elif not step_confirmed(intents := receivable_intents(session, receivable), gateway.ReceivableStep.ACKNOWLEDGE):
        if acknowledgement_refused(intents):
            return f"the chain refused the buyer's acknowledgement ({receivable.state_reason}); paying the invoice acknowledges it again"
        return "the buyer's acknowledgement is not mined yet"
    return None


def acknowledgement_refused(intents: list[ChainIntent]) -> bool:
    """Whether the receivable's latest acknowledgement failed (none is on its way or mined)."""
    acknowledgements = [i for i in intents if gateway.step_of(i) == gateway.ReceivableStep.ACKNOWLEDGE]
    return bool(acknowledgements) and acknowledgements[-1].state == IntentState.FAILED


def refresh_verification(session: Session, receivable: Receivable) -> bool:
    """Verify a registered receivable once the chain shows the receipt confirmed (escrow) or
    the buyer's acknowledgement (open account) and its invoice is matched: its evidence is
    frozen, the parties told. Returns whether it moved (the caller commits)."""
    if verification_gap(session, receivable) is not None:
        return False
    before = lifecycle.enter_receivable(receivable, "verify")
    receivable.verified_at = clock.utcnow()
    receivable.evidence = evidence(session, receivable)
    audit(session, Action.RECEIVABLE_VERIFIED, receivable, None, before)
    tell(
        session,
        "receivable.verified",
        receivable,
        {receivable.supplier_org_id, receivable.buyer_org_id},
        f"Receivable for invoice {receivable.evidence['invoice']['number']} is verified on chain: {receivable.amount} {receivable.currency}, due {receivable.due_date}.",
    )
    from concord.finance import programmes  # programmes builds on this module

    programmes.continue_early_payment(session, receivable)
    return True


def verify_on_receipt(session: Session, intent: ChainIntent) -> None:
    """An escrow's receipt confirmation is mined: the order's registered receivables may now
    be verified (an outbox confirmation handler, wired by concord.bootstrap)."""
    if intent.subject_type != escrow.ESCROW_SUBJECT or intent.function != escrow.Step.CONFIRM_RECEIPT:
        return
    for receivable in session.execute(
        sa.select(Receivable).where(Receivable.order_id == uuid.UUID(intent.subject_id), Receivable.state == ReceivableState.REGISTERED).with_for_update()
    ).scalars():
        refresh_verification(session, receivable)


def _transaction(intent: ChainIntent) -> dict[str, Any]:
    return {
        "step": intent.function,
        "proves": intent.purpose,
        "tx_hash": intent.tx_hash,
        "block_number": intent.block_number,
        "state": str(intent.state),
        "confirmed_at": intent.finished_at.isoformat() if intent.finished_at and intent.state == IntentState.CONFIRMED else None,
    }


def evidence(session: Session, receivable: Receivable) -> dict[str, Any]:
    """What proves the receivable: the order, its shipments with their proofs of delivery,
    the receipt, the chain transactions of the escrow, the shipments and the receivable
    itself (hash, block, what each proves), and the invoice's three-way match."""
    order = get_or_raise(session, PurchaseOrder, receivable.order_id)
    invoice = get_or_raise(session, Invoice, receivable.invoice_id)
    shipments = shipments_of(session, order.id)
    receipt = session.execute(sa.select(Receipt).where(Receipt.order_id == order.id)).scalar_one_or_none()
    escrow_and_shipments = escrow_state.transactions(session, order.id, [str(s.id) for s in shipments])
    names = tenancy.legal_names(session, {s.carrier_org_id for s in shipments})
    return {
        "order": {
            "id": str(order.id),
            "number": order.number,
            "currency": order.currency,
            "confirmed_total": str(order.confirmed_total) if order.confirmed_total is not None else None,
            "settlement": str(order.settlement),
            "issued_at": order.issued_at.isoformat() if order.issued_at else None,
        },
        "shipments": [
            {
                "id": str(s.id),
                "number": s.number,
                "carrier": names.get(s.carrier_org_id),
                "shipped_at": s.shipped_at.isoformat(),
                "delivered_at": s.pod_delivered_at.isoformat() if s.pod_delivered_at else None,
                "proof_of_delivery_hash": s.pod_proof_hash,
            }
            for s in shipments
        ],
        "receipt": None
        if receipt is None
        else {"accepted_value": str(receipt.accepted_value), "refund_value": str(receipt.refund_value), "confirmed_at": receipt.created_at.isoformat()},
        "invoice": {
            "id": str(invoice.id),
            "number": invoice.number,
            "state": str(invoice.state),
            "total": str(invoice.total),
            "credited_total": str(invoice.credited_total),
            "issue_date": invoice.issue_date.isoformat(),
            "due_date": invoice.due_date.isoformat(),
            "match": [
                {
                    "line_no": line.line_no,
                    "status": str(line.match_status),
                    "reason": line.match_reason,
                    "quantity": str(line.quantity),
                    "accepted_quantity": None if line.accepted_quantity is None else str(line.accepted_quantity),
                    "unit_price": str(line.unit_price),
                    "ordered_unit_price": None if line.ordered_unit_price is None else str(line.ordered_unit_price),
                }
                for line in invoice.lines
            ],
        },
        "registry": {"chain_id": receivable.chain_id, "address": receivable.registry_address, "fingerprint": receivable.fingerprint},
        "transactions": [_transaction(i) for i in [*escrow_and_shipments, *receivable_intents(session, receivable)] if i.tx_hash is not None],
    }


def expected_payment(session: Session, receivable: Receivable) -> Decimal:
    """What the receivable's holder will be paid as things stand now, to the cent (see `_expected`)."""
    return _expected(session, receivable).quantize(Decimal("0.01"))


def _expected(session: Session, receivable: Receivable) -> Decimal:
    """What the receivable's holder will be paid, as things stand now: for an escrowed one,
    what the escrow pays its payee (the confirmed total until a receipt, then the accepted
    value, a dispute's payee amount once resolved); on open account, the invoice less its
    credit notes. Once settled, what was paid."""
    if receivable.amount_paid is not None:
        return receivable.amount_paid
    if not receivable.escrowed:
        invoice = get_or_raise(session, Invoice, receivable.invoice_id)
        return min(receivable.amount, invoice.total - invoice.credited_total)
    order = get_or_raise(session, PurchaseOrder, receivable.order_id)
    split = escrow_state.settled_split(session, order)
    if split is not None:
        return split[0]
    shown = escrow_state.settlement(session, order)
    if shown.released_amount is not None:
        return shown.released_amount
    if shown.accepted_value is not None:
        return shown.accepted_value
    receipt = session.execute(sa.select(Receipt).where(Receipt.order_id == order.id)).scalar_one_or_none()
    if receipt is not None:
        return receipt.accepted_value
    return order.confirmed_total or Decimal("0.00")


# -- the chain's answers ------------------------------------------------------------------------


def _locked(session: Session, receivable_id: uuid.UUID) -> Receivable | None:
    return session.execute(
        sa.select(Receivable).where(Receivable.id == receivable_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()


def on_registration_confirmed(session: Session, receivable_id: uuid.UUID, intent: ChainIntent) -> None:
    receivable = _locked(session, receivable_id)
    if receivable is None or not lifecycle.can_enter_receivable(receivable, "confirm_registration"):
        return
    before = lifecycle.enter_receivable(receivable, "confirm_registration")
    receivable.registered_at = clock.utcnow()
    audit(session, Action.RECEIVABLE_REGISTERED, receivable, None, before, tx_hash=intent.tx_hash, block_number=intent.block_number)
    tell(
        session,
        "receivable.registered",
        receivable,
        {receivable.supplier_org_id, receivable.buyer_org_id},
        f"A receivable of {receivable.amount} {receivable.currency} is registered on chain (fingerprint {receivable.fingerprint[:10]}…).",
        tx_hash=intent.tx_hash,
    )
    refresh_verification(session, receivable)


def on_acknowledged(session: Session, receivable_id: uuid.UUID, intent: ChainIntent) -> None:
    receivable = _locked(session, receivable_id)
    if receivable is not None:
        refresh_verification(session, receivable)


def on_registration_refused(session: Session, receivable_id: uuid.UUID, intent: ChainIntent) -> None:
    """The chain refused the registration: the same invoice is registered already (by this
    or another platform on the chain), or the escrow no longer takes it."""
    receivable = _locked(session, receivable_id)
    if receivable is None or not lifecycle.can_enter_receivable(receivable, "refuse"):
        return
    before = lifecycle.enter_receivable(receivable, "refuse")
    receivable.state_reason = (intent.revert_reason or intent.last_error or "refused by the chain")[:500]
    audit(session, Action.RECEIVABLE_REFUSED, receivable, None, before, reason=receivable.state_reason, tx_hash=intent.tx_hash)
    tell(
        session,
        "receivable.refused",
        receivable,
        {receivable.supplier_org_id},
        f"The chain refused to register the receivable of {receivable.amount} {receivable.currency}: {receivable.state_reason}",
        reason=receivable.state_reason,
    )


def on_acknowledgement_refused(session: Session, receivable_id: uuid.UUID, intent: ChainIntent) -> None:
    """The chain refused the buyer's acknowledgement of an open-account receivable (the buyer's
    membership suspended, say): it stays registered and unverified, both parties are told why,
    and the buyer's payment of the invoice acknowledges it again first."""
    receivable = _locked(session, receivable_id)
    if receivable is None or receivable.state != ReceivableState.REGISTERED:
        return
    receivable.state_reason = (intent.revert_reason or intent.last_error or "refused by the chain")[:500]
    audit(session, Action.RECEIVABLE_ACKNOWLEDGEMENT_REFUSED, receivable, None, receivable.state, reason=receivable.state_reason, tx_hash=intent.tx_hash)
    tell(
        session,
        "receivable.acknowledgement_refused",
        receivable,
        {receivable.supplier_org_id, receivable.buyer_org_id},
        f"The chain refused the buyer's acknowledgement of the receivable of {receivable.amount} {receivable.currency}: {receivable.state_reason}. "
        "It cannot be financed until the buyer acknowledges it; paying the invoice acknowledges it again.",
        reason=receivable.state_reason,
    )
