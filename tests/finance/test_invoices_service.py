"""Invoices through the service: the proposal from the receipt, the match deciding the state,
numbers unique per supplier, the buyer's decision, credit notes and the payment."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord import clock
from concord.audit.models import AuditEntry
from concord.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from concord.finance import invoices
from concord.finance.models import InvoiceState, MatchStatus, Settlement
from concord.notifications.models import Notification

from tests import orders_factory
from tests.finance.invoice_factory import invoice, received_order, set_terms


def test_the_proposal_offers_what_was_accepted_at_the_current_prices(session, world):
    order = received_order(session, world.buyer, world.supplier)
    lines = invoices.proposal(session, world.supplier.principal, order.id).lines
    assert [(p.order_line_no, p.quantity, p.unit_price) for p in lines] == [
        (1, Decimal("10.000"), Decimal("2.5000")),
        (2, Decimal("3.000"), Decimal("12.1250")),
    ]
    invoice(session, world.supplier, order, ("4", "2.50"))
    lines = invoices.proposal(session, world.supplier.principal, order.id).lines
    assert [(p.order_line_no, p.quantity) for p in lines] == [(1, Decimal("6.000")), (2, Decimal("3.000"))]


def test_an_invoice_at_the_order_prices_matches_and_adds_up_to_the_cent(session, world):
    order = received_order(session, world.buyer, world.supplier)
    made = invoice(session, world.supplier, order)
    assert made.state == InvoiceState.MATCHED
    # 10 × 2.50 = 25.00, tax 4.75; 3 × 12.125 = 36.375 → 36.38 (half to even), tax 6.9122 → 6.91
    assert [(line.net, line.tax, line.total) for line in made.lines] == [
        (Decimal("25.00"), Decimal("4.75"), Decimal("29.75")),
        (Decimal("36.38"), Decimal("6.91"), Decimal("43.29")),
    ]
    assert (made.subtotal, made.tax_total, made.total) == (Decimal("61.38"), Decimal("11.66"), Decimal("73.04"))
    assert made.due_date == date.today() + timedelta(days=30) and made.settlement == Settlement.ESCROW
    assert all(line.match_status == MatchStatus.MATCHED for line in made.lines)
    events = set(session.execute(sa.select(Notification.event).where(Notification.object_id == str(made.id))).scalars())
    assert events == {"invoice.created", "invoice.matched"}
    assert session.execute(sa.select(AuditEntry.action).where(AuditEntry.object_id == str(made.id))).scalars().all() == ["invoice:created"]


def test_more_than_was_accepted_is_an_exception_the_buyer_approves(session, world):
    order = received_order(session, world.buyer, world.supplier)
    made = invoice(session, world.supplier, order, ("10", "2.50"), ("4", "12.125"))
    assert made.state == InvoiceState.EXCEPTION
    assert made.lines[0].match_status == MatchStatus.MATCHED
    assert made.lines[1].match_status == MatchStatus.EXCEPTION and "the buyer accepted 3" in made.lines[1].match_reason
    approved = invoices.approve(session, world.buyer.principal, made.id)
    assert approved.state == InvoiceState.APPROVED and approved.decided_by == world.buyer.admin.id


def test_the_terms_tolerances_and_net_days_apply(session, world):
    set_terms(session, world.buyer, world.supplier, settlement=Settlement.OPEN_ACCOUNT, net_days=45, quantity="10", price="2", amount="1")
    order = received_order(session, world.buyer, world.supplier)
    assert (order.settlement, order.net_days) == (Settlement.OPEN_ACCOUNT, 45)
    made = invoice(session, world.supplier, order, ("11", "2.55"))  # 10 % more, 2 % dearer, 0.55 over
    assert made.state == InvoiceState.MATCHED
    assert made.due_date == date.today() + timedelta(days=45)


def test_a_line_naming_no_order_line_needs_the_buyer(session, world):
    order = received_order(session, world.buyer, world.supplier)
    lines = [{"description": "Freight", "quantity": Decimal(1), "unit_price": Decimal("40"), "tax_rate": Decimal(0)}]
    made = invoices.create_invoice(session, world.supplier.principal, {"order_id": order.id, "number": "F-1", "issue_date": date.today(), "lines": lines})
    assert made.state == InvoiceState.EXCEPTION and made.lines[0].order_line_id is None


def test_numbers_are_unique_per_supplier(session, world):
    first = received_order(session, world.buyer, world.supplier)
    second = received_order(session, world.buyer, world.supplier)
    invoice(session, world.supplier, first, number="INV-A")
    with pytest.raises(ValidationFailed) as refused:
        invoice(session, world.supplier, second, number="INV-A")
    assert "number" in refused.value.errors


def test_field_errors_are_told_together(session, world):
    order = received_order(session, world.buyer, world.supplier)
    lines = [
        {"order_line_no": 9, "quantity": Decimal(1), "unit_price": Decimal(1), "tax_rate": Decimal(0)},
        {"quantity": Decimal(1), "unit_price": Decimal(1), "tax_rate": Decimal(0)},
    ]
    data = {"order_id": order.id, "number": " ", "issue_date": date.today() + timedelta(days=5), "lines": lines}
    with pytest.raises(ValidationFailed) as refused:
        invoices.create_invoice(session, world.supplier.principal, data)
    errors = refused.value.errors
    assert set(errors) == {"number", "issue_date", "lines"}
    assert set(errors["lines"][0]) == {"order_line_no"} and set(errors["lines"][1]) == {"description"}


def test_only_the_supplier_invoices_a_received_order(session, world):
    order = received_order(session, world.buyer, world.supplier)
    with pytest.raises(Forbidden):
        invoice(session, world.buyer, order)
    with pytest.raises(NotFound):
        invoice(session, world.supplier2, order)
    issued = orders_factory.issued_order(session, world.buyer, world.supplier)
    with pytest.raises(Conflict, match="no goods receipt"):
        invoice(session, world.supplier, issued)


def test_the_buyer_rejects_with_a_reason_and_the_quantities_free_up(session, world):
    order = received_order(session, world.buyer, world.supplier)
    made = invoice(session, world.supplier, order)
    with pytest.raises(ValidationFailed):
        invoices.reject(session, world.buyer.principal, made.id, "  ")
    rejected = invoices.reject(session, world.buyer.principal, made.id, "Wrong VAT number")
    assert rejected.state == InvoiceState.REJECTED and rejected.decision_reason == "Wrong VAT number"
    again = invoice(session, world.supplier, order)
    assert again.state == InvoiceState.MATCHED
    with pytest.raises(InvalidTransition) as refused:
        invoices.approve(session, world.buyer.principal, made.id)
    assert refused.value.extra["allowed_actions"] == []


def test_a_matched_escrow_invoice_needs_no_approval(session, world):
    order = received_order(session, world.buyer, world.supplier)
    made = invoice(session, world.supplier, order)
    with pytest.raises(InvalidTransition, match="without approval"):
        invoices.approve(session, world.buyer.principal, made.id)


def test_the_supplier_cancels_and_the_buyer_may_not(session, world):
    order = received_order(session, world.buyer, world.supplier)
    made = invoice(session, world.supplier, order)
    with pytest.raises(Forbidden):
        invoices.cancel(session, world.buyer.principal, made.id)
    assert invoices.cancel(session, world.supplier.principal, made.id, "Typo").state == InvoiceState.CANCELLED


def test_credit_notes_never_credit_more_than_is_left(session, world):
    order = received_order(session, world.buyer, world.supplier)
    made = invoice(session, world.supplier, order)
    data = {"number": "CN-1", "issue_date": date.today(), "reason": "Returned goods", "lines": [{"invoice_line_no": 2, "quantity": Decimal(2)}]}
    note = invoices.create_credit_note(session, world.supplier.principal, made.id, data)
    assert note.total == Decimal("28.86")  # 2 × 12.125 = 24.25, tax 4.61
    assert made.credited_total == Decimal("28.86")
    too_much = {**data, "number": "CN-2", "lines": [{"invoice_line_no": 2, "quantity": Decimal(2)}]}
    with pytest.raises(ValidationFailed) as refused:
        invoices.create_credit_note(session, world.supplier.principal, made.id, too_much)
    assert refused.value.errors == {"lines": {0: {"quantity": ["At most 1.000 of line 2 is left to credit."]}}}
    with pytest.raises(Forbidden):
        invoices.create_credit_note(session, world.buyer.principal, made.id, {**data, "number": "CN-3"})


def test_mark_paid_pays_once(session, world):
    set_terms(session, world.buyer, world.supplier, settlement=Settlement.OPEN_ACCOUNT, net_days=0)
    order = received_order(session, world.buyer, world.supplier)
    made = invoice(session, world.supplier, order)
    invoices.approve(session, world.buyer.principal, made.id)
    when = clock.utcnow()
    paid = invoices.mark_paid(session, made.id, made.total, when)
    session.commit()
    assert paid.state == InvoiceState.PAID and paid.paid_amount == made.total
    assert invoices.mark_paid(session, made.id, made.total, when).paid_at == when
    assert "invoice.paid" in session.execute(sa.select(Notification.event).where(Notification.object_id == str(made.id))).scalars().all()


def test_the_order_keeps_its_terms_when_they_change(session, world):
    set_terms(session, world.buyer, world.supplier, settlement=Settlement.OPEN_ACCOUNT, net_days=60)
    order = orders_factory.issued_order(session, world.buyer, world.supplier)
    set_terms(session, world.buyer, world.supplier, settlement=Settlement.ESCROW, net_days=10)
    session.refresh(order)
    assert (order.settlement, order.net_days) == (Settlement.OPEN_ACCOUNT, 60)
