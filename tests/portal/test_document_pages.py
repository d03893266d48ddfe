"""The documents pages: upload form, list with the expiry badge, and the verify result."""

from __future__ import annotations

import io
from datetime import timedelta

from concord import clock

from tests.documents.helpers import PDF, form, written
from tests.ledger_helpers import settle
from tests.portal.helpers import error_summary, field_error, text


def test_a_member_uploads_a_certificate_sees_it_listed_and_verifies_it(app, world, signed_in, chain_worker):
    supplier = signed_in(world.supplier)
    page = supplier.get("/documents")
    assert page.status_code == 200 and "No documents yet" in text(page)
    soon = (clock.utcnow().date() + timedelta(days=12)).isoformat()
    response = supplier.post("/documents", form(valid_until=soon), content_type="multipart/form-data")
    assert response.status_code == 302, text(response)
    detail = supplier.get(response.headers["Location"])
    assert "ISO 9001 certificate 44 100 123456 uploaded" in text(detail)
    assert "TÜV Nord Cert GmbH" in text(detail) and "expiring" in text(detail)
    listed = text(supplier.get("/documents"))
    assert "ISO 9001 certificate 44 100 123456" in listed and "expiring" in listed

    settle(app, chain_worker)
    verified = supplier.get(response.headers["Location"] + "?verify=1")
    shown = text(verified)
    assert "Verdict: verified" in shown, shown
    assert shown.count("passed") == 3
    download = supplier.get(response.headers["Location"] + "/content")
    assert download.status_code == 200 and download.data == PDF


def test_the_upload_form_shows_every_mistake_and_writes_nothing(app, world, signed_in, chain_worker):
    supplier = signed_in(world.supplier)
    body = form(data=b"plain words\n", name="note.txt", valid_from="2027-01-01", valid_until="2026-01-01", issuer="")
    response = supplier.post("/documents", body, content_type="multipart/form-data")
    assert response.status_code == 422
    assert field_error(response, "valid_until") == ["The document cannot expire before it becomes valid."]
    assert "PDF, PNG or JPEG" in " ".join(field_error(response, "file"))
    fields = [field for field, _ in error_summary(response, "document-errors")]
    assert fields == ["issuer", "valid_until", "document-file"]
    assert written(app) == {"documents": 0, "files": 0, "anchorings": 0}


def test_an_empty_file_is_named_on_the_form(app, world, signed_in, chain_worker):
    supplier = signed_in(world.supplier)
    body = {**form(), "file": (io.BytesIO(b""), "empty.pdf")}
    response = supplier.post("/documents", body, content_type="multipart/form-data")
    assert response.status_code == 422
    assert field_error(response, "file") == ["The file is empty."]
