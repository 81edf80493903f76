"""The monitoring's arithmetic as pure functions: latency histograms and their percentiles, the
periods and their granularity, and the indicators computed from rollup rows."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from dashhub.domain.query import encode_search

# Latencies are counted in buckets 2 % wide on a log scale from 0.01 ms: a percentile read from the
# histogram is the upper edge of the bucket holding its rank, within 2 % of the exact value.
LATENCY_RATIO = 1.02
LATENCY_FLOOR_MS = 0.01
_LOG_RATIO = math.log(LATENCY_RATIO)

Granularity = Literal["minute", "hour", "day"]
PERIODS: dict[str, dt.timedelta] = {
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
}
FAILED_STATUSES = ("rejected", "error")


def latency_bucket(ms: float) -> int:
    """The histogram bucket of a latency: bucket b holds (FLOOR·r^(b-1), FLOOR·r^b]."""
    if ms <= LATENCY_FLOOR_MS:
        return 0
    return max(0, math.ceil(math.log(ms / LATENCY_FLOOR_MS) / _LOG_RATIO - 1e-9))


def latency_buckets(latencies) -> list[int]:
    """latency_bucket of each latency (a sequence of floats)."""
    return [latency_bucket(float(ms)) for ms in latencies]


def bucket_upper(bucket: int) -> float:
    return LATENCY_FLOOR_MS * LATENCY_RATIO**bucket


def bucket_lower(bucket: int) -> float:
    return 0.0 if bucket == 0 else bucket_upper(bucket - 1)


def histogram(latencies: Iterable[float]) -> Counter[int]:
    return Counter(latency_bucket(ms) for ms in latencies)


def merge(histograms: Iterable[Mapping[int, int]]) -> Counter[int]:
    total: Counter[int] = Counter()
    for one in histograms:
        total.update(one)
    return total


def percentile(hist: Mapping[int, int], q: float) -> float | None:
    """The q-th percentile (0–100) of the latencies counted in hist ({bucket: count}, the bucket
    an int or its text), as the upper edge of the bucket holding rank ceil(q/100 · n)
    (nearest-rank definition); None when hist is empty."""
    n = sum(hist.values())
    if n == 0:
        return None
    rank = max(1, math.ceil(q / 100 * n))
    seen = 0
    for bucket in sorted(hist, key=int):  # stored histograms have their buckets as text
        seen += hist[bucket]
        if seen >= rank:
            return bucket_upper(int(bucket))
    return bucket_upper(max(int(b) for b in hist))


def floor_to(moment: dt.datetime, step: dt.timedelta) -> dt.datetime:
    """moment rounded down to a multiple of step since the epoch (UTC)."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return epoch + ((moment - epoch) // step) * step


@dataclass(frozen=True)
class Window:
    """A period the page shows: [start, end), its rollup level and the width of a chart point."""

    start: dt.datetime
    end: dt.datetime
    granularity: Granularity
    step: dt.timedelta
    until: dt.datetime | None = None  # the end asked for (end is rounded up to whole periods)

    @property
    def days(self) -> float:
        """The length of the window in days, up to the end asked for."""
        return (min(self.end, self.until or self.end) - self.start) / dt.timedelta(days=1)


def window_for(start: dt.datetime, end: dt.datetime) -> Window:
    """A window over [start, end) with about 24 to 200 points: 10 minutes up to a day and a half,
    hours up to ten days, days beyond. Its edges are whole minutes (the finest rollup)."""
    span = end - start
    if span <= dt.timedelta(hours=36):
        granularity, step = "minute", dt.timedelta(minutes=10)
    elif span <= dt.timedelta(days=10):
        granularity, step = "hour", dt.timedelta(hours=1)
    else:
        granularity, step = "day", dt.timedelta(days=1)
    asked = end
    start, end = floor_to(start, step), ceil_to(end, step)  # whole rollup periods
    if granularity == "minute":  # ten-minute points, but the window's edges are whole minutes
        minute = dt.timedelta(minutes=1)
        start, end = floor_to(asked - span, minute), ceil_to(asked, minute)
    return Window(start, end, granularity, step, asked)


def ceil_to(moment: dt.datetime, step: dt.timedelta) -> dt.datetime:
    floored = floor_to(moment, step)
    return floored if floored == moment else floored + step


def last(period: str, now: dt.datetime) -> Window:
    """The window of a named period (24h, 7d, 30d) ending now (the current minute included)."""
    return window_for(now - PERIODS[period], now)


@dataclass(frozen=True)
class Totals:
    """What a set of rollup rows adds up to."""

    count: int = 0
    answered: int = 0
    failed: int = 0
    latency_sum: float = 0.0  # answered predictions
    latency_max: float = 0.0
    labelled: int = 0
    correct: int = 0
    hist: Mapping[int, int] | None = None

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.labelled if self.labelled else None

    @property
    def latency_mean(self) -> float | None:
        return self.latency_sum / self.answered if self.answered else None

    @property
    def error_rate(self) -> float | None:
        return self.failed / self.count if self.count else None

    def latency_percentile(self, q: float) -> float | None:
        return percentile(self.hist or {}, q)


@dataclass(frozen=True)
class RollupRow:
    period: dt.datetime
    status: str
    count: int
    latency_sum: float
    latency_max: float
    labelled: int
    correct: int
    hist: Mapping[int, int]


