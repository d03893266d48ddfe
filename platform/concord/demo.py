"""The demo consortium: an operator, two manufacturers (with products and a plant), three
suppliers, two carriers, a financier and an auditor, each with an admin; partnerships
between them; one pending registration for the operator to review; and the provenance of
one lot with an auditor's engagement (`demo_provenance`); once the contracts are deployed,
purchase orders from Northwind to Acme through their escrow (`demo_orders`); payment terms,
the financier's funds and exposure limits (`demo_finance`); Northwind and Baltic's VMI
agreement with a year of shared stock history and its first proposals (`demo_vmi`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from concord import demo_finance, demo_orders, demo_provenance, demo_vmi
from concord.catalog import service as catalog
from concord.ledger import service as ledger
from concord.policy import Principal
from concord.tenancy import service
from concord.tenancy.models import Relation, User

DEMO_PASSWORD = "Concord-demo-2026"


@dataclass(frozen=True)
class DemoOrg:
    key: str
    legal_name: str
    registration_number: str
    country: str
    capabilities: tuple[str, ...]
    admin_name: str
    email: str


OPERATOR = DemoOrg("operator", "Concord Consortium Operator B.V.", "NL-80123456", "NL", (), "Olivia Operator", "operator@concord.example")
DEMO_BUYER_FUNDS = {"EUR": Decimal("250000.00"), "USD": Decimal("100000.00")}

MEMBERS = [
    DemoOrg("northwind", "Northwind Manufacturing GmbH", "HRB-204518", "DE", ("buyer",), "Nora Brandt", "buyer@northwind.example"),
    DemoOrg("helios", "Helios Motors S.p.A.", "IT-09876543210", "IT", ("buyer",), "Marco Ricci", "buyer@helios.example"),
    DemoOrg("acme", "Acme Components Ltd", "GB-07412589", "GB", ("supplier",), "Sam Patel", "supplier@acme.example"),
    DemoOrg("baltic", "Baltic Metals UAB", "LT-304512987", "LT", ("supplier",), "Ieva Kazlauskaite", "supplier@baltic.example"),
    DemoOrg("sunrise", "Sunrise Plastics Co., Ltd.", "CN-91310000MA1", "CN", ("supplier",), "Li Wei", "supplier@sunrise.example"),
    DemoOrg("swift", "Swift Freight Logistics B.V.", "NL-70345120", "NL", ("carrier",), "Daan de Vries", "carrier@swift.example"),
    DemoOrg("oceanic", "Oceanic Shipping A/S", "DK-38291047", "DK", ("carrier",), "Freja Holm", "carrier@oceanic.example"),
    DemoOrg("harbor", "Harbor Trade Finance plc", "GB-11223344", "GB", ("financier",), "Grace Okafor", "finance@harbor.example"),
    DemoOrg("veritas", "Veritas Assurance SAS", "FR-55218907300", "FR", ("auditor",), "Camille Laurent", "audit@veritas.example"),
]
#: What each demo buyer orders, and where it takes delivery.
CATALOGS = {
    "northwind": (
        [
            {"sku": "NW-BRK-100", "name": "Steel mounting bracket", "unit_of_measure": "H87", "gtin": "4006381333931"},
            {"sku": "NW-BLT-M8", "name": "Hex bolt M8x40, zinc plated", "unit_of_measure": "H87"},
            {"sku": "NW-SHT-2MM", "name": "Aluminium sheet 2 mm", "unit_of_measure": "KGM"},
            {"sku": "NW-SEAL-K1", "name": "Pump seal kit", "unit_of_measure": "H87"},
        ],
        {
            "name": "Northwind Plant Stuttgart",
            "address_line1": "Industriestrasse 12",
            "postal_code": "70565",
            "city": "Stuttgart",
            "country": "DE",
            "gln": "4006381000017",
        },
    ),
    "helios": (
        [
            {"sku": "HM-HSG-7", "name": "Gearbox housing, cast", "unit_of_measure": "H87"},
            {"sku": "HM-GSK-7", "name": "Housing gasket", "unit_of_measure": "H87"},
        ],
        {"name": "Helios Assembly Turin", "address_line1": "Via Nizza 250", "postal_code": "10126", "city": "Torino", "country": "IT"},
    ),
}
PENDING = DemoOrg("nordic", "Nordic Packaging AB", "SE-5591234567", "SE", ("supplier",), "Erik Lund", "admin@nordicpack.example")

PARTNERSHIPS = [
    (Relation.BUYER_SUPPLIER, "northwind", "acme"),
    (Relation.BUYER_SUPPLIER, "northwind", "baltic"),
    (Relation.BUYER_SUPPLIER, "helios", "acme"),
    (Relation.BUYER_SUPPLIER, "helios", "sunrise"),
    (Relation.SHIPPER_CARRIER, "acme", "swift"),
    (Relation.SHIPPER_CARRIER, "baltic", "swift"),
    (Relation.SHIPPER_CARRIER, "sunrise", "oceanic"),
    (Relation.SUPPLIER_FINANCIER, "acme", "harbor"),
    (Relation.PARTY_AUDITOR, "northwind", "veritas"),
]


def _register(session: Session, org: DemoOrg):
    return service.register_organization(
        session,
        organization={
            "legal_name": org.legal_name,
            "registration_number": org.registration_number,
            "country": org.country,
            "contact_name": org.admin_name,
            "contact_email": org.email,
            "capabilities": list(org.capabilities),
        },
        admin={"full_name": org.admin_name, "email": org.email, "password": DEMO_PASSWORD},
    )


def admins(session: Session) -> dict[str, Principal]:
    """The demo members' admins, by key (after `seed`)."""
    found = {}
    for member in MEMBERS:
        user = session.execute(sa.select(User).where(User.email == member.email)).scalar_one()
        found[member.key] = Principal(user=user, org=user.organization, via="demo", credential_id=user.id)
    return found


