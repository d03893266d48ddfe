"""Portal shell: the landing redirect and the dashboard of each capability."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, g, redirect, render_template, url_for

from concord import db, policy
from concord.auth.web import login_required
from concord.portal import principal
from concord.tenancy.models import Invitation, Organization, OrgStatus, Partnership, PartnershipStatus, User

web = Blueprint("web", __name__)

# What each capability's dashboard will show once the features behind it exist; until then
# the empty state says so.
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
        ("Proof of delivery", "Deliveries waiting for your proof of delivery will appear here."),
    ],
    "financier": [
        ("Receivables offered", "Receivables your supplier partners offer for financing, with their delivery evidence, will appear here."),
        ("Portfolio", "Receivables assigned to you and their settlement will appear here."),
    ],
    "auditor": [
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
    counts = {
        "users": session.execute(sa.select(sa.func.count()).select_from(User).where(policy.visible(me, User))).scalar_one(),
        "partners": session.execute(
            sa.select(sa.func.count()).select_from(Partnership).where(policy.visible(me, Partnership), Partnership.status == PartnershipStatus.ACTIVE)
        ).scalar_one(),
        "partnership_requests": session.execute(
            sa.select(sa.func.count()).select_from(Partnership).where(
                policy.visible(me, Partnership), Partnership.status == PartnershipStatus.REQUESTED, Partnership.requested_by_org_id != me.org.id
            )
        ).scalar_one(),
        "pending_invitations": sum(
            1 for inv in session.execute(sa.select(Invitation).where(policy.visible(me, Invitation))).scalars() if inv.state == "pending"
        ),
    }
    if me.is_operator:
        counts["pending_organizations"] = session.execute(
            sa.select(sa.func.count()).select_from(Organization).where(Organization.status == OrgStatus.PENDING)
        ).scalar_one()
    panels = [(cap, CAPABILITY_PANELS[cap]) for cap in me.org.capabilities if cap in CAPABILITY_PANELS]
    return render_template("dashboard.html", counts=counts, panels=panels)
