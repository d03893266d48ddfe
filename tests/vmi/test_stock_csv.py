"""CSV uploads of stock records through the API: good rows kept and bad rows reported with
their line, record_id and reasons; files that cannot be read (wrong encoding, missing or
unknown columns, empty, too large, too many rows) refused whole with nothing kept; long files
read by the worker a chunk per transaction, resumed after a crash without duplicates."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from concord import files
from concord.audit.models import AuditEntry
from concord.vmi import stock, stock_uploads
from concord.vmi.models import StockRecord, VmiUpload

from tests.vmi.stock_helpers import HEADER, csv_of, rec, stock_catalog, today

URL = "/api/v1/vmi/uploads"


@pytest.fixture
def shelf(session, world):
    products, location = stock_catalog(session, world.buyer, count=2)
    session.commit()
    return products, location


def upload(client, member, data: bytes, name: str = "stock.csv"):
    return client.post(URL, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data", headers=member.headers)


def _nothing_kept(session) -> None:
    assert session.execute(sa.select(sa.func.count()).select_from(StockRecord)).scalar_one() == 0
    assert session.execute(sa.select(sa.func.count()).select_from(VmiUpload)).scalar_one() == 0
    assert session.execute(sa.select(sa.func.count()).select_from(files.StoredFile).where(files.StoredFile.media_type == "text/csv")).scalar_one() == 0


def test_good_rows_are_kept_and_bad_rows_reported_with_line_record_id_and_reasons(client, session, world, shelf):
    (bolt, nut), store = shelf
    rows = [
        rec("C-1", bolt, store, quantity="40"),
        rec("C-2", nut, store, kind="receipt", quantity="2.5"),
        rec("C-3", bolt, store, kind="consumption", quantity="1.2345"),
        {**rec("C-4", bolt, store), "sku": "NOPE"},
        rec("C-5", bolt, store, day=today() + timedelta(days=2)),
    ]
    answer = upload(client, world.buyer, csv_of(rows))
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert (body["state"], body["rows_total"], body["rows_read"], body["rows_kept"], body["rows_rejected"], body["progress"]) == ("done", 5, 5, 2, 3, 100)
    assert body["report"] == [
        {"row": 4, "record_id": "C-3", "errors": {"quantity": ["At most 3 decimal places."]}},
        {"row": 5, "record_id": "C-4", "errors": {"sku": ["Not an active product of your organization."]}},
        {"row": 6, "record_id": "C-5", "errors": {"date": [f"Must not be after today ({today().isoformat()})."]}},
    ]
    kept = session.execute(sa.select(StockRecord).order_by(StockRecord.record_id)).scalars().all()
    assert [(r.record_id, r.source, r.upload_id) for r in kept] == [
        ("C-1", "csv", sa.UUID().python_type(body["id"])),
        ("C-2", "csv", sa.UUID().python_type(body["id"])),
    ]
    actions = session.execute(sa.select(AuditEntry.action, AuditEntry.summary).where(AuditEntry.action.like("vmi_upload:%")).order_by(AuditEntry.seq)).all()
    assert [a for a, _ in actions] == ["vmi_upload:started", "vmi_upload:finished"]
    assert actions[1][1] == {"rows": 5, "kept": 2, "unchanged": 0, "rejected": 3}
    # The same file again: every good row is unchanged, nothing is stored twice.
    again = upload(client, world.buyer, csv_of(rows)).get_json()
    assert (again["rows_kept"], again["rows_unchanged"], again["rows_rejected"]) == (0, 2, 3)
    assert session.execute(sa.select(sa.func.count()).select_from(StockRecord)).scalar_one() == 2
    shown = client.get(f"{URL}/{body['id']}", headers=world.buyer.headers).get_json()
    assert shown["report"] == body["report"]
    listed = client.get(URL, headers=world.buyer.headers).get_json()["items"]
    assert [item["id"] for item in listed] == [again["id"], body["id"]] and "report" not in listed[0]
    assert client.get(URL, headers=world.buyer2.headers).get_json()["items"] == []
    assert client.get(f"{URL}/{body['id']}", headers=world.buyer2.headers).status_code == 404


def test_a_bom_semicolons_spaces_and_header_case_are_fine(client, session, world, shelf):
    (bolt, _nut), store = shelf
    header = ("Record_ID ", "KIND", "date", "gtin", "gln", "quantity")
    row = {**rec("B-1", bolt, store), "gtin": bolt.gtin}
    text = ";".join(header) + "\n" + ";".join(f" {row[name.strip().lower()]} " for name in header) + "\n\n"
    answer = upload(client, world.buyer, b"\xef\xbb\xbf" + text.encode())
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["rows_kept"] == 1


def test_a_latin_1_file_is_refused_whole_naming_where_decoding_failed(client, session, world, shelf):
    (bolt, _nut), store = shelf
    rows = [rec("L-1", bolt, store), {**rec("L-2", bolt, store), "record_id": "Größe-2"}]
    data = csv_of(rows).decode().encode("latin-1")
    answer = upload(client, world.buyer, data)
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    assert answer.get_json()["detail"] == "The file was refused: nothing of it was kept."
    (message,) = answer.get_json()["errors"]["file"]
    assert message.startswith("Not UTF-8 text: line 3, byte 3 (0xF6) cannot be read.")
    _nothing_kept(session)


@pytest.mark.parametrize(
    "header, messages",
    [
        (("record_id", "kind", "date", "quantity"), ["Missing columns: sku or gtin or product_id, gln or location_id."]),
        (("record_id", "kind", "sku", "gln"), ["Missing columns: date, quantity."]),
        (("record_id", "kind", "date", "sku", "gln", "quantity", "colour"), ["Unknown columns: 'colour'."]),
        (("record_id", "kind", "date", "sku", "sku", "gln", "quantity"), ["Columns named twice: sku."]),
    ],
)
def test_missing_unknown_and_repeated_columns_are_named(client, session, world, shelf, header, messages):
    (bolt, _nut), store = shelf
    answer = upload(client, world.buyer, csv_of([rec("H-1", bolt, store)], header=header))
    assert answer.status_code == 422
    assert answer.get_json()["errors"]["file"][:-1] == messages
    assert answer.get_json()["errors"]["file"][-1].startswith("The columns are: date, gln, gtin, kind, location_id, product_id, quantity, record_id, sku.")
    _nothing_kept(session)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "The file is empty."),
        (b"  \r\n", "The file is empty."),
        (",".join(HEADER).encode() + b"\r\n", "The file has a header row but no rows under it."),
        (b"\r\n\r\nrecord_id,kind\r\n", "The first line must be a header row naming the columns: record_id, kind, date, quantity, sku (or gtin) and gln."),
    ],
)
def test_an_empty_file_or_one_without_rows_is_refused(client, session, world, data, message):
    answer = upload(client, world.buyer, data)
    assert answer.status_code == 422 and answer.get_json()["errors"]["file"] == [message]
    _nothing_kept(session)


def test_a_file_over_the_size_limit_is_413_and_nothing_is_kept(app, client, session, world, shelf, monkeypatch):
    (bolt, _nut), store = shelf
    monkeypatch.setitem(app.config, "VMI_UPLOAD_MAX_BYTES", 2000)
    data = csv_of([rec(f"S-{i}", bolt, store) for i in range(80)])
    assert 2000 < len(data) < files.FORM_ALLOWANCE
    over = upload(client, world.buyer, data)
    assert over.status_code == 413 and over.mimetype == "application/problem+json"
    assert "larger than" in over.get_json()["detail"]
    # Far beyond the limit, the body is not even read.
    huge = upload(client, world.buyer, data * 200)
    assert huge.status_code == 413 and huge.mimetype == "application/problem+json"
    _nothing_kept(session)


def test_a_file_over_the_row_limit_is_refused(app, client, session, world, shelf, monkeypatch):
    (bolt, _nut), store = shelf
    monkeypatch.setitem(app.config, "VMI_UPLOAD_MAX_ROWS", 3)
    answer = upload(client, world.buyer, csv_of([rec(f"M-{i}", bolt, store) for i in range(4)]))
    assert answer.status_code == 422 and answer.get_json()["errors"]["file"] == ["More than 3 rows: split the file and upload the parts."]
    _nothing_kept(session)


def test_a_row_with_too_few_cells_or_a_nul_is_reported_and_the_others_kept(client, session, world, shelf):
    (bolt, _nut), store = shelf
    good = csv_of([rec("N-1", bolt, store)])
    data = good + b"N-2,on_hand\r\n" + csv_of([rec("N-3\x00", bolt, store)]).split(b"\r\n", 1)[1]
    body = upload(client, world.buyer, data).get_json()
    assert body["rows_kept"] == 1
    assert body["report"] == [
        {"row": 3, "record_id": "N-2", "errors": {"_row": ["2 cells where the header has 6 columns."]}},
        {"row": 4, "record_id": "N-3\x00", "errors": {"record_id": ["Must not contain NUL characters."]}},
    ]


def test_only_a_buyers_writers_upload(client, session, world, shelf):
    (bolt, _nut), store = shelf
    assert upload(client, world.supplier, csv_of([rec("W-1", bolt, store)])).status_code == 403
    missing = client.post(URL, data={}, content_type="multipart/form-data", headers=world.buyer.headers)
    assert missing.status_code == 422 and "file" in missing.get_json()["errors"]


def test_a_long_file_is_read_by_the_worker_a_chunk_at_a_time_and_resumes_after_a_crash(app, client, session, world, shelf, monkeypatch):
    (bolt, nut), store = shelf
    rows = [rec(f"J-{i:05d}", bolt if i % 2 else nut, store, kind="consumption", quantity=str(i % 7)) for i in range(2500)]
    rows[1500] = {**rows[1500], "quantity": "-3"}
    answer = upload(client, world.buyer, csv_of(rows))
    assert answer.status_code == 202, answer.get_json()
    started = answer.get_json()
    assert (started["state"], started["rows_total"], started["rows_read"], started["progress"]) == ("running", 2500, 0, 0)
    upload_id = sa.UUID().python_type(started["id"])
    assert stock_uploads.process(session, upload_id, max_chunks=1) is False
    progress = client.get(f"{URL}/{upload_id}", headers=world.buyer.headers).get_json()
    assert (progress["rows_read"], progress["rows_kept"], progress["progress"]) == (1000, 1000, 40)
    # The worker dies in the middle of the second chunk: that chunk leaves nothing behind.
    real = stock.share_rows
    calls = []

    def crash(*args, **kwargs):
        calls.append(1)
        real(*args, **kwargs)
        raise RuntimeError("worker killed")

    monkeypatch.setattr(stock, "share_rows", crash)
    assert stock_uploads.process_due(app) == 0
    assert calls == [1]
    monkeypatch.setattr(stock, "share_rows", real)
    session.expire_all()
    assert session.get(VmiUpload, upload_id).rows_read == 1000
    assert session.execute(sa.select(sa.func.count()).select_from(StockRecord)).scalar_one() == 1000
    assert stock_uploads.process_due(app) == 1
    done = client.get(f"{URL}/{upload_id}", headers=world.buyer.headers).get_json()
    assert (done["state"], done["rows_read"], done["rows_kept"], done["rows_unchanged"], done["rows_rejected"]) == ("done", 2500, 2499, 0, 1)
    assert done["report"] == [{"row": 1502, "record_id": "J-01500", "errors": {"quantity": ["Must not be negative."]}}]
    assert session.execute(sa.select(sa.func.count(sa.distinct(StockRecord.record_id))).select_from(StockRecord)).scalar_one() == 2499
    assert client.get(f"{URL}?state=running", headers=world.buyer.headers).get_json()["items"] == []


def test_two_workers_on_one_upload_do_not_count_a_chunk_twice(app, client, session, world, shelf):
    (bolt, _nut), store = shelf
    answer = upload(client, world.buyer, csv_of([rec(f"T-{i}", bolt, store) for i in range(1500)]))
    upload_id = sa.UUID().python_type(answer.get_json()["id"])
    found = session.get(VmiUpload, upload_id)
    principal, _ = stock_uploads._uploader(session, found)
    stale = [next(iter(stock_uploads.rows_of(csv_of([rec("T-0", bolt, store)]).decode())))]
    assert stock_uploads.process(session, upload_id, max_chunks=1) is False  # the first worker read chunk 1
    # A second worker that read the upload before the first committed (its own copy of the row).
    seen_before = VmiUpload(id=upload_id, rows_read=0, report=[])
    assert stock_uploads._read_chunk(session, seen_before, principal, stale) is False
    session.rollback()
    assert session.get(VmiUpload, upload_id).rows_read == 1000
