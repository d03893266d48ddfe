"""Portal pages for provenance: the EPCIS events an organization may see, its production
(TransformationEvents) and packing (AggregationEvents) forms, the trace of a lot by GTIN and
lot number, drawn as a graph with its recall list; a product's GS1 Digital Link (its QR code
as SVG, a lot's page with its events, a printable label), and how the organization shares
its EPCIS events (admins change it); an event's page with "Verify" (each check
`concord-verify` makes of its proof bundle, against the platform's chain) and the bundle
to download.

The pages translate forms to service calls (`concord.provenance.production`,
`concord.provenance.trace`); refusals are shown on the page with the form kept."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from concord_verify.rpc import RpcUnavailable
from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from concord import clock, db, links, policy, qr
from concord.auth.web import login_required
from concord.catalog.models import Product
from concord.catalog.schemas import PUBLIC_VIEW_LABELS
from concord.errors import Conflict
from concord.ledger import runtime
from concord.ledger.chain import ChainUnavailable, EmbeddedChainBusy
from concord.portal import UTC_OFFSETS, attempt_with_status, form_moment, form_rows, principal, row_errors
from concord.provenance import batches, digital_link, graph, production, proofs, queries, service, sharing
from concord.provenance import trace as tracing
from concord.provenance.digital_link import Link
from concord.provenance.models import EpcisEvent, ProvenanceBatch, Sharing
from concord.provenance.steps import organization_of
from concord.tenancy.service import legal_names

provenance_portal = Blueprint("provenance_portal", __name__)
LOT_EVENTS = 100  # the most recent events a lot's page lists
QR_SCALES = {"2": 2, "4": 4, "8": 8}  # pixels per module a QR code may be asked at (`?scale=`)
FORM_ROWS = 4
_GOODS = ("product_id", "lot", "quantity")


@provenance_portal.app_template_global("event_page")
def event_page(event_id: str, suffix: str = "") -> str:
    """The address of an event's page (`suffix` "/proof.json": its proof bundle), the eventID
    quoted whole: it holds slashes, a semicolon and a question mark."""
    return f"{url_for('provenance_portal.events')}/{quote(event_id, safe='')}{suffix}"


def _row(values: dict[str, str]) -> dict[str, Any]:
    """A form row as the service reads it: what does not parse is passed on as text, and
    the service names it."""
    row: dict[str, Any] = dict(values)
    try:
        row["product_id"] = uuid.UUID(values.get("product_id", ""))
    except ValueError:
        pass
    try:
        row["quantity"] = Decimal(values.get("quantity", ""))
    except InvalidOperation:
        pass
    return row


def _common(data: dict[str, Any]) -> dict[str, list[str]]:
    """The time and place fields shared by both forms, read into `data`."""
    moment, errors = form_moment("occurred_at")
    if moment:
        try:
            data["occurred_at"] = datetime.fromisoformat(moment)
        except ValueError:
            errors["occurred_at"] = ["Not a date and time."]
    location = request.form.get("location_id", "").strip()
    if location:
        try:
            data["location_id"] = uuid.UUID(location)
        except ValueError:
            errors["location_id"] = ["Choose one of your locations with a GLN."]
    return errors


def _form_page(template: str, *, errors: dict | None = None, status: int = 200) -> ResponseReturnValue:
    me, session = principal(), db.session()
    return render_template(
        template,
        products=[(str(p.id), f"{p.sku} — {p.name} (GTIN {p.gtin})") for p in production.gtin_products(session, me)],
        locations=[(str(loc.id), f"{loc.name} (GLN {loc.gln})") for loc in production.gln_locations(session, me)],
        rows=range(FORM_ROWS),
        errors=errors or {},
        form=request.form if request.method == "POST" else {},
        utc_offsets=UTC_OFFSETS,
        now_local=clock.utcnow().strftime("%Y-%m-%dT%H:%M"),
        events=production.recent_events(session, me, kinds=("TransformationEvent",) if "production" in template else ("AggregationEvent",), limit=10),
        names=_owner_names(),
    ), status


def _owner_names() -> dict[uuid.UUID, str]:
    return legal_names(db.session(), [principal().org.id])


def _record(template: str, prefix: str, build, act, data: dict[str, Any], rows: list[int], errors: dict[str, list[str]], done: str) -> ResponseReturnValue:
    """Record the form's event, or show the form again with every mistake it has."""
    session, me = db.session(), principal()
    if errors:  # the form's own mistakes: the service's checks only add to them, nothing is written
        found, status = production.form_mistakes(session, me, build, data), 422
    else:
        event, found, status = attempt_with_status(act, session, me, data)
        if event is not None:
            flash(done, "success")
            return redirect(url_for("provenance_portal.events"))
    found = row_errors({key: list(value) for key, value in found.items()}, prefix, rows)
    return _form_page(template, errors={**found, **errors}, status=status)


