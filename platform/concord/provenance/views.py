"""Portal pages for provenance: the EPCIS events an organization may see, its production
(TransformationEvents) and packing (AggregationEvents) forms, and the trace of a lot by
GTIN and lot number, drawn as a graph with its recall list.

The pages translate forms to service calls (`concord.provenance.production`,
`concord.provenance.trace`); refusals are shown on the page with the form kept."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from concord import clock, db
from concord.auth.web import login_required
from concord.portal import UTC_OFFSETS, attempt_with_status, form_moment, form_rows, principal, row_errors
from concord.provenance import graph, production
from concord.provenance import trace as tracing
from concord.provenance.steps import organization_of
from concord.tenancy.service import legal_names

provenance_portal = Blueprint("provenance_portal", __name__)
FORM_ROWS = 4
_GOODS = ("product_id", "lot", "quantity")


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
