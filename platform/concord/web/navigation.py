"""A portal address that only takes a form's POST, opened with GET (a refresh after a form
error, a bookmarked or retyped address), leads to the page that holds the form instead of
answering 405."""

from __future__ import annotations

from flask import Flask, redirect, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Response

from concord import errors


def page_holding(path: str, app: Flask) -> str | None:
    """The nearest address above `path` that a GET can open."""
    adapter = app.url_map.bind("")
    parts = path.rstrip("/").split("/")
    while len(parts) > 1:
        parts.pop()
        candidate = "/".join(parts) or "/"
        try:
            adapter.match(candidate, method="GET")
        except (NotFound, MethodNotAllowed):
            continue
        except HTTPException:  # a redirect rule (trailing slash) still names a page
            return candidate
        return candidate
    return None


def register(app: Flask) -> None:
    @app.errorhandler(MethodNotAllowed)
    def _to_the_form(error: MethodNotAllowed) -> Response | tuple:
        if request.method in ("GET", "HEAD") and not request.path.startswith("/api/"):
            target = page_holding(request.path, app)
            if target is not None:
                return redirect(target, code=303)
        return errors.handle_http_exception(error)
