"""« Vos données »: charts that users save under a name, one row each (the chart builder's query
string), removed with their dataset or their user.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_charts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("owner_id", "dataset_id", "name", name="uq_saved_charts_owner_dataset_name"),
    )
    op.create_index("ix_saved_charts_dataset_id", "saved_charts", ["dataset_id"])


def downgrade() -> None:
    op.drop_index("ix_saved_charts_dataset_id", table_name="saved_charts")
    op.drop_table("saved_charts")
