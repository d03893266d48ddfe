"""Reading the app's URL map: the rules that name an object, the arguments a test cannot
fill, and every URL of a rule built from a dict of objects by argument name. Shared by the
cross-tenant matrix (tests/security) and the page-width walk (tests/e2e), so that a new
route is covered by both without a list kept by hand."""

from __future__ import annotations

import uuid

from werkzeug.routing import Rule
from werkzeug.routing.converters import AnyConverter, UUIDConverter

# Objects by id argument name: (label, id) pairs.
Targets = dict[str, list[tuple[str, uuid.UUID | str]]]
# Id arguments that are text by nature, not uuids: ids a standard lets the client choose (an
# EPCIS eventID is any URI, slashes included; a lot is up to 20 characters of GS1's set 82,
# slashes included). They are walked like uuid arguments.
TEXT_IDS = frozenset({"event_id", "lot"})


def _is_id(name: str, converter) -> bool:
    return isinstance(converter, UUIDConverter) or name in TEXT_IDS


def object_rules(app) -> list[Rule]:
    return [rule for rule in app.url_map.iter_rules() if any(_is_id(name, c) for name, c in rule._converters.items())]


def unknown_arguments(rule: Rule, known: set[str] | frozenset[str]) -> list[str]:
    """Arguments of an object route the matrix cannot fill: a uuid it has no object for, or
    any other kind of argument except a fixed choice (`any(...)`), which is expanded."""
    problems = []
    for name, converter in rule._converters.items():
        if _is_id(name, converter):
            if name not in known:
                kind = "uuid:" if isinstance(converter, UUIDConverter) else ""
                problems.append(f"{rule.rule}: no fixture object for <{kind}{name}>")
        elif not isinstance(converter, AnyConverter):
            problems.append(f"{rule.rule}: argument <{name}> is neither a uuid nor a fixed choice")
    return problems


def expand(rule: Rule, ids: Targets) -> list[tuple[str, dict[str, str], str]]:
    """Every URL of the rule: each target object for each uuid argument, each choice of each
    `any(...)` argument. Returns (url, values, label)."""
    combos: list[tuple[dict[str, str], list[str]]] = [({}, [])]
    for name, converter in rule._converters.items():
        options: list[tuple[str, str]]
        if _is_id(name, converter):
            options = [(str(object_id), label) for label, object_id in ids[name]]
        else:
            options = [(item, item) for item in sorted(converter.items)]
        combos = [({**values, name: value}, labels + [label]) for values, labels in combos for value, label in options]
    out = []
    for values, labels in combos:
        built = rule.build(values, append_unknown=False)
        assert built is not None, (rule.rule, values)
        out.append((built[1], values, ", ".join(labels)))
    return out
