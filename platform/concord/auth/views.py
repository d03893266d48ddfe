"""Portal pages for signing in and out, registering, joining by invitation, and one's account."""

from __future__ import annotations

import uuid
from urllib.parse import urlparse

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask import session as cookie
from flask.typing import ResponseReturnValue

from concord import clock, db, policy
from concord.auth import schemas as auth_schemas
from concord.auth import service
from concord.auth.models import ApiToken
from concord.auth.web import begin_portal_session, login_required
from concord.errors import DomainError, TooManyRequests
from concord.portal import attempt, form_data, load, principal
from concord.tenancy import schemas as tenancy_schemas
from concord.tenancy import service as tenancy
from concord.tenancy import users
from concord.tenancy.models import Capability

auth_portal = Blueprint("auth_portal", __name__)


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect a fresh login to another site."""
    if target and target.startswith("/") and not target.startswith("//") and not urlparse(target).netloc:
        return target
    return url_for("web.dashboard")


@auth_portal.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if g.get("principal") is not None and request.method == "GET":
        return redirect(url_for("web.dashboard"))
    errors: dict = {}
    email = request.form.get("email", "")
    status = 200
    headers: dict[str, str] = {}
    if request.method == "POST":
        password = request.form.get("password", "")
        if not email.strip() or not password:
            errors = {"email": ["Enter your email."]} if not email.strip() else {}
            if not password:
                errors["password"] = ["Enter your password."]
            status = 422
        else:
            try:
                user = service.authenticate(db.session(), email, password, channel="portal", source=request.remote_addr or "unknown")
            except TooManyRequests as error:
                flash(f"{error.detail} (about {error.retry_after} seconds)", "error")
                status = 429
                headers["Retry-After"] = str(error.retry_after)
            except DomainError as error:
                flash(error.detail, "error")
                status = error.status
            else:
                begin_portal_session(user)
                return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", email=email, errors=errors), status, headers


@auth_portal.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    if g.get("principal") is not None:
        service.end_session(db.session(), g.principal)
    cookie.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth_portal.login"))


REGISTRATION_FIELDS = ("legal_name", "registration_number", "country", "contact_name", "contact_email")


@auth_portal.route("/register", methods=["GET", "POST"])
def register() -> ResponseReturnValue:
    errors: dict = {}
    values: dict[str, str | list[str]] = {key: request.form.get(key, "") for key in REGISTRATION_FIELDS + ("full_name", "email")}
    values["capabilities"] = request.form.getlist("capabilities")
    if request.method == "POST":
        data = {
            "organization": form_data(*REGISTRATION_FIELDS, lists=("capabilities",)),
            "admin": form_data("full_name", "email", "password"),
        }
        loaded, errors = load(tenancy_schemas.RegistrationInputSchema(), data)
        if loaded:
            result, errors = attempt(tenancy.register_organization, db.session(), organization=loaded["organization"], admin=loaded["admin"])
            if result:
                flash("Registration received. The consortium operator will review it; you can sign in once it is approved.", "success")
                return redirect(url_for("auth_portal.login"))
        return render_template("register.html", values=values, errors=errors, capabilities=list(Capability)), 422
    return render_template("register.html", values=values, errors=errors, capabilities=list(Capability))


@auth_portal.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> ResponseReturnValue:
    invitation = users.find_invitation(db.session(), token)
    errors: dict = {}
    if request.method == "POST":
        loaded, errors = load(tenancy_schemas.InvitationAcceptSchema(), {"token": token, **form_data("full_name", "password")})
        if loaded:
            user, errors = attempt(users.accept_invitation, db.session(), token=token, full_name=loaded["full_name"], password=loaded["password"])
            if user:
                flash("Welcome to Concord. Sign in with your new password.", "success")
                return redirect(url_for("auth_portal.login"))
        return render_template("accept_invitation.html", invitation=invitation, errors=errors, full_name=request.form.get("full_name", "")), 422
    return render_template("accept_invitation.html", invitation=invitation, errors=errors, full_name="")


@auth_portal.route("/account", methods=["GET", "POST"])
@login_required
def account() -> ResponseReturnValue:
    errors: dict = {}
    status = 200
    if request.method == "POST":
        loaded, errors = load(auth_schemas.PasswordChangeSchema(), form_data("current_password", "new_password"))
        if loaded:
            _, errors = attempt(service.change_password, db.session(), principal(), **loaded)
            if not errors:
                flash("Password changed. Your other sessions were signed out.", "success")
                return redirect(url_for("auth_portal.account"))
        status = 422
    return render_template("account.html", errors=errors), status


@auth_portal.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens() -> ResponseReturnValue:
    errors: dict = {}
    created = None
    status = 200
    if request.method == "POST":
        loaded, errors = load(auth_schemas.TokenInputSchema(), form_data("name", "expires_in_days"))
        if loaded:
            result, errors = attempt(service.create_token, db.session(), principal(), **loaded)
            if result:
                created = result[1]
        if errors:
            status = 422
    rows = db.session().execute(service.tokens_query(principal()).order_by(ApiToken.created_at.desc())).unique().scalars().all()
    return render_template("tokens.html", tokens=rows, created=created, errors=errors, now=clock.utcnow()), status


@auth_portal.route("/account/tokens/<uuid:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: uuid.UUID) -> ResponseReturnValue:
    token = policy.get_visible(db.session(), ApiToken, token_id, principal(), for_update=True)
    service.revoke_token(db.session(), principal(), token)
    flash(f"Token “{token.name}” revoked.", "success")
    return redirect(url_for("auth_portal.tokens"))
