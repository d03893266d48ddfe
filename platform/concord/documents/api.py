"""/api/v1/documents: certificates and reports, their files, and their verification."""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from concord import clock, db, files
from concord.api_common import page_of, page_response
from concord.auth.web import current_principal
from concord.disputes.schemas import MULTIPART, form_and_files
from concord.documents import proofs, schemas, service
from concord.documents.models import Document
from concord.documents.service import current_chain

documents = Blueprint(
    "documents",
    __name__,
    url_prefix="/api/v1/documents",
    description="Certificates and reports (ISO 9001 / 14001, certificates of origin, lab tests) with their SHA-256 anchored on chain.",
)
documents.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING, MULTIPART: "multipart/form-data"}
documents.ARGUMENTS_PARSER.location_loader(MULTIPART)(form_and_files)
BLUEPRINTS = [documents]


def shown_document(document: Document) -> dict[str, Any]:
    session = db.session()
    stored = db.get_or_raise(session, files.StoredFile, document.file_sha256)
    intent = service.anchoring(session, document.id)
    return {
        **{
            key: getattr(document, key)
            for key in ("id", "organization_id", "kind", "title", "issuer", "document_number", "valid_from", "valid_until", "created_at")
        },
        "status": service.status(document, clock.utcnow().date(), current_app.config["DOCUMENT_REMINDER_DAYS"]),
        "subject": {
            "type": document.subject_type,
            "product_id": str(document.product_id) if document.product_id else None,
            "gtin": document.gtin,
            "lot": document.lot,
        },
        "file": {
            "name": document.file_name,
            "media_type": stored.media_type,
            "size": stored.size,
            "sha256": stored.sha256,
            "url": url_for("documents.DocumentContent", document_id=document.id),
        },
        "anchor": None if intent is None else {"state": str(intent.state), "tx_hash": intent.tx_hash, "block_number": intent.block_number},
    }


@documents.route("")
class Documents(MethodView):
    @documents.arguments(schemas.DocumentFilterSchema, location="query")
    @documents.response(200, page_of(schemas.DocumentSchema))
    def get(self, args):
        """Your organization's documents, newest first; `expiring=true` keeps those expiring
        within the reminder window (or `within_days`), expired ones included."""
        within = None
        if args["expiring"]:
            within = args["within_days"] if args["within_days"] is not None else current_app.config["DOCUMENT_REMINDER_DAYS"]
        query = service.documents_query(
            current_principal(),
            kind=args["kind"],
            subject_type=args["subject_type"],
            product_id=args["product_id"],
            gtin=args["gtin"],
            lot=args["lot"],
            expiring_within=within,
        )
        return page_response(query, [Document.created_at, Document.id], args, transform=shown_document)

    @documents.arguments(schemas.DocumentInputSchema, location=MULTIPART)
    @documents.response(201, schemas.DocumentSchema)
    def post(self, data):
        """Upload a certificate or report (multipart/form-data; admins and members). The file
        is stored content-addressed and its SHA-256 anchored on chain with your key."""
        document = service.upload(db.session(), current_principal(), data, data["file"])
        return shown_document(document)


@documents.route("/<uuid:document_id>")
class DocumentItem(MethodView):
    @documents.response(200, schemas.DocumentSchema)
    def get(self, document_id: uuid.UUID):
        return shown_document(service.get(db.session(), current_principal(), document_id))


@documents.route("/<uuid:document_id>/content")
class DocumentContent(MethodView):
    @documents.doc(
        responses={
            200: {
                "description": "The file, with the media type its content was accepted as.",
                "content": {media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in service.ACCEPTED_TYPES},
            }
        }
    )
    def get(self, document_id: uuid.UUID):
        """The document's file, as an attachment."""
        session = db.session()
        document, stored = service.content(session, current_principal(), document_id)
        return files.download(session, stored, document.file_name)


@documents.route("/<uuid:document_id>/verify")
class DocumentVerify(MethodView):
    @documents.response(200, schemas.VerificationSchema)
    def get(self, document_id: uuid.UUID):
        """Each check and its result: the stored bytes hash to the recorded SHA-256, the
        anchoring transaction is confirmed, and ProvenanceAnchor holds that SHA-256."""
        document = service.get(db.session(), current_principal(), document_id)  # another's: 404 before the chain is opened
        return service.verify(db.session(), current_principal(), document.id, current_chain())


@documents.route("/<uuid:document_id>/proof")
class DocumentProof(MethodView):
    @documents.response(200, schemas.DocumentBundleSchema)
    @documents.alt_response(409, response="CONFLICT")
    def get(self, document_id: uuid.UUID):
        """The document's proof bundle (`concord-proof-bundle/1`, kind `document`): its file and
        the anchoring of its SHA-256, for `concord-verify bundle.json --rpc URL`. 409 until the
        anchoring transaction is confirmed."""
        platform = current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")
        return proofs.bundle(db.session(), current_principal(), document_id, platform)
