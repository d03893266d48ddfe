"""The engagement an auditor reads under, per request, and the read log's entry for it.

A request that only reads (GET, HEAD) names the engagement: the API in the
`Concord-Engagement` header, the portal through the engagement its user opened (kept in the
session cookie). Any other request reads and writes as the organization itself, so nothing an
engagement shows can be changed through it. A request answered under an engagement whose
records it read leaves one entry in the engagement's read log.
"""

from __future__ import annotations

import uuid

from flask import Flask, g, request
from flask import session as cookie

from concord import db
from concord.engagements import service

HEADER = "Concord-Engagement"
COOKIE_KEY = "engagement"
READING = ("GET", "HEAD")


def _named_engagement() -> uuid.UUID | None:
    raw = request.headers.get(HEADER) if request.path.startswith("/api/") else cookie.get(COOKIE_KEY)
    try:
        return uuid.UUID(str(raw)) if raw else None
    except ValueError:
        return None


def enter_engagement() -> None:
    """Let the principal of a reading request read under the engagement it names, if that
    engagement is its organization's and runs now (else it reads as a stranger would)."""
    principal = g.get("principal")
    if principal is None or request.method not in READING:
        return
    engagement_id = _named_engagement()
    if engagement_id is None:
        return
    principal.engagement = service.read_grant(db.session(), principal, engagement_id)
    if principal.engagement is None and not request.path.startswith("/api/"):
        cookie.pop(COOKIE_KEY, None)  # revoked or expired since it was opened


def log_read(response):
    principal = g.get("principal")
    if principal is not None and principal.engagement is not None and response.status_code < 400:
        ids = [str(value) for name, value in (request.view_args or {}).items() if name.endswith("_id")]
        service.record_read(
            db.session(),
            principal,
            via="api" if request.path.startswith("/api/") else "portal",
            endpoint=request.endpoint or "",
            request=request.full_path.rstrip("?"),
            object_id=ids[-1] if ids else None,
        )
    return response


def register(app: Flask) -> None:
    """After auth.web.register (which resolves the principal)."""
    app.before_request(enter_engagement)
    app.after_request(log_read)
