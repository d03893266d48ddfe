"""Portal pages for shipments and disputes: the shipments list (a carrier's assigned
shipments; a buyer's and a supplier's own), the shipment page where the carrier records
milestones and the proof of delivery, and the disputes page where the consortium's
operator, as arbiter, resolves disputes with a split.

The pages translate forms to service calls; what may happen is decided in
`concord.logistics.service` and `concord.disputes.service`, whose refusals are shown on the page with the form kept."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for

from concord import clock, db, policy
from concord.auth.web import login_required
from concord.ledger.models import ChainIntent
from concord.disputes import service as disputes
from concord.logistics import service
from concord.orders import schemas
from concord.orders.models import Dispute, DisputeState, MilestoneKind, PurchaseOrder, Shipment, ShipmentState
from concord.pagination import paginate
from concord.portal import UTC_OFFSETS, attempt_with_status, form_data, form_moment, load, money_text, principal
from concord.tenancy.models import Organization, Role

shipments_portal = Blueprint("shipments_portal", __name__)
disputes_portal = Blueprint("disputes_portal", __name__)


@disputes_portal.app_context_processor
def _dispute_navigation() -> dict:
    """Whether the signed-in organization has disputes to read or decide: a party to orders,
    the operator, or a member a partnership names as its arbiter."""
    from flask import g

    from concord.tenancy.models import Partnership, PartnershipStatus

    me = g.get("principal")
    if me is None:
        return {"sees_disputes": False}
    if me.is_operator or me.org.has("buyer") or me.org.has("supplier"):
        return {"sees_disputes": True}
    named = sa.select(Partnership.id).where(Partnership.arbiter_org_id == me.org.id, Partnership.status == PartnershipStatus.ACTIVE)
    deciding = sa.select(Dispute.id).where(Dispute.arbiter_org_id == me.org.id)
    return {"sees_disputes": db.session().execute(named.union_all(deciding).limit(1)).first() is not None}

PAGE_SIZE = 25


@shipments_portal.app_template_filter("lots")
def lots(shipment: Shipment) -> list:
    """A shipment's lines by line and lot (the relationship orders them by their random ids)."""
    return sorted(shipment.lines, key=lambda sl: (sl.line_no, sl.lot_number or ""))


def _names(*org_ids: uuid.UUID) -> dict[uuid.UUID, str]:
    """Legal names of the organizations a page shows (parties to what it shows)."""
    ids = {org_id for org_id in org_ids if org_id is not None}
    if not ids:
        return {}
    return dict(db.session().execute(sa.select(Organization.id, Organization.legal_name).where(Organization.id.in_(ids))).all())


def _orders_of(order_ids) -> dict[uuid.UUID, PurchaseOrder]:
    """The orders behind shipments or disputes the viewer may see: what those show of them
    (number, ship-to address, amount), also to a carrier that cannot open the order itself."""
    ids = set(order_ids)
    if not ids:
        return {}
    return {order.id: order for order in db.session().execute(sa.select(PurchaseOrder).where(PurchaseOrder.id.in_(ids))).scalars()}


def _partner_arg() -> uuid.UUID | None:
    try:
        return uuid.UUID(request.args["partner"]) if request.args.get("partner") else None
    except ValueError:
        return None


def _counterparties(columns: list, visible) -> list[tuple[uuid.UUID, str]]:
    """The other organizations on the rows the viewer may see, by name (the partner filter)."""
    me = principal()
    ids = {org_id for row in db.session().execute(sa.select(*columns).where(visible).distinct()) for org_id in row if org_id and org_id != me.org.id}
    names = _names(*ids)
    return sorted(((org_id, names[org_id]) for org_id in ids), key=lambda pair: pair[1])


def _writer() -> bool:
    return principal().user.role in (Role.ADMIN, Role.MEMBER)


# -- shipments ------------------------------------------------------------------------------


@shipments_portal.route("/shipments")
@login_required
def index():
    me = principal()
    session = db.session()
    state = request.args.get("state") if request.args.get("state") in {s.value for s in ShipmentState} else None
    partner = _partner_arg()
    query = sa.select(Shipment).where(policy.visible(me, Shipment))
    if state:
        query = query.where(Shipment.state == ShipmentState(state))
    if partner:
        query = query.where(sa.or_(Shipment.buyer_org_id == partner, Shipment.supplier_org_id == partner, Shipment.carrier_org_id == partner))
    rows, next_cursor = paginate(session, query, [Shipment.created_at, Shipment.id], limit=PAGE_SIZE, cursor=request.args.get("cursor") or None)
    orders = _orders_of(s.order_id for s in rows)
    latest = {}
    for shipment in rows:
        milestones = service.milestones_of(session, shipment.id)
        latest[shipment.id] = milestones[-1] if milestones else None
    names = _names(*[org for s in rows for org in (s.buyer_org_id, s.supplier_org_id, s.carrier_org_id)])
    return render_template(
        "shipments/list.html", shipments=rows, next_cursor=next_cursor, orders=orders, latest=latest, names=names,
        states=[s.value for s in ShipmentState], filters={k: v for k, v in (("state", state), ("partner", str(partner) if partner else None)) if v},
        partners=_counterparties([Shipment.buyer_org_id, Shipment.supplier_org_id, Shipment.carrier_org_id], policy.visible(me, Shipment)),
    )


