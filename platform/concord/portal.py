"""Helpers the portal views share: form validation through the API's own schemas, and
turning domain errors into messages on the page instead of error pages."""
from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import flash, g, request

from concord.errors import DomainError, NotFound
from concord.policy import Principal


def principal() -> Principal:
    return g.principal


def form_data(*fields: str, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """The named form fields; empty optional fields are left out so schema defaults apply."""
    data: dict[str, Any] = {}
    for name in fields:
        value = request.form.get(name, "")
        if value != "":
            data[name] = value
    for name in lists:
        data[name] = request.form.getlist(name)
    return data


def load(schema: ma.Schema, data: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(loaded, {}) or (None, field errors)."""
    try:
        return schema.load(data), {}
    except ma.ValidationError as error:
        return None, flatten(error.messages)


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            out.update(flatten(value, f"{prefix}{key}." if isinstance(value, dict) else f"{prefix}{key}"))
    elif isinstance(messages, list):
        out[prefix.rstrip(".") or "_form"] = [str(m) for m in messages]
    else:
        out[prefix.rstrip(".") or "_form"] = [str(messages)]
    return out


def attempt(action, *args, **kwargs) -> tuple[Any, dict[str, list[str]]]:
    """Run a service call; a refused action becomes flashed/field messages, a 404 stays a 404."""
    try:
        return action(*args, **kwargs), {}
    except NotFound:
        raise
    except DomainError as error:
        errors = {k: v if isinstance(v, list) else [str(v)] for k, v in (error.errors or {}).items()}
        flash(error.detail, "error")
        return None, errors
