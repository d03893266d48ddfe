"""Trace a lot by GTIN and lot number, through the events the caller may see:

- upstream: the TransformationEvents that made the lot, their input lots, the input lots'
  makers and suppliers, and so on up (every level);
- downstream: where the lot went (shipments, proofs of delivery, receipts, also of the
  logistic units it was packed into), the lots made of it, and where those went: every
  organization and location holding or having received it, with quantities (the recall list).

Only events the caller's organization may see count (`service.visibility`): a trace shows what
the caller was given to know, never more.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import policy
from concord.catalog import gs1
from concord.errors import ValidationFailed
from concord.policy import Principal
from concord.provenance.models import EpcisEvent, EventIdentifier
from concord.provenance.service import identifier, vocabulary
from concord.provenance.steps import organization_of, product_class
from concord.tenancy import service as tenancy

#: Lots one trace follows at most (each direction): a bound on the work of one request.
MAX_LOTS = 200
LOT_LENGTH = 64  # as a shipment line keeps it (GS1's AI (10) holds 20)
_CBV = "https://ref.gs1.org/cbv/"


def _step(event: EpcisEvent) -> str:
    return (event.biz_step or "").removeprefix(_CBV + "BizStep-")


def _disposition(event: EpcisEvent) -> str:
    return (event.disposition or "").removeprefix(_CBV + "Disp-")


def split_class(epc_class: str) -> tuple[str | None, str | None]:
    """The GTIN and lot of a canonical class URI (`https://id.gs1.org/01/{gtin}[/10/{lot}]`)."""
    parts = epc_class.removeprefix("https://id.gs1.org/").split("/")
    if len(parts) >= 2 and parts[0] == "01":
        return parts[1], unquote(parts[3]) if len(parts) >= 4 and parts[2] == "10" else None
    return None, None


def _quantity(value: Any) -> Decimal:
    try:
        found = Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)
    return found if found.is_finite() else Decimal(0)


def _classes(document: dict[str, Any], field_name: str) -> dict[str, Decimal]:
    """The classes an event's quantity list names, canonical, with their quantities added up."""
    found: dict[str, Decimal] = {}
    for entry in document.get(field_name) or []:
        if isinstance(entry, dict) and isinstance(entry.get("epcClass"), str):
            key = identifier(entry["epcClass"])
            found[key] = found.get(key, Decimal(0)) + _quantity(entry.get("quantity", 0))
    return found


def _parties(document: dict[str, Any], field_name: str, key: str, kind: str) -> list[str]:
    """The sources or destinations of one type (owning_party, location) an event names."""
    wanted = vocabulary(kind, "type", field_name)
    return [
        e[key]
        for e in document.get(field_name) or []
        if isinstance(e, dict) and isinstance(e.get(key), str) and vocabulary(str(e.get("type")), "type", field_name) == wanted
    ]


@dataclass
class Holder:
    organization_id: uuid.UUID | None
    party: str
    location: str | None
    epc_class: str
    produced: Decimal = Decimal(0)
    shipped: Decimal = Decimal(0)
    in_transit_to: Decimal = Decimal(0)
    received: Decimal = Decimal(0)
    rejected: Decimal = Decimal(0)


@dataclass
class Trace:
    epc_class: str
    gtin: str
    lot: str
    #: canonical class -> ("start" | "upstream" | "downstream", depth)
    lots: dict[str, tuple[str, int]] = field(default_factory=dict)
    transformations: list[dict[str, Any]] = field(default_factory=list)
    movements: list[dict[str, Any]] = field(default_factory=list)
    suppliers: dict[str, set[str]] = field(default_factory=dict)
    holders: dict[tuple[str, str | None, str], Holder] = field(default_factory=dict)
    names: dict[uuid.UUID, str] = field(default_factory=dict)

    def holder(self, party: str, location: str | None, epc_class: str) -> Holder:
        key = (party, location, epc_class)
        if key not in self.holders:
            self.holders[key] = Holder(organization_of(party), party, location, epc_class)
        return self.holders[key]


def _events_naming(session: Session, principal: Principal, classes: set[str], roles: tuple[str, ...], seen: set[uuid.UUID]) -> list[EpcisEvent]:
    naming = sa.select(EventIdentifier.event_pk).where(EventIdentifier.role.in_(roles), EventIdentifier.value.in_(sorted(classes)))
    query = sa.select(EpcisEvent).where(EpcisEvent.id.in_(naming), policy.visible(principal, EpcisEvent)).order_by(EpcisEvent.event_time, EpcisEvent.id)
    return [event for event in session.execute(query).scalars() if event.id not in seen]


