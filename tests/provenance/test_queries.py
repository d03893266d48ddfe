"""Every query parameter of /epcis/events narrows the answer to what it names, and no
further; pages hold perPage events and the Link header leads through all of them."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from tests.provenance.helpers import EVENTS, capture, document, event, ids

GTIN_EPC = "urn:epc:id:sgtin:0614141.107346.{}"
LOT = "urn:epc:class:lgtin:4012345.012345.{}"
SSCC = "urn:epc:id:sscc:0614141.1234567890"
DOCK, STORE = "urn:epc:id:sgln:0614141.07346.1234", "urn:epc:id:sgln:0614141.07346.0"
E = {n: f"urn:uuid:5e1ec7ed-0000-4000-8000-00000000000{n}" for n in range(1, 6)}


def _world_events() -> list[dict]:
    return [
        event(
            E[1],
            "2024-01-01T10:00:00.000+02:00",
            epcList=[GTIN_EPC.format(1)],
            bizStep="shipping",
            disposition="in_transit",
            readPoint={"id": DOCK},
            bizTransactionList=[{"type": "po", "bizTransaction": "http://transaction.acme.com/po/1"}],
        ),
        event(
            E[2],
            "2024-01-02T10:00:00Z",
            action="ADD",
            epcList=[GTIN_EPC.format(2)],
            quantityList=[{"epcClass": LOT.format("L1"), "quantity": 5, "uom": "KGM"}],
            bizStep="https://ref.gs1.org/cbv/BizStep-receiving",
            disposition="in_progress",
            bizLocation={"id": "https://id.gs1.org/414/0614141073467"},  # STORE, as a Digital Link URI
            bizTransactionList=[
                {"type": "po", "bizTransaction": "http://transaction.acme.com/po/2"},
                {"type": "inv", "bizTransaction": "http://transaction.acme.com/inv/7"},
            ],
        ),
        event(E[3], "2024-01-03T10:00:00Z", "AggregationEvent", action="ADD", parentID=SSCC, childEPCs=[GTIN_EPC.format(3)], bizStep="packing"),
        event(
            E[4],
            "2024-01-04T10:00:00-05:00",
            "TransformationEvent",
            inputEPCList=[GTIN_EPC.format(1)],
            outputEPCList=[GTIN_EPC.format(4)],
            outputQuantityList=[{"epcClass": LOT.format("L2"), "quantity": 1}],
        ),
    ]


@pytest.fixture
def captured(client, world, frozen_clock):
    """E1 and E2 captured at T0, E3 and E4 an hour later; E5 (another organization's) alike."""
    headers = world.supplier.headers
    first, second, third, fourth = _world_events()
    t0 = frozen_clock.now
    assert capture(client, headers, document(first, second)).status_code == 202
    frozen_clock.advance(hours=1)
    assert capture(client, headers, document(third, fourth)).status_code == 202
    twin = dict(first, eventID=E[5])
    assert capture(client, world.buyer.headers, document(twin)).status_code == 202  # matches much, never shown
    return headers, t0


def _query(client, headers, **params) -> set[str]:
    query = "&".join(f"{name}={quote(str(value), safe='|*:/')}" for name, value in params.items())
    return ids(client.get(f"{EVENTS}?{query}&perPage=200", headers=headers))


CASES = [
    ({}, {1, 2, 3, 4}),
    ({"eventType": "ObjectEvent"}, {1, 2}),
    ({"eventType": "AggregationEvent|TransformationEvent"}, {3, 4}),
    ({"eventType": "TransactionEvent"}, set()),
    ({"GE_eventTime": "2024-01-02T10:00:00Z"}, {2, 3, 4}),
    ({"LT_eventTime": "2024-01-02T10:00:00Z"}, {1}),
    ({"GE_eventTime": "2024-01-01T08:00:00Z", "LT_eventTime": "2024-01-01T08:00:00.001Z"}, {1}),  # 10:00+02:00 is 08:00 UTC
    ({"GE_eventTime": "2024-01-04T15:00:00Z"}, {4}),  # 10:00-05:00 is 15:00 UTC
    ({"GE_eventTime": "2024-01-04T15:00:00.001Z"}, set()),
    ({"EQ_action": "ADD"}, {2, 3}),
    ({"EQ_action": "DELETE"}, set()),
    ({"EQ_bizStep": "shipping"}, {1}),
    ({"EQ_bizStep": "receiving"}, {2}),  # captured as its URI
    ({"EQ_bizStep": "urn:epcglobal:cbv:bizstep:packing"}, {3}),
    ({"EQ_bizStep": "shipping|packing"}, {1, 3}),
    ({"EQ_bizStep": "destroying"}, set()),
    ({"EQ_disposition": "urn:epcglobal:cbv:disp:in_progress"}, {2}),  # asked as a CBV 1 URN
    ({"EQ_disposition": "https://ref.gs1.org/cbv/Disp-in_transit"}, {1}),
    ({"EQ_disposition": "expired"}, set()),
    ({"EQ_bizLocation": STORE}, {2}),  # captured as a Digital Link URI, asked as an EPC URI
    ({"EQ_bizLocation": DOCK}, set()),
    ({"EQ_readPoint": DOCK}, {1}),
    ({"EQ_readPoint": "https://id.gs1.org/414/0614141073467/254/1234"}, {1}),
    ({"MATCH_epc": GTIN_EPC.format(1)}, {1}),  # not E4, where it is an input
    ({"MATCH_epc": "https://id.gs1.org/01/10614141073464/21/2"}, {2}),
    ({"MATCH_epc": GTIN_EPC.format(3)}, {3}),  # a child EPC
    ({"MATCH_epc": "urn:epc:idpat:sgtin:0614141.107346.*"}, {1, 2, 3}),
    ({"MATCH_epc": GTIN_EPC.format(9)}, set()),
    ({"MATCH_anyEPC": GTIN_EPC.format(1)}, {1, 4}),
    ({"MATCH_anyEPC": SSCC}, {3}),
    ({"MATCH_anyEPC": GTIN_EPC.format(4)}, {4}),
    ({"MATCH_parentID": SSCC}, {3}),
    ({"MATCH_inputEPC": GTIN_EPC.format(1)}, {4}),
    ({"MATCH_outputEPC": GTIN_EPC.format(1)}, set()),
    ({"MATCH_epcClass": LOT.format("L1")}, {2}),
    ({"MATCH_epcClass": LOT.format("L2")}, set()),  # an output class
    ({"MATCH_anyEPCClass": LOT.format("L2")}, {4}),
    ({"MATCH_outputEPCClass": "https://id.gs1.org/01/04012345123456/10/L2"}, {4}),
    ({"EQ_bizTransaction_po": "http://transaction.acme.com/po/1"}, {1}),
    ({"EQ_bizTransaction_po": "http://transaction.acme.com/po/1|http://transaction.acme.com/po/2"}, {1, 2}),
    ({"EQ_bizTransaction_inv": "http://transaction.acme.com/inv/7"}, {2}),
    ({"EQ_bizTransaction_inv": "http://transaction.acme.com/po/1"}, set()),  # the right value, the wrong type
    ({"EQ_bizTransaction_po": "http://transaction.acme.com/po/2", "EQ_bizTransaction_inv": "http://transaction.acme.com/inv/7"}, {2}),
    ({"EQ_eventID": E[3]}, {3}),
    ({"EQ_eventID": E[5]}, set()),  # another organization's
    ({"eventType": "ObjectEvent", "EQ_bizStep": "receiving", "MATCH_epc": GTIN_EPC.format(1)}, set()),
]


@pytest.mark.parametrize(("params", "expected"), CASES, ids=[" ".join(f"{k}={v}" for k, v in p.items()) or "all" for p, _ in CASES])
def test_each_parameter_filters_to_what_it_names(client, captured, params, expected):
    headers, _t0 = captured
    assert _query(client, headers, **params) == {E[n] for n in expected}


def test_record_time_filters_tell_the_two_captures_apart(client, captured):
    headers, t0 = captured
    later = t0.replace(minute=30).isoformat() if t0.minute < 30 else (t0.replace(minute=59)).isoformat()
    assert _query(client, headers, LT_recordTime=later) == {E[1], E[2]}
    assert _query(client, headers, GE_recordTime=later) == {E[3], E[4]}
    assert _query(client, headers, GE_recordTime=t0.isoformat()) == {E[1], E[2], E[3], E[4]}
    assert _query(client, headers, LT_recordTime=t0.isoformat()) == set()


@pytest.mark.parametrize(
    "query",
    [
        "GE_eventTime=yesterday",
        "GE_eventTime=2024-01-01T10:00:00",  # no offset
        "GE_eventTime=0001-01-01T00:00:00%2B14:00",
        "perPage=0",
        "perPage=abc",
        "nextPageToken=not-a-token",
        "EQ_bizStep=",
        "EQ_bizTransaction_=x",
        "MATCH_anything=x",
        "EQ_bizStep=shipping%00",  # PostgreSQL cannot hold a NUL in text, even to compare with it
        "EQ_bizTransaction_po=PO-1%00",
    ],
)
def test_bad_parameters_are_refused_with_422(client, world, query):
    response = client.get(f"{EVENTS}?{query}", headers=world.supplier.headers)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"


def test_pages_of_per_page_events_follow_the_link_header_through_all_of_them(client, world):
    headers = world.supplier.headers
    sent = [event(f"urn:uuid:5e1ec7ed-1111-4000-8000-{n:012d}", f"2024-02-0{n}T10:00:00Z", bizStep="shipping") for n in range(1, 8)]
    assert capture(client, headers, document(*sent)).status_code == 202
    seen: list[str] = []
    url = f"{EVENTS}?perPage=3&EQ_bizStep=shipping"
    pages = 0
    while url:
        response = client.get(url, headers=headers)
        page = ids(response)
        assert 1 <= len(page) <= 3
        seen += sorted(page)
        pages += 1
        link = response.headers.get("Link")
        if link is None:
            break
        found = re.fullmatch(r'<([^>]+)>; rel="next"', link)
        assert found and "EQ_bizStep=shipping" in found[1] and "perPage=3" in found[1]
        url = found[1].removeprefix("http://concord.test")
    assert pages == 3
    assert sorted(seen) == sorted(e["eventID"] for e in sent) and len(seen) == len(set(seen))
