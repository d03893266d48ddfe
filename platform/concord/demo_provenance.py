"""The demo's provenance: one lot followed from Baltic's mill to Northwind's plant, an
engagement for the auditor, published products, and (once the contracts are deployed)
certificates.

Baltic makes hot-rolled coil lot COIL-2611-07 from sorted scrap and ships 5 t of it to
Acme; Acme receives it, makes 1,000 mounting brackets (lot BRK-2611-A) from 500 kg of it,
packs 500 of them on a pallet (an SSCC) and ships the lot to Northwind, which accepts 990
and rejects 10. Acme and Baltic share their events with every handler of the same lot;
shipments and receipts are shared with the parties of their orders. Northwind grants
Veritas an engagement over this year's records, so `audit@veritas.example` can trace the
lot, verify its events, and download their proof bundles.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from concord import clock, files
from concord.catalog import service as catalog
from concord.catalog.models import PublicView
from concord.documents import service as documents
from concord.engagements import service as engagements
from concord.policy import Principal
from concord.provenance import production, sharing, steps
from concord.provenance import service as provenance
from concord.provenance.models import Sharing

BRACKETS = {"sku": "AC-BRK-100", "name": "Steel mounting bracket", "unit_of_measure": "H87", "gtin": "4006381333931"}
COIL = {"sku": "BM-COIL-S235", "name": "Hot-rolled steel coil S235", "unit_of_measure": "KGM", "gtin": "4771234000017"}
SCRAP = {"sku": "BM-SCRAP-1", "name": "Steel scrap, sorted", "unit_of_measure": "KGM", "gtin": "4771234000024"}
#: What the suppliers make, and where.
CATALOGS = {
    "acme": (
        [BRACKETS, COIL],
        {"name": "Acme Works Birmingham", "address_line1": "Tyseley Industrial Estate 4", "postal_code": "B11 2AA", "city": "Birmingham", "country": "GB"}
        | {"gln": "5012345000107"},
    ),
    "baltic": (
        [COIL, SCRAP],
        {"name": "Baltic Mill Klaipeda", "address_line1": "Pramones g. 8", "postal_code": "94102", "city": "Klaipeda", "country": "LT"}
        | {"gln": "4770123000107"},
    ),
}
NORTHWIND_GLN = "4006381000017"  # Northwind Plant Stuttgart (demo.CATALOGS)
BRACKET_LOT, COIL_LOT, SCRAP_LOT = "BRK-2611-A", "COIL-2611-07", "SCR-2611-02"
PALLET_SSCC = "037612345000000021"
# A minimal PDF: what a certificate's file is (the documents accept PDF, PNG and JPEG).
_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def seed_catalogs(session: Session, admins: dict[str, Principal]) -> dict[tuple[str, str], Any]:
    """The suppliers' products (with GTINs) and GLN locations; (org key, SKU) -> product."""
    made: dict[tuple[str, str], Any] = {}
    for key, (products, location) in CATALOGS.items():
        for product in products:
            made[key, product["sku"]] = catalog.create_product(session, admins[key], product)
        made[key, "location"] = catalog.create_location(session, admins[key], location)
    return made


def _moved(lot_of: dict[str, Any], quantity: Decimal, biz_step: str, disposition: str, when: Any, **fields: Any) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": when.isoformat(timespec="milliseconds"),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [],
        "action": "OBSERVE",
        "bizStep": biz_step,
        "disposition": disposition,
        "quantityList": [
            {"epcClass": steps.product_class(lot_of["gtin"], lot_of["lot"]), "quantity": steps.quantity_value(quantity)}
            | ({"uom": lot_of["uom"]} if lot_of["uom"] else {})
        ],
    } | fields


def _transactions(po: str, desadv: str, buyer_gln: str, seller_gln: str) -> list[dict[str, str]]:
    return [
        {"type": "po", "bizTransaction": f"urn:epcglobal:cbv:bt:{buyer_gln}:{po}"},
        {"type": "desadv", "bizTransaction": f"urn:epcglobal:cbv:bt:{seller_gln}:{desadv}"},
    ]


