"""What other domains ask of the ledger: keys for new members, and the chain intents that
mirror a membership change (written in the caller's transaction, sent by the outbox)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from concord import policy
from concord.audit.service import Action, record
from concord.db import get_or_raise
from concord.errors import Conflict, ValidationFailed
from concord.ledger import keys, outbox
from concord.ledger.encoding import MemberRole, to_bytes32
from concord.ledger.models import OPEN_STATES, ChainIntent, ContractDeployment, IndexerCursor, IntentState, OrganizationKey, TokenBalance
from concord.policy import Principal
from concord.tenancy.models import Organization, OrgStatus

CONSORTIUM = "Consortium"
_ROLE_OF_CAPABILITY = {
    "buyer": MemberRole.BUYER,
    "supplier": MemberRole.SUPPLIER,
    "carrier": MemberRole.CARRIER,
    "financier": MemberRole.FINANCIER,
    "auditor": MemberRole.AUDITOR,
}


def keyring() -> keys.KeyRing:
    return keys.KeyRing.of(current_app)


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


ARBITER_SUBJECT = "arbiter"


def grant_arbiter(session: Session, organization) -> ChainIntent:
    """Queue the operator's grant of the arbiter role to a member a partnership names (its
    other roles kept), so that escrows may name it to decide their disputes."""
    key = get_or_raise(session, OrganizationKey, organization.id)
    return outbox.enqueue(
        session,
        organization_id=_operator_id(session),
        contract=CONSORTIUM,
        function="updateMemberRoles",
        args=[key.address, member_roles(organization.capabilities, is_operator=True)],
        purpose=f"Let {organization.legal_name} arbitrate escrow disputes",
        subject=(ARBITER_SUBJECT, organization.id),
    )


def _arbiter_ready(session: Session, organization_id: uuid.UUID) -> ChainIntent | None:
    """The grant of the arbiter role an escrow naming this member must wait for (None: the
    role is on chain, or it is the operator's own); a refused grant is asked for again."""
    if organization_id == _operator_id(session):
        return None
    latest = session.execute(
        sa.select(ChainIntent)
        .where(ChainIntent.subject_type == ARBITER_SUBJECT, ChainIntent.subject_id == str(organization_id))
        .order_by(ChainIntent.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    if latest is not None and latest.state == IntentState.CONFIRMED:
        return None
    if latest is not None and latest.state in OPEN_STATES:
        return latest
    return grant_arbiter(session, session.get(Organization, organization_id))


def address_of(session: Session, organization_id) -> str | None:
    row = session.get(OrganizationKey, organization_id)
    return row.address if row else None


# -- settlement tokens ----------------------------------------------------------------------

TOKEN_DECIMALS = 6  # every settlement token (SettlementToken.decimals())


def token_units(amount: Decimal) -> int:
    """An exact decimal amount as token units; refuses anything finer than a unit."""
    units = amount.scaleb(TOKEN_DECIMALS)
    if units != units.to_integral_value():
        raise ValueError(f"{amount} has more than {TOKEN_DECIMALS} decimal places")
    return int(units)


def from_units(units: int) -> Decimal:
    return Decimal(int(units)).scaleb(-TOKEN_DECIMALS).quantize(Decimal(1).scaleb(-TOKEN_DECIMALS))


def token_name(currency: str) -> str:
    return f"SettlementToken.{currency}"


def mint(session: Session, principal: Principal, organization_id: uuid.UUID, currency: str, amount: Decimal) -> ChainIntent:
    """The operator issues settlement tokens (a tokenized deposit) to a member, via the outbox."""
    policy.require_operator_admin(principal)
    errors = {}
    organization = session.get(Organization, organization_id)
    key = session.get(OrganizationKey, organization_id)
    if organization is None or organization.status != OrgStatus.ACTIVE or organization.is_operator or key is None:
        errors["organization_id"] = ["Not an active member of the consortium."]
    if currency not in current_app.config["SETTLEMENT_CURRENCIES"]:
        errors["currency"] = [f"Settlement tokens exist for {', '.join(current_app.config['SETTLEMENT_CURRENCIES'])}."]
    if errors:
        raise ValidationFailed(errors)
    assert organization is not None and key is not None  # refused above otherwise
    intent = outbox.enqueue(
        session,
        organization_id=principal.org.id,
        contract=token_name(currency),
        function="mint",
        args=[key.address, token_units(amount)],
        purpose=f"Mint {amount} {currency} to {organization.legal_name}",
        subject=("mint", organization.id),
    )
    session.flush()
    record(
        session,
        Action.TOKENS_MINTED,
        actor=principal.actor,
        subject_org_id=principal.org.id,
        related_org_id=organization.id,
        object_type="chain_transaction",
        object_id=intent.uid,
        after={"currency": currency, "amount": str(amount), "to": key.address},
    )
    session.commit()
    return intent


def balances(session: Session, organization_id: uuid.UUID, chain_id: int | None) -> list[dict]:
    """The organization's settlement-token balances as indexed from the chain."""
    key = session.get(OrganizationKey, organization_id)
    if key is None or chain_id is None:
        return []
    cursor = session.get(IndexerCursor, chain_id)
    rows = {
        row.token: row
        for row in session.execute(sa.select(TokenBalance).where(TokenBalance.chain_id == chain_id, TokenBalance.address == key.address)).scalars()
    }
    deployed = session.execute(
        sa.select(ContractDeployment.name).where(ContractDeployment.chain_id == chain_id, ContractDeployment.name.like("SettlementToken.%"))
    ).scalars()
    return [
        {
            "currency": name.split(".", 1)[1],
            "balance": from_units(rows[name].units if name in rows else 0),
            "address": key.address,
            "as_of_block": (cursor.next_block - 1) if cursor else None,
        }
        for name in sorted(deployed)
    ]


def current_chain_id(session: Session) -> int | None:
    """The chain the contracts were last deployed on (what the platform works with)."""
    return session.execute(sa.select(ContractDeployment.chain_id).order_by(ContractDeployment.deployed_at.desc()).limit(1)).scalar_one_or_none()


# -- contracts ------------------------------------------------------------------------------


class LedgerNotReady(Conflict):
    title = "Ledger not ready"


def _deployment(session: Session, chain_id: int, name: str) -> ContractDeployment:
    row = session.get(ContractDeployment, (chain_id, name))
    if row is None:
        raise LedgerNotReady(f"{name} is not deployed on the ledger yet; try again once the operator has deployed the contracts.")
    return row


def anchor_proof(
    session: Session,
    organization_id: uuid.UUID,
    batch_id: uuid.UUID,
    proof_hash: str,
    purpose: str,
    subject: tuple[str, uuid.UUID],
    *,
    batch_size: int = 1,
) -> ChainIntent:
    """Anchor one record's hash, or the Merkle root of a batch of `batch_size` events
    (`ledger.merkle`), on ProvenanceAnchor under `batch_id`, with the organization's key."""
    chain_id = current_chain_id(session)
    if chain_id is None:
        raise LedgerNotReady("The ledger's contracts are not deployed yet.")
    _deployment(session, chain_id, "ProvenanceAnchor")
    return outbox.enqueue(
        session,
        organization_id=organization_id,
        contract="ProvenanceAnchor",
        function="anchor",
        args=[to_bytes32(batch_id), bytes.fromhex(proof_hash.removeprefix("0x")), batch_size],
        purpose=purpose,
        subject=subject,
    )


def intents_about(session: Session, subject_type: str, subject_id: uuid.UUID) -> list[ChainIntent]:
    """The chain transactions about one subject (e.g. a shipment's anchored proofs), oldest first."""
    return list(
        session.execute(
            sa.select(ChainIntent).where(ChainIntent.subject_type == subject_type, ChainIntent.subject_id == str(subject_id)).order_by(ChainIntent.seq)
        ).scalars()
    )


def deployed_address(session: Session, name: str) -> tuple[int, str] | None:
    """(chain id, address) of a contract on the current chain; None before deployment."""
    chain_id = current_chain_id(session)
    row = session.get(ContractDeployment, (chain_id, name)) if chain_id is not None else None
    return (chain_id, row.address) if chain_id is not None and row is not None else None


def signer(session: Session, organization_id: uuid.UUID):
    """The organization's custodial chain account (an eth-account LocalAccount), which signs
    what it attests off chain (`keys.SigningKeyError` when it has no key)."""
    return keys.signer_for(session, keyring(), organization_id)
