"""Rollups of the prediction log, kept up to date: the monitoring reads them, never the raw log.

`refresh` recounts, from the raw rows, every minute since the last refresh (one minute more, for
transactions that committed late) and the minutes whose predictions received feedback since then;
then the hours and days that hold them, from their minutes and hours. A recount replaces what was
there, so running it twice, or from two places at once, changes nothing. The host scheduler runs
it every few seconds and the monitoring page before it reads; on PostgreSQL a transaction-scoped
advisory lock lets one through at a time, SQLite serialises writers itself.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, Engine, and_, delete, func, insert, select, text

from dashhub.db import feature_rollups, feedback, monitoring_marks, prediction_rollups, predictions
from dashhub.domain.monitoring import floor_to, latency_buckets

ROLLUP_LOCK = 0x726F6C6C  # "roll": the advisory lock of the refresh on PostgreSQL
LATE_COMMIT = dt.timedelta(minutes=1)  # a transaction may commit this long after its rows' time
CHUNK = dt.timedelta(days=1)  # a long recount reads the log a day at a time
MINUTE, HOUR, DAY = dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=1)


@dataclass(frozen=True)
class RefreshReport:
    minutes: int  # minutes recounted from the log
    relabelled: int  # older minutes whose accuracy counts changed with new feedback


def utc(moment: dt.datetime) -> dt.datetime:
    """SQLite gives naive datetimes: they were stored in UTC."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def refresh(engine: Engine, now: dt.datetime | None = None) -> RefreshReport:
    """Bring the rollups up to now."""
    now = now or dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ROLLUP_LOCK})
        marks = {row.name: utc(row.at) for row in conn.execute(select(monitoring_marks))}
        start = marks.get("rollups")
        if start is None:
            first = conn.scalar(select(func.min(predictions.c.at)))
            start = floor_to(utc(first), MINUTE) if first is not None else floor_to(now, MINUTE)
        else:
            start = start - LATE_COMMIT
        end = floor_to(now, MINUTE) + MINUTE
        minutes = set()
        chunk_start = start
        while chunk_start < end:
            chunk_end = min(chunk_start + CHUNK, end)
            minutes |= _recount_minutes(conn, chunk_start, chunk_end)
            chunk_start = chunk_end
        labelled_since = marks.get("feedback", start) - LATE_COMMIT
        relabelled = _relabel(conn, labelled_since, before=start)
        _recount_coarser(conn, start, end, relabelled)
        set_mark(conn, "rollups", floor_to(now, MINUTE))
        set_mark(conn, "feedback", now)
    return RefreshReport(len(minutes), len(relabelled))


def set_mark(conn: Connection, name: str, at: dt.datetime) -> None:
    """Record how far a job has got (rollups, the last refresh, the last alert evaluation)."""
    conn.execute(delete(monitoring_marks).where(monitoring_marks.c.name == name))
    conn.execute(insert(monitoring_marks).values(name=name, at=at))


