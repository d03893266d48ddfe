"""The demo's finance: Northwind's payment terms with its suppliers (escrow with Acme, so
the received orders of `demo_orders` are Acme's to invoice and finance; open account, net
60, with Baltic), Harbor's settlement funds (to pay advances) and its exposure limits on
Northwind and Acme."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from concord.finance import limits, terms
from concord.ledger import service as ledger
from concord.orders.models import Settlement
from concord.policy import Principal
from concord.tenancy.models import Partnership, Relation

FINANCIER_FUNDS = {"EUR": Decimal("500000.00"), "USD": Decimal("200000.00")}
#: Northwind's terms per supplier: settlement, net days, quantity %, price %, amount per line.
TERMS = {
    "acme": (Settlement.ESCROW, 30, Decimal("2"), Decimal("1"), Decimal("5.00")),
    "baltic": (Settlement.OPEN_ACCOUNT, 60, Decimal("1"), Decimal("0.5"), Decimal("2.00")),
}
#: Harbor's exposure limits in EUR: (side, member, amount).
LIMITS = [("buyer", "northwind", Decimal("60000.00")), ("supplier", "acme", Decimal("40000.00"))]


def seed(session: Session, operator: Principal, admins: dict[str, Principal]) -> None:
    northwind, harbor = admins["northwind"], admins["harbor"]
    for supplier, (settlement, net_days, quantity, price, amount) in TERMS.items():
        partnership = session.execute(
            sa.select(Partnership).where(
                Partnership.relation == Relation.BUYER_SUPPLIER,
                Partnership.org_a_id == northwind.org.id,
                Partnership.org_b_id == admins[supplier].org.id,
            )
        ).scalar_one()
        terms.set_terms(
            session,
            northwind,
            partnership.id,
            {"settlement": settlement, "net_days": net_days, "quantity_tolerance": quantity, "price_tolerance": price, "amount_tolerance": amount},
        )
    # The mints wait in the outbox until the contracts are deployed.
    for currency, funds in FINANCIER_FUNDS.items():
        if currency in current_app.config["SETTLEMENT_CURRENCIES"]:
            ledger.mint(session, operator, harbor.org.id, currency, funds)
    if "EUR" in current_app.config["SETTLEMENT_CURRENCIES"]:
        for side, member, limit in LIMITS:
            limits.set_limit(session, harbor, {"side": side, "counterparty_id": admins[member].org.id, "currency": "EUR", "amount": limit})
