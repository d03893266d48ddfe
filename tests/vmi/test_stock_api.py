"""Stock records shared through the API in batches: kept, unchanged and rejected records in
one answer, every field's mistake named with the record's index, the refusals (403 for a
non-buyer or a viewer, 422 for a batch of only bad records, clear errors for malformed and
oversized bodies), the list with its filters, and one audit entry per batch."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord.audit.models import AuditEntry
from concord.tenancy.models import Role
from concord.vmi import stock
from concord.vmi.models import StockRecord

from tests import factories
from tests.vmi.stock_helpers import rec, stock_catalog, today

URL = "/api/v1/vmi/stock-records"


@pytest.fixture
def shelf(session, world):
    products, location = stock_catalog(session, world.buyer, count=2)
    session.commit()
    return products, location


def _count(session, buyer) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(StockRecord).where(StockRecord.buyer_org_id == buyer.org.id)).scalar_one()


def _audit(session, action: str) -> list[AuditEntry]:
    return list(session.execute(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).scalars())


def test_a_batch_keeps_good_records_names_bad_ones_and_writes_one_audit_entry(client, session, world, shelf):
    (bolt, nut), store = shelf
    records = [
        rec("R-1", bolt, store, kind="on_hand", quantity="120"),
        rec("R-2", nut, store, kind="receipt", quantity="12.5"),
        rec("R-3", bolt, store, kind="consumption", quantity="-1"),
        {**rec("R-4", bolt, store), "sku": None, "gtin": bolt.gtin},
    ]
    records[3].pop("sku")
    answer = client.post(URL, json={"records": records}, headers=world.buyer.headers)
    assert answer.status_code == 207, answer.get_json()
    body = answer.get_json()
    assert (body["kept"], body["unchanged"], body["rejected"]) == (3, 0, 1)
    assert [r["status"] for r in body["results"]] == ["kept", "kept", "rejected", "kept"]
    assert body["results"][2] == {"index": 2, "record_id": "R-3", "status": "rejected", "id": None, "errors": {"quantity": ["Must not be negative."]}}
    stored = session.execute(sa.select(StockRecord).where(StockRecord.record_id == "R-2")).scalar_one()
    assert stored.quantity == Decimal("12.500") and stored.product_id == nut.id and stored.location_id == store.id and stored.source == "api"
    (entry,) = _audit(session, "vmi_stock:shared")
    assert entry.summary == {"kept": 3, "unchanged": 0, "rejected": 1, "source": "api"}
    assert (entry.actor_org_id, entry.subject_org_id) == (world.buyer.org.id, world.buyer.org.id)


def test_the_same_record_again_is_unchanged_and_other_content_under_its_id_is_refused(client, session, world, shelf):
    (bolt, _nut), store = shelf
    first = client.post(URL, json={"records": [rec("R-1", bolt, store, quantity="5")]}, headers=world.buyer.headers)
    assert first.status_code == 200 and first.get_json()["kept"] == 1
    again = client.post(URL, json={"records": [rec("R-1", bolt, store, quantity="5.000"), rec("R-2", bolt, store)]}, headers=world.buyer.headers)
    assert again.status_code == 200, again.get_json()
    assert [r["status"] for r in again.get_json()["results"]] == ["unchanged", "kept"]
    assert again.get_json()["results"][0]["id"] == first.get_json()["results"][0]["id"]
    changed = client.post(URL, json={"records": [rec("R-1", bolt, store, quantity="6"), rec("R-3", bolt, store)]}, headers=world.buyer.headers)
    assert changed.status_code == 207
    errors = changed.get_json()["results"][0]["errors"]
    assert list(errors) == ["record_id"] and "another quantity" in errors["record_id"][0]
    assert session.execute(sa.select(StockRecord.quantity).where(StockRecord.record_id == "R-1")).scalar_one() == Decimal("5.000")
    # Within one batch too: the first of a record_id counts, a repeat is unchanged or refused.
    twice = client.post(
        URL, json={"records": [rec("R-9", bolt, store), rec("R-9", bolt, store), rec("R-9", bolt, store, quantity="11")]}, headers=world.buyer.headers
    )
    assert [r["status"] for r in twice.get_json()["results"]] == ["kept", "unchanged", "rejected"]


def test_another_buyers_record_id_is_its_own(client, session, world, shelf):
    (bolt, _nut), store = shelf
    products2, store2 = stock_catalog(session, world.buyer2)
    session.commit()
    assert client.post(URL, json={"records": [rec("R-1", bolt, store)]}, headers=world.buyer.headers).status_code == 200
    answer = client.post(URL, json={"records": [rec("R-1", products2[0], store2, quantity="99")]}, headers=world.buyer2.headers)
    assert answer.status_code == 200 and answer.get_json()["kept"] == 1


def test_another_organizations_product_or_location_is_rejected_on_its_field(client, session, world, shelf):
    (bolt, _nut), store = shelf
    (foreign,), foreign_store = stock_catalog(session, world.buyer2)
    session.commit()
    records = [
        rec("R-1", foreign, store),
        rec("R-2", bolt, foreign_store),
        {**rec("R-3", bolt, store), "sku": "NO-SUCH"},
        {"record_id": "R-4", "kind": "receipt", "date": today().isoformat(), "product_id": str(foreign.id), "location_id": str(store.id), "quantity": "1"},
        rec("R-5", bolt, store),
    ]
    body = client.post(URL, json={"records": records}, headers=world.buyer.headers).get_json()
    errors = [r["errors"] for r in body["results"]]
    assert errors[:4] == [
        {"sku": ["Not an active product of your organization."]},
        {"gln": ["Not an active location of your organization."]},
        {"sku": ["Not an active product of your organization."]},
        {"product_id": ["Not an active product of your organization."]},
    ]
    assert body["results"][4]["status"] == "kept"


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"quantity": "1.0005"}, "quantity", "At most 3 decimal places."),
        ({"quantity": "1000000000000000"}, "quantity", "Must be less than 1,000,000,000,000,000."),
        ({"quantity": "1e3"}, "quantity", 'Send a decimal string, such as "12.50".'),
        ({"quantity": 5}, "quantity", 'Send a decimal string, such as "12.50".'),
        ({"kind": "sold"}, "kind", "Must be one of: on_hand, receipt, consumption."),
        ({"date": "2026-02-30"}, "date", "Not a valid date."),
        ({"date": "1990-01-01"}, "date", "Must not be more than ten years ago."),
        ({"record_id": "   "}, "record_id", "Must not be blank."),
        ({"record_id": "R\x00-1"}, "record_id", "Must not contain NUL characters."),
        ({"sku": "S\x00"}, "sku", "Must not contain NUL characters."),
        ({"gln": "12345"}, "gln", "A GLN is 13 digits."),
        ({"colour": "red"}, "colour", "Unknown field."),
    ],
)
def test_each_mistake_is_named_on_its_field(client, world, shelf, change, field, message):
    (bolt, _nut), store = shelf
    record = {**rec("R-X", bolt, store), **change}
    answer = client.post(URL, json={"records": [rec("R-OK", bolt, store), record]}, headers=world.buyer.headers)
    assert answer.status_code == 207, answer.get_json()
    assert answer.get_json()["results"][1]["errors"][field] == [message]


def test_a_date_after_today_is_refused_and_today_is_fine(client, world, shelf):
    (bolt, _nut), store = shelf
    records = [rec("R-1", bolt, store, day=today()), rec("R-2", bolt, store, day=today() + timedelta(days=1))]
    results = client.post(URL, json={"records": records}, headers=world.buyer.headers).get_json()["results"]
    assert results[0]["status"] == "kept"
    assert results[1]["errors"] == {"date": [f"Must not be after today ({today().isoformat()})."]}


def test_product_and_location_are_each_named_once(client, world, shelf):
    (bolt, _nut), store = shelf
    neither = {key: value for key, value in rec("R-1", bolt, store).items() if key not in ("sku", "gln")}
    both = {**rec("R-2", bolt, store), "gtin": bolt.gtin}
    results = client.post(URL, json={"records": [neither, both, rec("R-3", bolt, store)]}, headers=world.buyer.headers).get_json()["results"]
    assert results[0]["errors"] == {"sku": ["Name the product: sku, gtin, product_id."]}
    assert results[1]["errors"] == {"gtin": ["Name the product once: by sku or gtin or product_id, not sku and gtin."]}


def test_a_batch_of_only_bad_records_is_422_naming_each_index_and_field(client, session, world, shelf):
    (bolt, _nut), store = shelf
    records = [rec("R-1", bolt, store, quantity="x"), "not an object", {**rec("R-3", bolt, store), "kind": "sold"}]
    answer = client.post(URL, json={"records": records}, headers=world.buyer.headers)
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    errors = answer.get_json()["errors"]["records"]
    assert errors["0"] == {"quantity": ['Send a decimal string, such as "12.50".']}
    assert errors["1"] == {"_schema": ["Invalid input type."]}
    assert errors["2"] == {"kind": ["Must be one of: on_hand, receipt, consumption."]}
    assert _count(session, world.buyer) == 0 and _audit(session, "vmi_stock:shared") == []


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"records": []}, "records"),
        ({"records": {"record_id": "R-1"}}, "records"),
        ({}, "records"),
        ({"records": [], "extra": 1}, "extra"),
    ],
)
def test_a_malformed_batch_is_refused_as_a_whole(client, world, payload, field):
    answer = client.post(URL, json=payload, headers=world.buyer.headers)
    assert answer.status_code == 422 and field in answer.get_json()["errors"], answer.get_json()


def test_bad_json_and_a_batch_over_the_limits_get_clear_problems(client, world, shelf, monkeypatch):
    (bolt, _nut), store = shelf
    broken = client.post(URL, data=b'{"records": [', headers={**world.buyer.headers, "Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.mimetype == "application/problem+json"
    assert broken.get_json()["detail"] == "The request body is not valid JSON."
    monkeypatch.setattr(stock, "MAX_BATCH", 3)
    too_many = client.post(URL, json={"records": [rec(f"R-{i}", bolt, store) for i in range(4)]}, headers=world.buyer.headers)
    assert too_many.status_code == 422 and too_many.get_json()["errors"] == {"records": ["At most 3 records per request."]}
    huge = json.dumps({"records": [rec(f"R-{i}", bolt, store, note="x" * 1000) for i in range(5000)]})
    assert len(huge) > 4 * 1024 * 1024
    refused = client.post(URL, data=huge, headers={**world.buyer.headers, "Content-Type": "application/json"})
    assert refused.status_code == 413 and refused.mimetype == "application/problem+json"


def test_a_full_batch_of_5000_records_fits_the_body_limit(client, world, shelf):
    (bolt, _nut), store = shelf
    records = [rec(f"RECORD-{i:08d}", bolt, store, kind="consumption", quantity="123456.125") for i in range(stock.MAX_BATCH)]
    answer = client.post(URL, json={"records": records}, headers=world.buyer.headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    assert answer.get_json()["kept"] == stock.MAX_BATCH


def test_only_a_buyers_admins_and_members_share(client, session, world, shelf):
    (bolt, _nut), store = shelf
    _viewer, viewer_token = factories.add_user(session, world.buyer, Role.VIEWER)
    _member, member_token = factories.add_user(session, world.buyer, Role.MEMBER)
    session.commit()
    batch = {"records": [rec("R-1", bolt, store)]}
    supplier = client.post(URL, json=batch, headers=world.supplier.headers)
    assert supplier.status_code == 403 and "buyers" in supplier.get_json()["detail"]
    viewer = client.post(URL, json=batch, headers=factories.bearer(viewer_token))
    assert viewer.status_code == 403 and "admin or member" in viewer.get_json()["detail"]
    assert client.post(URL, json=batch, headers=factories.bearer(member_token)).status_code == 200
    assert client.post(URL, json=batch, headers={}).status_code == 401


def test_the_list_shows_the_buyers_own_records_with_filters(client, session, world, shelf):
    (bolt, nut), store = shelf
    (other,), other_store = stock_catalog(session, world.buyer2)
    session.commit()
    day = today() - timedelta(days=3)
    records = [
        rec("R-1", bolt, store, day=day),
        rec("R-2", nut, store, kind="receipt", day=day),
        rec("R-3", bolt, store, kind="consumption", day=today()),
    ]
    assert client.post(URL, json={"records": records}, headers=world.buyer.headers).status_code == 200
    assert client.post(URL, json={"records": [rec("X-1", other, other_store)]}, headers=world.buyer2.headers).status_code == 200
    mine = client.get(URL, headers=world.buyer.headers).get_json()["items"]
    assert sorted(item["record_id"] for item in mine) == ["R-1", "R-2", "R-3"]
    shown = next(item for item in mine if item["record_id"] == "R-2")
    assert (shown["kind"], shown["quantity"], shown["date"], shown["product_id"]) == ("receipt", "10.000", day.isoformat(), str(nut.id))
    by_product = client.get(f"{URL}?product_id={bolt.id}&kind=on_hand", headers=world.buyer.headers).get_json()["items"]
    assert [item["record_id"] for item in by_product] == ["R-1"]
    recent = client.get(f"{URL}?date_from={today().isoformat()}", headers=world.buyer.headers).get_json()["items"]
    assert [item["record_id"] for item in recent] == ["R-3"]
    paged = client.get(f"{URL}?limit=2", headers=world.buyer.headers).get_json()
    assert len(paged["items"]) == 2 and paged["next_cursor"]
    rest = client.get(f"{URL}?limit=2&cursor={paged['next_cursor']}", headers=world.buyer.headers).get_json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert client.get(URL, headers=world.supplier.headers).get_json()["items"] == []
    assert client.get(f"{URL}?kind=sold", headers=world.buyer.headers).status_code == 422
    assert client.get(f"{URL}?cursor=garbage", headers=world.buyer.headers).status_code == 422


def test_an_idempotency_key_returns_the_first_answer(client, session, world, shelf):
    (bolt, _nut), store = shelf
    headers = {**world.buyer.headers, "Idempotency-Key": "batch-1"}
    first = client.post(URL, json={"records": [rec("R-1", bolt, store)]}, headers=headers)
    retry = client.post(URL, json={"records": [rec("R-1", bolt, store)]}, headers=headers)
    assert first.status_code == retry.status_code == 200
    assert retry.get_json() == first.get_json() and retry.get_json()["results"][0]["status"] == "kept"
    assert len(_audit(session, "vmi_stock:shared")) == 1
