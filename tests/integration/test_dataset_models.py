"""« Vos données » → Explorateur ML (issue 16, « Model it »): a user's dataset modelled as a
classification problem, read back as pandas reads the same file, refused with a reason when it
cannot be, sampled with every class kept, and seen only by those who may open the dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashhub.config import ROLES
from dashhub.domain.ml import ExplorerConfig, applicable, default_params
from dashhub.services import dataset_models
from dashhub.services.dataset_models import DatasetModels, ModelRefused, dataset_name
from dashhub.services.training import MlService
from dashhub.services.user_datasets import DatasetNotFound
from tests.support.datasets import viewer


class _NoCache:
    """MlService's cache, computing every time (what is cached is tested elsewhere)."""

    @staticmethod
    def key(*parts) -> str:
        return repr(parts)

    def get_or_compute(self, key, compute):
        return compute()

    def peek(self, key):
        return None

    def put(self, key, value):
        pass


def flowers(rows: int = 90, seed: int = 1) -> pd.DataFrame:
    """Three well-separated classes on two numeric features, some values missing."""
    rng = np.random.default_rng(seed)
    species = np.array(["setosa", "versicolor", "virginica"])[np.arange(rows) % 3]
    centre = {"setosa": 1.0, "versicolor": 4.0, "virginica": 8.0}
    length = np.array([centre[s] for s in species]) + rng.normal(0, 0.3, rows)
    width = np.array([centre[s] / 2 for s in species]) + rng.normal(0, 0.3, rows)
    frame = pd.DataFrame(
        {
            "length": length.round(3),
            "width": width.round(3),
            "species": species,
            "note": "x",
            "n": np.arange(rows),
        }
    )
    frame.loc[5, "length"] = np.nan
    frame.loc[11, "species"] = None
    return frame


