"""The model registry: named models, numbered versions, one active per name, artifacts in skops.

A fitted pipeline is saved with skops (a format made for scikit-learn models that loads only the
types it is told to trust, unlike pickle), stored in the database under its SHA-256 so that every
host reads the same bytes, and checked against that hash and the allowed types before loading.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import time
import zipfile
from dataclasses import dataclass

import numpy as np
import sklearn
import skops.io as sio
from scipy.special import expit
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from dashhub.db import bump_version, model_artifacts, models, read_version
from dashhub.domain.ml import ExplorerResult, ModelVersion

# The only types a stored model may contain besides what skops trusts by default: what dashhub's
# five models produce. Anything else in an artifact refuses it.
TRUSTED_TYPES = frozenset(
    {
        "sklearn.tree._tree.Tree",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.metrics._dist_metrics.ManhattanDistance64",
        "sklearn.metrics._dist_metrics.MinkowskiDistance64",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
    }
)
MAX_ARTIFACT_BYTES = 64 * 1024 * 1024
REFERENCE_ROWS = 500
ARTIFACT_FORMAT = "skops"
REGISTER_ATTEMPTS = 10
# A version's row without its reference sample (read only by the drift monitor, through reference())
VERSION_COLUMNS = [column for column in models.c if column.name != "reference"]


class RegistryError(Exception):
    """A registry action that cannot be done (unknown version, artifact too large or altered)."""


@dataclass(frozen=True)
class LoadedModel:
    """A version's fitted pipeline, and the probability calibration of a model that gives no
    probabilities itself (SVM), fitted on its test rows."""

    model: object
    calibration: object | None = None

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        return (self.calibration or self.model).predict_proba(X)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(class index, probabilities) per row, in one pass over the model where it can: for a
        model with its own probabilities, scikit-learn's prediction is their argmax (forests,
        boosting, logistic regression, k-NN), so they are computed once; an SVM keeps its own
        labels beside its calibrated probabilities."""
        # the API checked every value (finite numbers, the schema's features): scikit-learn need not
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            if self.calibration is None:
                probabilities = self.model.predict_proba(X)
                return probabilities.argmax(axis=1), probabilities
            sigmoids = _binary_sigmoid(self.calibration)
            if sigmoids is None:
                return self.model.predict(X), self.calibration.predict_proba(X)
            # binary SVM: one decision pass gives both its label (the sign) and, through the
            # fitted sigmoid, the calibrated probability (what CalibratedClassifierCV computes
            # again from a second pass, at four times the cost on one row)
            decision = self.model.decision_function(X)
            positive = expit(-(sigmoids.a_ * decision + sigmoids.b_))
            return (decision > 0).astype(int), np.column_stack([1.0 - positive, positive])


def _binary_sigmoid(calibration) -> object | None:
    """The one sigmoid of a binary calibration fitted on a frozen model, or None for any other."""
    fitted = getattr(calibration, "calibrated_classifiers_", [])
    if (
        len(fitted) != 1
        or getattr(calibration, "method", None) != "sigmoid"
        or len(fitted[0].classes) != 2
        or len(fitted[0].calibrators) != 1
    ):
        return None
    return fitted[0].calibrators[0]


@dataclass(frozen=True)
class Reference:
    """A sample of the training rows, kept with a version (the drift monitor compares with it)."""

    features: list[str]
    rows: list[list[float]]


def reference_sample(X: np.ndarray, features: list[str], seed: int) -> Reference:
    take = min(REFERENCE_ROWS, len(X))
    rows = np.random.default_rng(seed).choice(len(X), take, replace=False)
    return Reference(list(features), np.round(X[np.sort(rows)], 6).tolist())


def serialise(model: LoadedModel) -> tuple[bytes, str]:
    """The model in skops format (compressed) and its SHA-256."""
    content = sio.dumps(
        {"model": model.model, "calibration": model.calibration}, compression=zipfile.ZIP_DEFLATED
    )
    return content, hashlib.sha256(content).hexdigest()


def deserialise(content: bytes, expected_sha256: str) -> LoadedModel:
    """The model in content, after checking its hash and that it holds only trusted types."""
    if hashlib.sha256(content).hexdigest() != expected_sha256:
        raise RegistryError("the stored model does not match its hash: it was altered; not loaded")
    untrusted = set(sio.get_untrusted_types(data=content))
    unknown = untrusted - TRUSTED_TYPES
    if unknown:
        raise RegistryError(
            f"the stored model holds types that are not allowed: {', '.join(sorted(unknown))}"
        )
    loaded = sio.loads(content, trusted=sorted(untrusted))
    if not isinstance(loaded, dict) or "model" not in loaded:
        raise RegistryError("the stored model is not in dashhub's format")
    return LoadedModel(loaded["model"], loaded.get("calibration"))


