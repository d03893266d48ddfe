"""The buyer's stock-data pages: upload a CSV of stock records, watch it being read, and
read each upload's row-by-row report. What may happen is decided in concord.vmi.stock and
concord.vmi.stock_uploads."""

from __future__ import annotations

import uuid

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from concord import db
from concord.auth.web import login_required
from concord.pagination import paginate
from concord.portal import attempt_with_status, principal
from concord.tenancy.models import Capability
from concord.vmi import stock_uploads
from concord.vmi.models import VmiUpload

vmi_stock_portal = Blueprint("vmi_stock_portal", __name__)


@vmi_stock_portal.route("/vmi/uploads", methods=["GET", "POST"])
@login_required
def uploads() -> ResponseReturnValue:
    me, session = principal(), db.session()
    errors: dict = {}
    status = 200
    if request.method == "POST":
        given = request.files.get("file")
        if given is None or not given.filename:
            errors, status = {"file": ["Choose a CSV file to upload."]}, 422
        else:
            upload, errors, status = attempt_with_status(
                stock_uploads.start,
                session,
                me,
                given.filename,
                given.stream.read(current_app.config["VMI_UPLOAD_MAX_BYTES"] + 1),
                max_bytes=current_app.config["VMI_UPLOAD_MAX_BYTES"],
                max_rows=current_app.config["VMI_UPLOAD_MAX_ROWS"],
            )
            if upload is not None:
                return redirect(url_for("vmi_stock_portal.upload", upload_id=upload.id), code=303)
    rows, next_cursor = paginate(
        session, stock_uploads.uploads_query(me), [VmiUpload.created_at, VmiUpload.id], limit=25, cursor=request.args.get("cursor") or None
    )
    return (
        render_template(
            "vmi/uploads.html",
            uploads=rows,
            next_cursor=next_cursor,
            is_buyer=me.org.has(Capability.BUYER),
            can_write=me.user.role in ("admin", "member"),
            max_megabytes=current_app.config["VMI_UPLOAD_MAX_BYTES"] // (1024 * 1024),
            max_rows=current_app.config["VMI_UPLOAD_MAX_ROWS"],
            progress=stock_uploads.progress,
            errors=errors,
        ),
        status,
    )


@vmi_stock_portal.route("/vmi/uploads/<uuid:upload_id>")
@login_required
def upload(upload_id: uuid.UUID) -> ResponseReturnValue:
    found = stock_uploads.get(db.session(), principal(), upload_id)
    return render_template("vmi/upload.html", upload=found, progress=stock_uploads.progress(found), report_limit=stock_uploads.REPORT_LIMIT)
