"""Alerts sent to a webhook (monitoring.webhook_url): every fired and cleared alert is POSTed as
JSON until the receiver acknowledges it (2xx), tried again at each scheduler tick while it is
down, so that an outage delays notifications and loses none. The alerts table is the outbox."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

import requests
from sqlalchemy import Engine, or_, select, update

from dashhub.config import MonitoringConfig
from dashhub.db import alerts
from dashhub.services.rollups import utc

log = logging.getLogger(__name__)
BATCH = 100  # deliveries per tick at most
MAX_AGE = dt.timedelta(days=1)


def payload(row, kind: str) -> dict:
    """What the receiver gets for one event (a `text` line too, for chat webhooks)."""
    at = utc(row.fired_at if kind == "fired" else row.cleared_at)
    value = row.value if kind == "fired" else row.cleared_value
    model = row.model_name or "hosts"
    return {
        "event": f"alert_{kind}",
        "model": row.model_name or None,
        "indicator": row.indicator,
        "at": at.isoformat(),
        "value": value,
        "threshold": row.threshold,
        "alert_id": row.id,
        "text": f"dashhub: {row.indicator} alert {kind} for {model} at {at:%Y-%m-%d %H:%M} UTC "
        f"(value {value:.4g}, threshold {row.threshold:.4g})",
    }


def deliver(
    engine: Engine,
    settings: MonitoringConfig,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Send the events not yet acknowledged, oldest first; how many were delivered. Stops at the
    first delivery that still fails after its attempts (the receiver is down: next tick)."""
    if not settings.webhook_url:
        return 0
    a = alerts.c
    since = dt.datetime.now(dt.UTC) - MAX_AGE  # older news is history, not an alert: never sent
    with engine.connect() as conn:
        rows = conn.execute(
            select(alerts)
            .where(
                or_(
                    a.fired_sent_at.is_(None) & (a.fired_at >= since),
                    a.cleared_sent_at.is_(None) & (a.cleared_at >= since),
                )
            )
            .order_by(a.fired_at)
            .limit(BATCH)
        ).all()
    http = session or requests.Session()
    delivered = 0
    for row in rows:
        for kind, sent, at in (
            ("fired", row.fired_sent_at, row.fired_at),
            ("cleared", row.cleared_sent_at, row.cleared_at),
        ):
            if sent is not None or at is None or utc(at) < since:
                continue
            outcome = _post(http, settings, payload(row, kind), sleep)
            if outcome == "failed":
                return delivered
            if outcome == "refused":  # marked all the same: one bad event must not block the rest
                log.error("alert webhook refused alert %s (%s %s)", row.id, row.indicator, kind)
            column = a.fired_sent_at if kind == "fired" else a.cleared_sent_at
            with engine.begin() as conn:
                conn.execute(update(alerts).where(a.id == row.id).values({column: dt.datetime.now(dt.UTC)}))
            delivered += 1
    return delivered


def _post(http: requests.Session, settings: MonitoringConfig, body: dict, sleep) -> str:
    """delivered (2xx), refused (a 4xx other than 408 and 429) or failed (no answer, 5xx, …)."""
    for attempt in range(settings.webhook_attempts):
        if attempt:
            sleep(0.5 * 2 ** (attempt - 1))
        try:
            answer = http.post(settings.webhook_url, json=body, timeout=settings.webhook_timeout_seconds)
        except requests.RequestException as exc:
            log.warning("alert webhook: %s (attempt %s)", exc.__class__.__name__, attempt + 1)
            continue
        if 200 <= answer.status_code < 300:
            return "delivered"
        log.warning("alert webhook answered %s (attempt %s)", answer.status_code, attempt + 1)
        if 400 <= answer.status_code < 500 and answer.status_code not in (408, 429):
            return "refused"
    return "failed"
