"""The buyer's stock-data pages: upload a CSV, land on its progress and report, see it
listed; a file that cannot be read is refused on the form with its reason and nothing kept;
a long file's page refreshes itself until the worker is done."""

from __future__ import annotations

import io

import sqlalchemy as sa
from concord.vmi import stock_uploads
from concord.vmi.models import StockRecord, VmiUpload

from tests.portal.helpers import error_summary, field_error, text
from tests.vmi.stock_helpers import csv_of, rec, stock_catalog


def _shelf(app, session, member):
    with app.test_request_context():
        (bolt,), store = stock_catalog(session, member)
    session.commit()
    return bolt, store


def _post(browser, data: bytes, name: str = "stock.csv"):
    return browser.post("/vmi/uploads", {"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_a_buyer_uploads_a_file_and_reads_its_report(app, session, world, signed_in):
    bolt, store = _shelf(app, session, world.buyer)
    buyer = signed_in(world.buyer)
    page = buyer.get("/vmi/uploads")
    assert page.status_code == 200 and "No uploads yet" in text(page) and 'href="/vmi/uploads"' in page.get_data(as_text=True)
    response = _post(buyer, csv_of([rec("U-1", bolt, store), rec("U-2", bolt, store, quantity="-1")]), "march.csv")
    assert response.status_code == 303, text(response)
    detail = text(buyer.get(response.headers["Location"]))
    assert "march.csv" in detail and "done" in detail
    assert "Kept 1" in detail and "Rejected 1" in detail
    assert "3 U-2 quantity : Must not be negative." in detail
    assert "march.csv" in text(buyer.get("/vmi/uploads"))


def test_a_latin_1_file_is_refused_on_the_form_and_nothing_is_kept(app, session, world, signed_in):
    bolt, store = _shelf(app, session, world.buyer)
    buyer = signed_in(world.buyer)
    data = csv_of([{**rec("U-1", bolt, store), "record_id": "Maß-1"}]).decode().encode("latin-1")
    response = _post(buyer, data)
    assert response.status_code == 422
    assert field_error(response, "file")[0].startswith("Not UTF-8 text: line 2, byte 3 (0xDF) cannot be read.")
    assert error_summary(response, "upload-errors")[0][0] == "stock-file"
    assert session.execute(sa.select(sa.func.count()).select_from(VmiUpload)).scalar_one() == 0
    assert session.execute(sa.select(sa.func.count()).select_from(StockRecord)).scalar_one() == 0
    missing = buyer.post("/vmi/uploads", {}, content_type="multipart/form-data")
    assert missing.status_code == 422 and field_error(missing, "file") == ["Choose a CSV file to upload."]


def test_a_long_files_page_refreshes_itself_until_the_worker_is_done(app, session, world, signed_in):
    bolt, store = _shelf(app, session, world.buyer)
    buyer = signed_in(world.buyer)
    response = _post(buyer, csv_of([rec(f"L-{i}", bolt, store) for i in range(1200)]))
    running = buyer.get(response.headers["Location"])
    assert 'hx-trigger="every 2s"' in running.get_data(as_text=True) and "0 of 1200" in text(running)
    with app.app_context():
        assert stock_uploads.process_due(app) == 1
    done = buyer.get(response.headers["Location"])
    assert "hx-trigger" not in done.get_data(as_text=True) and "1200 of 1200" in text(done)


def test_a_supplier_reads_that_stock_data_is_a_buyers_and_has_no_form(app, world, signed_in):
    supplier = signed_in(world.supplier)
    page = supplier.get("/vmi/uploads")
    assert page.status_code == 200 and "shared by organizations admitted as buyers" in text(page)
    assert 'name="file"' not in page.get_data(as_text=True)
    assert 'href="/vmi/uploads"' not in supplier.get("/dashboard").get_data(as_text=True)
