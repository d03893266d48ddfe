"""Portal pages for purchase orders: the list of orders placed and received, the buyer's
order form, and the order page where each party takes the actions the service allows it
(issue, cancel, acknowledge line by line, reject, propose and decide changes; then ship by
lot, confirm receipt, release the escrow or dispute it), with the order's revisions, change
proposals, shipments, receipt, dispute, escrow and timeline.

The pages translate forms to service calls; what may happen is decided in
`concord.orders.service`, whose refusals are shown on the page with the form kept."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from concord import db, policy
from concord.auth.web import login_required
from concord.catalog import service as catalog
from concord.catalog.models import Location, Product
from concord.catalog.schemas import UNITS_OF_MEASURE
from concord.disputes import service as disputes
from concord.errors import Forbidden
from concord.ledger import escrow_state as ledger_escrow_state
from concord.logistics import service as logistics
from concord.orders import changes, lifecycle, schemas, service, settlement, timeline
from concord.orders.models import OrderState, ProposalState, PurchaseOrder
from concord.pagination import paginate
from concord.portal import (
    UTC_OFFSETS,
    attempt_with_status,
    form_data,
    form_moment,
    form_rows,
    load,
    money_text,
    plain,
    principal,
    row_count,
    row_errors,
)
from concord.tenancy import service as tenancy
from concord.tenancy.models import Capability, Organization, OrgStatus, PartnershipStatus, Relation, Role
from concord.tenancy.service import legal_names

orders_portal = Blueprint("orders_portal", __name__)

HEADER_FIELDS = ("number", "supplier_id", "currency", "ship_to_location_id", "incoterm", "payment_terms")
LINE_FIELDS = ("product_id", "quantity", "unit_price", "requested_date")
BLANK_ROWS = 5  # empty line rows the order form offers; "More lines" adds as many again
#: The action forms of the order page (the names `allowed_actions` uses).
ACTION_FORMS = (
    "issue",
    "cancel",
    "acknowledge",
    "reject",
    "propose_change",
    "accept_change",
    "decline_change",
    "ship",
    "receive",
    "open_dispute",
    "release",
)
#: The lot rows the shipment form offers per order line (a line may ship in several lots;
#: rows left empty are ignored): `ship-{line_no}-quantity`, `ship-{line_no}-quantity_2`, ...
LOT_SLOTS = ("", "_2")
SHIP_FIELDS = tuple(f"{field}{slot}" for slot in LOT_SLOTS for field in ("quantity", "lot_number"))
RECEIPT_FIELDS = ("accepted_quantity", "rejected_quantity", "rejection_reason")


def _order(order_id: uuid.UUID) -> PurchaseOrder:
    return policy.get_visible(db.session(), PurchaseOrder, order_id, principal())


def _names(*org_ids: uuid.UUID) -> dict[uuid.UUID, str]:
    """Legal names of the parties to the orders shown (each viewer is a party to them)."""
    return legal_names(db.session(), org_ids)


def _trading_partners(*, active_only: bool = False) -> list[tuple[Organization, str]]:
    """The organizations on the other side of our buyer–supplier partnerships, with the side
    they take: active ones, and (unless `active_only`) ended ones, whose orders stay listed."""
    me = principal()
    statuses = {PartnershipStatus.ACTIVE} if active_only else {PartnershipStatus.ACTIVE, PartnershipStatus.ENDED}
    partnerships = db.session().execute(tenancy.partnerships_query(me, relation=Relation.BUYER_SUPPLIER)).unique().scalars()
    found = {
        (p.counterparty_of(me.org.id).id, "supplier" if p.org_a_id == me.org.id else "buyer"): p.counterparty_of(me.org.id)
        for p in partnerships
        if p.status in statuses
    }
    return sorted(((org, side) for (_id, side), org in found.items()), key=lambda pair: (pair[0].legal_name.lower(), pair[1]))


# -- the list -------------------------------------------------------------------------------


@orders_portal.route("/orders")
@login_required
def index():
    me = principal()
    args = request.args
    state = args.get("state") if args.get("state") in {s.value for s in OrderState} else None
    role = args.get("role") if args.get("role") in ("buyer", "supplier") else None
    try:
        partner_id = uuid.UUID(args["partner"]) if args.get("partner") else None
    except ValueError:
        partner_id = None
    queries = service.order_list_queries(me, state=OrderState(state) if state else None, partner_id=partner_id, role=role)
    rows, next_cursor = paginate(db.session(), queries, [PurchaseOrder.created_at, PurchaseOrder.id], limit=25, cursor=args.get("cursor") or None)
    names = _names(*[o.buyer_org_id for o in rows], *[o.supplier_org_id for o in rows])
    filters = {key: value for key, value in (("state", state), ("partner", str(partner_id) if partner_id else None), ("role", role)) if value}
    return render_template(
        "orders/list.html",
        orders=rows,
        next_cursor=next_cursor,
        names=names,
        states=[s.value for s in OrderState],
        partners=_trading_partners(),
        filters=filters,
        is_buyer=me.org.has(Capability.BUYER),
        is_supplier=me.org.has(Capability.SUPPLIER),
    )


# -- the order form (new order, draft edit) -----------------------------------------------


def _choices() -> dict[str, Any]:
    """What the buyer's order form offers: supplier partners, its own active products and
    locations, the settlement currencies and Incoterms rules."""
    me = principal()
    session = db.session()
    suppliers = [org for org, side in _trading_partners(active_only=True) if side == "supplier"]
    products = session.execute(catalog.products_query(me, active=True).order_by(sa.func.lower(Product.sku))).scalars().all()
    locations = session.execute(catalog.locations_query(me, active=True).order_by(sa.func.lower(Location.name))).scalars().all()
    currencies = current_app.config["SETTLEMENT_CURRENCIES"]
    return {
        "suppliers": suppliers,
        "products": products,
        "locations": locations,
        "supplier_options": [(str(org.id), org.legal_name) for org in suppliers],
        "location_options": [(str(loc.id), f"{loc.name} ({loc.city}, {loc.country})") for loc in locations],
        "currency_options": [(c, c) for c in currencies],
        "incoterm_options": [(term, term) for term in service.INCOTERMS],
    }


def _draft_values(order: PurchaseOrder) -> dict[str, str]:
    """A draft as the form shows it."""
    values = {
        "number": order.number,
        "supplier_id": str(order.supplier_org_id),
        "currency": order.currency,
        "ship_to_location_id": str(order.ship_to_location_id),
        "incoterm": order.incoterm,
        "payment_terms": order.payment_terms,
    }
    for row, line in enumerate(order.lines):
        values.update(
            {
                f"lines-{row}-product_id": str(line.product_id),
                f"lines-{row}-quantity": plain(line.quantity),
                f"lines-{row}-unit_price": plain(line.unit_price),
                f"lines-{row}-requested_date": line.requested_date.isoformat(),
            }
        )
    return values


def _order_form(order: PurchaseOrder | None):
    me = principal()
    errors: dict[str, list[str]] = {}
    status = 200
    form: Any = _draft_values(order) if order is not None else {"currency": current_app.config["SETTLEMENT_CURRENCIES"][0], "incoterm": "DAP"}
    rows = max(BLANK_ROWS, len(order.lines) + 2) if order is not None else BLANK_ROWS
    if request.method == "POST":
        form = request.form
        rows = row_count("line_rows", BLANK_ROWS, schemas.MAX_LINES)
        if request.form.get("more_lines"):
            # No JavaScript needed: the form comes back with more empty rows, nothing saved.
            rows = min(rows + BLANK_ROWS, schemas.MAX_LINES)
        else:
            filled = form_rows("lines", LINE_FIELDS)
            data = {**form_data(*HEADER_FIELDS), "lines": [values for _row, values in filled]}
            schema = schemas.OrderInputSchema() if order is None else schemas.OrderUpdateSchema()
            loaded, errors = load(schema, data)
            status = 422
            if loaded:
                if order is None:
                    saved, errors, status = attempt_with_status(service.create_order, db.session(), me, loaded)
                else:
                    saved, errors, status = attempt_with_status(service.update_draft, db.session(), me, order.id, loaded)
                if saved:
                    flash(f"Draft order {saved.number} saved ({money_text(saved.total)} {saved.currency}). Check it, then issue it to the supplier.", "success")
                    return redirect(url_for("orders_portal.detail", order_id=saved.id))
            errors = row_errors(errors, "lines", [row for row, _values in filled])
            if not filled:
                errors["lines"] = ["Fill in at least one line: a product, a quantity, a unit price and a date."]
    return render_template("orders/form.html", order=order, form=form, errors=errors, rows=rows, **_choices()), status


@orders_portal.route("/orders/new", methods=["GET", "POST"])
@login_required
def new():
    if not principal().org.has(Capability.BUYER):
        raise Forbidden("Only organizations admitted as buyers issue purchase orders.")
    return _order_form(None)


@orders_portal.route("/orders/<uuid:order_id>/edit", methods=["GET", "POST"])
@login_required
def edit(order_id: uuid.UUID):
    order = _order(order_id)
    if request.method == "GET" and "edit" not in lifecycle.allowed_actions(db.session(), order, lifecycle.side_of(order, principal())):
        flash(f"Order {order.number} is {order.state}: only the buyer's drafts can be edited.", "info")
        return redirect(url_for("orders_portal.detail", order_id=order.id))
    return _order_form(order)


# -- the order page -----------------------------------------------------------------------


def _detail(order: PurchaseOrder, *, active: str | None = None, errors: dict | None = None, status: int = 200):
    """The order page; after a refused action, with that action's form as submitted and its
    messages (`active` names the form)."""
    me = principal()
    session = db.session()
    side = lifecycle.side_of(order, me)
    allowed = lifecycle.allowed_actions(session, order, side)
    writer = me.user.role in (Role.ADMIN, Role.MEMBER)
    proposals = changes.proposals(session, order)
    escrow = ledger_escrow_state.settlement(session, order) if order.state != OrderState.DRAFT else None
    forms = [a for a in allowed if a in ACTION_FORMS] if writer else []
    if request.headers.get("HX-Request") and escrow is not None and not escrow.pending_steps and escrow.state != "pending":
        # The page's live escrow section asked, and nothing is on its way any more: the
        # whole page loads again, so its actions follow the chain.
        return "", 200, {"HX-Refresh": "true"}
    return render_template(
        "orders/detail.html",
        order=order,
        side=side,
        allowed=allowed,
        forms=forms,
        writer=writer,
        names=_names(order.buyer_org_id, order.supplier_org_id),
        revisions=service.revisions(session, order),
        proposals=proposals,
        open_proposal=next((p for p in proposals if p.state == ProposalState.OPEN), None),
        lines_by_no={line.line_no: line for line in order.lines},
        escrow=escrow,
        units=UNITS_OF_MEASURE,
        active=active,
        errors=errors or {},
        form=request.form if active else {},
        **_fulfilment_context(order, side, allowed, forms),
    ), status


def _carrier_partners() -> list[Organization]:
    """The active carriers our organization ships with (its shipper–carrier partners)."""
    me = principal()
    partnerships = db.session().execute(tenancy.partnerships_query(me, status=PartnershipStatus.ACTIVE, relation=Relation.SHIPPER_CARRIER)).unique().scalars()
    carriers = {p.org_b.id: p.org_b for p in partnerships if p.org_a_id == me.org.id and p.org_b.status == OrgStatus.ACTIVE}
    return sorted(carriers.values(), key=lambda org: org.legal_name.lower())


def _fulfilment_context(order: PurchaseOrder, side: str, allowed: list[str], forms: list[str]) -> dict[str, Any]:
    """What the order page's shipments, receipt, dispute and timeline parts show."""
    session = db.session()
    shipments = logistics.shipments_of(session, order.id)
    shipped_by_id = logistics.shipped_quantities(session, order.id)
    shipped = {line.line_no: shipped_by_id.get(line.id, Decimal(0)) for line in order.lines}
    open_quantities = {line.line_no: (line.confirmed_quantity or Decimal(0)) - shipped[line.line_no] for line in order.lines}
    carriers = _carrier_partners() if "ship" in forms else []
    deadline = lifecycle.buyer_deadline(session, order) if order.delivered_at else None
    waiting = None
    if (
        "release" not in allowed
        and order.settlement_queued_at is None
        and (order.state, side) in ((OrderState.DELIVERED, "supplier"), (OrderState.PARTIALLY_RECEIVED, "buyer"))
    ):
        waiting = lifecycle.not_yet(session, order, side, "release")
    split = ledger_escrow_state.settled_split(session, order) if order.state == OrderState.CLOSED and order.confirmed_total is not None else None
    return {
        "shipments": shipments,
        "milestones": {s.id: logistics.milestones_of(session, s.id) for s in shipments},
        "shipped": shipped,
        "open_quantities": open_quantities,
        "ship_lines": [line for line in order.lines if open_quantities[line.line_no] > 0],
        "carriers": carriers,
        "carrier_names": _names(*[s.carrier_org_id for s in shipments]),
        "first_carrier_id": shipments[0].carrier_org_id if shipments else None,
        "lot_slots": LOT_SLOTS,
        "receipt": settlement.receipt_of(session, order.id),
        "dispute": disputes.dispute_of(session, order.id),
        "receive_until": deadline,
        "release_waiting": waiting,
        "split": split,
        "timeline": timeline.timeline(session, order),
        "utc_offsets": UTC_OFFSETS,
    }


