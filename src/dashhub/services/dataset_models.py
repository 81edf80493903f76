"""« Vos données » → Explorateur ML: a user's dataset modelled as a classification problem.

Its owner picks a target (a column with a bounded number of classes) and numeric features; the
choice is kept on the dataset row (`model_spec`), and the dataset then appears in the explorer for
everyone who may open it, under the name ``user-<id>``. The explorer reads it from its Parquet file
through DuckDB: complete rows only, at most MAX_ROWS of them (a sample that keeps every class, in
file order, the same on every host), features as floats, classes as text in sorted order.

Who may open a dataset is decided by DatasetStore (the owner, and the role it is shared with);
only the owner may change how it is modelled.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import or_, select, update

from dashhub.db import datasets
from dashhub.i18n import N_, Said, Word
from dashhub.services.training import Dataset as MlDataset
from dashhub.services.user_datasets import (
    ROW_NUMBER,
    Dataset,
    DatasetStore,
    Viewer,
    _dataset,
    _literal,
    duckdb_connection,
    quoted,
)

NAME_PATTERN = re.compile(r"^user-([1-9][0-9]{0,9})$")
TARGET_TYPES = ("category", "text", "boolean", "integer")
FEATURE_TYPES = ("number", "integer", "boolean")
MAX_CLASSES = 20
MAX_FEATURES = 100
MIN_PER_CLASS = 10  # complete rows each class needs (a split and cross-validation need a few)
# (the type names as /explore says them: msgids of layouts/explore.py's TYPE_NAMES)
TYPE_WORDS = {"number": "number", "datetime": "date", "text": "text"}
MAX_ROWS = 20_000  # rows the explorer trains on; a larger dataset is sampled, every class kept


class ModelRefused(Said, ValueError):
    """The target or the features cannot be used, with why (said() in the user's language)."""


@dataclass(frozen=True)
class ModelSpec:
    target: str
    features: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps({"target": self.target, "features": list(self.features)})


def dataset_name(dataset_id: int) -> str:
    """The explorer's name for a user's dataset (its `dataset=` in the address)."""
    return f"user-{dataset_id}"


def dataset_id_of(name: str) -> int | None:
    """The dataset id a name such as « user-12 » stands for; None for any other name."""
    found = NAME_PATTERN.match(name) if isinstance(name, str) else None
    return int(found.group(1)) if found and int(found.group(1)) <= 2**31 - 1 else None


def spec_of(dataset: Dataset) -> ModelSpec | None:
    """How the dataset is modelled, if its owner chose, and if its columns still allow it (a column
    retyped since, or gone, and the dataset is not offered to the explorer)."""
    if not dataset.model_spec:
        return None
    try:
        raw = json.loads(dataset.model_spec)
        spec = ModelSpec(str(raw["target"]), tuple(str(f) for f in raw["features"]))
    except (ValueError, KeyError, TypeError):
        return None
    types = {c.name: c.type for c in dataset.columns}
    if types.get(spec.target) not in TARGET_TYPES or len(spec.features) < 2:
        return None
    if any(types.get(f) not in FEATURE_TYPES or f == spec.target for f in spec.features):
        return None
    return spec


def candidates(dataset: Dataset) -> tuple[list[str], list[str]]:
    """The columns that may be the target, and those that may be features (by type)."""
    targets = [c.name for c in dataset.columns if c.type in TARGET_TYPES]
    features = [c.name for c in dataset.columns if c.type in FEATURE_TYPES]
    return targets, features


class DatasetModels:
    """Which datasets a user may model or explore, how they are modelled, and their rows for the
    explorer."""

    def __init__(self, store: DatasetStore) -> None:
        self.store = store

    # --- choosing ---

    def model(self, viewer: Viewer, dataset_id: int, target: str, features: list[str]) -> ModelSpec:
        """The owner models the dataset: target and features checked against its columns and its
        rows (ModelRefused with the reason otherwise), then kept on the dataset."""
        found = self.store.get(viewer, dataset_id)
        if found.owner_id != viewer.user_id:
            raise ModelRefused(N_("Only the owner of a dataset can choose how it is modelled."))
        types = {c.name: c.type for c in found.columns}
        if target not in types:
            raise ModelRefused(N_("Choose the column to predict."))
        if types[target] not in TARGET_TYPES:
            raise ModelRefused(
                N_("« {column} » holds {type} values: the column to predict must hold classes."),
                column=target,
                type=Word(TYPE_WORDS.get(types[target], types[target])),
            )
        chosen = [f for f in dict.fromkeys(features or []) if f != target]
        if len(chosen) < 2:
            raise ModelRefused(N_("Choose at least two numeric columns to predict from."))
        if len(chosen) > MAX_FEATURES:
            raise ModelRefused(N_("At most {count} columns to predict from."), count=MAX_FEATURES)
        for name in chosen:
            if types.get(name) not in FEATURE_TYPES:
                raise ModelRefused(
                    N_(
                        "« {column} » is not numeric: only numbers, whole numbers and yes/no columns "
                        "can be used to predict."
                    ),
                    column=name,
                )
        spec = ModelSpec(target, tuple(chosen))
        counts, distinct = self._class_counts(found, spec)
        if distinct < 2:
            raise ModelRefused(
                N_("« {column} » has fewer than two classes in the complete rows: nothing to predict."),
                column=target,
            )
        if distinct > MAX_CLASSES:
            raise ModelRefused(
                N_("« {column} » has {count} different values: at most {most} classes can be predicted."),
                column=target,
                count=distinct,
                most=MAX_CLASSES,
            )
        rare = [(label, n) for label, n in counts.items() if n < MIN_PER_CLASS]
        if rare:
            label, n = rare[0]
            raise ModelRefused(
                N_(
                    "The class « {label} » has only {count} complete rows: each class needs at least {least}."
                ),
                label=label,
                count=n,
                least=MIN_PER_CLASS,
            )
        with self.store.engine.begin() as conn:
            conn.execute(
                update(datasets)
                .where(datasets.c.id == found.id, datasets.c.owner_id == viewer.user_id)
                .values(model_spec=spec.to_json())
            )
        return spec

    def forget(self, viewer: Viewer, dataset_id: int) -> None:
        """The owner takes the dataset out of the explorer."""
        found = self.store.get(viewer, dataset_id)
        if found.owner_id != viewer.user_id:
            raise ModelRefused(N_("Only the owner of a dataset can choose how it is modelled."))
        with self.store.engine.begin() as conn:
            conn.execute(update(datasets).where(datasets.c.id == found.id).values(model_spec=None))

    # --- finding ---

    def available(self, viewer: Viewer) -> list[tuple[str, str]]:
        """(explorer name, dataset name) of every modelled dataset the viewer may open, newest first."""
        query = (
            select(datasets)
            .where(
                datasets.c.model_spec.is_not(None),
                or_(datasets.c.owner_id == viewer.user_id, datasets.c.shared_role == viewer.role),
            )
            .order_by(datasets.c.created_at.desc(), datasets.c.id.desc())
        )
        with self.store.engine.connect() as conn:
            rows = list(conn.execute(query))
        found = [_dataset(row) for row in rows]
        return [(dataset_name(d.id), d.name) for d in found if spec_of(d) is not None]

    def names(self, viewer: Viewer) -> tuple[str, ...]:
        return tuple(name for name, _label in self.available(viewer))

    def revision(self, name: str) -> str:
        """What a cached result of the dataset depends on: its file (a new one after a type
        change) and how it is modelled. Empty for an unknown name."""
        found = self._by_name(name)
        if found is None or spec_of(found) is None:
            return ""
        return hashlib.sha256(f"{found.stored}\n{found.model_spec}".encode()).hexdigest()[:16]

    def load(self, name: str) -> MlDataset:
        """The dataset's rows as the explorer trains on them (access was checked where the name
        came in: the explorer only accepts names that available() gives the user)."""
        found = self._by_name(name)
        spec = spec_of(found) if found is not None else None
        if spec is None:
            raise ModelRefused(N_("This dataset is no longer available to the explorer."))
        return _rows(str(self.store.root / found.stored), str(self.store.spill), name, spec)

    def _by_name(self, name: str) -> Dataset | None:
        dataset_id = dataset_id_of(name)
        if dataset_id is None:
            return None
        with self.store.engine.connect() as conn:
            row = conn.execute(select(datasets).where(datasets.c.id == dataset_id)).first()
        return None if row is None else _dataset(row)

    def _class_counts(self, found: Dataset, spec: ModelSpec) -> tuple[dict[str, int], int]:
        """Complete rows per class (up to MAX_CLASSES + 1 classes), and how many classes."""
        source = f"read_parquet({_literal(self.store.root / found.stored)})"
        target = f"CAST({quoted(spec.target)} AS VARCHAR)"
        with duckdb_connection(self.store.spill) as con:
            rows = con.execute(
                f"SELECT {target}, count(*) FROM {source} WHERE {_complete(spec)} "
                f"GROUP BY 1 ORDER BY 1 LIMIT {MAX_CLASSES + 1}"
            ).fetchall()
            if len(rows) > MAX_CLASSES:
                total = con.execute(
                    f"SELECT count(DISTINCT {target}) FROM {source} WHERE {_complete(spec)}"
                ).fetchone()[0]
                return {}, int(total)
        return {str(label): int(n) for label, n in rows}, len(rows)


def _complete(spec: ModelSpec) -> str:
    """Rows with a target (not blank) and every feature (a float that is not NaN)."""
    conditions = [f"NULLIF(TRIM(CAST({quoted(spec.target)} AS VARCHAR)), '') IS NOT NULL"]
    for name in spec.features:
        conditions.append(f"{quoted(name)} IS NOT NULL AND NOT isnan(CAST({quoted(name)} AS DOUBLE))")
    return " AND ".join(conditions)


@functools.lru_cache(maxsize=8)
def _rows(path: str, spill: str, name: str, spec: ModelSpec) -> MlDataset:
    """Complete rows in file order; above MAX_ROWS, every k-th row of each class (each class keeps
    at least MIN_PER_CLASS rows, or all it has). Cached per file and choice in the process."""
    source = f"read_parquet({_literal(path)}, file_row_number = true)"
    features = ", ".join(f"CAST({quoted(f)} AS DOUBLE)" for f in spec.features)
    target = f"CAST({quoted(spec.target)} AS VARCHAR)"
    complete = f"SELECT {ROW_NUMBER} AS r, {target} AS t, {features} FROM {source} WHERE {_complete(spec)}"
    with duckdb_connection(Path(spill)) as con:
        total = con.execute(f"SELECT count(*) FROM ({complete})").fetchone()[0]
        step = max(1, -(-int(total) // MAX_ROWS))
        ranked = (
            f"SELECT *, row_number() OVER (PARTITION BY t ORDER BY r) - 1 AS i, "
            f"count(*) OVER (PARTITION BY t) AS n FROM ({complete})"
        )
        kept = (
            f"SELECT * EXCLUDE (i, n) FROM ({ranked}) "
            f"WHERE i % greatest(1, least({step}, n // {MIN_PER_CLASS})) = 0 ORDER BY r"
        )
        table = con.execute(kept).fetchnumpy()
    labels = np.asarray(table["t"]).astype(str)
    classes = sorted(set(labels.tolist()))
    index = {label: i for i, label in enumerate(classes)}
    columns = [c for c in table if c not in ("r", "t")]
    X = np.column_stack([np.asarray(table[c], dtype=np.float64) for c in columns])
    X.setflags(write=False)
    y = np.asarray([index[label] for label in labels.tolist()], dtype=np.int64)
    y.setflags(write=False)
    sampled = int(total) if len(y) < int(total) else None
    return MlDataset(name, X, y, list(spec.features), classes, complete_rows=sampled)
