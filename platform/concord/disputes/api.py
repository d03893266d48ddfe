"""Disputes over an order's escrow, resolved by the arbiter with a split."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from concord import db, policy
from concord.api_common import page_of, page_response
from concord.auth.web import current_principal
from concord.disputes import service
from concord.orders import schemas
from concord.orders.models import Dispute, PurchaseOrder

disputes = Blueprint("disputes", __name__, url_prefix="/api/v1/disputes", description="Disputes over an order's escrow, resolved by the arbiter with a split.")
BLUEPRINTS = [disputes]


def shown_dispute(dispute: Dispute) -> dict[str, Any]:
    """The dispute as DisputeSchema shows it, with its order's number, currency and escrowed value."""
    order = db.get_or_raise(db.session(), PurchaseOrder, dispute.order_id)
    return {
        **{
            key: getattr(dispute, key)
            for key in (
                "id",
                "order_id",
                "state",
                "buyer_org_id",
                "supplier_org_id",
                "arbiter_org_id",
                "opened_by_org_id",
                "reason",
                "payee_amount",
                "buyer_amount",
                "resolution",
                "resolved_at",
                "created_at",
            )
        },
        "order_number": order.number,
        "currency": order.currency,
        "escrowed": order.confirmed_total,
    }


@disputes.route("")
class Disputes(MethodView):
    @disputes.arguments(schemas.DisputeFilterSchema, location="query")
    @disputes.response(200, page_of(schemas.DisputeSchema))
    def get(self, args):
        """Disputes on your orders, or for you to arbitrate, newest first."""
        query = service.disputes_query(current_principal(), state=args["state"], partner_id=args["partner_id"])
        return page_response(query, [Dispute.created_at, Dispute.id], args, transform=shown_dispute)


@disputes.route("/<uuid:dispute_id>")
class DisputeItem(MethodView):
    @disputes.response(200, schemas.DisputeSchema)
    def get(self, dispute_id: uuid.UUID):
        return shown_dispute(policy.get_visible(db.session(), Dispute, dispute_id, current_principal()))


@disputes.route("/<uuid:dispute_id>/resolve")
class DisputeResolve(MethodView):
    @disputes.arguments(schemas.ResolutionInputSchema)
    @disputes.response(200, schemas.DisputeSchema)
    def post(self, data, dispute_id: uuid.UUID):
        """Decide the split (the arbiter's admins): the payee amount to the supplier, the
        rest back to the buyer, settled by the escrow on chain."""
        return shown_dispute(service.resolve_dispute(db.session(), current_principal(), dispute_id, data["payee_amount"], data["resolution"]))
