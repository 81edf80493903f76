"""The monitoring's periodic work, run by each host's scheduler: bring the rollups and the alerts
up to date, and sample the server's CPU and memory."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import Engine

from dashhub.config import Settings
from dashhub.domain.monitoring import window_for
from dashhub.services.alerting import evaluate
from dashhub.services.models import ModelRegistry
from dashhub.services.monitoring import drift_share_now
from dashhub.services.resources import ResourceSampler, prune_samples
from dashhub.services.rollups import refresh
from dashhub.services.webhooks import deliver

log = logging.getLogger(__name__)


def refresh_and_evaluate(
    engine: Engine, settings: Settings, now: dt.datetime | None = None, lookback_days: float = 1
) -> list:
    """Rollups up to now, then every alert rule of every served model and of the hosts (a rule
    never evaluated starts lookback_days back)."""
    now = now or dt.datetime.now(dt.UTC)
    monitoring = settings.monitoring
    refresh(engine, now)
    registry = ModelRegistry(engine)
    served = {m.name: m for m in registry.versions() if m.active}
    drift_window = dt.timedelta(minutes=monitoring.drift.alert_window_minutes)

    def share(name: str) -> float | None:
        return drift_share_now(
            engine, registry, monitoring, served[name], window_for(now - drift_window, now)
        )

    events = evaluate(engine, monitoring, served, share, now, dt.timedelta(days=lookback_days))
    for event in events:
        log.warning(
            "alert %s %s at %s: %.4g (threshold %.4g)",
            event.indicator,
            event.kind,
            event.at,
            event.value,
            event.threshold,
        )
    return events


def monitoring_tasks(
    settings: Settings, engine: Engine, root_pid: int | None = None
) -> list[tuple[str, float, Callable[[], object]]]:
    monitoring = settings.monitoring
    sampler: list[ResourceSampler] = []

    def sample() -> object:
        if not sampler:  # by default the scheduler's parent: the server's master
            sampler.append(ResourceSampler(engine, root_pid))
        prune_samples(engine, monitoring.resource_keep_days)
        return sampler[0].sample()

    return [
        (
            "refresh-monitoring",
            monitoring.refresh_every_seconds,
            lambda: refresh_and_evaluate(engine, settings),
        ),
        ("sample-resources", monitoring.resources_every_seconds, sample),
        ("alert-webhook", monitoring.refresh_every_seconds, lambda: deliver(engine, monitoring)),
    ]