@provenance_portal.route("/provenance/production", methods=["GET", "POST"])
@login_required
def production_page() -> ResponseReturnValue:
    if request.method == "GET":
        return _form_page("provenance/production.html")
    inputs = form_rows("inputs", _GOODS)
    output = dict(form_rows("output", _GOODS))
    data: dict[str, Any] = {"inputs": [_row(values) for _, values in inputs], "output": _row(output.get(0, {}))}
    errors = _common(data)
    done = "Production recorded as an EPCIS TransformationEvent."
    return _record("provenance/production.html", "inputs", production.production_event, production.produce, data, [r for r, _ in inputs], errors, done)


@provenance_portal.route("/provenance/packing", methods=["GET", "POST"])
@login_required
def packing_page() -> ResponseReturnValue:
    if request.method == "GET":
        return _form_page("provenance/packing.html")
    contents = form_rows("contents", _GOODS)
    data: dict[str, Any] = {"sscc": request.form.get("sscc", "").strip(), "contents": [_row(values) for _, values in contents]}
    errors = _common(data)
    done = f"Packing into SSCC {data['sscc']} recorded as an EPCIS AggregationEvent."
    return _record("provenance/packing.html", "contents", production.packing_event, production.pack, data, [r for r, _ in contents], errors, done)


@provenance_portal.route("/provenance/events")
@login_required
def events() -> ResponseReturnValue:
    session, me = db.session(), principal()
    rows = production.recent_events(session, me, limit=100)
    return render_template("provenance/events.html", events=rows, names=legal_names(session, {e.organization_id for e in rows}))


@provenance_portal.route("/provenance/trace")
@login_required
def trace_page() -> ResponseReturnValue:
    gtin, lot = request.args.get("gtin", ""), request.args.get("lot", "")
    if not gtin and not lot:
        return render_template("provenance/trace.html", found=None, errors={}, args={})
    found, errors, status = attempt_with_status(tracing.trace, db.session(), principal(), gtin, lot)
    body = tracing.as_json(found) if found is not None else None
    return render_template(
        "provenance/trace.html",
        found=body,
        drawing=graph.draw(body) if body else None,
        errors=errors,
        args={"gtin": gtin, "lot": lot},
        organization_of=organization_of,
    ), status


def _product(product_id: uuid.UUID) -> Product:
    return policy.get_visible(db.session(), Product, product_id, principal())


def _link(product: Product, lot: str | None = None, serial: str | None = None) -> Link:
    """The product's Digital Link, for a lot or serial when given (checked like the resolver does)."""
    if not product.gtin:
        raise Conflict("This product has no GTIN, so it has no GS1 Digital Link: give it one first.")
    path = digital_link.Link(gtin=digital_link.normalise_gtin(product.gtin), lot=lot, serial=serial).path
    return digital_link.parse(path)


def _qualifiers() -> tuple[str | None, str | None]:
    return request.args.get("lot") or None, request.args.get("serial") or None


@provenance_portal.route("/catalog/products/<uuid:product_id>/qr.svg")
@login_required
def qr_code(product_id: uuid.UUID) -> ResponseReturnValue:
    """The QR code of the product's Digital Link (`?lot=` or `?serial=` for a lot or an item)."""
    link = _link(_product(product_id), *_qualifiers())
    uri = link.uri(links.public_base())
    scale = QR_SCALES.get(request.args.get("scale", ""), 4)
    return Response(qr.svg(uri, scale=scale, title=uri), mimetype="image/svg+xml")


@provenance_portal.route("/catalog/products/<uuid:product_id>/label")
@login_required
def label(product_id: uuid.UUID) -> ResponseReturnValue:
    """A label to print: name, GTIN, lot or serial, the QR code and the Digital Link in text."""
    product = _product(product_id)
    link = _link(product, *_qualifiers())
    uri = link.uri(links.public_base())
    return render_template("catalog/label.html", product=product, link=link, uri=uri, qr_code=qr.inline(uri, scale=4, title=uri))


