"""The disputes pages: the list of disputes the viewer takes part in, and each dispute's case
page, where the arbiter an escrow names (the consortium's operator, or a member a
partnership names) reads everything the dispute is about and resolves it with a split and
a written rationale, and where the buyer, the supplier and the order's carriers add
evidence while it is open. What may happen is decided in `concord.disputes.service`."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for

from concord import db, files, policy
from concord.auth.web import login_required
from concord.disputes import schemas as case_schemas
from concord.disputes import service as disputes
from concord.disputes.case import case
from concord.files import ACCEPTED_TEXT
from concord.orders import schemas
from concord.orders.models import Dispute, DisputeState, PurchaseOrder
from concord.pagination import paginate
from concord.portal import (
    UTC_OFFSETS,
    attempt_with_status,
    counterparties,
    form_data,
    load,
    money_text,
    orders_by_id,
    partner_arg,
    principal,
)
from concord.tenancy.models import Partnership, PartnershipStatus
from concord.tenancy.service import legal_names

disputes_portal = Blueprint("disputes_portal", __name__)
PAGE_SIZE = 25


@disputes_portal.app_context_processor
def _dispute_navigation() -> dict:
    """Whether the signed-in organization has disputes to read or decide: a party to orders,
    the operator, or a member a partnership names as its arbiter."""
    me = g.get("principal")
    if me is None:
        return {"sees_disputes": False}
    if me.is_operator or me.org.has("buyer") or me.org.has("supplier"):
        return {"sees_disputes": True}
    named = sa.select(Partnership.id).where(Partnership.arbiter_org_id == me.org.id, Partnership.status == PartnershipStatus.ACTIVE)
    taking_part = sa.select(Dispute.id).where(policy.visible(me, Dispute))  # deciding, or carrying goods of a disputed order
    return {"sees_disputes": db.session().execute(named.union_all(taking_part).limit(1)).first() is not None}


# -- disputes (the arbiter's page) --------------------------------------------------------------


def _disputes_page():
    me = principal()
    session = db.session()
    args = request.args
    state = args.get("state") if args.get("state") in {s.value for s in DisputeState} else None
    partner = partner_arg()
    query = disputes.disputes_query(me, state=DisputeState(state) if state else None, partner_id=partner)
    rows, next_cursor = paginate(session, query, [Dispute.created_at, Dispute.id], limit=PAGE_SIZE, cursor=args.get("cursor") or None)
    orders = orders_by_id(d.order_id for d in rows)
    names = legal_names(session, [org for d in rows for org in (d.buyer_org_id, d.supplier_org_id, d.opened_by_org_id)])
    return render_template(
        "disputes/list.html",
        disputes=rows,
        next_cursor=next_cursor,
        orders=orders,
        names=names,
        sees_money={d.id for d in rows if disputes.sees_money(d, me)},
        to_decide={d.id for d in rows if "resolve" in disputes.allowed_actions(session, d, me)},
        states=[s.value for s in DisputeState],
        filters={k: v for k, v in (("state", state), ("partner", str(partner) if partner else None)) if v},
        partners=counterparties([Dispute.buyer_org_id, Dispute.supplier_org_id], policy.visible(me, Dispute)),
    )


@disputes_portal.route("/disputes")
@login_required
def index():
    return _disputes_page()


def _case_page(dispute_id: uuid.UUID, *, active: str | None = None, errors: dict | None = None, status: int = 200):
    """The dispute's case; after a refused form (`active`: resolve or add_evidence), with
    that form as submitted and its messages."""
    found = case(db.session(), principal(), dispute_id)
    return render_template(
        "disputes/case.html",
        case=found,
        dispute=found.dispute,
        order=found.order,
        names=found.names,
        lines_by_no={line.line_no: line for line in found.order.lines},
        escrow=found.settlement,
        timeline=found.timeline,
        accepted_types=ACCEPTED_TEXT,
        max_megabytes=current_app.config["EVIDENCE_MAX_BYTES"] // (1024 * 1024),
        utc_offsets=UTC_OFFSETS,
        active=active,
        errors=errors or {},
        form=request.form if active else {},
    ), status


@disputes_portal.route("/disputes/<uuid:dispute_id>")
@login_required
def detail(dispute_id: uuid.UUID):
    return _case_page(dispute_id)


@disputes_portal.route("/disputes/<uuid:dispute_id>/evidence", methods=["POST"])
@login_required
def add_evidence(dispute_id: uuid.UUID):
    """A comment, a file, or both (a multipart form): checked together, in one pass."""
    dispute = policy.get_visible(db.session(), Dispute, dispute_id, principal())
    given = {key: value for key, value in (("comment", request.form.get("comment", "").strip()), ("file", request.files.get("file"))) if value}
    loaded, errors = load(case_schemas.EvidenceInputSchema(), given)
    status = 422
    if loaded:
        added, errors, status = attempt_with_status(disputes.add_evidence, db.session(), principal(), dispute.id, loaded["comment"], loaded["file"])
        if added:
            what = " and ".join(part for part in ("your comment" if added.comment else "", added.file_name or "") if part)
            flash(f"Added {what} to the case: the other parties and the arbiter are told.", "success")
            return redirect(url_for("disputes_portal.detail", dispute_id=dispute.id, _anchor="evidence"))
    return _case_page(dispute.id, active="add_evidence", errors=errors, status=status)


@disputes_portal.route("/disputes/<uuid:dispute_id>/evidence/<uuid:evidence_id>/file")
@login_required
def evidence_file(dispute_id: uuid.UUID, evidence_id: uuid.UUID):
    session = db.session()
    evidence, stored = disputes.evidence_file(session, principal(), dispute_id, evidence_id)
    return files.download(session, stored, evidence.file_name or "evidence")


@disputes_portal.route("/disputes/<uuid:dispute_id>/resolve", methods=["POST"])
@login_required
def resolve(dispute_id: uuid.UUID):
    dispute = policy.get_visible(db.session(), Dispute, dispute_id, principal())
    loaded, errors = load(schemas.ResolutionInputSchema(), form_data("payee_amount", "resolution"))
    status = 422
    if loaded:
        resolved, errors, status = attempt_with_status(
            disputes.resolve_dispute, db.session(), principal(), dispute.id, loaded["payee_amount"], loaded["resolution"]
        )
        if resolved:
            order = db.get_or_raise(db.session(), PurchaseOrder, resolved.order_id)
            flash(
                f"Dispute on order {order.number} resolved: {money_text(resolved.payee_amount)} {order.currency} to the supplier, "
                f"{money_text(resolved.buyer_amount)} {order.currency} back to the buyer, once the ledger confirms it.",
                "success",
            )
            return redirect(url_for("disputes_portal.detail", dispute_id=dispute.id))
    return _case_page(dispute.id, active="resolve", errors=errors, status=status)
