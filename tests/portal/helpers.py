"""What the portal page tests share: reading a page as its reader sees it, and a form
field's error messages."""

from __future__ import annotations

import html
import re


def text(response) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, whitespace collapsed."""
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(body)).strip()


def field_error(response, field_id: str) -> list[str]:
    """The messages listed under a form field (`<ul class="field-errors" id="{id}-error">`)."""
    page = response.get_data(as_text=True)
    found = re.search(rf'<ul class="field-errors" id="{re.escape(field_id)}-error">(.*?)</ul>', page, re.S)
    return [html.unescape(m).strip() for m in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)] if found else []


def error_summary(response, summary_id: str) -> list[tuple[str, str]]:
    """The error summary at the top of a refused form (focused on arrival): its links, as
    (field id, message) in the order listed; [] when the page has none."""
    page = response.get_data(as_text=True)
    found = re.search(rf'<div class="error-summary" role="alert" tabindex="-1" id="{re.escape(summary_id)}" autofocus>(.*?)</div>', page, re.S)
    return [(field, html.unescape(message).strip()) for field, message in re.findall(r'<a href="#([^"]+)">([^<]+)</a>', found.group(1))] if found else []
