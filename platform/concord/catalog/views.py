"""Portal pages for an organization's own catalog: products (SKU, unit, GTIN) and
locations (address, GLN). Viewers read; members and admins add and edit."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from concord import countries, db, links, policy, qr
from concord.auth.web import login_required
from concord.catalog import schemas, service
from concord.catalog.models import Location, Product
from concord.pagination import paginate
from concord.portal import attempt_with_status, form_data, load, principal
from concord.provenance import digital_link

catalog_portal = Blueprint("catalog_portal", __name__)
# Country select lists (locations here, the registration form) offer ISO 3166 countries.
catalog_portal.add_app_template_global(countries.options, "country_options")

PRODUCT_FIELDS = ("sku", "name", "description", "unit_of_measure", "gtin")
LOCATION_FIELDS = ("name", "address_line1", "address_line2", "postal_code", "city", "country", "gln")
# Optional fields a form may empty: a blank one means "remove it", not "leave it as it is".
_CLEARABLE = {"description", "gtin", "address_line2", "gln"}
UNIT_OPTIONS = [(code, f"{name} ({code})") for code, name in schemas.UNITS_OF_MEASURE.items()]


def _edit(schema, fields: tuple[str, ...]) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """An edit form through an update schema: a blank optional field removes the value, a
    blank required one is an error (not "unchanged"), `active` comes from its checkbox."""
    data = form_data(*fields)
    blank = {name: ["Must not be blank."] for name in fields if name not in _CLEARABLE and not request.form.get(name, "").strip()}
    for name in fields:
        if name in _CLEARABLE and name not in data:
            data[name] = None
        elif name in blank:
            data.pop(name, None)
    data["active"] = request.form.get("active") == "on"
    loaded, errors = load(schema, data)
    errors = {**errors, **blank}
    return (None if errors else loaded), errors


def _filters() -> dict[str, Any]:
    q = (request.args.get("q") or "").strip()[:100] or None
    return {"q": q, "active": None if request.args.get("retired") == "1" else True}


def _page(query, model):
    return paginate(db.session(), query, [model.created_at, model.id], limit=25, cursor=request.args.get("cursor") or None)


def _list_args() -> dict[str, str]:
    """The filters a pager link keeps."""
    return {key: request.args[key] for key in ("q", "retired") if request.args.get(key)}


@catalog_portal.route("/catalog/products", methods=["GET", "POST"])
@login_required
def products() -> ResponseReturnValue:
    me = principal()
    errors: dict = {}
    status = 200
    if request.method == "POST":
        loaded, errors = load(schemas.ProductInputSchema(), form_data(*PRODUCT_FIELDS))
        status = 422
        if loaded:
            product, errors, status = attempt_with_status(service.create_product, db.session(), me, loaded)
            if product:
                flash(f"Product {product.sku} “{product.name}” added.", "success")
                return redirect(url_for("catalog_portal.products"))
    rows, next_cursor = _page(service.products_query(me, **_filters()), Product)
    return render_template(
        "catalog/products.html",
        products=rows,
        next_cursor=next_cursor,
        units=schemas.UNITS_OF_MEASURE,
        unit_options=UNIT_OPTIONS,
        errors=errors,
        form=request.form if request.method == "POST" else {},
        list_args=_list_args(),
    ), status


def _digital_link(product: Product) -> str | None:
    """The product's GS1 Digital Link on the platform's public address, if it has a GTIN
    (and the address is configured: the page works without it)."""
    if not product.gtin:
        return None
    try:
        return links.public_base() + digital_link.Link(gtin=digital_link.normalise_gtin(product.gtin)).path
    except links.PublicUrlNotConfigured:
        return None


@catalog_portal.route("/catalog/products/<uuid:product_id>", methods=["GET", "POST"])
@login_required
def product(product_id: uuid.UUID) -> ResponseReturnValue:
    me = principal()
    item = policy.get_visible(db.session(), Product, product_id, me)
    errors: dict = {}
    status = 200
    if request.method == "POST":
        # The public view is the admins' to choose; their form has it, a member's has not.
        fields = PRODUCT_FIELDS + (("public_view",) if "public_view" in request.form else ())
        loaded, errors = _edit(schemas.ProductUpdateSchema(), fields)
        status = 422
        if loaded:
            updated, errors, status = attempt_with_status(service.update_product, db.session(), me, product_id, loaded)
            if updated:
                flash(f"Product {updated.sku} saved{'' if updated.active else ' (retired: new orders cannot use it)'}.", "success")
                return redirect(url_for("catalog_portal.products"))
    form = (
        request.form
        if request.method == "POST"
        else {
            **{name: getattr(item, name) or "" for name in PRODUCT_FIELDS},
            "active": "on" if item.active else "",
            "public_view": str(item.public_view),
        }
    )
    uri = _digital_link(item)
    return render_template(
        "catalog/product_edit.html",
        product=item,
        units=schemas.UNITS_OF_MEASURE,
        unit_options=UNIT_OPTIONS,
        errors=errors,
        form=form,
        public_view_options=[(str(view), text) for view, text in schemas.PUBLIC_VIEW_LABELS.items()],
        public_view=schemas.PUBLIC_VIEW_LABELS[item.public_view],
        digital_link=uri,
        qr_code=qr.inline(uri, title=uri) if uri else None,
    ), status


@catalog_portal.route("/catalog/locations", methods=["GET", "POST"])
@login_required
def locations() -> ResponseReturnValue:
    me = principal()
    errors: dict = {}
    status = 200
    if request.method == "POST":
        loaded, errors = load(schemas.LocationInputSchema(), form_data(*LOCATION_FIELDS))
        status = 422
        if loaded:
            location, errors, status = attempt_with_status(service.create_location, db.session(), me, loaded)
            if location:
                flash(f"Location “{location.name}” added.", "success")
                return redirect(url_for("catalog_portal.locations"))
    rows, next_cursor = _page(service.locations_query(me, **_filters()), Location)
    return render_template(
        "catalog/locations.html",
        locations=rows,
        next_cursor=next_cursor,
        errors=errors,
        form=request.form if request.method == "POST" else {},
        list_args=_list_args(),
    ), status


@catalog_portal.route("/catalog/locations/<uuid:location_id>", methods=["GET", "POST"])
@login_required
def location(location_id: uuid.UUID) -> ResponseReturnValue:
    me = principal()
    item = policy.get_visible(db.session(), Location, location_id, me)
    errors: dict = {}
    status = 200
    if request.method == "POST":
        loaded, errors = _edit(schemas.LocationUpdateSchema(), LOCATION_FIELDS)
        status = 422
        if loaded:
            updated, errors, status = attempt_with_status(service.update_location, db.session(), me, location_id, loaded)
            if updated:
                flash(f"Location “{updated.name}” saved{'' if updated.active else ' (retired: new orders cannot ship to it)'}.", "success")
                return redirect(url_for("catalog_portal.locations"))
    form = (
        request.form
        if request.method == "POST"
        else {
            **{name: getattr(item, name) or "" for name in LOCATION_FIELDS},
            "active": "on" if item.active else "",
        }
    )
    return render_template("catalog/location_edit.html", location=item, errors=errors, form=form), status
