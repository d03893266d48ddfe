"""QR codes (ISO/IEC 18004) of GS1 Digital Link URIs, drawn by segno as SVG.

Error correction level M, as GS1's guidance for Digital Link QR codes on packs suggests;
segno picks the smallest version that holds the URI. The SVG has no XML declaration so
that it can be inlined in a page as well as served alone.
"""

from __future__ import annotations

import io

import segno
from markupsafe import Markup

ERROR_CORRECTION = "m"


def code(data: str) -> segno.QRCode:
    return segno.make_qr(data, error=ERROR_CORRECTION, boost_error=False)


def svg(data: str, *, scale: int = 4, title: str | None = None) -> str:
    """The QR code of `data` as an SVG document (four modules of quiet zone)."""
    out = io.BytesIO()
    code(data).save(out, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True, title=title, unit="px", svgclass="qr", lineclass=None)
    return out.getvalue().decode()


def inline(data: str, *, scale: int = 4, title: str | None = None) -> Markup:
    """The SVG to put in a page (segno escapes the title it writes)."""
    return Markup(svg(data, scale=scale, title=title))


def matrix(data: str) -> list[list[int]]:
    """The modules of the QR code of `data` (1 dark, 0 light), without the quiet zone."""
    return [list(row) for row in code(data).matrix]
