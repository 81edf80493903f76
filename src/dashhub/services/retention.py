"""Retention of the prediction log: rows older than monitoring.retention_days are counted into
per-minute, per-hour and per-day rollups, then deleted, in one transaction, so that the table stays
bounded and the long-term trends stay.

Hosts may run it at the same time: on PostgreSQL a transaction-scoped advisory lock lets one
through at a time (the next finds nothing left to roll up); SQLite serialises writers itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import DateTime, Engine, Integer, and_, case, delete, func, literal, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from dashhub.db import feedback, insert_or_ignore, prediction_rollups, predictions

GRANULARITIES = ("minute", "hour", "day")
# How long each rollup is kept (beyond the raw rows' retention): minutes for a quarter, hours
# for a year and a bit, days for ever.
ROLLUP_KEEP_DAYS = {"minute": 90, "hour": 400}
PRUNE_LOCK = 0x64617368  # "dash": the advisory lock number of the pruner on PostgreSQL


class period_start(FunctionElement):
    """The start of the minute, hour or day a timestamp falls in (UTC), in SQL."""

    type = DateTime(timezone=True)
    # The granularity is written into the SQL itself: statements must not share a compiled form.
    inherit_cache = False


_SQLITE_FORMATS = {"minute": "%Y-%m-%d %H:%M:00", "hour": "%Y-%m-%d %H:00:00", "day": "%Y-%m-%d 00:00:00"}


@compiles(period_start, "sqlite")
def _period_start_sqlite(element, compiler, **kw) -> str:
    granularity, column = element.clauses
    return f"strftime('{_SQLITE_FORMATS[granularity.value]}', {compiler.process(column, **kw)})"


@compiles(period_start, "postgresql")
def _period_start_postgresql(element, compiler, **kw) -> str:
    granularity, column = element.clauses
    return f"date_trunc('{granularity.value}', {compiler.process(column, **kw)})"


@dataclass(frozen=True)
class PruneReport:
    rolled_up: int  # predictions counted into the rollups and deleted
    rollups_dropped: int  # rollups past their own retention


def prune(engine: Engine, retention_days: float, now: dt.datetime | None = None) -> PruneReport:
    """Roll up and delete the predictions older than retention_days (and old fine rollups)."""
    now = now or dt.datetime.now(dt.UTC)
    cutoff = now - dt.timedelta(days=retention_days)
    old = predictions.c.at < cutoff
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PRUNE_LOCK})
        count = conn.scalar(select(func.count()).select_from(predictions).where(old)) or 0
        if count:
            for granularity in GRANULARITIES:
                for row in conn.execute(_aggregates(granularity, old)).mappings():
                    _add(conn, dict(row))
            conn.execute(
                delete(feedback).where(feedback.c.prediction_id.in_(select(predictions.c.id).where(old)))
            )
            conn.execute(delete(predictions).where(old))
        dropped = 0
        for granularity, days in ROLLUP_KEEP_DAYS.items():
            dropped += conn.execute(
                delete(prediction_rollups).where(
                    prediction_rollups.c.granularity == granularity,
                    prediction_rollups.c.period < cutoff - dt.timedelta(days=days),
                )
            ).rowcount
    return PruneReport(int(count), dropped)


def _aggregates(granularity: str, old):
    p, f = predictions.c, feedback.c
    period = period_start(literal(granularity), p.at)
    version = func.coalesce(p.model_version, 0)
    return (
        select(
            literal(granularity).label("granularity"),
            period.label("period"),
            p.model_name.label("model_name"),
            version.label("model_version"),
            p.status.label("status"),
            func.count().label("count"),
            func.sum(p.latency_ms).label("latency_sum"),
            func.max(p.latency_ms).label("latency_max"),
            func.count(f.prediction_id).label("labelled"),
            func.sum(case((f.correct, 1), else_=0)).cast(Integer).label("correct"),
        )
        .select_from(predictions.outerjoin(feedback, and_(f.prediction_id == p.id)))
        .where(old)
        .group_by(period, p.model_name, version, p.status)
    )


def _add(conn, row: dict) -> None:
    """Add an aggregate to its rollup (a period may have been rolled up in part already)."""
    if isinstance(row["period"], str):  # SQLite's strftime gives text
        row["period"] = dt.datetime.fromisoformat(row["period"]).replace(tzinfo=dt.UTC)
    r = prediction_rollups.c
    key = and_(
        r.granularity == row["granularity"],
        r.period == row["period"],
        r.model_name == row["model_name"],
        r.model_version == row["model_version"],
        r.status == row["status"],
    )
    existing = conn.execute(
        select(r.count, r.latency_sum, r.latency_max, r.labelled, r.correct).where(key)
    ).first()
    if existing is None:
        conn.execute(insert_or_ignore(conn, prediction_rollups).values(**row))
        return
    conn.execute(
        prediction_rollups.update()
        .where(key)
        .values(
            count=existing.count + row["count"],
            latency_sum=existing.latency_sum + (row["latency_sum"] or 0.0),
            latency_max=max(existing.latency_max, row["latency_max"] or 0.0),
            labelled=existing.labelled + row["labelled"],
            correct=existing.correct + (row["correct"] or 0),
        )
    )