def totals(rows: Iterable[RollupRow]) -> Totals:
    """Add rollup rows up: latency and accuracy from answered predictions, failures from the rest."""
    count = answered = failed = labelled = correct = 0
    latency_sum, latency_max = 0.0, 0.0
    hist: Counter[int] = Counter()
    for row in rows:
        count += row.count
        if row.status == "ok":
            answered += row.count
            latency_sum += row.latency_sum
            latency_max = max(latency_max, row.latency_max)
            labelled += row.labelled
            correct += row.correct
            hist.update(row.hist)
        elif row.status in FAILED_STATUSES:
            failed += row.count
    return Totals(count, answered, failed, latency_sum, latency_max, labelled, correct, hist)


def by_step(rows: Iterable[RollupRow], window: Window) -> list[tuple[dt.datetime, Totals]]:
    """Totals per chart point of window (every point, empty ones included)."""
    groups: dict[dt.datetime, list[RollupRow]] = {}
    for row in rows:
        groups.setdefault(floor_to(row.period, window.step), []).append(row)
    points = []
    moment = floor_to(window.start, window.step)
    while moment < window.end:
        points.append((moment, totals(groups.get(moment, ()))))
        moment += window.step
    return points


def combine(parts: Iterable[Totals]) -> Totals:
    """The totals of several sets of rows together."""
    parts = list(parts)
    return Totals(
        count=sum(p.count for p in parts),
        answered=sum(p.answered for p in parts),
        failed=sum(p.failed for p in parts),
        latency_sum=sum(p.latency_sum for p in parts),
        latency_max=max((p.latency_max for p in parts), default=0.0),
        labelled=sum(p.labelled for p in parts),
        correct=sum(p.correct for p in parts),
        hist=merge(p.hist or {} for p in parts),
    )


def coarser(points: list[tuple[dt.datetime, Totals]], step: dt.timedelta) -> list[tuple[dt.datetime, Totals]]:
    """Chart points regrouped into points of step (a multiple of theirs): rates over a handful of
    calls or labels per point would be noise."""
    groups: dict[dt.datetime, list[Totals]] = {}
    for moment, total in points:
        groups.setdefault(floor_to(moment, step), []).append(total)
    return [(moment, combine(parts)) for moment, parts in groups.items()]


def mean_and_std(n: float, total: float, sumsq: float) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (ddof 1) from a count, a sum and a sum of squares."""
    if n <= 0:
        return None, None
    mean = total / n
    if n < 2:
        return mean, None
    variance = max(0.0, (sumsq - n * mean * mean) / (n - 1))
    return mean, math.sqrt(variance)


@dataclass(frozen=True)
class FeatureTrend:
    feature: str
    reference_mean: float
    reference_std: float
    points: list[tuple[dt.datetime, int, float | None, float | None]]  # (period, n, mean, std)


@dataclass(frozen=True)
class ResourcePoint:
    at: dt.datetime
    process_memory_gb: float
    process_cpu: float
    host_cpu: float
    host_memory_gb: float


@dataclass(frozen=True)
class AlertRecord:
    indicator: str
    fired_at: dt.datetime
    value: float
    threshold: float
    cleared_at: dt.datetime | None
    cleared_value: float | None


CUSTOM = "custom"
MAX_CUSTOM_DAYS = 400


@dataclass(frozen=True)
class MonitoringView:
    """What the monitoring page shows: which version (its key "name:version"), which period
    (24h, 7d, 30d or custom dates, end included) and which features' drift."""

    model: str
    period: str
    start: dt.date | None = None
    end: dt.date | None = None
    features: tuple[str, ...] = ()

    def window(self, now: dt.datetime) -> Window:
        if self.period == CUSTOM and self.start and self.end:
            start = dt.datetime.combine(self.start, dt.time(), dt.UTC)
            end = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), dt.UTC)
            return window_for(start, min(end, now) if start < now else end)
        return last(self.period if self.period in PERIODS else "24h", now)


def model_key(name: str, version: int) -> str:
    return f"{name}:{version}"


def view_from_query(
    params: dict[str, list[str]], models: list[str], default_model: str, default_period: str
) -> MonitoringView:
    """The view a URL asks for; what it cannot ask for (an unknown model, a bad date) falls back
    to the default."""

    def first(key: str) -> str | None:
        values = params.get(key) or []
        return values[0] if values else None

    model = first("model")
    model = model if model in models else default_model
    period = first("period")
    start = _date(first("start"))
    end = _date(first("end"))
    if period == CUSTOM and start and end:
        start, end = min(start, end), max(start, end)
        if (end - start).days > MAX_CUSTOM_DAYS:
            start = end - dt.timedelta(days=MAX_CUSTOM_DAYS)
        return MonitoringView(model, CUSTOM, start, end, tuple(params.get("feature", [])[:12]))
    period = period if period in PERIODS else default_period
    return MonitoringView(model, period, features=tuple(params.get("feature", [])[:12]))


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None


def query_for(view: MonitoringView) -> str:
    params: dict[str, list[str] | str | None] = {"model": view.model, "period": view.period}
    if view.period == CUSTOM and view.start and view.end:
        params["start"], params["end"] = view.start.isoformat(), view.end.isoformat()
    params["feature"] = list(view.features)
    return encode_search(params)
