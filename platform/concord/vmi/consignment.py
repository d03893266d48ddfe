"""Consignment: goods an agreement's consignment orders delivered stay the supplier's at the
buyer's site until the buyer reports consuming them; consumption transfers ownership and
is billed by a self-billing invoice, paid on open account like any approved payable.

- Consigned goods are what the buyer accepted at receipt of the agreement's consignment
  orders of an item (its product at its location).
- Consumption the buyer reports (shared stock records) draws on consigned goods first, in
  the order they were received (first in, first out across the orders), and only on goods
  received by the day it was consumed. Consumption before any consigned goods arrived, or
  beyond the consigned goods on hand, is of the buyer's own stock and is never billed.
- Billing (`bill`, either side, and `bill_due`, a round job once a day per agreement)
  allocates every consumption reported through a day (yesterday by default) and bills, per
  order, what it consumed beyond what was billed already: one self-billing invoice per
  order and run at the tax rate the terms in force agree for self-billing, recorded in
  `VmiConsignmentBilling`. The allocation is recomputed from the
  records each time, so consumption reported late is billed by the next run, a repeated
  run bills nothing, and two runs racing compute the same billing, which the database
  takes once (unique order and billed total). A value below a cent waits for more.
- Suspended: nothing changes for consigned goods (still the supplier's; consumption still
  billed). Ended: consumption through the end date is still billed after the end; what is
  left consigned at the end is listed per item (`position`) for return or billing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.audit.service import Action, record
from concord.db import database
from concord.errors import Conflict, ValidationFailed
from concord.finance import self_billing
from concord.finance.models import Invoice
from concord.orders.models import OrderLine, PurchaseOrder, Receipt, ReceiptLine
from concord.policy import Principal
from concord.vmi import agreements
from concord.vmi.models import AgreementState, RecordKind, StockRecord, VmiAgreement, VmiConsignmentBilling, VmiProposal

CENT, NONE = Decimal("0.01"), Decimal("0.000")
#: Agreements whose consignment goods may still be billed.
BILLING_STATES = (AgreementState.ACTIVE, AgreementState.SUSPENDED, AgreementState.ENDED)
RACED = "Another billing run of this agreement just billed the same consumption; nothing was billed twice."


@dataclass
class Lot:
    """One consignment order's accepted goods of an item."""

    order: PurchaseOrder
    line: OrderLine
    received_at: datetime
    accepted: Decimal
    billed: Decimal  # by earlier billings
    consumed: Decimal = field(default=NONE)  # by the allocation

    @property
    def received_on(self) -> date:
        return self.received_at.date()


@dataclass(frozen=True)
class Position:
    """An item's consignment goods as of a day."""

    lots: list[Lot]

    @property
    def consigned(self) -> Decimal:
        """Still the supplier's: accepted and not consumed."""
        return sum((lot.accepted - lot.consumed for lot in self.lots), NONE)

    @property
    def unbilled(self) -> Decimal:
        """Consumed (the buyer's now) but not billed yet."""
        return sum((max(lot.consumed - lot.billed, NONE) for lot in self.lots), NONE)


def last_day(agreement: VmiAgreement, day: date) -> date:
    """`day`, or the end date of an ended agreement if earlier: consumption after the end is
    not of consigned goods the agreement bills."""
    if agreement.state == AgreementState.ENDED and agreement.ended_at is not None:
        return min(day, agreement.ended_at.date())
    return day


