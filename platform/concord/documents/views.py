"""The documents pages: an organization's certificates and reports with their expiry, the
upload form, and each document's page with its verification against the chain. What may
happen is decided in `concord.documents.service`."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from concord import clock, db, files
from concord.auth.web import login_required
from concord.catalog import service as catalog
from concord.catalog.models import Product
from concord.documents import proofs, schemas, service
from concord.documents.models import Document
from concord.documents.service import current_chain
from concord.pagination import paginate
from concord.portal import attempt_with_status, form_data, load, principal

documents_portal = Blueprint("documents_portal", __name__)
FIELDS = ("kind", "title", "issuer", "document_number", "valid_from", "valid_until", "subject_type", "product_id", "gtin", "lot")
KIND_OPTIONS = [(str(kind), name) for kind, name in service.KIND_NAMES.items()]
SUBJECT_OPTIONS = [("organization", "Your organization"), ("product", "One of your products"), ("lot", "A lot (GTIN + lot number)")]


def _filters() -> dict[str, Any]:
    kind = request.args.get("kind") or None
    return {
        "kind": kind if kind in schemas.KINDS else None,
        "expiring_within": current_app.config["DOCUMENT_REMINDER_DAYS"] if request.args.get("expiring") == "1" else None,
    }


@documents_portal.route("/documents", methods=["GET", "POST"])
@login_required
def index() -> ResponseReturnValue:
    me, session = principal(), db.session()
    errors: dict = {}
    status = 200
    form: dict[str, Any] = {}
    if request.method == "POST":
        form = form_data(*FIELDS)
        given = {**form, **({"file": request.files["file"]} if request.files.get("file") else {})}
        loaded, errors = load(schemas.DocumentInputSchema(), given, also=lambda readable: service.subject_mistakes(session, me, readable))
        status = 422
        if loaded:
            document, errors, status = attempt_with_status(service.upload, session, me, loaded, loaded["file"])
            if document:
                flash(f"{document.title} uploaded: its SHA-256 is being anchored on chain.", "success")
                return redirect(url_for("documents_portal.detail", document_id=document.id))
    rows, next_cursor = paginate(
        session, service.documents_query(me, **_filters()), [Document.created_at, Document.id], limit=25, cursor=request.args.get("cursor") or None
    )
    products = session.execute(catalog.products_query(me, q=None, active=True).order_by(Product.sku)).scalars()
    return (
        render_template(
            "documents/list.html",
            documents=rows,
            next_cursor=next_cursor,
            list_args={key: request.args[key] for key in ("kind", "expiring") if request.args.get(key)},
            statuses={row.id: _status(row) for row in rows},
            kind_names=dict(KIND_OPTIONS),
            kind_options=KIND_OPTIONS,
            subject_options=SUBJECT_OPTIONS,
            product_options=[(str(p.id), f"{p.sku} — {p.name}") for p in products],
            accepted_types=service.ACCEPTED_TEXT,
            max_megabytes=current_app.config["EVIDENCE_MAX_BYTES"] // (1024 * 1024),
            reminder_days=current_app.config["DOCUMENT_REMINDER_DAYS"],
            errors=errors,
            form=form,
        ),
        status,
    )


def _status(document: Document) -> str:
    return service.status(document, clock.utcnow().date(), current_app.config["DOCUMENT_REMINDER_DAYS"])


@documents_portal.route("/documents/<uuid:document_id>")
@login_required
def detail(document_id: uuid.UUID) -> ResponseReturnValue:
    session = db.session()
    document, stored = service.content(session, principal(), document_id)
    verification = None
    if request.args.get("verify") == "1":
        verification = service.verify(session, principal(), document.id, current_chain())
    product = session.get(Product, document.product_id) if document.product_id else None
    return render_template(
        "documents/detail.html",
        document=document,
        stored=stored,
        status=_status(document),
        kind_name=service.KIND_NAMES.get(document.kind, document.kind),  # type: ignore[call-overload]
        product=product,
        anchor=service.anchoring(session, document.id),
        verification=verification,
    )


@documents_portal.route("/documents/<uuid:document_id>/content")
@login_required
def content(document_id: uuid.UUID) -> ResponseReturnValue:
    session = db.session()
    document, stored = service.content(session, principal(), document_id)
    return files.download(session, stored, document.file_name)


@documents_portal.route("/documents/<uuid:document_id>/proof.json")
@login_required
def bundle(document_id: uuid.UUID) -> ResponseReturnValue:
    """The document's proof bundle to download, for `concord-verify` (409 until anchored)."""
    platform = current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")
    try:
        found = proofs.bundle(db.session(), principal(), document_id, platform)
    except proofs.NotAnchoredYet as pending:
        problem = {"title": pending.title, "status": 409, "detail": pending.detail}
        return Response(json.dumps(problem), status=409, mimetype="application/problem+json")
    headers = {"Content-Disposition": f'attachment; filename="proof-document-{document_id}.json"'}
    return Response(json.dumps(found, indent=2), mimetype="application/json", headers=headers)
