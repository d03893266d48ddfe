"""VMI agreements: the API (thin; the rules live in agreements.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from concord import db, policy
from concord.api_common import page_of, page_response
from concord.auth.web import current_principal
from concord.vmi import agreements, consignment, insights, profit_sharing
from concord.vmi import agreements_schemas as schemas
from concord.vmi.models import VmiAgreement

vmi_agreements_api = Blueprint(
    "vmi_agreements",
    __name__,
    url_prefix="/api/v1",
    description="Vendor-managed inventory agreements between a buyer and a supplier partner: versioned terms agreed by both.",
)
BLUEPRINTS = [vmi_agreements_api]


def shown(agreement: VmiAgreement) -> dict[str, Any]:
    principal = current_principal()
    return {
        **{
            key: getattr(agreement, key)
            for key in (
                "id",
                "number",
                "buyer_org_id",
                "supplier_org_id",
                "currency",
                "state",
                "current_version",
                "pending_version",
                "suspended_by_org_id",
                "state_reason",
                "created_at",
                "ended_at",
            )
        },
        "terms": agreements.current(agreement),
        "proposed_terms": agreements.pending(agreement),
        "allowed_actions": agreements.allowed_actions(agreement, principal),
    }


@vmi_agreements_api.route("/vmi-agreements")
class Agreements(MethodView):
    @vmi_agreements_api.arguments(schemas.AgreementFilterSchema, location="query")
    @vmi_agreements_api.response(200, page_of(schemas.AgreementSchema))
    def get(self, args):
        """Agreements you are the buyer or the supplier of, newest first."""
        query = agreements.agreements_query(current_principal(), state=args["state"], role=args["role"])
        return page_response(query, [VmiAgreement.created_at, VmiAgreement.id], args, transform=shown)

    @vmi_agreements_api.arguments(schemas.AgreementInputSchema)
    @vmi_agreements_api.response(201, schemas.AgreementSchema)
    def post(self, data):
        """Propose an agreement to a supplier partner (a buyer): its first version, which the supplier accepts or declines."""
        return shown(agreements.propose(db.session(), current_principal(), data))


@vmi_agreements_api.route("/vmi-agreements/<uuid:agreement_id>")
class AgreementItem(MethodView):
    @vmi_agreements_api.response(200, schemas.AgreementSchema)
    def get(self, agreement_id: uuid.UUID):
        return shown(policy.get_visible(db.session(), VmiAgreement, agreement_id, current_principal()))


@vmi_agreements_api.route("/vmi-agreements/<uuid:agreement_id>/versions")
class AgreementVersions(MethodView):
    @vmi_agreements_api.response(200, schemas.AgreementVersionSchema(many=True))
    def get(self, agreement_id: uuid.UUID):
        """Every version, oldest first: agreed, superseded, declined, withdrawn and the one waiting."""
        return policy.get_visible(db.session(), VmiAgreement, agreement_id, current_principal()).versions

    @vmi_agreements_api.arguments(schemas.TermsInputSchema)
    @vmi_agreements_api.response(201, schemas.AgreementSchema)
    def post(self, data, agreement_id: uuid.UUID):
        """Propose new terms (either side; a supplier re-terms the items already covered). The agreed terms hold until the other side accepts."""
        return shown(agreements.amend(db.session(), current_principal(), agreement_id, data))


@vmi_agreements_api.route("/vmi-agreements/<uuid:agreement_id>/items")
class AgreementItems(MethodView):
    @vmi_agreements_api.response(200, schemas.ItemInsightSchema(many=True))
    def get(self, agreement_id: uuid.UUID):
        """Each item: stock by day against the band, the forecast and its accuracy, proposals, deliveries and the bullwhip ratio before and after the start."""
        session = db.session()
        return insights.agreement_view(session, policy.get_visible(session, VmiAgreement, agreement_id, current_principal()))


@vmi_agreements_api.route("/vmi-agreements/<uuid:agreement_id>/profit-sharing")
class AgreementProfitSharing(MethodView):
    @vmi_agreements_api.response(200, schemas.ProfitSharingSchema(many=True))
    def get(self, agreement_id: uuid.UUID):
        """The profit-sharing statement per period, newest first (empty without profit-sharing terms)."""
        session = db.session()
        return profit_sharing.statements(session, policy.get_visible(session, VmiAgreement, agreement_id, current_principal()))


@vmi_agreements_api.route("/vmi-agreements/<uuid:agreement_id>/self-billing")
class AgreementSelfBilling(MethodView):
    @vmi_agreements_api.arguments(schemas.SelfBillingInputSchema)
    @vmi_agreements_api.response(200, schemas.ConsignmentBillingSchema(many=True))
    def post(self, data, agreement_id: uuid.UUID):
        """Bill now (either side) the consignment goods the buyer reported consuming through a day
        (yesterday by default; an ended agreement's end date at the latest) beyond what was billed:
        one self-billing invoice per order, an approved open-account payable. Empty: nothing to bill."""
        session = db.session()
        return consignment.described(session, consignment.bill(session, current_principal(), agreement_id, data["through"]))


def _action(name: str, verb: Callable[..., VmiAgreement], doc: str) -> None:
    @vmi_agreements_api.route(f"/vmi-agreements/<uuid:agreement_id>/{name}", endpoint=f"Agreement{name.title()}")
    class AgreementAction(MethodView):
        @vmi_agreements_api.arguments(schemas.AgreementReasonSchema)
        @vmi_agreements_api.response(200, schemas.AgreementSchema)
        def post(self, data, agreement_id: uuid.UUID):
            return shown(verb(db.session(), current_principal(), agreement_id, data["reason"]))

    AgreementAction.post.__doc__ = doc


for _name, _verb, _doc in (
    ("accept", agreements.accept, "Agree to the version waiting for your answer (the other side proposed it): it becomes the terms in force."),
    ("decline", agreements.decline, "Decline the version waiting for your answer; the agreed terms (if any) hold."),
    ("withdraw", agreements.withdraw, "Take back the version you proposed before the other side answers."),
    ("suspend", agreements.suspend, "Pause reviews and generated orders (either side); orders already issued run their course."),
    ("resume", agreements.resume, "Resume an agreement your organization suspended."),
    ("end", agreements.end, "End the agreement for good (either side): a waiting version is withdrawn, nothing more is reviewed or ordered."),
):
    _action(_name, _verb, _doc)
