"""Capturing EPCIS documents: every official example goes in and comes back as it was sent;
a document the schema refuses, or an eventID already used, changes nothing."""

from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa
from concord.audit.models import AuditEntry
from concord.provenance.models import CaptureJob, EpcisEvent, EventBizTransaction, EventIdentifier
from concord.tenancy.models import Role
from concord_verify.event_hash import event_hash_id

from tests import factories
from tests.provenance.examples import events_of, example_names, load
from tests.provenance.helpers import CAPTURE, EVENTS, capture, document, event, event_url, events_of_answer


def _counts(session) -> tuple[int, ...]:
    session.expire_all()
    return tuple(
        session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one() for model in (CaptureJob, EpcisEvent, EventIdentifier, EventBizTransaction)
    )


def _capture_audits(session) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "epcis:captured")).scalar_one()


@pytest.mark.parametrize("name", example_names())
@pytest.mark.parametrize("content_type", ["application/json", "application/ld+json"])
def test_every_official_example_is_captured_and_queried_back_as_sent(client, session, world, name, content_type):
    doc = load(name)
    headers = world.supplier.headers
    response = capture(client, headers, doc, content_type)
    assert response.status_code == 202, response.get_json()
    job = client.get(response.headers["Location"], headers=headers)
    assert job.status_code == 200
    assert job.get_json() | {"captureID": None, "createdAt": None, "finishedAt": None} == {
        "captureID": None,
        "createdAt": None,
        "finishedAt": None,
        "running": False,
        "success": True,
        "captureErrorBehaviour": "rollback",
        "eventCount": len(events_of(doc)),
        "errors": [],
    }
    sent = events_of(doc)
    stored = {row.event_id: row for row in session.execute(sa.select(EpcisEvent)).scalars()}
    expected = []
    for original in sent:
        hash_id = event_hash_id(original, doc["@context"])
        event_id = original.get("eventID", hash_id)  # an event without an id gets its hash ID
        assert stored[event_id].hash_id == hash_id
        back = events_of_answer(client.get(event_url(event_id), headers=headers))
        assert back == [{**original, "eventID": event_id}]  # every field, offsets as given
        expected.append({**original, "eventID": event_id})
    listed = events_of_answer(client.get(f"{EVENTS}?perPage=200", headers=headers))
    key = lambda e: e["eventID"]  # noqa: E731
    assert sorted(listed, key=key) == sorted(expected, key=key)
    assert _capture_audits(session) == 1


def test_extensions_and_offsets_are_kept_exactly(client, world):
    doc = load("Example_9.6.1-ObjectEvent-with-error-declaration.jsonld")
    assert capture(client, world.supplier.headers, doc).status_code == 202
    second = events_of(doc)[1]
    (back,) = events_of_answer(client.get(event_url(second["eventID"]), headers=world.supplier.headers))
    assert back["example:myField"] == second["example:myField"]
    assert back["eventTime"] == second["eventTime"] and back["eventTimeZoneOffset"] == "-06:00"
    answer = client.get(event_url(second["eventID"]), headers=world.supplier.headers).get_json()
    assert {"example": "http://ns.example.com/epcis/"} in answer["@context"]  # the extension's prefix still means something


def test_schema_breaking_document_gets_422_naming_every_mistake_by_json_pointer_and_writes_nothing(client, session, world):
    good = event("urn:uuid:9a1c0001-0000-4000-8000-000000000001", "2024-01-01T10:00:00+02:00")
    no_time = event("urn:uuid:9a1c0001-0000-4000-8000-000000000002", "2024-01-01T10:00:00Z")
    del no_time["eventTime"]
    bad_action = event("urn:uuid:9a1c0001-0000-4000-8000-000000000003", "2024-01-01T10:00:00Z", action="TELEPORT")
    bad_time = event("urn:uuid:9a1c0001-0000-4000-8000-000000000004", "yesterday at noon")
    before = _counts(session)
    response = capture(client, world.supplier.headers, document(good, no_time, bad_action, bad_time))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    assert "/epcisBody/eventList/1/eventTime" in errors
    assert "/epcisBody/eventList/2/action" in errors
    assert "/epcisBody/eventList/3/eventTime" in errors
    assert not [pointer for pointer in errors if pointer.startswith("/epcisBody/eventList/0/")]
    assert _counts(session) == before and _capture_audits(session) == 0


