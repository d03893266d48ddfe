"""Documents through the API: upload with the SHA-256 anchored in the same transaction,
listing with filters, download, verification against the chain, and bad files refused
field by field with nothing written."""

from __future__ import annotations

import base64
import hashlib
import uuid

import pytest
import sqlalchemy as sa
from concord import files
from concord.audit.models import AuditEntry
from concord.catalog import service as catalog
from concord.db import database
from concord.documents import service as documents_service
from concord.ledger.models import ChainIntent
from concord.tenancy.models import Role

from tests import factories
from tests.documents.helpers import PDF, PNG, upload, written
from tests.ledger_helpers import settle


def test_upload_stores_the_file_and_queues_its_anchoring_with_the_document(app, client, world, chain_worker):
    response = upload(client, world.supplier.headers)
    assert response.status_code == 201, response.get_json()
    shown = response.get_json()
    digest = hashlib.sha256(PDF).hexdigest()
    assert shown["file"]["sha256"] == digest and shown["file"]["media_type"] == "application/pdf" and shown["file"]["size"] == len(PDF)
    assert shown["title"] == "ISO 9001 certificate 44 100 123456"
    assert shown["subject"] == {"type": "organization", "product_id": None, "gtin": None, "lot": None}
    assert shown["anchor"]["state"] == "queued"
    with database(app).sessionmaker() as session:
        intent = session.execute(sa.select(ChainIntent).where(ChainIntent.subject_id == shown["id"])).scalar_one()
        assert intent.contract == "ProvenanceAnchor" and intent.organization_id == world.supplier.org.id
        entry = session.execute(sa.select(AuditEntry).where(AuditEntry.action == "document:uploaded", AuditEntry.object_id == shown["id"])).scalar_one()
        assert entry.summary["after"]["sha256"] == digest
    # The same content uploaded again is one stored file, two documents, two anchorings.
    assert upload(client, world.supplier.headers, document_number="44 100 999").status_code == 201
    assert written(app) == {"documents": 2, "files": 1, "anchorings": 2}


def test_verify_is_pending_until_mined_then_every_check_passes(app, client, world, chain_worker):
    document_id = upload(client, world.supplier.headers).get_json()["id"]
    pending = client.get(f"/api/v1/documents/{document_id}/verify", headers=world.supplier.headers).get_json()
    assert pending["verdict"] == "pending"
    assert [c["ok"] for c in pending["checks"]] == [True, None, None]
    settle(app, chain_worker)
    verified = client.get(f"/api/v1/documents/{document_id}/verify", headers=world.supplier.headers).get_json()
    assert verified["verdict"] == "verified", verified
    assert [(c["name"], c["ok"]) for c in verified["checks"]] == [("content", True), ("anchor_transaction", True), ("on_chain_record", True)]
    assert verified["tx_hash"] and verified["block_number"]
    shown = client.get(f"/api/v1/documents/{document_id}", headers=world.supplier.headers).get_json()
    assert shown["anchor"]["state"] == "confirmed"


def test_verify_fails_when_the_stored_bytes_were_changed(app, client, world, chain_worker):
    document_id = upload(client, world.supplier.headers).get_json()["id"]
    settle(app, chain_worker)
    with database(app).sessionmaker() as tampering:  # behind the platform's back
        tampering.execute(sa.update(files.StoredFile.__table__).values(content=PDF + b"% forged\n"))
        tampering.commit()
    verified = client.get(f"/api/v1/documents/{document_id}/verify", headers=world.supplier.headers).get_json()
    assert verified["verdict"] == "failed"
    content = verified["checks"][0]
    assert content["name"] == "content" and content["ok"] is False and hashlib.sha256(PDF).hexdigest() in content["detail"]
    # The chain still holds the original SHA-256: those two checks pass.
    assert [c["ok"] for c in verified["checks"][1:]] == [True, True]


def test_content_downloads_the_exact_bytes_as_an_attachment(client, world, chain_worker):
    document_id = upload(client, world.supplier.headers, data=PNG, name="scan.png").get_json()["id"]
    response = client.get(f"/api/v1/documents/{document_id}/content", headers=world.supplier.headers)
    assert response.status_code == 200
    assert response.data == PNG and response.mimetype == "image/png"
    assert response.headers["Content-Disposition"].startswith("attachment") and "scan.png" in response.headers["Content-Disposition"]