@orders_portal.route("/orders/<uuid:order_id>")
@login_required
def detail(order_id: uuid.UUID):
    return _detail(_order(order_id))


def _done(order: PurchaseOrder, message: str):
    flash(message, "success")
    return redirect(url_for("orders_portal.detail", order_id=order.id))


@orders_portal.route("/orders/<uuid:order_id>/issue", methods=["POST"])
@login_required
def issue(order_id: uuid.UUID):
    order = _order(order_id)
    issued, errors, status = attempt_with_status(service.issue, db.session(), principal(), order.id)
    if issued:
        return _done(issued, f"Order {issued.number} issued to {_names(issued.supplier_org_id)[issued.supplier_org_id]}.")
    return _detail(order, active="issue", errors=errors, status=status)


def _close(order_id: uuid.UUID, action: str, done: str):
    order = _order(order_id)
    loaded, errors = load(schemas.ReasonSchema(), form_data("reason"))
    status = 422
    if loaded:
        closed, errors, status = attempt_with_status(getattr(service, action), db.session(), principal(), order.id, loaded["reason"])
        if closed:
            return _done(closed, f"Order {closed.number} {done}.")
    return _detail(order, active=action, errors=errors, status=status)


@orders_portal.route("/orders/<uuid:order_id>/cancel", methods=["POST"])
@login_required
def cancel(order_id: uuid.UUID):
    return _close(order_id, "cancel", "cancelled")


