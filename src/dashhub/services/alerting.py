"""The monitoring's alerts, evaluated minute by minute from the rollups and stored.

Each indicator is computed at the end of every minute over the last `alert_window_minutes`
(accuracy from feedback labels, mean latency, error rate; CPU and memory of the hosts); the rules
of domain.alerts turn those points into fired and cleared alerts without flapping. Drift is judged
once per evaluation, on the latest predictions. The rule states are stored, so that an evaluation
resumes where the previous one stopped, whichever host ran it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Connection, Engine, delete, insert, select, text, update

from dashhub.config import MonitoringConfig
from dashhub.db import alert_states, alerts, prediction_rollups, resource_samples
from dashhub.domain.alerts import AlertState, Event, Rule, hysteresis_rule, replay
from dashhub.domain.monitoring import floor_to
from dashhub.services.rollups import set_mark, utc

ALERT_LOCK = 0x616C7274  # "alrt": the advisory lock of the evaluation on PostgreSQL
MINUTE = dt.timedelta(minutes=1)
LOOKBACK = dt.timedelta(days=1)  # a rule never evaluated (or long stopped) starts this far back
HOSTS = ""  # the model name of the hosts' own indicators (CPU, memory)
GB = 1024**3


def rules(settings: MonitoringConfig) -> dict[str, Rule]:
    t, margin = settings.thresholds, settings.alert_hysteresis
    hold = dt.timedelta(minutes=settings.alert_hold_minutes)
    return {
        "accuracy": hysteresis_rule("accuracy", t.accuracy, "below", hold, margin),
        "latency": hysteresis_rule("latency", t.latency_ms, "above", hold, margin),
        "error_rate": hysteresis_rule("error_rate", t.error_rate, "above", hold, margin),
        "drift": hysteresis_rule("drift", settings.drift.dataset_share, "above", hold, margin),
        "cpu": hysteresis_rule("cpu", t.cpu_percent, "above", hold, margin),
        "memory": hysteresis_rule("memory", t.memory_gb, "above", hold, margin),
    }


MODEL_INDICATORS = ("accuracy", "latency", "error_rate")
FAILED = ("rejected", "error")
HOST_INDICATORS = ("cpu", "memory")


def evaluate(
    engine: Engine,
    settings: MonitoringConfig,
    models: Iterable[str],
    drift_share=None,
    now: dt.datetime | None = None,
    lookback: dt.timedelta = LOOKBACK,
) -> list[Event]:
    """Advance every rule to the last whole minute before now; the events it produced.

    drift_share(name) gives a model's share of drifted features now (None: not enough data)."""
    now = now or dt.datetime.now(dt.UTC)
    until = floor_to(now, MINUTE)
    window = dt.timedelta(minutes=settings.alert_window_minutes)
    all_rules = rules(settings)
    events: list[Event] = []
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ALERT_LOCK})
        states = _load_states(conn)
        for name in models:
            for indicator in MODEL_INDICATORS:
                start = _resume(states, name, indicator, until, lookback)
                series = _model_series(conn, name, indicator, start, until, settings)
                events += _advance(conn, states, name, all_rules[indicator], series, until)
            if drift_share is not None:
                share = drift_share(name)
                events += _advance(conn, states, name, all_rules["drift"], [(until, share)], until)
        for indicator in HOST_INDICATORS:
            start = _resume(states, HOSTS, indicator, until, lookback)
            series = _host_series(conn, indicator, start, until, window)
            events += _advance(conn, states, HOSTS, all_rules[indicator], series, until)
        set_mark(conn, "alerts", dt.datetime.now(dt.UTC))  # the page's cached views are stale now
    return events


def _load_states(conn: Connection) -> dict[tuple[str, str], tuple[AlertState, dt.datetime]]:
    return {
        (row.model_name, row.indicator): (
            AlertState(
                row.state,
                utc(row.since) if row.since else None,
                utc(row.recovering_since) if row.recovering_since else None,
                row.value,
            ),
            utc(row.evaluated_until),
        )
        for row in conn.execute(select(alert_states))
    }


def _resume(states, name: str, indicator: str, until: dt.datetime, lookback: dt.timedelta) -> dt.datetime:
    """The first minute end still to evaluate (never more than lookback ago)."""
    known = states.get((name, indicator))
    start = known[1] + MINUTE if known else until - lookback
    return max(start, until - lookback)


