"""Ventes shaping and figures, checked against independent pandas on the demo rows."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import pytest

from dashhub.callbacks.sales import filter_from_inputs
from dashhub.demo import demo_sales
from dashhub.domain.sales import SalesFilter, SalesOptions, filter_from_query, query_for
from dashhub.figures.sales import monthly_stacked_figure, sales_animation_figure, sales_trend_figure
from dashhub.services.sales import shape_sales
from dashhub.validation import BadInput

OPTIONS = SalesOptions(
    ("Est", "Nord", "Ouest", "Sud"),
    ("Produit A", "Produit B", "Produit C", "Produit D"),
    dt.date(2024, 1, 1),
    dt.date(2025, 12, 31),
)


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    frame = demo_sales()
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def _shaped(raw: pd.DataFrame, regions=None, start="2024-01-01", end="2025-12-31"):
    rows = raw[(raw["date"] >= start) & (raw["date"] <= end)]
    if regions is not None:
        rows = rows[rows["region"].isin(regions)]
    week = rows["date"] - pd.to_timedelta(rows["date"].dt.day_of_week, unit="D")
    weekly = (
        rows.assign(week=week)
        .groupby(["week", "region"])
        .agg(amount=("amount", "sum"), days=("date", "nunique"))
    )
    weekly_rows = [(w.date(), r, float(a), int(d)) for (w, r), (a, d) in weekly.iterrows()]
    monthly = rows.groupby([rows["date"].dt.year, rows["date"].dt.month, "region", "product"])["amount"].sum()
    monthly_rows = [(int(y), int(m), r, p, float(a)) for (y, m, r, p), a in monthly.items()]
    period = (dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    return shape_sales(weekly_rows, monthly_rows, 0.0, period=period, all_regions=OPTIONS.regions), rows


def test_weekly_lines_sum_to_the_raw_total_per_region(raw):
    data, rows = _shaped(raw)
    for region, series in data.weekly.items():
        assert sum(series.y) == pytest.approx(rows.loc[rows["region"] == region, "amount"].sum(), rel=1e-9)


def test_christmas_peak_is_the_highest_december_week_of_each_year(raw):
    data, rows = _shaped(raw)
    weeks = rows["date"] - pd.to_timedelta(rows["date"].dt.day_of_week, unit="D")
    weekly = rows.assign(week=weeks).groupby(["week", "region"])["amount"].sum()
    assert [p[0][:4] for p in data.peaks] == ["2024", "2025"]
    for week, region, amount in data.peaks:
        december = weekly[[w.month == 12 and w.year == int(week[:4]) for w, _ in weekly.index]]
        assert (pd.Timestamp(week), region) == december.idxmax()
        assert amount == pytest.approx(december.max(), abs=0.01)


def test_stacked_months_and_totals_match_raw_rows(raw):
    data, rows = _shaped(raw, regions=["Nord", "Sud"], start="2024-03-15", end="2025-02-10")
    by_month = rows.groupby(rows["date"].dt.strftime("%Y-%m-01"))["amount"].sum()
    assert data.totals.x == list(by_month.index)
    assert data.totals.y == pytest.approx(list(by_month.values))
    assert set(data.monthly) == {"Nord", "Sud"}
    assert data.kpis.total == pytest.approx(rows["amount"].sum())


def test_kpis_best_region_and_month(raw):
    data, rows = _shaped(raw)
    by_region = rows.groupby("region")["amount"].sum()
    by_month = rows.groupby(rows["date"].dt.strftime("%Y-%m"))["amount"].sum()
    assert data.kpis.best_region == by_region.idxmax()
    assert data.kpis.best_month == by_month.idxmax()
    assert data.kpis.best_month.endswith("-12")  # the demo data peaks at Christmas


def test_figures_are_valid_plotly_and_carry_the_annotation(raw):
    data, _ = _shaped(raw)
    trend = sales_trend_figure(data, "fr")
    go.Figure(trend)
    assert [a["text"] for a in trend["layout"]["annotations"]][:2] == ["Pic de Noël", "Pic de Noël"]
    animation = sales_animation_figure(data, "en")
    go.Figure(animation)
    assert [f["name"] for f in animation["frames"]] == ["2024", "2025"]
    assert [s["label"] for s in animation["layout"]["sliders"][0]["steps"]] == ["2024", "2025"]
    assert animation["layout"]["updatemenus"][0]["buttons"][0]["label"].endswith("Play")
    point = animation["frames"][1]["data"][0]
    assert point["customdata"][0][1:] == [point["name"], 2025]
    stacked = monthly_stacked_figure(data, "fr")
    go.Figure(stacked)
    assert stacked["layout"]["barmode"] == "stack"
    assert stacked["data"][-1]["name"] == "Total"


def test_empty_data_gives_figures_that_say_so(raw):
    data, _ = _shaped(raw, regions=[])
    for build in (sales_trend_figure, sales_animation_figure, monthly_stacked_figure):
        figure = build(data, "en")
        assert figure["data"] == []
        assert figure["layout"]["annotations"][0]["text"] == "No sales match these filters."


def test_url_filter_drops_unknown_values_and_clamps_dates():
    flt = filter_from_query(
        {"region": ["Nord", "Atlantis"], "start": ["1990-01-01"], "end": ["not-a-date"]}, OPTIONS
    )
    assert flt == SalesFilter(("Nord",), OPTIONS.products, dt.date(2024, 1, 1), dt.date(2025, 12, 31))


def test_default_filter_has_an_empty_query_and_others_round_trip():
    everything = OPTIONS.everything()
    assert query_for(everything, OPTIONS) == ""
    narrowed = SalesFilter(("Sud",), ("Produit B",), dt.date(2024, 5, 1), dt.date(2024, 9, 30))
    search = query_for(narrowed, OPTIONS)
    assert search == "?region=Sud&product=Produit+B&start=2024-05-01&end=2024-09-30"
    from dashhub.domain.query import parse_search

    assert filter_from_query(parse_search(search), OPTIONS) == narrowed
    nothing = SalesFilter((), OPTIONS.products, everything.start, everything.end)
    assert filter_from_query(parse_search(query_for(nothing, OPTIONS)), OPTIONS) == nothing


@pytest.mark.parametrize(
    ("regions", "start"),
    [
        (["Atlantis"], "2024-01-01"),
        ("Nord; DROP TABLE sales", "2024-01-01"),
        ({"$ne": 1}, "2024-01-01"),
        (["Nord"] * 500, "2024-01-01"),
        (["Nord"], 20240101),
        (["Nord"], "x" * 10_000),
        (["Nord"], "2024-13-45"),
    ],
)
def test_forged_control_values_are_refused(regions, start):
    with pytest.raises(BadInput):
        filter_from_inputs(regions, list(OPTIONS.products), start, "2025-01-01", OPTIONS)


def test_the_christmas_peak_points_at_a_december_of_the_period_shown(raw):
    """01/01/2025 → 31/12/2025: the week of Monday 30 December 2024 holds only January days here;
    the peak is December 2025's, not the January dip."""
    data, rows = _shaped(raw, start="2025-01-01", end="2025-12-31")
    assert len(data.peaks) == 1
    week, _region, amount = data.peaks[0]
    assert week.startswith("2025-12")
    december = rows[rows["date"].dt.month == 12]
    monday = december["date"] - pd.to_timedelta(december["date"].dt.day_of_week, unit="D")
    assert amount == pytest.approx(december.groupby([monday, "region"])["amount"].sum().max(), abs=0.01)
    trend = sales_trend_figure(data, "fr")
    assert [a["x"] for a in trend["layout"]["annotations"] if a["text"] == "Pic de Noël"] == [week]


