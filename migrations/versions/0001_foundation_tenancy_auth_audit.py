"""create tenancy, auth, audit and idempotency tables

The foundation: organizations (tenants) and their users, invitations and partnerships;
portal sessions and API tokens (hashes only); the hash-chained audit trail, whose unique
prev_hash makes a fork of the chain impossible; and idempotency records for POST retries.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-23 09:06:22.303924
"""

import concord.db
import sqlalchemy as sa
from alembic import op

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_org_id", sa.Uuid(), nullable=True),
        sa.Column("subject_org_id", sa.Uuid(), nullable=True),
        sa.Column("related_org_id", sa.Uuid(), nullable=True),
        sa.Column("object_type", sa.String(length=64), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entries")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_entries_hash")),
        sa.UniqueConstraint("id", name=op.f("uq_audit_entries_id")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_entries_prev_hash")),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entries_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entries_actor_org_id"), ["actor_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entries_related_org_id"), ["related_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entries_subject_org_id"), ["subject_org_id"], unique=False)

    op.create_table(
        "idempotency_records",
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("completed_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("mimetype", sa.String(length=100), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint("scope", "key", name="uq_idempotency_records_scope_key"),
    )
    op.create_table(
        "organizations",
        sa.Column("legal_name", sa.String(length=200), nullable=False),
        sa.Column("registration_number", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("capabilities", sa.JSON(), nullable=False),
        sa.Column("is_operator", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "active", "suspended", "rejected", name="org_status", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", concord.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("country", "registration_number", name="uq_organizations_registration"),
    )
    op.create_table(
        "partnerships",
        sa.Column(
            "relation",
            sa.Enum(
                "buyer_supplier",
                "shipper_carrier",
                "supplier_financier",
                "party_auditor",
                name="partnership_relation",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("org_a_id", sa.Uuid(), nullable=False),
        sa.Column("org_b_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by_org_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("requested", "active", "declined", "ended", name="partnership_status", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("message", sa.String(length=500), nullable=True),
        sa.Column("responded_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", concord.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("org_a_id <> org_b_id", name=op.f("ck_partnerships_distinct_parties")),
        sa.ForeignKeyConstraint(["org_a_id"], ["organizations.id"], name=op.f("fk_partnerships_org_a_id_organizations")),
        sa.ForeignKeyConstraint(["org_b_id"], ["organizations.id"], name=op.f("fk_partnerships_org_b_id_organizations")),
        sa.ForeignKeyConstraint(["requested_by_org_id"], ["organizations.id"], name=op.f("fk_partnerships_requested_by_org_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partnerships")),
        sa.UniqueConstraint("relation", "org_a_id", "org_b_id", name="uq_partnerships_pair"),
    )
    with op.batch_alter_table("partnerships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partnerships_org_a_id"), ["org_a_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_partnerships_org_b_id"), ["org_b_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.Enum("admin", "member", "viewer", name="user_role", native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("status", sa.Enum("active", "disabled", name="user_status", native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("password_changed_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("failed_login_count", sa.Integer(), nullable=False),
        sa.Column("last_failed_login_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("locked_until", concord.db.UTCDateTime(), nullable=True),
        sa.Column("last_login_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", concord.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("failed_login_count >= 0", name=op.f("ck_users_failed_login_count_non_negative")),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], name=op.f("fk_users_organization_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_organization_id"), ["organization_id"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "invitations",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.Enum("admin", "member", "viewer", name="invitation_role", native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("accepted_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", concord.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["invited_by_id"], ["users.id"], name=op.f("fk_invitations_invited_by_id_users")),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], name=op.f("fk_invitations_organization_id_organizations")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_invitations_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitations_organization_id"), ["organization_id"], unique=False)

    op.create_table(
        "user_sessions",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("ended_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_sessions_token_hash")),
    )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_sessions_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_sessions_user_id"))

    op.drop_table("user_sessions")
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitations_organization_id"))

    op.drop_table("invitations")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_organization_id"))

    op.drop_table("users")
    with op.batch_alter_table("partnerships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partnerships_org_b_id"))
        batch_op.drop_index(batch_op.f("ix_partnerships_org_a_id"))

    op.drop_table("partnerships")
    op.drop_table("organizations")
    op.drop_table("idempotency_records")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entries_subject_org_id"))
        batch_op.drop_index(batch_op.f("ix_audit_entries_related_org_id"))
        batch_op.drop_index(batch_op.f("ix_audit_entries_actor_org_id"))
        batch_op.drop_index(batch_op.f("ix_audit_entries_action"))

    op.drop_table("audit_entries")
