"""Liveness and readiness of the platform."""
from __future__ import annotations

import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from concord import __version__, db
from concord.api_common import OutputSchema, public

system = Blueprint("system", __name__, url_prefix="/api/v1", description="Platform health.")
BLUEPRINTS = [system]


class HealthSchema(OutputSchema):
    status = fields.String()
    database = fields.String()
    version = fields.String()


@system.route("/health")
@public
class Health(MethodView):
    @system.response(200, HealthSchema)
    @system.alt_response(503, schema=HealthSchema, description="A dependency is down.")
    def get(self):
        try:
            db.session().execute(sa.text("SELECT 1"))
            database = "ok"
        except sa.exc.SQLAlchemyError:
            database = "unavailable"
        body = {"status": "ok" if database == "ok" else "degraded", "database": database, "version": __version__}
        return body, (200 if database == "ok" else 503)
