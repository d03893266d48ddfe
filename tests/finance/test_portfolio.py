"""The financier's portfolio read models on rows of several financiers: each sees only its
own positions, and every figure (exposure, ageing, expected and realised settlements,
yield, exposure over time) adds up to the unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from concord.finance import portfolio
from concord.finance.models import ExposureLimit, InvoiceState, LimitSide, OfferState
from concord.tenancy.models import Relation

from tests import factories
from tests.finance import workspace_rows as rows

TODAY = date.today()


@dataclass
class Book:
    world: factories.World
    other: factories.Member  # a second financier
    p1: object
    p2: object
    p3: object


@pytest.fixture
def book(session, world) -> Book:
    """Financier One: P1 (Supplier One → Buyer One, not yet due), P2 (Supplier One → Buyer
    Two, 45 days past due, 100.00 credited), P3 (Supplier Two → Buyer One, settled in full),
    and a request it has not answered. Financier Two: one position of each kind of its own."""
    w = world
    other = factories.member(session, w.operator, "financier", name="Financier Two AG")
    factories.partner(session, Relation.BUYER_SUPPLIER, w.buyer2, w.supplier)
    factories.partner(session, Relation.BUYER_SUPPLIER, w.buyer, w.supplier2)

    r1 = rows.receivable(session, rows.invoice(session, w.supplier, w.buyer, "1000.00", due=TODAY + timedelta(days=10)), holder=w.financier)
    p1 = rows.offer(session, r1, w.financier, advance="800.00", claim="815.00", funded=TODAY - timedelta(days=20))
    rows.offer(session, r1, other, state=OfferState.WITHDRAWN, advance="750.00", claim="770.00")

    bill2 = rows.invoice(session, w.supplier, w.buyer2, "500.00", due=TODAY - timedelta(days=45))
    rows.credit(session, bill2, "100.00")
    r2 = rows.receivable(session, bill2, holder=w.financier)
    p2 = rows.offer(session, r2, w.financier, advance="400.00", claim="410.50", funded=TODAY - timedelta(days=70))

    r3 = rows.receivable(session, rows.invoice(session, w.supplier2, w.buyer, "2000.00", due=TODAY - timedelta(days=30)), holder=w.financier)
    p3 = rows.offer(session, r3, w.financier, advance="1600.00", claim="1640.00", funded=TODAY - timedelta(days=60))
    rows.settle(session, r3, p3, "2000.00", on=TODAY - timedelta(days=30))

    r4 = rows.receivable(session, rows.invoice(session, w.supplier, w.buyer, "300.00", due=TODAY + timedelta(days=40)))
    rows.offer(session, r4, w.financier, state=OfferState.REQUESTED, requested_by=w.supplier)

    # Financier Two's own book, on the same buyers and suppliers.
    r5 = rows.receivable(session, rows.invoice(session, w.supplier, w.buyer, "900.00", due=TODAY - timedelta(days=100)), holder=other)
    rows.offer(session, r5, other, advance="700.00", claim="720.00", funded=TODAY - timedelta(days=130))
    r6 = rows.receivable(session, rows.invoice(session, w.supplier2, w.buyer, "600.00", due=TODAY - timedelta(days=5)), holder=other)
    p6 = rows.offer(session, r6, other, advance="500.00", claim="505.00", funded=TODAY - timedelta(days=35))
    rows.settle(session, r6, p6, "450.00", on=TODAY - timedelta(days=3))

    for financier, buyer, amount in ((w.financier, w.buyer, "1000.00"), (other, w.buyer, "5000.00")):
        session.add(
            ExposureLimit(
                financier_org_id=financier.org.id,
                counterparty_org_id=buyer.org.id,
                side=LimitSide.BUYER,
                currency="EUR",
                amount=Decimal(amount),
                updated_by=financier.admin.id,
            )
        )
    session.flush()
    return Book(w, other, p1, p2, p3)


def test_positions_are_the_financiers_own_accepted_financed_or_settled_offers(session, book):
    mine = portfolio.positions(session, book.world.financier.org.id)
    assert [p.offer_id for p in mine] == [book.p2.id, book.p3.id, book.p1.id]  # soonest due first
    theirs = portfolio.positions(session, book.other.org.id)
    assert {p.invoice_number for p in theirs}.isdisjoint({p.invoice_number for p in mine})
    assert [p.offer_id for p in portfolio.positions(session, book.world.financier.org.id, outstanding_only=True)] == [book.p2.id, book.p1.id]


def test_expected_settlement_follows_credit_notes_and_caps_at_the_claim(session, book):
    by_offer = {p.offer_id: p for p in portfolio.positions(session, book.world.financier.org.id)}
    p1, p2, p3 = by_offer[book.p1.id], by_offer[book.p2.id], by_offer[book.p3.id]
    assert (p1.expected_payment, p1.expected_financier_share, p1.expected_rebate, p1.expected_shortfall) == (
        Decimal("1000.00"),
        Decimal("815.00"),
        Decimal("185.00"),
        Decimal("0.00"),
    )
    # 500.00 invoiced, 100.00 credited: the holder will receive 400.00, short of the 410.50 claim.
    assert (p2.face, p2.expected_payment, p2.expected_financier_share, p2.expected_rebate, p2.expected_shortfall) == (
        Decimal("500.00"),
        Decimal("400.00"),
        Decimal("400.00"),
        Decimal("0.00"),
        Decimal("10.50"),
    )
    # Settled: what the waterfall recorded.
    assert (p3.amount_paid, p3.financier_share, p3.supplier_share, p3.shortfall) == (Decimal("2000.00"), Decimal("1640.00"), Decimal("360.00"), Decimal("0.00"))
    assert p3.settled_on == TODAY - timedelta(days=30) and not p3.outstanding


def test_exposure_per_buyer_and_supplier_counts_only_outstanding_positions_with_the_financiers_limits(session, book):
    w = book.world
    per_buyer = portfolio.exposure(session, w.financier.org.id, LimitSide.BUYER)
    assert [(e.counterparty_org_id, e.receivables, e.advanced, e.claims, e.limit, e.headroom) for e in per_buyer] == [
        (w.buyer.org.id, 1, Decimal("800.00"), Decimal("815.00"), Decimal("1000.00"), Decimal("200.00")),
        (w.buyer2.org.id, 1, Decimal("400.00"), Decimal("410.50"), None, None),
    ]
    per_supplier = portfolio.exposure(session, w.financier.org.id, LimitSide.SUPPLIER)
    assert [(e.counterparty_org_id, e.receivables, e.advanced, e.claims) for e in per_supplier] == [
        (w.supplier.org.id, 2, Decimal("1200.00"), Decimal("1225.50"))
    ]
    theirs = portfolio.exposure(session, book.other.org.id, LimitSide.BUYER)
    assert [(e.counterparty_org_id, e.advanced, e.limit) for e in theirs] == [(w.buyer.org.id, Decimal("700.00"), Decimal("5000.00"))]


def test_ageing_puts_each_outstanding_position_in_its_bucket(session, book):
    buckets = portfolio.ageing(session, book.world.financier.org.id, TODAY)
    assert [(b.key, b.receivables, b.advanced, b.claims) for b in buckets] == [
        ("current", 1, Decimal("800.00"), Decimal("815.00")),
        ("1_30", 0, Decimal("0.00"), Decimal("0.00")),
        ("31_60", 1, Decimal("400.00"), Decimal("410.50")),
        ("61_90", 0, Decimal("0.00"), Decimal("0.00")),
        ("over_90", 0, Decimal("0.00"), Decimal("0.00")),
    ]
    theirs = {b.key: b.receivables for b in portfolio.ageing(session, book.other.org.id, TODAY)}
    assert theirs == {"current": 0, "1_30": 0, "31_60": 0, "61_90": 0, "over_90": 1}


@pytest.mark.parametrize(
    ("days_past_due", "bucket"),
    [(-1, "current"), (0, "current"), (1, "1_30"), (30, "1_30"), (31, "31_60"), (60, "31_60"), (61, "61_90"), (90, "61_90"), (91, "over_90")],
)
def test_ageing_bucket_edges(session, world, days_past_due, bucket):
    """One position due on `due`, aged on the days around every bucket edge."""
    due = TODAY - timedelta(days=200)
    item = rows.receivable(session, rows.invoice(session, world.supplier, world.buyer, "100.00", due=due), holder=world.financier)
    rows.offer(session, item, world.financier, advance="80.00", claim="81.00", funded=due - timedelta(days=30))
    buckets = portfolio.ageing(session, world.financier.org.id, due + timedelta(days=days_past_due))
    assert [b.key for b in buckets if b.receivables] == [bucket]


def test_totals_and_yield_per_currency(session, book):
    (eur,) = portfolio.totals(portfolio.positions(session, book.world.financier.org.id))
    assert (eur.currency, eur.outstanding, eur.outstanding_advanced, eur.outstanding_claims) == ("EUR", 2, Decimal("1200.00"), Decimal("1225.50"))
    assert (eur.expected_payments, eur.expected_financier) == (Decimal("1400.00"), Decimal("1215.00"))
    assert (eur.settled, eur.realised_paid, eur.realised_financier, eur.realised_supplier, eur.realised_shortfall) == (
        1,
        Decimal("2000.00"),
        Decimal("1640.00"),
        Decimal("360.00"),
        Decimal("0.00"),
    )
    # 40.00 earned on 1600.00 over 30 days: 40 / 1600 × 365 / 30 = 30.4166…% → 30.42 %.
    assert eur.annualised_yield == Decimal("30.42")
    (theirs,) = portfolio.totals(portfolio.positions(session, book.other.org.id))
    # Paid 450.00 against a 505.00 claim: 50.00 lost on 500.00 over 32 days = −114.0625 % → −114.06 %.
    assert (theirs.realised_financier, theirs.realised_shortfall, theirs.annualised_yield) == (Decimal("450.00"), Decimal("55.00"), Decimal("-114.06"))


def test_yield_is_exact_and_rounded_half_to_even():
    assert portfolio.annualised(Decimal("1.00"), Decimal("36500.00")) == Decimal("1.00")
    # 0.125 % exactly: half to even keeps 0.12, not 0.13.
    assert portfolio.annualised(Decimal("1.25"), Decimal("365000.00")) == Decimal("0.12")
    assert portfolio.annualised(Decimal("1.35"), Decimal("365000.00")) == Decimal("0.14")


def test_same_day_settlement_counts_one_day(session, book):
    w = book.world
    item = rows.receivable(session, rows.invoice(session, w.supplier, w.buyer, "100.00", due=TODAY), holder=w.financier)
    deal = rows.offer(session, item, w.financier, advance="90.00", claim="91.00", funded=TODAY)
    rows.settle(session, item, deal, "100.00", on=TODAY)
    position = next(p for p in portfolio.positions(session, w.financier.org.id) if p.offer_id == deal.id)
    assert position.annualised_yield == (Decimal("1.00") * 365 * 100 / Decimal("90.00")).quantize(Decimal("0.01"))


def test_realised_settlements_are_the_financiers_own(session, book):
    (mine,) = portfolio.realised_settlements(session, book.world.financier.org.id)
    assert (mine.amount_paid, mine.financier_share, mine.supplier_share, mine.tx_hash) == (
        Decimal("2000.00"),
        Decimal("1640.00"),
        Decimal("360.00"),
        "0x" + "cd" * 32,
    )
    (theirs,) = portfolio.realised_settlements(session, book.other.org.id)
    assert theirs.amount_paid == Decimal("450.00")


def test_exposure_over_time_is_the_advance_outstanding_each_day(session, book):
    items = portfolio.positions(session, book.world.financier.org.id)
    start = TODAY - timedelta(days=75)
    series = portfolio.exposure_series(items, start, TODAY)
    points = dict(series["EUR"])
    assert len(points) == 76 and min(points) == start and max(points) == TODAY
    assert points[TODAY - timedelta(days=71)] == Decimal("0.00")
    assert points[TODAY - timedelta(days=70)] == Decimal("400.00")  # P2 funded
    assert points[TODAY - timedelta(days=60)] == Decimal("2000.00")  # P3 funded
    assert points[TODAY - timedelta(days=31)] == Decimal("2000.00")
    assert points[TODAY - timedelta(days=30)] == Decimal("400.00")  # P3 settled
    assert points[TODAY - timedelta(days=20)] == Decimal("1200.00")  # P1 funded
    assert points[TODAY] == sum((p.advance for p in items if p.outstanding), Decimal("0.00"))
    # A window that starts after a funding carries it in.
    later = portfolio.exposure_series(items, TODAY - timedelta(days=50), TODAY - timedelta(days=50))
    assert later["EUR"] == [(TODAY - timedelta(days=50), Decimal("2000.00"))]


def test_cash_received_by_each_supplier(session, book):
    w = book.world
    supplier_one = portfolio.cash_received(session, w.supplier.org.id)
    assert sorted((c.kind, c.amount) for c in supplier_one) == [("advance", Decimal("400.00")), ("advance", Decimal("700.00")), ("advance", Decimal("800.00"))]
    supplier_two = portfolio.cash_received(session, w.supplier2.org.id)
    assert sorted((c.kind, c.amount) for c in supplier_two) == [
        ("advance", Decimal("500.00")),
        ("advance", Decimal("1600.00")),
        ("settlement", Decimal("360.00")),
    ]
    assert portfolio.cash_totals(supplier_two) == {"EUR": Decimal("2460.00")}


def test_buyer_payables_and_invoices_to_decide(session, world):
    w = world
    late = rows.invoice(session, w.supplier, w.buyer, "10.00", due=TODAY - timedelta(days=3), state=InvoiceState.APPROVED)
    soon = rows.invoice(session, w.supplier, w.buyer, "20.00", due=TODAY + timedelta(days=3), state=InvoiceState.MATCHED)
    odd = rows.invoice(session, w.supplier, w.buyer, "30.00", due=TODAY + timedelta(days=5), state=InvoiceState.EXCEPTION)
    rows.invoice(session, w.supplier, w.buyer, "40.00", due=TODAY, state=InvoiceState.PAID, paid_at=rows.moment(TODAY))
    factories.partner(session, Relation.BUYER_SUPPLIER, w.buyer2, w.supplier)
    rows.invoice(session, w.supplier, w.buyer2, "50.00", due=TODAY, state=InvoiceState.APPROVED)
    assert [i.id for i in portfolio.payables(session, w.buyer.org.id)] == [late.id, soon.id]
    matched, exceptions = portfolio.invoices_to_decide(session, w.buyer.org.id)
    assert [i.id for i in matched] == [soon.id] and [i.id for i in exceptions] == [odd.id]
