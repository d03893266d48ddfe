"""provenance: EPCIS 2.0 events as captured, the rows that make them queryable, capture jobs

Issue 11 starts provenance with GS1 EPCIS 2.0: an organization captures EPCIS documents and
queries its events back. Each event is kept whole (every field, extensions included) with its
event hash ID; its EPCs and classes by role and its business transactions are rows of their
own, in canonical form, so queries find them however they were spelled. An eventID names one
event of an organization (a unique constraint, not only a check in the service).

The audit trail's object ids grow from 64 to 500 characters: an attempt to read another
organization's event is recorded with the eventID it named, and an eventID is a URI.

Revision ID: 0017_epcis_events
Revises: 0016_skipped_intents
Create Date: 2026-12-03 15:00:00.000000
"""

import concord.db
import sqlalchemy as sa
from alembic import op

revision = "0017_epcis_events"
down_revision = "0016_skipped_intents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.alter_column("object_id", existing_type=sa.String(length=64), type_=sa.String(length=500), existing_nullable=True)
    op.create_table(
        "epcis_capture_jobs",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("finished_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("running", sa.Boolean(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("error_behaviour", sa.String(length=16), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("event_count >= 0", name=op.f("ck_epcis_capture_jobs_event_count_not_negative")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_epcis_capture_jobs_created_by_users")),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], name=op.f("fk_epcis_capture_jobs_organization_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_epcis_capture_jobs")),
    )
    with op.batch_alter_table("epcis_capture_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_epcis_capture_jobs_organization_id"), ["organization_id"], unique=False)

    op.create_table(
        "epcis_events",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("capture_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(length=500), nullable=False),
        sa.Column("hash_id", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("event_time", concord.db.UTCDateTime(), nullable=False),
        sa.Column("event_time_offset", sa.String(length=6), nullable=False),
        sa.Column("record_time", concord.db.UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=True),
        sa.Column("biz_step", sa.String(length=500), nullable=True),
        sa.Column("disposition", sa.String(length=500), nullable=True),
        sa.Column("read_point", sa.String(length=500), nullable=True),
        sa.Column("biz_location", sa.String(length=500), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["capture_id"], ["epcis_capture_jobs.id"], name=op.f("fk_epcis_events_capture_id_epcis_capture_jobs")),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], name=op.f("fk_epcis_events_organization_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_epcis_events")),
        sa.UniqueConstraint("organization_id", "event_id", name=op.f("uq_epcis_events_organization_id_event_id")),
    )
    with op.batch_alter_table("epcis_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_epcis_events_biz_location"), ["biz_location"], unique=False)
        batch_op.create_index(batch_op.f("ix_epcis_events_biz_step"), ["biz_step"], unique=False)
        batch_op.create_index(batch_op.f("ix_epcis_events_capture_id"), ["capture_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_epcis_events_disposition"), ["disposition"], unique=False)
        batch_op.create_index(batch_op.f("ix_epcis_events_hash_id"), ["hash_id"], unique=False)
        batch_op.create_index("ix_epcis_events_organization_id_event_time", ["organization_id", "event_time"], unique=False)
        batch_op.create_index("ix_epcis_events_organization_id_record_time", ["organization_id", "record_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_epcis_events_read_point"), ["read_point"], unique=False)

    op.create_table(
        "epcis_event_biz_transactions",
        sa.Column("event_pk", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=500), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["event_pk"], ["epcis_events.id"], name=op.f("fk_epcis_event_biz_transactions_event_pk_epcis_events"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_pk", "type", "value", name=op.f("pk_epcis_event_biz_transactions")),
    )
    with op.batch_alter_table("epcis_event_biz_transactions", schema=None) as batch_op:
        batch_op.create_index("ix_epcis_event_biz_transactions_type_value", ["type", "value"], unique=False)

    op.create_table(
        "epcis_event_identifiers",
        sa.Column("event_pk", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["event_pk"], ["epcis_events.id"], name=op.f("fk_epcis_event_identifiers_event_pk_epcis_events"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_pk", "role", "value", name=op.f("pk_epcis_event_identifiers")),
    )
    with op.batch_alter_table("epcis_event_identifiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_epcis_event_identifiers_value"), ["value"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("epcis_event_identifiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_epcis_event_identifiers_value"))
    op.drop_table("epcis_event_identifiers")
    with op.batch_alter_table("epcis_event_biz_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_epcis_event_biz_transactions_type_value")
    op.drop_table("epcis_event_biz_transactions")
    with op.batch_alter_table("epcis_events", schema=None) as batch_op:
        for name in (
            "read_point",
            "organization_id_record_time",
            "organization_id_event_time",
            "hash_id",
            "disposition",
            "capture_id",
            "biz_step",
            "biz_location",
        ):
            batch_op.drop_index(f"ix_epcis_events_{name}")
    op.drop_table("epcis_events")
    with op.batch_alter_table("epcis_capture_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_epcis_capture_jobs_organization_id"))
    op.drop_table("epcis_capture_jobs")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.alter_column("object_id", existing_type=sa.String(length=500), type_=sa.String(length=64), existing_nullable=True)
