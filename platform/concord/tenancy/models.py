"""Organizations (tenants), their users, invitations and partnerships."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from concord import clock
from concord.db import Base, IdMixin, TimestampMixin


def str_enum(enum_cls: type[StrEnum], name: str) -> sa.Enum:
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Capability(StrEnum):
    BUYER = "buyer"
    SUPPLIER = "supplier"
    CARRIER = "carrier"
    FINANCIER = "financier"
    AUDITOR = "auditor"


class OrgStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REJECTED = "rejected"


class Role(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


class UserStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class Relation(StrEnum):
    """A partnership's relation; each names its two sides in order (side_a, side_b)."""

    BUYER_SUPPLIER = "buyer_supplier"
    SHIPPER_CARRIER = "shipper_carrier"
    SUPPLIER_FINANCIER = "supplier_financier"
    PARTY_AUDITOR = "party_auditor"
    BUYER_FINANCIER = "buyer_financier"  # reverse factoring: the financier of the buyer's programme

    @property
    def sides(self) -> tuple[str, str]:
        a, b = self.value.split("_")
        return a, b


class PartnershipStatus(StrEnum):
    REQUESTED = "requested"
    ACTIVE = "active"
    DECLINED = "declined"
    ENDED = "ended"


class Organization(IdMixin, TimestampMixin, Base):
    __tablename__ = "organizations"
    __table_args__ = (sa.UniqueConstraint("country", "registration_number", name="uq_organizations_registration"),)

    legal_name: Mapped[str] = mapped_column(sa.String(200))
    registration_number: Mapped[str] = mapped_column(sa.String(64))
    country: Mapped[str] = mapped_column(sa.String(2))
    contact_name: Mapped[str] = mapped_column(sa.String(200))
    contact_email: Mapped[str] = mapped_column(sa.String(254))
    capabilities: Mapped[list[str]] = mapped_column(sa.JSON)
    is_operator: Mapped[bool] = mapped_column(default=False)
    status: Mapped[OrgStatus] = mapped_column(str_enum(OrgStatus, "org_status"), default=OrgStatus.PENDING)
    status_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # A new legal name waits for the operator's review before other members see it.
    pending_legal_name: Mapped[str | None] = mapped_column(sa.String(200))
    pending_legal_name_requested_at: Mapped[datetime | None]

    users: Mapped[list[User]] = relationship(back_populates="organization", lazy="raise")

    def has(self, capability: Capability | str) -> bool:
        return str(capability) in self.capabilities

    @property
    def is_active(self) -> bool:
        return self.status == OrgStatus.ACTIVE


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"
    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role, "user_role"))
    status: Mapped[UserStatus] = mapped_column(str_enum(UserStatus, "user_status"), default=UserStatus.ACTIVE)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    password_changed_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]

    organization: Mapped[Organization] = relationship(back_populates="users", lazy="joined")


class Invitation(IdMixin, TimestampMixin, Base):
    __tablename__ = "invitations"

    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    role: Mapped[Role] = mapped_column(str_enum(Role, "invitation_role"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= clock.utcnow():
            return "expired"
        return "pending"


class Partnership(IdMixin, TimestampMixin, Base):
    """A relation between two organizations: side A and side B in the relation's order
    (for buyer_supplier, A is the buyer). Documents are shared only between partners."""

    __tablename__ = "partnerships"
    __table_args__ = (
        sa.UniqueConstraint("relation", "org_a_id", "org_b_id", name="uq_partnerships_pair"),
        sa.CheckConstraint("org_a_id <> org_b_id", name="distinct_parties"),
    )

    relation: Mapped[Relation] = mapped_column(str_enum(Relation, "partnership_relation"))
    org_a_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    org_b_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    requested_by_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    status: Mapped[PartnershipStatus] = mapped_column(str_enum(PartnershipStatus, "partnership_status"), default=PartnershipStatus.REQUESTED)
    message: Mapped[str | None] = mapped_column(sa.String(500))
    responded_at: Mapped[datetime | None]
    # Who decides disputes over the partners' escrows (buyer_supplier only; None: the
    # operator). Proposed by the requester, agreed by the counterparty's acceptance.
    arbiter_org_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("organizations.id"))

    org_a: Mapped[Organization] = relationship(foreign_keys=[org_a_id], lazy="joined")
    arbiter: Mapped[Organization | None] = relationship(foreign_keys=[arbiter_org_id], lazy="joined")
    org_b: Mapped[Organization] = relationship(foreign_keys=[org_b_id], lazy="joined")

    def involves(self, org_id: uuid.UUID) -> bool:
        return org_id in (self.org_a_id, self.org_b_id)

    def counterparty_of(self, org_id: uuid.UUID) -> Organization:
        return self.org_b if org_id == self.org_a_id else self.org_a

    @property
    def addressee_org_id(self) -> uuid.UUID:
        return self.org_b_id if self.requested_by_org_id == self.org_a_id else self.org_a_id
