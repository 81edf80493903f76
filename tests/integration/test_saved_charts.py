"""« Vos données »: charts saved under a name (their query string). Each user's own, of a dataset they
can read; the same name replaces; at most MAX_PER_DATASET per dataset; gone with their dataset."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from dashhub.config import ROLES
from dashhub.db import datasets, saved_charts
from dashhub.services.saved_charts import (
    MAX_PER_DATASET,
    SavedChartNotFound,
    SavedChartRefused,
    SavedChartStore,
)
from dashhub.services.user_datasets import DatasetNotFound, DatasetRefused, DatasetStore, Viewer
from tests.support.datasets import viewer

CSV = "region,amount\nNord,10\nSud,20\nEst,15\n"


@pytest.fixture
def charts(store):
    return SavedChartStore(store.engine, store)


def add_dataset(store: DatasetStore, owner: Viewer, tmp_path, name: str = "sales.csv"):
    path = tmp_path / name
    path.write_text(CSV)
    return store.add(owner, path, name).dataset


def rows_of(store: DatasetStore, dataset_id: int) -> int:
    with store.engine.connect() as conn:
        query = select(func.count()).select_from(saved_charts).where(saved_charts.c.dataset_id == dataset_id)
        return conn.execute(query).scalar_one()


def test_save_list_replace_and_delete(store, charts, tmp_path):
    owner = viewer(store, "analyst")
    data = add_dataset(store, owner, tmp_path)
    first = charts.save(owner, data, "  Ventes   par\nrégion ", "kind=bar&x=region&y=amount&agg=sum")
    assert (
        first.name == "Ventes par région" and first.dataset_id == data.id and first.owner_id == owner.user_id
    )
    second = charts.save(owner, data, "Histogramme", "kind=histogram&x=amount")
    assert [c.name for c in charts.list(owner, data.id)] == ["Histogramme", "Ventes par région"]
    assert charts.get(owner, first.id) == first

    replaced = charts.save(owner, data, "Ventes par région", "kind=bar&x=region&y=amount&agg=mean")
    assert replaced.id == first.id and replaced.query.endswith("agg=mean")
    listed = charts.list(owner, data.id)
    assert [(c.id, c.query) for c in listed] == [(first.id, replaced.query), (second.id, second.query)]

    charts.delete(owner, second.id)
    assert [c.id for c in charts.list(owner, data.id)] == [first.id]
    with pytest.raises(SavedChartNotFound):
        charts.delete(owner, second.id)
    with pytest.raises(SavedChartNotFound):
        charts.get(owner, second.id)
    for chart_id in (0, -1, 2**40):
        with pytest.raises(SavedChartNotFound):
            charts.delete(owner, chart_id)


REFUSED = [
    ("", "kind=bar", "needs a name"),
    (" \t\n ", "kind=bar", "needs a name"),
    ("x" * 129, "kind=bar", "at most 128 characters"),
    ("ok", "x=" + "a" * 3999, "too long to save"),
    ("ok", "kind=bar\nx=1", "control characters"),
]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_names_and_queries_are_checked(store, charts, tmp_path):
    owner = viewer(store, "viewer")
    data = add_dataset(store, owner, tmp_path)
    for name, query, message in REFUSED:
        with pytest.raises(SavedChartRefused, match=message):
            charts.save(owner, data, name, query)
    assert charts.list(owner, data.id) == []
    longest = charts.save(owner, data, "y" * 128, "q=" + "b" * 3998)
    assert len(longest.name) == 128 and len(longest.query) == 4000
    assert issubclass(SavedChartRefused, DatasetRefused)


def test_each_user_sees_only_their_own_and_a_shared_reader_saves_theirs(store, charts, tmp_path):
    owner, reader, stranger = viewer(store, "analyst"), viewer(store, "viewer"), viewer(store, "hr")
    data = add_dataset(store, owner, tmp_path)
    mine = charts.save(owner, data, "Mine", "kind=bar")
    with pytest.raises(DatasetNotFound):  # (not shared yet: the reader cannot see the dataset)
        charts.save(reader, data, "Theirs", "kind=line")
    with pytest.raises(DatasetNotFound):
        charts.list(reader, data.id)

    data = store.share(owner, data.id, "viewer", ROLES)
    theirs = charts.save(reader, data, "Mine", "kind=line")  # (the same name: a chart of their own)
    assert theirs.id != mine.id and theirs.owner_id == reader.user_id
    assert [c.id for c in charts.list(owner, data.id)] == [mine.id]
    assert [c.id for c in charts.list(reader, data.id)] == [theirs.id]
    assert charts.get(owner, mine.id).query == "kind=bar"

    for other, chart in ((reader, mine), (owner, theirs), (stranger, mine)):
        with pytest.raises(SavedChartNotFound):
            charts.get(other, chart.id)
        with pytest.raises(SavedChartNotFound):
            charts.delete(other, chart.id)
    with pytest.raises(DatasetNotFound):  # (hr's role is not the one it is shared with)
        charts.save(stranger, data, "Nope", "kind=bar")
    with pytest.raises(DatasetNotFound):  # (the Dataset passed in is not trusted: access is re-read)
        charts.save(stranger, store.get(owner, data.id), "Nope", "kind=bar")

    # unshared: the reader's charts are kept but cannot be opened, as the dataset cannot
    store.share(owner, data.id, None, ROLES)
    with pytest.raises(SavedChartNotFound):
        charts.get(reader, theirs.id)
    with pytest.raises(DatasetNotFound):
        charts.list(reader, data.id)
    charts.delete(reader, theirs.id)  # (but they may still remove them)
    assert rows_of(store, data.id) == 1


def test_at_most_so_many_charts_per_user_and_dataset(store, charts, tmp_path):
    owner, reader = viewer(store, "analyst"), viewer(store, "viewer")
    data = store.share(owner, add_dataset(store, owner, tmp_path).id, "viewer", ROLES)
    other = add_dataset(store, owner, tmp_path, "other.csv")
    for i in range(MAX_PER_DATASET):
        charts.save(owner, data, f"chart {i}", f"kind=bar&n={i}")
    with pytest.raises(SavedChartRefused, match=f"at most {MAX_PER_DATASET} saved charts"):
        charts.save(owner, data, "one too many", "kind=bar")
    charts.save(owner, data, "chart 7", "kind=line")  # (replacing one is not adding one)
    listed = charts.list(owner, data.id)
    assert len(listed) == MAX_PER_DATASET and listed[0].name == "chart 7"
    assert charts.save(owner, other, "elsewhere", "kind=bar")  # (per dataset)
    assert charts.save(reader, data, "the reader's", "kind=bar")  # (per user)
    charts.delete(owner, listed[-1].id)
    assert charts.save(owner, data, "now there is room", "kind=bar")


def test_charts_go_with_their_dataset(store, charts, tmp_path):
    owner, reader = viewer(store, "analyst"), viewer(store, "viewer")
    data = store.share(owner, add_dataset(store, owner, tmp_path).id, "viewer", ROLES)
    kept = add_dataset(store, owner, tmp_path, "kept.csv")
    charts.save(owner, data, "a", "kind=bar")
    charts.save(reader, data, "b", "kind=bar")
    survivor = charts.save(owner, kept, "c", "kind=bar")
    store.delete(owner, data.id)
    assert rows_of(store, data.id) == 0
    assert [c.id for c in charts.list(owner, kept.id)] == [survivor.id]
    with pytest.raises(DatasetNotFound):
        charts.save(owner, data, "a", "kind=bar")  # (a Dataset read before it was deleted)
    with pytest.raises(DatasetNotFound):
        charts.list(owner, data.id)
    if store.engine.dialect.name == "postgresql":  # (the foreign key itself cascades there)
        with store.engine.begin() as conn:
            conn.execute(delete(datasets).where(datasets.c.id == kept.id))
        assert rows_of(store, kept.id) == 0
