"""auth: failed logins counted per email and source address, per source and platform-wide,
instead of a lock on the account

A lock on the account let anyone who knew an email keep its owner out (and cut off the
owner's API tokens). Counters now live in `login_throttles`, keyed by a hash of what they
count; the user's own counters and lock go.

Revision ID: 0011_login_throttles
Revises: 0010_exact_money
Create Date: 2026-12-03 07:30:00.000000
"""

import concord.db
import sqlalchemy as sa
from alembic import op

revision = "0011_login_throttles"
down_revision = "0010_exact_money"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("window_started_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("locked_until", concord.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttles")),
    )
    with op.batch_alter_table("login_throttles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_throttles_locked_until"), ["locked_until"], unique=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_users_failed_login_count_non_negative"), type_="check")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("last_failed_login_at")
        batch_op.drop_column("failed_login_count")


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_login_count", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_failed_login_at", concord.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("locked_until", concord.db.UTCDateTime(), nullable=True))
        batch_op.create_check_constraint(batch_op.f("ck_users_failed_login_count_non_negative"), "failed_login_count >= 0")
    with op.batch_alter_table("login_throttles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_throttles_locked_until"))
    op.drop_table("login_throttles")
