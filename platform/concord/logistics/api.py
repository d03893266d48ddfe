"""Advance shipping notices: the carrier's milestones and proof of delivery."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from concord import db, policy
from concord.api_common import every_mistake, page_of, page_response
from concord.auth.web import current_principal
from concord.logistics import service
from concord.orders import schemas
from concord.orders.models import PurchaseOrder, Shipment, ShipmentState

shipments = Blueprint(
    "shipments", __name__, url_prefix="/api/v1/shipments", description="Advance shipping notices: the carrier's milestones and proof of delivery."
)
BLUEPRINTS = [shipments]


def shown_shipment(shipment: Shipment) -> dict[str, Any]:
    """The shipment as ShipmentSchema shows it: with its order's number and address (all a
    carrier sees of the order), its milestones, proof of delivery, and what the caller may
    do with it now."""
    session = db.session()
    order = db.get_or_raise(session, PurchaseOrder, shipment.order_id)
    return {
        **{
            key: getattr(shipment, key)
            for key in (
                "id",
                "order_id",
                "number",
                "state",
                "buyer_org_id",
                "supplier_org_id",
                "carrier_org_id",
                "tracking_number",
                "shipped_at",
                "lines",
                "created_at",
            )
        },
        "order_number": order.number,
        "ship_to": order.ship_to,
        "milestones": service.milestones_of(session, shipment.id),
        "proof_of_delivery": shipment if shipment.state == ShipmentState.DELIVERED else None,
        "allowed_actions": service.allowed_actions(session, shipment, current_principal()),
    }


@shipments.route("")
class Shipments(MethodView):
    @shipments.arguments(schemas.ShipmentFilterSchema, location="query")
    @shipments.response(200, page_of(schemas.ShipmentSchema))
    def get(self, args):
        """Shipments of your orders, or assigned to you as their carrier, newest first."""
        query = service.shipments_query(current_principal(), state=args["state"], order_id=args["order_id"], partner_id=args["partner_id"])
        return page_response(query, [Shipment.created_at, Shipment.id], args, transform=shown_shipment)


@shipments.route("/<uuid:shipment_id>")
class ShipmentItem(MethodView):
    @shipments.response(200, schemas.ShipmentSchema)
    def get(self, shipment_id: uuid.UUID):
        return shown_shipment(policy.get_visible(db.session(), Shipment, shipment_id, current_principal()))


@shipments.route("/<uuid:shipment_id>/milestones")
class ShipmentMilestones(MethodView):
    @every_mistake(lambda readable, shipment_id: service.milestone_form_mistakes(db.session(), current_principal(), shipment_id, readable))
    @shipments.arguments(schemas.MilestoneInputSchema)
    @shipments.response(201, schemas.MilestoneSchema)
    def post(self, data, shipment_id: uuid.UUID):
        """Record where the goods are (the carrier)."""
        return service.record_milestone(db.session(), current_principal(), shipment_id, data)


@shipments.route("/<uuid:shipment_id>/proof-of-delivery")
class ShipmentProofOfDelivery(MethodView):
    @every_mistake(lambda readable, shipment_id: service.delivery_form_mistakes(db.session(), current_principal(), shipment_id, readable))
    @shipments.arguments(schemas.ProofOfDeliveryInputSchema)
    @shipments.response(201, schemas.ShipmentSchema)
    def post(self, data, shipment_id: uuid.UUID):
        """Who received the goods and when (the carrier), anchored on chain with its key; the
        last one of an order attests the delivery on the escrow."""
        return shown_shipment(service.record_delivery(db.session(), current_principal(), shipment_id, data))
