"""The event hash ID of EPCIS 2.0 / CBV 2.0 (CBV section 8.9): `ni:///sha-256;<hex>?ver=CBV2.0`.

Two captures of the same event, however spelled (key order, EPC URI or Digital Link,
bare CBV term or full URI, time zone of `eventTime`), hash alike, so the hash identifies
the event itself. The pre-hash string is built in four steps:

1. the event becomes a tree of (name, text, children) in the XML data model of EPCIS: a
   JSON list becomes repeated elements (`epcList` holds `epc`s, `quantityList` holds
   `quantityElement`s), extension names take their namespace (`{http://ns/}name`);
2. the standard's fields are written in the canonical order below as `name=value`, each
   field's values sorted, its sub-fields in their own order;
3. what the order leaves over (other than `eventID`, `recordTime`, `errorDeclaration`)
   is written after it, sorted: business transactions, sources and destinations, ILMD
   and the user extensions;
4. values are canonical: times in UTC to the millisecond, numbers without padding, CBV
   URNs as web URIs, bare CBV terms expanded (from the local JSON-LD contexts), GS1
   identifiers as canonical Digital Link URIs (see identifiers.py).

Where the standard leaves a detail open, this follows GS1's reference implementation
(`epcis-event-hash-generator` 1.9.3), against which tests/provenance cross-checks every
event of the standard's examples; the runtime does not depend on it. One departure: the
reference writes a business transaction's, source's or destination's `type` and value in
the order the JSON object gives them, so re-serialising an event with sorted keys changed
its hash; here the type always comes first (as in every example of the standard).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from concord_verify import contexts, identifiers

Node = tuple[str, str, list]  # (name, text, children)
Order = tuple[tuple[str, "Order | None"], ...]

_QUANTITY: Order = (("quantityElement", (("epcClass", None), ("quantity", None), ("uom", None))),)
_EPCS: Order = (("epc", None),)
_SENSOR_METADATA: Order = tuple(
    (name, None) for name in ("time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules")
)
_SENSOR_REPORT: Order = tuple(
    (name, None)
    for name in (
        "type",
        "exception",
        "deviceID",
        "deviceMetadata",
        "rawData",
        "dataProcessingMethod",
        "time",
        "microorganism",
        "chemicalSubstance",
        "value",
        "component",
        "stringValue",
        "booleanValue",
        "hexBinaryValue",
        "uriValue",
        "minValue",
        "maxValue",
        "meanValue",
        "sDev",
        "percRank",
        "percValue",
        "uom",
        "coordinateReferenceSystem",
    )
)
# The canonical order of an event's fields (CBV 2.0, section 8.9.2). Business
# transactions, sources and destinations are written with the remaining fields (step 3),
# as the reference implementation does.
ORDER: Order = (
    ("eventTime", None),
    ("eventTimeZoneOffset", None),
    ("certificationInfo", None),
    ("parentID", None),
    ("epcList", _EPCS),
    ("inputEPCList", _EPCS),
    ("childEPCs", _EPCS),
    ("quantityList", _QUANTITY),
    ("childQuantityList", _QUANTITY),
    ("inputQuantityList", _QUANTITY),
    ("outputEPCList", _EPCS),
    ("outputQuantityList", _QUANTITY),
    ("action", None),
    ("transformationID", None),
    ("bizStep", None),
    ("disposition", None),
    ("persistentDisposition", (("set", None), ("unset", None))),
    ("readPoint", (("id", None),)),
    ("bizLocation", (("id", None),)),
    ("sensorElementList", (("sensorElement", (("sensorMetadata", _SENSOR_METADATA), ("sensorReport", _SENSOR_REPORT))),)),
)
NOT_HASHED = frozenset({"eventID", "recordTime", "type", "errorDeclaration"})
IGNORED_KEYS = frozenset({"#text", "rdfs:comment", "comment"})
# Lists whose entries are (type, value) pairs, written in the order given.
_TYPED_LISTS = {"bizTransactionList": "bizTransaction", "sourceList": "source", "destinationList": "destination"}
_PAIRED = frozenset(_TYPED_LISTS.values())
_CBV_URNS = (
    ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
    ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
)


def event_hash_id(event: Mapping[str, Any], document_context: Any = None) -> str:
    """The event hash ID of one event; `document_context` is the `@context` of the
    document that carries it (its namespace prefixes qualify extension names)."""
    return "ni:///sha-256;" + hashlib.sha256(pre_hash_string(event, document_context).encode()).hexdigest() + "?ver=CBV2.0"


def pre_hash_string(event: Mapping[str, Any], document_context: Any = None) -> str:
    namespaces = _namespaces(document_context if document_context is not None else event.get("@context"))
    event = _expand_bare_terms(event)
    children = _structure(_children(event, namespaces))
    ordered, rest = _ordered(children, ORDER, top=True)
    remaining = [child for child in rest if child[0] not in NOT_HASHED]
    return f"eventType={event.get('type', '')}" + ordered + (_generic(remaining) if remaining else "")


# --- 1. the tree --------------------------------------------------------------------------


def _namespaces(context: Any) -> dict[str, str]:
    """Prefix -> namespace of the document's own context objects (not the standard's)."""
    found: dict[str, str] = {}
    for item in context if isinstance(context, list) else [context]:
        if isinstance(item, dict):
            found.update({key: value for key, value in item.items() if isinstance(value, str)})
    return found


def _qualify(text: str, namespaces: dict[str, str], *, name: bool) -> str:
    prefix, sep, local = text.partition(":")
    if not sep or prefix not in namespaces:
        return text
    return "{" + namespaces[prefix] + "}" + local if name else namespaces[prefix] + local


def _scalar(value: Any, namespaces: dict[str, str]) -> str:
    if isinstance(value, str):
        return _qualify(value, namespaces, name=False)
    return str(value)  # numbers as Python writes them; booleans as True/False, like the reference


def _children(obj: Mapping[str, Any], namespaces: dict[str, str]) -> list[Node]:
    out: list[Node] = []
    for key, value in obj.items():
        if key in IGNORED_KEYS or key.startswith("@"):
            continue
        name = _qualify(key, namespaces, name=True)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                out.append((name, "", _children(item, namespaces)))
            elif isinstance(item, list):
                out.append((name, "", [("", _scalar(x, namespaces), []) for x in item]))
            else:
                out.append((name, _scalar(item, namespaces), []))
    if _PAIRED & obj.keys():
        # A (type, value) pair is written type first, then its value, whatever the key order
        # of the JSON object (which means nothing): the reference writes the keys in the order
        # given, and the standard's examples give the type first.
        out.sort(key=lambda node: (node[0] != "type", node[0] not in _PAIRED))
    else:
        out.sort()
    return out


def _structure(children: list[Node]) -> list[Node]:
    """The XML model: `xList` siblings become one `xList` of `x` elements, `childEPCs` one
    list of `epc`, input/output EPCs are `epc`, quantities are `quantityElement`s."""
    lists: dict[str, list[Node]] = {}
    plain: list[Node] = []
    epcs: list[Node] = []
    for name, text, grand in children:
        if name.endswith("List"):
            lists.setdefault(name, []).append((name[:-4], text, grand))
        elif name == "childEPCs":
            epcs.append(("epc", text, []))
        else:
            plain.append((name, text, grand))
    for name, items in lists.items():
        if name in _TYPED_LISTS:
            plain.append((name, "", [("", "", grand) for _, _, grand in items]))  # pairs, written as given
        else:
            plain.append((name, "", items))
    if epcs:
        plain.append(("childEPCs", "", epcs))
    out = []
    for name, text, grand in plain:
        if name in _TYPED_LISTS:
            out.append((name, text, grand))
            continue
        grand = _structure(grand)
        if name in ("inputEPC", "outputEPC"):
            name = "epc"
        elif name in ("inputQuantity", "outputQuantity", "childQuantity") or (name == "quantity" and grand):
            name = "quantityElement"
        out.append((name, text, grand))
    return out


# --- 2. and 3. the order, then the rest ------------------------------------------------------


def _is_extension(name: str) -> bool:
    return "{" in name and "/}" in name


def _ordered(children: list[Node], order: Order, *, top: bool = False) -> tuple[str, list[Node]]:
    """The pre-hash of `children` in `order`, and the children it did not use up (a field
    is used up when all of its sub-fields are). Below the event, user extensions follow
    the ordered fields of their element."""
    extensions: list[Node] = []
    rest = list(children)
    if not top and len(rest) > 1:
        extensions = [child for child in rest if _is_extension(child[0])]
        rest = [child for child in rest if not _is_extension(child[0])]
    text = ""
    for name, sub_order in order:
        values = []
        for child in [child for child in rest if child[0] == name]:
            written, left = _field(child, sub_order)
            if written:
                values.append(written)
            index = rest.index(child)
            if left is None:
                del rest[index]
            else:
                rest[index] = left
        text += "".join(sorted(values))
    if extensions:
        text += _generic(extensions)
    return text, rest


def _field(node: Node, sub_order: Order | None) -> tuple[str, Node | None]:
    """One field's pre-hash, and what is left of it (None when nothing is)."""
    name, value, grand = node
    inner, left = _ordered(grand, sub_order) if sub_order else ("", grand)
    value = value.strip()
    if value:
        value = "=" + (_utc_millis(value) if "time" in name.lower() and "offset" not in name.lower() else _canonical_value(value))
    return (name + value + inner if value or inner else ""), (None if not left else (name, node[1], left))


