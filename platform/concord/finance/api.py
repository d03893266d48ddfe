"""Invoices, their three-way match and credit notes; payment terms per buyer–supplier partnership."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from concord import db
from concord.api_common import page_of, page_response
from concord.auth.web import current_principal
from concord.finance import invoices, lifecycle, queries, schemas, terms
from concord.finance.models import Invoice, InvoiceKind, MatchStatus, PaymentTerms
from concord.orders.models import PurchaseOrder
from concord.tenancy.models import Partnership, Role

invoices_api = Blueprint(
    "invoices",
    __name__,
    url_prefix="/api/v1/invoices",
    description="Suppliers' invoices of received orders, matched three ways (order, receipt, invoice); the buyer's approval; credit notes.",
)
terms_api = Blueprint(
    "payment_terms",
    __name__,
    url_prefix="/api/v1/payment-terms",
    description="Payment terms per buyer–supplier partnership: escrow or open account (net days), and the match tolerances.",
)
proposal_api = Blueprint("invoice_proposals", __name__, url_prefix="/api/v1/orders", description="What a supplier may invoice of a received order.")
BLUEPRINTS = [invoices_api, terms_api, proposal_api]


def shown_invoice(invoice: Invoice) -> dict[str, Any]:
    """The invoice as InvoiceSchema shows it, with what the caller may do with it now."""
    session, principal = db.session(), current_principal()
    order = db.get_or_raise(session, PurchaseOrder, invoice.order_id)
    side = lifecycle.side_of(invoice, principal)
    notes = queries.credit_notes_of(session, invoice) if invoice.kind == InvoiceKind.INVOICE else []
    return {
        **{key: getattr(invoice, key) for key in schemas.InvoiceSchema().fields if hasattr(Invoice, key) and key != "lines"},
        "lines": invoice.lines,
        "order_number": order.number,
        "balance": queries.open_balance(invoice),
        "match_status": MatchStatus.MATCHED if all(line.match_status == MatchStatus.MATCHED for line in invoice.lines) else MatchStatus.EXCEPTION,
        "overdue": queries.is_overdue(invoice),
        "credit_notes": notes,
        "allowed_actions": lifecycle.allowed_actions(session, invoice, side) if principal.user.role != Role.VIEWER else [],
    }


def shown_terms(partnership: Partnership, row: PaymentTerms | None) -> dict[str, Any]:
    principal = current_principal()
    applied = terms.as_terms(row) if row is not None else terms.DEFAULT_TERMS
    return {
        "partnership_id": partnership.id,
        "buyer_org_id": partnership.org_a_id,
        "supplier_org_id": partnership.org_b_id,
        "agreed": applied.agreed,
        "settlement": applied.settlement,
        "net_days": applied.net_days,
        "quantity_tolerance": applied.tolerances.quantity,
        "price_tolerance": applied.tolerances.price,
        "amount_tolerance": applied.tolerances.amount,
        "updated_at": row.updated_at if row is not None else None,
        "can_edit": partnership.org_a_id == principal.org.id and principal.user.role != Role.VIEWER,
    }


@terms_api.route("/<uuid:partnership_id>")
class PaymentTermsItem(MethodView):
    @terms_api.response(200, schemas.PaymentTermsSchema)
    def get(self, partnership_id: uuid.UUID):
        """The partnership's payment terms (either partner reads them; the defaults when none were set)."""
        return shown_terms(*terms.get_terms(db.session(), current_principal(), partnership_id))

    @terms_api.arguments(schemas.PaymentTermsInputSchema)
    @terms_api.response(200, schemas.PaymentTermsSchema)
    def put(self, data, partnership_id: uuid.UUID):
        """Set the partnership's payment terms (the buyer; the supplier is told). Orders issued
        from now on take them; orders already issued keep theirs."""
        session = db.session()
        terms.set_terms(session, current_principal(), partnership_id, data)
        return shown_terms(*terms.get_terms(session, current_principal(), partnership_id))


