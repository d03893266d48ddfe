"""Portal pages for organization admins (users, invitations, partnerships) and for the
operator (admitting and suspending members)."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from concord import db, links, policy
from concord.auth.web import login_required
from concord.errors import Forbidden
from concord.pagination import paginate
from concord.portal import attempt, form_data, load, principal
from concord.tenancy import schemas, service
from concord.tenancy import users as members
from concord.tenancy.models import Invitation, Organization, OrgStatus, Partnership, Relation, Role, User

admin = Blueprint("admin", __name__)


def _page(query, keys):
    return paginate(db.session(), query, keys, limit=25, cursor=request.args.get("cursor") or None)


@admin.route("/organization/users", methods=["GET", "POST"])
@login_required
def users() -> ResponseReturnValue:
    me = principal()
    errors: dict = {}
    invite_link = None
    status = 200
    if request.method == "POST":
        loaded, errors = load(schemas.InvitationInputSchema(), form_data("email", "role"))
        if loaded:
            links.public_base()  # refuse before writing when no link can be made
            result, errors = attempt(members.invite_user, db.session(), me, email=loaded["email"], role=loaded["role"])
            if result:
                invitation, raw = result
                invite_link = links.public_url("auth_portal.accept_invitation", token=raw)
                flash(f"Invitation created for {invitation.email}. Send them the link below; it is shown only once.", "success")
        if errors:
            status = 422
    rows, next_cursor = _page(members.users_query(me), [User.created_at, User.id])
    invitations = db.session().execute(members.invitations_query(me).order_by(Invitation.created_at.desc()).limit(50)).scalars().all()
    return render_template(
        "users.html",
        users=rows,
        next_cursor=next_cursor,
        invitations=invitations,
        roles=list(Role),
        errors=errors,
        invite_link=invite_link,
        form=request.form if errors else {},
    ), status


@admin.route("/organization/users/<uuid:user_id>/role", methods=["POST"])
@login_required
def change_role(user_id: uuid.UUID) -> ResponseReturnValue:
    loaded, errors = load(schemas.UserUpdateSchema(), form_data("role"))
    if not loaded:
        flash("Choose a valid role.", "error")
    else:
        user, _ = attempt(members.change_role, db.session(), principal(), user_id, loaded["role"])
        if user:
            flash(f"{user.full_name} is now {user.role}.", "success")
    return redirect(url_for("admin.users"))


@admin.route("/organization/users/<uuid:user_id>/<any(disable, enable):action>", methods=["POST"])
@login_required
def set_user_status(user_id: uuid.UUID, action: str) -> ResponseReturnValue:
    user, _ = attempt(members.set_user_status, db.session(), principal(), user_id, action)
    if user:
        flash(f"{user.full_name} is now {user.status}.", "success")
    return redirect(url_for("admin.users"))


@admin.route("/organization/invitations/<uuid:invitation_id>/revoke", methods=["POST"])
@login_required
def revoke_invitation(invitation_id: uuid.UUID) -> ResponseReturnValue:
    invitation, _ = attempt(members.revoke_invitation, db.session(), principal(), invitation_id)
    if invitation:
        flash(f"Invitation for {invitation.email} revoked.", "success")
    return redirect(url_for("admin.users"))


@admin.route("/organization/partnerships", methods=["GET", "POST"])
@login_required
def partnerships() -> ResponseReturnValue:
    me = principal()
    errors: dict = {}
    status = 200
    if request.method == "POST":
        loaded, errors = load(schemas.PartnershipInputSchema(), form_data("relation", "counterparty_id", "my_side", "message", "arbiter_id"))
        if loaded:
            result, errors = attempt(service.request_partnership, db.session(), me, **loaded)
            if result:
                flash(f"Partnership request sent to {result.counterparty_of(me.org.id).legal_name}.", "success")
                return redirect(url_for("admin.partnerships"))
        status = 422
    rows, next_cursor = _page(service.partnerships_query(me), [Partnership.created_at, Partnership.id])
    members = [org for org in db.session().execute(service.directory_query().order_by(Organization.legal_name)).scalars() if org.id != me.org.id]
    return render_template(
        "partnerships.html",
        partnerships=rows,
        next_cursor=next_cursor,
        members=members,
        relations=list(Relation),
        allowed=lambda p: service.allowed_partnership_actions(p, me.org.id),
        errors=errors,
        form=request.form if errors else {},
    ), status


@admin.route("/organization/partnerships/<uuid:partnership_id>/<any(accept, decline, withdraw, end):action>", methods=["POST"])
@login_required
def partnership_action(partnership_id: uuid.UUID, action: str) -> ResponseReturnValue:
    partnership, _ = attempt(service.transition_partnership, db.session(), principal(), partnership_id, action)
    if partnership:
        flash(f"Partnership with {partnership.counterparty_of(principal().org.id).legal_name} is now {partnership.status}.", "success")
    return redirect(url_for("admin.partnerships"))


@admin.route("/operator/organizations")
@login_required
def organizations() -> ResponseReturnValue:
    me = principal()
    if not me.is_operator:
        abort(404)
    try:
        status = OrgStatus(request.args.get("status", "pending"))
    except ValueError:
        status = OrgStatus.PENDING
    rows, next_cursor = _page(service.list_organizations(db.session(), me, status=status), [Organization.created_at, Organization.id])
    return render_template(
        "organizations.html",
        organizations=rows,
        next_cursor=next_cursor,
        status=status,
        statuses=list(OrgStatus),
        allowed=service.allowed_org_actions,
        renames=service.pending_legal_names(db.session(), me),
    )


@admin.route("/operator/organizations/<uuid:org_id>/legal-name/<any(approve, reject):decision>", methods=["POST"])
@login_required
def legal_name_review(org_id: uuid.UUID, decision: str) -> ResponseReturnValue:
    reason = (request.form.get("reason") or "").strip()[:500] or None
    org, _ = attempt(service.review_legal_name, db.session(), principal(), org_id, decision, reason=reason)
    if org:
        flash(f"{org.legal_name}: new legal name {'approved' if decision == 'approve' else 'rejected'}.", "success")
    return redirect(url_for("admin.organizations"))


@admin.route("/operator/organizations/<uuid:org_id>/<any(approve, reject, suspend, reactivate):action>", methods=["POST"])
@login_required
def organization_action(org_id: uuid.UUID, action: str) -> ResponseReturnValue:
    me = principal()
    if not me.is_operator:
        # Members cannot act on other organizations; like any foreign object this is a 404.
        policy.get_visible(db.session(), Organization, org_id, me)
        raise Forbidden("Only the consortium operator may do this.")
    reason = (request.form.get("reason") or "").strip()[:500] or None
    org, _ = attempt(service.transition_organization, db.session(), me, org_id, action, reason=reason)
    if org:
        flash(f"{org.legal_name} is now {org.status}.", "success")
    return redirect(url_for("admin.organizations", status=request.form.get("return_status", "pending")))