def _transformation(trace: Trace, event: EpcisEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "event_time": event.event_time,
        "organization": str(event.organization_id),
        "inputs": _classes(event.document, "inputQuantityList"),
        "outputs": _classes(event.document, "outputQuantityList"),
    }


def _walk(session: Session, principal: Principal, trace: Trace, direction: str) -> None:
    """Follow transformations from the start lot, up (to inputs) or down (to outputs)."""
    near, far = ("output_class", "input_class") if direction == "upstream" else ("input_class", "output_class")
    frontier, depth, seen = {trace.epc_class}, 0, set[uuid.UUID]()
    while frontier and len(trace.lots) < MAX_LOTS * 2:
        depth += 1
        reached: set[str] = set()
        for event in _events_naming(session, principal, frontier, (near,), seen):
            seen.add(event.id)
            if event.event_type != "TransformationEvent":
                continue
            step = _transformation(trace, event)
            if step["event_id"] not in {t["event_id"] for t in trace.transformations}:
                trace.transformations.append(step)
            for epc_class in step["inputs" if direction == "upstream" else "outputs"]:
                if epc_class not in trace.lots:
                    trace.lots[epc_class] = (direction, depth)
                    reached.add(epc_class)
        frontier = set(list(reached)[:MAX_LOTS])


def _movements(session: Session, principal: Principal, trace: Trace) -> None:
    """Where each lot of the trace went: shipments, deliveries and receipts (the recall list),
    what made it (its producers), and who supplied each upstream lot."""
    for t in trace.transformations:
        for epc_class, quantity in t["outputs"].items():
            if epc_class in trace.lots:
                trace.holder(f"urn:uuid:{t['organization']}", None, epc_class).produced += quantity
    containers = _containers(session, principal, trace)
    by_class = _events_naming(session, principal, set(trace.lots), ("class",), set())
    in_containers = _events_naming(session, principal, set(containers), ("epc",), {e.id for e in by_class}) if containers else []
    for event in sorted(by_class + in_containers, key=lambda e: (e.event_time, str(e.id))):
        if event.event_type != "ObjectEvent":
            continue
        goods = {c: q for c, q in _classes(event.document, "quantityList").items() if c in trace.lots}
        via: str | None = None
        for epc in event.document.get("epcList") or []:
            for epc_class, quantity in containers.get(identifier(str(epc)), {}).items():
                goods[epc_class], via = goods.get(epc_class, Decimal(0)) + quantity, identifier(str(epc))
        step, disposition = _step(event), _disposition(event)
        sources = _parties(event.document, "sourceList", "source", "owning_party")
        owners = _parties(event.document, "destinationList", "destination", "owning_party")
        places = _parties(event.document, "destinationList", "destination", "location")
        place = event.biz_location or (identifier(places[0]) if places else None)
        actor = f"urn:uuid:{event.organization_id}"
        for epc_class, quantity in goods.items():
            trace.movements.append(
                {
                    "event_id": event.event_id,
                    "event_time": event.event_time,
                    "biz_step": step,
                    "disposition": disposition,
                    "epc_class": epc_class,
                    "quantity": quantity,
                    "by": actor,
                    "to": owners[0] if owners else None,
                    "location": place,
                    "container": via,
                }
            )
            if trace.lots[epc_class][0] == "upstream" or epc_class == trace.epc_class:
                trace.suppliers.setdefault(epc_class, set()).update(sources if step == "shipping" else [])
            if trace.lots[epc_class][0] == "upstream":
                continue
            if step == "shipping":
                trace.holder(sources[0] if sources else actor, None, epc_class).shipped += quantity
                if owners:
                    trace.holder(owners[0], place, epc_class).in_transit_to += quantity
            elif step == "receiving" and disposition == "non_conformant":
                trace.holder(actor, place, epc_class).rejected += quantity
            elif step in ("receiving", "accepting"):
                trace.holder(owners[0] if owners else actor, place, epc_class).received += quantity


