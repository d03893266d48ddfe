"""Links sent to people outside the request that made them (an invitation's accept link)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, url_for

from concord.errors import DomainError


class PublicUrlNotConfigured(DomainError):
    status = 503
    title = "Public address not configured"


def public_base() -> str:
    """The portal's public address (PUBLIC_BASE_URL, else Flask's SERVER_NAME): a request's
    Host header is the client's to choose, so it never decides where a link points. Call it
    before writing anything a link will be made for."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if not base and current_app.config.get("SERVER_NAME"):
        base = f"{current_app.config.get('PREFERRED_URL_SCHEME', 'http')}://{current_app.config['SERVER_NAME']}"
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PublicUrlNotConfigured("Set CONCORD_PUBLIC_URL to the portal's public address (for example https://concord.example.com).")
    return base


def public_url(endpoint: str, **values: Any) -> str:
    """`endpoint`'s URL on the public address."""
    return public_base() + url_for(endpoint, _external=False, **values)
