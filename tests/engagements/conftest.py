"""Fixtures of the engagement suite: each request is seen on its own (the plugin's detached
variants), and a scene: Buyer One (the grantor, A) with an auditor partner, A's order with a
shipment, its products and EPCIS events, and the same of Buyer Two (B), who granted nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from concord import clock
from concord.catalog.models import Product
from concord.orders.models import PurchaseOrder, Shipment
from concord.provenance import service as provenance
from concord.tenancy.models import Relation

from tests import factories, orders_factory
from tests.provenance.helpers import document, event

ENGAGEMENTS = "/api/v1/engagements"


@pytest.fixture
def session(detached_session):
    return detached_session


@pytest.fixture
def world(detached_world):
    return detached_world


@pytest.fixture
def client(detached_client):
    return detached_client


@dataclass
class Holdings:
    """What one organization has that an auditor might read."""

    order: PurchaseOrder
    shipment: Shipment
    product: Product
    product_ids: set[str]  # every product of the organization (its order's lines)
    event_in: str  # an EPCIS event dated this year
    event_old: str  # one dated 2020


@dataclass
class Scene:
    world: factories.World
    grantor: factories.Member  # A: Buyer One, the auditor's party
    other: factories.Member  # B: Buyer Two, who granted nothing
    auditor: factories.Member
    a: Holdings
    b: Holdings


def _holdings(session, buyer: factories.Member, supplier: factories.Member, carrier: factories.Member, arbiter: factories.Member, tag: str) -> Holdings:
    shipment, _dispute = orders_factory.shipped_and_disputed(session, buyer, supplier, carrier, arbiter)
    order = session.get(PurchaseOrder, shipment.order_id)
    product = session.get(Product, order.lines[0].product_id)
    now = clock.utcnow().replace(microsecond=0).isoformat()
    provenance.capture(
        session,
        buyer.principal,
        document(event(f"urn:uuid:{tag}-in", now), event(f"urn:uuid:{tag}-old", "2020-06-01T10:00:00+02:00")),
    )
    products = {str(line.product_id) for line in order.lines}
    return Holdings(order=order, shipment=shipment, product=product, product_ids=products, event_in=f"urn:uuid:{tag}-in", event_old=f"urn:uuid:{tag}-old")


@pytest.fixture
def scene(app, session, world) -> Scene:
    with app.test_request_context():
        factories.partner(session, Relation.PARTY_AUDITOR, world.buyer, world.auditor)
        factories.partner(session, Relation.BUYER_SUPPLIER, world.buyer2, world.supplier)
        a = _holdings(session, world.buyer, world.supplier, world.carrier, world.operator, "a")
        b = _holdings(session, world.buyer2, world.supplier, world.carrier, world.operator, "b")
        session.commit()
    return Scene(world=world, grantor=world.buyer, other=world.buyer2, auditor=world.auditor, a=a, b=b)


def this_year() -> dict[str, str]:
    today = clock.utcnow().date()
    return {"period_from": f"{today.year}-01-01", "period_to": f"{today.year}-12-31"}


def later(days: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


def grant(client, member: factories.Member, auditor: factories.Member, *kinds: str, **overrides) -> dict:
    body = {"auditor_id": str(auditor.org.id), "kinds": list(kinds or ("orders", "products", "events")), **this_year(), "valid_until": later(), **overrides}
    response = client.post(ENGAGEMENTS, json=body, headers=member.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def under(member: factories.Member, engagement: dict | str) -> dict[str, str]:
    """The auditor's headers reading under the engagement."""
    engagement_id = engagement if isinstance(engagement, str) else engagement["id"]
    return {**member.headers, "Concord-Engagement": engagement_id}
