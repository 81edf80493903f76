"""The model registry: named models, their versions (one active per name) and their artifacts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("algorithm", sa.String(32), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("metrics", sa.Text, nullable=False),
        sa.Column("features", sa.Text, nullable=False),
        sa.Column("classes", sa.Text, nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("artifact_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_models_name_version"),
    )
    op.create_index(
        "uq_models_one_active",
        "models",
        ["name"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "model_artifacts",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    versions = sa.table("data_versions", sa.column("name", sa.String), sa.column("version", sa.Integer))
    op.bulk_insert(versions, [{"name": "models", "version": 1}])


def downgrade() -> None:
    op.drop_table("model_artifacts")
    op.drop_index("uq_models_one_active", table_name="models")
    op.drop_table("models")
    op.execute(sa.text("DELETE FROM data_versions WHERE name = 'models'"))
