"""Building and sending EPCIS documents in the provenance tests."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from concord_verify.contexts import EPCIS_CONTEXT_URL

CAPTURE = "/api/v1/epcis/capture"
EVENTS = "/api/v1/epcis/events"


def event_url(event_id: str) -> str:
    """The address of an event: its eventID percent-encoded whole, slashes included."""
    return f"{EVENTS}/{quote(event_id, safe='')}"


def document(*events: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "@context": [EPCIS_CONTEXT_URL, {"example": "http://ns.example.com/epcis/"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-01-05T10:00:00.000Z",
        "epcisBody": {"eventList": list(events)},
        **extra,
    }


def event(event_id: str, event_time: str, kind: str = "ObjectEvent", **fields: Any) -> dict[str, Any]:
    offset = "+00:00" if event_time.endswith("Z") else event_time[-6:]
    base: dict[str, Any] = {"type": kind, "eventID": event_id, "eventTime": event_time, "eventTimeZoneOffset": offset}
    if kind != "TransformationEvent":
        base["action"] = fields.pop("action", "OBSERVE")
    if kind == "ObjectEvent" and "epcList" not in fields and "quantityList" not in fields:
        base["epcList"] = []
    return {**base, **fields}


def capture(client, headers, doc: dict[str, Any], content_type: str = "application/json"):
    return client.post(CAPTURE, data=json.dumps(doc), headers={**headers, "Content-Type": content_type})


def events_of_answer(response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["type"] == "EPCISQueryDocument"
    return body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def ids(response) -> set[str]:
    return {e["eventID"] for e in events_of_answer(response)}
