"""What other domains (documents, lots, trace) call to honour engagements: `covers` for one
record, `condition` for a query; and an auditor's own event beside the grantor's of the
same eventID."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from concord import clock
from concord.catalog.models import Product
from concord.engagements import service
from concord.provenance import service as provenance
from concord.provenance.models import EpcisEvent

from tests.engagements.conftest import grant, under
from tests.provenance.helpers import document, event


def _reading(session, scene, engagement):
    grant_ = service.read_grant(session, scene.auditor.principal, uuid.UUID(engagement["id"]))
    assert grant_ is not None
    return replace(scene.auditor.principal, engagement=grant_)


def test_covers_answers_for_the_grantors_records_of_a_kind_and_date_the_engagement_covers(app, client, session, scene):
    engagement = grant(client, scene.grantor, scene.auditor, "documents", "lots")
    reader = _reading(session, scene, engagement)
    today = clock.utcnow()
    grantor = scene.grantor.org.id
    assert service.covers(session, reader, grantor, "documents", today)
    assert service.covers(session, reader, grantor, "lots", today.date())
    assert service.covers(session, reader, grantor, "documents", None)  # an undated record
    assert reader.engagement.consulted == {"documents", "lots"}
    assert not service.covers(session, reader, grantor, "documents", datetime(2020, 6, 1, tzinfo=today.tzinfo))
    assert not service.covers(session, reader, grantor, "documents", date(today.year + 1, 1, 1))
    assert not service.covers(session, reader, grantor, "orders", today)
    assert not service.covers(session, reader, scene.other.org.id, "documents", today)
    assert not service.covers(session, scene.auditor.principal, grantor, "documents", today)  # not reading under it
    with app.test_request_context():
        service.revoke(session, scene.grantor.principal, uuid.UUID(engagement["id"]))
    assert not service.covers(session, reader, grantor, "documents", today)  # revoked during the request


def test_condition_selects_the_grantors_rows_in_the_period_and_nothing_outside_an_engagement(client, session, scene):
    engagement = grant(client, scene.grantor, scene.auditor, "products", "events")
    reader = _reading(session, scene, engagement)
    products = set(session.execute(sa.select(Product.id).where(service.condition(reader, "products", Product.organization_id, None))).scalars())
    assert {str(p) for p in products} == scene.a.product_ids
    events = session.execute(
        sa.select(EpcisEvent.event_id).where(service.condition(reader, "events", EpcisEvent.organization_id, EpcisEvent.event_time))
    ).scalars()
    assert list(events) == [scene.a.event_in]
    assert session.execute(sa.select(Product.id).where(service.condition(reader, "documents", Product.organization_id, None))).first() is None
    assert session.execute(sa.select(Product.id).where(service.condition(scene.auditor.principal, "products", Product.organization_id, None))).first() is None


def test_the_auditors_own_event_comes_before_the_grantors_of_the_same_event_id(app, client, session, scene):
    with app.test_request_context():
        provenance.capture(session, scene.auditor.principal, document(event(scene.a.event_in, (clock.utcnow() - timedelta(days=1)).isoformat())))
        session.commit()
    engagement = grant(client, scene.grantor, scene.auditor, "events")
    url = "/api/v1/epcis/events/" + scene.a.event_in
    answer = client.get(url, headers=under(scene.auditor, engagement))
    assert answer.status_code == 200
    events = answer.get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(events) == 1
    mine = session.execute(sa.select(EpcisEvent).where(EpcisEvent.organization_id == scene.auditor.org.id)).scalar_one()
    assert events[0]["eventTime"] == mine.document["eventTime"]