def seed_events(session: Session, admins: dict[str, Principal], made: dict[tuple[str, str], Any]) -> None:
    """The lot's story as EPCIS events, each recorded by the organization that took the step."""
    now = clock.utcnow().replace(microsecond=0)
    acme, baltic, northwind, swift = (admins[key] for key in ("acme", "baltic", "northwind", "swift"))
    for supplier in (acme, baltic):
        sharing.set_default(session, supplier, Sharing.LOT)
    session.commit()
    coil = {"gtin": COIL["gtin"], "lot": COIL_LOT, "uom": "KGM"}
    brackets = {"gtin": BRACKETS["gtin"], "lot": BRACKET_LOT, "uom": None}
    acme_site, baltic_site = steps.gln_location(CATALOGS["acme"][1]["gln"]), steps.gln_location(CATALOGS["baltic"][1]["gln"])
    northwind_site = steps.gln_location(NORTHWIND_GLN)

    def goods(key: str, sku: str, lot: str, quantity: str) -> dict[str, Any]:
        return {"product_id": made[key, sku].id, "lot": lot, "quantity": Decimal(quantity)}

    production.produce(
        session,
        baltic,
        {
            "inputs": [goods("baltic", SCRAP["sku"], SCRAP_LOT, "26000")],
            "output": goods("baltic", COIL["sku"], COIL_LOT, "24000"),
            "occurred_at": now - timedelta(days=20),
            "location_id": made["baltic", "location"].id,
        },
    )
    coil_order = _transactions("PO-AC-2611-07", "DESADV-2611-31", CATALOGS["acme"][1]["gln"], CATALOGS["baltic"][1]["gln"])
    to_acme = {
        "sourceList": [{"type": "owning_party", "source": steps.party(baltic.org.id)}, {"type": "location", "source": baltic_site}],
        "destinationList": [{"type": "owning_party", "destination": steps.party(acme.org.id)}, {"type": "location", "destination": acme_site}],
        "bizTransactionList": coil_order,
    }
    shipped = _moved(coil, Decimal(5000), "shipping", "in_transit", now - timedelta(days=18), readPoint={"id": baltic_site}, **to_acme)
    provenance.record_events(session, baltic.org.id, baltic.user.id, [shipped], source="demo:shipping", parties=[acme.org.id])
    received = _moved(coil, Decimal(5000), "receiving", "in_progress", now - timedelta(days=15), readPoint={"id": acme_site}, bizLocation={"id": acme_site})
    provenance.record_events(session, acme.org.id, acme.user.id, [received | to_acme], source="demo:receiving", parties=[baltic.org.id])
    session.commit()
    production.produce(
        session,
        acme,
        {
            "inputs": [goods("acme", COIL["sku"], COIL_LOT, "500")],
            "output": goods("acme", BRACKETS["sku"], BRACKET_LOT, "1000"),
            "occurred_at": now - timedelta(days=12),
            "location_id": made["acme", "location"].id,
        },
    )
    production.pack(
        session,
        acme,
        {
            "sscc": PALLET_SSCC,
            "contents": [goods("acme", BRACKETS["sku"], BRACKET_LOT, "500")],
            "occurred_at": now - timedelta(days=11),
            "location_id": made["acme", "location"].id,
        },
    )
    bracket_order = _transactions("PO-NW-2611-0042", "DESADV-2611-88", NORTHWIND_GLN, CATALOGS["acme"][1]["gln"])
    to_northwind = {
        "sourceList": [{"type": "owning_party", "source": steps.party(acme.org.id)}, {"type": "location", "source": acme_site}],
        "destinationList": [{"type": "owning_party", "destination": steps.party(northwind.org.id)}, {"type": "location", "destination": northwind_site}],
        "bizTransactionList": bracket_order,
    }
    shipped = _moved(brackets, Decimal(1000), "shipping", "in_transit", now - timedelta(days=10), readPoint={"id": acme_site}, **to_northwind)
    provenance.record_events(session, acme.org.id, acme.user.id, [shipped], source="demo:shipping", parties=[northwind.org.id, swift.org.id])
    at_northwind = {"readPoint": {"id": northwind_site}, "bizLocation": {"id": northwind_site}}
    accepted = _moved(brackets, Decimal(990), "receiving", "in_progress", now - timedelta(days=7), **at_northwind, **to_northwind)
    rejected = _moved(brackets, Decimal(10), "receiving", "non_conformant", now - timedelta(days=7), **at_northwind, **to_northwind)
    provenance.record_events(session, northwind.org.id, northwind.user.id, [accepted, rejected], source="demo:receiving", parties=[acme.org.id])
    session.commit()


