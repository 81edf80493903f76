"""Loads kept: each `dashhub load` with its file's fingerprint, and the rows it brought.

The same file loaded twice used to double every total silently; a load can now be listed and
undone (`dashhub loads list | undo ID`). Rows loaded before this revision belong to no load.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loads",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dataset", sa.String(16), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("rejected", sa.Integer, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_loads_sha256", "loads", ["dataset", "sha256"])
    for table in ("sales", "employees"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("load_id", sa.Integer, nullable=True))
        op.create_index(f"ix_{table}_load_id", table, ["load_id"])


def downgrade() -> None:
    for table in ("sales", "employees"):
        op.drop_index(f"ix_{table}_load_id", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("load_id")
    op.drop_index("ix_loads_sha256", table_name="loads")
    op.drop_table("loads")
