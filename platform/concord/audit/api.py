"""The audit entries the caller's organization may see."""

from __future__ import annotations

import uuid

from flask.views import MethodView
from flask_smorest import Blueprint

from concord import db, policy
from concord.api_common import page_of, page_response
from concord.audit import schemas, service
from concord.audit.models import AuditEntry
from concord.auth.web import current_principal

audit = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="The hash-chained audit trail.")
BLUEPRINTS = [audit]


@audit.route("")
class AuditEntries(MethodView):
    @audit.arguments(schemas.AuditFilterSchema, location="query")
    @audit.response(200, page_of(schemas.AuditEntrySchema))
    def get(self, args):
        """Entries your organization acted in or was the subject of, newest first (the operator sees all)."""
        principal = current_principal()
        query = service.visible_entries(principal, action=args["action"], object_id=args["object_id"])
        return page_response(query, service.page_keys(principal), args, transform=lambda entry: service.shown(entry, principal))


@audit.route("/<uuid:entry_id>")
class AuditEntryItem(MethodView):
    @audit.response(200, schemas.AuditEntrySchema)
    def get(self, entry_id: uuid.UUID):
        principal = current_principal()
        return service.shown(policy.get_visible(db.session(), AuditEntry, entry_id, principal), principal)
