"""Read models of the financing workspaces: what a financier holds (exposure per buyer and
per supplier, ageing, due dates, expected and realised settlements, yield, exposure over
time), what a supplier was paid and what a buyer owes.

Every function reads the finance tables for one organization, named by the caller (the
signed-in principal's): nothing here looks at another financier's rows. Amounts are exact
decimals; sums are taken by the database over columns of one scale (exact on SQLite too:
see db.ExactDecimal), everything else in Python's Decimal.

A *position* is a receivable a financier financed: its offer was accepted (the advance is on
its way or paid), financed (the exchange's accept is mined) or settled. It is *outstanding*
until it is settled.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord.finance import receivables
from concord.finance.models import (
    ExposureLimit,
    FinancingOffer,
    Invoice,
    InvoiceKind,
    InvoiceState,
    LimitSide,
    OfferState,
    Receivable,
    SettlementRecord,
)

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
#: An annualised yield is shown as a percentage with two places, rounded half to even.
YIELD_STEP = Decimal("0.01")
DAYS_PER_YEAR = 365

POSITION_STATES = (OfferState.ACCEPTED, OfferState.FINANCED, OfferState.SETTLED)
OUTSTANDING_STATES = (OfferState.ACCEPTED, OfferState.FINANCED)
#: Ageing buckets of outstanding positions by days past their due date: (key, label, lowest, highest).
AGEING_BUCKETS: tuple[tuple[str, str, int | None, int | None], ...] = (
    ("current", "Not yet due", None, 0),
    ("1_30", "1 to 30 days past due", 1, 30),
    ("31_60", "31 to 60 days past due", 31, 60),
    ("61_90", "61 to 90 days past due", 61, 90),
    ("over_90", "Over 90 days past due", 91, None),
)


def _day(moment: datetime | date | None) -> date | None:
    if moment is None:
        return None
    return moment.date() if isinstance(moment, datetime) else moment


@dataclass(frozen=True)
class Position:
    """One receivable a financier financed, with what it expects and what it was paid."""

    offer_id: uuid.UUID
    receivable_id: uuid.UUID
    invoice_id: uuid.UUID
    invoice_number: str
    supplier_org_id: uuid.UUID
    buyer_org_id: uuid.UUID
    currency: str
    offer_state: OfferState
    receivable_state: str
    face: Decimal  # the receivable's amount
    expected_payment: Decimal  # what the holder is paid (receivables.expected_payment)
    advance: Decimal
    claim: Decimal  # advance + discount + fees: the most the financier takes from the payment
    funded_on: date
    due_date: date
    settled_on: date | None
    amount_paid: Decimal | None  # what the holder received (from the settlement's waterfall)
    financier_share: Decimal | None
    supplier_share: Decimal | None
    shortfall: Decimal | None
    settlement_tx: str | None

    @property
    def outstanding(self) -> bool:
        return self.offer_state in OUTSTANDING_STATES

    @property
    def expected_financier_share(self) -> Decimal:
        if self.financier_share is not None:
            return self.financier_share
        return min(self.expected_payment, self.claim)

    @property
    def expected_rebate(self) -> Decimal:
        """What goes back to the supplier beyond the financier's claim."""
        return self.expected_payment - self.expected_financier_share

    @property
    def expected_shortfall(self) -> Decimal:
        return self.claim - self.expected_financier_share

    def days_past_due(self, today: date) -> int:
        return max((today - self.due_date).days, 0)

    @property
    def annualised_yield(self) -> Decimal | None:
        """Settled only: (financier share − advance) / advance, × 365 / days outstanding, in
        percent with two places (half to even)."""
        if self.financier_share is None or self.settled_on is None or not self.advance:
            return None
        days = max((self.settled_on - self.funded_on).days, 1)
        return annualised(self.financier_share - self.advance, self.advance * days)


def annualised(gain: Decimal, advance_days: Decimal) -> Decimal:
    """A gain over (advance × days outstanding), per year, in percent with two places."""
    return (gain * DAYS_PER_YEAR * 100 / advance_days).quantize(YIELD_STEP, rounding=ROUND_HALF_EVEN)


