"""API tokens, password login for machines, and the caller's own account."""

from __future__ import annotations

import uuid

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from concord import clock, db, policy
from concord.api_common import PageArgsSchema, page_of, page_response, public
from concord.auth import schemas, service
from concord.auth.models import ApiToken
from concord.auth.web import current_principal

auth = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Exchange a password for a bearer token.")
tokens = Blueprint("tokens", __name__, url_prefix="/api/v1/tokens", description="Your API tokens.")
me = Blueprint("me", __name__, url_prefix="/api/v1/me", description="The calling user.")
member_tokens = Blueprint("member_tokens", __name__, url_prefix="/api/v1/users", description="Your organization's users' API tokens (admins).")

BLUEPRINTS = [auth, tokens, me, member_tokens]


def token_view(token: ApiToken, raw: str | None = None) -> dict:
    view = {key: getattr(token, key) for key in ("id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")}
    view["state"] = token.state(clock.utcnow())
    if raw:
        view["token"] = raw
    return view


@auth.route("/token")
@public
class PasswordLogin(MethodView):
    @auth.arguments(schemas.PasswordLoginSchema)
    @auth.response(201, schemas.TokenSchema)
    def post(self, data):
        """Log in with email and password and receive a new bearer token (throttled like the portal login)."""
        session = db.session()
        user = service.authenticate(session, data["email"], data["password"], channel="api", source=request.remote_addr or "unknown")
        token, raw = service.issue_token_for_login(session, user, name=data["token_name"], expires_in_days=data["expires_in_days"])
        return token_view(token, raw)


@auth.route("/logout")
class TokenLogout(MethodView):
    @auth.response(204)
    def post(self):
        """Log out: the bearer token this request carries stops working."""
        service.log_out_token(db.session(), current_principal())


@tokens.route("")
class Tokens(MethodView):
    @tokens.arguments(PageArgsSchema, location="query")
    @tokens.response(200, page_of(schemas.TokenSchema))
    def get(self, args):
        return page_response(service.tokens_query(current_principal()), [ApiToken.created_at, ApiToken.id], args, transform=token_view)

    @tokens.arguments(schemas.TokenInputSchema)
    @tokens.response(201, schemas.TokenSchema)
    def post(self, data):
        """Create a token; its secret is in this response only."""
        token, raw = service.create_token(db.session(), current_principal(), name=data["name"], expires_in_days=data["expires_in_days"])
        return token_view(token, raw)


@tokens.route("/<uuid:token_id>")
class TokenItem(MethodView):
    @tokens.response(200, schemas.TokenSchema)
    def get(self, token_id: uuid.UUID):
        return token_view(policy.get_visible(db.session(), ApiToken, token_id, current_principal()))


@tokens.route("/<uuid:token_id>/revoke")
class TokenRevoke(MethodView):
    @tokens.response(200, schemas.TokenSchema)
    def post(self, token_id: uuid.UUID):
        principal = current_principal()
        token = policy.get_visible(db.session(), ApiToken, token_id, principal, for_update=True)
        return token_view(service.revoke_token(db.session(), principal, token))


@member_tokens.route("/<uuid:user_id>/tokens")
class MemberTokens(MethodView):
    @member_tokens.arguments(PageArgsSchema, location="query")
    @member_tokens.response(200, page_of(schemas.TokenSchema))
    def get(self, args, user_id: uuid.UUID):
        """The API tokens of a user of your organization (admins; never their secrets)."""
        query = service.member_tokens_query(db.session(), current_principal(), user_id)
        return page_response(query, [ApiToken.created_at, ApiToken.id], args, transform=token_view)


@member_tokens.route("/<uuid:user_id>/tokens/<uuid:token_id>/revoke")
class MemberTokenRevoke(MethodView):
    @member_tokens.response(200, schemas.TokenSchema)
    def post(self, user_id: uuid.UUID, token_id: uuid.UUID):
        """Revoke a token of a user of your organization (admins)."""
        return token_view(service.revoke_member_token(db.session(), current_principal(), user_id, token_id))


@me.route("")
class Me(MethodView):
    @me.response(200, schemas.MeSchema)
    def get(self):
        principal = current_principal()
        return {"user": principal.user, "organization": principal.org, "authenticated_via": principal.via}


@me.route("/password")
class MyPassword(MethodView):
    @me.arguments(schemas.PasswordChangeSchema)
    @me.response(204)
    def post(self, data):
        """Change your password; your other portal sessions end and your other API tokens are revoked."""
        service.change_password(db.session(), current_principal(), current_password=data["current_password"], new_password=data["new_password"])
