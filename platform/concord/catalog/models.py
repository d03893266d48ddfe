"""An organization's own item master and places: private to it; documents such as purchase
orders copy what their parties need to see."""

from __future__ import annotations

import uuid
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from concord.db import Base, IdMixin, TimestampMixin
from concord.tenancy.models import str_enum


class PublicView(StrEnum):
    """What anyone resolving the product's GS1 Digital Link sees (the brand owner's choice)."""

    NONE = "none"  # nothing: the link answers that nothing is public
    ORIGIN = "origin"  # the verified origin summary of a lot
    CUSTODY = "custody"  # the full chain of custody, without private business data


class Product(IdMixin, TimestampMixin, Base):
    __tablename__ = "products"
    __table_args__ = (sa.UniqueConstraint("organization_id", "sku"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    sku: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.String(2000))
    unit_of_measure: Mapped[str] = mapped_column(sa.String(3))
    gtin: Mapped[str | None] = mapped_column(sa.String(14))
    active: Mapped[bool] = mapped_column(default=True)
    public_view: Mapped[PublicView] = mapped_column(str_enum(PublicView, "product_public_view"), default=PublicView.NONE, server_default="none")
    # The GTIN as 14 digits while the product is public: one brand owner per GTIN on the platform.
    published_gtin: Mapped[str | None] = mapped_column(sa.String(14), unique=True)


class Location(IdMixin, TimestampMixin, Base):
    __tablename__ = "locations"
    __table_args__ = (sa.UniqueConstraint("organization_id", "name"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    address_line1: Mapped[str] = mapped_column(sa.String(200))
    address_line2: Mapped[str | None] = mapped_column(sa.String(200))
    postal_code: Mapped[str] = mapped_column(sa.String(20))
    city: Mapped[str] = mapped_column(sa.String(100))
    country: Mapped[str] = mapped_column(sa.String(2))
    gln: Mapped[str | None] = mapped_column(sa.String(13))
    active: Mapped[bool] = mapped_column(default=True)
