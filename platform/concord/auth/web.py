"""Resolving the caller of each request: bearer tokens for the API, session cookies
(with CSRF on every form) for the portal."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Flask, current_app, g, redirect, request, url_for
from flask import session as cookie

from concord import db
from concord.api_common import PUBLIC_MARKER
from concord.auth import service
from concord.errors import Forbidden, Unauthorized
from concord.policy import Principal, refusal_reason

API_PREFIX = "/api/v1/"
_OPEN_API_PATHS = {"/api/v1/openapi.json"}


def _is_public_endpoint() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return True  # 404/405 are answered by the router, not behind a login
    target = getattr(view, "view_class", view)
    return bool(getattr(target, PUBLIC_MARKER, False))


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate_api_request() -> None:
    if not request.path.startswith(API_PREFIX) or request.path in _OPEN_API_PATHS:
        return
    raw = _bearer_token()
    public = _is_public_endpoint()
    if raw is None:
        if public:
            return
        error = Unauthorized("Send a bearer token: Authorization: Bearer <token>.")
        raise error
    principal = service.resolve_token(db.session(), raw)
    reason = refusal_reason(principal.user, principal.org)
    if reason:
        raise Forbidden(reason)
    g.principal = principal


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise Unauthorized("Send a bearer token: Authorization: Bearer <token>.")
    return principal


def load_portal_principal() -> None:
    if request.path.startswith("/api/") or request.path.startswith("/static/"):
        return
    raw = cookie.get("sid")
    if not raw:
        return
    principal = service.resolve_session(db.session(), raw)
    if principal is None or refusal_reason(principal.user, principal.org):
        cookie.clear()
        return
    g.principal = principal


def login_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("principal") is None:
            return redirect(url_for("auth_portal.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


def begin_portal_session(user) -> None:
    """A new session id at every login; the old cookie (and its CSRF token) is dropped."""
    raw = service.start_session(db.session(), user, ip=request.remote_addr, user_agent=request.headers.get("User-Agent"))
    db.session().commit()
    cookie.clear()
    cookie["sid"] = raw
    cookie.permanent = False


def register(app: Flask) -> None:
    app.before_request(authenticate_api_request)
    app.before_request(load_portal_principal)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.path.startswith("/api/docs"):
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
            )
        if g.get("principal") is not None and not request.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
