"""What a supplier records of its own work, as the portal's forms give it: production as a
TransformationEvent (input lots -> an output lot, with quantities) and packing as an
AggregationEvent (a logistic unit, by its SSCC, and the lots packed in it). Both go through
the path every event takes (`service.record_events`: validated, hashed, stored), owned by
the caller's organization; the API's `POST /epcis/capture` takes the same events as
documents.

Products are the caller's own catalog products with a GTIN; a lot number is GS1's (AI 10:
at most 20 characters); a location, when given, is one of the caller's with a GLN.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.catalog import gs1
from concord.catalog.models import Location, Product
from concord.errors import ValidationFailed
from concord.policy import Principal
from concord.provenance import service, steps
from concord.provenance.models import EpcisEvent

LOT_LENGTH = 20
SSCC_LENGTH = 18
MAX_ROWS = 50
MAX_QUANTITY = Decimal("1000000000")
CLOCK_SKEW = timedelta(minutes=5)  # a clock a little ahead of ours is not "the future"


def gtin_products(session: Session, principal: Principal) -> list[Product]:
    """The caller's active products that have a GTIN (what a form offers)."""
    query = sa.select(Product).where(policy.visible(principal, Product), Product.active.is_(True), Product.gtin.is_not(None)).order_by(Product.sku)
    return list(session.execute(query).scalars())


def gln_locations(session: Session, principal: Principal) -> list[Location]:
    query = sa.select(Location).where(policy.visible(principal, Location), Location.active.is_(True), Location.gln.is_not(None)).order_by(Location.name)
    return list(session.execute(query).scalars())


def _good_quantity(quantity: Any) -> bool:
    return (
        isinstance(quantity, Decimal)
        and quantity.is_finite()
        and 0 < quantity <= MAX_QUANTITY
        and isinstance(exponent := quantity.as_tuple().exponent, int)
        and exponent >= -3
    )


def _goods(session: Session, principal: Principal, rows: Any, where: str, errors: dict[str, Any], *, at_least: int = 1) -> list[dict[str, Any]]:
    """Quantity-list entries of rows of (product_id, lot, quantity), their mistakes added to
    `errors` under `where.<index>.<field>`."""
    products = {p.id: p for p in gtin_products(session, principal)}
    entries: list[dict[str, Any]] = []
    rows = rows if isinstance(rows, list) else []
    if len(rows) < at_least:
        errors[where] = [f"Give at least {at_least}."]
    if len(rows) > MAX_ROWS:
        errors[where] = [f"At most {MAX_ROWS}."]
        return []
    for index, given in enumerate(rows):
        row: dict[str, Any] = given if isinstance(given, dict) else {}
        product_id, quantity = row.get("product_id"), row.get("quantity")
        product = products.get(product_id) if isinstance(product_id, uuid.UUID) else None
        lot = str(row.get("lot") or "").strip()
        if product is None:
            errors[f"{where}.{index}.product_id"] = ["Choose one of your products with a GTIN."]
        if not lot:
            errors[f"{where}.{index}.lot"] = ["Give the lot number."]
        elif len(lot) > LOT_LENGTH:
            errors[f"{where}.{index}.lot"] = [f"At most {LOT_LENGTH} characters (GS1's lot number)."]
        if not isinstance(quantity, Decimal) or not _good_quantity(quantity):
            errors[f"{where}.{index}.quantity"] = [f"A positive quantity up to {MAX_QUANTITY}, with at most 3 decimals."]
        elif product is not None and product.gtin and lot and len(lot) <= LOT_LENGTH:
            entries.append(
                {"epcClass": steps.product_class(product.gtin, lot), "quantity": steps.quantity_value(quantity)}
                | ({} if product.unit_of_measure in steps.PIECES else {"uom": product.unit_of_measure})
            )
    return entries