def positions(session: Session, financier_org_id: uuid.UUID, *, outstanding_only: bool = False) -> list[Position]:
    """The financier's positions, the soonest due first. What an outstanding one's holder
    will be paid follows the escrow (a partial receipt, a refund, a dispute's split) or, on
    open account, the invoice's credit notes: `receivables.expected_payment` says."""
    states = OUTSTANDING_STATES if outstanding_only else POSITION_STATES
    query = (
        sa.select(FinancingOffer, Receivable, Invoice.number, SettlementRecord)
        .join(Receivable, Receivable.id == FinancingOffer.receivable_id)
        .join(Invoice, Invoice.id == Receivable.invoice_id)
        .outerjoin(SettlementRecord, SettlementRecord.receivable_id == Receivable.id)
        .where(FinancingOffer.financier_org_id == financier_org_id, FinancingOffer.state.in_(states))
        .order_by(Receivable.due_date, Invoice.number, FinancingOffer.id)
    )
    out = []
    for offer, receivable, number, record in session.execute(query):
        funded = _day(offer.financed_at or offer.decided_at or offer.offered_at or offer.requested_at)
        assert funded is not None
        out.append(
            Position(
                offer_id=offer.id,
                receivable_id=receivable.id,
                invoice_id=receivable.invoice_id,
                invoice_number=number,
                supplier_org_id=receivable.supplier_org_id,
                buyer_org_id=receivable.buyer_org_id,
                currency=receivable.currency,
                offer_state=OfferState(offer.state),
                receivable_state=str(receivable.state),
                face=receivable.amount,
                expected_payment=record.amount_paid if record is not None else receivables.expected_payment(session, receivable),
                advance=offer.advance if offer.advance is not None else ZERO,
                claim=offer.claim if offer.claim is not None else ZERO,
                funded_on=funded,
                due_date=receivable.due_date,
                settled_on=_day(record.recorded_at if record is not None else receivable.settled_at) if offer.state == OfferState.SETTLED else None,
                amount_paid=record.amount_paid if record is not None else receivable.amount_paid,
                financier_share=record.financier_share if record is not None else None,
                supplier_share=record.supplier_share if record is not None else None,
                shortfall=record.shortfall if record is not None else None,
                settlement_tx=record.tx_hash if record is not None else None,
            )
        )
    return out


# -- exposure ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exposure:
    """What a financier has outstanding on one counterparty in one currency."""

    counterparty_org_id: uuid.UUID
    currency: str
    receivables: int
    advanced: Decimal
    claims: Decimal
    limit: Decimal | None  # the financier's exposure limit, when it set one

    @property
    def headroom(self) -> Decimal | None:
        return None if self.limit is None else self.limit - self.advanced


def exposure(session: Session, financier_org_id: uuid.UUID, side: LimitSide) -> list[Exposure]:
    """Outstanding advances and claims per buyer (side=buyer) or per supplier, with the limit
    the financier set for that counterparty, largest exposure first."""
    counterparty = Receivable.buyer_org_id if side == LimitSide.BUYER else Receivable.supplier_org_id
    rows = session.execute(
        sa.select(counterparty, Receivable.currency, sa.func.count(), sa.func.sum(FinancingOffer.advance), sa.func.sum(FinancingOffer.claim))
        .join(Receivable, Receivable.id == FinancingOffer.receivable_id)
        .where(FinancingOffer.financier_org_id == financier_org_id, FinancingOffer.state.in_(OUTSTANDING_STATES))
        .group_by(counterparty, Receivable.currency)
    ).all()
    limits = {
        (org_id, currency): amount
        for org_id, currency, amount in session.execute(
            sa.select(ExposureLimit.counterparty_org_id, ExposureLimit.currency, ExposureLimit.amount).where(
                ExposureLimit.financier_org_id == financier_org_id, ExposureLimit.side == side
            )
        )
    }
    out = [
        Exposure(org_id, currency, count, advanced or ZERO, claims or ZERO, limits.get((org_id, currency)))
        for org_id, currency, count, advanced, claims in rows
    ]
    return sorted(out, key=lambda e: (e.currency, -e.advanced, str(e.counterparty_org_id)))


# -- ageing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgeingBucket:
    key: str
    label: str
    currency: str
    receivables: int
    advanced: Decimal
    claims: Decimal


