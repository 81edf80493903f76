"""The schema of release 0.1 (sales and its daily rollup, employees, users, audit, data versions).

Databases made by 0.1, before migrations existed, hold some or all of these tables and no
alembic_version: this revision creates only what is missing, so that `dashhub init` adopts them
with their data.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

DATASETS = ("sales", "employees", "users")


def _tables() -> list[tuple[str, list, list[tuple[str, list[str]]]]]:
    """(name, columns, indexes) of each table, as release 0.1 created them."""
    return [
        (
            "sales",
            [
                sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                sa.Column("date", sa.Date, nullable=False),
                sa.Column("region", sa.String(64), nullable=False),
                sa.Column("product", sa.String(64), nullable=False),
                sa.Column("amount", sa.Float, nullable=False),
            ],
            [("ix_sales_date", ["date"])],
        ),
        (
            "sales_daily",
            [
                sa.Column("day", sa.Date, primary_key=True),
                sa.Column("region", sa.String(64), primary_key=True),
                sa.Column("product", sa.String(64), primary_key=True),
                sa.Column("week", sa.Date, nullable=False),
                sa.Column("year", sa.Integer, nullable=False),
                sa.Column("month", sa.Integer, nullable=False),
                sa.Column("amount", sa.Float, nullable=False),
                sa.Column("n_rows", sa.Integer, nullable=False),
            ],
            [],
        ),
        (
            "employees",
            [
                sa.Column("employee_id", sa.Integer, primary_key=True, autoincrement=False),
                sa.Column("department", sa.String(64), nullable=False),
                sa.Column("age", sa.Integer, nullable=False),
                sa.Column("experience_years", sa.Float, nullable=False),
                sa.Column("salary", sa.Float, nullable=False),
                sa.Column("performance", sa.Float, nullable=False),
                sa.Column("satisfaction", sa.Float, nullable=False),
            ],
            [],
        ),
        (
            "users",
            [
                sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                sa.Column("username", sa.String(64), nullable=False, unique=True),
                sa.Column("password_hash", sa.String(256), nullable=False),
                sa.Column("role", sa.String(16), nullable=False),
                sa.Column("active", sa.Boolean, nullable=False),
                sa.Column("failed_logins", sa.Integer, nullable=False),
                sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
                sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            ],
            [],
        ),
        (
            "user_settings",
            [
                sa.Column(
                    "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
                ),
                sa.Column("locale", sa.String(8), nullable=True),
            ],
            [],
        ),
        (
            "audit_events",
            [
                sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                sa.Column("at", sa.DateTime(timezone=True), nullable=False),
                sa.Column("event", sa.String(32), nullable=False),
                sa.Column("username", sa.String(64), nullable=True),
                sa.Column("address", sa.String(64), nullable=True),
                sa.Column("detail", sa.Text, nullable=False),
            ],
            [("ix_audit_events_at", ["at"])],
        ),
        (
            "data_versions",
            [
                sa.Column("name", sa.String(32), primary_key=True),
                sa.Column("version", sa.Integer, nullable=False),
            ],
            [],
        ),
    ]


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, columns, indexes in _tables():
        if name in existing:
            continue
        op.create_table(name, *columns)
        for index, index_columns in indexes:
            op.create_index(index, name, index_columns)
    versions = sa.table("data_versions", sa.column("name", sa.String), sa.column("version", sa.Integer))
    known = set(op.get_bind().scalars(sa.select(versions.c.name)))
    missing = [{"name": name, "version": 1} for name in DATASETS if name not in known]
    if missing:
        op.bulk_insert(versions, missing)


def downgrade() -> None:
    for name, _columns, _indexes in reversed(_tables()):
        op.drop_table(name)
