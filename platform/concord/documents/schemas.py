"""Documents as the API reads and shows them."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask_smorest.fields import Upload
from marshmallow import fields, validate
from werkzeug.datastructures import FileStorage

from concord import files
from concord.api_common import InputSchema, NonBlank, OutputSchema, PageArgsSchema, WholeNumber
from concord.documents.models import DocumentKind, SubjectType
from concord.documents.service import ACCEPTED_TEXT, ACCEPTED_TYPES, LOT_MAX

KINDS = [str(kind) for kind in DocumentKind]
SUBJECTS = [str(subject) for subject in SubjectType]


class DocumentFile(Upload):
    """The document's file: read, and checked for size and type from its content."""

    def _deserialize(self, value: Any, attr, data, **kwargs) -> files.Upload:
        if not isinstance(value, FileStorage):
            raise ma.ValidationError("Attach the document's file (multipart/form-data).")
        upload, problems = files.read_upload(value, current_app.config["EVIDENCE_MAX_BYTES"])
        if problems:
            raise ma.ValidationError(problems)
        if upload is None:
            raise ma.ValidationError(f"Attach the document's file: {ACCEPTED_TEXT}.")
        if upload.media_type not in ACCEPTED_TYPES:
            raise ma.ValidationError(f"Not a file type accepted for documents: {ACCEPTED_TEXT}.")
        return upload


class DocumentInputSchema(InputSchema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS), metadata={"description": ", ".join(KINDS)})
    title = NonBlank(200, required=False, load_default=None, metadata={"description": "Defaults to the kind and the document number."})
    issuer = NonBlank(200, metadata={"description": "Who issued it (a certification body, a laboratory, a chamber of commerce)."})
    document_number = NonBlank(100)
    valid_from = fields.Date(required=True)
    valid_until = fields.Date(load_default=None, metadata={"description": "The last day it is valid; none for a report that does not expire."})
    subject_type = fields.String(required=True, validate=validate.OneOf(SUBJECTS), metadata={"description": "What it is about: " + ", ".join(SUBJECTS)})
    product_id = fields.UUID(load_default=None, metadata={"description": "One of your products (subject_type product)."})
    gtin = fields.String(load_default=None, validate=validate.Length(max=14), metadata={"description": "The lot's GTIN (subject_type lot)."})
    lot = NonBlank(LOT_MAX, required=False, load_default=None, metadata={"description": "The lot number (subject_type lot)."})
    file = DocumentFile(
        required=True,
        error_messages={"required": f"Attach the document's file: {ACCEPTED_TEXT}."},
        metadata={"description": f"{ACCEPTED_TEXT}; the size limit is the EVIDENCE_MAX_BYTES setting (10 MiB unless configured)."},
    )

    @ma.validates_schema
    def _dates_in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("valid_from") and data.get("valid_until") and data["valid_until"] < data["valid_from"]:
            raise ma.ValidationError("The document cannot expire before it becomes valid.", "valid_until")


class DocumentFilterSchema(PageArgsSchema):
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))
    subject_type = fields.String(load_default=None, validate=validate.OneOf(SUBJECTS))
    product_id = fields.UUID(load_default=None)
    gtin = fields.String(load_default=None, validate=validate.Length(max=14))
    lot = fields.String(load_default=None, validate=validate.Length(max=LOT_MAX))
    expiring = fields.Boolean(load_default=None, metadata={"description": "Only documents that expire within the reminder window or have expired."})
    within_days = WholeNumber(load_default=None, validate=validate.Range(min=0, max=3650), metadata={"description": "With expiring: the window in days."})


class DocumentSchema(OutputSchema):
    id = fields.UUID()
    organization_id = fields.UUID()
    kind = fields.String()
    title = fields.String()
    issuer = fields.String()
    document_number = fields.String()
    valid_from = fields.Date()
    valid_until = fields.Date(allow_none=True)
    status = fields.String(metadata={"description": "not_yet_valid, valid, expiring (within the reminder window) or expired"})
    subject = fields.Dict(metadata={"description": "type (organization, product or lot), product_id, gtin and lot"})
    file = fields.Dict(metadata={"description": "name, media_type, size (bytes), sha256 and url (to download it)"})
    anchor = fields.Dict(allow_none=True, metadata={"description": "The chain transaction anchoring the SHA-256: state, tx_hash, block_number."})
    created_at = fields.DateTime()


class CheckSchema(OutputSchema):
    name = fields.String(metadata={"description": "content, anchor_transaction or on_chain_record"})
    ok = fields.Boolean(allow_none=True, metadata={"description": "null while it cannot be told yet (the anchoring is not mined)"})
    detail = fields.String()


class VerificationSchema(OutputSchema):
    document_id = fields.UUID()
    sha256 = fields.String()
    verdict = fields.String(metadata={"description": "verified, pending or failed"})
    chain_id = fields.Integer()
    tx_hash = fields.String(allow_none=True)
    block_number = fields.Integer(allow_none=True)
    checks = fields.List(fields.Nested(CheckSchema))


class DocumentBundleSchema(OutputSchema):
    """A document's proof bundle (`concord-proof-bundle/1`, kind `document`)."""

    format = fields.String(required=True, metadata={"enum": ["concord-proof-bundle/1"]})
    kind = fields.String(required=True, metadata={"enum": ["document"]})
    createdAt = fields.String(required=True)
    platform = fields.String(required=True)
    chain = fields.Dict(required=True, metadata={"description": "chainId, provenanceAnchor and consortium addresses."})
    organization = fields.Dict(required=True, metadata={"description": "id, name and bytes32 of the owner."})
    document = fields.Dict(required=True, metadata={"description": "id, kind, filename, mediaType, sha256, contentBase64, issuer, validity."})
    batch = fields.Dict(
        required=True, metadata={"description": "batchId (the document's id), root (its SHA-256), size 1, empty proof, anchorTransaction, anchorBlock."}
    )
