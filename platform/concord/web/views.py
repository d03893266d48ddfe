"""Portal shell: the landing redirect and the dashboard of each capability."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, url_for

from concord import db
from concord.auth.web import login_required
from concord.disputes import service as disputes
from concord.engagements import service as engagements
from concord.engagements.models import Engagement, EngagementState
from concord.finance import workspace_views as finance_workspace
from concord.ledger import service as ledger
from concord.logistics import service as logistics
from concord.orders import service as orders
from concord.portal import label, measure, money_text, plain, principal
from concord.tenancy import service as tenancy

web = Blueprint("web", __name__)
web.add_app_template_filter(plain, "plain")
web.add_app_template_filter(money_text, "amount")
web.add_app_template_filter(measure, "measure")
web.add_app_template_filter(label, "label")

# What each capability's dashboard shows; a panel with nothing in it says what will appear.
CAPABILITY_PANELS = {
    "buyer": [
        ("Purchase orders", "Orders you issue to your suppliers, with their acknowledgements and revisions, will appear here."),
        ("Deliveries to confirm", "Shipments that arrived and wait for your goods receipt will appear here."),
        ("Escrow", "Payments locked for your orders, and when they are released, will appear here."),
    ],
    "supplier": [
        ("Order inbox", "Purchase orders your buyers send you, to acknowledge or answer with a change, will appear here."),
        ("Shipments", "Advance shipping notices you create for your orders will appear here."),
        ("Receivables", "Invoices registered on the ledger, and who finances them, will appear here."),
    ],
    "carrier": [
        ("Assigned shipments", "Shipments your shipper partners assign to you will appear here, with their milestones."),
        ("Delivered", "Shipments you delivered, with their proof of delivery, will appear here."),
    ],
    "financier": [
        ("Receivables offered", "Receivables your supplier partners offer for financing, with their delivery evidence, will appear here."),
        ("Portfolio", "Receivables assigned to you and their settlement will appear here."),
    ],
    "auditor": [
        ("Engagements", "No organization has granted yours an engagement yet: a party grants one from its Engagements page."),
        ("Provenance", "Traces and ledger proofs of the parties that grant you access will appear here."),
        ("Evidence requests", "Documents the parties share with you for verification will appear here."),
    ],
}


@web.route("/")
def index():
    return redirect(url_for("web.dashboard") if g.get("principal") else url_for("auth_portal.login"))


@web.route("/dashboard")
@login_required
def dashboard():
    me = principal()
    session = db.session()
    counts = tenancy.counts(session, me)
    panels = [(cap, CAPABILITY_PANELS[cap]) for cap in me.org.capabilities if cap in CAPABILITY_PANELS]
    chain_id = ledger.current_chain_id(session)
    balances = [] if me.is_operator else ledger.balances(session, me.org.id, chain_id)
    return render_template(
        "dashboard.html",
        counts=counts,
        panels=panels,
        orders=orders.counts_by_side(session, me),
        balances=balances,
        shipments=_shipment_counts(session, me),
        engagements=_running_engagements(session, me) if me.org.has("auditor") else [],
        finance=finance_workspace.dashboard_figures(session, me),
    )


def _running_engagements(session, me) -> list[tuple[Any, str]]:
    """The engagements the auditor reads under now, with their grantors' names."""
    query = engagements.engagements_query(me, side="received", state=EngagementState.GRANTED).order_by(Engagement.granted_at.desc()).limit(10)
    rows = list(session.execute(query).scalars())
    names = engagements.names(session, rows)
    return [(row, names.get(row.grantor_org_id, "")) for row in rows]


def _shipment_counts(session, me) -> dict[str, int]:
    """The shipments the organization carries, by state, and the disputes it arbitrates."""
    out = logistics.carried_by_state(session, me) if me.org.has("carrier") else {}
    if me.is_operator:
        out["open_disputes"] = disputes.open_to_arbitrate(session, me)
    return out
