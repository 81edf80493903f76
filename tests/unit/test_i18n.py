"""Translations: both catalogs cover every string in the code; numbers follow the language."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from dashhub.i18n import catalog, fmt_money, fmt_number, fmt_percent, gettext

ROOT = Path(__file__).resolve().parents[2]


def _extracted() -> list[str]:
    spec = importlib.util.spec_from_file_location("update_catalogs", ROOT / "scripts" / "update_catalogs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.extract()


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_catalog_translates_every_string_of_the_code(locale):
    messages = _extracted()
    assert len(messages) > 30
    missing = [m for m in messages if not catalog(locale).get(m)]
    assert missing == [], f"{locale} catalog lacks: {missing}"


def test_french_is_really_french():
    assert gettext("Sales", "fr") == "Ventes"
    assert gettext("Christmas peak", "fr") == "Pic de Noël"
    assert gettext("Sales", "en") == "Sales"


def test_numbers_and_money_follow_the_locale():
    assert fmt_number(96525.4, 0, "fr") == "96\u202f525"
    assert fmt_number(96525.4, 0, "en") == "96,525"
    assert fmt_money(96525.4, "fr") == "96\u202f525\u00a0€"
    assert fmt_money(96525.4, "en") == "€96,525"
    assert fmt_percent(0.1234, "fr") == "+12,3\u00a0%"
    assert fmt_percent(-0.05, "en") == "-5.0%"