@pytest.mark.parametrize(
    ("body", "content_type", "status", "pointer"),
    [
        (b"{not json", "application/json", 400, "json"),
        (b'{"type": "EPCISDocument"}', "text/plain", 400, "Content-Type"),
        (b"[]", "application/json", 422, "_schema"),
        (b'{"type": "EPCISDocument", "zz": 1}', "application/json", 422, "/zz"),
        (
            b'{"type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2024-01-05T10:00:00Z", "epcisBody": {"eventList": []}}',
            "application/json",
            422,
            "/@context",
        ),
        (b'{"type": "Nonsense"}', "application/ld+json", 422, "/type"),
    ],
)
def test_what_is_not_an_epcis_document_is_refused_with_a_pointer(client, session, world, body, content_type, status, pointer):
    response = client.post(CAPTURE, data=body, headers={**world.supplier.headers, "Content-Type": content_type})
    assert response.status_code == status, response.get_json()
    assert pointer in response.get_json()["errors"]
    assert _counts(session) == (0, 0, 0, 0)


def test_only_contexts_held_locally_are_accepted(client, world):
    doc = document(event("urn:uuid:9a1c0002-0000-4000-8000-000000000001", "2024-01-01T10:00:00Z"))
    doc["@context"] = ["https://attacker.example/epcis-context.jsonld"]
    response = capture(client, world.supplier.headers, doc)
    assert response.status_code == 422
    assert "/@context/0" in response.get_json()["errors"]


def test_nan_and_unstorable_text_are_refused_by_pointer(client, world):
    doc = document(event("urn:uuid:9a1c0003-0000-4000-8000-000000000001", "2024-01-01T10:00:00Z", **{"example:weight": float("nan"), "example:note": "a\x00b"}))
    response = client.post(CAPTURE, data=__import__("json").dumps(doc), headers={**world.supplier.headers, "Content-Type": "application/json"})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert "/epcisBody/eventList/0/example:weight" in errors and "/epcisBody/eventList/0/example:note" in errors


def test_an_event_id_names_one_event_of_an_organization(client, session, world):
    first = event("urn:uuid:9a1c0004-0000-4000-8000-000000000001", "2024-01-01T10:00:00Z")
    second = event("urn:uuid:9a1c0004-0000-4000-8000-000000000002", "2024-01-01T11:00:00Z")
    twice = capture(client, world.supplier.headers, document(first, second, copy.deepcopy(first)))
    assert twice.status_code == 409
    assert list(twice.get_json()["errors"]) == ["/epcisBody/eventList/2/eventID"]
    assert _counts(session) == (0, 0, 0, 0)
    assert capture(client, world.supplier.headers, document(first)).status_code == 202
    before = _counts(session)
    again = capture(client, world.supplier.headers, document(second, first))
    assert again.status_code == 409
    assert list(again.get_json()["errors"]) == ["/epcisBody/eventList/1/eventID"]
    assert _counts(session) == before  # not even `second`, which was new
    # Another organization keeps its own ids.
    assert capture(client, world.buyer.headers, document(first)).status_code == 202


def test_examples_sharing_an_event_id_conflict_and_one_event_in_two_spellings_shares_its_hash(client, session, world):
    assert capture(client, world.supplier.headers, load("Example_9.6.1-ObjectEvent.jsonld")).status_code == 202
    corrected = capture(client, world.supplier.headers, load("Example_9.6.1-ObjectEvent-with-error-declaration.jsonld"))
    assert corrected.status_code == 409  # its second event reuses the eventID of 9.6.1's second event
    assert list(corrected.get_json()["errors"]) == ["/epcisBody/eventList/1/eventID"]
    # The transformation example written with EPC URIs and with Digital Link URIs: one event.
    urns, links = load("Example_9.6.4-TransformationEvent.jsonld"), load("Example_9.6.4-TransformationEventWithDigitalLink.jsonld")
    links_event = events_of(links)[0]
    links_event["eventID"] = "urn:uuid:9a1c0005-0000-4000-8000-000000000001"
    for doc in (urns, links):
        assert capture(client, world.supplier.headers, doc).status_code == 202
    hashes = {row.event_id: row.hash_id for row in session.execute(sa.select(EpcisEvent).where(EpcisEvent.event_type == "TransformationEvent")).scalars()}
    assert len(hashes) == 2 and len(set(hashes.values())) == 1


