"""GS1 identifiers in one canonical form: a GS1 Digital Link URI on id.gs1.org.

The event hash (CBV 2.0 section 8.9) compares identifiers, not their spellings, so an EPC
URI (`urn:epc:id:sgtin:...`), an EPC class or pattern URI and any GS1 Digital Link URI of
the same thing become one string: the constrained canonical Digital Link URI (the finest
level of identification, no query string, no data attributes). Anything else is not a
GS1 identifier here and `canonical` answers None.
"""

from __future__ import annotations

import re

ID = "https://id.gs1.org/"
# Characters of a serial, lot or reference in an EPC URI (GS1 AI encodable set 82, with
# percent escapes), and those of them a Digital Link URI percent-encodes (GS1 DL, table 7-1).
_CHARS = r"(?:%[0-9A-Fa-f]{2}|[!')(*+,.0-9:;=A-Za-z_-])"
_DL_ESCAPES = str.maketrans({"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B", ",": "%2C", ":": "%3A"})


def check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of a key without its check digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str(-total % 10)


def _escaped(text: str) -> str:
    return text.translate(_DL_ESCAPES)


def _split(body: str, parts: int) -> list[str] | None:
    pieces = body.split(".", parts - 1)
    return pieces if len(pieces) == parts else None


def _company_and_ref(prefix: str, ref: str, digits: int) -> bool:
    """A company prefix of 6 to 12 digits and a reference making `digits` digits with it."""
    return 6 <= len(prefix) <= 12 and prefix.isdigit() and (ref.isdigit() or ref == "") and len(prefix) + len(ref) == digits


def _gtin(prefix: str, ref: str) -> str | None:
    if not _company_and_ref(prefix, ref, 13):
        return None
    raw = ref[:1] + prefix + ref[1:]
    return raw + check_digit(raw)


def _serial(text: str, longest: int) -> bool:
    return re.fullmatch(_CHARS + f"{{1,{longest}}}", text) is not None


def _from_epc(scheme: str, body: str) -> str | None:
    """The Digital Link URI of an EPC URI body, per the EPC Tag Data Standard's schemes."""
    if scheme in ("id:sgtin", "id:upui", "class:lgtin") and (p := _split(body, 3)):
        gtin, longest = _gtin(p[0], p[1]), 28 if scheme == "id:upui" else 20
        if gtin is None or not _serial(p[2], longest):
            return None
        ai = {"id:sgtin": "21", "id:upui": "235", "class:lgtin": "10"}[scheme]
        return f"{ID}01/{gtin}/{ai}/{_escaped(p[2])}"
    if scheme == "idpat:sgtin" or scheme == "idpat:upui":
        p = _split(body, 3)
        gtin = _gtin(p[0], p[1]) if p and p[2] == "*" else None
        return f"{ID}01/{gtin}" if gtin else None
    if scheme == "id:sscc" and (p := _split(body, 2)) and _company_and_ref(p[0], p[1], 17):
        raw = p[1][:1] + p[0] + p[1][1:]
        return f"{ID}00/{raw}{check_digit(raw)}"
    if scheme == "id:sgln" and (p := _split(body, 3)) and _company_and_ref(p[0], p[1], 12) and _serial(p[2], 20):
        gln = p[0] + p[1] + check_digit(p[0] + p[1])
        return f"{ID}414/{gln}" if p[2] == "0" else f"{ID}414/{gln}/254/{_escaped(p[2])}"
    if scheme in ("id:grai", "id:gdti", "id:sgcn") and (p := _split(body, 3)) and _company_and_ref(p[0], p[1], 12):
        raw = ("0" if scheme == "id:grai" else "") + p[0] + p[1]
        serial_ok = p[2].isdigit() and len(p[2]) <= 12 if scheme == "id:sgcn" else _serial(p[2], 16 if scheme == "id:grai" else 17)
        ai = {"id:grai": "8003", "id:gdti": "253", "id:sgcn": "255"}[scheme]
        return f"{ID}{ai}/{raw}{check_digit(raw)}{_escaped(p[2])}" if serial_ok else None
    if scheme in ("idpat:grai", "idpat:gdti", "idpat:sgcn") and (p := _split(body, 3)) and p[2] == "*" and _company_and_ref(p[0], p[1], 12):
        raw = ("0" if scheme == "idpat:grai" else "") + p[0] + p[1]
        return f"{ID}{ {'idpat:grai': '8003', 'idpat:gdti': '253', 'idpat:sgcn': '255'}[scheme] }/{raw}{check_digit(raw)}"
    if scheme in ("id:giai", "id:ginc") and (p := _split(body, 2)) and _company_and_ref(p[0], "", len(p[0])):
        if not _serial(p[1], 30 - len(p[0])):
            return None
        return f"{ID}{'8004' if scheme == 'id:giai' else '401'}/{p[0]}{_escaped(p[1])}"
    if scheme in ("id:gsrn", "id:gsrnp", "id:gsin", "id:pgln") and (p := _split(body, 2)):
        digits = {"id:gsrn": 17, "id:gsrnp": 17, "id:gsin": 16, "id:pgln": 12}[scheme]
        if not _company_and_ref(p[0], p[1], digits):
            return None
        raw = p[0] + p[1]
        return f"{ID}{ {'id:gsrn': '8018', 'id:gsrnp': '8017', 'id:gsin': '402', 'id:pgln': '417'}[scheme] }/{raw}{check_digit(raw)}"
    if scheme in ("id:cpi", "idpat:cpi") and (p := _split(body, 2)) and "." in p[1]:
        ref, serial = p[1].rsplit(".", 1)
        if not (6 <= len(p[0]) <= 12 and p[0].isdigit() and re.fullmatch(r"(?:%2[3dfDF]|%3[0-9]|%4[1-9A-Fa-f]|%5[0-9Aa]|[0-9A-Z-])+", ref)):
            return None
        if scheme == "idpat:cpi":
            return f"{ID}8010/{_escaped(p[0] + ref)}" if serial == "*" else None
        return f"{ID}8010/{_escaped(p[0] + ref)}/8011/{serial}" if serial.isdigit() and len(serial) <= 12 else None
    if scheme in ("id:itip", "idpat:itip") and (p := _split(body, 5)):
        gtin = _gtin(p[0], p[1])
        if gtin is None or not (re.fullmatch(r"\d\d", p[2]) and re.fullmatch(r"\d\d", p[3])):
            return None
        if scheme == "idpat:itip":
            return f"{ID}8006/{gtin}{p[2]}{p[3]}" if p[4] == "*" else None
        return f"{ID}8006/{gtin}{p[2]}{p[3]}/21/{_escaped(p[4])}" if _serial(p[4], 20) else None
    return None