@provenance_portal.route("/catalog/products/<uuid:product_id>/lots")
@login_required
def find_lot(product_id: uuid.UUID) -> ResponseReturnValue:
    """The lot form of the product page: on to that lot's page (back to the product without one)."""
    product = _product(product_id)
    lot = (request.args.get("lot") or "").strip()
    if not lot:
        flash("Name a lot to open its page.", "error")
        return redirect(url_for("catalog_portal.product", product_id=product.id))
    link = _link(product, lot)
    return redirect(url_for("provenance_portal.lot", product_id=product.id, lot=link.lot))


@provenance_portal.route("/catalog/products/<uuid:product_id>/lots/<path:lot>")
@login_required
def lot(product_id: uuid.UUID, lot: str) -> ResponseReturnValue:
    me = principal()
    product = _product(product_id)
    link = _link(product, lot)
    uri = link.uri(links.public_base())
    query = queries.events_query(me, {"MATCH_anyEPCClass": [link.identifier]}, {})
    events = db.session().execute(query.order_by(EpcisEvent.event_time.desc(), EpcisEvent.id).limit(LOT_EVENTS)).scalars().all()
    return render_template(
        "catalog/lot.html",
        product=product,
        link=link,
        uri=uri,
        events=events,
        public_view=PUBLIC_VIEW_LABELS[product.public_view],
        qr_code=qr.inline(uri, title=uri),
    )


SHARING_CHOICES = [
    (Sharing.PRIVATE, "Private", "Only your organization sees the events it captures."),
    (Sharing.TRANSACTION, "The parties of the transaction", "The buyer, supplier and carrier of the orders and shipments an event names see it too."),
    (Sharing.LOT, "Every handler of the same lot", "Every organization that captured events about the same EPCs or lots sees it too."),
]


@provenance_portal.route("/organization/event-sharing", methods=["GET", "POST"])
@login_required
def event_sharing() -> ResponseReturnValue:
    """How the organization's captures are shared unless a capture says otherwise."""
    me = principal()
    status = 200
    if request.method == "POST":
        chosen = request.form.get("sharing", "")
        if chosen not in {str(level) for level in Sharing}:
            flash("Choose one of the sharing levels.", "error")
            status = 422
        else:
            _done, _errors, status = attempt_with_status(sharing.set_default, db.session(), me, Sharing(chosen))
            if status == 200:
                flash("Event sharing saved: it applies to the events you capture from now on.", "success")
                return redirect(url_for("provenance_portal.event_sharing"))
    current = sharing.default_for(db.session(), me.org.id)
    return render_template("event_sharing.html", choices=SHARING_CHOICES, current=current), status


def _bundle(event) -> tuple[dict | None, str | None]:
    """The event's proof bundle, or why there is none yet."""
    platform = current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")
    try:
        return proofs.event_bundle(db.session(), event, current_app.config, platform), None
    except proofs.NotAnchoredYet as pending:
        return None, pending.detail


@provenance_portal.route("/provenance/events/<path:event_id>")
@login_required
def event(event_id: str):
    session = db.session()
    row = service.get_event(session, principal(), event_id)
    bundle, pending = _bundle(row)
    checks, unreachable = [], None
    if bundle is not None:
        try:
            checks = proofs.verify(runtime.chain(current_app), bundle)
        except (ChainUnavailable, EmbeddedChainBusy, RpcUnavailable) as error:
            unreachable = f"The chain could not be read: {error}"
    batch = session.get(ProvenanceBatch, row.batch_id) if row.batch_id else None
    return render_template(
        "provenance/event.html",
        event=row,
        batch=batch,
        bundle=bundle,
        pending=pending,
        checks=checks,
        unreachable=unreachable,
        domain=batches.current_domain(session),
    )


@provenance_portal.route("/provenance/events/<path:event_id>/proof.json")
@login_required
def bundle(event_id: str):
    row = service.get_event(db.session(), principal(), event_id)
    found, pending = _bundle(row)
    if found is None:
        return Response(json.dumps({"title": "Not anchored yet", "status": 409, "detail": pending}), status=409, mimetype="application/problem+json")
    filename = f"proof-{row.hash_id.split(';', 1)[1][:16]}.json"
    return Response(json.dumps(found, indent=2), mimetype="application/json", headers={"Content-Disposition": f'attachment; filename="{filename}"'})
