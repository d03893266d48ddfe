"""A dispute's case through the API (issue 9, section 2, finding 1): the arbiter reads
everything the dispute is about (it used to decide on the disputer's reason alone, and the
order answered 404 to it); the buyer, the supplier and the order's carrier add comments
and files while it is open, stored content-addressed with their SHA-256 and checked for
size and type in one pass; the resolution carries its rationale; all of it on the timeline."""

from __future__ import annotations

import hashlib
import io

import pytest
import sqlalchemy as sa
from concord.db import database
from concord.files import StoredFile
from concord.notifications.models import Notification
from concord.orders.models import DisputeEvidence
from concord.tenancy.models import Role

from tests import factories
from tests.ledger_helpers import settle
from tests.orders.test_fulfilment_api import deliver, ship
from tests.security.helpers import audit_entries, audit_head

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64  # magic numbers are what count
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
HTML_AS_PNG = b"<html><script>alert(1)</script></html>\x00"


def count(app, model) -> int:
    with database(app).sessionmaker() as s:
        return s.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


@pytest.fixture
def case(app, client, world, chain_worker, order):
    """Two shipments in lots with milestones, both delivered; the buyer rejects part of line 2
    with a reason and the supplier disputes the receipt. Returns (order id, dispute id)."""
    first = ship(client, world, order, [{"line_no": 1, "quantity": "10", "lot_number": "L-A"}, {"line_no": 2, "quantity": "2", "lot_number": "L-B"}])
    second = ship(client, world, order, [{"line_no": 2, "quantity": "2", "lot_number": "L-C"}])
    assert first.status_code == second.status_code == 201
    first_id, second_id = first.get_json()["id"], second.get_json()["id"]
    milestone = {"kind": "customs_cleared", "occurred_at": first.get_json()["shipped_at"], "location": "Rotterdam, NL"}
    assert client.post(f"/api/v1/shipments/{first_id}/milestones", json=milestone, headers=world.carrier.headers).status_code == 201
    assert deliver(client, world, first_id).status_code == 201
    assert deliver(client, world, second_id, receiver="Goods-in, Gate 5").status_code == 201
    settle(app, chain_worker)
    receipt = {
        "lines": [
            {"line_no": 1, "accepted_quantity": "10"},
            {"line_no": 2, "accepted_quantity": "3", "rejected_quantity": "1", "rejection_reason": "Cracked housing"},
        ]
    }
    assert client.post(f"/api/v1/orders/{order}/receipts", json=receipt, headers=world.buyer.headers).status_code == 201
    settle(app, chain_worker)
    opened = client.post(
        f"/api/v1/orders/{order}/disputes", json={"reason": "The housing cracked in transit, not in our plant"}, headers=world.supplier.headers
    )
    assert opened.status_code == 201, opened.get_json()
    settle(app, chain_worker)
    return order, opened.get_json()["id"]


def upload(client, dispute_id, who, comment=None, file=None, name="evidence.bin"):
    data = {}
    if comment is not None:
        data["comment"] = comment
    if file is not None:
        data["file"] = (io.BytesIO(file), name)
    return client.post(f"/api/v1/disputes/{dispute_id}/evidence", data=data, headers=who.headers, content_type="multipart/form-data")


def test_the_arbiter_reads_the_whole_case(app, client, world, case):
    order, dispute_id = case
    assert client.get(f"/api/v1/orders/{order}", headers=world.operator.headers).status_code == 404  # the order itself stays the parties'
    shown = client.get(f"/api/v1/disputes/{dispute_id}/case", headers=world.operator.headers)
    assert shown.status_code == 200, shown.get_json()
    body = shown.get_json()
    assert body["party"] == "arbiter" and body["allowed_actions"] == ["add_evidence", "resolve"]
    assert body["dispute"]["reason"] == "The housing cracked in transit, not in our plant" and body["dispute"]["escrowed"] == "73.50"
    lines = [(line["line_no"], line["quantity"], line["unit_price"], line["confirmed_quantity"]) for line in body["order"]["lines"]]
    assert lines == [(1, "10.000", "2.5000", "10.000"), (2, "4.000", "12.1250", "4.000")]
    assert body["order"]["allowed_actions"] == []  # the arbiter reads the order; its parties act on it
    lots = [[(lot["line_no"], lot["lot_number"], lot["quantity"]) for lot in s["lines"]] for s in body["shipments"]]
    assert lots == [[(1, "L-A", "10.000"), (2, "L-B", "2.000")], [(2, "L-C", "2.000")]]
    assert [m["location"] for m in body["shipments"][0]["milestones"]] == ["Rotterdam, NL"]
    assert [s["proof_of_delivery"]["receiver_name"] for s in body["shipments"]] == ["Goods-in, Gate 3", "Goods-in, Gate 5"]
    assert all(s["proof_of_delivery"]["proof_hash"].startswith("0x") for s in body["shipments"])
    rejected = [(line["line_no"], line["rejected_quantity"], line["rejection_reason"]) for line in body["receipt"]["lines"]]
    assert rejected == [(1, "0.000", None), (2, "1.000", "Cracked housing")]
    assert (body["receipt"]["accepted_value"], body["receipt"]["refund_value"]) == ("61.38", "12.12")  # 25.00 + 3 x 12.125 rounded; the rest
    escrow = body["escrow"]
    assert escrow["state"] == "disputed" and escrow["amount"] == "73.50"
    steps = [tx["function"] for tx in escrow["transactions"]]
    assert steps[:2] == ["approve", "fund"] and "confirmReceipt" in steps and steps[-1] == "openDispute"
    assert all(tx["state"] == "confirmed" and tx["tx_hash"] and tx["block_number"] for tx in escrow["transactions"])
    kinds = [entry["kind"] for entry in body["timeline"]]
    assert {"shipment", "milestone", "proof_of_delivery", "receipt", "dispute_opened"} <= set(kinds)
    assert body["evidence"] == []