def test_viewers_read_but_do_not_capture(app, client, session, world):
    with app.test_request_context():
        _viewer, token = factories.add_user(session, world.supplier, Role.VIEWER)
    session.commit()
    response = capture(client, factories.bearer(token), load("Example_9.6.2-ObjectEvent.jsonld"))
    assert response.status_code == 403
    assert client.get(EVENTS, headers=factories.bearer(token)).status_code == 200


def test_capture_needs_a_token(client):
    assert capture(client, {}, load("Example_9.6.2-ObjectEvent.jsonld")).status_code == 401


def test_another_organization_gets_404_for_events_and_jobs_and_sees_none_listed(client, world):
    doc = load("Example_9.6.1-ObjectEvent.jsonld")
    location = capture(client, world.supplier.headers, doc).headers["Location"]
    event_id = events_of(doc)[0]["eventID"]
    for url in (location, event_url(event_id)):
        mine = client.get(url, headers=world.supplier.headers)
        assert mine.status_code == 200
        theirs = client.get(url, headers=world.buyer.headers)
        assert theirs.status_code == 404 and theirs.mimetype == "application/problem+json"
    assert events_of_answer(client.get(EVENTS, headers=world.buyer.headers)) == []
    assert client.get(f"{CAPTURE}/{'0' * 8}-0000-4000-8000-{'0' * 12}", headers=world.supplier.headers).status_code == 404
    assert client.get(event_url("urn:uuid:never-captured"), headers=world.supplier.headers).status_code == 404


def test_an_epcis_query_document_is_captured_like_a_document(client, world):
    doc = load("Example_9.6.2-ObjectEvent.jsonld")
    query_document = {
        "@context": doc["@context"],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": doc["creationDate"],
        "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": events_of(doc)}}},
    }
    response = capture(client, world.supplier.headers, query_document)
    assert response.status_code == 202, response.get_json()
    assert events_of_answer(client.get(EVENTS, headers=world.supplier.headers)) == events_of(doc)


def test_a_capture_holds_at_most_the_capture_limit(client, session, world):
    from concord.provenance.service import CAPTURE_LIMIT

    many = [event(f"urn:uuid:00000000-0000-4000-8000-{n:012d}", "2024-02-01T10:00:00Z") for n in range(CAPTURE_LIMIT + 1)]
    response = capture(client, world.supplier.headers, document(*many))
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["/epcisBody/eventList"]
    assert _counts(session) == (0, 0, 0, 0)


def test_a_retried_capture_with_an_idempotency_key_answers_the_first_job(client, session, world):
    headers = {**world.supplier.headers, "Idempotency-Key": "epcis-capture-1"}
    doc = load("Example_9.6.2-ObjectEvent.jsonld")
    first, again = capture(client, headers, doc), capture(client, headers, doc)
    assert first.status_code == again.status_code == 202
    assert again.get_json()["captureID"] == first.get_json()["captureID"]
    assert _counts(session)[:2] == (1, 1)


def test_capture_jobs_are_listed_newest_first_in_pages_for_their_organization_only(client, world, frozen_clock):
    headers = world.supplier.headers
    made = []
    for name in ("Example_9.6.2-ObjectEvent.jsonld", "Example_9.6.3-AggregationEvent.jsonld", "Example_9.6.4-TransformationEvent.jsonld"):
        made.append(capture(client, headers, load(name)).get_json()["captureID"])
        frozen_clock.advance(seconds=1)
    first = client.get(f"{CAPTURE}?perPage=2", headers=headers)
    assert [job["captureID"] for job in first.get_json()] == made[:0:-1]
    link = first.headers["Link"]
    assert link.endswith('>; rel="next"') and "perPage=2" in link
    second = client.get(link[1 : link.index(">")].removeprefix("http://concord.test"), headers=headers)
    assert [job["captureID"] for job in second.get_json()] == made[:1] and "Link" not in second.headers
    assert client.get(CAPTURE, headers=world.buyer.headers).get_json() == []
