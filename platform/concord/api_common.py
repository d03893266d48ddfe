"""What every API module shares: base schemas, the page envelope, problem documents,
and the marker for endpoints that need no bearer token."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import marshmallow as ma
from flask import Flask, request
from marshmallow import fields, validate
from werkzeug.exceptions import UnprocessableEntity

from concord import db
from concord.errors import DomainError
from concord.pagination import DEFAULT_LIMIT, MAX_LIMIT, paginate

# JSON bodies nest objects and arrays at most this deep. The JSON parser recurses once per
# level, and eth_account's import raises the interpreter's recursion limit to 100,000: a
# body of a few hundred kilobytes of brackets would overflow the C stack and kill the worker.
MAX_JSON_DEPTH = 32
# A string literal, the closing quote optional so that no text is scanned twice (linear time).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


# A JSON string may spell half of a UTF-16 surrogate pair ("\ud800"): Python decodes it to a
# string that no database or hash can encode.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
NOT_UNICODE = "Not valid Unicode text: it holds a lone surrogate."
NOT_TEXT = "Must not contain NUL characters."
# Control characters, and the bidirectional overrides and isolates that make a name read
# differently from what it holds ("Trojan Source"): never part of a name or a number.
_HIDDEN_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def unstorable_text(value: Any) -> Any:
    """Messages shaped like the data (marshmallow's nesting) for every string or key in
    `value` that holds a lone surrogate or a NUL (which PostgreSQL cannot store), or None
    when there is none."""
    if isinstance(value, str):
        if "\x00" in value:
            return [NOT_TEXT]
        return [NOT_UNICODE] if _LONE_SURROGATE.search(value) else None
    found: dict[Any, Any] = {}
    if isinstance(value, Mapping):  # a JSON object, or the query string's MultiDict
        for key, item in value.items():
            if isinstance(key, str) and (_LONE_SURROGATE.search(key) or "\x00" in key):
                found.setdefault("_schema", []).append(f"A field name is not valid Unicode text: {key!a}.")
            elif (inner := unstorable_text(item)) is not None:
                found[key] = inner
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if (inner := unstorable_text(item)) is not None:
                found[index] = inner
    return found or None


class InputSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    @ma.pre_load
    def _refuse_unstorable_text(self, data: Any, **kwargs: Any) -> Any:
        messages = unstorable_text(data)
        if messages is not None:
            raise ma.ValidationError(messages)
        return data


class OutputSchema(ma.Schema):
    class Meta:
        ordered = True


def NonBlank(max_length: int, *, required: bool = True, **kwargs) -> fields.String:
    """A string that is not empty after trimming (required unless said otherwise)."""
    return fields.String(
        required=required,
        validate=[validate.Length(min=1, max=max_length), validate.Regexp(r"\s*\S", error="Must not be blank."), no_hidden_characters],
        **kwargs,
    )


def no_hidden_characters(value: str) -> None:
    if _HIDDEN_CHARACTERS.search(value):
        raise ma.ValidationError("Must not contain control characters or bidirectional overrides.")


class WholeNumber(fields.Integer):
    """A whole number: a JSON integer, or a string of ASCII digits (forms and query strings);
    never 1.5 (which int() would cut to 1), "1e3", "５" or a boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, (bool, float)) or (isinstance(value, str) and not _WHOLE_NUMBER.fullmatch(value)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


_WHOLE_NUMBER = re.compile(r"-?[0-9]+", re.ASCII)


class PageArgsSchema(InputSchema):
    limit = WholeNumber(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))


_page_schemas: dict[type, type] = {}


