"""EPCIS 2.0 capture and query, in the shapes of GS1's REST binding."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from flask import current_app, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import BadRequest

from concord import db
from concord.auth.web import current_principal
from concord.errors import DomainError, ValidationFailed
from concord.pagination import paginate
from concord.provenance import proofs, queries, schemas, service, sharing, trace
from concord.provenance.models import CaptureJob, EpcisEvent

epcis = Blueprint(
    "epcis",
    __name__,
    url_prefix="/api/v1/epcis",
    description="EPCIS 2.0 events (GS1): capture your organization's events and query them back, per the standard's REST binding.",
)
traces = Blueprint(
    "trace",
    __name__,
    url_prefix="/api/v1/trace",
    description="Trace a lot by GTIN and lot number: upstream to its inputs and suppliers, downstream to every holder (a recall list).",
)
BLUEPRINTS = [epcis, traces]

JSON_TYPES = ("application/json", "application/ld+json")
_DOCUMENT = {
    "type": "object",
    "description": "An EPCISDocument (or EPCISQueryDocument), valid against GS1's EPCIS 2.0 JSON Schema.",
    "required": ["@context", "type", "schemaVersion", "creationDate", "epcisBody"],
    "properties": {
        "@context": {"description": "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld, and the prefixes of your extensions."},
        "type": {"type": "string", "enum": ["EPCISDocument", "EPCISQueryDocument"]},
        "schemaVersion": {"type": "string"},
        "creationDate": {"type": "string", "format": "date-time"},
        "epcisBody": {"type": "object"},
    },
}
_LOCATION = {"description": "The capture job.", "schema": {"type": "string"}, "required": True}
_LINK = {"description": 'The next page: `<...?nextPageToken=...>; rel="next"` (absent on the last page).', "schema": {"type": "string"}}


def _document() -> Any:
    if request.mimetype not in JSON_TYPES:
        raise DomainError("Send the EPCIS document as application/json or application/ld+json.", errors={"Content-Type": [f"One of {', '.join(JSON_TYPES)}."]})
    try:
        return request.get_json(force=True)
    except BadRequest:
        raise DomainError("The request body is not valid JSON.", errors={"json": ["Invalid JSON body."]}) from None


def _page(query, key_columns, args: dict) -> tuple[list, dict[str, str]]:
    """One page of `perPage` rows, and the `Link` header to the next one (the same query
    with its `nextPageToken`), if there is one."""
    try:
        rows, token = paginate(db.session(), query, key_columns, limit=args["perPage"], cursor=args["nextPageToken"])
    except ValidationFailed:
        raise ValidationFailed({"nextPageToken": ["Not a token this API issued."]}) from None
    if token is None:
        return rows, {}
    following = [(key, value) for key, value in request.args.items(multi=True) if key != "nextPageToken"] + [("nextPageToken", token)]
    return rows, {"Link": f'<{request.base_url}?{urlencode(following)}>; rel="next"'}


@epcis.route("/capture")
class Capture(MethodView):
    @epcis.arguments(schemas.PageSchema, location="query")
    @epcis.response(200, schemas.CaptureJobSchema(many=True), headers={"Link": _LINK})
    def get(self, args):
        """Your organization's capture jobs, newest first; the `Link` header names the next page."""
        return _page(service.jobs_query(current_principal()), [CaptureJob.created_at, CaptureJob.id], args)

    @epcis.doc(requestBody={"required": True, "content": {media: {"schema": _DOCUMENT} for media in JSON_TYPES}})
    @epcis.arguments(schemas.CaptureArgsSchema, location="query", as_kwargs=True)
    @epcis.response(202, schemas.CaptureJobSchema, headers={"Location": _LOCATION})
    def post(self, sharing=None):
        """Capture an EPCIS document (members and admins): all its events, or none of them.

        A document the JSON Schema refuses answers 422 naming each mistake by JSON pointer;
        an eventID your organization already used answers 409. Events without an eventID get
        their event hash ID as one. Capture finishes before the answer: the job the Location
        header names has already succeeded. `sharing` chooses who else in the consortium
        sees these events (your organization's default, `GET /epcis/sharing`, when absent)."""
        job = service.capture(db.session(), current_principal(), _document(), sharing)
        return job, {"Location": url_for("epcis.CaptureJobItem", capture_id=job.id)}


@epcis.route("/sharing")
class SharingDefault(MethodView):
    @epcis.response(200, schemas.SharingSchema)
    def get(self):
        """How your organization's captures are shared unless a capture says otherwise."""
        me = current_principal()
        return {"sharing": sharing.default_for(db.session(), me.org.id)}

    @epcis.arguments(schemas.SharingInputSchema)
    @epcis.response(200, schemas.SharingSchema)
    def put(self, data):
        """Change how your organization's future captures are shared (admins; audited).
        Events already captured keep the level they were captured with."""
        return sharing.set_default(db.session(), current_principal(), data["sharing"])


@epcis.route("/capture/<uuid:capture_id>")
class CaptureJobItem(MethodView):
    @epcis.response(200, schemas.CaptureJobSchema)
    def get(self, capture_id: uuid.UUID):
        """A capture job of your organization."""
        return service.get_job(db.session(), current_principal(), capture_id)


@epcis.route("/events")
class Events(MethodView):
    @epcis.arguments(schemas.EventQuerySchema, location="query")
    @epcis.response(200, schemas.QueryDocumentSchema, headers={"Link": _LINK})
    def get(self, args):
        """The events your organization may see (its own, and those of the orders it is a party to)
        that match every parameter given, most recently captured first.

        `EQ_bizTransaction_<type>` (such as `EQ_bizTransaction_po`) filters by business
        transaction; values separated by `|` are alternatives. Pages hold `perPage` events;
        the `Link` header names the next page."""
        biz_transactions = queries.biz_transaction_filters(request.args, known=schemas.EventQuerySchema().fields)
        query = queries.events_query(current_principal(), args, biz_transactions)
        events, headers = _page(query, [EpcisEvent.record_time, EpcisEvent.id], args)
        return queries.query_document(events), headers


@epcis.route("/events/<path:event_id>")
class EventItem(MethodView):
    @epcis.response(200, schemas.QueryDocumentSchema)
    def get(self, event_id: str):
        """One event your organization may see, by its eventID (URL-encoded), in an EPCISQueryDocument."""
        return queries.query_document([service.get_event(db.session(), current_principal(), event_id)])


@traces.route("")
class Trace(MethodView):
    @traces.arguments(schemas.TraceQuerySchema, location="query")
    @traces.response(200, schemas.TraceSchema)
    def get(self, args):
        """The trace of a lot through the EPCIS events your organization may see: the lots it
        was made of and their makers and suppliers (every level up), and where it and the
        lots made of it went, with quantities per holder (the recall list)."""
        return trace.as_json(trace.trace(db.session(), current_principal(), args["gtin"], args["lot"]))


@epcis.route("/events/<path:event_id>/proof")
class EventProof(MethodView):
    @epcis.response(200, schemas.ProofBundleSchema)
    @epcis.alt_response(409, response="CONFLICT")
    def get(self, event_id: str):
        """The proof bundle of one event of your organization (`concord-proof-bundle/1`).

        The event, its hash ID, your organization's signature, and its Merkle proof in the
        batch anchored on ProvenanceAnchor: check it with `concord-verify bundle.json --rpc URL`.
        409 while the event's batch is open or its anchor not yet confirmed (the detail says
        when the batch closes)."""
        session = db.session()
        event = service.get_event(session, current_principal(), event_id)
        platform = current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")
        return proofs.event_bundle(session, event, current_app.config, platform)
