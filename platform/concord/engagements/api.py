"""Engagements: an organization lets an auditor partner read some of its records, and sees
what it read.

The auditor reads under an engagement by naming it in the `Concord-Engagement` header of a
GET: the grantor's orders (`/api/v1/orders`, with their shipments, receipt and timeline),
products and EPCIS events the engagement covers answer as they do for the grantor, read-only;
anything else answers 404. Every such request is written to the engagement's read log."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from concord import db
from concord.api_common import PageArgsSchema, page_of, page_response
from concord.auth.web import current_principal
from concord.engagements import schemas, service
from concord.engagements.models import Engagement, EngagementRead

engagements = Blueprint("engagements", __name__, url_prefix="/api/v1/engagements", description=__doc__)
BLUEPRINTS = [engagements]


def shown(engagement: Engagement) -> dict[str, Any]:
    fields = schemas.EngagementSchema().fields
    return {
        **{key: getattr(engagement, key) for key in fields if key != "allowed_actions"},
        "allowed_actions": service.allowed_actions(engagement, current_principal()),
    }


@engagements.route("")
class Engagements(MethodView):
    @engagements.arguments(schemas.EngagementFilterSchema, location="query")
    @engagements.response(200, page_of(schemas.EngagementSchema))
    def get(self, args):
        """Engagements your organization granted, or received as an auditor, newest first."""
        query = service.engagements_query(current_principal(), side=args["side"], state=args["state"])
        return page_response(query, [Engagement.granted_at, Engagement.id], args, transform=shown)

    @engagements.arguments(schemas.EngagementInputSchema)
    @engagements.response(201, schemas.EngagementSchema)
    def post(self, data):
        """Grant an auditor partner an engagement (admins): what it may read, of which period, until when."""
        return shown(service.grant(db.session(), current_principal(), data))


@engagements.route("/<uuid:engagement_id>")
class EngagementItem(MethodView):
    @engagements.response(200, schemas.EngagementSchema)
    def get(self, engagement_id: uuid.UUID):
        return shown(service.get(db.session(), current_principal(), engagement_id))


@engagements.route("/<uuid:engagement_id>/revoke")
class EngagementRevoke(MethodView):
    @engagements.response(200, schemas.EngagementSchema)
    def post(self, engagement_id: uuid.UUID):
        """End the engagement now (the grantor's admins); 409 once revoked or expired."""
        return shown(service.revoke(db.session(), current_principal(), engagement_id))


@engagements.route("/<uuid:engagement_id>/reads")
class EngagementReads(MethodView):
    @engagements.arguments(PageArgsSchema, location="query")
    @engagements.response(200, page_of(schemas.EngagementReadSchema))
    def get(self, args, engagement_id: uuid.UUID):
        """Every request the auditor's users answered under the engagement, newest first."""
        query = service.reads_query(db.session(), current_principal(), engagement_id)
        return page_response(query, [EngagementRead.read_at, EngagementRead.id], args)
