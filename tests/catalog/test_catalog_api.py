"""Products and locations through the API: validation field by field, uniqueness per
organization, roles, privacy between organizations, and the audit trail."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from concord.catalog import gs1
from concord.catalog.models import Location, Product
from concord.db import database
from concord.tenancy.models import Role

from tests import factories
from tests.security.helpers import audit_entries

BOLT = {"sku": "BLT-M8", "name": "Hex bolt M8 x 40", "unit_of_measure": "H87", "gtin": "4006381333931"}
DOCK = {
    "name": "Stuttgart plant, gate 3",
    "address_line1": "Werkstrasse 7",
    "postal_code": "70565",
    "city": "Stuttgart",
    "country": "de",
    "gln": "4012345000009",
}


def rows(app, model) -> int:
    with database(app).sessionmaker() as session:
        return session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("4006381333931", True),
        ("96385074", True),
        ("036000291452", True),
        ("10614141000415", True),
        ("4006381333932", False),
        ("400638133393", False),
        ("40063813339310", False),
        ("4OO6381333931", False),
        ("٤٠٠٦٣٨١٣٣٣٩٣١", False),
    ],
)
def test_gtin_check_digits(value, valid):
    assert (gs1.problem(value, gs1.GTIN_LENGTHS, "GTIN") is None) is valid


def test_a_member_creates_reads_searches_and_retires_a_product(app, client, world):
    response = client.post("/api/v1/products", json=BOLT, headers=world.supplier.headers)
    assert response.status_code == 201, response.get_json()
    product = response.get_json()
    assert product["organization_id"] == str(world.supplier.org.id) and product["active"] is True
    assert client.get(f"/api/v1/products/{product['id']}", headers=world.supplier.headers).get_json() == product
    found = client.get("/api/v1/products?q=hex%20BOLT", headers=world.supplier.headers).get_json()["items"]
    assert [item["id"] for item in found] == [product["id"]]
    assert client.get("/api/v1/products?q=nut", headers=world.supplier.headers).get_json()["items"] == []
    retired = client.patch(f"/api/v1/products/{product['id']}", json={"active": False, "name": "Hex bolt M8 x 40 (old)"}, headers=world.supplier.headers)
    assert retired.status_code == 200 and retired.get_json()["active"] is False
    assert client.get("/api/v1/products?active=true", headers=world.supplier.headers).get_json()["items"] == []
    actions = [e.action for e in audit_entries(app) if e.object_id == product["id"]]
    assert actions == ["product:created", "product:updated"]
    (update,) = audit_entries(app, action="product:updated")
    assert update.summary["before"] == {"active": True, "name": "Hex bolt M8 x 40"}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({**BOLT, "gtin": "4006381333932"}, "gtin", "check digit"),
        ({**BOLT, "gtin": "12345"}, "gtin", "digits"),
        ({**BOLT, "unit_of_measure": "BAGS"}, "unit_of_measure", "Must be one of"),
        ({**BOLT, "sku": "   "}, "sku", "blank"),
        ({**BOLT, "sku": "x" * 65}, "sku", "Length must be between 1 and 64"),
        ({k: v for k, v in BOLT.items() if k != "name"}, "name", "Missing data"),
        ({**BOLT, "price": "1.00"}, "price", "Unknown field"),
    ],
)
def test_bad_product_input_is_refused_field_by_field_and_writes_nothing(app, client, world, body, field, message):
    response = client.post("/api/v1/products", json=body, headers=world.supplier.headers)
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert message in " ".join(response.get_json()["errors"][field])
    assert rows(app, Product) == 0


def test_a_sku_is_unique_within_an_organization_only(app, client, world):
    assert client.post("/api/v1/products", json=BOLT, headers=world.supplier.headers).status_code == 201
    again = client.post("/api/v1/products", json={**BOLT, "name": "Another"}, headers=world.supplier.headers)
    assert again.status_code == 409 and "sku" in again.get_json()["errors"]
    assert client.post("/api/v1/products", json=BOLT, headers=world.supplier2.headers).status_code == 201
    other = client.post("/api/v1/products", json={**BOLT, "sku": "BLT-M10"}, headers=world.supplier.headers).get_json()
    renamed = client.patch(f"/api/v1/products/{other['id']}", json={"sku": "BLT-M8"}, headers=world.supplier.headers)
    assert renamed.status_code == 409
    assert rows(app, Product) == 3


def test_viewers_read_but_cannot_write(app, client, session, world):
    with app.test_request_context():
        _, viewer_token = factories.add_user(session, world.supplier, Role.VIEWER)
    created = client.post("/api/v1/products", json=BOLT, headers=world.supplier.headers).get_json()
    viewer = factories.bearer(viewer_token)
    assert client.get(f"/api/v1/products/{created['id']}", headers=viewer).status_code == 200
    assert client.post("/api/v1/products", json={**BOLT, "sku": "X"}, headers=viewer).status_code == 403
    assert client.patch(f"/api/v1/products/{created['id']}", json={"active": False}, headers=viewer).status_code == 403
    assert client.post("/api/v1/locations", json=DOCK, headers=viewer).status_code == 403


def test_another_organizations_catalog_is_invisible_even_to_a_partner(app, client, world):
    product = client.post("/api/v1/products", json=BOLT, headers=world.supplier.headers).get_json()
    location = client.post("/api/v1/locations", json=DOCK, headers=world.buyer.headers).get_json()
    # Buyer and supplier are partners; each one's item master stays its own.
    assert client.get(f"/api/v1/products/{product['id']}", headers=world.buyer.headers).status_code == 404
    assert client.get("/api/v1/products", headers=world.buyer.headers).get_json()["items"] == []
    assert client.get(f"/api/v1/locations/{location['id']}", headers=world.supplier.headers).status_code == 404
    assert client.patch(f"/api/v1/locations/{location['id']}", json={"city": "Ulm"}, headers=world.supplier.headers).status_code == 404
    assert [e.object_id for e in audit_entries(app, action="access:denied")] == [product["id"], location["id"], location["id"]]


def test_locations_validate_gln_and_country_and_normalise(app, client, world):
    created = client.post("/api/v1/locations", json=DOCK, headers=world.buyer.headers)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["country"] == "DE" and created.get_json()["gln"] == "4012345000009"
    bad = client.post("/api/v1/locations", json={**DOCK, "name": "Other", "gln": "4012345000008", "country": "Germany"}, headers=world.buyer.headers)
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"gln", "country"}
    duplicate = client.post("/api/v1/locations", json={**DOCK, "gln": None}, headers=world.buyer.headers)
    assert duplicate.status_code == 409 and "name" in duplicate.get_json()["errors"]
    assert rows(app, Location) == 1


@pytest.mark.parametrize("country", ["Germany", "XX", "GER", "D", "zz", "EU"])
def test_a_location_country_is_an_assigned_iso_3166_code(app, client, world, country):
    response = client.post("/api/v1/locations", json={**DOCK, "country": country}, headers=world.buyer.headers)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"] == {"country": ["Use the ISO 3166-1 alpha-2 code of a country, such as DE for Germany."]}


def test_every_assigned_code_is_accepted_and_shown_by_name_in_the_portal_list():
    from concord import countries

    assert countries.names()["GE"] == "Georgia" and countries.names()["DE"] == "Germany"
    assert len(countries.names()) == 249
    assert ("DE", "Germany (DE)") in countries.options()
