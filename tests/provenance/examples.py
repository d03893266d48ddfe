"""The standard's 27 example documents (shared/standards/epcis/examples, copied unchanged
from GS1's repository), read for the provenance tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent / "standard_examples"


def example_names() -> list[str]:
    return sorted(path.name for path in EXAMPLES.glob("*.jsonld"))


def load(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def events_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    body = document["epcisBody"]
    return body["eventList"] if "eventList" in body else [body["event"]]