def page_of(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The list envelope: {"items": [...], "next_cursor": "..." | null}."""
    if item_schema not in _page_schemas:
        name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
        _page_schemas[item_schema] = type(
            name,
            (OutputSchema,),
            {
                "items": fields.List(fields.Nested(item_schema), required=True),
                "next_cursor": fields.String(allow_none=True, metadata={"description": "Pass as `cursor` for the next page; null on the last page."}),
            },
        )
    return _page_schemas[item_schema]


class ProblemSchema(OutputSchema):
    """RFC 9457 problem details."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict(metadata={"description": "Messages by field name."})
    current_state = fields.String()
    allowed_actions = fields.List(fields.String())
    partnership_id = fields.UUID(metadata={"description": "The partnership that already exists (409 on a duplicate request)."})
    retry_after = fields.Integer(metadata={"description": "Seconds to wait before trying again (429)."})


HTTP_METHODS = ("get", "post", "put", "patch", "delete")

#: The class attribute `public` sets on a view; auth.web reads it.
PUBLIC_MARKER = "concord_public"
_View = TypeVar("_View", bound=type)
F = TypeVar("F", bound=Callable[..., Any])


def public(view: _View) -> _View:
    """Mark an API endpoint (a MethodView class) as needing no bearer token, in the
    request hook and in the OpenAPI document alike."""
    from flask_smorest import Blueprint

    setattr(view, PUBLIC_MARKER, True)
    for name in HTTP_METHODS:
        method = getattr(view, name, None)
        if method is not None:
            setattr(view, name, Blueprint.doc(security=[])(method))
    return view


def page_response(query, key_columns, args: dict, *, transform: Callable | None = None) -> dict:
    """Run a keyset page of `query` for the API's {"items", "next_cursor"} envelope."""
    items, next_cursor = paginate(db.session(), query, key_columns, limit=args.get("limit"), cursor=args.get("cursor"))
    if transform is not None:
        items = [transform(item) for item in items]
    return {"items": items, "next_cursor": next_cursor}


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text `raw` nests objects and arrays deeper than `limit` (brackets
    inside strings do not count; malformed text is left for the parser to refuse)."""
    depth = 0
    for char in _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS):
        depth += 1 if char in b"[{" else -1
        if depth > limit:
            return True
    return False


def _refuse_deeply_nested_json() -> None:
    if request.path.startswith("/api/") and request.is_json and json_depth_exceeds(request.get_data(cache=True)):
        raise DomainError(
            "The request body is not valid JSON.",
            errors={"json": [f"Objects and arrays may be nested at most {MAX_JSON_DEPTH} deep."]},
        )


def register(app: Flask) -> None:
    app.before_request(_refuse_deeply_nested_json)


_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)


class DecimalString(fields.Decimal):
    """Money and quantities travel as strings ("12.50"): a JSON number may already be a float."""

    default_error_messages = {**fields.Decimal.default_error_messages, "not_string": 'Send a decimal string, such as "12.50".'}

    def _deserialize(self, value, attr, data, **kwargs):
        # Decimal() also reads other scripts' digits, underscores, spaces and exponents
        # ("５", "1_000", " 5 ", "1e3"): none of them is how a document states an amount.
        if not isinstance(value, str) or not _PLAIN_DECIMAL.fullmatch(value):
            raise self.make_error("not_string")
        return super()._deserialize(value, attr, data, **kwargs)


def _merge_mistakes(into: dict[Any, Any], found: dict[Any, Any]) -> None:
    """Add `found` (field -> messages, lists by position) to the schema's messages `into`,
    on the fields still without one."""
    for key, value in found.items():
        if key not in into:
            into[key] = value
        elif isinstance(into[key], dict) and isinstance(value, dict):
            _merge_mistakes(into[key], value)


def every_mistake(check: Callable[..., dict[str, Any]]) -> Callable[[F], F]:
    """Every mistake of a request body in one 422: when the body's schema refuses it (the
    `arguments` decorator below this one), `check(readable, **view_args)` — the service's own
    checks of what the schema could read, the same function the portal's form uses — adds
    its messages to the schema's, on the fields still without one."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return view(*args, **kwargs)
            except UnprocessableEntity as error:
                exc, data = getattr(error, "exc", None), getattr(error, "data", None)
                messages = data.get("messages") if isinstance(data, dict) else None
                body = messages.get("json") if isinstance(messages, dict) else None
                if isinstance(exc, ma.ValidationError) and isinstance(exc.valid_data, dict) and isinstance(body, dict):
                    _merge_mistakes(body, check(exc.valid_data, **kwargs))
                raise

        return cast(F, wrapper)

    return decorator
