"""« Vos données »: the owner corrects a column's type. The file is rewritten under a new name (the
old one removed), values compared with pandas on the source; a conversion that would lose a value is
refused with how many and examples, and then neither the file nor the row changes."""

from __future__ import annotations

import hashlib
import io

import pandas as pd
import pytest

from dashhub.config import ROLES
from dashhub.services.user_datasets import DatasetNotFound, DatasetRefused, DatasetStore
from tests.support.datasets import viewer

SOURCE = (
    "code,ratio,flag,day,price,species,when,answer,mixed,big,dmy_bad\n"
    "75001,1.0,1,05/01/2026,1.5,setosa,2026-01-05,yes,abc,9007199254740993,05/01/2026\n"
    "13002,2.0,0,06/01/2026,2.25,setosa,2026-01-06 10:30:00,no,12,1,13/45/2020\n"
    "69003,,1,,3,virginica,,yes,,2,\n"
    "33000,-4.0,0,31/12/2025,-0.5,versicolor,2026-01-09,no,abc,3,xyz\n"
    "59000,1e3,1,01/02/2026,7,virginica,2026-02-01,no,2026-13-01,4,31/02/2026\n"
)


def source_frame() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(SOURCE), dtype=str, keep_default_na=False)


def stored_frame(store: DatasetStore, found) -> pd.DataFrame:
    return pd.read_parquet(store.root / found.stored)


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def dataset(store, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(SOURCE)
    owner = viewer(store, "analyst")
    found = store.add(owner, path, "mixed.csv").dataset
    assert {c.name: c.type for c in found.columns} == {
        "code": "integer",
        "ratio": "number",
        "flag": "integer",
        "day": "category",
        "price": "number",
        "species": "category",
        "when": "datetime",
        "answer": "boolean",
        "mixed": "category",
        "big": "integer",
        "dmy_bad": "category",
    }
    return owner, found


def types_of(found) -> dict[str, str]:
    return {c.name: c.type for c in found.columns}


def test_allowed_conversions_keep_every_value_as_pandas_reads_it(store, dataset):
    owner, found = dataset
    source = source_frame()
    present = {name: int((source[name].str.strip() != "").sum()) for name in source}
    before = types_of(found)
    steps = [
        # (column, new type, date format, expected values as pandas reads the source)
        ("code", "category", None, source["code"].tolist()),
        ("ratio", "integer", None, pd.to_numeric(source["ratio"]).astype("Int64").tolist()),
        ("flag", "boolean", None, (source["flag"] == "1").tolist()),
        ("day", "datetime", "%d/%m/%Y", pd.to_datetime(source["day"], format="%d/%m/%Y").tolist()),
        ("price", "text", None, ["1.5", "2.25", "3.0", "-0.5", "7.0"]),
        ("species", "text", None, source["species"].tolist()),
        ("answer", "integer", None, (source["answer"] == "yes").astype(int).tolist()),
        ("when", "text", None, pd.to_datetime(source["when"], format="mixed").astype(str).tolist()),
    ]
    for name, new_type, date_format, expected in steps:
        old_path = store.root / found.stored
        previous = stored_frame(store, found)
        changed, report = store.retype(owner, found.id, name, new_type, date_format=date_format)
        assert report == {"changed": present[name]}, name
        assert changed.stored != found.stored and not old_path.exists(), name
        assert types_of(changed) == {**types_of(found), name: new_type}
        assert changed.rows == found.rows and changed.bytes == (store.root / changed.stored).stat().st_size
        frame = stored_frame(store, changed)
        assert list(frame.columns) == list(source.columns)
        got = [None if pd.isna(v) else v for v in frame[name]]
        want = [None if pd.isna(v) or v == "NaT" else v for v in expected]
        assert got == want, name
        pd.testing.assert_frame_equal(frame.drop(columns=name), previous.drop(columns=name))
        found = changed
    assert store.get(owner, found.id) == found
    # back again: text and category both ways, text to number and datetime
    found, _ = store.retype(owner, found.id, "species", "category")
    found, report = store.retype(owner, found.id, "price", "number")
    assert report == {"changed": 5}
    assert stored_frame(store, found)["price"].tolist() == pd.to_numeric(source["price"]).tolist()
    found, _ = store.retype(owner, found.id, "when", "datetime")
    expected_when = pd.to_datetime(source["when"], format="mixed")
    assert stored_frame(store, found)["when"].tolist()[:2] == expected_when.tolist()[:2]
    # and the reading paths take the new types
    assert store.summary(owner, found.id, "ratio")["mean"] == pytest.approx(
        pd.to_numeric(source["ratio"]).mean()
    )
    assert dict(store.summary(owner, found.id, "flag")["top"]) == {True: 3, False: 2}
    rows, total = store.page(owner, found.id, sort=[("day", "asc")])
    assert total == 5 and rows[0]["code"] == "33000" and rows[-1]["day"] is None
    assert before["code"] == "integer"  # (the first Dataset still says what it was)
    # one file left in the owner's folder: the current one
    assert [p.relative_to(store.root).as_posix() for p in (store.root / "datasets").rglob("*.parquet")] == [
        found.stored
    ]


def test_anything_becomes_text_or_category_and_the_same_type_changes_nothing(store, dataset):
    owner, found = dataset
    for name in ("ratio", "flag", "when", "answer", "big"):
        found, report = store.retype(owner, found.id, name, "text")
        assert report["changed"] == int((source_frame()[name] != "").sum())
    frame = stored_frame(store, found)
    assert frame["big"].tolist() == source_frame()["big"].tolist()
    assert frame["answer"].tolist() == ["true", "false", "true", "false", "false"]
    same, report = store.retype(owner, found.id, "species", "category")
    assert same == found and report == {"changed": 0}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_whole_numbers_written_with_a_decimal_point_become_integers(store, tmp_path):
    path = tmp_path / "whole.csv"
    path.write_text("k,n\na,5.0\nb,-12.000\nc,1e3\nd,\ne,7\n")
    owner = viewer(store, "viewer")
    found = store.add(owner, path, "whole.csv").dataset
    assert types_of(found) == {"k": "category", "n": "number"}
    found, report = store.retype(owner, found.id, "n", "integer")
    assert report == {"changed": 4}
    assert stored_frame(store, found)["n"].astype("Int64").tolist() == [5, -12, 1000, pd.NA, 7]
    found, _ = store.retype(owner, found.id, "n", "text")
    assert [None if pd.isna(v) else v for v in stored_frame(store, found)["n"]] == [
        "5",
        "-12",
        "1000",
        None,
        "7",
    ]
    found, report = store.retype(owner, found.id, "n", "number")
    assert report == {"changed": 4}
    assert stored_frame(store, found)["n"].tolist()[:3] == [5.0, -12.0, 1000.0]


REFUSALS = [
    # (column, new type, date format, message)
    (
        "price",
        "integer",
        None,
        r'^3 values cannot be read as whole numbers, e\.g\. "1\.5", "2\.25", "-0\.5"$',
    ),
    ("mixed", "datetime", None, r'^4 values cannot be read as dates, e\.g\. "abc", "12", "2026-13-01"$'),
    (
        "dmy_bad",
        "datetime",
        "%d/%m/%Y",
        r'^3 values cannot be read as dates, e\.g\. "13/45/2020", "xyz", "31/02/2026"$',
    ),
    ("mixed", "number", None, r'^3 values cannot be read as numbers, e\.g\. "abc", "2026-13-01"$'),
    ("species", "boolean", None, r'^5 values cannot be read as true or false, e\.g\. "setosa", "virginica"'),
    (
        "code",
        "boolean",
        None,
        r'^5 values cannot be read as true or false, e\.g\. "75001", "13002", "69003"$',
    ),
    ("when", "number", None, r"^4 values cannot be read as numbers"),
    ("when", "integer", None, r"^4 values cannot be read as whole numbers"),
    ("answer", "datetime", None, r'^5 values cannot be read as dates, e\.g\. "true", "false"$'),
    (
        "big",
        "number",
        None,
        r'^1 value cannot be held exactly as numbers \(beyond ±2\^53\), e\.g\. "9007199254740993"$',
    ),
    ("day", "integer", None, r'^4 values cannot be read as whole numbers, e\.g\. "05/01/2026"'),
    ("day", "datetime", "%Q", r"^not a date format: « %Q »"),
    ("day", "datetime", "dd/mm/yyyy", r"^not a date format"),
    ("day", "integer", "%d/%m/%Y", r"^a date format applies to dates only$"),
    ("day", "decimal", None, r"^unknown type « decimal »"),
    ("nope", "text", None, r"^no column « nope »"),
]


def test_conversions_that_would_lose_values_are_refused_and_change_nothing(store, dataset):
    owner, found = dataset
    path = store.root / found.stored
    before = digest(path)
    for name, new_type, date_format, message in REFUSALS:
        with pytest.raises(DatasetRefused, match=message):
            store.retype(owner, found.id, name, new_type, date_format=date_format)
        assert store.get(owner, found.id) == found, name
        assert digest(path) == before, name
    # nothing left behind: only the dataset's own file
    assert list((store.root / "datasets").rglob("*.parquet")) == [path]


def test_only_the_owner_retypes_and_others_are_told_it_does_not_exist(store, dataset):
    owner, found = dataset
    found = store.share(owner, found.id, "viewer", ROLES)
    path = store.root / found.stored
    before = digest(path)
    for name in ("viewer", "hr"):  # (viewer reads it, shared with their role; hr does not)
        with pytest.raises(DatasetNotFound):
            store.retype(viewer(store, name), found.id, "ratio", "integer")
    with pytest.raises(DatasetNotFound):
        store.retype(owner, found.id + 1000, "ratio", "integer")
    assert store.get(owner, found.id) == found and digest(path) == before
    # the shared reader sees the owner's correction
    changed, _ = store.retype(owner, found.id, "ratio", "integer")
    assert types_of(store.get(viewer(store, "viewer"), found.id))["ratio"] == "integer"
    assert changed.shared_role == "viewer"


def test_a_refusal_is_said_in_the_users_language(store, dataset):
    owner, found = dataset
    with pytest.raises(DatasetRefused) as refused:
        store.retype(owner, found.id, "species", "boolean")
    assert refused.value.said("fr").startswith("5 valeurs ne se lisent pas comme vrai ou faux, par exemple")
    assert refused.value.said("en") == str(refused.value)
    with pytest.raises(DatasetRefused) as refused:
        store.retype(owner, found.id, "big", "number")
    assert refused.value.said("fr").startswith("1 valeur ne peut pas être gardée exactement en nombres")
