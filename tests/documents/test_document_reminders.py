"""Expiry reminders, a round job of the ledger worker: the owner is told once that a
document expires within DOCUMENT_REMINDER_DAYS and once that it has expired, in the portal
and through its webhooks."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from concord import wiring
from concord.audit.models import AuditEntry
from concord.db import database
from concord.documents import service
from concord.notifications import service as notifications
from concord.notifications.models import Notification, WebhookDelivery

from tests.documents.helpers import upload


def notices(app, event: str | None = None) -> list[Notification]:
    with database(app).sessionmaker() as session:
        query = sa.select(Notification).where(Notification.event.like("document.%")).order_by(Notification.created_at)
        if event:
            query = query.where(Notification.event == event)
        return list(session.execute(query).scalars())


def test_the_reminders_are_a_round_job_of_the_worker(app):
    assert service.remind_expiring in wiring.of(app).round_jobs


def test_each_reminder_is_sent_once_before_and_once_after_expiry(app, session, client, world, chain_worker, frozen_clock):
    today = frozen_clock.now.date()
    headers = world.supplier.headers
    with app.test_request_context():
        notifications.create_subscription(session, world.supplier.principal, {"url": "https://erp.example.com/hooks", "events": ["document.expiring"]})
    session.commit()
    soon = upload(client, headers, document_number="SOON", valid_from=str(today - timedelta(days=300)), valid_until=str(today + timedelta(days=10)))
    later = upload(client, headers, document_number="LATER", valid_from=str(today), valid_until=str(today + timedelta(days=31)))
    past = upload(client, headers, document_number="PAST", valid_from=str(today - timedelta(days=400)), valid_until=str(today - timedelta(days=1)))
    open_ended = upload(client, headers, document_number="REPORT", valid_from=str(today), valid_until=None)
    assert all(r.status_code == 201 for r in (soon, later, past, open_ended))
    soon_id, past_id = soon.get_json()["id"], past.get_json()["id"]

    assert service.remind_expiring(app) == 2
    assert service.remind_expiring(app) == 0  # each reminder once, however often the job runs
    sent = {(n.event, n.object_id, n.organization_id) for n in notices(app)}
    assert sent == {("document.expiring", soon_id, world.supplier.org.id), ("document.expired", past_id, world.supplier.org.id)}
    (expiring,) = notices(app, "document.expiring")
    assert "expires on" in expiring.summary and "(in 10 days)" in expiring.summary
    with database(app).sessionmaker() as check:
        hooked = check.execute(sa.select(WebhookDelivery.event).where(WebhookDelivery.event.like("document.%"))).scalars().all()
        assert hooked == ["document.expiring"]  # the webhook listens to that event only
        reminded = check.execute(sa.select(AuditEntry.object_id).where(AuditEntry.action == "document:reminded")).scalars().all()
        assert sorted(reminded) == sorted([soon_id, past_id])

    # The portal and the API show the badge the reminders speak of.
    listed = {item["document_number"]: item["status"] for item in client.get("/api/v1/documents", headers=headers).get_json()["items"]}
    assert listed == {"SOON": "expiring", "LATER": "valid", "PAST": "expired", "REPORT": "valid"}
    expiring_only = client.get("/api/v1/documents?expiring=true", headers=headers).get_json()["items"]
    assert sorted(item["document_number"] for item in expiring_only) == ["PAST", "SOON"]

    # A day later LATER enters the 30-day window; eleven days later SOON has expired: one notice each, once.
    frozen_clock.advance(days=1)
    assert service.remind_expiring(app) == 1
    frozen_clock.advance(days=10)
    assert service.remind_expiring(app) == 1
    assert service.remind_expiring(app) == 0
    assert [(n.event, n.object_id) for n in notices(app) if n.object_id == soon_id] == [("document.expiring", soon_id), ("document.expired", soon_id)]
    assert len(notices(app)) == 4


def test_the_reminder_window_is_configurable(app, client, world, chain_worker, frozen_clock, monkeypatch):
    today = frozen_clock.now.date()
    monkeypatch.setitem(app.config, "DOCUMENT_REMINDER_DAYS", 90)
    assert upload(client, world.supplier.headers, valid_from=str(today), valid_until=str(today + timedelta(days=60))).status_code == 201
    assert service.remind_expiring(app) == 1
    (notice,) = notices(app, "document.expiring")
    assert notice.organization_id == world.supplier.org.id
