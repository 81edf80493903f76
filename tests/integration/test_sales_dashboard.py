"""Ventes through the Flask test client on a real database: every number against raw SQL."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dashhub.i18n import fmt_money, fmt_month
from tests.conftest import raw_table
from tests.support.dash_requests import find_prop, page_body, post_sales, sales_outputs, view_search

ALL_REGIONS = ["Est", "Nord", "Ouest", "Sud"]
ALL_PRODUCTS = ["Produit A", "Produit B", "Produit C", "Produit D"]

FILTERS = [
    pytest.param(ALL_REGIONS, ALL_PRODUCTS, "2024-01-01", "2025-12-31", id="everything"),
    pytest.param(["Nord", "Sud"], ALL_PRODUCTS, "2024-03-15", "2025-02-10", id="two-regions-window"),
    pytest.param(ALL_REGIONS, ["Produit C"], "2025-01-01", "2025-12-31", id="one-product-2025"),
    pytest.param(["Ouest"], ["Produit A", "Produit D"], "2024-12-01", "2024-12-31", id="one-december"),
]


def raw_rows(app, regions, products, start, end) -> pd.DataFrame:
    """The raw sales rows in a filter, read with plain SQL (independent of the app)."""
    frame = raw_table(app.server.extensions["dashhub"].settings.database_url, "sales")
    frame["date"] = pd.to_datetime(frame["date"])
    return frame[
        frame["region"].isin(regions)
        & frame["product"].isin(products)
        & (frame["date"] >= start)
        & (frame["date"] <= end)
    ]


@pytest.mark.parametrize(("regions", "products", "start", "end"), FILTERS)
def test_kpis_and_chart_totals_match_the_raw_rows(app, client, regions, products, start, end):
    response = post_sales(client, regions, products, start, end)
    assert response.status_code == 200
    out = sales_outputs(response)
    rows = raw_rows(app, regions, products, start, end)
    total = rows["amount"].sum()

    assert out["sales-kpi-total"] == fmt_money(total, "fr")
    by_region = rows.groupby("region")["amount"].sum()
    assert out["sales-kpi-region"] == f"{by_region.idxmax()} · {fmt_money(by_region.max(), 'fr')}"
    by_month = rows.groupby([rows["date"].dt.year, rows["date"].dt.month])["amount"].sum()
    (year, month), best = by_month.idxmax(), by_month.max()
    assert out["sales-kpi-month"] == f"{fmt_month(year, month, 'fr')} · {fmt_money(best, 'fr')}"

    trend = out["sales-trend"]
    weeks = [t for t in trend["data"] if t["meta"] in ("weeks", "partial")]  # each week once
    assert {t["name"] for t in trend["data"] if t["meta"] == "weeks"} == set(regions)
    assert sum(sum(t["y"]) for t in weeks) == pytest.approx(total, rel=1e-9)
    monday = rows["date"] - pd.to_timedelta(rows["date"].dt.day_of_week, unit="D")
    weekly_raw = rows.groupby([monday.dt.strftime("%Y-%m-%d"), "region"])["amount"].sum()
    weekly_shown = {(x, t["name"]): y for t in weeks for x, y in zip(t["x"], t["y"], strict=True)}
    assert weekly_shown.keys() == set(weekly_raw.index)
    for key, amount in weekly_raw.items():
        assert weekly_shown[key] == pytest.approx(amount, abs=0.006)

    stacked = out["sales-stacked"]
    bars = [t for t in stacked["data"] if t["type"] == "bar"]
    monthly_raw = rows.groupby(rows["date"].dt.strftime("%Y-%m-01"))["amount"].sum()
    totals = stacked["data"][-1]
    assert totals["x"] == list(monthly_raw.index)
    assert totals["y"] == pytest.approx(list(monthly_raw.values), rel=1e-9)
    assert sum(sum(b["y"]) for b in bars) == pytest.approx(total, rel=1e-9)

    animation = out["sales-animation"]
    years = sorted(rows["date"].dt.year.unique())
    if len(years) == 1:  # nothing to animate: the year in the title, no Play, no slider
        assert "frames" not in animation and not animation["layout"].get("sliders")
        assert not animation["layout"].get("updatemenus")
        assert animation["layout"]["title"]["text"].endswith(f"· {years[0]}")
    frames = animation.get("frames") or [{"data": animation["data"]}]
    assert [f["name"] for f in frames if "name" in f] == ([str(y) for y in years] if len(years) > 1 else [])
    frame_total = sum(sum(t["y"]) for f in frames for t in f["data"])
    assert frame_total == pytest.approx(total, rel=1e-9)
    points = sum(len(t["y"]) for f in frames for t in f["data"])
    assert points == len(rows.groupby([rows["date"].dt.to_period("M"), "region", "product"]))


def test_growth_compares_with_the_period_just_before(app, client):
    out = sales_outputs(post_sales(client, ALL_REGIONS, ALL_PRODUCTS, "2025-01-01", "2025-12-31"))
    current = raw_rows(app, ALL_REGIONS, ALL_PRODUCTS, "2025-01-01", "2025-12-31")
    # Same length (365 days) ending the day before: 2024 is a leap year, so it starts on 2 January.
    previous = raw_rows(app, ALL_REGIONS, ALL_PRODUCTS, "2024-01-02", "2024-12-31")
    growth = current["amount"].sum() / previous["amount"].sum() - 1
    assert out["sales-kpi-growth"] == f"+{growth * 100:.1f}\u00a0%".replace(".", ",")


def test_the_whole_history_compares_its_last_12_months_with_the_12_before(app, client):
    """The default view holds every sale: no period before it, so growth is year on year, and
    says so (it used to be an empty « — »)."""
    out = sales_outputs(post_sales(client, ALL_REGIONS, ALL_PRODUCTS, "2024-01-01", "2025-12-31"))
    last = raw_rows(app, ALL_REGIONS, ALL_PRODUCTS, "2025-01-01", "2025-12-31")["amount"].sum()
    before = raw_rows(app, ALL_REGIONS, ALL_PRODUCTS, "2024-01-02", "2024-12-31")["amount"].sum()
    shown = json.dumps(out["sales-kpi-growth"], ensure_ascii=False)
    assert f"+{(last / before - 1) * 100:.1f}\u00a0%".replace(".", ",") in shown
    assert "12 derniers mois" in shown
    # A period of under two years with nothing before it still says there is nothing to compare.
    out = sales_outputs(post_sales(client, ALL_REGIONS, ALL_PRODUCTS, "2024-01-01", "2025-06-30"))
    assert "—" in json.dumps(out["sales-kpi-growth"], ensure_ascii=False)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_no_region_selected_gives_empty_states(client):
    out = sales_outputs(post_sales(client, [], ALL_PRODUCTS, "2024-01-01", "2025-12-31"))
    assert out["sales-kpi-total"] == fmt_money(0, "fr")
    assert out["sales-trend"]["data"] == []
    assert "Aucune vente" in out["sales-trend"]["layout"]["annotations"][0]["text"]
    assert view_search(out, "sales") == "?region=-"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_filter_state_round_trips_through_the_url(client):
    out = sales_outputs(post_sales(client, ["Sud"], ["Produit B"], "2024-05-01", "2024-09-30"))
    search = view_search(out, "sales")
    assert search == "?region=Sud&product=Produit+B&start=2024-05-01&end=2024-09-30"
    assert out["sales-query"] == search, "the export asks for what the page shows"
    assert out['{"dashboard":"sales","type":"view-state"}']["replace"] is False, (
        "a user's change: a new entry"
    )
    assert out["sales-trend-html"] == "/export/sales/trend.html" + search
    page = json.dumps(client.post("/_dash-update-component", json=page_body("/sales", search)).get_json())
    assert '"value": ["Sud"]' in page
    assert '"value": ["Produit B"]' in page
    assert '"start_date": "2024-05-01"' in page
    assert '"end_date": "2024-09-30"' in page


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_charts_png_and_html_have_one_name_that_records_the_filters(client):
    response = post_sales(client, ["Sud", "Nord"], ALL_PRODUCTS, "2024-05-01", "2024-09-30")
    config = response.get_json()["response"]["sales-trend"]["config"]
    stem = "ventes-evolution_2024-05-01_2024-09-30_Nord-Sud"  # (every product: not listed)
    assert config["toImageButtonOptions"]["filename"] == stem
    html = client.get("/export/sales/trend.html?region=Sud&region=Nord&start=2024-05-01&end=2024-09-30")
    assert f'filename="{stem}.html"' in html.headers["Content-Disposition"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_forged_callback_value_gets_a_clean_400(client):
    """The 400 plumbing; every kind of forged value is covered by the unit tests of the checks."""
    response = post_sales(client, ["Atlantis"], ALL_PRODUCTS, "2024-01-01", "2025-12-31")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Traceback" not in body
    assert "invalid value for regions" in body


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_html_export_is_a_standalone_chart(client):
    response = client.get("/export/sales/trend.html?region=Est")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Pic de No" in html
    assert "plotly" in html.lower() and len(html) > 1_000_000  # plotly.js inlined: works offline
    # in the user's language: the page's title and lang, Plotly's French months and toolbar
    assert '<html lang="fr">' in html and "<title>Évolution des ventes par région</title>" in html
    assert '"locale": "fr"' in html and '"janvier"' in html
    assert "T\\u00e9l\\u00e9charger le graphique en PNG" in html  # (JSON-escaped)
    assert client.get("/export/sales/nothing.html").status_code == 404


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_values_the_data_lacks_are_named_not_silently_dropped(client):
    page = client.post("/_dash-update-component", json=page_body("/sales", "?region=Atlantis&region=Nord"))
    text = json.dumps(page.get_json(), ensure_ascii=False)
    assert "région « Atlantis »" in text and "ont été ignorées" in text
    plain = client.post("/_dash-update-component", json=page_body("/sales", "?region=Nord"))
    assert "unknown-values" not in plain.get_data(as_text=True)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_page_says_how_recent_the_data_are(app, client):
    last = raw_table(app.server.extensions["dashhub"].settings.database_url, "sales")["date"].max()
    page = client.post("/_dash-update-component", json=page_body("/sales")).get_json()
    shown = find_prop(page, "sales-data-as-of", "children")
    day = pd.Timestamp(last).date()
    assert shown.strip() == f"Données jusqu’au {day.day} décembre {day.year}." and day.month == 12
