"""Certificates and reports an organization keeps on the platform (ISO 9001 and 14001
certificates, certificates of origin, lab test reports): each one a file stored
content-addressed (`concord.files`), attached to the organization itself, one of its
products, or a lot (GTIN + lot number), with who issued it and when it is valid. Its
SHA-256 is anchored on chain (`ProvenanceAnchor`, batch id = the document's id)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from concord.db import Base, IdMixin


class DocumentKind(StrEnum):
    ISO_9001 = "iso_9001"
    ISO_14001 = "iso_14001"
    CERTIFICATE_OF_ORIGIN = "certificate_of_origin"
    LAB_TEST_REPORT = "lab_test_report"
    OTHER = "other"


class SubjectType(StrEnum):
    ORGANIZATION = "organization"
    PRODUCT = "product"
    LOT = "lot"


class Document(IdMixin, Base):
    __tablename__ = "documents"
    __table_args__ = (
        sa.CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="valid_dates_in_order"),
        sa.CheckConstraint("subject_type <> 'product' OR product_id IS NOT NULL", name="product_named"),
        sa.CheckConstraint("subject_type <> 'lot' OR (gtin IS NOT NULL AND lot IS NOT NULL)", name="lot_named"),
        sa.Index("ix_documents_organization_id_created_at", "organization_id", "created_at"),
        sa.Index("ix_documents_gtin_lot", "gtin", "lot"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    title: Mapped[str] = mapped_column(sa.String(200))
    issuer: Mapped[str] = mapped_column(sa.String(200))
    document_number: Mapped[str] = mapped_column(sa.String(100))
    valid_from: Mapped[date]
    valid_until: Mapped[date | None] = mapped_column(index=True)
    subject_type: Mapped[str] = mapped_column(sa.String(16))
    product_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("products.id"), index=True)
    gtin: Mapped[str | None] = mapped_column(sa.String(14))
    lot: Mapped[str | None] = mapped_column(sa.String(20))
    file_sha256: Mapped[str] = mapped_column(sa.String(64), sa.ForeignKey("stored_files.sha256"), index=True)
    file_name: Mapped[str] = mapped_column(sa.String(200))
    uploaded_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    # When the owner was told the document expires soon, and that it has expired (once each).
    expiring_notice_at: Mapped[datetime | None]
    expired_notice_at: Mapped[datetime | None]
