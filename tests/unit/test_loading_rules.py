"""The rules a loaded row must follow, checked without a database: one reason per bad row."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from dashhub.exports import csv_lines
from dashhub.services.loading import (
    DATASETS,
    FileRejected,
    LoadReport,
    _chunks,
    validate_employees,
    validate_sales,
)

SALES = ("date", "region", "product", "amount")
EMPLOYEES = DATASETS["employees"].columns
GOOD_EMPLOYEE = ("1", "IT", "30", "5", "60000", "80", "7")


def reason_for_sales(*cells: str) -> str:
    frame = pd.DataFrame([cells], columns=list(SALES), dtype=object)
    return validate_sales(frame)[1].iloc[0]


def reason_for_employee(**changes: str) -> str:
    row = dict(zip(EMPLOYEES, GOOD_EMPLOYEE, strict=True)) | changes
    frame = pd.DataFrame([row], dtype=object)
    return validate_employees(frame)[1].iloc[0]


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        (("2026-01-05", "Nord", "Produit A", "100.50"), ""),
        ((" 2026-01-05 ", " Nord ", "Produit A", " 7 "), ""),
        (("05/01/2026", "Nord", "Produit A", "1"), "date is not a date in YYYY-MM-DD form"),
        (("2026-02-30", "Nord", "Produit A", "1"), "date is not a date in YYYY-MM-DD form"),
        (("1850-01-01", "Nord", "Produit A", "1"), "date is out of range"),
        (("2026-01-05", "", "Produit A", "1"), "region is empty"),
        (("2026-01-05", "N" * 65, "Produit A", "1"), "region is longer than 64 characters"),
        (("2026-01-05", "Nord", "   ", "1"), "product is empty"),
        (("2026-01-05", "Nord", "Produit A", "abc"), "amount is not a number"),
        (("2026-01-05", "Nord", "Produit A", "1e400"), "amount is not a number"),
        (("2026-01-05", "Nord", "Produit A", "nan"), "amount is not a number"),
    ],
)
def test_a_sales_row_gets_its_first_reason(cells, reason):
    assert reason_for_sales(*cells) == reason


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({}, ""),
        ({"age": "200"}, "age is above 100"),
        ({"age": "40.5"}, "age is not a whole number"),
        ({"employee_id": "0"}, "employee_id is below 1"),
        ({"performance": "101"}, "performance is above 100"),
        ({"satisfaction": "11"}, "satisfaction is above 10"),
        ({"salary": "-1"}, "salary is below 0"),
        ({"experience_years": "x"}, "experience_years is not a number"),
        ({"department": ""}, "department is empty"),
    ],
)
def test_an_employee_row_gets_its_first_reason(changes, reason):
    assert reason_for_employee(**changes) == reason


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("day,region,product,price\n", "missing column(s): date, amount"),
        ("date,region,product,amount,amount\n", "a column appears twice"),
    ],
)
def test_a_file_with_the_wrong_columns_is_refused_with_the_expected_ones(text, message):
    report = LoadReport("sales")
    with pytest.raises(FileRejected, match=message.replace("(", r"\(").replace(")", r"\)")):
        list(_chunks(io.StringIO(text), DATASETS["sales"], report))


def test_ragged_and_blank_lines_are_told_apart_by_line_number():
    text = (
        "\ufeffDate,Region,Product,Amount\n2026-01-05,Nord,A,1\n\n"
        "2026-01-06,Sud,A,2,extra\n2026-01-07,Est,B,3\n"
    )
    report = LoadReport("sales")
    chunks = list(_chunks(io.StringIO(text), DATASETS["sales"], report))
    assert [list(c.index) for c in chunks] == [[2, 5]]  # header names are case-insensitive, BOM dropped
    assert [(r.line, r.reason) for r in report.rejected] == [(4, "expected 4 fields, found 5")]


def test_exported_cells_that_a_spreadsheet_would_run_are_neutralised():
    rows = [("2025-12-24", "Nord", '=HYPERLINK("x")', -12.5), ("2025-12-24", "+Sud", "@A1", 3)]
    text = "".join(csv_lines(SALES, rows))
    assert text.splitlines() == [
        "date,region,product,amount",
        '2025-12-24,Nord,"\'=HYPERLINK(""x"")",-12.5',
        "2025-12-24,'+Sud,'@A1,3",
    ]


def test_cached_answers_are_keyed_by_the_code_that_shaped_them(tmp_path, monkeypatch):
    """An upgrade that changes what a cached object holds (a new KPI field) must not read the
    previous release's objects from a cache that outlives it (the file cache, a shared Redis)."""
    import shutil

    from dashhub.services import cache

    key = cache.QueryCache.key("sales", 3, "dashboard", ("x",))
    assert f":v3:{cache.CODE_VERSION}:dashboard:" in key
    package = tmp_path / "dashhub"
    shutil.copytree(Path(cache.__file__).resolve().parents[1] / "domain", package / "domain")
    shutil.copytree(Path(cache.__file__).resolve().parent, package / "services")
    monkeypatch.setattr(cache, "__file__", str(package / "services" / "cache.py"))
    assert cache._code_version() == cache.CODE_VERSION
    with (package / "domain" / "sales.py").open("a") as handle:
        handle.write("\n# a change\n")
    assert cache._code_version() != cache.CODE_VERSION
