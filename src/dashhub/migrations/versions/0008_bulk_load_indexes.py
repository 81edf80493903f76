"""Indexes that cost loads less: `dashhub load` writes through the databases' bulk paths, and
index upkeep was most of PostgreSQL's work.

`ix_sales_date` goes: nothing reads `sales` by date any more (the rollup is kept by adding each
load's day sums, and undo subtracts them). On PostgreSQL the `load_id` indexes become BRIN: rows
are appended load after load, so a block range summary finds a load's rows at a fraction of a
B-tree's upkeep. SQLite keeps its B-tree (the `postgresql_using` option does not apply there).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

LOAD_INDEXES = (("ix_sales_load_id", "sales"), ("ix_employees_load_id", "employees"))


def upgrade() -> None:
    op.drop_index("ix_sales_date", table_name="sales")
    if op.get_bind().dialect.name == "postgresql":
        for name, table in LOAD_INDEXES:
            op.drop_index(name, table_name=table)
            op.create_index(name, table, ["load_id"], postgresql_using="brin")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table in LOAD_INDEXES:
            op.drop_index(name, table_name=table)
            op.create_index(name, table, ["load_id"])
    op.create_index("ix_sales_date", "sales", ["date"])
