"""The prediction API: logged predictions, feedback labels, their rollups, and API tokens.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "predictions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_name", sa.String(64), nullable=False),
        sa.Column("model_version", sa.Integer, nullable=True),
        sa.Column("features", sa.Text, nullable=True),
        sa.Column("label", sa.String(128), nullable=True),
        sa.Column("probabilities", sa.Text, nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("token_id", sa.Integer, nullable=True),
    )
    op.create_index("ix_predictions_at", "predictions", ["at"])
    op.create_index("ix_predictions_model_at", "predictions", ["model_name", "at"])
    op.create_table(
        "feedback",
        sa.Column(
            "prediction_id",
            sa.String(32),
            sa.ForeignKey("predictions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("label", sa.String(128), nullable=False),
        sa.Column("correct", sa.Boolean, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "prediction_rollups",
        sa.Column("granularity", sa.String(8), primary_key=True),
        sa.Column("period", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("model_name", sa.String(64), primary_key=True),
        sa.Column("model_version", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(16), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("latency_sum", sa.Float, nullable=False),
        sa.Column("latency_max", sa.Float, nullable=False),
        sa.Column("labelled", sa.Integer, nullable=False),
        sa.Column("correct", sa.Integer, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    versions = sa.table("data_versions", sa.column("name", sa.String), sa.column("version", sa.Integer))
    op.bulk_insert(versions, [{"name": "tokens", "version": 1}])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM data_versions WHERE name = 'tokens'"))
    op.drop_table("api_tokens")
    op.drop_table("prediction_rollups")
    op.drop_table("feedback")
    op.drop_index("ix_predictions_model_at", table_name="predictions")
    op.drop_index("ix_predictions_at", table_name="predictions")
    op.drop_table("predictions")
