"""A product's GS1 Digital Link in the portal: its QR code (an SVG that encodes exactly the
Digital Link URI on the platform's public address), the lot page, the printable label, and
the public view the brand owner's admins choose on the product page."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import sqlalchemy as sa
from concord import qr
from concord.catalog import service as catalog
from concord.catalog.models import Product, PublicView
from concord.db import database
from concord.tenancy.models import Role

from tests import factories
from tests.portal.helpers import text

GTIN = "4006381333931"
BASE = "http://concord.test"
CSS = Path(__file__).resolve().parents[2] / "frontend" / "static" / "css" / "app.css"


def _product(app, session, world, gtin: str | None = GTIN, sku: str = "BR-1") -> Product:
    with app.test_request_context():
        product = catalog.create_product(session, world.supplier.principal, {"sku": sku, "name": "Steel bracket", "unit_of_measure": "H87", "gtin": gtin})
    session.commit()
    return product


def dark_modules(svg: str) -> tuple[int, set[tuple[int, int]]]:
    """Read a segno SVG back: the symbol's size and its dark modules (row, column), from the
    path's moves and horizontal runs, without its four-module quiet zone."""
    root = ET.fromstring(svg)
    path = root.find("{http://www.w3.org/2000/svg}path")
    assert path is not None
    scale = int(re.fullmatch(r"scale\((\d+)\)", path.get("transform", "scale(1)"))[1])
    size = int(float(root.get("width").removesuffix("px"))) // scale - 8
    x = y = 0.0
    dark: set[tuple[int, int]] = set()
    for command, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path.get("d")):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            dark.update((int(y - 0.5) - 4, int(x) + i - 4) for i in range(int(a)))
            x += float(a)
    return size, dark


def _matrix_dark(uri: str) -> set[tuple[int, int]]:
    return {(r, c) for r, row in enumerate(qr.matrix(uri)) for c, cell in enumerate(row) if cell}


def test_the_qr_code_encodes_the_digital_link_of_the_product_and_of_a_lot(app, session, world, signed_in):
    product = _product(app, session, world)
    browser = signed_in(world.supplier)
    for query, uri in (("", f"{BASE}/01/0{GTIN}"), ("?lot=AB/1", f"{BASE}/01/0{GTIN}/10/AB%2F1"), ("?serial=S-9", f"{BASE}/01/0{GTIN}/21/S-9")):
        response = browser.get(f"/catalog/products/{product.id}/qr.svg{query}")
        assert response.status_code == 200 and response.mimetype == "image/svg+xml"
        svg = response.get_data(as_text=True)
        size, dark = dark_modules(svg)
        assert size == len(qr.matrix(uri))
        assert dark == _matrix_dark(uri), f"the SVG does not encode {uri}"
        assert dark != _matrix_dark(uri + "x")  # the comparison tells URIs apart
        assert ET.fromstring(svg).find("{http://www.w3.org/2000/svg}title").text == uri


def test_qr_codes_need_a_gtin_and_a_valid_lot(app, session, world, signed_in):
    bare = _product(app, session, world, gtin=None)
    browser = signed_in(world.supplier)
    assert browser.get(f"/catalog/products/{bare.id}/qr.svg").status_code == 409
    assert browser.get(f"/catalog/products/{bare.id}/label").status_code == 409
    product = _product(app, session, world, gtin="96385074", sku="BR-2")
    for lot in ("L" * 21, "L 1", "Lé"):
        assert browser.get(f"/catalog/products/{product.id}/qr.svg", query_string={"lot": lot}).status_code == 400, lot
    assert browser.get(f"/catalog/products/{product.id}/label", query_string={"lot": "L" * 21}).status_code == 400


def test_the_label_shows_name_gtin_lot_qr_and_the_digital_link_and_prints_alone(app, session, world, signed_in):
    product = _product(app, session, world)
    page = signed_in(world.supplier).get(f"/catalog/products/{product.id}/label?lot=L-7")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    uri = f"{BASE}/01/0{GTIN}/10/L-7"
    label = body[body.index('<article class="label"') :]
    assert "Steel bracket" in label and f"0{GTIN}" in label and "L-7" in label and f'<p class="uri">{uri}</p>' in label
    svg = label[label.index("<svg") : label.index("</svg>") + 6]
    assert dark_modules(svg)[1] == _matrix_dark(uri)
    assert "data-print" in body
    css = CSS.read_text()
    print_rules = css[css.index("@media print") :]
    assert ".topbar" in print_rules and ".no-print" in print_rules and ".label" in print_rules


