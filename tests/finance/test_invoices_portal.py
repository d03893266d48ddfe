"""The invoice pages, signed in through the real login form: the supplier invoices a received
order from its page (the proposal pre-filled), reads the match per line and issues a credit
note; the buyer finds it to approve or among the exceptions, and decides; the buyer sets the
payment terms the supplier reads."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from concord.finance.models import Invoice, InvoiceState, PaymentTerms, Receivable, Settlement
from concord.orders import service as orders

from tests import factories, orders_factory
from tests.finance.invoice_factory import invoice, partnership_of, received_order, set_terms
from tests.security.helpers import csrf_from, portal_login


@pytest.fixture
def session(detached_session):
    return detached_session


@pytest.fixture
def world(detached_world):
    return detached_world


class Browser:
    def __init__(self, app, member) -> None:
        self.client = app.test_client()
        self.csrf = portal_login(self.client, member.admin.email, factories.PASSWORD)

    def get(self, path: str):
        return self.client.get(path)

    def post(self, path: str, data: dict):
        return self.client.post(path, data={**data, "csrf_token": self.csrf})


def arranged(app, session, build):
    with app.test_request_context():
        made = build()
    session.commit()
    return made


def test_the_supplier_invoices_an_order_from_its_page_and_the_buyer_approves_the_exception(app, session, world):
    order = arranged(app, session, lambda: received_order(session, world.buyer, world.supplier))
    supplier, buyer = Browser(app, world.supplier), Browser(app, world.buyer)
    page = supplier.get(f"/orders/{order.id}").get_data(as_text=True)
    assert f"/finance/orders/{order.id}/invoice" in page and "Invoice this order" in page
    form = supplier.get(f"/finance/orders/{order.id}/invoice").get_data(as_text=True)
    assert 'name="line-0-quantity" size="8" value="10"' in form and 'name="line-1-unit_price" size="10" value="12.125"' in form
    refused = supplier.post(
        f"/finance/orders/{order.id}/invoice",
        {"number": "", "issue_date": "2026-13-01", "line-0-order_line_no": "1", "line-0-quantity": "x", "line-0-unit_price": "2.5", "line-0-tax_rate": "19"},
    )
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'id="lines-0-quantity-error"' in text and 'id="number-error"' in text and 'id="issue_date-error"' in text
    lines = {"line-0-order_line_no": "1", "line-0-quantity": "10", "line-0-unit_price": "2.5", "line-0-tax_rate": "19"}
    lines |= {"line-1-order_line_no": "2", "line-1-quantity": "4", "line-1-unit_price": "12.125", "line-1-tax_rate": "19"}
    sent = supplier.post(
        f"/finance/orders/{order.id}/invoice",
        {
            "number": "P-1",
            "issue_date": "2026-01-05",
            **lines,
            "line-5-description": "Freight",
            "line-5-quantity": "1",
            "line-5-unit_price": "12",
            "line-5-tax_rate": "0",
        },
    )
    assert sent.status_code == 302, sent.get_data(as_text=True)[:3000]
    made = session.execute(sa.select(Invoice).where(Invoice.number == "P-1")).scalar_one()
    assert made.state == InvoiceState.EXCEPTION and len(made.lines) == 3
    detail = supplier.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Invoices 4 of order line 2; the buyer accepted 3." in detail and "does not refer to a line of the order" in detail
    listed = buyer.get("/finance/invoices?view=exceptions").get_data(as_text=True)
    assert "P-1" in listed
    assert "P-1" in buyer.get("/finance/invoices?view=to_approve").get_data(as_text=True)
    assert buyer.post(f"/finance/invoices/{made.id}/reject", {"reason": ""}).status_code == 422
    approved = buyer.post(f"/finance/invoices/{made.id}/approve", {"note": "Freight agreed"})
    assert approved.status_code == 302
    session.expire_all()
    assert session.get(Invoice, made.id).state == InvoiceState.APPROVED


def test_a_credit_note_from_the_invoice_page(app, session, world):
    made = arranged(app, session, lambda: invoice(session, world.supplier, received_order(session, world.buyer, world.supplier)))
    supplier = Browser(app, world.supplier)
    page = supplier.get(f"/finance/invoices/{made.id}").get_data(as_text=True)
    assert 'name="credit-2-quantity"' in page and "at most 3" in page
    today = re.search(r'name="issue_date" type="date" value="([0-9-]+)"', page).group(1)
    too_much = supplier.post(
        f"/finance/invoices/{made.id}/credit-notes", {"number": "CN-P", "issue_date": today, "reason": "Returned", "credit-2-quantity": "4"}
    )
    assert too_much.status_code == 422 and 'id="lines-2-quantity-error"' in too_much.get_data(as_text=True)
    done = supplier.post(f"/finance/invoices/{made.id}/credit-notes", {"number": "CN-P", "issue_date": today, "reason": "Returned", "credit-2-quantity": "1"})
    assert done.status_code == 302
    assert "CN-P" in supplier.get(f"/finance/invoices/{made.id}").get_data(as_text=True)


def test_the_buyer_sets_the_payment_terms_and_the_supplier_reads_them(app, session, world):
    partnership = partnership_of(session, world.buyer, world.supplier)
    buyer, supplier = Browser(app, world.buyer), Browser(app, world.supplier)
    assert "Escrow" in buyer.get("/finance/terms").get_data(as_text=True)
    form = {"settlement": "open_account", "net_days": "45", "quantity_tolerance": "5", "price_tolerance": "200", "amount_tolerance": "1"}
    refused = buyer.post(f"/finance/terms/{partnership.id}", form)
    assert refused.status_code == 422 and 'id="price_tolerance-error"' in refused.get_data(as_text=True)
    assert buyer.post(f"/finance/terms/{partnership.id}", {**form, "price_tolerance": "2"}).status_code == 302
    read = supplier.get(f"/finance/terms/{partnership.id}").get_data(as_text=True)
    assert "Open account, net 45 days" in read and 'name="net_days"' not in read
    assert supplier.post(f"/finance/terms/{partnership.id}", {**form, "price_tolerance": "2"}).status_code == 403
    session.expire_all()
    assert session.get(PaymentTerms, partnership.id).settlement == Settlement.OPEN_ACCOUNT
    assert csrf_from(supplier.client.get("/finance/invoices"))


def test_strangers_get_404_and_lists_show_only_ones_own(app, session, world):
    def build():
        set_terms(session, world.buyer, world.supplier, settlement=Settlement.OPEN_ACCOUNT)
        return invoice(session, world.supplier, received_order(session, world.buyer, world.supplier))

    made = arranged(app, session, build)
    stranger = Browser(app, world.buyer2)
    assert stranger.get(f"/finance/invoices/{made.id}").status_code == 404
    assert made.number not in stranger.get("/finance/invoices?view=all").get_data(as_text=True)
    assert stranger.get(f"/finance/orders/{made.order_id}/invoice").status_code == 404
    buyer = Browser(app, world.buyer)
    assert made.number in buyer.get("/finance/invoices").get_data(as_text=True)  # the buyer's default view: to approve
    assert f'data-opens="/finance/invoices/{made.id}"' in buyer.get("/notifications").get_data(as_text=True)  # its notices lead to it


def test_an_open_account_order_page_speaks_of_open_account_not_escrow(app, session, world):
    def build():
        set_terms(session, world.buyer, world.supplier, settlement=Settlement.OPEN_ACCOUNT, net_days=45)
        order = orders_factory.issued_order(session, world.buyer, world.supplier)
        answers = [{"line_no": line.line_no, "confirmed_quantity": line.quantity, "confirmed_date": line.requested_date} for line in order.lines]
        return orders.acknowledge(session, world.supplier.principal, order.id, answers)

    order = arranged(app, session, build)
    page = Browser(app, world.supplier).get(f"/orders/{order.id}").get_data(as_text=True)
    assert "On open account: nothing is escrowed" in page and "pays the approved invoice 45 days after its date" in page
    assert "held in escrow" not in page


def test_the_supplier_registers_a_matched_invoice_from_its_page_and_a_ledger_not_ready_writes_nothing(app, session, world):
    order = arranged(app, session, lambda: received_order(session, world.buyer, world.supplier))
    made = arranged(app, session, lambda: invoice(session, world.supplier, order, ("10", "2.50"), ("3", "12.125")))
    supplier, buyer = Browser(app, world.supplier), Browser(app, world.buyer)
    assert made.state == InvoiceState.MATCHED
    assert 'id="register-receivable"' in supplier.get(f"/finance/invoices/{made.id}").get_data(as_text=True)
    assert 'id="register-receivable"' not in buyer.get(f"/finance/invoices/{made.id}").get_data(as_text=True)
    # No contracts are deployed here: the page says so and no receivable is written.
    refused = supplier.post(f"/finance/invoices/{made.id}/receivable", {})
    assert refused.status_code == 409 and 'class="flash flash-error"' in refused.get_data(as_text=True)
    assert session.execute(sa.select(sa.func.count()).select_from(Receivable)).scalar_one() == 0
    assert buyer.post(f"/finance/invoices/{made.id}/receivable", {}).status_code in (403, 409)
    assert session.execute(sa.select(sa.func.count()).select_from(Receivable)).scalar_one() == 0
