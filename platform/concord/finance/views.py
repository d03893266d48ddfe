"""The invoice pages: the supplier's invoices and the form that invoices a received order
(the proposal pre-filled, every line editable), the buyer's invoices to approve, exceptions
and payables due, each invoice's page with its match per line and its credit notes, and the
payment terms of each buyer–supplier partnership. What may happen is decided in
`concord.finance.invoices` and `concord.finance.terms`."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for

from concord import clock, db, policy
from concord.auth.web import login_required
from concord.finance import financing, invoices, lifecycle, queries, receivables, schemas, terms
from concord.finance.models import Invoice, InvoiceKind, InvoiceState, MatchStatus, PaymentTerms, Settlement
from concord.orders.models import PurchaseOrder
from concord.pagination import paginate
from concord.portal import attempt_with_status, form_data, form_rows, load, plain, principal, row_errors
from concord.tenancy.models import Partnership, PartnershipStatus, Relation, Role
from concord.tenancy.service import legal_names

invoices_portal = Blueprint("invoices_portal", __name__)
PAGE_SIZE = 25
LINE_FIELDS = ("order_line_no", "description", "quantity", "unit_price", "tax_rate")

#: The list's views: (key, label, side, filter).
VIEWS = {
    "issued": ("Issued by you", lifecycle.SUPPLIER),
    "to_approve": ("To approve", lifecycle.BUYER),
    "exceptions": ("Exceptions", None),
    "payables": ("Payables due", lifecycle.BUYER),
    "overdue": ("Overdue", None),
    "all": ("All", None),
}


def _view_query(view: str) -> sa.Select:
    me = principal()
    if view == "issued":
        return queries.invoices_query(me, side=lifecycle.SUPPLIER)
    if view == "to_approve":
        to_decide = sa.or_(
            Invoice.state == InvoiceState.EXCEPTION, sa.and_(Invoice.state == InvoiceState.MATCHED, Invoice.settlement == Settlement.OPEN_ACCOUNT)
        )
        return queries.invoices_query(me, side=lifecycle.BUYER, kind=InvoiceKind.INVOICE).where(to_decide)
    if view == "exceptions":
        return queries.invoices_query(me, state=InvoiceState.EXCEPTION)
    if view == "payables":
        return queries.invoices_query(me, side=lifecycle.BUYER, state=InvoiceState.APPROVED, kind=InvoiceKind.INVOICE).where(
            Invoice.settlement == Settlement.OPEN_ACCOUNT
        )
    if view == "overdue":
        return queries.invoices_query(me, overdue=True)
    return queries.invoices_query(me)


def _default_view() -> str:
    me = principal()
    return "issued" if me.org.has("supplier") and not me.org.has("buyer") else "to_approve" if me.org.has("buyer") else "all"


@invoices_portal.route("/finance/invoices")
@login_required
def index():
    view = request.args.get("view") if request.args.get("view") in VIEWS else _default_view()
    session = db.session()
    rows, next_cursor = paginate(session, _view_query(view), [Invoice.created_at, Invoice.id], limit=PAGE_SIZE, cursor=request.args.get("cursor") or None)
    today = clock.utcnow().date()
    return render_template(
        "finance/invoices.html",
        invoices=rows,
        next_cursor=next_cursor,
        view=view,
        views=VIEWS,
        names=legal_names(session, [org for i in rows for org in (i.buyer_org_id, i.supplier_org_id)]),
        orders=_order_numbers(session, [i.order_id for i in rows]),
        overdue={i.id for i in rows if queries.is_overdue(i, today)},
    )


def _order_numbers(session, order_ids) -> dict[uuid.UUID, str]:
    ids = set(order_ids)
    return dict(session.execute(sa.select(PurchaseOrder.id, PurchaseOrder.number).where(PurchaseOrder.id.in_(ids))).tuples().all()) if ids else {}


def _detail_page(invoice_id: uuid.UUID, *, active: str | None = None, errors: dict | None = None, status: int = 200):
    session, me = db.session(), principal()
    invoice = queries.get_visible(session, me, invoice_id)
    order = db.get_or_raise(session, PurchaseOrder, invoice.order_id)
    side = lifecycle.side_of(invoice, me)
    allowed = lifecycle.allowed_actions(session, invoice, side) if me.user.role != Role.VIEWER else []
    credited = db.get_or_raise(session, Invoice, invoice.credited_invoice_id) if invoice.credited_invoice_id else None
    receivable = financing.receivable_of_invoice(session, invoice.id) if side in ("buyer", "supplier") else None
    registrable = (
        receivable is None
        and side == "supplier"
        and me.user.role != Role.VIEWER
        and invoice.kind == InvoiceKind.INVOICE
        and invoice.state in (InvoiceState.MATCHED, InvoiceState.APPROVED)
    )
    return render_template(
        "finance/invoice.html",
        invoice=invoice,
        order=order,
        side=side,
        allowed=allowed,
        names=legal_names(session, [invoice.buyer_org_id, invoice.supplier_org_id]),
        credit_notes=queries.credit_notes_of(session, invoice) if invoice.kind == InvoiceKind.INVOICE else [],
        left_to_credit=queries.left_to_credit(session, invoice) if "credit" in allowed else {},
        credited=credited,
        receivable=receivable,
        registrable=registrable,
        balance=queries.open_balance(invoice),
        overdue=queries.is_overdue(invoice),
        matched=all(line.match_status == MatchStatus.MATCHED for line in invoice.lines),
        today=clock.utcnow().date().isoformat(),
        active=active,
        errors=errors or {},
        form=request.form if active else {},
    ), status


@invoices_portal.route("/finance/invoices/<uuid:invoice_id>")
@login_required
def detail(invoice_id: uuid.UUID):
    return _detail_page(invoice_id)


def _decision(invoice_id: uuid.UUID, action: str, schema, fields: tuple[str, ...], done: str):
    invoice = queries.get_visible(db.session(), principal(), invoice_id)
    loaded, errors = load(schema, form_data(*fields))
    status = 422
    if loaded is not None:
        step = {"approve": invoices.approve, "reject": invoices.reject, "cancel": invoices.cancel}[action]
        taken, errors, status = attempt_with_status(step, db.session(), principal(), invoice.id, loaded[fields[0]])
        if taken:
            flash(done.format(number=taken.number), "success")
            return redirect(url_for("invoices_portal.detail", invoice_id=taken.id))
    return _detail_page(invoice.id, active=action, errors=errors, status=status)


@invoices_portal.route("/finance/invoices/<uuid:invoice_id>/receivable", methods=["POST"])
@login_required
def register_receivable(invoice_id: uuid.UUID):
    """The supplier registers its matched invoice as a receivable now (the worker would within seconds)."""
    invoice = queries.get_visible(db.session(), principal(), invoice_id)
    registered, errors, status = attempt_with_status(receivables.register_invoice, db.session(), principal(), invoice.id)
    if registered:
        flash(f"Invoice {invoice.number} is being registered on the ledger as a receivable.", "success")
        return redirect(url_for("finance_workspace.receivable", receivable_id=registered.id))
    return _detail_page(invoice.id, active="receivable", errors=errors, status=status)


@invoices_portal.route("/finance/invoices/<uuid:invoice_id>/approve", methods=["POST"])
@login_required
def approve(invoice_id: uuid.UUID):
    return _decision(invoice_id, "approve", schemas.ApprovalSchema(), ("note",), "Invoice {number} approved: the supplier is told.")


@invoices_portal.route("/finance/invoices/<uuid:invoice_id>/reject", methods=["POST"])
@login_required
def reject(invoice_id: uuid.UUID):
    return _decision(invoice_id, "reject", schemas.RejectionSchema(), ("reason",), "Invoice {number} rejected: the supplier is told why.")


@invoices_portal.route("/finance/invoices/<uuid:invoice_id>/cancel", methods=["POST"])
@login_required
def cancel(invoice_id: uuid.UUID):
    return _decision(invoice_id, "cancel", schemas.CancellationSchema(), ("reason",), "Invoice {number} cancelled: the buyer is told.")


@invoices_portal.route("/finance/invoices/<uuid:invoice_id>/credit-notes", methods=["POST"])
@login_required
def credit(invoice_id: uuid.UUID):
    invoice = queries.get_visible(db.session(), principal(), invoice_id)
    rows = form_rows("credit", ("quantity",))
    lines = [{"invoice_line_no": row, "quantity": values["quantity"]} for row, values in rows]
    loaded, errors = load(schemas.CreditNoteInputSchema(), {**form_data("number", "issue_date", "reason"), "lines": lines})
    status = 422
    if loaded is not None:
        note, errors, status = attempt_with_status(invoices.create_credit_note, db.session(), principal(), invoice.id, loaded)
        if note:
            flash(f"Credit note {note.number} issued: {note.total} {note.currency} credited of invoice {invoice.number}.", "success")
            return redirect(url_for("invoices_portal.detail", invoice_id=invoice.id, _anchor="credit-notes"))
    return _detail_page(invoice.id, active="credit", errors=_by_line_no(errors, [row for row, _ in rows]), status=status)


def _by_line_no(errors: dict[str, Any], rows: list[int]) -> dict[str, Any]:
    return row_errors(errors, "lines", rows)


# -- invoicing an order ----------------------------------------------------------------------


def _invoice_form(order_id: uuid.UUID, *, errors: dict | None = None, status: int = 200):
    session, me = db.session(), principal()
    offered = invoices.proposal(session, me, order_id)
    order = offered.order
    if order.supplier_org_id != me.org.id:
        return redirect(url_for("orders_portal.detail", order_id=order.id))
    rows: list[dict[str, Any]]
    if request.method == "POST":
        rows = [{**values, "row": row} for row, values in form_rows("line", LINE_FIELDS)]
    else:
        rows = [
            {"row": i, "order_line_no": p.order_line_no, "description": p.description, "quantity": plain(p.quantity), "unit_price": plain(p.unit_price)}
            for i, p in enumerate(offered.lines)
        ]
    following = max((row["row"] for row in rows), default=-1) + 1
    rows += [{"row": following + n} for n in range(2)]  # room for lines of the supplier's own (freight, ...)
    return render_template(
        "finance/invoice_form.html",
        order=order,
        proposal=offered,
        rows=rows,
        names=legal_names(session, [order.buyer_org_id]),
        today=clock.utcnow().date().isoformat(),
        errors=errors or {},
        form=request.form if request.method == "POST" else {},
    ), status


@invoices_portal.route("/finance/orders/<uuid:order_id>/invoice", methods=["GET", "POST"])
@login_required
def invoice_order(order_id: uuid.UUID):
    if request.method == "GET":
        return _invoice_form(order_id)
    order = policy.get_visible(db.session(), PurchaseOrder, order_id, principal())
    rows = form_rows("line", LINE_FIELDS)
    lines = [{**values, "order_line_no": values.get("order_line_no") or None} for _row, values in rows]
    loaded, errors = load(schemas.InvoiceInputSchema(), {**form_data("number", "issue_date", "note"), "order_id": str(order.id), "lines": lines})
    status = 422
    if loaded is not None:
        made, errors, status = attempt_with_status(invoices.create_invoice, db.session(), principal(), loaded)
        if made:
            verdict = "matches the order and its receipt" if made.state == InvoiceState.MATCHED else "has exceptions for the buyer to decide"
            flash(f"Invoice {made.number} sent to the buyer: {made.total} {made.currency}; it {verdict}.", "success")
            return redirect(url_for("invoices_portal.detail", invoice_id=made.id))
    return _invoice_form(order.id, errors=row_errors(errors, "lines", [row for row, _ in rows]), status=status)


# -- payment terms ---------------------------------------------------------------------------


@invoices_portal.route("/finance/terms")
@login_required
def terms_list():
    session, me = db.session(), principal()
    partnerships = list(
        session.execute(
            sa.select(Partnership)
            .where(policy.visible(me, Partnership), Partnership.relation == Relation.BUYER_SUPPLIER, Partnership.status == PartnershipStatus.ACTIVE)
            .order_by(Partnership.created_at)
        )
        .unique()
        .scalars()
    )
    rows = {
        row.partnership_id: row
        for row in session.execute(sa.select(PaymentTerms).where(PaymentTerms.partnership_id.in_([p.id for p in partnerships]))).scalars()
    }
    return render_template(
        "finance/terms_list.html",
        partnerships=partnerships,
        applied={p.id: terms.as_terms(rows[p.id]) if p.id in rows else terms.DEFAULT_TERMS for p in partnerships},
    )


def _terms_page(partnership_id: uuid.UUID, *, errors: dict | None = None, status: int = 200):
    session, me = db.session(), principal()
    partnership, row = terms.get_terms(session, me, partnership_id)
    return render_template(
        "finance/terms.html",
        partnership=partnership,
        applied=terms.as_terms(row) if row is not None else terms.DEFAULT_TERMS,
        row=row,
        can_edit=partnership.org_a_id == me.org.id and me.user.role != Role.VIEWER,
        settlements=[(s.value, "Open account (net days)" if s == Settlement.OPEN_ACCOUNT else "Escrow") for s in Settlement],
        errors=errors or {},
        form=request.form if errors else {},
    ), status


@invoices_portal.route("/finance/terms/<uuid:partnership_id>", methods=["GET", "POST"])
@login_required
def payment_terms(partnership_id: uuid.UUID):
    if request.method == "GET":
        return _terms_page(partnership_id)
    partnership = terms.partnership(db.session(), principal(), partnership_id)
    loaded, errors = load(schemas.PaymentTermsInputSchema(), form_data("settlement", "net_days", "quantity_tolerance", "price_tolerance", "amount_tolerance"))
    status = 422
    if loaded is not None:
        saved, errors, status = attempt_with_status(terms.set_terms, db.session(), principal(), partnership.id, loaded)
        if saved:
            flash("Payment terms saved: they apply to orders issued from now on, and your partner is told.", "success")
            return redirect(url_for("invoices_portal.payment_terms", partnership_id=partnership.id))
    return _terms_page(partnership.id, errors=errors, status=status)
