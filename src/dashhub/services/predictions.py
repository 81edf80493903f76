"""Serving the active model versions: predictions, their log, feedback, and the model catalogue.

Each process keeps the versions it serves in memory and swaps in a newly activated one as soon as
the registry's version number moves (read once per request): no restart, and a request always
uses one whole model. Every answered instance is logged in the same request, before the answer
leaves, in one transaction: an answered prediction is never missing from the log.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, insert, select, update

from dashhub.db import feedback, insert_or_ignore, predictions
from dashhub.domain.ml import ModelVersion
from dashhub.domain.predictions import FeedbackItem, Problem, check_instances
from dashhub.services.models import LoadedModel, ModelRegistry

MAX_ERROR_TEXT = 2000


class ModelNotServed(LookupError):
    """No version of the asked model is served (unknown name, or none active)."""


class InvalidRequest(ValueError):
    """What the caller sent does not fit the served version's schema."""

    def __init__(self, problems: list[Problem], model: ModelVersion | None = None) -> None:
        super().__init__(problems[0].message if problems else "invalid request")
        self.problems = problems
        self.model = model


@dataclass(frozen=True)
class Prediction:
    id: str
    label: str
    probabilities: dict[str, float]


@dataclass(frozen=True)
class Answer:
    model: ModelVersion
    predictions: list[Prediction]
    latency_ms: float


@dataclass(frozen=True)
class FeedbackReport:
    accepted: int
    duplicates: int
    updated: int
    unknown: list[str]
    invalid: list[dict]


def predictions_of(model: ModelVersion, indices, probabilities) -> list[Prediction]:
    """The answers for a model's class indices and probabilities, each with a new id."""
    return [
        Prediction(
            uuid.uuid4().hex,
            model.classes[int(index)],
            {cls: round(float(p), 6) for cls, p in zip(model.classes, probs, strict=True)},
        )
        for index, probs in zip(indices, probabilities, strict=True)
    ]


def log_row(
    model: ModelVersion,
    features: list[str],
    row: list[float],
    prediction: Prediction,
    at: dt.datetime,
    latency_ms: float,
    token_id: int | None,
) -> dict:
    """The prediction log's row of one answered instance."""
    return {
        "id": prediction.id,
        "at": at,
        "model_name": model.name,
        "model_version": model.version,
        "features": json.dumps(dict(zip(features, row, strict=True))),
        "label": prediction.label,
        "probabilities": json.dumps(prediction.probabilities),
        "latency_ms": latency_ms,
        "status": "ok",
        "error": None,
        "token_id": token_id,
    }


class ServedModels:
    """The loaded model of each name's active version, in this process."""

    def __init__(self, registry: ModelRegistry) -> None:
        self._registry = registry
        self._entries: dict[str, tuple[int, ModelVersion, LoadedModel]] = {}
        self._lock = threading.Lock()
        self._loading = threading.Lock()

    def get(self, name: str) -> tuple[ModelVersion, LoadedModel]:
        stamp = self._registry.version()
        entry = self._entries.get(name)
        if entry is not None and entry[0] == stamp:
            return entry[1], entry[2]
        with self._loading:  # one load at a time: concurrent requests wait for it, not redo it
            entry = self._entries.get(name)
            if entry is not None and entry[0] == stamp:
                return entry[1], entry[2]
            active = self._registry.active(name)
            if active is None:
                with self._lock:
                    self._entries.pop(name, None)
                raise ModelNotServed(name)
            loaded = (
                entry[2] if entry is not None and entry[1].id == active.id else self._registry.load(active)
            )
            with self._lock:
                self._entries[name] = (stamp, active, loaded)
            return active, loaded


