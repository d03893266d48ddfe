"""What other domains ask of the ledger."""
from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from concord.ledger import keys
from concord.ledger.models import OrganizationKey


def keyring() -> keys.KeyRing:
    app = current_app._get_current_object()
    ring = app.extensions.get("concord.keyring")
    if ring is None:
        ring = app.extensions["concord.keyring"] = keys.KeyRing.load(app.config["INSTANCE_DIR"])
    return ring


def provision_member(session: Session, organization_id) -> OrganizationKey:
    """Give a newly admitted organization its custodial signing key (in the caller's transaction)."""
    return keys.create_key(session, keyring(), organization_id)


def address_of(session: Session, organization_id) -> str | None:
    row = session.get(OrganizationKey, organization_id)
    return row.address if row else None
