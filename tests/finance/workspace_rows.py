"""Finance rows written straight to the tables, for the workspace's read models and pages:
an invoice on an issued order, its receivable, a financier's offer on it and the
settlement's waterfall. The story that leads there (match, registration on chain,
acceptance, settlement) is the services' to test; the read models only need the rows."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from concord.finance.models import (
    FinancingOffer,
    Invoice,
    InvoiceKind,
    InvoiceState,
    OfferState,
    Receivable,
    ReceivableState,
    SettlementRecord,
)
from concord.orders.models import Settlement
from sqlalchemy.orm import Session

from tests import orders_factory
from tests.factories import PASSWORD, Member
from tests.security.helpers import portal_login

_numbers = itertools.count(1)


def signed_in(app, who: Member):
    """A test client signed in through the portal's login form as `who`'s admin, and its CSRF token."""
    client = app.test_client()
    return client, portal_login(client, who.admin.email, PASSWORD)


def moment(day: date) -> datetime:
    return datetime.combine(day, time(9, 0), tzinfo=UTC)


def invoice(
    session: Session,
    supplier: Member,
    buyer: Member,
    total: str,
    *,
    due: date,
    state: InvoiceState = InvoiceState.MATCHED,
    order=None,
    paid_at: datetime | None = None,
) -> Invoice:
    order_id = order.id if order is not None else orders_factory.issued_order(session, buyer, supplier).id
    amount = Decimal(total)
    row = Invoice(
        kind=InvoiceKind.INVOICE,
        number=f"INV-{next(_numbers):05d}",
        supplier_org_id=supplier.org.id,
        buyer_org_id=buyer.org.id,
        order_id=order_id,
        currency="EUR",
        issue_date=due - timedelta(days=30),
        due_date=due,
        settlement=Settlement.ESCROW,
        net_days=30,
        subtotal=amount,
        tax_total=Decimal("0.00"),
        total=amount,
        credited_total=Decimal("0.00"),
        state=state,
        created_by=supplier.admin.id,
        paid_amount=amount if paid_at is not None else None,
        paid_at=paid_at,
    )
    session.add(row)
    session.flush()
    return row


def credit(session: Session, bill: Invoice, total: str) -> Invoice:
    """A credit note against `bill` (goods returned), and the bill's credited total."""
    amount = Decimal(total)
    note = Invoice(
        kind=InvoiceKind.CREDIT_NOTE,
        number=f"CN-{next(_numbers):05d}",
        supplier_org_id=bill.supplier_org_id,
        buyer_org_id=bill.buyer_org_id,
        order_id=bill.order_id,
        credited_invoice_id=bill.id,
        currency=bill.currency,
        issue_date=bill.issue_date,
        due_date=bill.due_date,
        settlement=bill.settlement,
        net_days=bill.net_days,
        subtotal=amount,
        tax_total=Decimal("0.00"),
        total=amount,
        state=InvoiceState.APPROVED,
        created_by=bill.created_by,
    )
    session.add(note)
    bill.credited_total += amount
    session.flush()
    return note


def receivable(session: Session, bill: Invoice, *, state: ReceivableState = ReceivableState.VERIFIED, holder: Member | None = None) -> Receivable:
    row = Receivable(
        invoice_id=bill.id,
        order_id=bill.order_id,
        supplier_org_id=bill.supplier_org_id,
        buyer_org_id=bill.buyer_org_id,
        holder_org_id=holder.org.id if holder is not None else bill.supplier_org_id,
        fingerprint="0x" + f"{next(_numbers):064x}",
        chain_id=1337,
        registry_address="0x" + "ab" * 20,
        escrowed=False,  # on open account: what its holder is paid is the invoice less its credit notes
        amount=bill.total,
        currency=bill.currency,
        due_date=bill.due_date,
        state=state,
        evidence=None,  # built from the order as it stands (receivables.evidence)
        registered_at=moment(bill.issue_date),
    )
    session.add(row)
    session.flush()
    return row


def offer(
    session: Session,
    item: Receivable,
    financier: Member,
    *,
    state: OfferState = OfferState.FINANCED,
    advance: str | None = None,
    claim: str | None = None,
    funded: date | None = None,
    requested_by: Member | None = None,
) -> FinancingOffer:
    offered = state not in (OfferState.REQUESTED, OfferState.DECLINED)
    row = FinancingOffer(
        receivable_id=item.id,
        supplier_org_id=item.supplier_org_id,
        financier_org_id=financier.org.id,
        state=state,
        requested_by=(requested_by.admin.id if requested_by else financier.admin.id),
        requested_at=moment(funded or date.today()) - timedelta(days=1),
        advance_rate=Decimal("80.0000") if offered else None,
        discount_rate=Decimal("6.0000") if offered else None,
        fees=Decimal("10.00") if offered else None,
        valid_until=moment(date.today() + timedelta(days=7)) if offered else None,
        advance=Decimal(advance) if advance else None,
        discount=(Decimal(claim) - Decimal(advance) - Decimal("10.00")) if advance and claim else None,
        claim=Decimal(claim) if claim else None,
        offered_at=moment(funded or date.today()) - timedelta(hours=12) if offered else None,
        decided_at=moment(funded) if funded and state in (OfferState.ACCEPTED, OfferState.FINANCED, OfferState.SETTLED) else None,
        financed_at=moment(funded) if funded and state in (OfferState.FINANCED, OfferState.SETTLED) else None,
    )
    session.add(row)
    session.flush()
    return row


def settle(session: Session, item: Receivable, deal: FinancingOffer | None, paid: str, *, on: date) -> SettlementRecord:
    """The waterfall: the financier takes at most its claim, the supplier the rest."""
    amount = Decimal(paid)
    financier = min(amount, deal.claim) if deal is not None and deal.claim is not None else Decimal("0.00")
    record = SettlementRecord(
        receivable_id=item.id,
        offer_id=deal.id if deal is not None else None,
        currency=item.currency,
        amount_paid=amount,
        financier_share=financier,
        supplier_share=amount - financier,
        shortfall=(deal.claim - financier) if deal is not None and deal.claim is not None else Decimal("0.00"),
        recorded_at=moment(on),
        tx_hash="0x" + "cd" * 32,
    )
    session.add(record)
    item.state = ReceivableState.SETTLED
    item.settled_at = moment(on)
    item.amount_paid = amount
    if deal is not None:
        deal.state = OfferState.SETTLED
    session.flush()
    return record