def test_a_carrier_reads_its_shipments_and_the_evidence_but_not_the_money(app, client, world, case):
    _order, dispute_id = case
    body = client.get(f"/api/v1/disputes/{dispute_id}/case", headers=world.carrier.headers).get_json()
    assert body["party"] == "carrier" and body["allowed_actions"] == ["add_evidence"]
    assert body["order"] is None and body["receipt"] is None and body["escrow"] is None and body["timeline"] is None
    assert body["dispute"]["escrowed"] is None and body["dispute"]["payee_amount"] is None
    assert len(body["shipments"]) == 2 and {s["carrier_org_id"] for s in body["shipments"]} == {str(world.carrier.org.id)}
    listed = client.get("/api/v1/disputes", headers=world.carrier.headers).get_json()["items"]
    assert [d["id"] for d in listed] == [dispute_id] and listed[0]["escrowed"] is None
    # Another supplier, another buyer: nothing of it.
    for stranger in (world.supplier2, world.buyer2):
        assert client.get(f"/api/v1/disputes/{dispute_id}/case", headers=stranger.headers).status_code == 404


def test_parties_add_comments_and_files_stored_content_addressed(app, client, world, case):
    order, dispute_id = case
    head = audit_head(app)
    photo = upload(client, dispute_id, world.buyer, comment="Photo of line 2 as it arrived.\nSee the crack.", file=PNG, name="../../crack photo.png")
    assert photo.status_code == 201, photo.get_json()
    shown = photo.get_json()
    digest = hashlib.sha256(PNG).hexdigest()
    assert shown["party"] == "buyer" and shown["comment"] == "Photo of line 2 as it arrived.\nSee the crack."
    assert {k: shown["file"][k] for k in ("name", "media_type", "size", "sha256")} == {
        "name": "crack photo.png",
        "media_type": "image/png",
        "size": len(PNG),
        "sha256": digest,
    }
    note = upload(client, dispute_id, world.carrier, comment="Handed over intact; the receiver signed without remarks.", file=PDF, name="pod.pdf")
    assert note.status_code == 201 and note.get_json()["party"] == "carrier"
    # The same photo again, from the supplier: a second entry, one stored file.
    again = upload(client, dispute_id, world.supplier, file=PNG, name="their photo.png")
    assert again.status_code == 201 and again.get_json()["comment"] is None
    assert count(app, StoredFile) == 2 and count(app, DisputeEvidence) == 3

    downloaded = client.get(shown["file"]["url"], headers=world.supplier.headers)
    assert downloaded.status_code == 200 and downloaded.data == PNG and downloaded.mimetype == "image/png"
    assert downloaded.headers["Content-Disposition"].startswith("attachment") and "crack photo.png" in downloaded.headers["Content-Disposition"]
    assert downloaded.headers["X-Content-Type-Options"] == "nosniff" and downloaded.headers["ETag"] == f'"{digest}"'
    assert client.get(shown["file"]["url"], headers=world.buyer2.headers).status_code == 404

    evidence = client.get(f"/api/v1/disputes/{dispute_id}/evidence", headers=world.operator.headers).get_json()["items"]
    assert [(e["party"], e["file"]["name"] if e["file"] else None) for e in evidence] == [  # newest first, like every list
        ("supplier", "their photo.png"),
        ("carrier", "pod.pdf"),
        ("buyer", "crack photo.png"),
    ]
    entries = [e for e in audit_entries(app, after_seq=head) if e.action == "dispute:evidence_added"]
    assert [e.summary["after"].get("sha256") for e in entries] == [digest, hashlib.sha256(PDF).hexdigest(), digest]
    timeline = client.get(f"/api/v1/orders/{order}/timeline", headers=world.buyer.headers).get_json()
    told = [entry["summary"] for entry in timeline if entry["kind"] == "dispute_evidence"]
    assert len(told) == 3 and f"the file crack photo.png (SHA-256 {digest})" in told[0]
    # Everyone else in the case is told; the one who added it is not.
    with database(app).sessionmaker() as s:
        told_orgs = set(s.execute(sa.select(Notification.organization_id).where(Notification.event == "dispute.evidence_added")).scalars())
    assert {world.supplier.org.id, world.operator.org.id, world.carrier.org.id} <= told_orgs


