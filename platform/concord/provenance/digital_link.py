"""GS1 Digital Link URIs of trade items: `/01/{gtin}`, `/01/{gtin}/10/{lot}`,
`/01/{gtin}/21/{serial}` (and `/01/{gtin}/10/{lot}/21/{serial}`), parsed strictly and built.

A GTIN-8, -12, -13 or -14 with its mod-10 check digit is written as 14 digits; a lot (AI 10)
or serial (AI 21) is 1 to 20 characters of GS1 AI encodable character set 82, percent-encoded
in the URI where it is not an unreserved or harmless character (GS1 Digital Link URI syntax).
What a Digital Link resolves to is in `provenance.resolver`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from concord.catalog import gs1
from concord.errors import DomainError

#: GS1 AI encodable character set 82 (GS1 General Specifications, figure 7.11-1).
SET_82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
#: The qualifiers of a GTIN this resolver knows, in the order a Digital Link writes them.
QUALIFIERS = {"10": "lot", "21": "serial"}
_KEEP = "'-.;=_"  # besides letters and digits: left as they are in a URI path
#: The canonical Digital Link host, which EPCIS events are indexed under (provenance identifiers).
GS1_ID = "https://id.gs1.org/"


class BadLink(DomainError):
    """A Digital Link URI that breaks the syntax (400, naming each field)."""

    title = "Not a GS1 Digital Link this resolver reads"


def encode(value: str) -> str:
    """A lot or serial as a Digital Link path segment writes it."""
    return quote(value, safe=_KEEP)


def normalise_gtin(value: str) -> str:
    """The GTIN as 14 digits (GTIN-8, -12, -13 are padded with zeros)."""
    return value.zfill(14)


@dataclass(frozen=True)
class Link:
    gtin: str  # 14 digits
    lot: str | None = None
    serial: str | None = None

    @property
    def path(self) -> str:
        """`/01/{gtin}` with its qualifiers, percent-encoded."""
        path = f"/01/{self.gtin}"
        if self.lot is not None:
            path += f"/10/{encode(self.lot)}"
        if self.serial is not None:
            path += f"/21/{encode(self.serial)}"
        return path

    def uri(self, base_url: str) -> str:
        return base_url.rstrip("/") + self.path

    @property
    def identifier(self) -> str:
        """The canonical GS1 Digital Link URI (id.gs1.org) of the finest thing named, as EPCIS
        events are indexed by: the serialised item, else the lot, else the GTIN."""
        if self.serial is not None:
            return f"{GS1_ID}01/{self.gtin}/21/{encode(self.serial)}"
        if self.lot is not None:
            return f"{GS1_ID}01/{self.gtin}/10/{encode(self.lot)}"
        return f"{GS1_ID}01/{self.gtin}"


def gtin_problem(value: str) -> str | None:
    return gs1.problem(value, gs1.GTIN_LENGTHS, "GTIN")


def parse(path: str) -> Link:
    """The Link a path such as `/01/09521234543213/10/ABC%2F1` names (its segments still
    percent-encoded), or BadLink naming every mistake."""
    segments = path.strip("/").split("/")
    if len(segments) < 2 or segments[0] != "01" or len(segments) % 2:
        raise BadLink(
            "A Digital Link of a trade item is /01/{gtin}, optionally followed by /10/{lot} and /21/{serial}.",
            errors={"path": ["Not /01/{gtin}[/10/{lot}][/21/{serial}]."]},
        )
    errors: dict[str, list[str]] = {}
    gtin = unquote(segments[1])
    if reason := gtin_problem(gtin):
        errors["gtin"] = [reason]
    values: dict[str, str] = {}
    order = list(QUALIFIERS)
    last = -1
    for ai, raw in zip(segments[2::2], segments[3::2], strict=True):
        name = QUALIFIERS.get(ai)
        if name is None:
            errors.setdefault("path", []).append(f"AI ({ai}) is not a qualifier of a GTIN this resolver reads: use 10 (lot) or 21 (serial).")
            continue
        if order.index(ai) <= last:
            errors.setdefault("path", []).append("Qualifiers come once each, the lot (10) before the serial (21).")
            continue
        last = order.index(ai)
        value = unquote(raw)
        if not SET_82.fullmatch(value):
            errors[name] = [f"AI ({ai}) holds 1 to 20 characters of the GS1 AI encodable character set 82."]
        values[name] = value
    if errors:
        raise BadLink("This GS1 Digital Link is not valid.", errors=errors)
    return Link(gtin=normalise_gtin(gtin), lot=values.get("lot"), serial=values.get("serial"))