def seed_engagement_and_publishing(session: Session, admins: dict[str, Principal], made: dict[tuple[str, str], Any]) -> None:
    """Northwind's engagement of Veritas over this year; Acme's brackets and Baltic's coil
    published through their GS1 Digital Links."""
    today = clock.utcnow().date()
    engagements.grant(
        session,
        admins["northwind"],
        {
            "auditor_id": admins["veritas"].org.id,
            "kinds": ["orders", "lots", "products", "documents", "events"],
            "period_from": date(today.year, 1, 1),
            "period_to": date(today.year, 12, 31),
            "valid_until": clock.utcnow() + timedelta(days=365),
            "note": "Annual supplier audit: traceability of bought-in metal parts",
        },
    )
    catalog.update_product(session, admins["acme"], made["acme", BRACKETS["sku"]].id, {"public_view": PublicView.CUSTODY})
    catalog.update_product(session, admins["baltic"], made["baltic", COIL["sku"]].id, {"public_view": PublicView.ORIGIN})


def seed(session: Session, admins: dict[str, Principal]) -> None:
    made = seed_catalogs(session, admins)
    seed_events(session, admins, made)
    seed_engagement_and_publishing(session, admins, made)


def seed_documents(session: Session, admins: dict[str, Principal]) -> None:
    """Certificates and a lab report, anchored on chain (the contracts must be deployed)."""
    today = clock.utcnow().date()
    acme, baltic = admins["acme"], admins["baltic"]
    certificates = [
        (
            acme,
            "iso_9001",
            "ISO 9001:2015 quality management",
            "TÜV Nord Cert GmbH",
            "44 100 2611 0042",
            today - timedelta(days=400),
            today + timedelta(days=700),
            {"subject_type": "organization"},
        ),
        (
            acme,
            "iso_14001",
            "ISO 14001:2015 environmental management",
            "TÜV Nord Cert GmbH",
            "44 104 2611 0043",
            today - timedelta(days=340),
            today + timedelta(days=21),
            {"subject_type": "organization"},
        ),
        (
            acme,
            "certificate_of_origin",
            "Certificate of origin: mounting brackets",
            "Birmingham Chamber of Commerce",
            "GB-COO-2611-884",
            today - timedelta(days=10),
            None,
            {"subject_type": "lot", "gtin": BRACKETS["gtin"], "lot": BRACKET_LOT},
        ),
        (
            baltic,
            "lab_test_report",
            "Tensile and chemistry test, coil lot " + COIL_LOT,
            "Kaunas Materials Laboratory",
            "KML-26-1107",
            today - timedelta(days=19),
            None,
            {"subject_type": "lot", "gtin": COIL["gtin"], "lot": COIL_LOT},
        ),
    ]
    for owner, kind, title, issuer, number, valid_from, valid_until, subject in certificates:
        fields = {"kind": kind, "title": title, "issuer": issuer, "document_number": number, "valid_from": valid_from, "valid_until": valid_until} | subject
        documents.upload(session, owner, fields, files.Upload(f"{kind}-{number.replace(' ', '')}.pdf", _PDF + number.encode() + b"\n", "application/pdf"))
