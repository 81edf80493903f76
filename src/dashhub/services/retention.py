"""Retention of the prediction log: rows older than monitoring.retention_days are deleted once the
rollups count them (services.rollups, brought up to date first, in the same run), so that the
table stays bounded and the long-term trends stay. Fine rollups have their own, longer retention.

Hosts may run it at the same time: on PostgreSQL a transaction-scoped advisory lock lets one
through at a time (the next finds nothing left to delete); SQLite serialises writers itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, select, text

from dashhub.db import feature_rollups, feedback, prediction_rollups, predictions
from dashhub.services.rollups import refresh

# How long each rollup is kept (beyond the raw rows' retention): minutes for a quarter, hours
# for a year and a bit, days for ever.
ROLLUP_KEEP_DAYS = {"minute": 90, "hour": 400}
PRUNE_LOCK = 0x64617368  # "dash": the advisory lock number of the pruner on PostgreSQL


@dataclass(frozen=True)
class PruneReport:
    rolled_up: int  # predictions counted into the rollups and deleted
    rollups_dropped: int  # rollups past their own retention


def prune(engine: Engine, retention_days: float, now: dt.datetime | None = None) -> PruneReport:
    """Delete the predictions older than retention_days once counted (and old fine rollups)."""
    now = now or dt.datetime.now(dt.UTC)
    refresh(engine, now)
    cutoff = now - dt.timedelta(days=retention_days)
    old = predictions.c.at < cutoff
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PRUNE_LOCK})
        count = conn.scalar(select(func.count()).select_from(predictions).where(old)) or 0
        if count:
            conn.execute(
                delete(feedback).where(feedback.c.prediction_id.in_(select(predictions.c.id).where(old)))
            )
            conn.execute(delete(predictions).where(old))
        dropped = 0
        for granularity, days in ROLLUP_KEEP_DAYS.items():
            for table in (prediction_rollups, feature_rollups):
                dropped += conn.execute(
                    delete(table).where(
                        table.c.granularity == granularity,
                        table.c.period < cutoff - dt.timedelta(days=days),
                    )
                ).rowcount
    return PruneReport(int(count), dropped)