def _shipment(shipment_id: uuid.UUID) -> Shipment:
    return policy.get_visible(db.session(), Shipment, shipment_id, principal())


def _shipment_page(shipment: Shipment, *, active: str | None = None, errors: dict | None = None, status: int = 200):
    """The shipment page; after a refused form, with that form as sent and its messages."""
    me = principal()
    session = db.session()
    order = session.get(PurchaseOrder, shipment.order_id)
    carrier_acts = shipment.carrier_org_id == me.org.id and shipment.state == ShipmentState.IN_TRANSIT and _writer()
    party = me.org.id in (order.buyer_org_id, order.supplier_org_id)
    anchors = session.execute(
        sa.select(ChainIntent).where(ChainIntent.subject_type == "shipment", ChainIntent.subject_id == str(shipment.id)).order_by(ChainIntent.seq)
    ).scalars().all()
    return render_template(
        "shipments/detail.html", shipment=shipment, order=order, party=party, carrier_acts=carrier_acts,
        is_carrier=shipment.carrier_org_id == me.org.id, milestones=service.milestones_of(session, shipment.id),
        lines_by_no={line.line_no: line for line in order.lines}, anchors=anchors,
        names=_names(shipment.buyer_org_id, shipment.supplier_org_id, shipment.carrier_org_id),
        kinds=[(k.value, k.value.replace("_", " ").capitalize()) for k in MilestoneKind], utc_offsets=UTC_OFFSETS,
        now_local=clock.utcnow().strftime("%Y-%m-%dT%H:%M:%S"), active=active, errors=errors or {}, form=request.form if active else {},
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
    loaded, schema_errors = load(schemas.MilestoneInputSchema(), data)
    errors.update(schema_errors)
    status = 422
    if loaded and not errors:
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
    loaded, schema_errors = load(schemas.ProofOfDeliveryInputSchema(), data)
    errors.update(schema_errors)
    status = 422
    if loaded and not errors:
        delivered, errors, status = attempt_with_status(service.record_delivery, db.session(), principal(), shipment.id, loaded)
        if delivered:
            return _shipment_done(
                delivered,
                f"Proof of delivery of shipment {delivered.number} recorded: received by {delivered.pod_receiver_name}. "
                "It is anchored on the ledger with your organization's key.",
            )
    return _shipment_page(shipment, active="delivery", errors=errors, status=status)


# -- disputes (the arbiter's page) --------------------------------------------------------------


def _disputes_page(*, active: uuid.UUID | None = None, errors: dict | None = None, status: int = 200):
    me = principal()
    session = db.session()
    args = request.args
    state = args.get("state") if args.get("state") in {s.value for s in DisputeState} else None
    if active is not None:
        state = None  # a refused resolution shows its dispute, whatever the filter was
    partner = _partner_arg() if active is None else None
    query = disputes.disputes_query(me, state=DisputeState(state) if state else None, partner_id=partner)
    rows, next_cursor = paginate(session, query, [Dispute.created_at, Dispute.id], limit=PAGE_SIZE, cursor=(args.get("cursor") or None) if active is None else None)
    if active is not None and all(d.id != active for d in rows):
        rows.insert(0, policy.get_visible(session, Dispute, active, me))
    orders = _orders_of(d.order_id for d in rows)
    names = _names(*[org for d in rows for org in (d.buyer_org_id, d.supplier_org_id, d.opened_by_org_id)])
    # The arbiter's admins decide (the service checks it again); the parties only read.
    can_resolve = {d.id for d in rows if d.arbiter_org_id == me.org.id and d.state == DisputeState.OPEN} if me.user.role == Role.ADMIN else set()
    return render_template(
        "disputes/list.html", disputes=rows, next_cursor=next_cursor, orders=orders, names=names, can_resolve=can_resolve,
        states=[s.value for s in DisputeState], filters={k: v for k, v in (("state", state), ("partner", str(partner) if partner else None)) if v},
        partners=_counterparties([Dispute.buyer_org_id, Dispute.supplier_org_id], policy.visible(me, Dispute)),
        active=active, errors=errors or {}, form=request.form if active is not None else {},
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
            order = db.session().get(PurchaseOrder, resolved.order_id)
            flash(
                f"Dispute on order {order.number} resolved: {money_text(resolved.payee_amount)} {order.currency} to the supplier, "
                f"{money_text(resolved.buyer_amount)} {order.currency} back to the buyer, once the ledger confirms it.",
                "success",
            )
            return redirect(url_for("disputes_portal.index", state="resolved"))
    return _disputes_page(active=dispute.id, errors=errors, status=status)
