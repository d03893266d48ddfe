"""ledger: an intent found moot before signing is `skipped`, not `failed`

A withdrawal an earlier one made moot (it took the same credit) was marked failed, and the
order's page showed a failed step where nothing had gone wrong.

Revision ID: 0016_skipped_intents
Revises: 0015_ledger_verifications
Create Date: 2026-12-03 14:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_skipped_intents"
down_revision = "0015_ledger_verifications"
branch_labels = None
depends_on = None

_BEFORE = ("queued", "signed", "confirmed", "failed")
_AFTER = (*_BEFORE, "skipped")
_CHECK = "ck_chain_intents_intent_state"


def _allow(states: tuple[str, ...]) -> None:
    with op.batch_alter_table("chain_intents", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(_CHECK), type_="check")
        batch_op.create_check_constraint(op.f(_CHECK), sa.column("state").in_(states))


def upgrade() -> None:
    _allow(_AFTER)
    op.execute(
        "UPDATE chain_intents SET state = 'skipped' WHERE state = 'failed' AND tx_hash IS NULL AND last_error LIKE 'not sent: nothing left to withdraw%'"
    )


def downgrade() -> None:
    op.execute("UPDATE chain_intents SET state = 'failed' WHERE state = 'skipped'")
    _allow(_BEFORE)