def test_the_lot_page_shows_its_link_and_the_events_the_organization_sees(app, client, session, world, signed_in):
    product = _product(app, session, world)
    lot_event = {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:00000000-1071-4000-8000-000000000001",
        "eventTime": "2024-05-01T10:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "bizStep": "shipping",
        "epcList": [],
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:4006381.033393.L-7", "quantity": 3}],
    }
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-05-01T10:00:00Z",
        "epcisBody": {"eventList": [lot_event]},
    }
    assert client.post("/api/v1/epcis/capture", json=document, headers=world.supplier.headers).status_code == 202
    browser = signed_in(world.supplier)
    found = browser.get(f"/catalog/products/{product.id}/lots?lot=L-7")
    assert found.status_code == 302 and found.headers["Location"].endswith(f"/catalog/products/{product.id}/lots/L-7")
    page = browser.get(f"/catalog/products/{product.id}/lots/L-7")
    assert page.status_code == 200
    shown = text(page)
    assert f"{BASE}/01/0{GTIN}/10/L-7" in shown and "urn:uuid:00000000-1071-4000-8000-000000000001" in shown and "Nothing public" in shown
    other = browser.get(f"/catalog/products/{product.id}/lots/L-8")
    assert other.status_code == 200 and "No event names this lot" in text(other)
    slash = browser.get(f"/catalog/products/{product.id}/lots?lot=A/B")
    assert slash.headers["Location"].endswith("/lots/A/B")
    assert f"{BASE}/01/0{GTIN}/10/A%2FB" in text(browser.get(slash.headers["Location"]))


def test_admins_choose_the_public_view_on_the_product_page(app, session, world, signed_in):
    product = _product(app, session, world)
    form = {"sku": "BR-1", "name": "Steel bracket", "unit_of_measure": "H87", "gtin": GTIN, "active": "on"}
    admin = signed_in(world.supplier)
    page = admin.get(f"/catalog/products/{product.id}")
    assert 'name="public_view"' in page.get_data(as_text=True) and f"{BASE}/01/0{GTIN}" in text(page) and "<svg" in page.get_data(as_text=True)
    assert admin.post(f"/catalog/products/{product.id}", {**form, "public_view": "custody"}).status_code == 302
    with database(app).sessionmaker() as s:
        assert s.get(Product, product.id).public_view == PublicView.CUSTODY
    with app.test_request_context():
        member_user, _token = factories.add_user(session, world.supplier, Role.MEMBER)
    session.commit()
    member = signed_in(member_user)
    assert 'name="public_view"' not in member.get(f"/catalog/products/{product.id}").get_data(as_text=True)
    assert member.post(f"/catalog/products/{product.id}", {**form, "name": "Steel bracket 2"}).status_code == 302
    refused = member.post(f"/catalog/products/{product.id}", {**form, "public_view": "none"})
    assert refused.status_code == 403
    with database(app).sessionmaker() as s:
        saved = s.execute(sa.select(Product).where(Product.id == product.id)).scalar_one()
        assert (saved.name, saved.public_view) == ("Steel bracket 2", PublicView.CUSTODY)


def test_admins_set_the_event_sharing_default_in_the_portal(app, session, world, signed_in, client):
    admin = signed_in(world.supplier)
    page = admin.get("/organization/event-sharing")
    assert page.status_code == 200 and 'value="private" checked' in page.get_data(as_text=True)
    assert admin.post("/organization/event-sharing", {"sharing": "everyone"}).status_code == 422
    saved = admin.post("/organization/event-sharing", {"sharing": "lot"})
    assert saved.status_code == 302
    assert client.get("/api/v1/epcis/sharing", headers=world.supplier.headers).get_json() == {"sharing": "lot"}
    with app.test_request_context():
        viewer, _token = factories.add_user(session, world.supplier, Role.VIEWER)
    session.commit()
    reader = signed_in(viewer)
    shown = reader.get("/organization/event-sharing")
    assert "Every handler of the same lot" in text(shown) and 'name="sharing"' not in shown.get_data(as_text=True)
    refused = reader.post("/organization/event-sharing", {"sharing": "private"})
    assert refused.status_code == 403
    assert client.get("/api/v1/epcis/sharing", headers=world.supplier.headers).get_json() == {"sharing": "lot"}