def _when_and_where(session: Session, principal: Principal, data: dict[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
    moment = data.get("occurred_at") or clock.utcnow()
    if isinstance(moment, datetime) and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > clock.utcnow() + CLOCK_SKEW:
        errors["occurred_at"] = ["Cannot be in the future."]
    fields: dict[str, Any] = {"eventTime": moment.isoformat(timespec="milliseconds"), "eventTimeZoneOffset": moment.isoformat()[-6:]}
    location_id = data.get("location_id")
    if location_id is not None:
        location = {loc.id: loc for loc in gln_locations(session, principal)}.get(location_id)
        if location is None:
            errors["location_id"] = ["Choose one of your locations with a GLN."]
        elif (place := steps.gln_location(location.gln)) is not None:
            fields |= {"readPoint": {"id": place}, "bizLocation": {"id": place}}
    return fields


def _record(session: Session, principal: Principal, event: dict[str, Any], source: str) -> EpcisEvent:
    rows = service.record_events(session, principal.org.id, principal.user.id, [event], source=source)
    if not rows:
        raise ValidationFailed({"_form": ["Your organization has already recorded exactly this event."]})
    session.commit()
    return rows[0]


def production_event(session: Session, principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """The TransformationEvent of a production (commissioning, active): input lots consumed,
    an output lot made; every mistake raised at once, nothing written."""
    errors: dict[str, Any] = {}
    inputs = _goods(session, principal, data.get("inputs"), "inputs", errors)
    outputs = _goods(session, principal, [data.get("output") or {}], "output", errors)
    common = _when_and_where(session, principal, data, errors)
    if not errors and {e["epcClass"] for e in inputs} & {e["epcClass"] for e in outputs}:
        errors["output.0.lot"] = ["The output lot cannot be one of the inputs."]
    if errors:
        raise ValidationFailed({key.replace("output.0.", "output."): value for key, value in errors.items()})
    event = {"type": "TransformationEvent", **common, "bizStep": "commissioning", "disposition": "active"}
    return event | {"inputQuantityList": inputs, "outputQuantityList": outputs}


def produce(session: Session, principal: Principal, data: dict[str, Any]) -> EpcisEvent:
    """Record a production (see `production_event`)."""
    policy.require_writer(principal)
    return _record(session, principal, production_event(session, principal, data), "portal:production")


def sscc_problem(value: str) -> str | None:
    return gs1.problem(value, (SSCC_LENGTH,), "SSCC")


def packing_event(session: Session, principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """The AggregationEvent of a packing (ADD, packing, container_closed): lots put into a
    logistic unit named by its SSCC; every mistake raised at once, nothing written."""
    errors: dict[str, Any] = {}
    sscc = str(data.get("sscc") or "").strip()
    if (why := sscc_problem(sscc)) is not None:
        errors["sscc"] = [why]
    contents = _goods(session, principal, data.get("contents"), "contents", errors)
    common = _when_and_where(session, principal, data, errors)
    if errors:
        raise ValidationFailed(errors)
    event = {"type": "AggregationEvent", **common, "parentID": f"https://id.gs1.org/00/{sscc}", "childEPCs": [], "action": "ADD"}
    return event | {"bizStep": "packing", "disposition": "container_closed", "childQuantityList": contents}


def pack(session: Session, principal: Principal, data: dict[str, Any]) -> EpcisEvent:
    """Record a packing (see `packing_event`)."""
    policy.require_writer(principal)
    return _record(session, principal, packing_event(session, principal, data), "portal:packing")


def form_mistakes(session: Session, principal: Principal, build, data: dict[str, Any]) -> dict[str, Any]:
    """The mistakes `build` (production_event or packing_event) finds in what a refused form
    could give, so that the page names every one in one pass."""
    try:
        build(session, principal, data)
    except ValidationFailed as refused:
        return dict(refused.errors or {})
    return {}


def recent_events(session: Session, principal: Principal, *, kinds: tuple[str, ...] | None = None, limit: int = 50) -> list[EpcisEvent]:
    query = sa.select(EpcisEvent).where(policy.visible(principal, EpcisEvent)).order_by(EpcisEvent.event_time.desc(), EpcisEvent.id).limit(limit)
    if kinds:
        query = query.where(EpcisEvent.event_type.in_(kinds))
    return list(session.execute(query).scalars())
