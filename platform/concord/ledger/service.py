"""What other domains ask of the ledger: keys for new members, and the chain intents that
mirror a membership change (written in the caller's transaction, sent by the outbox)."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from concord.ledger import keys, outbox
from concord.ledger.encoding import MemberRole, to_bytes32
from concord.ledger.models import ChainIntent, OrganizationKey

CONSORTIUM = "Consortium"
_ROLE_OF_CAPABILITY = {
    "buyer": MemberRole.BUYER,
    "supplier": MemberRole.SUPPLIER,
    "carrier": MemberRole.CARRIER,
    "financier": MemberRole.FINANCIER,
    "auditor": MemberRole.AUDITOR,
}


def keyring() -> keys.KeyRing:
    return keys.KeyRing.of(current_app._get_current_object())


def member_roles(capabilities, *, is_operator: bool = False) -> int:
    """The consortium role flags of an organization's capabilities (the operator arbitrates)."""
    roles = MemberRole(0)
    for capability in capabilities:
        roles |= _ROLE_OF_CAPABILITY[str(capability)]
    if is_operator:
        roles |= MemberRole.ARBITER
    return int(roles)


def provision_key(session: Session, organization_id: uuid.UUID) -> OrganizationKey:
    """Give an organization its custodial signing key (in the caller's transaction)."""
    return keys.create_key(session, keyring(), organization_id)


def _operator_id(session: Session) -> uuid.UUID:
    from concord.tenancy.models import Organization  # the operator is a tenancy fact

    return session.execute(sa.select(Organization.id).where(Organization.is_operator.is_(True))).scalar_one()


def admit_member(session: Session, organization) -> OrganizationKey:
    """Key the newly approved organization and queue its admission to the consortium,
    sent by the operator, in the same transaction as the approval."""
    key = provision_key(session, organization.id)
    outbox.enqueue(
        session,
        organization_id=_operator_id(session),
        contract=CONSORTIUM,
        function="addMember",
        args=[key.address, to_bytes32(organization.id), member_roles(organization.capabilities)],
        purpose=f"Admit {organization.legal_name} to the consortium",
        subject=("organization", organization.id),
    )
    return key


def change_membership(session: Session, organization, *, suspend: bool) -> ChainIntent | None:
    """Queue the suspension or reinstatement of an admitted organization's chain account."""
    key = session.get(OrganizationKey, organization.id)
    if key is None:
        return None
    return outbox.enqueue(
        session,
        organization_id=_operator_id(session),
        contract=CONSORTIUM,
        function="suspendMember" if suspend else "reinstateMember",
        args=[key.address],
        purpose=f"{'Suspend' if suspend else 'Reinstate'} {organization.legal_name} in the consortium",
        subject=("organization", organization.id),
    )


def address_of(session: Session, organization_id) -> str | None:
    row = session.get(OrganizationKey, organization_id)
    return row.address if row else None