def added(store, tmp_path, frame: pd.DataFrame, user: str = "analyst", name: str = "flowers.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return store.add(viewer(store, user), path, name).dataset


def test_a_modelled_dataset_trains_on_its_complete_rows_as_pandas_reads_them(store, tmp_path):
    frame = flowers()
    dataset = added(store, tmp_path, frame)
    models = DatasetModels(store)
    owner = viewer(store)
    assert models.available(owner) == []
    spec = models.model(owner, dataset.id, "species", ["length", "width"])
    assert spec.features == ("length", "width")
    assert models.available(owner) == [(dataset_name(dataset.id), "flowers")]

    data = models.load(dataset_name(dataset.id))
    complete = pd.read_csv(tmp_path / "flowers.csv").dropna(subset=["length", "width", "species"])
    assert data.classes == ["setosa", "versicolor", "virginica"]
    assert data.features == ["length", "width"]
    assert data.X.tolist() == complete[["length", "width"]].to_numpy().tolist()
    assert [data.classes[i] for i in data.y] == complete["species"].tolist()
    assert data.complete_rows is None  # (not sampled)

    config = ExplorerConfig(
        dataset=dataset_name(dataset.id), model="knn", params=applicable("knn", default_params("knn")), cv=3
    )
    result = MlService(_NoCache(), models).explore(config)
    assert result.info.samples == len(complete)
    assert result.info.class_counts == complete["species"].value_counts().sort_index().tolist()
    assert result.accuracy > 0.9  # (three well-separated classes)


@pytest.mark.parametrize(
    ("target", "features", "message"),
    [
        ("length", ["width", "n"], "must hold classes"),
        ("species", ["length"], "at least two numeric"),
        ("species", ["length", "note"], "is not numeric"),
        ("n", ["length", "width"], "at most 20 classes"),
        ("nowhere", ["length", "width"], "Choose the column to predict"),
    ],
)
def test_what_cannot_be_modelled_is_refused_with_why_and_nothing_is_kept(
    store, tmp_path, target, features, message
):
    dataset = added(store, tmp_path, flowers())
    models = DatasetModels(store)
    with pytest.raises(ModelRefused, match=message):
        models.model(viewer(store), dataset.id, target, features)
    assert models.available(viewer(store)) == []


def test_a_class_with_too_few_complete_rows_is_named(store, tmp_path):
    frame = flowers()
    frame.loc[[0, 3, 6], "species"] = "rare"
    dataset = added(store, tmp_path, frame)
    with pytest.raises(ModelRefused, match="« rare » has only 3 complete rows"):
        DatasetModels(store).model(viewer(store), dataset.id, "species", ["length", "width"])


def test_only_those_who_may_open_the_dataset_see_it_and_only_its_owner_models_it(store, tmp_path):
    dataset = added(store, tmp_path, flowers())
    models = DatasetModels(store)
    owner, other = viewer(store, "analyst"), viewer(store, "viewer")
    with pytest.raises(DatasetNotFound):
        models.model(other, dataset.id, "species", ["length", "width"])
    models.model(owner, dataset.id, "species", ["length", "width"])
    assert models.available(other) == []
    store.share(owner, dataset.id, "viewer", ROLES)
    assert models.names(other) == (dataset_name(dataset.id),)
    with pytest.raises(ModelRefused, match="Only the owner"):
        models.model(other, dataset.id, "species", ["length", "width", "n"])
    with pytest.raises(ModelRefused, match="Only the owner"):
        models.forget(other, dataset.id)
    assert models.names(viewer(store, "hr")) == ()
    # a feature retyped to text: no longer offered (nor trained on)
    store.retype(owner, dataset.id, "width", "text")
    assert models.available(owner) == []
    with pytest.raises(ModelRefused, match="no longer available"):
        models.load(dataset_name(dataset.id))
    store.retype(owner, dataset.id, "width", "number")
    assert models.names(owner) == (dataset_name(dataset.id),)
    models.forget(owner, dataset.id)
    assert models.available(owner) == []
    models.model(owner, dataset.id, "species", ["length", "width"])
    store.delete(owner, dataset.id)
    assert models.available(owner) == []


def test_a_new_choice_or_a_new_file_is_a_new_revision(store, tmp_path):
    dataset = added(store, tmp_path, flowers())
    models = DatasetModels(store)
    owner = viewer(store)
    name = dataset_name(dataset.id)
    assert models.revision(name) == ""  # (nothing modelled yet: the name stands for nothing)
    models.model(owner, dataset.id, "species", ["length", "width"])
    first = models.revision(name)
    models.model(owner, dataset.id, "species", ["length", "width", "n"])
    second = models.revision(name)
    store.retype(owner, dataset.id, "n", "number")
    assert len({first, second, models.revision(name)}) == 3
    assert models.load(name).features == ["length", "width", "n"]


def test_a_large_dataset_is_sampled_in_file_order_keeping_every_class(store, tmp_path, monkeypatch):
    monkeypatch.setattr(dataset_models, "MAX_ROWS", 300)
    dataset_models._rows.cache_clear()
    frame = flowers(rows=3000)
    frame.loc[frame.index[-12:], "species"] = "rare"  # 12 rows, all at the end of the file
    dataset = added(store, tmp_path, frame)
    models = DatasetModels(store)
    models.model(viewer(store), dataset.id, "species", ["length", "width"])
    data = models.load(dataset_name(dataset.id))
    complete = frame.dropna(subset=["length", "width", "species"])
    assert data.complete_rows == len(complete)
    assert 250 <= len(data.y) <= 320
    counts = dict(zip(data.classes, np.bincount(data.y), strict=True))
    assert set(counts) == {"setosa", "versicolor", "virginica", "rare"}
    assert counts["rare"] >= dataset_models.MIN_PER_CLASS
    # every row kept is a row of the file, in file order
    rows = {tuple(r) for r in complete[["length", "width"]].to_numpy().tolist()}
    assert all(tuple(r) in rows for r in data.X.tolist())
    dataset_models._rows.cache_clear()
    again = models.load(dataset_name(dataset.id))
    assert again.X.tolist() == data.X.tolist() and again.y.tolist() == data.y.tolist()
