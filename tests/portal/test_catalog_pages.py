"""Products and locations in the portal: each organization's own, added and edited through
forms that show the schema's and the service's messages field by field."""

from __future__ import annotations

import sqlalchemy as sa
from concord.catalog import service as catalog
from concord.catalog.models import Location, Product
from concord.db import database
from concord.tenancy.models import Role

from tests import factories
from tests.portal.helpers import field_error, text

PRODUCT = {"sku": "BR-100", "name": "Steel bracket", "unit_of_measure": "H87", "gtin": "4006381333931", "description": ""}
LOCATION = {"name": "Plant Stuttgart", "address_line1": "Werkstrasse 7", "postal_code": "70565", "city": "Stuttgart", "country": "de", "gln": "4000001000005"}


def rows(app, model):
    with database(app).sessionmaker() as s:
        return list(s.execute(sa.select(model)).scalars())


def test_buyer_adds_a_product_and_sees_it_listed(app, world, signed_in):
    buyer = signed_in(world.buyer)
    page = buyer.get("/catalog/products")
    assert page.status_code == 200
    assert "No products yet" in text(page)
    response = buyer.post("/catalog/products", PRODUCT)
    assert response.status_code == 302 and response.headers["Location"].endswith("/catalog/products")
    listed = text(buyer.get("/catalog/products"))
    assert "Product BR-100 “Steel bracket” added." in listed
    assert "Steel bracket" in listed and "4006381333931" in listed and "piece (H87)" in listed
    (product,) = rows(app, Product)
    assert (product.organization_id, product.sku, product.gtin, product.description) == (world.buyer.org.id, "BR-100", "4006381333931", None)


def test_product_form_errors_are_shown_by_field_and_nothing_is_written(app, world, signed_in):
    buyer = signed_in(world.buyer)
    response = buyer.post("/catalog/products", {**PRODUCT, "sku": "", "gtin": "4006381333932", "unit_of_measure": "XXX"})
    assert response.status_code == 422
    assert field_error(response, "sku") == ["Missing data for required field."]
    assert field_error(response, "gtin") and "check digit" in field_error(response, "gtin")[0]
    assert field_error(response, "unit_of_measure")
    assert 'value="Steel bracket"' in response.get_data(as_text=True)  # what was typed stays
    assert rows(app, Product) == []


def test_a_duplicate_sku_is_refused_by_the_service_on_the_sku_field(app, world, signed_in):
    buyer = signed_in(world.buyer)
    assert buyer.post("/catalog/products", PRODUCT).status_code == 302
    again = buyer.post("/catalog/products", {**PRODUCT, "name": "Another"})
    assert again.status_code == 409
    assert "already has a product with this sku" in text(again)
    assert field_error(again, "sku") == ["Already in use in your organization."]
    assert len(rows(app, Product)) == 1


def test_editing_a_product_renames_retires_and_clears_its_gtin(app, world, signed_in, session):
    with app.test_request_context():
        product = catalog.create_product(session, world.buyer.principal, {**PRODUCT, "description": None})
    session.commit()
    buyer = signed_in(world.buyer)
    form = buyer.get(f"/catalog/products/{product.id}")
    assert form.status_code == 200 and 'value="BR-100"' in form.get_data(as_text=True)
    blank = buyer.post(f"/catalog/products/{product.id}", {**PRODUCT, "name": " ", "active": "on"})
    assert blank.status_code == 422 and field_error(blank, "name") == ["Must not be blank."]
    saved = buyer.post(f"/catalog/products/{product.id}", {**PRODUCT, "name": "Steel bracket, galvanized", "gtin": ""})
    assert saved.status_code == 302
    (stored,) = rows(app, Product)
    assert (stored.name, stored.gtin, stored.active) == ("Steel bracket, galvanized", None, False)
    assert "retired" in text(buyer.get("/catalog/products?retired=1"))
    assert "Steel bracket, galvanized" not in text(buyer.get("/catalog/products"))  # retired ones only on request


def test_locations_are_added_with_field_errors_and_edited(app, world, signed_in):
    buyer = signed_in(world.buyer)
    bad = buyer.post("/catalog/locations", {**LOCATION, "country": "Germany", "gln": "123"})
    assert bad.status_code == 422
    assert field_error(bad, "country") == ["Use the ISO 3166-1 alpha-2 code of a country, such as DE for Germany."]
    assert field_error(bad, "gln")
    assert rows(app, Location) == []
    assert buyer.post("/catalog/locations", LOCATION).status_code == 302
    (location,) = rows(app, Location)
    assert (location.country, location.gln, location.address_line2) == ("DE", "4000001000005", None)
    assert "Location “Plant Stuttgart” added." in text(buyer.get("/catalog/locations"))
    edited = buyer.post(f"/catalog/locations/{location.id}", {**LOCATION, "city": "Stuttgart-Vaihingen", "gln": "", "active": "on"})
    assert edited.status_code == 302
    (location,) = rows(app, Location)
    assert (location.city, location.gln, location.active) == ("Stuttgart-Vaihingen", None, True)


def test_another_organizations_product_and_location_are_404(app, world, signed_in, session):
    with app.test_request_context():
        product = catalog.create_product(session, world.buyer2.principal, {**PRODUCT, "description": None})
        location = catalog.create_location(session, world.buyer2.principal, {**LOCATION, "country": "DE", "address_line2": None})
    session.commit()
    buyer = signed_in(world.buyer)
    assert "BR-100" not in text(buyer.get("/catalog/products"))
    for path in (f"/catalog/products/{product.id}", f"/catalog/locations/{location.id}"):
        assert buyer.get(path).status_code == 404
        assert buyer.post(path, {**PRODUCT, **LOCATION, "name": "Taken Over"}).status_code == 404
    assert rows(app, Product)[0].name == "Steel bracket" and rows(app, Location)[0].name == "Plant Stuttgart"


def test_a_viewer_reads_the_catalog_without_forms_and_cannot_write(app, world, signed_in, session):
    with app.test_request_context():
        catalog.create_product(session, world.buyer.principal, {**PRODUCT, "description": None})
        viewer, _ = factories.add_user(session, world.buyer, Role.VIEWER)
    session.commit()
    browser = signed_in(viewer)
    page = browser.get("/catalog/products")
    assert "Steel bracket" in text(page) and "Add a product" not in text(page)
    refused = browser.post("/catalog/products", {**PRODUCT, "sku": "BR-200"})
    assert refused.status_code == 403 and "This action needs the admin or member role" in text(refused)
    assert len(rows(app, Product)) == 1