def items_of(session: Session, agreement: VmiAgreement) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(product, location) of every consignment order the agreement issued."""
    rows = session.execute(
        sa.select(OrderLine.product_id, PurchaseOrder.ship_to_location_id)
        .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
        .join(VmiProposal, VmiProposal.order_id == PurchaseOrder.id)
        .where(VmiProposal.agreement_id == agreement.id, PurchaseOrder.consignment.is_(True))
        .distinct()
    ).all()
    return sorted((product_id, location_id) for product_id, location_id in rows)


def _lots(session: Session, agreement: VmiAgreement, product_id: uuid.UUID, location_id: uuid.UUID) -> list[Lot]:
    rows = session.execute(
        sa.select(PurchaseOrder, OrderLine, Receipt.created_at, ReceiptLine.accepted_quantity)
        .join(VmiProposal, VmiProposal.order_id == PurchaseOrder.id)
        .join(OrderLine, OrderLine.order_id == PurchaseOrder.id)
        .join(Receipt, Receipt.order_id == PurchaseOrder.id)
        .join(ReceiptLine, sa.and_(ReceiptLine.receipt_id == Receipt.id, ReceiptLine.order_line_id == OrderLine.id))
        .where(
            VmiProposal.agreement_id == agreement.id,
            PurchaseOrder.consignment.is_(True),
            PurchaseOrder.ship_to_location_id == location_id,
            OrderLine.product_id == product_id,
            ReceiptLine.accepted_quantity > 0,
        )
        .order_by(Receipt.created_at, PurchaseOrder.number, OrderLine.line_no)
    ).all()
    billed_so_far = (
        sa.select(VmiConsignmentBilling.order_id, sa.func.max(VmiConsignmentBilling.billed_total))
        .where(VmiConsignmentBilling.agreement_id == agreement.id, VmiConsignmentBilling.product_id == product_id)
        .group_by(VmiConsignmentBilling.order_id)
    )
    billed: dict[uuid.UUID, Decimal] = {order_id: total for order_id, total in session.execute(billed_so_far)}
    return [Lot(order, line, received_at, accepted, billed.get(order.id, NONE)) for order, line, received_at, accepted in rows]


def position(session: Session, agreement: VmiAgreement, product_id: uuid.UUID, location_id: uuid.UUID, through: date) -> Position:
    """The item's consignment goods after the consumption reported through `through`
    (allocated first in, first out; see the module's rules)."""
    lots = _lots(session, agreement, product_id, location_id)
    if not lots:
        return Position([])
    consumption = session.execute(
        sa.select(StockRecord.occurred_on, StockRecord.quantity)
        .where(
            StockRecord.buyer_org_id == agreement.buyer_org_id,
            StockRecord.product_id == product_id,
            StockRecord.location_id == location_id,
            StockRecord.kind == RecordKind.CONSUMPTION,
            StockRecord.occurred_on >= lots[0].received_on,
            StockRecord.occurred_on <= through,
        )
        .order_by(StockRecord.occurred_on, StockRecord.created_at, StockRecord.id)
    ).all()
    for day, quantity in consumption:
        need = quantity
        for lot in lots:
            if need <= 0 or lot.received_on > day:
                break
            taken = min(lot.accepted - lot.consumed, need)
            lot.consumed += taken
            need -= taken
    return Position(lots)


def billings_of(session: Session, agreement: VmiAgreement, product_id: uuid.UUID, location_id: uuid.UUID) -> list[dict[str, Any]]:
    """The item's billings, newest first, with their invoices."""
    return _described(
        session,
        VmiConsignmentBilling.agreement_id == agreement.id,
        VmiConsignmentBilling.product_id == product_id,
        VmiConsignmentBilling.location_id == location_id,
    )


def described(session: Session, billings: list[VmiConsignmentBilling]) -> list[dict[str, Any]]:
    """Billings just made, as `billings_of` shows them."""
    return _described(session, VmiConsignmentBilling.id.in_([b.id for b in billings])) if billings else []


def _described(session: Session, *conditions: Any) -> list[dict[str, Any]]:
    rows = session.execute(
        sa.select(VmiConsignmentBilling, Invoice.number, Invoice.total, Invoice.state, PurchaseOrder.number)
        .join(Invoice, Invoice.id == VmiConsignmentBilling.invoice_id)
        .join(PurchaseOrder, PurchaseOrder.id == VmiConsignmentBilling.order_id)
        .where(*conditions)
        .order_by(VmiConsignmentBilling.created_at.desc(), Invoice.number.desc())
        .limit(100)
    ).all()
    return [
        {
            "order_id": billing.order_id,
            "order_number": order_number,
            "quantity": billing.quantity,
            "through_date": billing.through_date,
            "invoice_id": billing.invoice_id,
            "invoice_number": number,
            "amount": total,
            "invoice_state": str(state),
            "billed_at": billing.created_at,
        }
        for billing, number, total, state, order_number in rows
    ]


# -- billing ------------------------------------------------------------------------------------


def _bill(session: Session, agreement: VmiAgreement, through: date, actor: Principal | None) -> list[VmiConsignmentBilling]:
    """Bill what the consumption reported through `through` consumed beyond what was billed,
    one self-billing invoice per order, in the caller's transaction."""
    issued_by = actor.user.id if actor is not None and actor.org.id == agreement.buyer_org_id else agreement.created_by
    made: list[VmiConsignmentBilling] = []
    terms = agreements.current(agreement)
    tax_rate = terms.self_billing_tax_rate if terms is not None else Decimal(0)
    for product_id, location_id in items_of(session, agreement):
        by_order: dict[uuid.UUID, list[tuple[Lot, Decimal]]] = defaultdict(list)
        for lot in position(session, agreement, product_id, location_id, through).lots:
            quantity = lot.consumed - lot.billed
            if quantity > 0 and self_billing.value_of(quantity, lot.line.unit_price) >= CENT:
                by_order[lot.order.id].append((lot, quantity))
        for charges in by_order.values():
            order = charges[0][0].order
            consumed = [self_billing.Consumed(lot.line, quantity, lot.accepted, lot.billed) for lot, quantity in charges]
            note = f"Self-billed under VMI agreement {agreement.number}: consignment goods consumed through {through.isoformat()}."
            invoice = self_billing.issue(session, order, consumed, tax_rate=tax_rate, reference=agreement.number, issued_by=issued_by, actor=actor, note=note)
            for lot, quantity in charges:
                billing = VmiConsignmentBilling(
                    agreement_id=agreement.id,
                    buyer_org_id=agreement.buyer_org_id,
                    supplier_org_id=agreement.supplier_org_id,
                    product_id=product_id,
                    location_id=location_id,
                    order_id=order.id,
                    invoice_id=invoice.id,
                    quantity=quantity,
                    billed_total=lot.billed + quantity,
                    through_date=through,
                    created_at=clock.utcnow(),
                )
                session.add(billing)
                session.flush()
                _audit(session, agreement, billing, invoice, actor)
                made.append(billing)
    if agreement.consignment_billed_through is None or agreement.consignment_billed_through < through:
        agreement.consignment_billed_through = through
    session.flush()
    return made


def _audit(session: Session, agreement: VmiAgreement, billing: VmiConsignmentBilling, invoice: Invoice, actor: Principal | None) -> None:
    record(
        session,
        Action.VMI_CONSIGNMENT_BILLED,
        actor=actor.actor if actor is not None else None,
        subject_org_id=agreement.buyer_org_id,
        related_org_id=agreement.supplier_org_id,
        object_type="vmi_agreement",
        object_id=agreement.id,
        before=None,
        after={
            "order_id": str(billing.order_id),
            "product_id": str(billing.product_id),
            "location_id": str(billing.location_id),
            "quantity": str(billing.quantity),
            "billed_total": str(billing.billed_total),
            "through_date": billing.through_date.isoformat(),
            "invoice_id": str(invoice.id),
            "invoice_number": invoice.number,
            "amount": str(invoice.total),
        },
    )


def default_through(today: date) -> date:
    """A day's consumption is billed once the day is over."""
    return today - timedelta(days=1)


def bill(session: Session, principal: Principal, agreement_id: uuid.UUID, through: date | None = None) -> list[VmiConsignmentBilling]:
    """Either side bills the consumption reported through `through` (yesterday by default;
    an ended agreement's end date at the latest) now. Returns the billings made (none when
    everything consumed is billed already)."""
    policy.require_writer(principal)
    agreement = policy.get_visible(session, VmiAgreement, agreement_id, principal, for_update=True)
    today = clock.utcnow().date()
    if through is not None and through > today:
        raise ValidationFailed({"through": [f"At the latest today ({today.isoformat()}): consumption is billed once reported."]})
    if agreement.state not in BILLING_STATES:
        raise Conflict(
            f"VMI agreement {agreement.number} is {agreement.state}: nothing was delivered on consignment under it.", current_state=str(agreement.state)
        )
    try:
        made = _bill(session, agreement, last_day(agreement, through or default_through(today)), principal)
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(RACED) from None
    return made


def _due_through(agreement: VmiAgreement, today: date) -> date | None:
    """The day the worker bills `agreement` through today (None: billed through it already)."""
    through = last_day(agreement, default_through(today))
    billed = agreement.consignment_billed_through
    return through if billed is None or billed < through else None


def bill_due(app: Flask, today: date | None = None) -> int:
    """Bill, once a day per agreement, the consumption of consignment goods reported through
    yesterday (an ended agreement's, through its end date) (a round job). Returns how many
    billings were made."""
    today = today or clock.utcnow().date()
    made = 0
    with app.app_context(), database(app).sessionmaker() as session:
        consigned = sa.select(VmiProposal.agreement_id).join(PurchaseOrder, PurchaseOrder.id == VmiProposal.order_id).where(PurchaseOrder.consignment.is_(True))
        candidates = sa.select(VmiAgreement).where(VmiAgreement.id.in_(consigned), VmiAgreement.state.in_(BILLING_STATES))
        due = [agreement.id for agreement in session.execute(candidates).scalars() if _due_through(agreement, today) is not None]
        session.rollback()
        for agreement_id in due:
            agreement = session.execute(sa.select(VmiAgreement).where(VmiAgreement.id == agreement_id).with_for_update()).scalar_one()
            through = _due_through(agreement, today)
            if through is None:  # another worker billed it meanwhile
                session.rollback()
                continue
            try:
                billed = _bill(session, agreement, through, None)
                session.commit()
            except IntegrityError:  # a concurrent run billed it
                session.rollback()
                continue
            made += len(billed)
    return made
