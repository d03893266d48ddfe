"""The stock data a buyer shares, as the API reads and shows it (the record's own rules are
`concord.vmi.stock.RecordSchema`, shared with the CSV upload)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask_smorest.fields import Upload
from marshmallow import fields, validate
from werkzeug.datastructures import FileStorage

from concord.api_common import InputSchema, OutputSchema, PageArgsSchema
from concord.vmi import stock, stock_uploads
from concord.vmi.models import RecordKind, RecordSource, UploadState

_RECORD_FIELDS = ", ".join(f"`{name}`" for name in stock.RecordSchema().fields)


class RecordList(fields.Field):
    """The batch's records, each validated on its own by the service (a bad record is named
    in the answer, not a reason to refuse the batch). The document describes each record's
    fields in words, not as a schema of the array's items: a record that breaks that schema
    is an answer of its own (`rejected`), not an invalid request."""

    default_error_messages = {"invalid": "Not a valid list.", "empty": "Send at least one record."}

    def _deserialize(self, value: Any, attr, data, **kwargs) -> list[Any]:
        if not isinstance(value, list):
            raise self.make_error("invalid")
        if not value:
            raise self.make_error("empty")
        return value  # the service bounds its length


class BatchSchema(ma.Schema):
    """Not an InputSchema: a NUL or a lone surrogate in one record rejects that record
    (RecordSchema refuses it), not the whole batch."""

    class Meta:
        unknown = ma.RAISE

    records = RecordList(
        required=True,
        metadata={
            "type": "array",
            "minItems": 1,
            "maxItems": stock.MAX_BATCH,
            "items": {},
            "description": (
                f"1 to {stock.MAX_BATCH:,} records, each an object with {_RECORD_FIELDS}: `record_id` (your own id, up to 100 characters, "
                "unique in your organization), `kind` (on_hand: the count at the end of that day; receipt; consumption), `date` (YYYY-MM-DD, "
                'not after today), `quantity` (a decimal string, at least 0, at most 3 places: "12.5"), the product by one of `sku`, `gtin` '
                "or `product_id`, the location by one of `gln` or `location_id`. Each record is kept, unchanged (sent before, identical) "
                "or rejected on its own."
            ),
        },
    )


class RecordResultSchema(OutputSchema):
    index = fields.Integer(required=True, metadata={"description": "The record's position in `records` (0-based)."})
    record_id = fields.String(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf([stock.KEPT, stock.UNCHANGED, stock.REJECTED]))
    id = fields.UUID(allow_none=True, metadata={"description": "The stored record (kept or unchanged)."})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), metadata={"description": "Why a rejected record was refused, by field."})


class BatchResultSchema(OutputSchema):
    kept = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
    results = fields.List(fields.Nested(RecordResultSchema), required=True, metadata={"description": "One per record, in the order sent."})


class StockRecordSchema(OutputSchema):
    id = fields.UUID()
    record_id = fields.String()
    kind = fields.String()
    date = fields.Date(attribute="occurred_on")
    quantity = fields.Decimal(as_string=True)
    product_id = fields.UUID()
    location_id = fields.UUID()
    source = fields.String(validate=validate.OneOf([str(source) for source in RecordSource]))
    upload_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime()


class RecordFilterSchema(PageArgsSchema):
    product_id = fields.UUID(load_default=None)
    location_id = fields.UUID(load_default=None)
    kind = fields.String(load_default=None, validate=validate.OneOf([str(kind) for kind in RecordKind]))
    date_from = fields.Date(load_default=None, metadata={"description": "From this day (included)."})
    date_to = fields.Date(load_default=None, metadata={"description": "To this day (included)."})
    upload_id = fields.UUID(load_default=None, metadata={"description": "Only the records one CSV upload kept."})


class CsvFile(Upload):
    """The uploaded file's name and bytes (read up to one byte past the limit; the service
    checks size, encoding and header)."""

    def _deserialize(self, value: Any, attr, data, **kwargs) -> tuple[str, bytes]:
        if not isinstance(value, FileStorage):
            raise ma.ValidationError("Attach a CSV file (multipart/form-data, field `file`).")
        return value.filename or "stock.csv", value.stream.read(current_app.config["VMI_UPLOAD_MAX_BYTES"] + 1)


class UploadInputSchema(InputSchema):
    file = CsvFile(
        required=True,
        metadata={
            "description": "UTF-8 CSV (a BOM is fine), comma- or semicolon-separated, with a header row: record_id, kind, date, quantity, "
            "sku (or gtin, or product_id), gln (or location_id). At most VMI_UPLOAD_MAX_BYTES (20 MiB unless configured) and VMI_UPLOAD_MAX_ROWS rows."
        },
    )


class UploadFilterSchema(PageArgsSchema):
    state = fields.String(load_default=None, validate=validate.OneOf([str(state) for state in UploadState]))


class ReportEntrySchema(OutputSchema):
    row = fields.Integer(metadata={"description": "The line of the file the row starts on (the header is line 1)."})
    record_id = fields.String(allow_none=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class UploadSchema(OutputSchema):
    id = fields.UUID()
    filename = fields.String()
    size_bytes = fields.Integer()
    state = fields.String(metadata={"description": "running (rows being read), done (every row read) or failed (stopped: see error)."})
    rows_total = fields.Integer(allow_none=True)
    rows_read = fields.Integer()
    rows_kept = fields.Integer()
    rows_unchanged = fields.Integer()
    rows_rejected = fields.Integer()
    progress = fields.Method("_progress", metadata={"description": "Percent of the rows read."})
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)

    def _progress(self, upload) -> int:
        return stock_uploads.progress(upload)


class UploadDetailSchema(UploadSchema):
    report = fields.List(
        fields.Nested(ReportEntrySchema),
        metadata={"description": f"The rejected rows, in file order (the first {stock_uploads.REPORT_LIMIT:,}; `rows_rejected` counts them all)."},
    )