@orders_portal.route("/orders/<uuid:order_id>/reject", methods=["POST"])
@login_required
def reject(order_id: uuid.UUID):
    return _close(order_id, "reject", "rejected")


@orders_portal.route("/orders/<uuid:order_id>/acknowledge", methods=["POST"])
@login_required
def acknowledge(order_id: uuid.UUID):
    """One answer per line of the order, read by line number (`ack-{line_no}-...`)."""
    order = _order(order_id)
    given = dict(form_rows("ack", ("confirmed_quantity", "confirmed_date")))
    line_nos = [line.line_no for line in order.lines]
    answers = [{"line_no": line_no, **given.get(line_no, {})} for line_no in line_nos]
    loaded, errors = load(schemas.AcknowledgementSchema(), {"lines": answers})
    status = 422
    if errors:  # every mistake in one pass: also the lines confirmed beyond what was ordered
        for index, fields in service.over_ordered(order, answers).items():
            for field, messages in fields.items():
                errors.setdefault(f"lines.{index}.{field}", messages)
    if loaded:
        acknowledged, errors, status = attempt_with_status(service.acknowledge, db.session(), principal(), order.id, loaded["lines"])
        if acknowledged:
            partial = any(line.confirmed_quantity < line.quantity for line in acknowledged.lines)
            return _done(
                acknowledged,
                f"Order {acknowledged.number} acknowledged{' in part' if partial else ''}: {money_text(acknowledged.confirmed_total)} {acknowledged.currency} "
                "go into escrow from the buyer's settlement tokens.",
            )
    return _detail(order, active="acknowledge", errors=row_errors(errors, "lines", line_nos), status=status)


