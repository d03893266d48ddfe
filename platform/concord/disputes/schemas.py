"""The dispute case and its evidence, as the API reads and shows them."""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from flask import current_app
from flask_smorest.fields import Upload
from marshmallow import fields, validate
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict, FileStorage

from concord import files
from concord.api_common import InputSchema, OutputSchema, PageArgsSchema
from concord.orders.schemas import DisputeSchema, EscrowSchema, OrderSchema, ReceiptSchema, ShipmentSchema, TimelineEntrySchema

#: What a multi-line comment may not hold: control characters other than line breaks and
#: tabs, and the bidirectional overrides that make text read differently from what it holds.
_HIDDEN_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
MULTIPART = "multipart"  # the request location of a form with files (see `form_and_files`)


def _plain_text(value: str) -> None:
    if _HIDDEN_IN_TEXT.search(value):
        raise ma.ValidationError("Must not contain control characters or bidirectional overrides.")


def form_and_files(request, schema) -> MultiDictProxy:
    """A multipart request's fields and files together, so that one schema checks them all
    in one pass."""
    return MultiDictProxy(CombinedMultiDict([request.form, request.files]), schema)


class EvidenceFile(Upload):
    """A file accepted as evidence: read, and checked for size and type from its content."""

    def _deserialize(self, value: Any, attr, data, **kwargs) -> files.Upload | None:
        if not isinstance(value, FileStorage):
            raise ma.ValidationError("Attach a file (multipart/form-data).")
        upload, problems = files.read_upload(value, current_app.config["EVIDENCE_MAX_BYTES"])
        if problems:
            raise ma.ValidationError(problems)
        return upload


class EvidenceInputSchema(InputSchema):
    comment = fields.String(
        load_default=None,
        validate=[validate.Length(max=4000), _plain_text],
        metadata={"description": "What the evidence shows, or a statement (line breaks kept)."},
    )
    file = EvidenceFile(
        load_default=None,
        metadata={"description": f"{files.ACCEPTED_TEXT}; the size limit is the EVIDENCE_MAX_BYTES setting (10 MiB unless configured)."},
    )


class EvidenceSchema(OutputSchema):
    id = fields.UUID()
    dispute_id = fields.UUID()
    organization_id = fields.UUID()
    organization_name = fields.String()
    party = fields.String(metadata={"description": "buyer, supplier, carrier or arbiter"})
    comment = fields.String(allow_none=True)
    file = fields.Dict(
        allow_none=True,
        metadata={"description": "name, media_type, size (bytes), sha256 and url (to download it) of the attached file, or null."},
    )
    created_at = fields.DateTime()


class EvidenceFilterSchema(PageArgsSchema):
    pass


class DisputeCaseSchema(OutputSchema):
    dispute = fields.Nested(DisputeSchema)
    party = fields.String(allow_none=True, metadata={"description": "Your part in the case: buyer, supplier, carrier or arbiter."})
    allowed_actions = fields.List(fields.String(), metadata={"description": "resolve (the arbiter's admins), add_evidence (while the dispute is open)."})
    order = fields.Nested(OrderSchema, allow_none=True, metadata={"description": "The order, with its lines and prices (null for a carrier)."})
    shipments = fields.List(fields.Nested(ShipmentSchema), metadata={"description": "With lots, milestones and proof of delivery (a carrier's own only)."})
    receipt = fields.Nested(ReceiptSchema, allow_none=True, metadata={"description": "The buyer's receipt, with rejected quantities and reasons."})
    escrow = fields.Nested(EscrowSchema, allow_none=True, metadata={"description": "The escrow and its transactions (null for a carrier)."})
    evidence = fields.List(fields.Nested(EvidenceSchema), metadata={"description": "Oldest first."})
    timeline = fields.List(fields.Nested(TimelineEntrySchema), allow_none=True)
