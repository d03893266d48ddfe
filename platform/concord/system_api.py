"""Liveness and readiness of the platform."""

from __future__ import annotations

import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from concord import __version__, clock, db
from concord.api_common import OutputSchema, public
from concord.ledger import health

system = Blueprint("system", __name__, url_prefix="/api/v1", description="Platform health.")
BLUEPRINTS = [system]


class HealthSchema(OutputSchema):
    status = fields.String(metadata={"description": "ok, or degraded when a dependency is down."})
    database = fields.String(metadata={"description": "ok or unavailable."})
    ledger = fields.String(metadata={"description": "ok, or stalled when chain steps are due and not sent (the worker is down, or the chain refuses them)."})
    ledger_steps_waiting = fields.Integer(metadata={"description": "Chain steps stalled."})
    ledger_stalled_since = fields.DateTime(allow_none=True, metadata={"description": "When the oldest stalled step was written."})
    version = fields.String()


@system.route("/health")
@public
class Health(MethodView):
    @system.response(200, HealthSchema)
    @system.alt_response(503, schema=HealthSchema, description="A dependency is down.")
    def get(self):
        session = db.session()
        stalled = None
        try:
            session.execute(sa.text("SELECT 1"))
            database = "ok"
            stalled = health.stall(session, clock.utcnow())
        except sa.exc.SQLAlchemyError:
            session.rollback()
            database = "unavailable"
        ledger = "unknown" if database != "ok" else ("stalled" if stalled else "ok")
        healthy = database == "ok" and ledger == "ok"
        body = {
            "status": "ok" if healthy else "degraded",
            "database": database,
            "ledger": ledger,
            "ledger_steps_waiting": stalled.waiting if stalled else 0,
            "ledger_stalled_since": stalled.since if stalled else None,
            "version": __version__,
        }
        return body, (200 if healthy else 503)
