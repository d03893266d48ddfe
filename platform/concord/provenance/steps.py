"""The EPCIS 2.0 event of each physical step of an order, recorded in the step's transaction
(wired by concord.bootstrap to `wiring.Wiring.on_physical_step`).

- shipped (by the supplier): ObjectEvent OBSERVE, shipping, in_transit, with the PO and the
  ASN, from the supplier (owning party) to the buyer (owning party, its ship-to location);
- a carrier milestone: loading, departing, arriving, inspecting (customs) or transporting,
  in_transit, with the read point of its place when that is a GLN, or the name of one of the
  carrier's locations that has one;
- proof of delivery (by the carrier): arriving, in_progress, at the ship-to location, now in
  the buyer's possession;
- the buyer's receipt: receiving, in_progress for what it accepted, and a second event,
  receiving, non_conformant, for what it rejected, with the PO, the ASNs and the receipt.

Goods are named by class: `https://id.gs1.org/01/{gtin}/10/{lot}` when the line has a lot,
else the GTIN's class; a line without a GTIN names no class. Parties are named by their
organization's id (`urn:uuid:...`), locations by the SGLN Digital Link of their GLN.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from concord_verify.identifiers import ID, check_digit
from sqlalchemy.orm import Session

from concord import wiring
from concord.catalog.models import Location
from concord.provenance import service

MILESTONE_STEPS = {
    "picked_up": "loading",
    "departed": "departing",
    "arrived": "arriving",
    "customs_cleared": "inspecting",
    "out_for_delivery": "transporting",
}
#: Units of measure counted in pieces: their quantities go without a `uom` (EPCIS: a count).
PIECES = {"H87", "EA", "C62"}


def party(organization_id: uuid.UUID) -> str:
    """How an event names an organization (source, destination, holder)."""
    return f"urn:uuid:{organization_id}"


def organization_of(party_id: str) -> uuid.UUID | None:
    """The organization a party URI of `party` names, or None."""
    if not party_id.startswith("urn:uuid:"):
        return None
    try:
        return uuid.UUID(party_id.removeprefix("urn:uuid:"))
    except ValueError:
        return None


def product_class(gtin: str, lot: str | None) -> str:
    """The GS1 Digital Link URI of a GTIN's class, or of its lot (LGTIN)."""
    key = gtin.zfill(14)
    return f"{ID}01/{key}/10/{quote(lot, safe='')}" if lot else f"{ID}01/{key}"


def gln_location(gln: str | None) -> str | None:
    """The SGLN Digital Link URI of a valid GLN, else None."""
    if gln is None or not re.fullmatch(r"\d{13}", gln) or check_digit(gln[:-1]) != gln[-1]:
        return None
    return f"{ID}414/{gln}"


def quantity_value(quantity: Decimal) -> int | float:
    """A quantity as a JSON number (EPCIS has no decimal string)."""
    return int(quantity) if quantity == quantity.to_integral_value() else float(str(quantity))


def quantity_list(lines: tuple[wiring.StepLine, ...]) -> list[dict[str, Any]]:
    """Each class once, its quantities added up."""
    totals: dict[tuple[str, str], Decimal] = {}
    for line in lines:
        if line.gtin and line.quantity > 0:
            key = (product_class(line.gtin, line.lot), line.unit)
            totals[key] = totals.get(key, Decimal(0)) + line.quantity
    return [
        {"epcClass": epc_class, "quantity": quantity_value(quantity)} | ({} if unit in PIECES else {"uom": unit})
        for (epc_class, unit), quantity in totals.items()
    ]


def _transactions(step: wiring.PhysicalStep) -> list[dict[str, str]]:
    found = [{"type": "po", "bizTransaction": f"urn:uuid:{step.order_id}"}]
    if step.shipment_id is not None:
        found.append({"type": "desadv", "bizTransaction": f"urn:uuid:{step.shipment_id}"})
    if step.receipt_id is not None:
        found.append({"type": "recadv", "bizTransaction": f"urn:uuid:{step.receipt_id}"})
    return found


def _event(step: wiring.PhysicalStep, biz_step: str, disposition: str, lines: tuple[wiring.StepLine, ...], **fields: Any) -> dict[str, Any]:
    moment = step.occurred_at if step.occurred_at.tzinfo else step.occurred_at.replace(tzinfo=UTC)
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": moment.isoformat(timespec="milliseconds"),
        "eventTimeZoneOffset": moment.isoformat()[-6:],
        "epcList": [],
        "action": "OBSERVE",
        "bizStep": biz_step,
        "disposition": disposition,
    }
    classes = quantity_list(lines)
    if classes:
        event["quantityList"] = classes
    return event | fields | {"bizTransactionList": _transactions(step)}


def events_of(step: wiring.PhysicalStep, gln: str | None = None) -> list[dict[str, Any]]:
    """The EPCIS events of one physical step (`gln`: of the milestone's place, when the
    organization that took it keeps that place among its locations)."""
    where = gln_location(step.ship_to_gln)
    at_buyer = {"bizLocation": {"id": where}} if where else {}
    to_buyer = [{"type": "owning_party", "destination": party(step.buyer_org_id)}] + ([{"type": "location", "destination": where}] if where else [])
    if step.kind == "shipped":
        return [
            _event(
                step,
                "shipping",
                "in_transit",
                step.lines,
                sourceList=[{"type": "owning_party", "source": party(step.supplier_org_id)}],
                destinationList=to_buyer,
            )
        ]
    if step.kind == "milestone":
        place = gln_location(gln or (step.place or "").strip())
        return [_event(step, MILESTONE_STEPS[step.milestone or ""], "in_transit", step.lines, **({"readPoint": {"id": place}} if place else {}))]
    if step.kind == "delivered":
        extra: dict[str, Any] = {"readPoint": {"id": where}, **at_buyer} if where else {}
        return [
            _event(
                step, "arriving", "in_progress", step.lines, **extra, destinationList=[{"type": "possessing_party", "destination": party(step.buyer_org_id)}]
            )
        ]
    if step.kind == "received":
        events = []
        if quantity_list(step.lines) or not quantity_list(step.rejected):
            events.append(_event(step, "receiving", "in_progress", step.lines, **at_buyer, destinationList=to_buyer))
        if quantity_list(step.rejected):
            events.append(_event(step, "receiving", "non_conformant", step.rejected, **at_buyer))
        return events
    raise ValueError(f"No EPCIS event for the step {step.kind!r}")


def on_physical_step(session: Session, step: wiring.PhysicalStep) -> None:
    """Record the step's events, owned by the organization that took it, shared with the
    order's parties (registered by concord.bootstrap)."""
    gln = _gln_of_place(session, step.organization_id, step.place) if step.place else None
    service.record_events(session, step.organization_id, step.user_id, events_of(step, gln), source=f"order:{step.kind}", parties=step.parties)


def _gln_of_place(session: Session, organization_id: uuid.UUID, place: str) -> str | None:
    """The GLN of the organization's location of that name (a carrier's hub, say), if any."""
    query = sa.select(Location.gln).where(Location.organization_id == organization_id, Location.name == place.strip(), Location.gln.is_not(None)).limit(1)
    return session.execute(query).scalar_one_or_none()