def test_no_christmas_peak_without_a_december(raw):
    data, _rows = _shaped(raw, start="2025-02-01", end="2025-10-31")
    assert data.peaks == []
    assert not [
        a for a in sales_trend_figure(data, "fr")["layout"]["annotations"] if a["text"] == "Pic de Noël"
    ]


def test_a_partial_last_week_is_dotted_not_a_drop(raw):
    """The period ends on Wednesday 31 December 2025: that week holds 3 days. It is left out of
    the solid line, joined to it by a dotted segment, and its marker says so."""
    data, _rows = _shaped(raw)
    trend = sales_trend_figure(data, "fr")
    for region in OPTIONS.regions:
        solid = next(t for t in trend["data"] if t["meta"] == "weeks" and t["name"] == region)
        dotted = next(t for t in trend["data"] if t["meta"] == "partial-line" and t["name"] == region)
        marker = next(t for t in trend["data"] if t["meta"] == "partial" and t["name"] == region)
        assert solid["x"][-1] == "2025-12-22" and "2025-12-29" not in solid["x"]
        assert dotted["line"]["dash"] == "dot" and dotted["x"][:2] == ["2025-12-22", "2025-12-29"]
        assert marker["x"] == ["2025-12-29"] and marker["customdata"] == ["semaine incomplète : 3 jours"]
    legend = [t for t in trend["data"] if t["meta"] == "partial-legend"]
    assert [t["name"] for t in legend] == ["semaine partielle (pointillés)"] and legend[0]["line"][
        "dash"
    ] == "dot"


def test_a_region_keeps_its_colour_whatever_is_selected(raw):
    everyone, _ = _shaped(raw)
    nord, _ = _shaped(raw, regions=["Nord"])
    for build in (sales_trend_figure, monthly_stacked_figure):
        colours: dict = {}
        for trace in build(everyone, "fr")["data"]:  # a region's first trace: its line or its bars
            colours.setdefault(trace["name"], trace.get("line", trace.get("marker", {})).get("color"))
        alone = next(t for t in build(nord, "fr")["data"] if t["name"] == "Nord")
        assert alone.get("line", alone.get("marker", {})).get("color") == colours["Nord"]


def test_the_stacked_legend_reads_like_the_stack(raw):
    data, _ = _shaped(raw)
    figure = monthly_stacked_figure(data, "fr")
    assert figure["layout"]["legend"]["traceorder"] == "reversed"
    rendered = go.Figure(figure)  # valid plotly
    assert rendered.layout.barmode == "stack"


def test_tooltips_and_axes_write_amounts_like_the_kpis_in_each_language(raw):
    """French: « Nord : 12 345 € » (a no-break space before the colon and the euro sign);
    English: « Nord: €12,345 », like the KPIs; money axes grouped, never « 50k »."""
    data, _ = _shaped(raw)
    for build in (sales_trend_figure, monthly_stacked_figure, sales_animation_figure):
        french, english = build(data, "fr"), build(data, "en")
        fr_templates = [t["hovertemplate"] for t in french["data"] if "hovertemplate" in t]
        en_templates = [t["hovertemplate"] for t in english["data"] if "hovertemplate" in t]
        assert all("%{y:,.0f}\u00a0€" in h and "\u00a0: " in h for h in fr_templates), fr_templates[:2]
        assert all("€%{y:,.0f}" in h and "\u00a0" not in h for h in en_templates), en_templates[:2]
        assert french["layout"]["yaxis"]["tickformat"] == ",.0f"
