"""RFC 9457 problem+json for every error, API and validation alike.

Services raise the domain exceptions below; one handler turns each into a problem
document for the API or an error page for the portal. Unknown exceptions are logged and
answered with a generic 500 that leaks nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, g, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from concord import wiring

log = logging.getLogger(__name__)

PROBLEM_MIMETYPE = "application/problem+json"


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, errors: dict[str, Any] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra


class ValidationFailed(DomainError):
    status = 422
    title = "Validation failed"

    def __init__(self, errors: dict[str, Any], detail: str = "The request has invalid fields.") -> None:
        super().__init__(detail, errors=errors)


class Unauthorized(DomainError):
    status = 401
    title = "Authentication required"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    """The object does not exist, or the caller may not know it exists.

    `probe` describes an existing object that another organization tried to reach; the
    handler writes it to the audit trail after rolling the request back.
    """

    status = 404
    title = "Not found"

    def __init__(self, detail: str = "No such object.", *, probe: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.probe = probe


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class InvalidTransition(Conflict):
    title = "Invalid state transition"

    def __init__(self, subject: str, current_state: str, action: str, allowed_actions: list[str], why: str | None = None) -> None:
        super().__init__(
            f"Cannot {action.replace('_', ' ')} this {subject}: {why or f'it is {current_state}'.replace('_', ' ')}.",
            current_state=current_state,
            allowed_actions=sorted(allowed_actions),
        )


class TooManyRequests(DomainError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


def wants_problem_json() -> bool:
    return request.path.startswith("/api/")


def problem(status: int, title: str, detail: str | None = None, **extra: Any):
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = request.path
    body.update({k: v for k, v in extra.items() if v is not None})
    return current_app.response_class(current_app.json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE)


def _flatten_webargs_messages(messages: Any) -> dict[str, Any]:
    """webargs nests messages by location ({"json": {...}, "query": {...}}); clients want
    the fields. A body that is not an object becomes a `_schema` message."""
    if not isinstance(messages, dict):
        return {"_schema": messages}
    flat: dict[str, Any] = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            for name, msgs in fields.items():
                flat[name] = msgs
        else:
            flat[location] = fields
    return flat


def _rollback() -> None:
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def _portal_error(status: int, title: str, detail: str | None):
    return make_response(render_template("error.html", status=status, title=title, detail=detail), status)


def handle_domain_error(error: DomainError):
    _rollback()
    if isinstance(error, NotFound) and error.probe:
        for hook in wiring.current().on_denied_probe:  # the audit trail's (concord.bootstrap)
            hook(error.probe)
    if wants_problem_json():
        response = problem(error.status, error.title, error.detail, errors=error.errors, **error.extra)
    else:
        response = _portal_error(error.status, error.title, error.detail)
    if isinstance(error, TooManyRequests):
        response.headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, Unauthorized) and wants_problem_json():
        response.headers["WWW-Authenticate"] = 'Bearer realm="concord"'

    return response


def handle_http_exception(error: HTTPException):
    _rollback()
    status = error.code or 500
    title = error.name
    detail = error.description
    errors = None
    data = getattr(error, "data", None) or {}
    if status == 422 and "messages" in data:
        errors = _flatten_webargs_messages(data["messages"])
        title, detail = "Validation failed", "The request has invalid fields."
    elif status == 400 and "messages" in data:
        errors = _flatten_webargs_messages(data["messages"])
        detail = "The request body is not valid JSON." if "json" in errors else detail
    elif status == 404:
        detail = "No such resource."
    elif status == 413:
        detail = "The request body is larger than this API accepts."
    if wants_problem_json():
        response = problem(status, title, detail, errors=errors)
    else:
        response = _portal_error(status, title, detail)
    # Keep headers such as Allow (405) and WWW-Authenticate that the exception carries.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def handle_unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    log.exception("unhandled error on %s %s", request.method, request.path)
    _rollback()
    if not wants_problem_json():
        return _portal_error(500, "Internal error", "Something went wrong on our side; it has been logged.")
    return problem(500, "Internal error", "Something went wrong on our side; it has been logged.")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
