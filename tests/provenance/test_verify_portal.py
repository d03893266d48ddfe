"""The portal's event page: "Verify" shows each check of the event's proof bundle passing
once its batch is anchored, and the bundle downloads; before that, when it will be."""

from __future__ import annotations

import json
from urllib.parse import quote

import sqlalchemy as sa
from concord.db import database
from concord.provenance import batches
from concord.provenance import service as provenance
from concord.provenance.models import EpcisEvent

from tests import factories
from tests.ledger_helpers import deploy_contracts
from tests.provenance.helpers import document, event
from tests.security.helpers import portal_login

CHECKS = ["event-hash", "signature", "merkle-proof", "member", "anchored", "anchor-transaction"]


def _page(event_id: str) -> str:
    return f"/provenance/events/{quote(event_id, safe='')}"


def test_verify_shows_every_check_passing_and_the_bundle_downloads(app, detached_world, monkeypatch):
    world = detached_world
    worker = deploy_contracts(app)
    worker.drain()  # the world's admissions
    with app.test_request_context(), database(app).sessionmaker() as session:
        provenance.capture(session, world.supplier.principal, document(event("urn:uuid:6a0e5a0c-1d1e-4d0a-9d5b-000000000001", "2024-01-05T10:00:00Z")))
        [event_id] = session.execute(sa.select(EpcisEvent.event_id)).scalars().all()
    client = app.test_client()
    portal_login(client, world.supplier.admin.email, factories.PASSWORD)
    waiting = client.get(_page(event_id))
    assert waiting.status_code == 200
    assert 'id="not-anchored"' in waiting.get_data(as_text=True) and "open batch" in waiting.get_data(as_text=True)
    assert client.get(_page(event_id) + "/proof.json").status_code == 409
    monkeypatch.setitem(app.config, "PROVENANCE_BATCH_AGE_SECONDS", 0)
    assert batches.close_due(app) == 1
    worker.drain()
    page = client.get(_page(event_id)).get_data(as_text=True)
    for name in CHECKS:
        row = page.split(f'data-check="{name}"', 1)[1].split("</tr>", 1)[0]
        assert "✓ passed" in row, (name, row)
    assert "Download proof bundle" in page
    download = client.get(_page(event_id) + "/proof.json")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    bundle = json.loads(download.data)
    assert bundle["kind"] == "event" and bundle["event"]["eventID"] == event_id
    other = app.test_client()
    portal_login(other, world.supplier2.admin.email, factories.PASSWORD)
    assert other.get(_page(event_id)).status_code == 404
    assert other.get(_page(event_id) + "/proof.json").status_code == 404
