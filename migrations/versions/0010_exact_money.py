"""money and quantities exact on SQLite: whole counts of each column's smallest step; token
balances as decimal text

SQLite keeps NUMERIC values that are not whole numbers as binary floats, so amounts such as
9007199254.741 x 1000001.0001 came back changed. From here on `concord.db.ExactDecimal`
stores them on SQLite as integers (the value times 10^scale), which SQLite keeps exactly up
to 18 digits, and `TokenUnits` keeps uint256 balances as text. PostgreSQL's NUMERIC was
exact already and is left as it is. Existing SQLite rows are converted, rounding each
stored float to the column's scale (the closest exact value it can have meant).

Revision ID: 0010_exact_money
Revises: 0009_arbiters
Create Date: 2026-12-02 18:40:00.000000
"""

import concord.db  # noqa: F401  (column types such as UTCDateTime)
import sqlalchemy as sa
from alembic import op

revision = "0010_exact_money"
down_revision = "0009_arbiters"
branch_labels = None
depends_on = None

#: (table, column, scale) of every ExactDecimal column.
EXACT_COLUMNS = [
    ("purchase_orders", "total", 2),
    ("purchase_orders", "confirmed_total", 2),
    ("order_lines", "quantity", 3),
    ("order_lines", "unit_price", 4),
    ("order_lines", "amount", 2),
    ("order_lines", "confirmed_quantity", 3),
    ("shipment_lines", "quantity", 3),
    ("receipts", "accepted_value", 2),
    ("receipts", "refund_value", 2),
    ("receipt_lines", "shipped_quantity", 3),
    ("receipt_lines", "accepted_quantity", 3),
    ("receipt_lines", "rejected_quantity", 3),
    ("receipt_lines", "accepted_value", 2),
    ("disputes", "payee_amount", 2),
    ("disputes", "buyer_amount", 2),
]


def _tables() -> dict[str, list[tuple[str, int]]]:
    tables: dict[str, list[tuple[str, int]]] = {}
    for table, column, scale in EXACT_COLUMNS:
        tables.setdefault(table, []).append((column, scale))
    return tables


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # One statement per table, so that CHECK constraints relating its columns hold throughout.
    for table, columns in _tables().items():
        assignments = ", ".join(f"{column} = CAST(ROUND({column} * {10**scale}) AS INTEGER)" for column, scale in columns)
        op.execute(f"UPDATE {table} SET {assignments}")
    with op.batch_alter_table("token_balances", schema=None) as batch_op:
        batch_op.alter_column("units", existing_type=sa.Numeric(precision=78, scale=0), type_=sa.String(length=78), existing_nullable=False)
    op.execute("UPDATE token_balances SET units = CAST(CAST(units AS INTEGER) AS TEXT)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("token_balances", schema=None) as batch_op:
        batch_op.alter_column("units", existing_type=sa.String(length=78), type_=sa.Numeric(precision=78, scale=0), existing_nullable=False)
    for table, columns in _tables().items():
        assignments = ", ".join(f"{column} = {column} / {10**scale}.0" for column, scale in columns)
        op.execute(f"UPDATE {table} SET {assignments}")
