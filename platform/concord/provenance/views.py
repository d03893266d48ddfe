"""Provenance in the portal: a product's GS1 Digital Link (its QR code as SVG, a lot's page with
its Digital Link, QR code and the events of the lot the organization sees, a printable
label), and how the organization shares its EPCIS events (admins change it)."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from concord import db, links, policy, qr
from concord.auth.web import login_required
from concord.catalog.models import Product
from concord.catalog.schemas import PUBLIC_VIEW_LABELS
from concord.errors import Conflict
from concord.portal import attempt_with_status, principal
from concord.provenance import digital_link, queries, sharing
from concord.provenance.digital_link import Link
from concord.provenance.models import EpcisEvent, Sharing

provenance_portal = Blueprint("provenance_portal", __name__)
LOT_EVENTS = 100  # the most recent events a lot's page lists
QR_SCALES = {"2": 2, "4": 4, "8": 8}  # pixels per module a QR code may be asked at (`?scale=`)


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
