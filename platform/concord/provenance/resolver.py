"""The GS1 Digital Link resolver: `/01/{gtin}[/10/{lot}][/21/{serial}]` on the platform.

As the GS1-Conformant Resolver standard has it, one identifier answers people and machines:

- `?linkType=linkset` (or `all`), or `Accept: application/linkset+json`: the linkset (RFC 9264
  JSON) of every link the platform offers for it: the product page (gs1:pip, the default
  link), its trace (gs1:traceability), its certificates (gs1:certificationInfo) and its
  EPCIS events (gs1:epcis);
- `?linkType=gs1:traceability` (one link type, as a CURIE or its https://gs1.org/voc/ URI):
  307 to that link's target; a link type the identifier has no link of leads to the default
  link (the product page);
- otherwise the product page itself: HTML for people, JSON when the client asks for it.

Every answer carries `Link: <...?linkType=linkset>; rel="linkset"`. A syntax error in the
URI answers 400, an unknown product or one whose brand owner shows nothing 404 (a page for
people, problem+json for machines). What is shown is `provenance.public`'s.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, current_app, redirect, render_template, request
from flask.typing import ResponseReturnValue

from concord import db, links, qr
from concord.errors import DomainError, problem
from concord.provenance import digital_link, public
from concord.provenance.digital_link import Link

resolver = Blueprint("resolver", __name__)

VOC = "https://gs1.org/voc/"
LINKSET_TYPE = "application/linkset+json"
LINKSET_CONTEXT = "https://ref.gs1.org/standards/resolver/linkset-context"
LINKSET_REQUESTS = ("linkset", "all")
DEFAULT = "defaultLink"
#: The link types this resolver answers, by their short name.
LINK_TYPES = ("pip", "traceability", "certificationInfo", "epcis")


def raw_path() -> str:
    """The request's path as sent, percent escapes kept (a lot may hold an escaped '/')."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    path = urlsplit(raw).path if raw else ""
    return path if path.startswith("/01/") else request.path


def short_link_type(value: str) -> str:
    """`traceability` for gs1:traceability or its https://gs1.org/voc/ (or ref.gs1.org) URI."""
    for prefix in ("gs1:", VOC, "https://ref.gs1.org/voc/", "https://www.gs1.org/voc/"):
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def targets(link: Link, base: str, title: str) -> dict[str, dict[str, str]]:
    """Each link type's target for `link`, as a linkset link object."""
    found = {"pip": {"href": link.uri(base), "title": f"{title}: product page", "type": "text/html"}}
    identity = {"gtin": link.gtin} | ({"lot": link.lot} if link.lot is not None else {})
    if link.lot is not None and link.serial is None:
        found["traceability"] = {"href": f"{base}/api/v1/trace?{urlencode(identity)}", "title": f"Trace of lot {link.lot}", "type": "application/json"}
    found["certificationInfo"] = {"href": f"{base}/api/v1/documents?{urlencode(identity)}", "title": "Certificates", "type": "application/json"}
    if link.lot is not None or link.serial is not None:
        match = "MATCH_anyEPC" if link.serial is not None else "MATCH_anyEPCClass"
        found["epcis"] = {"href": f"{base}/api/v1/epcis/events?{urlencode({match: link.identifier})}", "title": "EPCIS events", "type": "application/ld+json"}
    return found


def linkset(link: Link, base: str, title: str) -> dict[str, Any]:
    """The RFC 9264 linkset of `link`, in the GS1-Conformant Resolver's JSON shape."""
    found = targets(link, base, title)
    entry: dict[str, Any] = {"anchor": link.uri(base), "description": title, "itemDescription": title, f"{VOC}{DEFAULT}": [found["pip"]]}
    entry.update({f"{VOC}{name}": [target] for name, target in found.items()})
    return {"linkset": [entry]}


def _headers(link: Link, base: str) -> dict[str, str]:
    return {"Link": f'<{link.uri(base)}?linkType=linkset>; rel="linkset"; type="{LINKSET_TYPE}"', "Vary": "Accept"}


def _prefers(*types: str) -> str | None:
    best = request.accept_mimetypes.best_match(["text/html", *types], default="text/html")  # a tie goes to people
    return best if best in types else None


def _refusal(error: DomainError) -> ResponseReturnValue:
    """400 or 404: problem+json for machines, a page for people."""
    if _prefers("application/json", "application/problem+json", LINKSET_TYPE) or request.args.get("linkType"):
        return problem(error.status, error.title, error.detail, errors=error.errors)
    return render_template("public/unavailable.html", status=error.status, title=error.title, detail=error.detail, errors=error.errors or {}), error.status


@resolver.route("/.well-known/gs1resolver")
def description() -> ResponseReturnValue:
    """The resolver description file the GS1-Conformant Resolver standard places here."""
    base = links.public_base()
    body = {
        "name": "Concord",
        "resolverRoot": base,
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [{"namespace": VOC, "prefix": "gs1:"}],
        "linkTypeDefaultCanBeLinkset": False,
    }
    return Response(current_app.json.dumps(body), mimetype="application/json")


@resolver.route("/01/<path:rest>")
def resolve(rest: str) -> ResponseReturnValue:
    try:
        link = digital_link.parse(raw_path())
        link_type = request.args.get("linkType")
        if link_type is not None and len(link_type) > 200:
            raise digital_link.BadLink("This linkType is not one a resolver answers.", errors={"linkType": ["At most 200 characters."]})
        base = links.public_base()
        shown = public.publication(db.session(), link)
    except DomainError as error:
        return _refusal(error)
    headers = _headers(link, base)
    title = shown.product.name + (f", lot {link.lot}" if link.lot else "") + (f", serial {link.serial}" if link.serial else "")
    wanted = short_link_type(link_type) if link_type else None
    if wanted in LINKSET_REQUESTS or (wanted is None and _prefers(LINKSET_TYPE)):
        body = current_app.json.dumps(linkset(link, base, title))
        headers["Link"] += f', <{LINKSET_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
        return Response(body, status=200, mimetype=LINKSET_TYPE, headers=headers)
    if wanted is not None and wanted not in ("pip", DEFAULT):
        target = targets(link, base, title).get(wanted)
        return redirect(target["href"] if target else link.uri(base), code=307), headers
    if _prefers("application/json"):
        return Response(current_app.json.dumps(shown.as_json()), status=200, mimetype="application/json", headers=headers)
    uri = link.uri(base)
    page = render_template("public/digital_link.html", shown=shown, link=link, uri=uri, qr_code=qr.inline(uri, title=f"QR code of {uri}"))
    return page, 200, headers