class PredictionService:
    def __init__(
        self, engine: Engine, registry: ModelRegistry, default_model: str, max_instances: int
    ) -> None:
        self._engine = engine
        self._registry = registry
        self._default = default_model
        self.max_instances = max_instances
        self.served = ServedModels(registry)
        self._classes: dict[tuple[str, int], list[str]] = {}

    def default_name(self) -> str:
        """The model /predict serves: the configured one, or the only name with a served version."""
        if self._default:
            return self._default
        names = sorted({m.name for m in self._registry.versions() if m.active})
        if len(names) != 1:
            raise ModelNotServed("" if not names else "several")
        return names[0]

    def predict(self, name: str, instances, token_id: int | None) -> Answer:
        """Check, predict and log; the answer exists only once every row is stored."""
        started = time.perf_counter()
        model, loaded = self.served.get(name)
        features = [f["name"] for f in model.features]
        rows, problems = check_instances(instances, features, self.max_instances)
        if problems:
            raise InvalidRequest(problems, model)
        X = np.asarray(rows, dtype=np.float64)
        indices, probabilities = loaded.predict(X)
        latency_ms = (time.perf_counter() - started) * 1000
        now = dt.datetime.now(dt.UTC)
        made = predictions_of(model, indices, probabilities)
        log = [
            log_row(model, features, row, p, now, latency_ms, token_id)
            for p, row in zip(made, rows, strict=True)
        ]
        with self._engine.begin() as conn:
            conn.execute(insert(predictions), log)
        return Answer(model, made, latency_ms)

    def log_refusal(
        self,
        name: str,
        version: int | None,
        status: str,
        error: str,
        latency_ms: float,
        token_id: int | None,
    ) -> None:
        """A request the API did not answer with predictions (status rejected or error)."""
        with self._engine.begin() as conn:
            conn.execute(
                insert(predictions).values(
                    id=uuid.uuid4().hex,
                    at=dt.datetime.now(dt.UTC),
                    model_name=name[:64],
                    model_version=version,
                    latency_ms=latency_ms,
                    status=status,
                    error=error[:MAX_ERROR_TEXT],
                    token_id=token_id,
                )
            )

    def record_feedback(self, items: list[FeedbackItem]) -> FeedbackReport:
        """Store the true labels of earlier predictions: unknown ids and labels that are not one
        of the model's classes are reported; the same label sent again changes nothing."""
        ids = list(dict.fromkeys(item.id for item in items))
        with self._engine.connect() as conn:
            known = {
                row.id: row
                for row in conn.execute(
                    select(
                        predictions.c.id,
                        predictions.c.model_name,
                        predictions.c.model_version,
                        predictions.c.label,
                    ).where(predictions.c.id.in_(ids), predictions.c.status == "ok")
                )
            }
            given = {
                row.prediction_id: row.label
                for row in conn.execute(
                    select(feedback.c.prediction_id, feedback.c.label).where(
                        feedback.c.prediction_id.in_(ids)
                    )
                )
            }
        unknown, invalid, new, changed, duplicates = [], [], {}, {}, 0
        for index, item in enumerate(items):
            row = known.get(item.id)
            if row is None:
                unknown.append(item.id)
                continue
            if item.label not in self._classes_of(row.model_name, row.model_version):
                invalid.append(
                    {"instance": index, "id": item.id, "message": "label is not one of the model's classes"}
                )
                continue
            if given.get(item.id) == item.label or new.get(item.id) == item.label:
                duplicates += 1
                continue
            target = changed if item.id in given else new
            target[item.id] = item.label
        now = dt.datetime.now(dt.UTC)
        with self._engine.begin() as conn:
            if new:  # a concurrent call may have stored the same label first: then nothing happens
                conn.execute(
                    insert_or_ignore(conn, feedback),
                    [
                        {
                            "prediction_id": pid,
                            "label": label,
                            "correct": label == known[pid].label,
                            "at": now,
                        }
                        for pid, label in new.items()
                    ],
                )
            for pid, label in changed.items():
                conn.execute(
                    update(feedback)
                    .where(feedback.c.prediction_id == pid)
                    .values(label=label, correct=label == known[pid].label, at=now)
                )
        return FeedbackReport(len(new), duplicates, len(changed), unknown, invalid)

    def _classes_of(self, name: str, version: int) -> list[str]:
        key = (name, version)
        if key not in self._classes:
            model = self._registry.get(name, version)
            self._classes[key] = model.classes if model else []
        return self._classes[key]
