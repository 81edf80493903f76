"""Monitoring: latency histograms in the rollups, feature rollups, resource samples, alerts.

From this revision the rollups are kept up to date as predictions arrive (services.rollups), not
only when the retention prunes. Rows pruned before it keep their counts (without a latency
histogram); the predictions still in the log are counted at the first refresh.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("prediction_rollups") as batch:
        batch.add_column(sa.Column("latency_hist", sa.Text, nullable=False, server_default="{}"))
    op.create_index("ix_feedback_at", "feedback", ["at"])
    op.create_table(
        "feature_rollups",
        sa.Column("granularity", sa.String(8), primary_key=True),
        sa.Column("period", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("model_name", sa.String(64), primary_key=True),
        sa.Column("model_version", sa.Integer, primary_key=True),
        sa.Column("feature", sa.String(128), primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("sum", sa.Float, nullable=False),
        sa.Column("sumsq", sa.Float, nullable=False),
    )
    op.create_table(
        "monitoring_marks",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "resource_samples",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("host", sa.String(128), nullable=False),
        sa.Column("process_cpu", sa.Float, nullable=False),
        sa.Column("process_memory", sa.Float, nullable=False),
        sa.Column("host_cpu", sa.Float, nullable=False),
        sa.Column("host_memory", sa.Float, nullable=False),
        sa.Column("host_memory_total", sa.Float, nullable=False),
    )
    op.create_index("ix_resource_samples_at", "resource_samples", ["at"])
    op.create_table(
        "alert_states",
        sa.Column("model_name", sa.String(64), primary_key=True),
        sa.Column("indicator", sa.String(32), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recovering_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("evaluated_until", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_name", sa.String(64), nullable=False),
        sa.Column("indicator", sa.String(32), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_value", sa.Float, nullable=True),
        sa.Column("fired_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_alerts_model_fired", "alerts", ["model_name", "fired_at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_model_fired", table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("alert_states")
    op.drop_index("ix_resource_samples_at", table_name="resource_samples")
    op.drop_table("resource_samples")
    op.drop_table("monitoring_marks")
    op.drop_table("feature_rollups")
    op.drop_index("ix_feedback_at", table_name="feedback")
    with op.batch_alter_table("prediction_rollups") as batch:
        batch.drop_column("latency_hist")