def test_documents_about_products_and_lots_and_the_list_filters(app, session, client, world, chain_worker):
    with app.test_request_context():
        product = catalog.create_product(
            session, world.supplier.principal, {"sku": "BR-1", "name": "Bracket", "unit_of_measure": "H87", "gtin": "4006381333931"}
        )
    session.commit()
    headers = world.supplier.headers
    assert upload(client, headers).status_code == 201
    about_product = upload(client, headers, kind="iso_14001", subject_type="product", product_id=str(product.id))
    assert about_product.status_code == 201, about_product.get_json()
    lab = upload(client, headers, kind="lab_test_report", subject_type="lot", gtin="4006381333931", lot="L2026-07", valid_until=None)
    assert lab.status_code == 201, lab.get_json()
    assert lab.get_json()["subject"] == {"type": "lot", "product_id": None, "gtin": "4006381333931", "lot": "L2026-07"}
    assert lab.get_json()["status"] == "valid" and lab.get_json()["valid_until"] is None

    def listed(query: str) -> list[str]:
        response = client.get(f"/api/v1/documents?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return sorted(item["kind"] for item in response.get_json()["items"])

    assert listed("") == ["iso_14001", "iso_9001", "lab_test_report"]
    assert listed("kind=lab_test_report") == ["lab_test_report"]
    assert listed("subject_type=product") == ["iso_14001"]
    assert listed(f"product_id={product.id}") == ["iso_14001"]
    assert listed("gtin=4006381333931&lot=L2026-07") == ["lab_test_report"]
    assert listed("expiring=true") == []  # valid until 2028
    assert listed("expiring=true&within_days=3650") == ["iso_14001", "iso_9001"]
    assert client.get("/api/v1/documents?kind=passport", headers=headers).status_code == 422
    # Another organization lists none of them.
    assert client.get("/api/v1/documents", headers=world.buyer.headers).get_json()["items"] == []


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"data": b"just some text\n", "name": "note.txt"}, "file", "PDF, PNG or JPEG"),
        ({"data": b"\x00\x01\x02binary", "name": "blob.bin"}, "file", "Not a file type"),
        ({"data": b"", "name": "empty.pdf"}, "file", "empty"),
        ({"data": None}, "file", "Attach the document's file"),
        ({"valid_from": "2027-01-01", "valid_until": "2026-12-31"}, "valid_until", "cannot expire before"),
        ({"kind": "passport"}, "kind", "Must be one of"),
        ({"issuer": "   "}, "issuer", "blank"),
        ({"subject_type": "product"}, "product_id", "Name the product"),
        ({"subject_type": "product", "product_id": str(uuid.uuid4())}, "product_id", "No such product"),
        ({"subject_type": "lot", "gtin": "4006381333932", "lot": "L1"}, "gtin", "check digit"),
        ({"subject_type": "lot", "gtin": "4006381333931"}, "lot", "Name the lot"),
        ({"subject_type": "organization", "lot": "L1"}, "lot", "Only a document about a lot"),
        ({"valid_from": "2026-02-30"}, "valid_from", "Not a valid date"),
    ],
)
def test_bad_documents_are_refused_field_by_field_and_nothing_is_written(app, client, world, chain_worker, fields, field, message):
    before = written(app)
    response = upload(client, world.supplier.headers, **fields)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    assert field in errors, errors
    assert any(message in text for text in errors[field]), errors
    assert written(app) == before


def test_a_file_over_the_limit_is_refused(app, client, world, chain_worker, monkeypatch):
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", 1024 * 1024)
    response = upload(client, world.supplier.headers, data=PDF + b"0" * (1024 * 1024))
    assert response.status_code == 422
    assert response.get_json()["errors"]["file"] == ["At most 1 MiB per file."]
    assert written(app) == {"documents": 0, "files": 0, "anchorings": 0}


def test_the_anchoring_rolls_back_with_an_upload_that_fails_after_it_was_queued(app, client, world, chain_worker, monkeypatch):
    def broken_record(*args, **kwargs):
        assert written_inside(args[0])["anchorings"] == 1, "the anchoring is queued before the audit entry"
        raise RuntimeError("the audit trail is unreachable")

    def written_inside(session):
        return {"anchorings": session.execute(sa.select(sa.func.count()).select_from(ChainIntent).where(ChainIntent.subject_type == "document")).scalar_one()}

    monkeypatch.setattr(documents_service, "record", broken_record)
    app.testing = False  # answer the failure as production does (a 500), instead of raising it here
    try:
        response = upload(client, world.supplier.headers)
    finally:
        app.testing = True
    assert response.status_code == 500
    assert written(app) == {"documents": 0, "files": 0, "anchorings": 0}


def test_without_the_ledger_deployed_an_upload_is_refused_and_nothing_written(app, client, world):
    response = upload(client, world.supplier.headers)
    assert response.status_code == 409
    assert "not deployed" in response.get_json()["detail"]
    assert written(app) == {"documents": 0, "files": 0, "anchorings": 0}


def test_viewers_read_documents_but_do_not_upload(app, session, client, world, chain_worker):
    with app.test_request_context():
        _viewer, token = factories.add_user(session, world.supplier, Role.VIEWER)
    session.commit()
    assert upload(client, factories.bearer(token)).status_code == 403
    document_id = upload(client, world.supplier.headers).get_json()["id"]
    assert client.get(f"/api/v1/documents/{document_id}", headers=factories.bearer(token)).status_code == 200


def test_the_proof_bundle_answers_409_until_anchored_then_concord_verify_accepts_it_and_refuses_a_changed_byte(app, client, world, chain_worker):
    from concord.ledger import runtime
    from concord.ledger.rpc_api import InProcessClient
    from concord_verify import checks

    document_id = upload(client, world.supplier.headers).get_json()["id"]
    early = client.get(f"/api/v1/documents/{document_id}/proof", headers=world.supplier.headers)
    assert early.status_code == 409 and "not anchored yet" in early.get_json()["detail"]
    settle(app, chain_worker)
    bundle = client.get(f"/api/v1/documents/{document_id}/proof", headers=world.supplier.headers).get_json()
    assert bundle["kind"] == "document" and bundle["batch"]["root"] == "0x" + bundle["document"]["sha256"]
    chain = InProcessClient(runtime.chain(app))
    assert [(r.name, r.ok) for r in checks.run(bundle, chain)[1] if not r.ok] == []
    content = bytearray(base64.b64decode(bundle["document"]["contentBase64"]))
    content[-2] ^= 1
    bundle["document"]["contentBase64"] = base64.b64encode(bytes(content)).decode()
    assert [r.name for r in checks.run(bundle, chain)[1] if not r.ok] == ["document-hash"]