def seed_on_ledger(session: Session) -> None:
    """What the demo anchors on chain as it is created (the contracts are deployed): the
    certificates, and Northwind's orders with Acme, escrowed, delivered and received."""
    members = admins(session)
    demo_provenance.seed_documents(session, members)
    demo_orders.seed(session, members)


def seed(session: Session) -> list[tuple[str, str, str]]:
    """Create the demo consortium on an empty database; return (organization, email, password) logins."""
    operator_org, operator_admin = service.bootstrap_operator(
        session,
        legal_name=OPERATOR.legal_name,
        registration_number=OPERATOR.registration_number,
        country=OPERATOR.country,
        admin_name=OPERATOR.admin_name,
        admin_email=OPERATOR.email,
        password=DEMO_PASSWORD,
    )
    operator = Principal(user=operator_admin, org=operator_org, via="demo", credential_id=operator_admin.id)
    admins = {}
    for member in MEMBERS:
        org, admin = _register(session, member)
        service.transition_organization(session, operator, org.id, "approve", reason="Demo consortium member")
        admins[member.key] = Principal(user=admin, org=org, via="demo", credential_id=admin.id)
    for relation, side_a, side_b in PARTNERSHIPS:
        requester, addressee = admins[side_a], admins[side_b]
        partnership = service.request_partnership(
            session, requester, relation=relation, counterparty_id=addressee.org.id, my_side=relation.sides[0], message=None
        )
        service.transition_partnership(session, addressee, partnership.id, "accept")
    # Buyers start with settlement tokens to fund escrows; the mints wait in the outbox
    # until the contracts are deployed.
    for member in MEMBERS:
        if "buyer" in member.capabilities:
            for currency, amount in DEMO_BUYER_FUNDS.items():
                if currency in current_app.config["SETTLEMENT_CURRENCIES"]:
                    ledger.mint(session, operator, admins[member.key].org.id, currency, amount)
    for key, (products, location) in CATALOGS.items():
        for product in products:
            catalog.create_product(session, admins[key], product)
        catalog.create_location(session, admins[key], location)
    demo_provenance.seed(session, admins)
    demo_finance.seed(session, operator, admins)
    demo_vmi.seed(session, admins)
    _register(session, PENDING)
    logins = [(OPERATOR.legal_name, OPERATOR.email, DEMO_PASSWORD)]
    logins += [(m.legal_name, m.email, DEMO_PASSWORD) for m in MEMBERS]
    return logins
