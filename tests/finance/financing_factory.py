"""Financing's arrangements: financier partners, and receivables written as rows (a matched
invoice of a received order, registered and verified) without the chain behind them, for
tests of the offers, limits and visibility rather than of the ledger (tests/finance/
test_financing_chain.py runs the whole story on the embedded chain)."""

from __future__ import annotations

import itertools
import secrets
from datetime import date, timedelta
from decimal import Decimal

from concord import clock
from concord.finance.models import FinancingOffer, OfferState, Receivable, ReceivableState
from concord.tenancy.models import Relation
from sqlalchemy.orm import Session

from tests import factories
from tests.factories import Member
from tests.finance.invoice_factory import invoice, received_order

_numbers = itertools.count(1)


def financier_partner(session: Session, world, supplier: Member, *, name: str | None = None) -> Member:
    """A new financier, an active supplier–financier partner of `supplier`."""
    financier = factories.member(session, world.operator, "financier", name=name or f"Financier {next(_numbers)} plc")
    factories.partner(session, Relation.SUPPLIER_FINANCIER, supplier, financier)
    return financier


def verified_receivable(
    session: Session, buyer: Member, supplier: Member, *, state: ReceivableState = ReceivableState.VERIFIED, due_in_days: int = 30
) -> Receivable:
    """A matched invoice of a received order, as a receivable in `state` (a made-up
    fingerprint: no chain behind it)."""
    order = received_order(session, buyer, supplier)
    made = invoice(session, supplier, order)
    now = clock.utcnow()
    receivable = Receivable(
        invoice_id=made.id,
        order_id=order.id,
        supplier_org_id=supplier.org.id,
        buyer_org_id=buyer.org.id,
        holder_org_id=supplier.org.id,
        fingerprint="0x" + secrets.token_hex(32),
        chain_id=1337,
        registry_address="0x" + "11" * 20,
        escrowed=False,
        amount=made.total,
        currency=made.currency,
        due_date=date.today() + timedelta(days=due_in_days),
        state=state,
        registered_at=now,
        verified_at=now if state == ReceivableState.VERIFIED else None,
    )
    session.add(receivable)
    session.commit()
    return receivable


def offer_row(
    session: Session, receivable: Receivable, supplier: Member, financier: Member, *, state: OfferState, advance: str | None = None
) -> FinancingOffer:
    """An offer row in `state` (with an advance, for exposure)."""
    now = clock.utcnow()
    offer = FinancingOffer(
        receivable_id=receivable.id,
        supplier_org_id=receivable.supplier_org_id,
        financier_org_id=financier.org.id,
        state=state,
        requested_by=supplier.admin.id,
        requested_at=now,
        advance=Decimal(advance) if advance is not None else None,
        advance_rate=Decimal("90") if advance is not None else None,
        discount_rate=Decimal("5") if advance is not None else None,
        fees=Decimal("0.00") if advance is not None else None,
        claim=Decimal(advance) if advance is not None else None,
        valid_until=now + timedelta(days=3) if advance is not None else None,
    )
    session.add(offer)
    session.commit()
    return offer
