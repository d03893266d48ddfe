"""provenance: the public view of a product's Digital Link, and how events are shared

Issue 11: a GS1 Digital Link (`/01/{gtin}/10/{lot}`) resolves on the platform, and what the
public sees is the brand owner's choice per product (nothing, the origin summary, the chain of
custody). A published product holds its GTIN as 14 digits in `published_gtin`, unique, so one
organization answers for a GTIN. Inside the consortium each event is shared as its
organization chooses (private, the parties of its transactions, every handler of the same
lot): a default per organization, the level each event was captured with, and the parties
found for its transactions when it was captured.

Revision ID: 0021_digital_link_and_sharing
Revises: 0017_epcis_events
Create Date: 2026-12-03 16:00:00.000000
"""

import concord.db
import sqlalchemy as sa
from alembic import op

revision = "0021_digital_link_and_sharing"
down_revision = "0019_auditor_engagements"
branch_labels = None
depends_on = None

_SHARING = sa.Enum("private", "transaction", "lot", name="epcis_sharing", native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "public_view",
                sa.Enum("none", "origin", "custody", name="product_public_view", native_enum=False, create_constraint=True, length=32),
                server_default="none",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("published_gtin", sa.String(length=14), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_products_published_gtin"), ["published_gtin"])
    with op.batch_alter_table("epcis_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sharing", _SHARING, server_default="private", nullable=False))
    op.create_table(
        "epcis_sharing_defaults",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("sharing", _SHARING, server_default="private", nullable=False),
        sa.Column("updated_at", concord.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], name=op.f("fk_epcis_sharing_defaults_organization_id_organizations")),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_epcis_sharing_defaults")),
    )


def downgrade() -> None:
    op.drop_table("epcis_sharing_defaults")
    with op.batch_alter_table("epcis_events", schema=None) as batch_op:
        batch_op.drop_column("sharing")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_products_published_gtin"), type_="unique")
        batch_op.drop_column("published_gtin")
        batch_op.drop_column("public_view")
