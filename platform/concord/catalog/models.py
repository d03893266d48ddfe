"""An organization's own item master and places: private to it; documents such as purchase
orders copy what their parties need to see."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from concord.db import Base, IdMixin, TimestampMixin


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
