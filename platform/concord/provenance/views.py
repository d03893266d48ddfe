"""An EPCIS event in the portal, with "Verify": each check of its proof bundle and its
result, and the bundle to download for `concord-verify`."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, render_template, request
from web3.exceptions import Web3Exception

from concord import db
from concord.auth.web import login_required
from concord.ledger import runtime
from concord.ledger.chain import ChainUnavailable
from concord.portal import principal
from concord.provenance import batches, proofs, service
from concord.provenance.models import ProvenanceBatch

provenance_portal = Blueprint("provenance_portal", __name__)


def _bundle(event) -> tuple[dict | None, str | None]:
    """The event's proof bundle, or why there is none yet."""
    platform = current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")
    try:
        return proofs.event_bundle(db.session(), event, current_app.config, platform), None
    except proofs.NotAnchoredYet as pending:
        return None, pending.detail


@provenance_portal.route("/provenance/events/<path:event_id>")
@login_required
def event(event_id: str):
    session = db.session()
    row = service.get_event(session, principal(), event_id)
    bundle, pending = _bundle(row)
    checks, unreachable = [], None
    if bundle is not None:
        try:
            checks = proofs.verify_bundle(runtime.chain(current_app), bundle)
        except (ChainUnavailable, Web3Exception, OSError, ValueError) as error:
            unreachable = f"The chain could not be read: {error}"
            checks = proofs.offline_checks(bundle)
    batch = session.get(ProvenanceBatch, row.batch_id) if row.batch_id else None
    return render_template(
        "provenance/event.html",
        event=row,
        batch=batch,
        bundle=bundle,
        pending=pending,
        checks=checks,
        unreachable=unreachable,
        domain=batches.current_domain(session),
    )


@provenance_portal.route("/provenance/events/<path:event_id>/proof.json")
@login_required
def bundle(event_id: str):
    row = service.get_event(db.session(), principal(), event_id)
    found, pending = _bundle(row)
    if found is None:
        return Response(json.dumps({"title": "Not anchored yet", "status": 409, "detail": pending}), status=409, mimetype="application/problem+json")
    filename = f"proof-{row.hash_id.split(';', 1)[1][:16]}.json"
    return Response(json.dumps(found, indent=2), mimetype="application/json", headers={"Content-Disposition": f'attachment; filename="{filename}"'})
