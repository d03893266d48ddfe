"""Portal pages for shipments: the shipments list (a carrier's assigned shipments; a
buyer's and a supplier's own) and the shipment page where the carrier records milestones
and the proof of delivery.

The pages translate forms to service calls; what may happen is decided in
`concord.logistics.service`, whose refusals are shown on the page with the form kept."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for

from concord import clock, db, policy
from concord.auth.web import login_required
from concord.ledger import service as ledger
from concord.logistics import service
from concord.orders import schemas
from concord.orders.models import MilestoneKind, PurchaseOrder, Shipment, ShipmentState
from concord.pagination import paginate
from concord.portal import (
    UTC_OFFSETS,
    attempt_with_status,
    counterparties,
    form_data,
    form_moment,
    load,
    orders_by_id,
    partner_arg,
    principal,
)
from concord.tenancy.service import legal_names

shipments_portal = Blueprint("shipments_portal", __name__)
PAGE_SIZE = 25


@shipments_portal.app_template_filter("lots")
def lots(shipment: Shipment) -> list:
    """A shipment's lines by line and lot (the relationship orders them by their random ids)."""
    return sorted(shipment.lines, key=lambda sl: (sl.line_no, sl.lot_number or ""))


# -- shipments ------------------------------------------------------------------------------


@shipments_portal.route("/shipments")
@login_required
def index():
    me = principal()
    session = db.session()
    state = request.args.get("state") if request.args.get("state") in {s.value for s in ShipmentState} else None
    partner = partner_arg()
    query = service.shipments_query(me, state=ShipmentState(state) if state else None, partner_id=partner)
    rows, next_cursor = paginate(session, query, [Shipment.created_at, Shipment.id], limit=PAGE_SIZE, cursor=request.args.get("cursor") or None)
    orders = orders_by_id(s.order_id for s in rows)
    latest = {}
    for shipment in rows:
        milestones = service.milestones_of(session, shipment.id)
        latest[shipment.id] = milestones[-1] if milestones else None
    names = legal_names(session, [org for s in rows for org in (s.buyer_org_id, s.supplier_org_id, s.carrier_org_id)])
    return render_template(
        "shipments/list.html",
        shipments=rows,
        next_cursor=next_cursor,
        orders=orders,
        latest=latest,
        names=names,
        states=[s.value for s in ShipmentState],
        filters={k: v for k, v in (("state", state), ("partner", str(partner) if partner else None)) if v},
        partners=counterparties([Shipment.buyer_org_id, Shipment.supplier_org_id, Shipment.carrier_org_id], policy.visible(me, Shipment)),
    )


def _shipment(shipment_id: uuid.UUID) -> Shipment:
    return policy.get_visible(db.session(), Shipment, shipment_id, principal())


def _shipment_page(shipment: Shipment, *, active: str | None = None, errors: dict | None = None, status: int = 200):
    """The shipment page; after a refused form, with that form as sent and its messages."""
    me = principal()
    session = db.session()
    order = db.get_or_raise(session, PurchaseOrder, shipment.order_id)
    # What the carrier may do: the same function the service checks (a viewer does nothing).
    allowed = service.allowed_actions(session, shipment, me)
    carrier_acts = bool(allowed)
    party = me.org.id in (order.buyer_org_id, order.supplier_org_id)
    anchors = ledger.intents_about(session, "shipment", shipment.id)
    return render_template(
        "shipments/detail.html",
        shipment=shipment,
        order=order,
        party=party,
        carrier_acts=carrier_acts,
        allowed=allowed,
        is_carrier=shipment.carrier_org_id == me.org.id,
        milestones=service.milestones_of(session, shipment.id),
        lines_by_no={line.line_no: line for line in order.lines},
        anchors=anchors,
        names=legal_names(session, (shipment.buyer_org_id, shipment.supplier_org_id, shipment.carrier_org_id)),
        kinds=[(k.value, k.value.replace("_", " ").capitalize()) for k in MilestoneKind],
        utc_offsets=UTC_OFFSETS,
        now_local=clock.utcnow().strftime("%Y-%m-%dT%H:%M:%S"),
        active=active,
        errors=errors or {},
        form=request.form if active else {},
    ), status


@shipments_portal.route("/shipments/<uuid:shipment_id>")
@login_required
def detail(shipment_id: uuid.UUID):
    return _shipment_page(_shipment(shipment_id))


def _shipment_done(shipment: Shipment, message: str):
    flash(message, "success")
    return redirect(url_for("shipments_portal.detail", shipment_id=shipment.id))


@shipments_portal.route("/shipments/<uuid:shipment_id>/milestones", methods=["POST"])
@login_required
def record_milestone(shipment_id: uuid.UUID):
    shipment = _shipment(shipment_id)
    occurred_at, errors = form_moment("occurred_at")
    data = form_data("kind", "location", "note")
    if occurred_at:
        data["occurred_at"] = occurred_at
    loaded, errors = load(
        schemas.MilestoneInputSchema(),
        data,
        also=lambda readable: service.milestone_form_mistakes(db.session(), principal(), shipment.id, readable),
        errors=errors,
    )
    status = 422
    if loaded:
        milestone, errors, status = attempt_with_status(service.record_milestone, db.session(), principal(), shipment.id, loaded)
        if milestone:
            return _shipment_done(shipment, f"Milestone recorded on shipment {shipment.number}: {milestone.kind.replace('_', ' ')} at {milestone.location}.")
    return _shipment_page(shipment, active="milestone", errors=errors, status=status)


@shipments_portal.route("/shipments/<uuid:shipment_id>/proof-of-delivery", methods=["POST"])
@login_required
def prove_delivery(shipment_id: uuid.UUID):
    shipment = _shipment(shipment_id)
    delivered_at, errors = form_moment("delivered_at")
    data = form_data("receiver_name", "document_hash")
    if delivered_at:
        data["delivered_at"] = delivered_at
    loaded, errors = load(
        schemas.ProofOfDeliveryInputSchema(),
        data,
        also=lambda readable: service.delivery_form_mistakes(db.session(), principal(), shipment.id, readable),
        errors=errors,
    )
    status = 422
    if loaded:
        delivered, errors, status = attempt_with_status(service.record_delivery, db.session(), principal(), shipment.id, loaded)
        if delivered:
            return _shipment_done(
                delivered,
                f"Proof of delivery of shipment {delivered.number} recorded: received by {delivered.pod_receiver_name}. "
                "It is anchored on the ledger with your organization's key.",
            )
    return _shipment_page(shipment, active="delivery", errors=errors, status=status)
