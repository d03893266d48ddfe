"""Our event hash ID against GS1's reference implementation, on every event of every
example document of the standard; and what the hash must ignore or notice."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone

import pytest
from concord_verify import identifiers
from concord_verify.event_hash import event_hash_id, pre_hash_string
from epcis_event_hash_generator import hash_generator, json_to_py

from tests.provenance.examples import events_of, example_names, load

pytestmark = pytest.mark.filterwarnings("ignore:open_text is deprecated:DeprecationWarning")


def _reference(document: dict) -> list[tuple[str, str]]:
    """(hash, pre-hash string) of each event, by the reference implementation."""
    json_to_py._namespaces.clear()  # the reference keeps namespaces across documents
    events = json_to_py.event_list_from_epcis_document_str(json.dumps(document))
    pre_hashes = hash_generator.derive_prehashes_from_events(events)
    return list(zip(hash_generator.calculate_hashes_from_pre_hashes(pre_hashes), pre_hashes, strict=True))


@pytest.mark.parametrize("name", example_names())
def test_event_hash_equals_the_reference_implementation_on_every_event(name):
    document = load(name)
    events = events_of(document)
    expected = _reference(document)
    assert len(expected) == len(events), "the reference skipped an event"
    for index, (event, (reference_hash, reference_pre_hash)) in enumerate(zip(events, expected, strict=True)):
        assert pre_hash_string(event, document.get("@context")) == reference_pre_hash, f"event {index}"
        assert event_hash_id(event, document.get("@context")) == reference_hash, f"event {index}"


def test_all_examples_are_cross_checked():
    assert len(example_names()) == 27
    assert sum(len(events_of(load(name))) for name in example_names()) >= 30


def test_first_event_of_example_9_6_1_has_the_hash_the_readme_names():
    event = events_of(load("Example_9.6.1-ObjectEvent.jsonld"))[0]
    assert event_hash_id(event).startswith("ni:///sha-256;df6523665bc5e580")
    assert event["eventID"].startswith("ni:///sha-256;df7bb3c352fef055")  # illustrative, not the hash


def test_spelling_does_not_change_the_hash_but_content_does():
    document = load("Example_9.6.1-ObjectEvent.jsonld")
    event = events_of(document)[0]
    base = event_hash_id(event)
    reordered = dict(reversed(list(event.items())))
    assert event_hash_id(reordered) == base
    other = copy.deepcopy(event)
    other["eventID"], other["recordTime"] = "urn:uuid:00000000-0000-4000-8000-000000000000", "2030-01-01T00:00:00Z"
    assert event_hash_id(other) == base
    shifted = copy.deepcopy(event)  # the same moment, written in another zone
    moment = datetime.fromisoformat(event["eventTime"]).astimezone(timezone(timedelta(hours=9)))
    shifted["eventTime"] = moment.isoformat(timespec="milliseconds")
    assert shifted["eventTime"] != event["eventTime"]
    assert event_hash_id(shifted) == base
    linked = copy.deepcopy(event)
    linked["epcList"] = [identifiers.canonical(epc) for epc in event["epcList"]]
    assert event_hash_id(linked) == base
    changed = copy.deepcopy(event)
    changed["bizStep"] = "receiving"
    assert event_hash_id(changed) != base


@pytest.mark.parametrize(
    ("uri", "canonical"),
    [
        ("urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2017"),
        ("urn:epc:id:sscc:0614141.1234567890", "https://id.gs1.org/00/106141412345678908"),
        ("urn:epc:id:sgln:0614141.07346.1234", "https://id.gs1.org/414/0614141073467/254/1234"),
        ("urn:epc:id:sgln:0614141.07346.0", "https://id.gs1.org/414/0614141073467"),
        ("urn:epc:class:lgtin:4012345.012345.998877", "https://id.gs1.org/01/04012345123456/10/998877"),
        ("urn:epc:idpat:sgtin:4012345.012345.*", "https://id.gs1.org/01/04012345123456"),
        ("urn:epc:id:pgln:4012345.00225", "https://id.gs1.org/417/4012345002256"),
        ("https://example.org/gtin/4012345123456/lot/L1/ser/S1?17=250101", "https://id.gs1.org/01/04012345123456/21/S1"),
        ("https://id.gs1.org/01/04012345123456/22/V1/10/L1", "https://id.gs1.org/01/04012345123456/10/L1"),
        ("http://transaction.acme.com/po/12345678", None),
        ("urn:epc:id:sgtin:0614141.10734.2017", None),
    ],
)
def test_gs1_identifiers_have_one_canonical_form(uri, canonical):
    assert identifiers.canonical(uri) == canonical
    if canonical and not uri.startswith("https://id.gs1.org/01/04012345123456/22"):
        from epcis_event_hash_generator.dl_normaliser import normaliser

        assert normaliser(uri) == canonical


def test_key_order_inside_business_transactions_sources_and_destinations_does_not_change_the_hash():
    """A JSON object's key order means nothing: an event re-serialised with sorted keys (as a
    proof bundle downloaded from the API is) keeps its hash. The type is written first, as
    in the standard's examples (where the reference implementation agrees)."""
    given = {
        "type": "ObjectEvent",
        "eventTime": "2026-11-23T16:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4006381000017:PO-1"}],
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00001"}],
        "destinationList": [{"type": "location", "destination": "urn:epc:id:sgln:4012345.00002.0"}],
    }
    sorted_keys = json.loads(json.dumps(given, sort_keys=True))
    assert list(sorted_keys["bizTransactionList"][0]) == ["bizTransaction", "type"]
    assert event_hash_id(sorted_keys) == event_hash_id(given)
    document = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument", "epcisBody": {"eventList": [given]}}
    assert _reference(document)[0][0] == event_hash_id(given)