@orders_portal.route("/orders/<uuid:order_id>/change-proposals", methods=["POST"])
@login_required
def propose_change(order_id: uuid.UUID):
    """Changes for the lines whose fields were filled (`change-{line_no}-...`); a line left
    blank stays as it is."""
    order = _order(order_id)
    known = {line.line_no for line in order.lines}
    filled = [(line_no, values) for line_no, values in form_rows("change", ("quantity", "unit_price", "requested_date")) if line_no in known]
    line_nos = [line_no for line_no, _values in filled]
    data = {**form_data("note"), "lines": [{"line_no": line_no, **values} for line_no, values in filled]}
    loaded, errors = load(schemas.ChangeProposalInputSchema(), data)
    status = 422
    if loaded:
        proposal, errors, status = attempt_with_status(changes.propose_change, db.session(), principal(), order.id, loaded)
        if proposal:
            return _done(order, f"Change proposed to the buyer for {len(line_nos)} line{'s' if len(line_nos) != 1 else ''} of order {order.number}.")
    errors = row_errors(errors, "lines", line_nos)
    if not filled:
        errors["lines"] = ["Give a new quantity, unit price or date for at least one line."]
    return _detail(order, active="propose_change", errors=errors, status=status)


@orders_portal.route("/orders/<uuid:order_id>/change-proposals/<uuid:proposal_id>/<any(accept, decline):decision>", methods=["POST"])
@login_required
def decide_change(order_id: uuid.UUID, proposal_id: uuid.UUID, decision: str):
    order = _order(order_id)
    reason = None
    if decision == "decline":
        loaded, errors = load(schemas.OptionalReasonSchema(), form_data("reason"))
        if not loaded:
            return _detail(order, active="decline_change", errors=errors, status=422)
        reason = loaded["reason"]
    proposal, errors, status = attempt_with_status(changes.decide_change, db.session(), principal(), order.id, proposal_id, f"{decision}_change", reason)
    if proposal:
        if decision == "accept":
            return _done(order, f"Change accepted: order {order.number} is now revision {order.revision}.")
        return _done(order, f"Change declined: order {order.number} stays as it was.")
    return _detail(order, active=f"{decision}_change", errors=errors, status=status)


