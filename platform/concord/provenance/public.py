"""What anyone may read of a product through its GS1 Digital Link: the brand owner's choice.

The brand owner is the organization that made the product public under its GTIN
(`catalog.service.published_product`). Its choice (`Product.public_view`):

- none: nothing (the link answers that nothing about it is public);
- origin: the verified origin summary: the product, its brand owner, the lot or serial, where
  and when it was produced, and whether its events are anchored on chain;
- custody: that summary and every event of the lot: what happened (type, action, business
  step, disposition), when, where (read point, business location), who recorded it, with
  the event's hash. Never business transactions (order and invoice numbers), sources and
  destinations, quantities, sensor data or extensions: private business data stays private.

The events are those the brand owner itself sees (its own, and those shared with it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord.catalog import service as catalog
from concord.catalog.models import Product, PublicView
from concord.errors import NotFound
from concord.provenance import sharing
from concord.provenance.digital_link import Link
from concord.provenance.models import BatchState, EpcisEvent, EventIdentifier, ProvenanceBatch
from concord.tenancy.models import Organization

#: Chain transactions anchoring an event are about this subject type (ledger.service.anchor_proof).
#: Business steps that make or mark a lot or item (CBV 2.0), and the roles naming what an event made.
_PRODUCING_STEPS = ("commissioning", "creating_class_instance", "producing", "assembling")
_MADE_ROLES = ("output_class", "output_epc")
MAX_EVENTS = 500  # the most events a public page lists


class NothingPublic(NotFound):
    """A product whose brand owner shows nothing (or an unknown one)."""


@dataclass
class PublicEvent:
    event_type: str
    event_time: datetime
    offset: str
    action: str | None
    biz_step: str | None
    disposition: str | None
    read_point: str | None
    biz_location: str | None
    recorded_by: str
    hash_id: str
    anchored: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "type": self.event_type,
            "eventTime": self.event_time.isoformat(),
            "eventTimeZoneOffset": self.offset,
            "action": self.action,
            "bizStep": self.biz_step,
            "disposition": self.disposition,
            "readPoint": self.read_point,
            "bizLocation": self.biz_location,
            "recordedBy": self.recorded_by,
            "eventHash": self.hash_id,
            "anchored": self.anchored,
        }


@dataclass
class Publication:
    """What the public sees of one Digital Link."""

    link: Link
    product: Product
    brand_owner: str
    view: PublicView
    production: PublicEvent | None = None
    event_count: int = 0
    anchored_count: int = 0
    events: list[PublicEvent] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "view": str(self.view),
            "product": {"name": self.product.name, "gtin": self.link.gtin, "description": self.product.description},
            "brandOwner": self.brand_owner,
        }
        if self.link.lot is not None:
            body["lot"] = self.link.lot
        if self.link.serial is not None:
            body["serial"] = self.link.serial
        if self.link.lot is not None or self.link.serial is not None:
            body["origin"] = {
                "production": self.production.as_json() if self.production else None,
                "eventCount": self.event_count,
                "anchoredEventCount": self.anchored_count,
                "allAnchored": self.event_count > 0 and self.anchored_count == self.event_count,
            }
        if self.view == PublicView.CUSTODY:
            body["chainOfCustody"] = [event.as_json() for event in self.events]
        return body


def _term(uri: str | None, prefix: str) -> str | None:
    """A CBV term as people read it (`shipping` for https://ref.gs1.org/cbv/BizStep-shipping)."""
    if uri is None:
        return None
    return uri.rsplit("/", 1)[-1].removeprefix(prefix)


def _events(session: Session, owner_id, link: Link) -> list[tuple[EpcisEvent, set[str]]]:
    """The events naming the link's lot or item that the brand owner sees, oldest first, with
    the roles in which each names it."""
    rows = session.execute(
        sa.select(EpcisEvent, EventIdentifier.role)
        .join(EventIdentifier, EventIdentifier.event_pk == EpcisEvent.id)
        .where(EventIdentifier.value == link.identifier, sharing.visible_to(owner_id))
        .order_by(EpcisEvent.event_time, EpcisEvent.id)
    ).all()
    found: dict[Any, tuple[EpcisEvent, set[str]]] = {}
    for event, role in rows:
        found.setdefault(event.id, (event, set()))[1].add(role)
    return list(found.values())[:MAX_EVENTS]


def publication(session: Session, link: Link) -> Publication:
    """What the public sees of `link`, or NothingPublic (404) when the brand owner shows nothing."""
    product = catalog.published_product(session, link.gtin)
    if product is None or product.public_view == PublicView.NONE:
        # One answer for both: whether some organization's (private) catalog holds the GTIN is
        # nobody else's business.
        raise NothingPublic("Nothing about this product is public on this platform.")
    owner = session.get(Organization, product.organization_id)
    result = Publication(link=link, product=product, brand_owner=owner.legal_name if owner else "", view=product.public_view)
    if link.lot is None and link.serial is None:
        return result
    events = _events(session, product.organization_id, link)
    anchored = {
        str(event_pk)
        for event_pk in session.execute(
            sa.select(EpcisEvent.id)
            .join(ProvenanceBatch, ProvenanceBatch.id == EpcisEvent.batch_id)
            .where(EpcisEvent.id.in_([event.id for event, _ in events]), ProvenanceBatch.state == BatchState.ANCHORED)
        ).scalars()
    }
    names: dict[Any, str] = {
        org_id: name
        for org_id, name in session.execute(
            sa.select(Organization.id, Organization.legal_name).where(Organization.id.in_({e.organization_id for e, _ in events}))
        )
    }
    public = [
        PublicEvent(
            event_type=event.event_type,
            event_time=event.event_time,
            offset=event.event_time_offset,
            action=event.action,
            biz_step=_term(event.biz_step, "BizStep-"),
            disposition=_term(event.disposition, "Disp-"),
            read_point=event.read_point,
            biz_location=event.biz_location,
            recorded_by=names.get(event.organization_id, ""),
            hash_id=event.hash_id,
            anchored=str(event.id) in anchored,
        )
        for event, _ in events
    ]
    made = [p for p, (_, roles) in zip(public, events, strict=True) if roles & set(_MADE_ROLES) or p.biz_step in _PRODUCING_STEPS]
    result.production = made[0] if made else None
    result.event_count, result.anchored_count = len(public), sum(p.anchored for p in public)
    if product.public_view == PublicView.CUSTODY:
        result.events = public
    return result
