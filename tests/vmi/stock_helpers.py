"""A buyer's catalogue for stock data (products with SKU and GTIN, locations with GLN),
records as the API takes them, and CSV files made of them."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from concord import clock
from concord.catalog import service as catalog
from concord.catalog.gs1 import check_digit

_numbers = itertools.count(1)
HEADER = ("record_id", "kind", "date", "sku", "gln", "quantity")


def gs1(body: str) -> str:
    return body + str(check_digit(body))


def stock_catalog(session, member, count: int = 1):
    """`count` products and one location of the member, each with its GS1 key."""
    n = next(_numbers)
    products = [
        catalog.create_product(
            session,
            member.principal,
            {"sku": f"S{n}-{i}", "name": f"Bolt {n}-{i}", "unit_of_measure": "H87", "gtin": gs1(f"400638{n:03d}{i:03d}")},
        )
        for i in range(1, count + 1)
    ]
    location = catalog.create_location(
        session,
        member.principal,
        {"name": f"Store {n}", "address_line1": "Hafenweg 1", "postal_code": "20457", "city": "Hamburg", "country": "DE", "gln": gs1(f"400000{n:06d}")},
    )
    return products, location


def today() -> date:
    return clock.utcnow().date()


def rec(record_id: str, product, location, *, kind: str = "on_hand", day: date | None = None, quantity: str = "10", **extra) -> dict:
    return {
        "record_id": record_id,
        "kind": kind,
        "date": (day or today() - timedelta(days=1)).isoformat(),
        "sku": product.sku,
        "gln": location.gln,
        "quantity": quantity,
        **extra,
    }


def csv_of(rows, header=HEADER, *, bom: bool = False, separator: str = ",") -> bytes:
    lines = [separator.join(header)] + [separator.join(str(row.get(name, "")) for name in header) for row in rows]
    text = "\r\n".join(lines) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
