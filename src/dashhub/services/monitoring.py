"""What the monitoring page shows about a served model, read from the rollups (never the whole raw
log): indicators over a window, their trends, feature drift against the reference sample saved at
deploy time, the serving processes' resources, and the alerts.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import numpy as np
import orjson
from sqlalchemy import Engine, and_, func, select

from dashhub.config import MonitoringConfig
from dashhub.db import (
    alert_states,
    alerts,
    feature_rollups,
    monitoring_marks,
    prediction_rollups,
    predictions,
    resource_samples,
)
from dashhub.domain.alerts import AlertState
from dashhub.domain.ml import ModelVersion
from dashhub.domain.monitoring import (
    AlertRecord,
    FeatureTrend,
    ResourcePoint,
    RollupRow,
    Totals,
    Window,
    by_step,
    floor_to,
    mean_and_std,
    totals,
)
from dashhub.services.cache import QueryCache
from dashhub.services.drift import (
    CategoricalDrift,
    DriftReport,
    DriftSettings,
    categorical_drift,
    numeric_drift,
)
from dashhub.services.models import ModelRegistry
from dashhub.services.rollups import refresh, utc

GB = 1024**3
HOUR = dt.timedelta(hours=1)
FORCED_GAP_SECONDS = 2.0  # the shortest time between two refreshes asked by the page


@dataclass(frozen=True)
class Overview:
    model: ModelVersion
    window: Window
    refreshed_at: dt.datetime | None
    totals: Totals
    points: list[tuple[dt.datetime, Totals]]
    features: list[FeatureTrend]
    drift: DriftReport
    label_drift: CategoricalDrift | None
    resources: dict[str, list[ResourcePoint]]  # per host
    alerts: list[AlertRecord]
    states: dict[str, AlertState] = field(default_factory=dict)

    @property
    def per_day(self) -> float:
        return self.totals.count / self.window.days if self.window.days else 0.0


class MonitoringService:
    def __init__(
        self,
        engine: Engine,
        registry: ModelRegistry,
        settings: MonitoringConfig,
        cache: QueryCache | None = None,
    ) -> None:
        self._engine = engine
        self._registry = registry
        self.settings = settings
        self._cache = cache
        self._reference_labels: dict[int, dict[str, int]] = {}

    def watched(self) -> list[ModelVersion]:
        """The versions the page can watch: every registered one, active first within a name."""
        return sorted(self._registry.versions(), key=lambda m: (m.name, not m.active, -m.version))

    def refreshed_at(self) -> dt.datetime | None:
        """When the rollups or the alerts last changed (what the page's cached views are keyed by)."""
        marks = monitoring_marks.c
        with self._engine.connect() as conn:
            at = conn.scalar(select(func.max(marks.at)).where(marks.name.in_(("feedback", "alerts"))))
        return None if at is None else utc(at)

    def ensure_fresh(self, now: dt.datetime | None = None, force: bool = False) -> dt.datetime:
        """Refresh the rollups when they are older than the scheduler's period (or when asked):
        the page is right even where no scheduler runs (the development server)."""
        now = now or dt.datetime.now(dt.UTC)
        last = self.refreshed_at()
        age = None if last is None else (now - last).total_seconds()
        # a click refreshes at once, but clicks (or forged requests) in a burst refresh once
        if age is None or age > self.settings.refresh_every_seconds or (force and age > FORCED_GAP_SECONDS):
            refresh(self._engine, now)
            return now
        return last

    def overview(self, model: ModelVersion, window: Window, refreshed: dt.datetime | None = None) -> Overview:
        """Everything the page shows for model over window (cached until the next refresh;
        refreshed: when the rollups were last refreshed, if the caller knows)."""
        refreshed = refreshed or self.refreshed_at()
        if self._cache is None:
            return self._overview(model, window, refreshed)
        key = QueryCache.key(
            "monitoring",
            0,
            "overview",
            (model.id, window.start.isoformat(), window.end.isoformat(), str(refreshed)),
        )
        return self._cache.get_or_compute(key, lambda: self._overview(model, window, refreshed))

    def _overview(self, model: ModelVersion, window: Window, refreshed: dt.datetime | None) -> Overview:
        rows = self.rollup_rows(model, window)
        return Overview(
            model=model,
            window=window,
            refreshed_at=refreshed,
            totals=totals(rows),
            points=by_step(rows, window),
            features=self.feature_trends(model, window),
            drift=self.drift(model, window),
            label_drift=self.label_drift(model, window),
            resources=self.resources(window),
            alerts=self.alerts(model.name, window),
            states=self.states(model.name),
        )

    def rollup_rows(self, model: ModelVersion, window: Window) -> list[RollupRow]:
        r = prediction_rollups.c
        query = select(prediction_rollups).where(
            r.granularity == window.granularity,
            r.model_name == model.name,
            r.model_version == model.version,
            r.period >= window.start,
            r.period < window.end,
        )
        with self._engine.connect() as conn:
            return [
                RollupRow(
                    utc(row.period),
                    row.status,
                    row.count,
                    row.latency_sum,
                    row.latency_max,
                    row.labelled,
                    row.correct,
                    orjson.loads(row.latency_hist or "{}"),
                )
                for row in conn.execute(query)
            ]

    def feature_trends(self, model: ModelVersion, window: Window) -> list[FeatureTrend]:
        """Per feature and chart point, the mean and standard deviation the model received (points
        of an hour at least: the features are counted per hour)."""
        if window.granularity == "minute":
            window = Window(floor_to(window.start, HOUR), window.end, "hour", HOUR)
        f = feature_rollups.c
        query = select(f.period, f.feature, f.n, f.sum, f.sumsq).where(
            f.granularity == window.granularity,
            f.model_name == model.name,
            f.model_version == model.version,
            f.period >= window.start,
            f.period < window.end,
        )
        sums: dict[tuple[str, dt.datetime], list[float]] = {}
        with self._engine.connect() as conn:
            for row in conn.execute(query):
                point = floor_to(utc(row.period), window.step)
                acc = sums.setdefault((row.feature, point), [0.0, 0.0, 0.0])
                acc[0] += row.n
                acc[1] += row.sum
                acc[2] += row.sumsq
        reference = self.reference_columns(model)
        steps = [moment for moment, _ in by_step([], window)]
        trends = []
        for feature, values in reference.items():
            points = []
            for moment in steps:
                n, total, squares = sums.get((feature, moment), (0.0, 0.0, 0.0))
                points.append((moment, int(n), *mean_and_std(n, total, squares)))
            trends.append(
                FeatureTrend(feature, float(np.mean(values)), float(np.std(values, ddof=1)), points)
            )
        return trends

    def reference_columns(self, model: ModelVersion) -> dict[str, np.ndarray]:
        reference = self._registry.reference(model)
        matrix = np.asarray(reference.rows, dtype=float)
        return {name: matrix[:, i] for i, name in enumerate(reference.features)}

    def _sample(self, model: ModelVersion, start: dt.datetime, end: dt.datetime) -> list[tuple[str, str]]:
        """(features JSON, label) of the window's latest answered predictions (sample_size)."""
        p = predictions.c
        query = (
            select(p.features, p.label)
            .where(
                p.model_name == model.name,
                p.at >= start,
                p.at < end,
                p.model_version == model.version,
                p.status == "ok",
            )
            .order_by(p.at.desc())
            .limit(self.settings.drift.sample_size)
        )
        with self._engine.connect() as conn:
            return [(row.features, row.label) for row in conn.execute(query)]

    def drift(self, model: ModelVersion, window: Window, sample=None) -> DriftReport:
        sample = self._sample(model, window.start, window.end) if sample is None else sample
        features = self.reference_columns(model)
        current = {name: [] for name in features}
        for text, _label in sample:
            values = json.loads(text or "{}")
            for name in features:
                if isinstance(values.get(name), int | float):
                    current[name].append(float(values[name]))
        settings = self.settings.drift
        return numeric_drift(
            features,
            {name: np.asarray(v, dtype=float) for name, v in current.items()},
            DriftSettings(
                alpha=settings.alpha, min_samples=settings.min_samples, dataset_share=settings.dataset_share
            ),
        )

    def label_drift(self, model: ModelVersion, window: Window) -> CategoricalDrift | None:
        """The predicted labels' distribution against the model's own on the reference sample."""
        sample = self._sample(model, window.start, window.end)
        if len(sample) < self.settings.drift.min_samples:
            return None
        current: dict[str, int] = {}
        for _features, label in sample:
            current[label] = current.get(label, 0) + 1
        return categorical_drift(self.reference_labels(model), current, self.settings.drift.alpha)

    def reference_labels(self, model: ModelVersion) -> dict[str, int]:
        if model.id not in self._reference_labels:
            loaded = self._registry.load(model)
            rows = np.asarray(self._registry.reference(model).rows, dtype=float)
            indices, _ = loaded.predict(rows)
            counts: dict[str, int] = {}
            for index in indices:
                label = model.classes[int(index)]
                counts[label] = counts.get(label, 0) + 1
            self._reference_labels[model.id] = counts
        return self._reference_labels[model.id]

    def resources(self, window: Window) -> dict[str, list[ResourcePoint]]:
        """Per host and chart point, the mean of the samples (memory in GB, CPU in %)."""
        s = resource_samples.c
        query = select(s.at, s.host, s.process_memory, s.process_cpu, s.host_cpu, s.host_memory).where(
            s.at >= window.start, s.at < window.end
        )
        groups: dict[tuple[str, dt.datetime], list] = {}
        with self._engine.connect() as conn:
            for row in conn.execute(query):
                groups.setdefault((row.host, floor_to(utc(row.at), window.step)), []).append(row)
        hosts: dict[str, list[ResourcePoint]] = {}
        for (host, moment), rows in sorted(groups.items()):
            hosts.setdefault(host, []).append(
                ResourcePoint(
                    moment,
                    float(np.mean([r.process_memory for r in rows])) / GB,
                    float(np.mean([r.process_cpu for r in rows])),
                    float(np.mean([r.host_cpu for r in rows])),
                    float(np.mean([r.host_memory for r in rows])) / GB,
                )
            )
        return hosts

    def alerts(self, name: str, window: Window) -> list[AlertRecord]:
        """The alerts of the model (and of the hosts) that were firing at some time in window."""
        a = alerts.c
        query = (
            select(alerts)
            .where(
                a.model_name.in_([name, ""]),
                a.fired_at < window.end,
                (a.cleared_at.is_(None)) | (a.cleared_at >= window.start),
            )
            .order_by(a.fired_at.desc())
        )
        with self._engine.connect() as conn:
            return [
                AlertRecord(
                    row.indicator,
                    utc(row.fired_at),
                    row.value,
                    row.threshold,
                    utc(row.cleared_at) if row.cleared_at else None,
                    row.cleared_value,
                )
                for row in conn.execute(query)
            ]

    def states(self, name: str) -> dict[str, AlertState]:
        s = alert_states.c
        with self._engine.connect() as conn:
            rows = conn.execute(select(alert_states).where(and_(s.model_name.in_([name, ""])))).all()
        return {
            row.indicator: AlertState(
                row.state,
                utc(row.since) if row.since else None,
                utc(row.recovering_since) if row.recovering_since else None,
                row.value,
            )
            for row in rows
        }


def drift_share_now(
    engine: Engine, registry: ModelRegistry, settings: MonitoringConfig, model: ModelVersion, window: Window
) -> float | None:
    """The share of model's features drifted over window (None: too few predictions to say)."""
    report = MonitoringService(engine, registry, settings).drift(model, window)
    return report.drifted_share if report.enough_data else None
