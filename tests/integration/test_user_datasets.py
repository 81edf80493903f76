"""« Vos données » storage (issue 16, first part): a user's file typed, stored as Parquet, read back
by DuckDB; every number compared with pandas on the same file; one user never reaches another's."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashhub.config import ROLES
from dashhub.services.user_datasets import DatasetNotFound, DatasetRefused
from tests.support.datasets import viewer

IRIS_LIKE = (
    "sepal length,sepal width,Species,measured on,ok\n"
    "5.1,3.5,setosa,2026-01-05,true\n"
    "4.9,,setosa,2026-01-06 10:30:00,false\n"
    "6.3,3.3,virginica,2026-01-07,true\n"
    "5.8,2.7,versicolor,,true\n"
    "7.1,3.0,virginica,2026-01-09,false\n"
)


def test_a_file_is_typed_stored_and_read_back_as_pandas_reads_it(store, tmp_path):
    path = tmp_path / "iris.csv"
    path.write_text(IRIS_LIKE + "1,2,3\n")  # (a ragged row: rejected, with its line)
    analyst = viewer(store, "analyst")
    report = store.add(analyst, path, "iris.csv")
    found = report.dataset
    assert report.first_rejected == [(7, "expected 5 fields, found 3")]
    assert found.rows == 5 and found.name == "iris"
    assert {c.name: c.type for c in found.columns} == {
        "sepal length": "number",
        "sepal width": "number",
        "Species": "category",
        "measured on": "datetime",
        "ok": "boolean",
    }
    assert not list((tmp_path / "data" / "datasets").rglob("*.strings.parquet"))
    frame = pd.read_csv(path, nrows=5)
    rows, total = store.page(analyst, found.id, sort=[("sepal length", "desc")])
    assert total == 5
    assert [r["sepal length"] for r in rows] == sorted(frame["sepal length"], reverse=True)
    summary = store.summary(analyst, found.id, "sepal width")
    assert summary["missing"] == int(frame["sepal width"].isna().sum())
    assert summary["mean"] == pytest.approx(frame["sepal width"].mean())
    assert summary["median"] == pytest.approx(frame["sepal width"].median())
    top = store.summary(analyst, found.id, "Species")["top"]
    assert dict(top) == frame["Species"].value_counts().to_dict()
    rows, total = store.page(
        analyst, found.id, filters=[("Species", "=", "virginica"), ("sepal length", ">", 6.5)]
    )
    assert total == 1 and rows[0]["sepal length"] == 7.1
    rows, total = store.page(analyst, found.id, filters=[("Species", "contains", "ICA")])
    assert total == 2


def test_correlations_are_pandas_pearson_on_the_same_file(store, tmp_path):
    path = tmp_path / "iris.csv"
    path.write_text(IRIS_LIKE)
    owner = viewer(store, "analyst")
    found = store.add(owner, path, "iris.csv").dataset
    names, matrix = store.correlations(owner, found.id)
    assert names == ["sepal length", "sepal width"]
    expected = pd.read_csv(path)[names].corr()
    assert matrix[0][1] == pytest.approx(expected.iloc[0, 1]) and matrix[1][0] == matrix[0][1]
    assert matrix[0][0] == matrix[1][1] == 1.0
    only_text = tmp_path / "words.csv"
    only_text.write_text("a,b\nx,1\ny,2\n")
    assert store.correlations(owner, store.add(owner, only_text, "words.csv").dataset.id)[1] == []


def test_repeated_empty_and_hostile_column_names_are_kept_apart(store, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text('a,a,,"x"" DROP TABLE; --",A\n1,2,3,4,5\n6,7,8,9,10\n')
    owner = viewer(store, "viewer")
    found = store.add(owner, path, "odd.csv").dataset
    names = [c.name for c in found.columns]
    assert names == ["a", "a (2)", "column 3", 'x" DROP TABLE; --', "A (3)"]
    rows, _ = store.page(owner, found.id, sort=[('x" DROP TABLE; --', "desc")])
    assert rows[0] == {"a": 6, "a (2)": 7, "column 3": 8, 'x" DROP TABLE; --': 9, "A (3)": 10}
    with pytest.raises(DatasetRefused, match="no column"):
        store.page(owner, found.id, sort=[("nope", "asc")])
    with pytest.raises(DatasetRefused, match="unknown filter"):
        store.page(owner, found.id, filters=[("a", "; DROP", 1)])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"a,b\n", "no row under its header"),
        (b"a\n\xff\xfe\x00\x01", "the file is binary"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "the file is damaged: a zip archive"),  # (cut short)
    ],
)
def test_files_that_are_not_tables_are_refused_and_leave_nothing(store, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    owner = viewer(store, "viewer")
    with pytest.raises(DatasetRefused, match=message):
        store.add(owner, path, "bad.csv")
    assert store.list(owner) == []
    assert not list((tmp_path / "data" / "datasets").rglob("*.parquet"))


def test_one_user_never_reaches_anothers_dataset_unless_shared_read_only(store, tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(IRIS_LIKE)
    owner, other, hr = viewer(store, "analyst"), viewer(store, "viewer"), viewer(store, "hr")
    mine = store.add(owner, path, "mine.csv").dataset
    assert [d.id for d in store.list(owner)] == [mine.id]
    assert store.list(other) == []
    for attempt in (
        lambda: store.get(other, mine.id),
        lambda: store.page(other, mine.id),
        lambda: store.summary(other, mine.id, "Species"),
        lambda: store.rename(other, mine.id, "pwned"),
        lambda: store.delete(other, mine.id),
        lambda: store.share(other, mine.id, "viewer", ROLES),
    ):
        with pytest.raises(DatasetNotFound):
            attempt()
    store.share(owner, mine.id, "viewer", ROLES)
    assert [d.id for d in store.list(other)] == [mine.id]
    assert store.page(other, mine.id)[1] == 5
    assert store.list(hr) == []
    with pytest.raises(DatasetNotFound):
        store.delete(other, mine.id)  # (shared is read-only)
    with pytest.raises(DatasetRefused, match="unknown role"):
        store.share(owner, mine.id, "root", ROLES)
    assert store.rename(owner, mine.id, "  Mes   fleurs ").name == "Mes fleurs"
    store.delete(owner, mine.id)
    assert store.list(owner) == [] and store.list(other) == []
    assert not list((tmp_path / "data" / "datasets").rglob("*.parquet"))


def test_a_user_cannot_keep_more_than_the_limits_and_nothing_is_left_of_a_refusal(store, tmp_path):
    path = tmp_path / "petit.csv"
    path.write_text(IRIS_LIKE)
    owner, other = viewer(store, "analyst"), viewer(store, "viewer")
    store.max_per_user = 2
    store.add(owner, path, "a.csv")
    store.add(owner, path, "b.csv")
    with pytest.raises(DatasetRefused, match="at most 2"):
        store.add(owner, path, "c.csv")
    assert store.add(other, path, "d.csv").dataset is not None  # (limits are per user)
    store.max_per_user, store.max_bytes_per_user = 50, store.list(owner)[0].bytes * 2 + 1
    with pytest.raises(DatasetRefused, match="MB"):
        store.add(owner, path, "e.csv")
    assert len(store.list(owner)) == 2
    kept = {(tmp_path / "data" / d.stored).name for d in store.list(owner)}
    assert {p.name for p in (tmp_path / "data" / "datasets" / str(owner.user_id)).iterdir()} == kept


def test_sorted_pages_neither_overlap_nor_skip_rows_even_with_ties(store, tmp_path):
    path = tmp_path / "ties.csv"
    path.write_text("id,band,file_row\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(250)))
    owner = viewer(store)
    found = store.add(owner, path, "ties.csv").dataset
    seen = []
    for start in range(0, 250, 40):
        rows, total = store.page(
            owner, found.id, start, 40, sort=[("band", "desc")], filters=[("id", ">=", 10)]
        )
        seen += [r["id"] for r in rows]
        assert total == 240
    frame = pd.read_csv(path).query("id >= 10")
    assert seen == list(frame.sort_values("band", ascending=False, kind="stable")["id"])


def test_a_column_named_like_duckdbs_row_number_still_sorts(store, tmp_path):
    path = tmp_path / "named.csv"
    path.write_text("FILE_ROW_NUMBER,band\n3,b\n1,c\n2,a\n")
    owner = viewer(store)
    found = store.add(owner, path, "named.csv").dataset
    rows, _total = store.page(owner, found.id, sort=[("band", "asc")])
    assert [r["FILE_ROW_NUMBER"] for r in rows] == [2, 3, 1]


# --- a page sorted on one column, read through the column's sort index ---

SORTABLE = 230


def sortable_file(path) -> None:
    """Ties in every column, missing numbers, integers and dates, text bytes beyond ASCII."""
    rng = random.Random(16)
    lines = ["id,band,price,label,when"]
    for i in range(SORTABLE):
        band = "" if i % 11 == 0 else str(i % 4)
        price = "" if i % 13 == 0 else rng.choice(["1.5", "2.25", "10", "99.99", "-3"])
        label = rng.choice(["b", "a", "É", "ab", "z", "B"])
        when = "" if i % 17 == 0 else f"2026-0{1 + i % 3}-1{i % 5} 10:00:00"
        lines.append(f"{i},{band},{price},{label},{when}")
    path.write_text("\n".join(lines) + "\n")


def sort_indexes(store, found) -> list[str]:
    stored = store.root / found.stored
    return sorted(p.name for p in stored.parent.iterdir() if p.name != stored.name)


def pages(store, owner, found, sort, size=40) -> list[int]:
    seen = []
    for start in range(0, SORTABLE + size, size):
        rows, total = store.page(owner, found.id, start, size, sort=sort)
        assert total == SORTABLE
        assert all(list(row) == [c.name for c in found.columns] for row in rows)
        seen += [row["id"] for row in rows]
    return seen


def test_pages_sorted_on_one_column_follow_pandas_stable_sort_built_or_read_from_the_index(store, tmp_path):
    path = tmp_path / "sortable.csv"
    sortable_file(path)
    owner = viewer(store)
    found = store.add(owner, path, "sortable.csv").dataset
    assert {c.name: c.type for c in found.columns} == {
        "id": "integer",
        "band": "integer",
        "price": "number",
        "label": "category",
        "when": "datetime",
    }
    frame = pd.read_csv(path, parse_dates=["when"])
    folder = (store.root / found.stored).parent
    for name in ("band", "price", "label", "when", "id"):
        for direction in ("asc", "desc"):
            expected = frame.sort_values(
                name, ascending=direction == "asc", kind="stable", na_position="last"
            )["id"].tolist()
            # each page from an index built for it (the column's first sort this way)
            seen = []
            for start in range(0, SORTABLE, 40):
                for index in folder.glob("*.npy"):
                    index.unlink()
                rows, _ = store.page(owner, found.id, start, 40, sort=[(name, direction)])
                seen += [r["id"] for r in rows]
            assert seen == expected, (name, direction)
            # then every page from the index kept beside the file
            assert pages(store, owner, found, [(name, direction)]) == expected, (name, direction)
            assert len(sort_indexes(store, found)) == 1
    assert all(name.endswith(".npy") for name in sort_indexes(store, found))
    # two sort columns, or a sort and a filter: DuckDB sorts, in the same order
    expected = frame.sort_values(
        ["band", "price"], ascending=[False, True], kind="stable", na_position="last"
    )["id"].tolist()
    assert pages(store, owner, found, [("band", "desc"), ("price", "asc")]) == expected
    rows, total = store.page(owner, found.id, 0, 1000, sort=[("price", "desc")], filters=[("band", "=", 2)])
    kept = frame[frame["band"] == 2].sort_values("price", ascending=False, kind="stable", na_position="last")
    assert [r["id"] for r in rows] == kept["id"].tolist() and total == len(kept)


def test_a_sort_after_a_type_change_follows_the_new_values_and_the_old_index_is_gone(store, tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("id,code\n1,9\n2,10\n3,100\n4,\n5,10\n")
    owner = viewer(store)
    found = store.add(owner, path, "codes.csv").dataset
    assert found.column("code").type == "integer"

    def ids(direction: str) -> list[int]:
        return [r["id"] for r in store.page(owner, found.id, sort=[("code", direction)])[0]]

    assert (ids("asc"), ids("desc")) == ([1, 2, 5, 3, 4], [3, 2, 5, 1, 4])
    old = Path(found.stored).stem
    found, _ = store.retype(owner, found.id, "code", "text")
    assert sort_indexes(store, found) == []  # (the old file's indexes went with it)
    assert (ids("asc"), ids("desc")) == ([2, 5, 3, 1, 4], [1, 3, 2, 5, 4])  # ("10" < "100" < "9")
    assert sort_indexes(store, found) and not any(n.startswith(old) for n in sort_indexes(store, found))
    found, _ = store.retype(owner, found.id, "code", "integer")
    assert (ids("asc"), ids("desc")) == ([1, 2, 5, 3, 4], [3, 2, 5, 1, 4])


def test_deleting_a_dataset_leaves_no_sort_index(store, tmp_path):
    path = tmp_path / "sortable.csv"
    sortable_file(path)
    owner = viewer(store)
    found = store.add(owner, path, "sortable.csv").dataset
    kept = store.add(owner, path, "kept.csv").dataset
    for dataset in (found, kept):
        store.page(owner, dataset.id, sort=[("price", "asc")])
        store.page(owner, dataset.id, sort=[("label", "desc")])
    folder = store.root / "datasets" / str(owner.user_id)

    def files_of(dataset) -> list[str]:
        return sorted(
            p.suffix for p in folder.iterdir() if p.name.startswith(Path(dataset.stored).stem + ".")
        )

    assert files_of(found) == files_of(kept) == [".npy", ".npy", ".parquet"]
    store.delete(owner, found.id)
    assert files_of(found) == [] and len(list(folder.iterdir())) == 3
    assert store.page(owner, kept.id, sort=[("label", "desc")])[1] == SORTABLE


def test_a_damaged_sort_index_is_built_again(store, tmp_path):
    path = tmp_path / "sortable.csv"
    sortable_file(path)
    owner = viewer(store)
    found = store.add(owner, path, "sortable.csv").dataset
    expected = store.page(owner, found.id, 0, 1000, sort=[("price", "desc")])
    (index,) = (store.root / found.stored).parent.glob("*.npy")
    for damage in (b"not an index", index.read_bytes()[:200]):
        index.write_bytes(damage)
        assert store.page(owner, found.id, 0, 1000, sort=[("price", "desc")]) == expected
        assert np.load(index).shape == (SORTABLE,)


def test_first_sorts_at_once_agree_and_leave_one_index(store, tmp_path):
    path = tmp_path / "sortable.csv"
    sortable_file(path)
    owner = viewer(store)
    found = store.add(owner, path, "sortable.csv").dataset
    expected = pd.read_csv(path).sort_values("price", kind="stable", na_position="last")["id"].tolist()
    answers: list[tuple[int, list[int]]] = []

    def read(start: int) -> None:
        rows, _ = store.page(owner, found.id, start, 40, sort=[("price", "asc")])
        answers.append((start, [r["id"] for r in rows]))

    threads = [threading.Thread(target=read, args=(start,)) for start in range(0, SORTABLE, 40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [i for _, ids in sorted(answers) for i in ids] == expected
    assert len(sort_indexes(store, found)) == 1  # (no temporary file left)


def test_a_forked_job_reads_pages_after_its_parent_did(store, tmp_path):
    """The process's DuckDB database is its own: a job forked from a worker that read pages opens
    another, and does not hang on the parent's (whose threads were not forked)."""
    path = tmp_path / "sortable.csv"
    sortable_file(path)
    owner = viewer(store)
    found = store.add(owner, path, "sortable.csv").dataset
    expected = (store.page(owner, found.id, 40, 40, sort=[("when", "desc")]), store.page(owner, found.id))
    child = os.fork()
    if child == 0:  # (the child answers through its exit code only)
        try:
            store.engine.dispose(close=False)
            same = (store.page(owner, found.id, 40, 40, sort=[("when", "desc")]), store.page(owner, found.id))
            os._exit(0 if same == expected else 1)
        except BaseException:
            os._exit(2)
    deadline = time.monotonic() + 60
    while (done := os.waitpid(child, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        pytest.fail("the forked child hung")
    assert os.waitstatus_to_exitcode(done[1]) == 0


def test_the_import_process_answers_as_the_store_would(store, tmp_path, database_url):
    """Uploads are typed and stored by a child process (the worker keeps its size): the same
    dataset, the same rows set aside, the same refusal — said in the user's language."""
    from dashhub.services.dataset_import import ImportFailed, add_in_child

    path = tmp_path / "iris.csv"
    path.write_text(IRIS_LIKE + "1,2,3\n")
    owner = viewer(store, "analyst")
    report = add_in_child(store, database_url, owner, path, "iris.csv")
    assert (report.dataset.rows, report.rejected) == (5, 1)
    assert report.first_rejected == [(7, "expected 5 fields, found 3")]
    assert [d.id for d in store.list(owner)] == [report.dataset.id]
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(DatasetRefused) as refused:
        add_in_child(store, database_url, owner, binary, "image.csv")
    assert refused.value.said("fr") == "le fichier est binaire, ce n’est pas un tableau texte (CSV)"
    with pytest.raises(ImportFailed):
        add_in_child(store, "sqlite:////nonexistent/folder/x.db", owner, path, "iris.csv")
    assert len(store.list(owner)) == 1
