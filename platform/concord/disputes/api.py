"""Disputes over an order's escrow, resolved by the arbiter with a split."""

from __future__ import annotations

import uuid
from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from concord import db, files, policy
from concord.api_common import page_of, page_response
from concord.auth.web import current_principal
from concord.disputes import schemas as case_schemas
from concord.disputes import service
from concord.disputes.case import case
from concord.ledger.escrow_state import Settlement
from concord.logistics.api import shown_shipment
from concord.orders import api as orders_api  # a module: orders.api reads disputes too
from concord.orders import schemas
from concord.orders.models import Dispute, DisputeEvidence, PurchaseOrder
from concord.tenancy.models import Organization

disputes = Blueprint(
    "disputes",
    __name__,
    url_prefix="/api/v1/disputes",
    description="Disputes over an order's escrow: the case the arbiter decides on, the parties' evidence, and the split.",
)
# Evidence is a form with a file: its fields and file are read together and checked in one pass.
disputes.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING, case_schemas.MULTIPART: "multipart/form-data"}
disputes.ARGUMENTS_PARSER.location_loader(case_schemas.MULTIPART)(case_schemas.form_and_files)
BLUEPRINTS = [disputes]


def shown_dispute(dispute: Dispute) -> dict[str, Any]:
    """The dispute as DisputeSchema shows it, with its order's number, currency and escrowed
    value (the money only to the buyer, the supplier and the arbiter; a carrier reads the rest)."""
    order = db.get_or_raise(db.session(), PurchaseOrder, dispute.order_id)
    shown: dict[str, Any] = {
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
    if not service.sees_money(dispute, current_principal()):
        shown.update(escrowed=None, payee_amount=None, buyer_amount=None)
    return shown


def shown_evidence(evidence: DisputeEvidence, names: dict[uuid.UUID, str] | None = None) -> dict[str, Any]:
    session = db.session()
    stored = session.get(files.StoredFile, evidence.file_sha256) if evidence.file_sha256 else None
    return {
        "id": evidence.id,
        "dispute_id": evidence.dispute_id,
        "organization_id": evidence.organization_id,
        "organization_name": (names or {}).get(evidence.organization_id) or db.get_or_raise(session, Organization, evidence.organization_id).legal_name,
        "party": evidence.party,
        "comment": evidence.comment,
        "file": None
        if stored is None
        else {
            "name": evidence.file_name,
            "media_type": stored.media_type,
            "size": stored.size,
            "sha256": stored.sha256,
            "url": url_for("disputes.DisputeEvidenceFile", dispute_id=evidence.dispute_id, evidence_id=evidence.id),
        },
        "created_at": evidence.created_at,
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


@disputes.route("/<uuid:dispute_id>/case")
class DisputeCase(MethodView):
    @disputes.response(200, case_schemas.DisputeCaseSchema)
    def get(self, dispute_id: uuid.UUID):
        """Everything the dispute is decided on: the order's lines, shipments with lots,
        milestones and proofs of delivery, the receipt with rejected quantities and reasons,
        the escrow and its transactions, the parties' evidence and the order's timeline.
        A carrier of the order reads its own shipments and the evidence."""
        found = case(db.session(), current_principal(), dispute_id)
        escrow: Settlement | None = found.settlement
        return {
            "dispute": shown_dispute(found.dispute),
            "party": found.party,
            "allowed_actions": found.allowed_actions,
            "order": orders_api.shown_order(found.order) if found.sees_money else None,
            "shipments": [shown_shipment(s) for s in found.shipments],
            "receipt": found.receipt,
            "escrow": escrow,
            "evidence": [shown_evidence(e, found.names) for e in found.evidence],
            "timeline": found.timeline if found.sees_money else None,
        }


@disputes.route("/<uuid:dispute_id>/evidence")
class DisputeEvidenceList(MethodView):
    @disputes.arguments(case_schemas.EvidenceFilterSchema, location="query")
    @disputes.response(200, page_of(case_schemas.EvidenceSchema))
    def get(self, args, dispute_id: uuid.UUID):
        """The evidence on the dispute's case, newest first (the case shows it oldest first)."""
        policy.get_visible(db.session(), Dispute, dispute_id, current_principal())
        query = service.evidence_query(current_principal(), dispute_id)
        return page_response(query, [DisputeEvidence.created_at, DisputeEvidence.id], args, transform=shown_evidence)

    @disputes.arguments(case_schemas.EvidenceInputSchema, location=case_schemas.MULTIPART)
    @disputes.response(201, case_schemas.EvidenceSchema)
    def post(self, data, dispute_id: uuid.UUID):
        """Add a comment, a file, or both, to an open dispute's case (its buyer, supplier,
        arbiter, or a carrier of the order; admins and members). Sent as multipart/form-data;
        a file is stored content-addressed, with its SHA-256."""
        evidence = service.add_evidence(db.session(), current_principal(), dispute_id, data["comment"], data["file"])
        return shown_evidence(evidence)


@disputes.route("/<uuid:dispute_id>/evidence/<uuid:evidence_id>/file")
class DisputeEvidenceFile(MethodView):
    @disputes.doc(
        responses={
            200: {
                "description": "The file, with the media type its content was accepted as.",
                "content": {media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in files.ACCEPTED_TYPES},
            }
        }
    )
    def get(self, dispute_id: uuid.UUID, evidence_id: uuid.UUID):
        """The evidence's file, as it was uploaded (an attachment; its ETag is its SHA-256)."""
        session = db.session()
        evidence, stored = service.evidence_file(session, current_principal(), dispute_id, evidence_id)
        return files.download(session, stored, evidence.file_name or "evidence")


@disputes.route("/<uuid:dispute_id>/resolve")
class DisputeResolve(MethodView):
    @disputes.arguments(schemas.ResolutionInputSchema)
    @disputes.response(200, schemas.DisputeSchema)
    def post(self, data, dispute_id: uuid.UUID):
        """Decide the split (the arbiter's admins): the payee amount to the supplier, the
        rest back to the buyer, settled by the escrow on chain."""
        return shown_dispute(service.resolve_dispute(db.session(), current_principal(), dispute_id, data["payee_amount"], data["resolution"]))
