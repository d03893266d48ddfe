"""The standard's files, read from the copies kept beside this module (standard/), never
fetched: the JSON Schema of EPCIS 2.0 documents and the JSON-LD contexts that documents
name by URL, with the CBV and GS1 vocabularies they define."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

STANDARD = Path(__file__).resolve().parent / "standard"
EPCIS_CONTEXT_URL = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
# The context URLs a document may name, and the local copy of each.
CONTEXT_FILES = {
    EPCIS_CONTEXT_URL: "epcis-context.jsonld",
    "https://ref.gs1.org/standards/epcis/epcis-context.jsonld": "epcis-context.jsonld",
    "https://gs1.github.io/EPCIS/epcis-context.jsonld": "epcis-context.jsonld",
}
_PREFIXES = {"cbv": "https://ref.gs1.org/cbv/", "gs1": "https://gs1.org/voc/"}
# Vocabulary fields: (field, the object it is in or None for any) -> context file of its terms.
_VOCABULARIES = {
    ("bizStep", None): "cbv-context-bizstep.jsonld",
    ("disposition", None): "cbv-context-disposition.jsonld",
    ("set", "persistentDisposition"): "cbv-context-disposition.jsonld",
    ("unset", "persistentDisposition"): "cbv-context-disposition.jsonld",
    ("type", "bizTransactionList"): "cbv-context-biztransaction-type.jsonld",
    ("type", "sourceList"): "cbv-context-sourcedest-type.jsonld",
    ("type", "destinationList"): "cbv-context-sourcedest-type.jsonld",
    ("type", "sensorReport"): "gs1-context-measurement-type.jsonld",
    ("exception", "sensorReport"): "gs1-context-sensor-alert-type.jsonld",
    ("component", "sensorReport"): "cbv-context-component.jsonld",
    ("reason", "errorDeclaration"): "cbv-context-error-reason.jsonld",
}


@functools.cache
def _load(relative: str) -> Any:
    return json.loads((STANDARD / relative).read_text(encoding="utf-8"))


def context_document(url: str) -> Any:
    """The JSON-LD context a document names by `url`, from the local copy (KeyError for a
    context this platform does not hold)."""
    return _load("context/" + CONTEXT_FILES[url])


def json_schema() -> dict[str, Any]:
    return _load("schema/EPCIS-JSON-Schema.json")


def _expand(compact: str) -> str:
    prefix, sep, local = compact.partition(":")
    return _PREFIXES[prefix] + local if sep and prefix in _PREFIXES else compact


@functools.cache
def _terms(filename: str) -> dict[str, str]:
    """Term -> URI of one vocabulary context, with its compact IRIs (`cbv:BizStep-x`) too."""
    definitions = _load("context/" + filename)["@context"]
    terms = {term: _expand(value) for term, value in definitions.items() if not term.startswith("@") and term not in _PREFIXES and isinstance(value, str)}
    return {**terms, **{value: _expand(value) for value in definitions.values() if isinstance(value, str) and ":" in value}}


def vocabulary_of(field: str, parent: str) -> dict[str, str] | None:
    """The terms a value of `field` (in an object held by `parent`) may be written with, or
    None when the field takes no vocabulary."""
    filename = _VOCABULARIES.get((field, parent)) or _VOCABULARIES.get((field, None))
    return _terms(filename) if filename else None