def ageing(session: Session, financier_org_id: uuid.UUID, today: date) -> list[AgeingBucket]:
    """Outstanding positions by days past due on `today`, every bucket of every currency the
    financier holds (empty buckets with zeros), in bucket order."""
    cases = []
    for key, _label, _low, high in AGEING_BUCKETS:
        if high is not None:  # due on or after today − high days
            cases.append((Receivable.due_date >= today - timedelta(days=high), key))
    bucket = sa.case(*cases, else_=AGEING_BUCKETS[-1][0])
    rows = session.execute(
        sa.select(bucket, Receivable.currency, sa.func.count(), sa.func.sum(FinancingOffer.advance), sa.func.sum(FinancingOffer.claim))
        .join(Receivable, Receivable.id == FinancingOffer.receivable_id)
        .where(FinancingOffer.financier_org_id == financier_org_id, FinancingOffer.state.in_(OUTSTANDING_STATES))
        .group_by(bucket, Receivable.currency)
    ).all()
    found = {(key, currency): (count, advanced or ZERO, claims or ZERO) for key, currency, count, advanced, claims in rows}
    currencies = sorted({currency for _key, currency in found})
    return [
        AgeingBucket(key, label, currency, *found.get((key, currency), (0, ZERO, ZERO)))
        for currency in currencies
        for key, label, _low, _high in AGEING_BUCKETS
    ]


# -- settlements and yield -----------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    """A financier's portfolio in one currency."""

    currency: str
    outstanding: int
    outstanding_advanced: Decimal
    outstanding_claims: Decimal
    expected_payments: Decimal  # what the holder will receive on the outstanding positions
    expected_financier: Decimal  # of which the financier's share
    settled: int
    realised_paid: Decimal
    realised_financier: Decimal
    realised_supplier: Decimal
    realised_shortfall: Decimal
    settled_advanced: Decimal
    annualised_yield: Decimal | None  # over the settled positions, weighted by advance × days


def totals(items: list[Position]) -> list[Totals]:
    """The portfolio's figures per currency, from its positions."""
    by_currency: dict[str, list[Position]] = defaultdict(list)
    for position in items:
        by_currency[position.currency].append(position)
    out = []
    for currency, group in sorted(by_currency.items()):
        open_ = [p for p in group if p.outstanding]
        done = [p for p in group if p.financier_share is not None and p.settled_on is not None]
        gain = sum((p.financier_share - p.advance for p in done if p.financier_share is not None), ZERO)
        advance_days = sum((p.advance * max((p.settled_on - p.funded_on).days, 1) for p in done if p.settled_on is not None), ZERO)
        out.append(
            Totals(
                currency=currency,
                outstanding=len(open_),
                outstanding_advanced=sum((p.advance for p in open_), ZERO),
                outstanding_claims=sum((p.claim for p in open_), ZERO),
                expected_payments=sum((p.expected_payment for p in open_), ZERO),
                expected_financier=sum((p.expected_financier_share for p in open_), ZERO),
                settled=len(done),
                realised_paid=sum((p.amount_paid or ZERO for p in done), ZERO),
                realised_financier=sum((p.financier_share or ZERO for p in done), ZERO),
                realised_supplier=sum((p.supplier_share or ZERO for p in done), ZERO),
                realised_shortfall=sum((p.shortfall or ZERO for p in done), ZERO),
                settled_advanced=sum((p.advance for p in done), ZERO),
                annualised_yield=annualised(gain, advance_days) if advance_days else None,
            )
        )
    return out


@dataclass(frozen=True)
class RealisedSettlement:
    """One realised settlement of a receivable the financier financed (the waterfall)."""

    receivable_id: uuid.UUID
    invoice_number: str
    currency: str
    amount_paid: Decimal
    financier_share: Decimal
    supplier_share: Decimal
    shortfall: Decimal
    recorded_at: datetime
    tx_hash: str | None


def realised_settlements(session: Session, financier_org_id: uuid.UUID) -> list[RealisedSettlement]:
    """The SettlementRecords of the financier's receivables, the latest first."""
    rows = session.execute(
        sa.select(SettlementRecord, Invoice.number)
        .join(FinancingOffer, FinancingOffer.id == SettlementRecord.offer_id)
        .join(Receivable, Receivable.id == SettlementRecord.receivable_id)
        .join(Invoice, Invoice.id == Receivable.invoice_id)
        .where(FinancingOffer.financier_org_id == financier_org_id)
        .order_by(SettlementRecord.recorded_at.desc(), SettlementRecord.id)
    ).all()
    return [
        RealisedSettlement(r.receivable_id, number, r.currency, r.amount_paid, r.financier_share, r.supplier_share, r.shortfall, r.recorded_at, r.tx_hash)
        for r, number in rows
    ]


