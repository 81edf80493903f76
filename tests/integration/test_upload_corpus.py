"""« Vos données »: a corpus of awkward files, each built here, and what becomes of it: stored with
its rows and column types, or refused with a clear message and nothing left behind (no Parquet file
in the user's folder, no row in `datasets`). What the file is comes from its content, never its name
(the names below lie on purpose in places)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import delete, func, select

from dashhub.db import datasets, make_engine
from dashhub.services import xlsx_reader
from dashhub.services.user_datasets import EXAMPLES, DatasetRefused, DatasetStore, Viewer
from tests.conftest import add_users
from tests.support.datasets import viewer


@dataclass(frozen=True)
class Stored:
    rows: int
    types: dict[str, str]
    rejected: list[tuple[int, str]] = field(default_factory=list)
    values: dict[str, list] = field(default_factory=dict)  # the first values of some columns


@dataclass(frozen=True)
class Refused:
    message: str


# --- files, built in the test ---


def text(content: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content.encode(encoding))


def raw(content: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content)


def workbook(path: Path) -> None:
    """A real workbook: the header on row 2, every kind of cell, a blank row, a row too long."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([])
    sheet.append(["name", "amount", "when", "ok", "note"])
    sheet.append(["Pomme", 1.5, dt.datetime(2026, 1, 5), True, "=1+2"])
    sheet.append(["Poire", 12, dt.datetime(2026, 1, 6, 10, 30), False, "<b>bold</b>"])
    sheet.append([])
    sheet.append(["Melon", 1e20, None, True, None, None, "too far"])  # (row 6: longer than the header)
    sheet.append(["Kiwi", -0.25, dt.date(2026, 2, 1), False])  # (trailing cells missing: empty)
    sheet.append(["Pêche", 3, dt.datetime(2026, 2, 2), True, "@SUM(A1)"])
    sheet["E3"].data_type = "s"  # (« =1+2 » typed as text, as Excel keeps « '=1+2 »)
    book.save(path)