_EPC = re.compile(r"urn:epc:(id|class|idpat):([a-z]+):(.+)")
_SHORT_NAMES = {
    "gtin": "01",
    "itip": "8006",
    "cpid": "8010",
    "gln": "414",
    "party": "417",
    "gsrnp": "8017",
    "gsrn": "8018",
    "gcn": "255",
    "sscc": "00",
    "gdti": "253",
    "ginc": "401",
    "gsin": "402",
    "grai": "8003",
    "giai": "8004",
    "cpv": "22",
    "lot": "10",
    "ser": "21",
}
_PRIMARY = "01|8006|8010|414|417|8017|8018|255|00|253|401|402|8003|8004"
_DIGITAL_LINK = re.compile(
    r"https?:(?://[^/?#]*)?[^?#]*?/(?P<key>" + _PRIMARY + "|" + "|".join(k for k, v in _SHORT_NAMES.items() if v in _PRIMARY.split("|")) + r")/"
    r"(?P<value>\d{4}[^/?#]+)(?P<qualifiers>(?:/[^/?#]+/[^/?#]+)*)/?(?:\?[^#]*)?(?:#.*)?"
)
_DL_TEXT = r"[\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A]"
# The constrained canonical forms a normalised Digital Link URI must end up in.
_CANONICAL = re.compile(
    "|".join(
        [
            r"00/\d{18}",
            rf"01/\d{{14}}(?:/21/{_DL_TEXT}{{0,20}}|/10/{_DL_TEXT}{{0,20}}|/235/{_DL_TEXT}{{0,28}})?",
            rf"253/\d{{13}}{_DL_TEXT}{{0,17}}",
            r"255/\d{13}\d{0,12}",
            rf"401/{_DL_TEXT}{{0,30}}",
            r"402/\d{17}",
            rf"414/\d{{13}}(?:/254/{_DL_TEXT}{{0,20}})?",
            r"417/\d{13}",
            rf"8003/\d{{14}}{_DL_TEXT}{{0,16}}",
            rf"8004/{_DL_TEXT}{{0,30}}",
            rf"8006/\d{{18}}(?:/21/{_DL_TEXT}{{0,20}}|/10/{_DL_TEXT}{{0,20}})?",
            r"8010/[\x23\x2D\x2F\x30-\x39\x41-\x5A]{0,30}(?:/8011/\d{0,12})?",
            r"8017/\d{18}",
            r"8018/\d{18}",
        ]
    )
)


def _from_digital_link(uri: str) -> str | None:
    found = _DIGITAL_LINK.fullmatch(uri)
    if found is None:
        return None
    key = _SHORT_NAMES.get(found["key"], found["key"])
    value = found["value"]
    if key == "01" and len(value) in (8, 12, 13) and value.isdigit():
        value = value.zfill(14)
    pairs = re.findall(r"/([^/]+)/([^/]+)", found["qualifiers"])
    qualifiers = {_SHORT_NAMES.get(ai, ai): text for ai, text in pairs}
    qualifiers.pop("22", None)  # a consumer product variant is not part of the identity
    if "21" in qualifiers:  # the finest level only: a serial makes the lot redundant
        qualifiers.pop("10", None)
    path = f"{key}/{value}" + "".join(f"/{ai}/{text}" for ai, text in qualifiers.items())
    return ID + path if _CANONICAL.fullmatch(path) else None


def canonical(uri: str) -> str | None:
    """The canonical GS1 Digital Link URI of `uri`, or None when it names no GS1 key."""
    epc = _EPC.fullmatch(uri)
    if epc is not None:
        return _from_epc(f"{epc[1]}:{epc[2]}", epc[3])
    return _from_digital_link(uri)