@proposal_api.route("/<uuid:order_id>/invoice-proposal")
class InvoiceProposal(MethodView):
    @proposal_api.response(200, schemas.ProposalSchema)
    def get(self, order_id: uuid.UUID):
        """The lines the supplier may invoice: the receipt's accepted quantities not yet
        invoiced, at the unit prices of the order's current revision (none, and why, before
        the receipt). Whoever reads the order reads it."""
        offered = invoices.proposal(db.session(), current_principal(), order_id)
        order = offered.order
        return {
            "order_id": order.id,
            "order_number": order.number,
            "currency": order.currency,
            "settlement": order.settlement,
            "net_days": order.net_days or 0,
            "lines": offered.lines,
            "why_not": offered.why_not,
        }


@invoices_api.route("")
class Invoices(MethodView):
    @invoices_api.arguments(schemas.InvoiceFilterSchema, location="query")
    @invoices_api.response(200, page_of(schemas.InvoiceSchema))
    def get(self, args):
        """Invoices and credit notes you issued or owe, newest first."""
        query = queries.invoices_query(
            current_principal(), state=args["state"], side=args["side"], overdue=args["overdue"], kind=args["kind"], order_id=args["order_id"]
        )
        return page_response(query, [Invoice.created_at, Invoice.id], args, transform=shown_invoice)

    @invoices_api.arguments(schemas.InvoiceInputSchema)
    @invoices_api.response(201, schemas.InvoiceSchema)
    def post(self, data):
        """Invoice a received order (its supplier): lines from the proposal, part of it, or
        your own; each line is matched against the order and the receipt."""
        return shown_invoice(invoices.create_invoice(db.session(), current_principal(), data))


@invoices_api.route("/<uuid:invoice_id>")
class InvoiceItem(MethodView):
    @invoices_api.response(200, schemas.InvoiceSchema)
    def get(self, invoice_id: uuid.UUID):
        """The invoice (or credit note), its lines with the match, and its credit notes."""
        return shown_invoice(queries.get_visible(db.session(), current_principal(), invoice_id))


@invoices_api.route("/<uuid:invoice_id>/approve")
class InvoiceApprove(MethodView):
    @invoices_api.arguments(schemas.ApprovalSchema)
    @invoices_api.response(200, schemas.InvoiceSchema)
    def post(self, data, invoice_id: uuid.UUID):
        """Approve an exception, or (open account) a matched invoice: an approved payable (the buyer)."""
        return shown_invoice(invoices.approve(db.session(), current_principal(), invoice_id, data["note"]))


@invoices_api.route("/<uuid:invoice_id>/reject")
class InvoiceReject(MethodView):
    @invoices_api.arguments(schemas.RejectionSchema)
    @invoices_api.response(200, schemas.InvoiceSchema)
    def post(self, data, invoice_id: uuid.UUID):
        """Reject the invoice, saying why (the buyer); its quantities may be invoiced again."""
        return shown_invoice(invoices.reject(db.session(), current_principal(), invoice_id, data["reason"]))


@invoices_api.route("/<uuid:invoice_id>/cancel")
class InvoiceCancel(MethodView):
    @invoices_api.arguments(schemas.CancellationSchema)
    @invoices_api.response(200, schemas.InvoiceSchema)
    def post(self, data, invoice_id: uuid.UUID):
        """Withdraw the invoice (the supplier), before any receivable or payment."""
        return shown_invoice(invoices.cancel(db.session(), current_principal(), invoice_id, data["reason"]))


@invoices_api.route("/<uuid:invoice_id>/credit-notes")
class InvoiceCreditNotes(MethodView):
    @invoices_api.arguments(schemas.CreditNoteInputSchema)
    @invoices_api.response(201, schemas.InvoiceSchema)
    def post(self, data, invoice_id: uuid.UUID):
        """Credit part of the invoice for rejected or returned goods (the supplier): each line
        credits a quantity of one of its lines, never more than is left to credit."""
        return shown_invoice(invoices.create_credit_note(db.session(), current_principal(), invoice_id, data))
