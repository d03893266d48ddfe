"""Purchase orders between a buyer and a supplier partner."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint

from concord import db, policy
from concord.api_common import page_of, page_response
from concord.auth.web import current_principal
from concord.ledger import service as ledger
from concord.orders import fulfilment, schemas, service
from concord.orders.models import Dispute, PurchaseOrder, Shipment, ShipmentState

orders = Blueprint("orders", __name__, url_prefix="/api/v1/orders", description="Purchase orders: draft, issue, acknowledge line by line, change proposals, revisions, receipt, escrow and timeline.")
shipments = Blueprint("shipments", __name__, url_prefix="/api/v1/shipments", description="Advance shipping notices: the carrier's milestones and proof of delivery.")
disputes = Blueprint("disputes", __name__, url_prefix="/api/v1/disputes", description="Disputes over an order's escrow, resolved by the arbiter with a split.")
BLUEPRINTS = [orders, shipments, disputes]


def _shown(order: PurchaseOrder) -> PurchaseOrder:
    """The order with what the caller may do with it now."""
    principal = current_principal()
    order.allowed_actions = service.allowed_actions(db.session(), order, service.side_of(order, principal))
    return order


def _order(order_id: uuid.UUID) -> PurchaseOrder:
    return policy.get_visible(db.session(), PurchaseOrder, order_id, current_principal())


@orders.route("")
class Orders(MethodView):
    @orders.arguments(schemas.OrderFilterSchema, location="query")
    @orders.response(200, page_of(schemas.OrderSchema))
    def get(self, args):
        """Orders you place or receive (a supplier never sees a buyer's drafts), newest first."""
        queries = service.order_list_queries(current_principal(), state=args["state"], partner_id=args["partner_id"], role=args["role"])
        return page_response(queries, [PurchaseOrder.created_at, PurchaseOrder.id], args, transform=_shown)

    @orders.arguments(schemas.OrderInputSchema)
    @orders.response(201, schemas.OrderSchema)
    def post(self, data):
        """Write a draft order to a supplier partner (buyers' members and admins)."""
        return _shown(service.create_order(db.session(), current_principal(), data))


@orders.route("/<uuid:order_id>")
class OrderItem(MethodView):
    @orders.response(200, schemas.OrderSchema)
    def get(self, order_id: uuid.UUID):
        return _shown(_order(order_id))

    @orders.arguments(schemas.OrderUpdateSchema)
    @orders.response(200, schemas.OrderSchema)
    def patch(self, changes, order_id: uuid.UUID):
        """Change a draft (the buyer); `lines` replaces every line."""
        return _shown(service.update_draft(db.session(), current_principal(), order_id, changes))


@orders.route("/<uuid:order_id>/issue")
class OrderIssue(MethodView):
    @orders.response(200, schemas.OrderSchema)
    def post(self, order_id: uuid.UUID):
        """Send the draft to the supplier (the buyer): revision 1."""
        return _shown(service.issue(db.session(), current_principal(), order_id))


@orders.route("/<uuid:order_id>/acknowledge")
class OrderAcknowledge(MethodView):
    @orders.arguments(schemas.AcknowledgementSchema)
    @orders.response(200, schemas.OrderSchema)
    def post(self, data, order_id: uuid.UUID):
        """Confirm each line with a quantity (0 up to the ordered one) and a date (the supplier)."""
        return _shown(service.acknowledge(db.session(), current_principal(), order_id, data["lines"]))


@orders.route("/<uuid:order_id>/reject")
class OrderReject(MethodView):
    @orders.arguments(schemas.ReasonSchema)
    @orders.response(200, schemas.OrderSchema)
    def post(self, data, order_id: uuid.UUID):
        """Decline the whole order, with a reason (the supplier)."""
        return _shown(service.reject(db.session(), current_principal(), order_id, data["reason"]))


@orders.route("/<uuid:order_id>/cancel")
class OrderCancel(MethodView):
    @orders.arguments(schemas.ReasonSchema)
    @orders.response(200, schemas.OrderSchema)
    def post(self, data, order_id: uuid.UUID):
        """Withdraw a draft or an issued order before the supplier acknowledges it (the buyer)."""
        return _shown(service.cancel(db.session(), current_principal(), order_id, data["reason"]))


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
        return service.proposals(db.session(), _order(order_id))

    @orders.arguments(schemas.ChangeProposalInputSchema)
    @orders.response(201, schemas.ChangeProposalSchema)
    def post(self, data, order_id: uuid.UUID):
        """Answer an issued order with other quantities, prices or dates per line (the supplier)."""
        return service.propose_change(db.session(), current_principal(), order_id, data)


@orders.route("/<uuid:order_id>/change-proposals/<uuid:proposal_id>/accept")
class ChangeAccept(MethodView):
    @orders.response(200, schemas.ChangeProposalSchema)
    def post(self, order_id: uuid.UUID, proposal_id: uuid.UUID):
        """Take the proposed changes (the buyer): a new revision of the order."""
        return service.decide_change(db.session(), current_principal(), order_id, proposal_id, "accept_change")


@orders.route("/<uuid:order_id>/change-proposals/<uuid:proposal_id>/decline")
class ChangeDecline(MethodView):
    @orders.arguments(schemas.OptionalReasonSchema)
    @orders.response(200, schemas.ChangeProposalSchema)
    def post(self, data, order_id: uuid.UUID, proposal_id: uuid.UUID):
        """Keep the order as it is (the buyer)."""
        return service.decide_change(db.session(), current_principal(), order_id, proposal_id, "decline_change", data["reason"])


@orders.route("/<uuid:order_id>/escrow")
class OrderEscrow(MethodView):
    @orders.response(200, schemas.EscrowSchema)
    def get(self, order_id: uuid.UUID):
        """The order's escrow, mirrored from the chain, with the transactions that fund it."""
        return ledger.escrow_status(db.session(), _order(order_id))


# -- fulfilment -----------------------------------------------------------------------------


def _shown_shipment(shipment: Shipment) -> Shipment:
    """The shipment with its order's number and address (all a carrier sees of the order),
    its milestones, proof of delivery, and what the caller may do with it now."""
    session = db.session()
    order = session.get(PurchaseOrder, shipment.order_id)
    shipment.order_number, shipment.ship_to = order.number, order.ship_to
    shipment.milestones = fulfilment.milestones_of(session, shipment.id)
    shipment.proof_of_delivery = shipment if shipment.state == ShipmentState.DELIVERED else None
    carrier_acts = shipment.carrier_org_id == current_principal().org.id and shipment.state == ShipmentState.IN_TRANSIT
    shipment.allowed_actions = ["prove_delivery", "record_milestone"] if carrier_acts else []
    return shipment


def _shown_dispute(dispute: Dispute) -> Dispute:
    order = db.session().get(PurchaseOrder, dispute.order_id)
    dispute.order_number, dispute.currency, dispute.escrowed = order.number, order.currency, order.confirmed_total
    return dispute


@orders.route("/<uuid:order_id>/shipments")
class OrderShipments(MethodView):
    @orders.response(200, schemas.ShipmentSchema(many=True))
    def get(self, order_id: uuid.UUID):
        return [_shown_shipment(s) for s in fulfilment.shipments_of(db.session(), _order(order_id).id)]

    @orders.arguments(schemas.ShipmentInputSchema)
    @orders.response(201, schemas.ShipmentSchema)
    def post(self, data, order_id: uuid.UUID):
        """Ship all or part of the confirmed lines, by lot, with a carrier partner (the supplier)."""
        return _shown_shipment(fulfilment.create_shipment(db.session(), current_principal(), order_id, data))


@orders.route("/<uuid:order_id>/receipts")
class OrderReceipts(MethodView):
    @orders.response(200, schemas.ReceiptSchema(many=True))
    def get(self, order_id: uuid.UUID):
        receipt = fulfilment.receipt_of(db.session(), _order(order_id).id)
        return [receipt] if receipt else []

    @orders.arguments(schemas.ReceiptInputSchema)
    @orders.response(201, schemas.ReceiptSchema)
    def post(self, data, order_id: uuid.UUID):
        """Confirm what arrived, per line accepted and rejected (the buyer): the escrow
        releases at once when everything is accepted; otherwise the supplier answers."""
        return fulfilment.create_receipt(db.session(), current_principal(), order_id, data)


@orders.route("/<uuid:order_id>/release")
class OrderRelease(MethodView):
    @orders.response(200, schemas.OrderSchema)
    def post(self, order_id: uuid.UUID):
        """Release the escrow: the supplier accepting a partial receipt, or either party once
        the dispute window has passed."""
        return _shown(fulfilment.release(db.session(), current_principal(), order_id))


@orders.route("/<uuid:order_id>/disputes")
class OrderDisputes(MethodView):
    @orders.response(200, schemas.DisputeSchema(many=True))
    def get(self, order_id: uuid.UUID):
        dispute = fulfilment.dispute_of(db.session(), _order(order_id).id)
        return [_shown_dispute(dispute)] if dispute else []

    @orders.arguments(schemas.DisputeInputSchema)
    @orders.response(201, schemas.DisputeSchema)
    def post(self, data, order_id: uuid.UUID):
        """Hold the escrow for the arbiter (the buyer or the supplier), with a reason."""
        return _shown_dispute(fulfilment.open_dispute(db.session(), current_principal(), order_id, data["reason"]))


@orders.route("/<uuid:order_id>/timeline")
class OrderTimeline(MethodView):
    @orders.response(200, schemas.TimelineEntrySchema(many=True))
    def get(self, order_id: uuid.UUID):
        """Everything that happened to the order, oldest first, with its chain transactions."""
        return fulfilment.timeline(db.session(), _order(order_id))


@shipments.route("")
class Shipments(MethodView):
    @shipments.arguments(schemas.ShipmentFilterSchema, location="query")
    @shipments.response(200, page_of(schemas.ShipmentSchema))
    def get(self, args):
        """Shipments of your orders, or assigned to you as their carrier, newest first."""
        query = sa.select(Shipment).where(policy.visible(current_principal(), Shipment))
        if args["state"] is not None:
            query = query.where(Shipment.state == args["state"])
        if args["order_id"] is not None:
            query = query.where(Shipment.order_id == args["order_id"])
        if args["partner_id"] is not None:
            partner = args["partner_id"]
            query = query.where(sa.or_(Shipment.buyer_org_id == partner, Shipment.supplier_org_id == partner, Shipment.carrier_org_id == partner))
        return page_response(query, [Shipment.created_at, Shipment.id], args, transform=_shown_shipment)


@shipments.route("/<uuid:shipment_id>")
class ShipmentItem(MethodView):
    @shipments.response(200, schemas.ShipmentSchema)
    def get(self, shipment_id: uuid.UUID):
        return _shown_shipment(policy.get_visible(db.session(), Shipment, shipment_id, current_principal()))


@shipments.route("/<uuid:shipment_id>/milestones")
class ShipmentMilestones(MethodView):
    @shipments.arguments(schemas.MilestoneInputSchema)
    @shipments.response(201, schemas.MilestoneSchema)
    def post(self, data, shipment_id: uuid.UUID):
        """Record where the goods are (the carrier)."""
        return fulfilment.record_milestone(db.session(), current_principal(), shipment_id, data)


@shipments.route("/<uuid:shipment_id>/proof-of-delivery")
class ShipmentProofOfDelivery(MethodView):
    @shipments.arguments(schemas.ProofOfDeliveryInputSchema)
    @shipments.response(201, schemas.ShipmentSchema)
    def post(self, data, shipment_id: uuid.UUID):
        """Who received the goods and when (the carrier), anchored on chain with its key; the
        last one of an order attests the delivery on the escrow."""
        return _shown_shipment(fulfilment.record_delivery(db.session(), current_principal(), shipment_id, data))


@disputes.route("")
class Disputes(MethodView):
    @disputes.arguments(schemas.DisputeFilterSchema, location="query")
    @disputes.response(200, page_of(schemas.DisputeSchema))
    def get(self, args):
        """Disputes on your orders, or for you to arbitrate, newest first."""
        query = fulfilment.disputes_query(current_principal(), state=args["state"], partner_id=args["partner_id"])
        return page_response(query, [Dispute.created_at, Dispute.id], args, transform=_shown_dispute)


@disputes.route("/<uuid:dispute_id>")
class DisputeItem(MethodView):
    @disputes.response(200, schemas.DisputeSchema)
    def get(self, dispute_id: uuid.UUID):
        return _shown_dispute(policy.get_visible(db.session(), Dispute, dispute_id, current_principal()))


@disputes.route("/<uuid:dispute_id>/resolve")
class DisputeResolve(MethodView):
    @disputes.arguments(schemas.ResolutionInputSchema)
    @disputes.response(200, schemas.DisputeSchema)
    def post(self, data, dispute_id: uuid.UUID):
        """Decide the split (the arbiter's admins): the payee amount to the supplier, the
        rest back to the buyer, settled by the escrow on chain."""
        return _shown_dispute(fulfilment.resolve_dispute(db.session(), current_principal(), dispute_id, data["payee_amount"], data["resolution"]))
