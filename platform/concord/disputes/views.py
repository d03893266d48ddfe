"""The disputes page: the parties read their disputes, and the arbiter an escrow names
(the consortium's operator, or a member a partnership names) resolves them with a split.
What may happen is decided in `concord.disputes.service`."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from concord import db, policy
from concord.auth.web import login_required
from concord.disputes import service as disputes
from concord.orders import schemas
from concord.orders.models import Dispute, DisputeState, PurchaseOrder
from concord.pagination import paginate
from concord.portal import (
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
    deciding = sa.select(Dispute.id).where(Dispute.arbiter_org_id == me.org.id)
    return {"sees_disputes": db.session().execute(named.union_all(deciding).limit(1)).first() is not None}


# -- disputes (the arbiter's page) --------------------------------------------------------------


def _disputes_page(*, active: uuid.UUID | None = None, errors: dict | None = None, status: int = 200):
    me = principal()
    session = db.session()
    args = request.args
    state = args.get("state") if args.get("state") in {s.value for s in DisputeState} else None
    if active is not None:
        state = None  # a refused resolution shows its dispute, whatever the filter was
    partner = partner_arg() if active is None else None
    query = disputes.disputes_query(me, state=DisputeState(state) if state else None, partner_id=partner)
    rows, next_cursor = paginate(
        session, query, [Dispute.created_at, Dispute.id], limit=PAGE_SIZE, cursor=(args.get("cursor") or None) if active is None else None
    )
    if active is not None and all(d.id != active for d in rows):
        rows.insert(0, policy.get_visible(session, Dispute, active, me))
    orders = orders_by_id(d.order_id for d in rows)
    names = legal_names(session, [org for d in rows for org in (d.buyer_org_id, d.supplier_org_id, d.opened_by_org_id)])
    # The arbiter's admins decide: the same function the service checks; the parties only read.
    can_resolve = {d.id for d in rows if "resolve" in disputes.allowed_actions(session, d, me)}
    return render_template(
        "disputes/list.html",
        disputes=rows,
        next_cursor=next_cursor,
        orders=orders,
        names=names,
        can_resolve=can_resolve,
        states=[s.value for s in DisputeState],
        filters={k: v for k, v in (("state", state), ("partner", str(partner) if partner else None)) if v},
        partners=counterparties([Dispute.buyer_org_id, Dispute.supplier_org_id], policy.visible(me, Dispute)),
        active=active,
        errors=errors or {},
        form=request.form if active is not None else {},
    ), status


@disputes_portal.route("/disputes")
@login_required
def index():
    return _disputes_page()


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
            return redirect(url_for("disputes_portal.index", state="resolved"))
    return _disputes_page(active=dispute.id, errors=errors, status=status)