def zip_bomb(path: Path) -> None:
    """An .xlsx-shaped zip whose sheet is 300 MB of zeros in about 1 MB (written a chunk at a time)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = bytes(1 << 20)
            for _ in range(300):
                member.write(chunk)


def zipped(members: dict[str, bytes]) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in members.items():
                archive.writestr(name, content)

    return build


def parquet(table: pa.Table) -> Callable[[Path], None]:
    return lambda path: pq.write_table(table, path)


PARQUET_TABLE = pa.table(
    {
        "id": pa.array([1, 2, 3], pa.int64()),
        "price": pa.array([1.5, None, 2.25]),
        "weight": pa.array([1.0, 2.0, 30.0]),  # (whole floats: still numbers)
        "label": pa.array(["a", "b", "a"]).dictionary_encode(),
        "at": pa.array([dt.datetime(2026, 1, 5, 10, 30)] * 3, pa.timestamp("us", tz="UTC")),
        "day": pa.array([dt.date(2026, 1, 5)] * 3, pa.date32()),
        "ok": pa.array([True, False, None]),
    }
)
NESTED_TABLE = pa.table({"id": [1, 2], "tags": pa.array([["a"], ["b", "c"]])})
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(64)
CORRUPT_XLSX = b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 8
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)

CASES = [
    pytest.param(
        text("\ufeffnom,montant\nÉlodie,12.5\nZoë,3\n"),
        "bom.csv",
        Stored(2, {"nom": "category", "montant": "number"}, values={"nom": ["Élodie", "Zoë"]}),
        id="utf8-bom",
    ),
    pytest.param(
        text("nom,ville\nRené,Besançon\nAnaïs,Orléans\n", "latin-1"),
        "latin1.csv",
        Stored(2, {"nom": "category", "ville": "category"}, values={"ville": ["Besançon", "Orléans"]}),
        id="latin-1",
    ),
    pytest.param(
        text("a,b\n1,été\n2,hiver\n", "utf-16"),
        "utf16.csv",
        Stored(2, {"a": "integer", "b": "category"}, values={"b": ["été", "hiver"]}),
        id="utf-16-bom",
    ),
    pytest.param(
        text("produit;prix;quantité\nPomme;1,5;3\nPoire;12,25;1\nMelon;1 234,5;2\nFraise;2.000;4\n"),
        "fr.csv",
        Stored(
            4,
            {"produit": "category", "prix": "number", "quantité": "integer"},
            values={"prix": [1.5, 12.25, 1234.5, 2000.0]},
        ),
        id="semicolon-decimal-comma",
    ),
    pytest.param(
        text("a\tb\tc\n1\tx y\t2026-01-05\n2\tz\t2026-01-06\n"),
        "tabs.txt",
        Stored(2, {"a": "integer", "b": "category", "c": "datetime"}),
        id="tab",
    ),
    pytest.param(
        text('id,comment\n1,"hello, world"\n2,"line one\nline two"\n3,"say ""hi"""\n4,plain\n'),
        "quoted.csv",
        Stored(
            4,
            {"id": "integer", "comment": "category"},
            values={"comment": ["hello, world", "line one\nline two", 'say "hi"', "plain"]},
        ),
        id="quoted-separators-newlines",
    ),
    pytest.param(
        text('a,b,c\n1,2,3\n4,5\n6,"x\ny",8\n9,10,11,12\n13,14,15\n'),
        "ragged.csv",
        Stored(
            3,
            {"a": "integer", "b": "category", "c": "integer"},
            rejected=[(3, "expected 3 fields, found 2"), (6, "expected 3 fields, found 4")],
        ),
        id="ragged-rows-with-lines",
    ),
    pytest.param(
        text("\n\n,,\nx,y\n1,2\n3\n"),
        "late.csv",
        Stored(1, {"x": "integer", "y": "integer"}, rejected=[(6, "expected 2 fields, found 1")]),
        id="header-after-blank-lines",
    ),
    pytest.param(
        text(
            "Rapport des ventes 2025\n\nville;ventes;jour\nLyon;10,5;2026-01-05\nNice;2\n"
            "Paris;1 234,25;2026-01-06\nLille;3;2026-01-07\n"
        ),
        "rapport.csv",
        Stored(
            3,
            {"ville": "category", "ventes": "number", "jour": "datetime"},
            rejected=[(5, "expected 3 fields, found 2")],
            values={"ville": ["Lyon", "Paris", "Lille"], "ventes": [10.5, 1234.25, 3.0]},
        ),
        id="title-blank-line-semicolons-decimal-commas",
    ),
    pytest.param(
        text("Export CRM\nExporté le 03/12/2025\nnom,âge\nAnaïs,31\nRené,45\nZoë,28,x\n"),
        "crm.csv",
        Stored(
            2,
            {"nom": "category", "âge": "integer"},
            rejected=[(6, "expected 2 fields, found 3")],
            values={"nom": ["Anaïs", "René"], "âge": [31, 45]},
        ),
        id="two-title-lines",
    ),
    pytest.param(
        text("Rapport;;;\n;;;\nproduit;prix;stock;\nPomme;1,5;3;\nPoire;2;4;\n", "cp1252"),
        "stock.csv",
        Stored(
            2,
            {"produit": "category", "prix": "number", "stock": "integer"},
            values={"produit": ["Pomme", "Poire"], "prix": [1.5, 2.0]},
        ),
        id="title-with-trailing-separators",
    ),
    pytest.param(
        text("ville\nLyon\nParis\n\nNice\n"),
        "villes.csv",
        Stored(3, {"ville": "category"}, values={"ville": ["Lyon", "Paris", "Nice"]}),
        id="one-column-nothing-skipped",
    ),
    pytest.param(
        text("formula,cmd\n=1+2,+cmd|' /C calc'!A0\n@SUM(A1:A2),-2+3\n=HYPERLINK(\"http://x\")),=A1\n"),
        "formulas.csv",
        Stored(
            3,
            {"formula": "category", "cmd": "category"},
            values={
                "formula": ["=1+2", "@SUM(A1:A2)", '=HYPERLINK("http://x"))'],
                "cmd": ["+cmd|' /C calc'!A0"],
            },
        ),
        id="formula-cells-kept-as-text",
    ),
    pytest.param(
        text('<b>name</b>,"<script>alert(1)</script>"\n<img src=x onerror=alert(1)>,<i>x</i>\n'),
        "html.csv",
        Stored(
            1,
            {"<b>name</b>": "category", "<script>alert(1)</script>": "category"},
            values={
                "<b>name</b>": ["<img src=x onerror=alert(1)>"],
                "<script>alert(1)</script>": ["<i>x</i>"],
            },
        ),
        id="html-in-cells-and-names",
    ),
    pytest.param(raw(b""), "empty.csv", Refused("the file is empty"), id="empty"),
    pytest.param(raw(b"   \n\n"), "blank.csv", Refused("the file is empty"), id="blank-lines-only"),
    pytest.param(raw(b"a,b\n"), "header.csv", Refused("no row under its header"), id="header-only"),
    pytest.param(raw(PNG), "photo.csv", Refused("the file is binary"), id="png-bytes"),
    pytest.param(
        workbook,
        "export.csv",  # (an .xlsx under a CSV name: read as what it is)
        Stored(
            4,
            {"name": "category", "amount": "number", "when": "datetime", "ok": "boolean", "note": "category"},
            rejected=[(6, "expected 5 fields, found 7")],
            values={
                "name": ["Pomme", "Poire", "Kiwi", "Pêche"],
                "amount": [1.5, 12.0, -0.25, 3.0],
                "when": [dt.datetime(2026, 1, 5), dt.datetime(2026, 1, 6, 10, 30), dt.datetime(2026, 2, 1)],
                "note": ["=1+2", "<b>bold</b>", "", "@SUM(A1)"],
            },
        ),
        id="xlsx",
    ),
    pytest.param(zip_bomb, "bomb.xlsx", Refused("possible zip bomb"), id="xlsx-zip-bomb"),
    pytest.param(raw(CORRUPT_XLSX), "broken.xlsx", Refused("the file is damaged"), id="xlsx-corrupt"),
    pytest.param(
        zipped({"xl/workbook.xml": b"<not xml", "[Content_Types].xml": b"<?xml"}),
        "bad.xlsx",
        Refused("the Excel workbook cannot be read"),
        id="xlsx-bad-xml",
    ),
    pytest.param(
        zipped({"data.csv": b"a,b\n1,2\n"}), "data.xlsx", Refused("not an Excel workbook"), id="zip-not-xlsx"
    ),
    pytest.param(raw(OLE), "secret.xlsx", Refused("password-protected"), id="xlsx-encrypted-or-xls"),
    pytest.param(
        parquet(PARQUET_TABLE),
        "table.parquet",
        Stored(
            3,
            {
                "id": "integer",
                "price": "number",
                "weight": "number",
                "label": "category",
                "at": "datetime",
                "day": "datetime",
                "ok": "boolean",
            },
            values={"price": [1.5, None, 2.25], "at": [dt.datetime(2026, 1, 5, 10, 30)]},
        ),
        id="parquet",
    ),
    pytest.param(parquet(NESTED_TABLE), "nested.parquet", Refused("nested values"), id="parquet-nested"),
    pytest.param(
        raw(b"PAR1" + bytes(100)),
        "broken.parquet",
        Refused("not a readable Parquet file"),
        id="parquet-corrupt",
    ),
    pytest.param(
        text("a,b\n1,2\n"),
        "sheet.parquet",
        Stored(1, {"a": "integer", "b": "integer"}),
        id="csv-named-parquet",
    ),
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """One SQLite database with the users for the whole file (made once: hashing their passwords is
    what takes time); each test's datasets are removed after it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('corpus') / 'test.db'}"
    add_users(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine, tmp_path):
    yield DatasetStore(engine, tmp_path / "data")
    with engine.begin() as conn:
        conn.execute(delete(datasets))


def assert_nothing_left(store: DatasetStore, owner: Viewer) -> None:
    assert not list((store.root / "datasets" / str(owner.user_id)).glob("*.parquet"))
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(datasets)).scalar_one() == 0


def assert_stored(store: DatasetStore, owner: Viewer, report, expected: Stored) -> None:
    found = report.dataset
    assert found.rows == expected.rows
    assert {c.name: c.type for c in found.columns} == expected.types
    assert [c.name for c in found.columns] == list(expected.types)  # (the file's order)
    assert (report.rejected, report.first_rejected) == (len(expected.rejected), expected.rejected)
    rows, total = store.page(owner, found.id)
    assert total == expected.rows
    for name, values in expected.values.items():
        assert [row[name] for row in rows[: len(values)]] == values, name
    folder = store.root / "datasets" / str(owner.user_id)
    assert [p.name for p in folder.iterdir()] == [Path(found.stored).name]  # (no staged file left)


@pytest.mark.parametrize(("build", "name", "expected"), CASES)
def test_each_awkward_file_is_stored_or_refused_cleanly(store, tmp_path, build, name, expected):
    path = tmp_path / "upload.bin"
    build(path)
    owner = viewer(store)
    if isinstance(expected, Refused):
        with pytest.raises(DatasetRefused, match=expected.message):
            store.add(owner, path, name)
        assert_nothing_left(store, owner)
    else:
        assert_stored(store, owner, store.add(owner, path, name), expected)
        assert store.list(owner)[0].filename == name


@pytest.mark.parametrize(
    ("bound", "value", "message"),
    [("MAX_UNCOMPRESSED", 1000, "once unzipped: at most 1 GB"), ("MAX_MEMBERS", 3, "at most 3")],
)
def test_a_workbook_over_the_archive_bounds_is_refused(store, tmp_path, monkeypatch, bound, value, message):
    path = tmp_path / "book.xlsx"
    workbook(path)
    monkeypatch.setattr(xlsx_reader, bound, value)  # (a real workbook, bounds lowered under it)
    owner = viewer(store)
    with pytest.raises(DatasetRefused, match=message):
        store.add(owner, path, "book.xlsx")
    assert_nothing_left(store, owner)


def test_a_workbook_without_data_rows_is_refused(store, tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["a", "b"])
    buffer = io.BytesIO()
    book.save(buffer)
    path = tmp_path / "header.xlsx"
    path.write_bytes(buffer.getvalue())
    owner = viewer(store)
    with pytest.raises(DatasetRefused, match="no row under its header"):
        store.add(owner, path, "header.xlsx")
    assert_nothing_left(store, owner)


EXAMPLE_SHAPES = {
    "iris": (150, {"sepal_length": "number", "species": "category", "species_id": "integer"}),
    "wine": (178, {"alcohol": "number", "target": "integer", "class": "category"}),
    "breast_cancer": (569, {"mean radius": "number", "target": "integer", "diagnosis": "category"}),
    "diabetes": (442, {"bmi": "number", "target": "number"}),
}


@pytest.mark.parametrize("key", list(EXAMPLES))
def test_bundled_examples_are_typed_as_their_files_would_be(store, key):
    owner = viewer(store)
    found = store.add_example(owner, key).dataset
    rows, types = EXAMPLE_SHAPES[key]
    assert found.rows == rows and found.name == key
    assert {c.name: c.type for c in found.columns if c.name in types} == types
    if key == "iris":
        assert [c.name for c in found.columns] == [
            "sepal_length",
            "sepal_width",
            "petal_length",
            "petal_width",
            "species",
            "species_id",
        ]
        assert dict(store.summary(owner, found.id, "species")["top"]) == {
            "setosa": 50,
            "versicolor": 50,
            "virginica": 50,
        }
    if key == "breast_cancer":
        assert {v for v, _ in store.summary(owner, found.id, "diagnosis")["top"]} == {"malignant", "benign"}
    if key == "wine":
        assert {v for v, _ in store.summary(owner, found.id, "class")["top"]} == {
            "class_0",
            "class_1",
            "class_2",
        }


def test_an_unknown_example_is_refused(store):
    owner = viewer(store)
    with pytest.raises(DatasetRefused, match="no example"):
        store.add_example(owner, "../../etc/passwd")
    assert_nothing_left(store, owner)
