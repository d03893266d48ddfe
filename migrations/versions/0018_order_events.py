"""provenance: the organizations an EPCIS event is shared with beyond the one that recorded it

Issue 11: every physical step of an order (shipment, carrier milestone, proof of delivery,
receipt) records its EPCIS event, owned by the organization that took the step. The other
parties of the order (buyer, supplier, carrier) see it too, so that a trace by GTIN and lot
crosses organizations: each such party is a row here.

Revision ID: 0018_order_events
Revises: 0017_epcis_events
Create Date: 2026-12-03 16:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_order_events"
down_revision = "0017_epcis_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "epcis_event_parties",
        sa.Column("event_pk", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["event_pk"], ["epcis_events.id"], name=op.f("fk_epcis_event_parties_event_pk_epcis_events"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], name=op.f("fk_epcis_event_parties_organization_id_organizations")),
        sa.PrimaryKeyConstraint("event_pk", "organization_id", name=op.f("pk_epcis_event_parties")),
    )
    with op.batch_alter_table("epcis_event_parties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_epcis_event_parties_organization_id"), ["organization_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("epcis_event_parties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_epcis_event_parties_organization_id"))
    op.drop_table("epcis_event_parties")
