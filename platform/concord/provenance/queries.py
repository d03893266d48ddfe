"""EPCIS 2.0 queries (the REST binding's /events with the Simple Event Query's parameters)
and the EPCISQueryDocument that answers them.

A parameter's values are alternatives (`EQ_bizStep=shipping|receiving`); parameters
combine with AND. Values are compared in their canonical form, so `urn:epc:id:sgtin:...`
finds an event captured with the Digital Link URI of the same EPC, and `shipping` one
captured with `https://ref.gs1.org/cbv/BizStep-shipping`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from concord_verify import contexts

from concord import clock, policy
from concord.api_common import unstorable_text
from concord.errors import ValidationFailed
from concord.policy import Principal
from concord.provenance.models import URI_LENGTH, EpcisEvent, EventBizTransaction, EventIdentifier
from concord.provenance.service import identifier, vocabulary

BIZ_TRANSACTION_PREFIX = "EQ_bizTransaction_"
MAX_BIZ_TRANSACTION_FILTERS = 10
MAX_ALTERNATIVES = 50
_EPCS = ("epc", "child_epc", "parent", "input_epc", "output_epc")
_CLASSES = ("class", "child_class", "input_class", "output_class")
#: MATCH_ parameter -> the identifier roles it looks in.
MATCH_ROLES: dict[str, tuple[str, ...]] = {
    "MATCH_epc": ("epc", "child_epc"),
    "MATCH_parentID": ("parent",),
    "MATCH_inputEPC": ("input_epc",),
    "MATCH_outputEPC": ("output_epc",),
    "MATCH_anyEPC": _EPCS,
    "MATCH_epcClass": ("class", "child_class"),
    "MATCH_inputEPCClass": ("input_class",),
    "MATCH_outputEPCClass": ("output_class",),
    "MATCH_anyEPCClass": _CLASSES,
}


def alternatives(text: str) -> list[str]:
    return [value for value in text.split("|") if value]


def biz_transaction_filters(args: Mapping[str, str], known: Iterable[str]) -> dict[str, list[str]]:
    """The `EQ_bizTransaction_<type>` parameters (their names vary, so no schema lists them).
    A parameter that is neither one of these nor `known` is refused: a query parameter this
    platform does not answer would otherwise widen the answer silently."""
    found: dict[str, list[str]] = {}
    mistakes: dict[str, list[str]] = {}
    for name in args:
        if not name.startswith(BIZ_TRANSACTION_PREFIX):
            if name not in known:
                mistakes[name] = ["Not a query parameter this platform answers."]
            continue
        if unstorable_text(name + args[name]) is not None:
            mistakes[name] = unstorable_text(name + args[name])
            continue
        kind, values = name[len(BIZ_TRANSACTION_PREFIX) :], alternatives(args[name])
        if not kind or not values or len(values) > MAX_ALTERNATIVES or any(len(v) > URI_LENGTH for v in [kind, *values]):
            mistakes[name] = [f"Name a business transaction type after {BIZ_TRANSACTION_PREFIX} and give at most {MAX_ALTERNATIVES} values separated by |."]
        found[kind] = values
    if len(found) > MAX_BIZ_TRANSACTION_FILTERS:
        mistakes[BIZ_TRANSACTION_PREFIX] = [f"At most {MAX_BIZ_TRANSACTION_FILTERS} business transaction types per query."]
    if mistakes:
        raise ValidationFailed(mistakes)
    return found


def _matching(roles: Iterable[str], values: list[str]) -> Any:
    """Events naming one of `values` in one of `roles`; a pattern such as
    `urn:epc:idpat:sgtin:4012345.011111.*` matches every EPC of its class."""
    conditions = []
    for value in values:
        canonical = identifier(value)
        if value.endswith("*") and canonical != value:
            conditions.append(sa.or_(EventIdentifier.value == canonical, EventIdentifier.value.startswith(canonical + "/", autoescape=True)))
        else:
            conditions.append(EventIdentifier.value == canonical)
    return EpcisEvent.id.in_(sa.select(EventIdentifier.event_pk).where(EventIdentifier.role.in_(list(roles)), sa.or_(*conditions)))


def events_query(principal: Principal, filters: Mapping[str, Any], biz_transactions: Mapping[str, list[str]]) -> sa.Select:
    """The events the principal may see that match every filter given."""
    query = sa.select(EpcisEvent).where(policy.visible(principal, EpcisEvent))
    if filters.get("eventType"):
        query = query.where(EpcisEvent.event_type.in_(filters["eventType"]))
    for name, column, above in (
        ("GE_eventTime", EpcisEvent.event_time, True),
        ("LT_eventTime", EpcisEvent.event_time, False),
        ("GE_recordTime", EpcisEvent.record_time, True),
        ("LT_recordTime", EpcisEvent.record_time, False),
    ):
        if filters.get(name) is not None:
            query = query.where(column >= filters[name] if above else column < filters[name])
    if filters.get("EQ_action"):
        query = query.where(EpcisEvent.action.in_(filters["EQ_action"]))
    if filters.get("EQ_bizStep"):
        query = query.where(EpcisEvent.biz_step.in_([vocabulary(v, "bizStep") for v in filters["EQ_bizStep"]]))
    if filters.get("EQ_disposition"):
        query = query.where(EpcisEvent.disposition.in_([vocabulary(v, "disposition") for v in filters["EQ_disposition"]]))
    for name, place in (("EQ_readPoint", EpcisEvent.read_point), ("EQ_bizLocation", EpcisEvent.biz_location)):
        if filters.get(name):
            query = query.where(place.in_([identifier(v) for v in filters[name]]))
    if filters.get("EQ_eventID"):
        query = query.where(EpcisEvent.event_id.in_(filters["EQ_eventID"]))
    for name, roles in MATCH_ROLES.items():
        if filters.get(name):
            query = query.where(_matching(roles, filters[name]))
    for kind, values in biz_transactions.items():
        canonical_type = vocabulary(kind, "type", "bizTransactionList")
        query = query.where(
            EpcisEvent.id.in_(
                sa.select(EventBizTransaction.event_pk).where(
                    EventBizTransaction.type == canonical_type, EventBizTransaction.value.in_([identifier(v) for v in values])
                )
            )
        )
    return query


def _context(events: Iterable[EpcisEvent]) -> list[Any]:
    """The EPCIS context and each distinct context object of the events' documents (the
    namespace prefixes of their extensions)."""
    context: list[Any] = [contexts.EPCIS_CONTEXT_URL]
    for event in events:
        for item in event.context:
            if isinstance(item, dict) and item not in context:
                context.append(item)
    return context


def query_document(events: list[EpcisEvent], query_name: str = "SimpleEventQuery") -> dict[str, Any]:
    """An EPCISQueryDocument holding the events as they were captured."""
    return {
        "@context": _context(events),
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": clock.utcnow().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "epcisBody": {"queryResults": {"queryName": query_name, "resultsBody": {"eventList": [event.document for event in events]}}},
    }
