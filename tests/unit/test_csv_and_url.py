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