def _containers(session: Session, principal: Principal, trace: Trace) -> dict[str, dict[str, Decimal]]:
    """Logistic units (by their SSCC or other parent EPC) the trace's lots were packed into,
    with how much of each lot: a shipment of the unit moves what it holds."""
    found: dict[str, dict[str, Decimal]] = {}
    downstream = {c for c, (direction, _) in trace.lots.items() if direction != "upstream"}
    for event in _events_naming(session, principal, downstream, ("child_class",), set()):
        parent = event.document.get("parentID")
        if event.event_type != "AggregationEvent" or event.action != "ADD" or not isinstance(parent, str):
            continue
        for epc_class, quantity in _classes(event.document, "childQuantityList").items():
            if epc_class in downstream:
                held = found.setdefault(identifier(parent), {})
                held[epc_class] = held.get(epc_class, Decimal(0)) + quantity
    return found


def _lot_arguments(gtin: Any, lot: Any) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    gtin_text, lot_text = (gtin or "").strip(), (lot or "").strip()
    if not gtin_text:
        errors["gtin"] = ["Give the GTIN."]
    elif (why := gs1.problem(gtin_text, gs1.GTIN_LENGTHS, "GTIN")) is not None:
        errors["gtin"] = [why]
    if not lot_text:
        errors["lot"] = ["Give the lot number."]
    elif len(lot_text) > LOT_LENGTH:
        errors["lot"] = [f"A lot number has at most {LOT_LENGTH} characters."]
    if errors:
        raise ValidationFailed(errors)
    return gtin_text, lot_text


def trace(session: Session, principal: Principal, gtin: Any, lot: Any) -> Trace:
    """The trace of a lot (422 for a GTIN or lot that cannot name one)."""
    gtin_text, lot_text = _lot_arguments(gtin, lot)
    start = identifier(product_class(gtin_text, lot_text))
    found = Trace(epc_class=start, gtin=gtin_text.zfill(14), lot=lot_text, lots={start: ("start", 0)})
    _walk(session, principal, found, "upstream")
    _walk(session, principal, found, "downstream")
    _movements(session, principal, found)
    for org_id in (
        {h.organization_id for h in found.holders.values()}
        | {organization_of(p) for parties in found.suppliers.values() for p in parties}
        | {uuid.UUID(t["organization"]) for t in found.transformations}
    ):
        if org_id is not None and org_id not in found.names:
            found.names[org_id] = tenancy.legal_name(session, org_id)
    return found


def as_json(found: Trace) -> dict[str, Any]:
    """The trace as the API answers it (quantities as decimal strings)."""

    def org(party: str | None) -> dict[str, Any] | None:
        if party is None:
            return None
        org_id = organization_of(party)
        return {"party": party, "organization_id": org_id, "name": found.names.get(org_id) if org_id else None}

    def lot(epc_class: str) -> dict[str, Any]:
        gtin, lot_number = split_class(epc_class)
        direction, depth = found.lots[epc_class]
        makers = sorted({t["organization"] for t in found.transformations if epc_class in t["outputs"]})
        return {
            "epc_class": epc_class,
            "gtin": gtin,
            "lot": lot_number,
            "direction": direction,
            "depth": depth,
            "produced_by": [org(f"urn:uuid:{m}") for m in makers],
            "supplied_by": [org(p) for p in sorted(found.suppliers.get(epc_class, ()))],
        }

    return {
        "epc_class": found.epc_class,
        "gtin": found.gtin,
        "lot": found.lot,
        "lots": [lot(c) for c in sorted(found.lots, key=lambda c: (found.lots[c][1] if found.lots[c][0] != "upstream" else -found.lots[c][1], c))],
        "transformations": [
            {
                **t,
                "organization": org(f"urn:uuid:{t['organization']}"),
                "inputs": [{"epc_class": c, "quantity": str(q)} for c, q in t["inputs"].items()],
                "outputs": [{"epc_class": c, "quantity": str(q)} for c, q in t["outputs"].items()],
            }
            for t in found.transformations
        ],
        "movements": [{**m, "quantity": str(m["quantity"]), "by": org(m["by"]), "to": org(m["to"])} for m in found.movements],
        "recall": [
            {
                "holder": org(h.party),
                "location": h.location,
                "epc_class": h.epc_class,
                **{k: str(getattr(h, k)) for k in ("produced", "shipped", "in_transit_to", "received", "rejected")},
            }
            for h in found.holders.values()
        ],
    }
