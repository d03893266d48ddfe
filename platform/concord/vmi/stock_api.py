"""/api/v1/vmi: the stock data a buyer shares for vendor-managed inventory (thin; the rules
live in concord.vmi.stock and concord.vmi.stock_uploads)."""

from __future__ import annotations

import uuid

from flask import Flask, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from concord import db, files
from concord.api_common import page_of, page_response
from concord.auth.web import current_principal
from concord.disputes.schemas import MULTIPART, form_and_files
from concord.vmi import stock, stock_uploads
from concord.vmi import stock_schemas as schemas
from concord.vmi.models import RecordSource, StockRecord, UploadState, VmiUpload

vmi_stock = Blueprint(
    "vmi_stock",
    __name__,
    url_prefix="/api/v1/vmi",
    description="Stock on hand, goods receipts and consumption a buyer shares per product and location, in batches or as CSV uploads.",
)
vmi_stock.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING, MULTIPART: "multipart/form-data"}
vmi_stock.ARGUMENTS_PARSER.location_loader(MULTIPART)(form_and_files)
BLUEPRINTS = [vmi_stock]

#: Endpoints whose bodies may exceed MAX_CONTENT_LENGTH: the setting that bounds them, and the
#: room a multipart form needs around its file.
BODY_LIMITS = {
    "vmi_stock.StockRecords": ("VMI_BATCH_MAX_BYTES", 0),
    "vmi_stock.Uploads": ("VMI_UPLOAD_MAX_BYTES", files.FORM_ALLOWANCE),
    "vmi_stock_portal.uploads": ("VMI_UPLOAD_MAX_BYTES", files.FORM_ALLOWANCE),
}


def register(app: Flask) -> None:
    """Let a batch or an upload carry its larger body (registered before the idempotency
    hook, which reads the body)."""

    @app.before_request
    def _allow_large_bodies() -> None:
        limit = BODY_LIMITS.get(request.endpoint or "")
        if limit is not None and request.method == "POST":
            setting, allowance = limit
            request.max_content_length = int(current_app.config[setting]) + allowance


def _shown(result: stock.BatchResult) -> dict:
    results = [{"index": o.index, "record_id": o.record_id, "status": o.status, "id": o.id, "errors": o.errors} for o in result.outcomes]
    return {**result.counts, "results": results}


@vmi_stock.route("/stock-records")
class StockRecords(MethodView):
    @vmi_stock.arguments(schemas.RecordFilterSchema, location="query")
    @vmi_stock.response(200, page_of(schemas.StockRecordSchema))
    def get(self, args):
        """Your organization's shared stock records, newest first."""
        filters = {key: args[key] for key in ("product_id", "location_id", "kind", "date_from", "date_to", "upload_id")}
        return page_response(stock.records_query(current_principal(), **filters), [StockRecord.created_at, StockRecord.id], args)

    @vmi_stock.arguments(schemas.BatchSchema)
    @vmi_stock.response(200, schemas.BatchResultSchema, description="Every record kept or unchanged.")
    @vmi_stock.alt_response(
        207, schema=schemas.BatchResultSchema, description="Some records rejected (named in `results` with their reasons), the others kept or unchanged."
    )
    @vmi_stock.alt_response(422, response="UNPROCESSABLE_ENTITY", description="Every record rejected: `errors.records` names each one's index and fields.")
    def post(self, data):
        """Share a batch of stock records (a buyer's admins and members). Each record is
        answered on its own: `kept`, `unchanged` (the same record_id sent before with the same
        content) or `rejected` (its reasons by field; the same record_id with other content
        is rejected, never overwritten). One transaction: nothing of a batch is half-written.
        An `Idempotency-Key` makes a retry return the first answer."""
        result = stock.share(db.session(), current_principal(), data["records"], RecordSource.API)
        return _shown(result), (207 if result.count(stock.REJECTED) else 200)


@vmi_stock.route("/uploads")
class Uploads(MethodView):
    @vmi_stock.arguments(schemas.UploadFilterSchema, location="query")
    @vmi_stock.response(200, page_of(schemas.UploadSchema))
    def get(self, args):
        """Your organization's CSV uploads, newest first."""
        return page_response(stock_uploads.uploads_query(current_principal(), state=args["state"]), [VmiUpload.created_at, VmiUpload.id], args)

    @vmi_stock.arguments(schemas.UploadInputSchema, location=MULTIPART)
    @vmi_stock.response(201, schemas.UploadDetailSchema, description="The file was read in the request (at most 1,000 rows): its report is complete.")
    @vmi_stock.alt_response(
        202, schema=schemas.UploadDetailSchema, description="A longer file is being read: follow `rows_read` at GET /vmi/uploads/{upload_id}."
    )
    @vmi_stock.alt_response(413, response="DEFAULT_ERROR", description="The file is over the size limit: nothing kept.")
    def post(self, data):
        """Upload a CSV file of stock records (a buyer's admins and members). A file that
        cannot be read as a whole (encoding, header, size, row limit) is refused with the
        reason and nothing kept; otherwise good rows are kept and bad rows listed in the
        report with their line, record_id and reasons."""
        name, content = data["file"]
        upload = stock_uploads.start(
            db.session(),
            current_principal(),
            name,
            content,
            max_bytes=current_app.config["VMI_UPLOAD_MAX_BYTES"],
            max_rows=current_app.config["VMI_UPLOAD_MAX_ROWS"],
        )
        return upload, (202 if upload.state == UploadState.RUNNING else 201)


@vmi_stock.route("/uploads/<uuid:upload_id>")
class UploadItem(MethodView):
    @vmi_stock.response(200, schemas.UploadDetailSchema)
    def get(self, upload_id: uuid.UUID):
        """An upload's progress and its report of rejected rows."""
        return stock_uploads.get(db.session(), current_principal(), upload_id)
