"""engagements: an organization lets an auditor partner read some of its records, and logs the reads

Issue 11's auditor's workspace: an organization grants an auditor an engagement (the kinds of
records it covers, the period their own dates fall in, until when), and may revoke it. Within
it the auditor reads those records; every read is logged for the grantor, one row per request
(the read log is paged by engagement, newest first, along its index).

Revision ID: 0019_auditor_engagements
Revises: 0017_epcis_events
Create Date: 2026-12-03 16:00:00.000000
"""

import concord.db
import sqlalchemy as sa
from alembic import op

revision = "0019_auditor_engagements"
down_revision = "0018_order_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engagements",
        sa.Column("grantor_org_id", sa.Uuid(), nullable=False),
        sa.Column("auditor_org_id", sa.Uuid(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("valid_until", concord.db.UTCDateTime(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column(
            "state",
            sa.Enum("granted", "revoked", "expired", name="engagement_state", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("granted_by", sa.Uuid(), nullable=False),
        sa.Column("granted_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("revoked_by", sa.Uuid(), nullable=True),
        sa.Column("revoked_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("grantor_org_id <> auditor_org_id", name=op.f("ck_engagements_distinct_parties")),
        sa.CheckConstraint("period_from <= period_to", name=op.f("ck_engagements_period_ordered")),
        sa.ForeignKeyConstraint(["auditor_org_id"], ["organizations.id"], name=op.f("fk_engagements_auditor_org_id_organizations")),
        sa.ForeignKeyConstraint(["grantor_org_id"], ["organizations.id"], name=op.f("fk_engagements_grantor_org_id_organizations")),
        sa.ForeignKeyConstraint(["granted_by"], ["users.id"], name=op.f("fk_engagements_granted_by_users")),
        sa.ForeignKeyConstraint(["revoked_by"], ["users.id"], name=op.f("fk_engagements_revoked_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagements")),
    )
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.create_index("ix_engagements_auditor_listing", ["auditor_org_id", "granted_at", "id"], unique=False)
        batch_op.create_index("ix_engagements_grantor_listing", ["grantor_org_id", "granted_at", "id"], unique=False)

    op.create_table(
        "engagement_reads",
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("read_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("endpoint", sa.String(length=100), nullable=False),
        sa.Column("request", sa.String(length=2000), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("object_id", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["engagement_id"], ["engagements.id"], name=op.f("fk_engagement_reads_engagement_id_engagements")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_engagement_reads_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagement_reads")),
    )
    with op.batch_alter_table("engagement_reads", schema=None) as batch_op:
        batch_op.create_index("ix_engagement_reads_listing", ["engagement_id", "read_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("engagement_reads", schema=None) as batch_op:
        batch_op.drop_index("ix_engagement_reads_listing")
    op.drop_table("engagement_reads")
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.drop_index("ix_engagements_grantor_listing")
        batch_op.drop_index("ix_engagements_auditor_listing")
    op.drop_table("engagements")