def _generic(children: list[Node]) -> str:
    values = []
    for name, value, grand in children:
        value = value.strip()
        values.append(name + ("=" + _canonical_value(value) if value else "") + _generic(grand))
    if len(children) > 1 and not any(child[0] in _PAIRED for child in children):
        values.sort()
    return "".join(values)


# --- 4. values ------------------------------------------------------------------------------


def _utc_millis(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    millis = round(moment.microsecond, -3)  # half to even, as the reference rounds
    if millis > 999_000:
        return text
    return moment.replace(microsecond=millis).isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


def cbv_web_uri(text: str) -> str:
    """CBV 1.x URNs (`urn:epcglobal:cbv:bizstep:shipping`) written as CBV 2.0 web URIs."""
    for urn, uri in _CBV_URNS:
        text = text.replace(urn, uri)
    return text


def _canonical_value(text: str) -> str:
    text = cbv_web_uri(text)
    try:
        number = float(text)
        text = str(int(number)) if int(number) == number else str(number)
    except (ValueError, OverflowError):
        pass
    return identifiers.canonical(text) or text


def _expand_bare_terms(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """Write bare CBV and GS1 vocabulary terms ("shipping", "Temperature") as the URIs their
    JSON-LD context gives them, wherever such a value appears in the event (the reference
    implementation replaces every value that ends one of the event's vocabulary URIs)."""
    expanded = {uri for uri in _vocabulary_uris(event) if uri.startswith(("https://ref.gs1.org/cbv", "https://gs1.org/voc"))}
    if not expanded:
        return event

    def replace(value: Any) -> Any:
        if isinstance(value, str):
            matches = [uri for uri in expanded if uri.endswith("-" + value) or uri.endswith("/" + value)]
            return matches[0] if len(matches) == 1 else value
        if isinstance(value, list):
            return [replace(item) for item in value]
        if isinstance(value, dict):
            return {key: replace(item) for key, item in value.items()}
        return value

    return replace(event)


def _vocabulary_uris(value: Any, field: str = "", parent: str = "") -> Iterable[str]:
    """The URIs the event's values stand for: vocabulary fields expanded, other URIs as given."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _vocabulary_uris(item, key, field)
    elif isinstance(value, list):
        for item in value:
            yield from _vocabulary_uris(item, field, parent)
    elif isinstance(value, str):
        vocabulary = contexts.vocabulary_of(field, parent)
        yield vocabulary.get(value, value) if vocabulary is not None else value