def test_refused_evidence_names_every_mistake_at_once_and_writes_nothing(app, client, session, world, case, monkeypatch):
    _order, dispute_id = case
    before = (count(app, DisputeEvidence), count(app, StoredFile))
    nothing = upload(client, dispute_id, world.buyer, comment="  ")
    assert nothing.status_code == 422 and nothing.get_json()["errors"] == {"comment": ["Write a comment, attach a file, or both."]}
    both = upload(client, dispute_id, world.buyer, comment="Look\u202e here", file=HTML_AS_PNG, name="photo.png")
    assert both.status_code == 422
    assert both.get_json()["errors"] == {
        "comment": ["Must not contain control characters or bidirectional overrides."],
        "file": ["Not a file type accepted here: PDF, PNG, JPEG or plain text (UTF-8)."],
    }
    empty = upload(client, dispute_id, world.buyer, file=b"", name="empty.pdf")
    assert empty.status_code == 422 and empty.get_json()["errors"] == {"file": ["The file is empty."]}
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", 1024 * 1024)
    big = upload(client, dispute_id, world.buyer, file=b"A" * (1024 * 1024 + 1), name="big.txt")
    assert big.status_code == 422 and big.get_json()["errors"] == {"file": ["At most 1 MiB per file."]}
    huge = upload(client, dispute_id, world.buyer, file=b"A" * (2 * 1024 * 1024), name="huge.txt")
    assert huge.status_code == 413 and huge.mimetype == "application/problem+json"
    # Other endpoints keep their own, smaller limit.
    assert (
        client.post("/api/v1/orders", data=b"{" + b" " * (1024 * 1024) + b"}", headers=world.buyer.headers, content_type="application/json").status_code == 413
    )
    with app.test_request_context():
        _viewer, viewer_token = factories.add_user(session, world.buyer, Role.VIEWER)
    session.commit()
    read_only = client.post(f"/api/v1/disputes/{dispute_id}/evidence", data={"comment": "I only read"}, headers={"Authorization": f"Bearer {viewer_token}"})
    assert read_only.status_code == 403
    assert client.get(f"/api/v1/disputes/{dispute_id}/case", headers={"Authorization": f"Bearer {viewer_token}"}).get_json()["allowed_actions"] == []
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_FILES", 1)
    assert upload(client, dispute_id, world.buyer, file=PDF, name="one.pdf").status_code == 201
    second = upload(client, dispute_id, world.buyer, file=PNG, name="two.png")
    assert second.status_code == 422 and second.get_json()["errors"] == {"file": ["This dispute already holds 1 files, the most one case may hold."]}
    assert upload(client, dispute_id, world.buyer, comment="Comments are still welcome.").status_code == 201
    assert (count(app, DisputeEvidence), count(app, StoredFile)) == (before[0] + 2, before[1] + 1)


def test_the_resolution_carries_its_rationale_and_closes_the_case(app, client, world, chain_worker, case):
    order, dispute_id = case
    assert upload(client, dispute_id, world.carrier, comment="Delivered intact.").status_code == 201
    split = {"payee_amount": "67.44", "resolution": "The carrier's proof shows an intact delivery: the supplier is paid for line 2 in full."}
    assert client.post(f"/api/v1/disputes/{dispute_id}/resolve", json=split, headers=world.operator.headers).status_code == 200
    settle(app, chain_worker)
    body = client.get(f"/api/v1/disputes/{dispute_id}/case", headers=world.buyer.headers).get_json()
    assert body["dispute"]["state"] == "resolved" and body["dispute"]["resolution"] == split["resolution"]
    assert body["allowed_actions"] == []
    decided = [entry["summary"] for entry in body["timeline"] if entry["kind"] == "dispute_resolved"]
    assert decided == [f"The arbiter decided 67.44 EUR to the supplier, 6.06 to the buyer: “{split['resolution']}”."]
    late = upload(client, dispute_id, world.buyer, comment="One more thing")
    assert late.status_code == 409 and "takes no more evidence" in late.get_json()["detail"]
    carrier_view = client.get(f"/api/v1/disputes/{dispute_id}/case", headers=world.carrier.headers).get_json()
    assert carrier_view["dispute"]["resolution"] == split["resolution"] and carrier_view["dispute"]["payee_amount"] is None
