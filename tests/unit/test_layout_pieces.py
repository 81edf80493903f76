"""Shared layout pieces: what users asked for in issue 14, checked on the components."""

from __future__ import annotations

from dash import Dash, dcc

from dashhub.i18n import use_locale
from dashhub.layouts.common import ExportIds, chart_card_plain, filter_actions, range_slider


def _find(component, kind):
    if isinstance(component, kind):
        yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            yield from _find(child, kind)


def test_a_chart_that_updates_stays_in_view_dimmed():
    loading = next(_find(chart_card_plain("g", "file"), dcc.Loading))
    assert loading.overlay_style["visibility"] == "visible" and loading.overlay_style["opacity"] < 1


def test_slider_values_show_once_and_no_unlabelled_number_box():
    slider = range_slider("age", "Âge", 20, 65, [20, 65])[1]
    assert slider.allow_direct_input is False
    assert slider.tooltip["always_visible"] is True


def test_french_users_get_the_french_csv_convention_by_default():
    Dash(__name__)  # (links are made relative to the current app)
    for locale, expected in (("fr", "excel-fr"), ("en", "standard")):
        with use_locale(locale):
            actions = filter_actions("/sales", ExportIds("sales"))
        select = next(c for c in _find(actions, object) if getattr(c, "id", None) == "sales-export-dialect")
        assert select.value == expected
        assert [o["value"] for o in select.options] == ["standard", "excel-fr"]