class ModelRegistry:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def version(self) -> int:
        """Bumped by every registration and activation (cache keys of served models carry it)."""
        return read_version(self._engine, "models")

    def register(
        self,
        name: str,
        result: ExplorerResult,
        model: LoadedModel,
        reference: Reference,
        user: str,
        config_query: str,
        activate: bool,
    ) -> ModelVersion:
        """Save model as the next version of name (active at once if asked, or if it is the
        name's first version)."""
        content, sha256 = serialise(model)
        if len(content) > MAX_ARTIFACT_BYTES:
            raise RegistryError(
                f"the model is {len(content) / 2**20:.0f} MB, more than {MAX_ARTIFACT_BYTES / 2**20:.0f} MB"
            )
        now = dt.datetime.now(dt.UTC)
        self._store_artifact(content, sha256, now)
        config = result.config
        row = {
            "name": name,
            "dataset": config.dataset,
            "algorithm": config.model,
            "params": json.dumps(config.param_dict),
            "config": config_query,
            "metrics": json.dumps(
                {
                    "accuracy": result.accuracy,
                    "cv_mean": result.cv_mean,
                    "cv_std": result.cv_std,
                    "cv_folds": config.cv,
                    "n_train": result.n_train,
                    "n_test": result.n_test,
                }
            ),
            "features": json.dumps([{"name": f, "type": "number"} for f in result.info.features]),
            "classes": json.dumps(result.info.classes),
            "reference": json.dumps({"features": reference.features, "rows": reference.rows}),
            "artifact_sha256": sha256,
            "created_at": now,
            "created_by": user,
        }
        for attempt in range(REGISTER_ATTEMPTS):
            # deployments of one name at once: a loser of the race takes the next number
            if attempt:
                time.sleep(random.uniform(0.01, 0.05) * attempt)
            try:
                with self._engine.begin() as conn:
                    latest = conn.scalar(select(func.max(models.c.version)).where(models.c.name == name))
                    first = latest is None
                    if activate or first:
                        conn.execute(
                            update(models).where(models.c.name == name, models.c.active).values(active=False)
                        )
                    inserted = conn.execute(
                        insert(models).values(**row, version=(latest or 0) + 1, active=activate or first)
                    )
                    bump_version(conn, "models")
                    model_id = inserted.inserted_primary_key[0]
                return self.by_id(model_id)
            except IntegrityError:
                continue
        raise RegistryError(f"could not number a new version of {name}: too many at once, try again")

    def _store_artifact(self, content: bytes, sha256: str, now: dt.datetime) -> None:
        try:
            with self._engine.begin() as conn:
                known = conn.scalar(
                    select(model_artifacts.c.sha256).where(model_artifacts.c.sha256 == sha256)
                )
                if known is None:
                    conn.execute(
                        insert(model_artifacts).values(
                            sha256=sha256,
                            format=ARTIFACT_FORMAT,
                            content=content,
                            size=len(content),
                            created_at=now,
                        )
                    )
        except IntegrityError:
            pass  # the same bytes, stored by a concurrent deployment

    def versions(self, name: str | None = None) -> list[ModelVersion]:
        """Every version (of name), newest first within each name."""
        query = select(*VERSION_COLUMNS).order_by(models.c.name, models.c.version.desc())
        if name is not None:
            query = query.where(models.c.name == name)
        with self._engine.connect() as conn:
            return [_version(row) for row in conn.execute(query)]

    def by_id(self, model_id: int) -> ModelVersion:
        with self._engine.connect() as conn:
            row = conn.execute(select(*VERSION_COLUMNS).where(models.c.id == model_id)).first()
        if row is None:
            raise RegistryError(f"no model version {model_id}")
        return _version(row)

    def get(self, name: str, version: int) -> ModelVersion | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(*VERSION_COLUMNS).where(models.c.name == name, models.c.version == version)
            ).first()
        return None if row is None else _version(row)

    def active(self, name: str) -> ModelVersion | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(*VERSION_COLUMNS).where(models.c.name == name, models.c.active)).first()
        return None if row is None else _version(row)

    def activate(self, name: str, version: int) -> ModelVersion:
        """Make version the one served for name (the others of that name stop being served)."""
        with self._engine.begin() as conn:
            exists = conn.scalar(
                select(models.c.id).where(models.c.name == name, models.c.version == version)
            )
            if exists is None:
                raise RegistryError(f"{name} has no version {version}")
            conn.execute(update(models).where(models.c.name == name, models.c.active).values(active=False))
            conn.execute(update(models).where(models.c.id == exists).values(active=True))
            bump_version(conn, "models")
        return self.by_id(exists)

    def reference(self, model: ModelVersion) -> Reference:
        with self._engine.connect() as conn:
            text = conn.scalar(select(models.c.reference).where(models.c.id == model.id))
        data = json.loads(text)
        return Reference(data["features"], data["rows"])

    def load(self, model: ModelVersion) -> LoadedModel:
        """The fitted model of a version, checked against its hash and the trusted types."""
        with self._engine.connect() as conn:
            content = conn.scalar(
                select(model_artifacts.c.content).where(model_artifacts.c.sha256 == model.artifact_sha256)
            )
        if content is None:
            raise RegistryError(f"the artifact of {model.name} v{model.version} is missing")
        return deserialise(bytes(content), model.artifact_sha256)


def _version(row) -> ModelVersion:
    created = row.created_at
    if created.tzinfo is None:  # SQLite gives naive datetimes: they were stored in UTC
        created = created.replace(tzinfo=dt.UTC)
    return ModelVersion(
        id=row.id,
        name=row.name,
        version=row.version,
        dataset=row.dataset,
        algorithm=row.algorithm,
        params=json.loads(row.params),
        config=row.config,
        metrics=json.loads(row.metrics),
        features=json.loads(row.features),
        classes=json.loads(row.classes),
        artifact_sha256=row.artifact_sha256,
        created_at=created.isoformat(timespec="seconds"),
        created_by=row.created_by,
        active=bool(row.active),
    )
