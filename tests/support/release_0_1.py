"""The schema as release 0.1 created it (metadata.create_all, before migrations existed), frozen
here so that the migration tests can make the databases operators already have."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

Table(
    "sales",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("date", Date, nullable=False),
    Column("region", String(64), nullable=False),
    Column("product", String(64), nullable=False),
    Column("amount", Float, nullable=False),
    Index("ix_sales_date", "date"),
)
Table(
    "sales_daily",
    metadata,
    Column("day", Date, primary_key=True),
    Column("region", String(64), primary_key=True),
    Column("product", String(64), primary_key=True),
    Column("week", Date, nullable=False),
    Column("year", Integer, nullable=False),
    Column("month", Integer, nullable=False),
    Column("amount", Float, nullable=False),
    Column("n_rows", Integer, nullable=False),
)
Table(
    "employees",
    metadata,
    Column("employee_id", Integer, primary_key=True, autoincrement=False),
    Column("department", String(64), nullable=False),
    Column("age", Integer, nullable=False),
    Column("experience_years", Float, nullable=False),
    Column("salary", Float, nullable=False),
    Column("performance", Float, nullable=False),
    Column("satisfaction", Float, nullable=False),
)
Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
# Added during 0.1: databases made before it lack this table.
Table(
    "user_settings",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("locale", String(8), nullable=True),
)
Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("event", String(32), nullable=False),
    Column("username", String(64), nullable=True),
    Column("address", String(64), nullable=True),
    Column("detail", Text, nullable=False, default="{}"),
    Index("ix_audit_events_at", "at"),
)
Table(
    "data_versions",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("version", Integer, nullable=False),
)
