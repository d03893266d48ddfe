"""Portal pages for engagements: the grantor's admins grant one to an auditor partner, see
each one's read log and revoke it; the auditor sees the engagements it received and opens
one, after which the orders, shipments, products and provenance pages (events, the trace of
a lot) show the grantor's records the engagement covers (read-only) until it leaves it.

The pages translate forms to service calls; what may happen is decided in
`concord.engagements.service`."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as cookie

from concord import clock, db
from concord.auth.web import login_required
from concord.engagements import schemas, service
from concord.engagements.models import Engagement, EngagementRead, EngagementState, Kind
from concord.engagements.web import COOKIE_KEY
from concord.errors import NotFound
from concord.pagination import paginate
from concord.portal import attempt_with_status, form_data, load, principal
from concord.tenancy import service as tenancy
from concord.tenancy.models import Capability, PartnershipStatus, Relation, Role, User

engagements_portal = Blueprint("engagements_portal", __name__)

PAGE_SIZE = 25
#: Where an opened engagement leads, by the kind it covers (the pages that read under it),
#: and the button that opens it there.
OPENS = {
    Kind.ORDERS: ("orders_portal.index", "Open orders, with their shipments, receipt and timeline"),
    Kind.LOTS: ("provenance_portal.trace_page", "Trace a lot"),
    Kind.PRODUCTS: ("catalog_portal.products", "Open products"),
    Kind.EVENTS: ("provenance_portal.events", "Open EPCIS events"),
}
KIND_LABELS = {
    Kind.ORDERS: "Orders, with their shipments, receipt and timeline",
    Kind.LOTS: "Lots",
    Kind.PRODUCTS: "Products",
    Kind.DOCUMENTS: "Documents and certificates",
    Kind.EVENTS: "EPCIS events",
}


def _auditor_partners() -> list[tuple[str, str]]:
    """The active auditors the organization is the party of a party–auditor partnership with."""
    me = principal()
    query = tenancy.partnerships_query(me, status=PartnershipStatus.ACTIVE, relation=Relation.PARTY_AUDITOR)
    found = {p.org_b.id: p.org_b for p in db.session().execute(query).unique().scalars() if p.org_a_id == me.org.id and p.org_b.has(Capability.AUDITOR)}
    return sorted(((str(org.id), org.legal_name) for org in found.values()), key=lambda pair: pair[1].lower())


def _list_page(*, errors: dict | None = None, form=None, status: int = 200):
    me = principal()
    session = db.session()
    rows, next_cursor = paginate(
        session, service.engagements_query(me), [Engagement.granted_at, Engagement.id], limit=PAGE_SIZE, cursor=request.args.get("cursor") or None
    )
    return render_template(
        "engagements/list.html",
        granted=[e for e in rows if e.grantor_org_id == me.org.id],
        received=[e for e in rows if e.auditor_org_id == me.org.id],
        next_cursor=next_cursor,
        names=service.names(session, rows),
        auditors=_auditor_partners() if me.user.role == Role.ADMIN else [],
        kinds=[(kind.value, KIND_LABELS[kind]) for kind in Kind],
        today=clock.utcnow().date().isoformat(),
        errors=errors or {},
        form=form or {},
        current=me.engagement.engagement_id if me.engagement else None,
    ), status


def _valid_until(day: str) -> str:
    """A day of the form as the end of that day, UTC (what the API's valid_until takes)."""
    try:
        return f"{date.fromisoformat(day).isoformat()}T23:59:59+00:00"
    except ValueError:
        return day


@engagements_portal.route("/engagements", methods=["GET", "POST"])
@login_required
def index():
    if request.method == "GET":
        return _list_page()
    data = form_data("auditor_id", "period_from", "period_to", "valid_until", "note", lists=("kinds",))
    if "valid_until" in data:
        data["valid_until"] = _valid_until(data["valid_until"])
    loaded, errors = load(schemas.EngagementInputSchema(), data)
    status = 422
    if loaded:
        engagement, errors, status = attempt_with_status(service.grant, db.session(), principal(), loaded)
        if engagement:
            flash("Engagement granted: the auditor can read what it covers until it expires or you revoke it.", "success")
            return redirect(url_for("engagements_portal.detail", engagement_id=engagement.id), code=303)
    return _list_page(errors=errors, form=request.form, status=status)


@engagements_portal.route("/engagements/<uuid:engagement_id>")
@login_required
def detail(engagement_id: uuid.UUID):
    me = principal()
    session = db.session()
    engagement = service.get(session, me, engagement_id)
    reads, next_cursor = paginate(
        session,
        service.reads_query(session, me, engagement.id),
        [EngagementRead.read_at, EngagementRead.id],
        limit=PAGE_SIZE,
        cursor=request.args.get("cursor") or None,
    )
    readers = {u.id: u.full_name for u in session.execute(sa.select(User).where(User.id.in_({r.user_id for r in reads}))).scalars()}
    return render_template(
        "engagements/detail.html",
        engagement=engagement,
        names=service.names(session, [engagement]),
        allowed=service.allowed_actions(engagement, me),
        is_auditor=engagement.auditor_org_id == me.org.id,
        opens=[(kind.value, OPENS[kind][1]) for kind in OPENS if kind.value in engagement.kinds],
        kind_labels={kind.value: label for kind, label in KIND_LABELS.items()},
        reads=reads,
        readers=readers,
        next_cursor=next_cursor,
        current=me.engagement.engagement_id if me.engagement else None,
    )


@engagements_portal.route("/engagements/<uuid:engagement_id>/revoke", methods=["POST"])
@login_required
def revoke(engagement_id: uuid.UUID):
    engagement, _errors, _status = attempt_with_status(service.revoke, db.session(), principal(), engagement_id)
    if engagement:
        flash("Engagement revoked: the auditor reads nothing more under it.", "success")
    return redirect(url_for("engagements_portal.detail", engagement_id=engagement_id), code=303)


@engagements_portal.route("/engagements/<uuid:engagement_id>/open", methods=["POST"])
@login_required
def open_engagement(engagement_id: uuid.UUID):
    """Read the grantor's records under the engagement (its auditor), from the page of `kind`."""
    me = principal()
    engagement = service.get(db.session(), me, engagement_id)
    if engagement.auditor_org_id != me.org.id or engagement.state != EngagementState.GRANTED:
        flash("Only a running engagement your organization received can be opened.", "error")
        return redirect(url_for("engagements_portal.detail", engagement_id=engagement_id), code=303)
    kind = request.form.get("kind", "")
    target = OPENS.get(Kind(kind)) if kind in {k.value for k in OPENS} else None
    if target is None or kind not in engagement.kinds:
        raise NotFound("No such page under this engagement.")
    cookie[COOKIE_KEY] = str(engagement.id)
    return redirect(url_for(target[0]), code=303)


@engagements_portal.route("/engagements/leave", methods=["POST"])
@login_required
def leave():
    cookie.pop(COOKIE_KEY, None)
    flash("You read as your own organization again.", "info")
    return redirect(url_for("engagements_portal.index"), code=303)