# -- exposure over time --------------------------------------------------------------------


def exposure_series(items: list[Position], start: date, end: date) -> dict[str, list[tuple[date, Decimal]]]:
    """Per currency, the advances outstanding at the end of each day from `start` to `end`:
    a position counts from the day it was funded until the day it was settled."""
    changes: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for position in items:
        changes[position.currency][position.funded_on] += position.advance
        if position.settled_on is not None:
            changes[position.currency][position.settled_on] -= position.advance
    series = {}
    for currency, moves in sorted(changes.items()):
        level = sum((amount for day, amount in moves.items() if day < start), ZERO)
        points = []
        day = start
        while day <= end:
            level += moves.get(day, ZERO)
            points.append((day, level))
            day += timedelta(days=1)
        series[currency] = points
    return series


# -- the supplier's and the buyer's side ---------------------------------------------------


@dataclass(frozen=True)
class CashIn:
    """Money a supplier received for its receivables: an advance, or its share of a payment."""

    on: datetime
    kind: str  # "advance" or "settlement"
    receivable_id: uuid.UUID
    invoice_number: str
    currency: str
    amount: Decimal


def cash_received(session: Session, supplier_org_id: uuid.UUID) -> list[CashIn]:
    """Advances paid on the supplier's financed receivables and what their payments returned
    to it (all of a payment when it was not financed), the latest first."""
    advances = session.execute(
        sa.select(FinancingOffer, Invoice.number, Receivable.currency)
        .join(Receivable, Receivable.id == FinancingOffer.receivable_id)
        .join(Invoice, Invoice.id == Receivable.invoice_id)
        .where(
            FinancingOffer.supplier_org_id == supplier_org_id,
            FinancingOffer.state.in_((OfferState.FINANCED, OfferState.SETTLED)),
            FinancingOffer.financed_at.is_not(None),
        )
    ).all()
    rebates = session.execute(
        sa.select(SettlementRecord, Invoice.number)
        .join(Receivable, Receivable.id == SettlementRecord.receivable_id)
        .join(Invoice, Invoice.id == Receivable.invoice_id)
        .where(Receivable.supplier_org_id == supplier_org_id, SettlementRecord.supplier_share > 0)
    ).all()
    out = [CashIn(o.financed_at, "advance", o.receivable_id, number, currency, o.advance) for o, number, currency in advances if o.advance]
    out += [CashIn(r.recorded_at, "settlement", r.receivable_id, number, r.currency, r.supplier_share) for r, number in rebates]
    return sorted(out, key=lambda c: (c.on, c.kind), reverse=True)


def cash_totals(items: list[CashIn]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for item in items:
        out[item.currency] += item.amount
    return dict(sorted(out.items()))


def payables(session: Session, buyer_org_id: uuid.UUID) -> list[Invoice]:
    """The buyer's invoices still to pay (matched or approved, not paid), the soonest due first."""
    return list(
        session.execute(
            sa.select(Invoice)
            .where(
                Invoice.buyer_org_id == buyer_org_id,
                Invoice.kind == InvoiceKind.INVOICE,
                Invoice.state.in_((InvoiceState.MATCHED, InvoiceState.APPROVED)),
            )
            .order_by(Invoice.due_date, Invoice.number)
        ).scalars()
    )


def invoices_to_decide(session: Session, buyer_org_id: uuid.UUID) -> tuple[list[Invoice], list[Invoice]]:
    """The buyer's invoices waiting for its approval: (matched ones, exceptions)."""
    rows = session.execute(
        sa.select(Invoice)
        .where(Invoice.buyer_org_id == buyer_org_id, Invoice.kind == InvoiceKind.INVOICE, Invoice.state.in_((InvoiceState.MATCHED, InvoiceState.EXCEPTION)))
        .order_by(Invoice.due_date, Invoice.number)
    ).scalars()
    matched: list[Invoice] = []
    exceptions: list[Invoice] = []
    for invoice in rows:
        (exceptions if invoice.state == InvoiceState.EXCEPTION else matched).append(invoice)
    return matched, exceptions