# -- fulfilment on the order page -----------------------------------------------------------


def _refused_first(order: PurchaseOrder, action: str) -> tuple[dict[str, list[str]], int] | None:
    """(messages, status) when the viewer may not take `action` on the order now (role,
    side, state or the escrow's timing), so that a refusal is not hidden behind field
    messages about a form the page would not even offer; None when it may."""
    _next, errors, status = attempt_with_status(service.check, db.session(), order, principal(), action)
    return None if status == 200 else (errors, status)


def _slot_errors(errors: dict[str, list[str]], slots: list[tuple[int, str]]) -> dict[str, list[str]]:
    """Messages of the shipment's lines, numbered 0..n by the schema or the service, moved to
    the form's rows: `lines.2.quantity` of the third filled row, the second lot of line 1,
    becomes `lines.1.quantity_2`."""
    out: dict[str, list[str]] = {}
    for key, messages in errors.items():
        head, _, rest = key.partition(".")
        index, _, field = rest.partition(".")
        if head == "lines" and index.isdigit() and int(index) < len(slots):
            line_no, slot = slots[int(index)]
            key = f"lines.{line_no}.{field or 'quantity'}{slot}"
        out.setdefault(key, []).extend(messages)
    return out


@orders_portal.route("/orders/<uuid:order_id>/shipments", methods=["POST"])
@login_required
def ship(order_id: uuid.UUID):
    """The supplier's shipment: for each line with something left to ship, up to two lots
    (`ship-{line_no}-quantity`, `-lot_number`, `-quantity_2`, `-lot_number_2`)."""
    order = _order(order_id)
    refused = _refused_first(order, "ship")
    if refused:
        return _detail(order, active="ship", errors=refused[0], status=refused[1])
    known = {line.line_no for line in order.lines}
    lines: list[dict[str, str | int]] = []
    slots: list[tuple[int, str]] = []
    for line_no, values in form_rows("ship", SHIP_FIELDS):
        if line_no not in known:
            continue
        for slot in LOT_SLOTS:
            item = {field: values[field + slot] for field in ("quantity", "lot_number") if values.get(field + slot)}
            if item:
                lines.append({"line_no": line_no, **item})
                slots.append((line_no, slot))
    shipped_at, errors = form_moment("shipped_at")
    data = {**form_data("carrier_id", "tracking_number"), "lines": lines}
    if shipped_at:
        data["shipped_at"] = shipped_at
    status = 422
    session = db.session()
    loaded, errors = load(
        schemas.ShipmentInputSchema(),
        data,
        also=lambda readable: logistics.shipment_form_mistakes(session, principal(), order.id, readable),
        errors=errors,
    )
    if loaded:
        shipment, errors, status = attempt_with_status(logistics.create_shipment, db.session(), principal(), order.id, loaded)
        if shipment:
            what = ", ".join(f"line {sl.line_no}: {plain(sl.quantity)}" + (f" (lot {sl.lot_number})" if sl.lot_number else "") for sl in shipment.lines)
            carrier = _names(shipment.carrier_org_id)[shipment.carrier_org_id]
            state = "everything confirmed is on its way" if order.state == OrderState.SHIPPED else "the rest can follow in another shipment"
            return _done(order, f"Shipment {shipment.number} of order {order.number} created with {carrier} ({what}): {state}.")
    errors = _slot_errors(errors, slots)
    if not lines:
        errors["lines"] = ["Give a quantity for at least one line."]
    return _detail(order, active="ship", errors=errors, status=status)


