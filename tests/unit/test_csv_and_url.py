"""Pure helpers: CSV cells safe from formula injection, filter state in the URL."""

from __future__ import annotations

import pytest

from dashhub.csvsafe import safe_cell
from dashhub.domain.query import encode_search, parse_search


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+cmd", "'+cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("-12.5", "-12.5"),
        ("Nord", "Nord"),
        (None, ""),
    ],
)
def test_safe_cell_neutralises_formulas_but_not_numbers(value, expected):
    assert safe_cell(value) == expected


def test_search_round_trip():
    params = {"region": ["Nord", "Sud"], "product": None, "start": "2024-01-01"}
    search = encode_search(params)
    assert search == "?region=Nord&region=Sud&start=2024-01-01"
    assert parse_search(search) == {"region": ["Nord", "Sud"], "start": ["2024-01-01"]}


def test_malformed_or_huge_search_is_ignored():
    assert parse_search(None) == {}
    assert parse_search("?" + "a=1&" * 5000) == {}
    assert encode_search({}) == ""


def test_export_names_are_safe_and_record_the_filters():
    import datetime as dt

    from dashhub.domain.filenames import MAX_STEM, hr_parts, sales_parts, slug, stem
    from dashhub.domain.hr import HrFilter, HrOptions, Selection
    from dashhub.domain.sales import SalesFilter, SalesOptions

    assert slug("Île-de-France / « Sud »") == "Ile-de-France-Sud"
    assert slug('../../etc"passwd') == "etc-passwd"
    options = SalesOptions(("Nord", "Sud"), ("A", "B"), dt.date(2024, 1, 1), dt.date(2025, 12, 31))
    every = SalesFilter(("Nord", "Sud"), ("A", "B"), dt.date(2024, 1, 1), dt.date(2025, 12, 31))
    assert stem("ventes", sales_parts(every, options)) == "ventes_2024-01-01_2025-12-31"
    some = SalesFilter(("Sud",), (), dt.date(2024, 1, 1), dt.date(2024, 2, 1))
    assert stem("ventes", sales_parts(some, options)) == "ventes_2024-01-01_2024-02-01_Sud_none"
    many = SalesFilter(
        tuple(f"Région {i}" for i in range(60)), ("A",), dt.date(2024, 1, 1), dt.date(2024, 2, 1)
    )
    assert len(stem("ventes", sales_parts(many, options))) <= MAX_STEM
    hr = HrOptions(("HR", "IT"), (0, 40), (20, 65), (30_000, 150_000), 10)
    assert stem("rh", hr_parts(HrFilter(("HR", "IT"), (0, 40), (20, 65)), hr)) == "rh"
    narrowed = HrFilter(("IT",), (5, 40), (20, 65), Selection(department="IT"))
    assert stem("rh", hr_parts(narrowed, hr)) == "rh_IT_exp5-40_selection-IT"