def _log_rows(conn: Connection, where) -> pd.DataFrame:
    p, f = predictions.c, feedback.c
    query = (
        select(p.at, p.model_name, p.model_version, p.status, p.latency_ms, p.features, f.correct)
        .select_from(predictions.outerjoin(feedback, f.prediction_id == p.id))
        .where(where)
    )
    frame = pd.DataFrame(list(map(tuple, conn.execute(query))), columns=list(query.selected_columns.keys()))
    if not frame.empty:
        frame["at"] = pd.to_datetime(frame["at"], utc=True).dt.floor("min")
        frame["model_version"] = frame["model_version"].fillna(0).astype(int)
    return frame


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows for an INSERT: native Python values, periods as datetimes."""
    columns = {name: frame[name].tolist() for name in frame.columns}
    columns["period"] = [moment.to_pydatetime() for moment in frame["period"]]
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _recount_minutes(conn: Connection, start: dt.datetime, end: dt.datetime) -> set[dt.datetime]:
    """Replace the minute rollups of [start, end) by a count of the log; the minutes counted."""
    r = prediction_rollups.c
    conn.execute(
        delete(prediction_rollups).where(r.granularity == "minute", r.period >= start, r.period < end)
    )
    frame = _log_rows(conn, and_(predictions.c.at >= start, predictions.c.at < end))
    if frame.empty:
        return set()
    frame["labelled"] = frame["correct"].notna()
    frame["right"] = frame["correct"].fillna(0).astype(bool)
    frame["bucket"] = latency_buckets(frame["latency_ms"].to_numpy(dtype=float))
    key = ["at", "model_name", "model_version", "status"]
    counts = (
        frame.groupby(key)
        .agg(
            count=("latency_ms", "size"),
            latency_sum=("latency_ms", "sum"),
            latency_max=("latency_ms", "max"),
            labelled=("labelled", "sum"),
            correct=("right", "sum"),
        )
        .reset_index()
    )
    hists: dict[tuple, dict[str, int]] = {}
    for (*group, bucket), size in frame.groupby([*key, "bucket"]).size().items():
        hists.setdefault(tuple(group), {})[str(bucket)] = int(size)
    counts["latency_hist"] = [
        json.dumps(hists[(row.at, row.model_name, row.model_version, row.status)])
        for row in counts.itertuples(index=False)
    ]
    counts = counts.rename(columns={"at": "period"}).assign(granularity="minute")
    conn.execute(insert(prediction_rollups), _records(counts))
    return {moment.to_pydatetime() for moment in frame["at"].unique()}


def _recount_features(conn: Connection, start: dt.datetime, end: dt.datetime) -> None:
    """Replace the hourly feature rollups of the hours of [start, end) by a count of the log."""
    f = feature_rollups.c
    conn.execute(delete(feature_rollups).where(f.granularity == "hour", f.period >= start, f.period < end))
    p = predictions.c
    query = select(p.at, p.model_name, p.model_version, p.features).where(
        p.at >= start, p.at < end, p.status == "ok", p.features.is_not(None)
    )
    frame = pd.DataFrame(
        list(map(tuple, conn.execute(query))), columns=["at", "model_name", "model_version", "features"]
    )
    if frame.empty:
        return
    values = pd.DataFrame.from_records([json.loads(text) for text in frame["features"]])
    values = values.apply(pd.to_numeric, errors="coerce")
    values.columns = [str(c)[:128] for c in values.columns]
    ids = ["period", "model_name", "model_version"]
    values["period"] = pd.to_datetime(frame["at"], utc=True).dt.floor("h")
    values["model_name"] = frame["model_name"]
    values["model_version"] = frame["model_version"].fillna(0).astype(int)
    long = values.melt(id_vars=ids, var_name="feature", value_name="value").dropna(subset=["value"])
    long["square"] = long["value"] ** 2
    stats = (
        long.groupby([*ids, "feature"])
        .agg(n=("value", "size"), sum=("value", "sum"), sumsq=("square", "sum"))
        .reset_index()
        .assign(granularity="hour")
    )
    conn.execute(insert(feature_rollups), _records(stats))


def _relabel(conn: Connection, since: dt.datetime, before: dt.datetime) -> set[dt.datetime]:
    """Recount the accuracy of the minutes before `before` whose predictions got feedback since
    `since` (the later minutes were just recounted whole); the minutes changed."""
    p, f = predictions.c, feedback.c
    touched = select(p.at).join(feedback, f.prediction_id == p.id).where(f.at >= since, p.at < before)
    minutes = sorted({floor_to(utc(at), MINUTE) for (at,) in conn.execute(touched)})
    r = prediction_rollups.c
    for first, last in _ranges(minutes, MINUTE):
        frame = _log_rows(conn, and_(p.at >= first, p.at < last, p.status == "ok"))
        frame = frame[frame["at"].isin(minutes)]
        counts = (
            frame.assign(labelled=frame["correct"].notna(), right=frame["correct"].fillna(0).astype(bool))
            .groupby(["at", "model_name", "model_version"])[["labelled", "right"]]
            .sum()
        )
        for (period, name, version), row in counts.iterrows():
            conn.execute(
                prediction_rollups.update()
                .where(
                    r.granularity == "minute",
                    r.period == period.to_pydatetime(),
                    r.model_name == name,
                    r.model_version == int(version),
                    r.status == "ok",
                )
                .values(labelled=int(row["labelled"]), correct=int(row["right"]))
            )
    return set(minutes)


def _ranges(periods: list[dt.datetime], step: dt.timedelta) -> list[tuple[dt.datetime, dt.datetime]]:
    """Sorted periods as contiguous spans [first, last + step)."""
    spans: list[tuple[dt.datetime, dt.datetime]] = []
    for period in periods:
        if spans and period <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], period + step))
        else:
            spans.append((period, period + step))
    return spans


def _recount_coarser(conn: Connection, start: dt.datetime, end: dt.datetime, relabelled: set) -> None:
    """Recount the hours and days of [start, end) (from their minutes and hours; the features'
    hours from the log), and, for the accuracy counts only, those holding a relabelled minute."""
    first_hour, first_day = floor_to(start, HOUR), floor_to(start, DAY)
    chunk = first_hour
    while chunk < end:  # the log a day at a time
        _recount_features(conn, chunk, min(chunk + CHUNK, end))
        chunk += CHUNK
    _coarsen(conn, feature_rollups, "day", "hour", "D", first_day, end)
    spans = [((first_hour, end), (first_day, end))]
    spans += [
        ((first, last), (floor_to(first, DAY), last))
        for first, last in _ranges(sorted({floor_to(m, HOUR) for m in relabelled}), HOUR)
    ]
    for (hour_first, hour_last), (day_first, day_last) in spans:
        _coarsen(conn, prediction_rollups, "hour", "minute", "h", hour_first, hour_last)
        _coarsen(conn, prediction_rollups, "day", "hour", "D", day_first, day_last)


def _coarsen(conn: Connection, table, coarse: str, fine: str, freq: str, first, last) -> None:
    """Replace table's coarse rollups of [first, last) by the sums of its fine ones."""
    c = table.c
    step = HOUR if freq == "h" else DAY
    last = floor_to(last - dt.timedelta(microseconds=1), step) + step  # whole coarse periods
    conn.execute(delete(table).where(c.granularity == coarse, c.period >= first, c.period < last))
    query = select(table).where(c.granularity == fine, c.period >= first, c.period < last)
    frame = pd.DataFrame(list(map(tuple, conn.execute(query))), columns=list(query.selected_columns.keys()))
    if frame.empty:
        return
    frame["period"] = pd.to_datetime(frame["period"], utc=True).dt.floor(freq)
    if "feature" in frame:
        key = ["period", "model_name", "model_version", "feature"]
        summed = frame.groupby(key)[["n", "sum", "sumsq"]].sum().reset_index()
    else:
        key = ["period", "model_name", "model_version", "status"]
        summed = (
            frame.groupby(key)
            .agg(
                count=("count", "sum"),
                latency_sum=("latency_sum", "sum"),
                latency_max=("latency_max", "max"),
                labelled=("labelled", "sum"),
                correct=("correct", "sum"),
            )
            .reset_index()
        )
        hists: dict[tuple, Counter] = {}
        for row in frame.itertuples(index=False):
            group = (row.period, row.model_name, row.model_version, row.status)
            hists.setdefault(group, Counter()).update(json.loads(row.latency_hist or "{}"))
        summed["latency_hist"] = [
            json.dumps(dict(hists[(r.period, r.model_name, r.model_version, r.status)]))
            for r in summed.itertuples(index=False)
        ]
    conn.execute(insert(table), _records(summed.assign(granularity=coarse)))