@orders_portal.route("/orders/<uuid:order_id>/receipt", methods=["POST"])
@login_required
def receive(order_id: uuid.UUID):
    """The buyer's goods receipt: one answer per shipped line (`receipt-{line_no}-...`)."""
    order = _order(order_id)
    refused = _refused_first(order, "receive")
    if refused:
        return _detail(order, active="receive", errors=refused[0], status=refused[1])
    session = db.session()
    shipped = logistics.shipped_quantities(session, order.id)
    line_nos = [line.line_no for line in order.lines if shipped.get(line.id)]
    given = dict(form_rows("receipt", RECEIPT_FIELDS))
    data = {**form_data("note"), "lines": [{"line_no": line_no, **given.get(line_no, {})} for line_no in line_nos]}
    loaded, errors = load(schemas.ReceiptInputSchema(), data, also=lambda readable: settlement.receipt_form_mistakes(session, principal(), order.id, readable))
    status = 422
    if loaded:
        receipt, errors, status = attempt_with_status(settlement.create_receipt, session, principal(), order.id, loaded)
        if receipt:
            supplier = _names(order.supplier_org_id)[order.supplier_org_id]
            if receipt.refund_value == 0:
                message = (
                    f"Receipt of order {order.number} confirmed in full: {money_text(receipt.accepted_value)} {order.currency} "
                    f"are released to {supplier} once the ledger confirms it."
                )
            else:
                message = (
                    f"Receipt of order {order.number} confirmed: {money_text(receipt.accepted_value)} {order.currency} accepted, "
                    f"{money_text(receipt.refund_value)} {order.currency} to come back to you. {supplier} may accept the receipt or dispute it."
                )
            return _done(order, message)
    return _detail(order, active="receive", errors=row_errors(errors, "lines", line_nos), status=status)


@orders_portal.route("/orders/<uuid:order_id>/disputes", methods=["POST"])
@login_required
def open_dispute(order_id: uuid.UUID):
    order = _order(order_id)
    refused = _refused_first(order, "open_dispute")
    if refused:
        return _detail(order, active="open_dispute", errors=refused[0], status=refused[1])
    loaded, errors = load(schemas.DisputeInputSchema(), form_data("reason"))
    status = 422
    if loaded:
        dispute, errors, status = attempt_with_status(disputes.open_dispute, db.session(), principal(), order.id, loaded["reason"])
        if dispute:
            return _done(order, f"Dispute opened on order {order.number}: its escrow is held until the consortium's arbiter decides the split.")
    return _detail(order, active="open_dispute", errors=errors, status=status)


@orders_portal.route("/orders/<uuid:order_id>/release", methods=["POST"])
@login_required
def release(order_id: uuid.UUID):
    order = _order(order_id)
    accepting = order.state == OrderState.PARTIALLY_RECEIVED and order.supplier_org_id == principal().org.id
    released, errors, status = attempt_with_status(settlement.release, db.session(), principal(), order.id)
    if released:
        if accepting:
            receipt = settlement.receipt_of(db.session(), order.id)
            if receipt is None:  # the supplier just accepted it
                raise LookupError(f"Order {order.number} has no receipt")
            buyer = _names(order.buyer_org_id)[order.buyer_org_id]
            message = (
                f"Receipt accepted: the escrow of order {order.number} pays you (or the financier holding its receivable) {money_text(receipt.accepted_value)} {order.currency} "
                f"and refunds {money_text(receipt.refund_value)} {order.currency} to {buyer} once the ledger confirms the release."
            )
        else:
            message = f"The escrow of order {order.number} is being released: the dispute window has passed."
        return _done(released, message)
    return _detail(order, active="release", errors=errors, status=status)