def _advance(conn, states, name: str, rule: Rule, series, until: dt.datetime) -> list[Event]:
    state = states.get((name, rule.indicator), (AlertState(), None))[0]
    state, events = replay(rule, state, series)
    for event in events:
        if event.kind == "fired":
            conn.execute(
                insert(alerts).values(
                    model_name=name,
                    indicator=rule.indicator,
                    fired_at=event.at,
                    value=event.value,
                    threshold=event.threshold,
                )
            )
        else:
            a = alerts.c
            conn.execute(
                update(alerts)
                .where(a.model_name == name, a.indicator == rule.indicator, a.cleared_at.is_(None))
                .values(cleared_at=event.at, cleared_value=event.value)
            )
    s = alert_states.c
    conn.execute(delete(alert_states).where(s.model_name == name, s.indicator == rule.indicator))
    conn.execute(
        insert(alert_states).values(
            model_name=name,
            indicator=rule.indicator,
            state=state.state,
            since=state.since,
            recovering_since=state.recovering_since,
            value=state.value,
            evaluated_until=until,
        )
    )
    states[(name, rule.indicator)] = (state, until)
    return events


def _minute_ends(start: dt.datetime, until: dt.datetime) -> pd.DatetimeIndex:
    return pd.date_range(start, until, freq="min", tz="UTC") if start <= until else pd.DatetimeIndex([])


def _model_series(conn, name: str, indicator: str, start, until, settings: MonitoringConfig):
    """(minute end, indicator over the window before it) for every minute end in [start, until]."""
    ends = _minute_ends(start, until)
    if ends.empty:
        return []
    minutes = settings.accuracy_window_minutes if indicator == "accuracy" else settings.alert_window_minutes
    window = dt.timedelta(minutes=minutes)
    r = prediction_rollups.c
    rows = conn.execute(
        select(r.period, r.status, r.count, r.latency_sum, r.labelled, r.correct).where(
            r.granularity == "minute", r.model_name == name, r.period >= start - window, r.period < until
        )
    ).all()
    frame = pd.DataFrame(
        list(map(tuple, rows)), columns=["period", "status", "count", "latency_sum", "labelled", "correct"]
    )
    index = pd.date_range(start - window, until - MINUTE, freq="min", tz="UTC")
    frame["period"] = pd.to_datetime(frame["period"], utc=True)
    ok = frame[frame["status"] == "ok"].groupby("period")
    per_minute = (
        pd.DataFrame(
            {
                "all": frame.groupby("period")["count"].sum(),
                "failed": frame[frame["status"].isin(FAILED)].groupby("period")["count"].sum(),
                "ok": ok["count"].sum(),
                "latency": ok["latency_sum"].sum(),
                "labelled": ok["labelled"].sum(),
                "correct": ok["correct"].sum(),
            }
        )
        .reindex(index, fill_value=0)
        .fillna(0)
    )
    # the window before each minute end: the sums of the minutes [end - window, end)
    rolling = per_minute.rolling(int(window / MINUTE), min_periods=1).sum().reindex(ends - MINUTE)
    if indicator == "latency":
        values = (rolling["latency"] / rolling["ok"]).where(rolling["ok"] >= settings.min_calls)
    elif indicator == "error_rate":
        values = (rolling["failed"] / rolling["all"]).where(rolling["all"] >= settings.min_calls)
    else:
        values = (rolling["correct"] / rolling["labelled"]).where(
            rolling["labelled"] >= settings.min_labelled
        )
    return [
        (end, None if pd.isna(value) else float(value))
        for end, value in zip(ends.to_pydatetime(), values.to_numpy(), strict=True)
    ]


def _host_series(conn, indicator: str, start, until, window):
    """The worst host's mean over the window: CPU (%) or the server's memory (GB)."""
    ends = _minute_ends(start, until)
    if ends.empty:
        return []
    s = resource_samples.c
    column = s.host_cpu if indicator == "cpu" else s.process_memory
    rows = conn.execute(select(s.at, s.host, column).where(s.at >= start - window, s.at < until)).all()
    if not rows:
        return [(end.to_pydatetime(), None) for end in ends]
    frame = pd.DataFrame(list(map(tuple, rows)), columns=["at", "host", "value"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    if indicator == "memory":
        frame["value"] = frame["value"] / GB
    points = []
    for end in ends:
        inside = frame[(frame["at"] >= end - window) & (frame["at"] < end)]
        value = None if inside.empty else float(inside.groupby("host")["value"].mean().max())
        points.append((end.to_pydatetime(), value))
    return points
