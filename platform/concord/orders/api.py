"""Purchase orders between a buyer and a supplier partner."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from concord import db, policy
from concord.api_common import every_mistake, page_of, page_response
from concord.auth.web import current_principal
from concord.disputes import api as disputes_api  # a module: disputes.api reads orders too
from concord.disputes import service as disputes
from concord.ledger import escrow_state
from concord.logistics import service as logistics
from concord.logistics.api import shown_shipment
from concord.orders import changes, lifecycle, schemas, service, settlement, timeline
from concord.orders.models import PurchaseOrder

orders = Blueprint(
    "orders",
    __name__,
    url_prefix="/api/v1/orders",
    description="Purchase orders: draft, issue, acknowledge line by line, change proposals, revisions, receipt, escrow and timeline.",
)
BLUEPRINTS = [orders]


def shown_order(order: PurchaseOrder, facts: lifecycle.Facts | None = None) -> dict[str, Any]:
    """The order as OrderSchema shows it, with what the caller may do with it now (`facts`:
    what `lifecycle.prefetch` read for a page of orders)."""
    principal = current_principal()
    return {
        **{
            key: getattr(order, key)
            for key in (
                "id",
                "number",
                "buyer_org_id",
                "supplier_org_id",
                "state",
                "revision",
                "currency",
                "total",
                "confirmed_total",
                "ship_to",
                "incoterm",
                "payment_terms",
                "settlement",
                "net_days",
                "state_reason",
                "origin",
                "consignment",
                "lines",
                "issued_at",
                "acknowledged_at",
                "closed_at",
                "created_at",
                "updated_at",
            )
        },
        # The arbiter reads the order in a dispute's case; only its parties act on it.
        "allowed_actions": lifecycle.allowed_actions(db.session(), order, lifecycle.side_of(order, principal), facts)
        if principal.org.id in (order.buyer_org_id, order.supplier_org_id)
        else [],
    }


def _order(order_id: uuid.UUID) -> PurchaseOrder:
    return policy.get_visible(db.session(), PurchaseOrder, order_id, current_principal())


@orders.route("")
class Orders(MethodView):
    @orders.arguments(schemas.OrderFilterSchema, location="query")
    @orders.response(200, page_of(schemas.OrderSchema))
    def get(self, args):
        """Orders you place or receive (a supplier never sees a buyer's drafts), newest first."""
        queries = service.order_list_queries(current_principal(), state=args["state"], partner_id=args["partner_id"], role=args["role"])
        page = page_response(queries, [PurchaseOrder.created_at, PurchaseOrder.id], args)
        facts = lifecycle.prefetch(db.session(), page["items"])  # the guards' reads, once for the page
        return {**page, "items": [shown_order(order, facts[order.id]) for order in page["items"]]}

    @orders.arguments(schemas.OrderInputSchema)
    @orders.response(201, schemas.OrderSchema)
    def post(self, data):
        """Write a draft order to a supplier partner (buyers' members and admins)."""
        return shown_order(service.create_order(db.session(), current_principal(), data))


@orders.route("/<uuid:order_id>")
class OrderItem(MethodView):
    @orders.response(200, schemas.OrderSchema)
    def get(self, order_id: uuid.UUID):
        return shown_order(_order(order_id))

    @orders.arguments(schemas.OrderUpdateSchema)
    @orders.response(200, schemas.OrderSchema)
    def patch(self, draft_changes, order_id: uuid.UUID):
        """Change a draft (the buyer); `lines` replaces every line."""
        return shown_order(service.update_draft(db.session(), current_principal(), order_id, draft_changes))


@orders.route("/<uuid:order_id>/issue")
class OrderIssue(MethodView):
    @orders.response(200, schemas.OrderSchema)
    def post(self, order_id: uuid.UUID):
        """Send the draft to the supplier (the buyer): revision 1."""
        return shown_order(service.issue(db.session(), current_principal(), order_id))


@orders.route("/<uuid:order_id>/acknowledge")
class OrderAcknowledge(MethodView):
    @every_mistake(lambda readable, order_id: service.acknowledgement_form_mistakes(db.session(), current_principal(), order_id, readable))
    @orders.arguments(schemas.AcknowledgementSchema)
    @orders.response(200, schemas.OrderSchema)
    def post(self, data, order_id: uuid.UUID):
        """Confirm each line with a quantity (0 up to the ordered one) and a date (the supplier)."""
        return shown_order(service.acknowledge(db.session(), current_principal(), order_id, data["lines"]))


@orders.route("/<uuid:order_id>/reject")
class OrderReject(MethodView):
    @orders.arguments(schemas.ReasonSchema)
    @orders.response(200, schemas.OrderSchema)
    def post(self, data, order_id: uuid.UUID):
        """Decline the whole order, with a reason (the supplier)."""
        return shown_order(service.reject(db.session(), current_principal(), order_id, data["reason"]))


@orders.route("/<uuid:order_id>/cancel")
class OrderCancel(MethodView):
    @orders.arguments(schemas.ReasonSchema)
    @orders.response(200, schemas.OrderSchema)
    def post(self, data, order_id: uuid.UUID):
        """Withdraw a draft or an issued order before the supplier acknowledges it (the buyer)."""
        return shown_order(service.cancel(db.session(), current_principal(), order_id, data["reason"]))


@orders.route("/<uuid:order_id>/revisions")
class OrderRevisions(MethodView):
    @orders.response(200, schemas.RevisionSchema(many=True))
    def get(self, order_id: uuid.UUID):
        """Every agreed revision, oldest first: 1 as issued, then one per accepted change."""
        return service.revisions(db.session(), _order(order_id))


@orders.route("/<uuid:order_id>/change-proposals")
class OrderChangeProposals(MethodView):
    @orders.response(200, schemas.ChangeProposalSchema(many=True))
    def get(self, order_id: uuid.UUID):
        return changes.proposals(db.session(), _order(order_id))

    @orders.arguments(schemas.ChangeProposalInputSchema)
    @orders.response(201, schemas.ChangeProposalSchema)
    def post(self, data, order_id: uuid.UUID):
        """Answer an issued order with other quantities, prices or dates per line (the supplier)."""
        return changes.propose_change(db.session(), current_principal(), order_id, data)


@orders.route("/<uuid:order_id>/change-proposals/<uuid:proposal_id>/accept")
class ChangeAccept(MethodView):
    @orders.response(200, schemas.ChangeProposalSchema)
    def post(self, order_id: uuid.UUID, proposal_id: uuid.UUID):
        """Take the proposed changes (the buyer): a new revision of the order."""
        return changes.decide_change(db.session(), current_principal(), order_id, proposal_id, "accept_change")


@orders.route("/<uuid:order_id>/change-proposals/<uuid:proposal_id>/decline")
class ChangeDecline(MethodView):
    @orders.arguments(schemas.OptionalReasonSchema)
    @orders.response(200, schemas.ChangeProposalSchema)
    def post(self, data, order_id: uuid.UUID, proposal_id: uuid.UUID):
        """Keep the order as it is (the buyer)."""
        return changes.decide_change(db.session(), current_principal(), order_id, proposal_id, "decline_change", data["reason"])


@orders.route("/<uuid:order_id>/escrow")
class OrderEscrow(MethodView):
    @orders.response(200, schemas.EscrowSchema)
    def get(self, order_id: uuid.UUID):
        """The order's escrow, mirrored from the chain, with the transactions that fund it."""
        return escrow_state.settlement(db.session(), _order(order_id))


# -- fulfilment (logistics, settlement, disputes) of one order -----------------------------------------------------------------------------


@orders.route("/<uuid:order_id>/shipments")
class OrderShipments(MethodView):
    @orders.response(200, schemas.ShipmentSchema(many=True))
    def get(self, order_id: uuid.UUID):
        return [shown_shipment(s) for s in logistics.shipments_of(db.session(), _order(order_id).id)]

    @every_mistake(lambda readable, order_id: logistics.shipment_form_mistakes(db.session(), current_principal(), order_id, readable))
    @orders.arguments(schemas.ShipmentInputSchema)
    @orders.response(201, schemas.ShipmentSchema)
    def post(self, data, order_id: uuid.UUID):
        """Ship all or part of the confirmed lines, by lot, with a carrier partner (the supplier)."""
        return shown_shipment(logistics.create_shipment(db.session(), current_principal(), order_id, data))


@orders.route("/<uuid:order_id>/receipts")
class OrderReceipts(MethodView):
    @orders.response(200, schemas.ReceiptSchema(many=True))
    def get(self, order_id: uuid.UUID):
        receipt = settlement.receipt_of(db.session(), _order(order_id).id)
        return [receipt] if receipt else []

    @every_mistake(lambda readable, order_id: settlement.receipt_form_mistakes(db.session(), current_principal(), order_id, readable))
    @orders.arguments(schemas.ReceiptInputSchema)
    @orders.response(201, schemas.ReceiptSchema)
    def post(self, data, order_id: uuid.UUID):
        """Confirm what arrived, per line accepted and rejected (the buyer): the escrow
        releases at once when everything is accepted; otherwise the supplier answers."""
        return settlement.create_receipt(db.session(), current_principal(), order_id, data)


@orders.route("/<uuid:order_id>/release")
class OrderRelease(MethodView):
    @orders.response(200, schemas.OrderSchema)
    def post(self, order_id: uuid.UUID):
        """Release the escrow: the supplier accepting a partial receipt, or either party once
        the dispute window has passed."""
        return shown_order(settlement.release(db.session(), current_principal(), order_id))


@orders.route("/<uuid:order_id>/disputes")
class OrderDisputes(MethodView):
    @orders.response(200, schemas.DisputeSchema(many=True))
    def get(self, order_id: uuid.UUID):
        dispute = disputes.dispute_of(db.session(), _order(order_id).id)
        return [disputes_api.shown_dispute(dispute)] if dispute else []

    @orders.arguments(schemas.DisputeInputSchema)
    @orders.response(201, schemas.DisputeSchema)
    def post(self, data, order_id: uuid.UUID):
        """Hold the escrow for the arbiter (the buyer or the supplier), with a reason."""
        return disputes_api.shown_dispute(disputes.open_dispute(db.session(), current_principal(), order_id, data["reason"]))


@orders.route("/<uuid:order_id>/timeline")
class OrderTimeline(MethodView):
    @orders.response(200, schemas.TimelineEntrySchema(many=True))
    def get(self, order_id: uuid.UUID):
        """Everything that happened to the order, oldest first, with its chain transactions."""
        return timeline.timeline(db.session(), _order(order_id))
