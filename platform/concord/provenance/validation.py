"""Is a capture document an EPCIS 2.0 document? GS1's JSON Schema (draft 7) says, with
every mistake at once, each named by the JSON pointer (RFC 6901) of the field it is in.

Nothing is fetched: the schema is the local copy, and a document may name only the JSON-LD
contexts this platform keeps (contexts.CONTEXT_FILES), since a context it cannot read could
give the document's terms another meaning.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import jsonschema_rs
from concord_verify import contexts
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

from concord.api_common import unstorable_text

DOCUMENT_TYPES = ("EPCISDocument", "EPCISQueryDocument")
# An extension's name needs a namespace prefix (example:myField), which the schema checks.
UNKNOWN_FIELD = "Unknown field."
MAX_MESSAGE = 300
MAX_ERRORS = 100
_DOCUMENT_FIELDS = frozenset(
    {"@context", "id", "type", "schemaVersion", "creationDate", "instanceIdentifier", "sender", "receiver", "epcisHeader", "epcisBody"}
)
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)", re.ASCII)
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S*")


def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace("t", "T").replace("z", "Z"))
    except ValueError:
        return False
    return True


def _uri(value: object) -> bool:
    return not isinstance(value, str) or _URI.fullmatch(value) is not None


def _checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checks("date-time")(_date_time)
    checker.checks("uri")(_uri)
    return checker


@functools.cache
def _validator() -> Draft7Validator:
    return Draft7Validator(contexts.json_schema(), format_checker=_checker())


@functools.cache
def _quick() -> jsonschema_rs.Validator:
    """The same schema compiled by jsonschema-rs (Rust), with the same two format checks:
    it tells a valid document from an invalid one some 50 times faster. It may be stricter
    (formats the schema names beyond those two), never laxer, so a document it refuses is
    judged again, and its mistakes named, by `_validator`."""
    return jsonschema_rs.Draft7Validator(contexts.json_schema(), formats={"date-time": _date_time, "uri": _uri}, validate_formats=True)


#: The key of a mistake of the document as a whole (RFC 6901 writes it "", Concord's API `_schema`).
WHOLE = "_schema"


def pointer(path: Iterable[Any]) -> str:
    """The JSON pointer of a path of keys and indexes (WHOLE for the document itself)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path) or WHOLE


def _leaf(error: ValidationError) -> ValidationError:
    """The most specific reason of an anyOf/oneOf failure."""
    while error.context:
        deeper = best_match(error.context)
        if deeper is None or deeper is error:
            break
        error = deeper
    return error


def _located(error: ValidationError) -> tuple[str, str]:
    path = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        if missing:
            return pointer([*path, missing[0]]), "Required."
    if "propertyNames" in error.absolute_schema_path and isinstance(error.instance, str):
        return pointer([*path, error.instance]), UNKNOWN_FIELD
    message = error.message
    return pointer(path), message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def _text_mistakes(found: Any, path: list[Any], out: dict[str, list[str]]) -> None:
    """unstorable_text's messages (shaped like the data) by pointer."""
    if isinstance(found, list) and all(isinstance(item, str) for item in found):
        out.setdefault(pointer(path), []).extend(found)
        return
    for key, inner in found.items():
        _text_mistakes(inner, path if key == "_schema" else [*path, key], out)


def _non_finite(value: Any, path: list[Any]) -> Iterable[str]:
    """Pointers to NaN and infinities (Python's JSON reader takes them; JSON has none)."""
    if isinstance(value, float) and not math.isfinite(value):
        yield pointer(path)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_finite(item, [*path, index])


def mistakes(document: Any) -> dict[str, list[str]]:
    """Messages by JSON pointer; empty when the document may be captured."""
    if not isinstance(document, dict):
        return {WHOLE: ["Invalid input type."]}
    found: dict[str, list[str]] = {}
    unstorable = unstorable_text(document)
    if unstorable is not None:
        _text_mistakes(unstorable, [], found)
    for where in _non_finite(document, []):
        found.setdefault(where, []).append("Not a JSON number: NaN and infinities have no place in JSON.")
    if found:
        return found
    if document.get("type") not in DOCUMENT_TYPES:
        found["/type"] = [f"Capture takes an {' or an '.join(DOCUMENT_TYPES)}."]
        # The schema checks field names by document type: without one, name the strays here.
        for name in document:
            if ":" not in name and name not in _DOCUMENT_FIELDS:
                found[pointer([name])] = [UNKNOWN_FIELD]
    if not found and _quick().is_valid(document):
        errors: Iterable[ValidationError] = ()
    else:
        errors = _validator().iter_errors(document)
    for error in errors:
        where, message = _located(_leaf(error))
        if message not in found.setdefault(where, []):
            found[where].append(message)
        if len(found) >= MAX_ERRORS:
            break
    context = document.get("@context")
    for index, item in enumerate(context if isinstance(context, list) else [context]):
        if isinstance(item, str) and item not in contexts.CONTEXT_FILES:
            where = "/@context" + (f"/{index}" if isinstance(context, list) else "")
            found.setdefault(where, []).append(f"Not a JSON-LD context this platform holds; name {contexts.EPCIS_CONTEXT_URL}.")
    return found
