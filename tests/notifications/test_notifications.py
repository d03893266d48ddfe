"""notify(): one notification per organization and one delivery per matching active webhook,
in the caller's transaction; reading and marking notifications through the API."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord.notifications import service
from concord.notifications.models import Notification, WebhookDelivery
from concord.tenancy.models import Role

from tests import factories
from tests.notifications.helpers import count, subscribe
from tests.security.helpers import audit_entries


def test_notify_tells_each_organization_once_and_queues_one_delivery_per_matching_active_webhook(app, client, session, world):
    everything = subscribe(client, world.buyer)
    subscribe(client, world.supplier, events=["order.acknowledged"])
    paused = subscribe(client, world.supplier, events=["order.issued"])
    assert client.patch(f"/api/v1/webhooks/{paused['id']}", json={"active": False}, headers=world.supplier.headers).status_code == 200
    subscribe(client, world.carrier)  # not told of this event
    order_id = uuid.uuid4()

    service.notify(
        session,
        "order.issued",
        org_ids=[world.buyer.org.id, world.supplier.org.id, world.buyer.org.id],
        object_type="purchase_order",
        object_id=order_id,
        summary="PO-1 issued to Supplier One Ltd",
        data={"number": "PO-1", "total": Decimal("1250.00"), "currency": "EUR"},
    )
    session.commit()

    notifications = session.execute(sa.select(Notification)).scalars().all()
    assert sorted(n.organization_id for n in notifications) == sorted([world.buyer.org.id, world.supplier.org.id])
    assert len({n.event_id for n in notifications}) == 1
    assert notifications[0].data == {"number": "PO-1", "total": "1250.00", "currency": "EUR"}
    (delivery,) = session.execute(sa.select(WebhookDelivery)).scalars().all()
    assert str(delivery.subscription_id) == everything["id"]
    assert delivery.event_id == notifications[0].event_id and delivery.state == "pending" and delivery.attempts == 0
    assert delivery.payload == {
        "id": str(delivery.event_id),
        "type": "order.issued",
        "created_at": notifications[0].created_at.isoformat(),
        "data": {
            "number": "PO-1",
            "total": "1250.00",
            "currency": "EUR",
            "object_type": "purchase_order",
            "object_id": str(order_id),
            "summary": "PO-1 issued to Supplier One Ltd",
        },
    }


def test_notify_writes_nothing_when_the_caller_rolls_back(app, client, session, world):
    subscribe(client, world.buyer)
    service.notify(session, "dispute.opened", org_ids=[world.buyer.org.id], object_type="dispute", object_id="d-1", summary="A dispute")
    assert session.execute(sa.select(sa.func.count()).select_from(Notification)).scalar_one() == 1  # written, not committed
    session.rollback()
    assert count(app, Notification) == 0 and count(app, WebhookDelivery) == 0


@pytest.mark.parametrize("event", ["order", "Order.Issued", "order.issued.now", "order.issued\n", ".issued", "x" * 60 + ".abcde"])
def test_notify_refuses_a_malformed_event_name(session, world, event):
    with pytest.raises(ValueError, match="Event names"):
        service.notify(session, event, org_ids=[world.buyer.org.id], object_type="x", object_id="1", summary="s")


def test_any_member_lists_its_notifications_and_marks_them_read_once(app, client, session, world, frozen_clock):
    with app.test_request_context():
        _, viewer_token = factories.add_user(session, world.supplier, Role.VIEWER)
    for n in range(3):
        frozen_clock.advance(seconds=1)
        service.notify(session, "shipment.milestone", org_ids=[world.supplier.org.id], object_type="shipment", object_id=f"s-{n}", summary=f"Milestone {n}")
    service.notify(session, "order.issued", org_ids=[world.buyer.org.id], object_type="purchase_order", object_id="o-1", summary="Not the supplier's")
    session.commit()
    viewer = factories.bearer(viewer_token)

    listed = client.get("/api/v1/notifications?limit=2", headers=viewer).get_json()
    assert [item["object_id"] for item in listed["items"]] == ["s-2", "s-1"] and listed["next_cursor"]
    rest = client.get(f"/api/v1/notifications?limit=2&cursor={listed['next_cursor']}", headers=viewer).get_json()
    assert [item["object_id"] for item in rest["items"]] == ["s-0"] and rest["next_cursor"] is None
    first = listed["items"][0]
    assert first["read_at"] is None and first["event"] == "shipment.milestone" and first["summary"] == "Milestone 2"

    read = client.post(f"/api/v1/notifications/{first['id']}/read", headers=viewer)
    assert read.status_code == 200 and read.get_json()["read_at"]
    again = client.post(f"/api/v1/notifications/{first['id']}/read", headers=world.supplier.headers)
    assert again.get_json()["read_at"] == read.get_json()["read_at"]
    assert [e.object_id for e in audit_entries(app, action="notification:read")] == [first["id"]]
    unread = client.get("/api/v1/notifications?unread=true", headers=world.supplier.headers).get_json()["items"]
    assert [item["object_id"] for item in unread] == ["s-1", "s-0"]
    assert [item["id"] for item in client.get("/api/v1/notifications?unread=false", headers=viewer).get_json()["items"]] == [first["id"]]

    # Another organization's notification is not there to be read.
    assert client.post(f"/api/v1/notifications/{first['id']}/read", headers=world.buyer.headers).status_code == 404
    assert [item["object_id"] for item in client.get("/api/v1/notifications", headers=world.buyer.headers).get_json()["items"]] == ["o-1"]
