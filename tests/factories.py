"""Factories: organizations, users and tokens made through the real services."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field

from concord.auth import service as auth_service
from concord.policy import Principal
from concord.tenancy import service as tenancy
from concord.tenancy import users
from concord.tenancy.models import Organization, Relation, Role, User
from sqlalchemy.orm import Session

PASSWORD = "Correct-Horse-42"
_counter = itertools.count(1)


@dataclass
class Member:
    """An organization with its admin, a token for that admin, and more users by role."""

    org: Organization
    admin: User
    token: str
    users: dict[str, tuple[User, str]] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)

    @property
    def principal(self) -> Principal:
        return Principal(user=self.admin, org=self.org, via="test", credential_id=self.admin.id)

    def headers_for(self, role: str) -> dict[str, str]:
        return bearer(self.users[role][1])

    def signing_address(self, app) -> str:
        """The organization's custodial key's address (its account on the ledger)."""
        from concord.db import database
        from concord.ledger.service import address_of

        with database(app).sessionmaker() as session:
            return address_of(session, self.org.id)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_for(session: Session, user: User) -> str:
    principal = Principal(user=user, org=user.organization, via="test", credential_id=user.id)
    return auth_service.create_token(session, principal, name="test", expires_in_days=30)[1]


def operator(session: Session) -> Member:
    n = next(_counter)
    org, admin = tenancy.bootstrap_operator(
        session,
        legal_name="Operator",
        registration_number=f"OP-{n}",
        country="NL",
        admin_name="Olivia Operator",
        admin_email=f"operator{n}@concord.test",
        password=PASSWORD,
    )
    return Member(org=org, admin=admin, token=token_for(session, admin))


def member(session: Session, operator_member: Member | None, *capabilities: str, name: str | None = None, approve: bool = True) -> Member:
    n = next(_counter)
    name = name or f"{'-'.join(capabilities) or 'member'} {n}"
    org, admin = tenancy.register_organization(
        session,
        organization={
            "legal_name": name,
            "registration_number": f"REG-{n}-{uuid.uuid4().hex[:6]}",
            "country": "DE",
            "contact_name": "Contact",
            "contact_email": f"contact{n}@example.test",
            "capabilities": list(capabilities),
        },
        admin={"full_name": f"Admin {n}", "email": f"admin{n}@example.test", "password": PASSWORD},
    )
    if approve:
        assert operator_member is not None
        tenancy.transition_organization(session, operator_member.principal, org.id, "approve")
        token = token_for(session, admin)
    else:
        token = ""
    return Member(org=org, admin=admin, token=token)


def add_user(session: Session, owner: Member, role: Role) -> tuple[User, str]:
    invitation, raw = users.invite_user(session, owner.principal, email=f"{role}{next(_counter)}@example.test", role=role)
    user = users.accept_invitation(session, token=raw, full_name=f"{role.title()} User", password=PASSWORD)
    session.refresh(user)
    token = token_for(session, user)
    owner.users[str(role)] = (user, token)
    return user, token


def partner(session: Session, relation: Relation, side_a: Member, side_b: Member, *, accept: bool = True):
    partnership = tenancy.request_partnership(
        session, side_a.principal, relation=relation, counterparty_id=side_b.org.id, my_side=relation.sides[0], message=None
    )
    if accept:
        tenancy.transition_partnership(session, side_b.principal, partnership.id, "accept")
    return partnership


@dataclass
class World:
    operator: Member
    buyer: Member
    buyer2: Member
    supplier: Member
    supplier2: Member
    carrier: Member
    financier: Member
    auditor: Member

    @property
    def members(self) -> list[Member]:
        """Every admitted organization except the operator."""
        return [self.buyer, self.buyer2, self.supplier, self.supplier2, self.carrier, self.financier, self.auditor]


def build_world(app, session: Session) -> World:
    op = operator(session)
    world = World(
        operator=op,
        buyer=member(session, op, "buyer", name="Buyer One GmbH"),
        buyer2=member(session, op, "buyer", name="Buyer Two SA"),
        supplier=member(session, op, "supplier", name="Supplier One Ltd"),
        supplier2=member(session, op, "supplier", name="Supplier Two BV"),
        carrier=member(session, op, "carrier", name="Carrier One AS"),
        financier=member(session, op, "financier", name="Financier One plc"),
        auditor=member(session, op, "auditor", name="Auditor One SAS"),
    )
    partner(session, Relation.BUYER_SUPPLIER, world.buyer, world.supplier)
    partner(session, Relation.SHIPPER_CARRIER, world.supplier, world.carrier)
    return world


@dataclass(frozen=True)
class MemberIds:
    org_id: uuid.UUID
    admin_id: uuid.UUID
    token: str


def world_ids(world: World) -> dict[str, MemberIds]:
    return {name: MemberIds(m.org.id, m.admin.id, m.token) for name, m in vars(world).items()}


def world_in(session, ids: dict[str, MemberIds]) -> World:
    """The world built earlier (and committed), as objects of `session`."""
    members = {name: Member(org=session.get(Organization, m.org_id), admin=session.get(User, m.admin_id), token=m.token) for name, m in ids.items()}
    return World(**members)
