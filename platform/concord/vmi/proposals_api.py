"""VMI reviews and replenishment proposals: the API (thin; the rules live in review.py and
proposals.py)."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from concord import db, policy
from concord.api_common import InputSchema, NonBlank, OutputSchema, PageArgsSchema, page_of, page_response
from concord.auth.web import current_principal
from concord.orders.schemas import DeliveryDate, Exact, Quantity
from concord.vmi import proposals, review
from concord.vmi.models import ProposalState, VmiAgreement, VmiProposal

vmi_proposals_api = Blueprint(
    "vmi_proposals",
    __name__,
    url_prefix="/api/v1",
    description="VMI reviews and the replenishment proposals they make: the supplier confirms or dismisses, the buyer approves orders beyond the agreed limits.",
)
BLUEPRINTS = [vmi_proposals_api]


class ProposalFilterSchema(PageArgsSchema):
    agreement_id = fields.UUID(load_default=None)
    state = fields.Enum(ProposalState, by_value=True, load_default=None)


class ConfirmSchema(InputSchema):
    quantity = Quantity(load_default=None, metadata={"description": "Another quantity than proposed (the supplier's edit)."})
    delivery_date = DeliveryDate(load_default=None, metadata={"description": "Another delivery date than proposed."})


class ProposalReasonSchema(InputSchema):
    reason = NonBlank(500, required=False, load_default=None)


class ProposalSchema(OutputSchema):
    id = fields.UUID()
    agreement_id = fields.UUID()
    agreement_number = fields.String()
    buyer_org_id = fields.UUID()
    supplier_org_id = fields.UUID()
    version = fields.Integer(metadata={"description": "The agreed version it was reviewed under."})
    product_id = fields.UUID()
    location_id = fields.UUID()
    sku = fields.String()
    product_name = fields.String()
    unit_of_measure = fields.String()
    location_name = fields.String()
    state = fields.Enum(ProposalState, by_value=True)
    review_date = fields.Date()
    quantity = Exact()
    delivery_date = fields.Date()
    confirmed_quantity = Exact(allow_none=True)
    confirmed_delivery_date = fields.Date(allow_none=True)
    unit_price = Exact()
    value = Exact(metadata={"description": "Quantity (confirmed, else proposed) times the agreed unit price."})
    on_hand = Exact()
    on_order = Exact()
    minimum = Exact()
    maximum = Exact()
    safety_stock = Exact(allow_none=True)
    reorder_point = Exact(allow_none=True)
    forecast_model = fields.String(allow_none=True)
    forecast_mase = Exact(allow_none=True)
    forecast_bias = Exact(allow_none=True, metadata={"description": "% over (+) or under (-) forecast on the holdout."})
    alerts = fields.List(fields.Dict())
    order_id = fields.UUID(allow_none=True)
    state_reason = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    allowed_actions = fields.List(fields.String())


def shown(proposal: VmiProposal, agreement: VmiAgreement | None = None) -> dict[str, Any]:
    session, principal = db.session(), current_principal()
    agreement = agreement or session.get(VmiAgreement, proposal.agreement_id)
    assert agreement is not None
    item = next(i for v in reversed(agreement.versions) for i in v.items if (i.product_id, i.location_id) == (proposal.product_id, proposal.location_id))
    keys = [name for name in ProposalSchema._declared_fields if hasattr(proposal, name) and name not in ("alerts", "value")]
    return {
        **{key: getattr(proposal, key) for key in keys},
        "agreement_number": agreement.number,
        **{key: getattr(item, key) for key in ("sku", "product_name", "unit_of_measure", "location_name")},
        "value": proposals.value_of(proposal),
        "alerts": proposal.review.get("alerts", []),
        "allowed_actions": proposals.allowed_actions(proposal, agreement, principal),
    }


@vmi_proposals_api.route("/vmi-proposals")
class Proposals(MethodView):
    @vmi_proposals_api.arguments(ProposalFilterSchema, location="query")
    @vmi_proposals_api.response(200, page_of(ProposalSchema))
    def get(self, args):
        """Proposals of the agreements you are party to, newest first."""
        query = proposals.proposals_query(current_principal(), agreement_id=args["agreement_id"], state=args["state"])
        return page_response(query, [VmiProposal.created_at, VmiProposal.id], args, transform=shown)


@vmi_proposals_api.route("/vmi-proposals/<uuid:vmi_proposal_id>")
class ProposalItem(MethodView):
    @vmi_proposals_api.response(200, ProposalSchema)
    def get(self, vmi_proposal_id: uuid.UUID):
        return shown(policy.get_visible(db.session(), VmiProposal, vmi_proposal_id, current_principal()))


@vmi_proposals_api.route("/vmi-proposals/<uuid:vmi_proposal_id>/confirm")
class ProposalConfirm(MethodView):
    @vmi_proposals_api.arguments(ConfirmSchema)
    @vmi_proposals_api.response(200, ProposalSchema)
    def post(self, data, vmi_proposal_id: uuid.UUID):
        """Confirm (the supplier), perhaps with another quantity or date: inside the agreed limits the buyer's order is issued at once, beyond them the buyer approves first."""
        return shown(proposals.confirm(db.session(), current_principal(), vmi_proposal_id, data))


@vmi_proposals_api.route("/vmi-proposals/<uuid:vmi_proposal_id>/approve")
class ProposalApprove(MethodView):
    @vmi_proposals_api.arguments(ProposalReasonSchema)
    @vmi_proposals_api.response(200, ProposalSchema)
    def post(self, data, vmi_proposal_id: uuid.UUID):
        """Approve an order beyond the agreed limits (the buyer): it is issued in your name."""
        return shown(proposals.approve(db.session(), current_principal(), vmi_proposal_id))


@vmi_proposals_api.route("/vmi-proposals/<uuid:vmi_proposal_id>/dismiss")
class ProposalDismiss(MethodView):
    @vmi_proposals_api.arguments(ProposalReasonSchema)
    @vmi_proposals_api.response(200, ProposalSchema)
    def post(self, data, vmi_proposal_id: uuid.UUID):
        """Do not order this one (the supplier); the next review proposes again if still needed."""
        return shown(proposals.dismiss(db.session(), current_principal(), vmi_proposal_id, data["reason"]))


@vmi_proposals_api.route("/vmi-proposals/<uuid:vmi_proposal_id>/reject")
class ProposalReject(MethodView):
    @vmi_proposals_api.arguments(ProposalReasonSchema)
    @vmi_proposals_api.response(200, ProposalSchema)
    def post(self, data, vmi_proposal_id: uuid.UUID):
        """Refuse an order beyond the agreed limits (the buyer)."""
        return shown(proposals.reject(db.session(), current_principal(), vmi_proposal_id, data["reason"]))


@vmi_proposals_api.route("/vmi-agreements/<uuid:agreement_id>/review")
class AgreementReview(MethodView):
    @vmi_proposals_api.arguments(ProposalReasonSchema)
    @vmi_proposals_api.response(200, ProposalSchema(many=True))
    def post(self, data, agreement_id: uuid.UUID):
        """Review every item now from the stock shared so far (either side); answers the proposals made."""
        made = review.review(db.session(), current_principal(), agreement_id)
        return [shown(p) for p in made]
