"""Ventes (/sales): filters → KPIs, three figures, export links and the shareable URL."""

from __future__ import annotations

import datetime as dt

from dash import Dash, Input, Output, State, get_relative_path, html
from flask import Response, abort, request

from dashhub.auth.callbacks import secure_callback
from dashhub.export_jobs import ExportSource, export_ticket, register_export
from dashhub.exports import chart_html, csv_download
from dashhub.figures import sales as figures
from dashhub.i18n import current_locale, fmt_money, fmt_month, fmt_percent
from dashhub.i18n import gettext as _
from dashhub.layouts import sales as view
from dashhub.layouts.common import as_json
from dashhub.layouts.sales import IDS
from dashhub.services import Services
from dashhub.services.sales import SalesFilter, SalesKpis, SalesOptions, SalesService
from dashhub.urlstate import encode_search, parse_search
from dashhub.validation import choices, iso_date

# --- filter state: URL ⇄ SalesFilter ---


def filter_from_query(query: dict[str, list[str]], options: SalesOptions) -> SalesFilter:
    """The filter a URL asks for; unknown values are dropped, dates clamped to the data."""
    everything = options.everything()
    regions = _known(query.get("region"), options.regions)
    products = _known(query.get("product"), options.products)
    start = _clamped_date(query.get("start"), everything.start, everything)
    end = _clamped_date(query.get("end"), everything.end, everything)
    if start > end:
        start, end = end, start
    return SalesFilter(regions, products, start, end)


def query_for(flt: SalesFilter, options: SalesOptions) -> str:
    """The shortest query string for flt: what equals the default (everything) is left out."""
    everything = options.everything()
    return encode_search(
        {
            "region": None if set(flt.regions) == set(options.regions) else list(flt.regions) or ["-"],
            "product": None if set(flt.products) == set(options.products) else list(flt.products) or ["-"],
            "start": None if flt.start == everything.start else flt.start.isoformat(),
            "end": None if flt.end == everything.end else flt.end.isoformat(),
        }
    )


def _known(values: list[str] | None, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if values is None:
        return allowed
    return tuple(v for v in dict.fromkeys(values) if v in allowed)


def _clamped_date(values: list[str] | None, default: dt.date, bounds: SalesFilter) -> dt.date:
    if not values:
        return default
    try:
        day = dt.date.fromisoformat(values[-1][:10])
    except ValueError:
        return default
    return min(max(day, bounds.start), bounds.end)


def filter_from_inputs(regions, products, start, end, options: SalesOptions) -> SalesFilter:
    """The filter the controls send; anything outside their domain is refused with a 400."""
    flt = SalesFilter(
        choices(regions, options.regions, "regions"),
        choices(products, options.products, "products"),
        iso_date(start, "start_date"),
        iso_date(end, "end_date"),
    )
    if flt.start > flt.end:
        flt = SalesFilter(flt.regions, flt.products, flt.end, flt.start)
    return flt


# --- page and outputs ---


def page(services: Services, search: str) -> object:
    options = services.sales.options()
    flt = filter_from_query(parse_search(search), options)
    return view.layout(options, flt, current_locale(), export_ticket(services, "sales"))


def kpi_texts(k: SalesKpis) -> tuple[str, str | dict, str, str]:
    if k.best_region is None:
        none = _("No sales")
        return fmt_money(0), "—", none, none
    growth = (
        as_json(
            html.Span(["—", html.Small(" " + _("no sales in the previous period"), className="kpi-note")])
        )
        if k.growth is None
        else fmt_percent(k.growth)
    )
    year, month = (int(part) for part in k.best_month.split("-"))
    return (
        fmt_money(k.total),
        growth,
        f"{k.best_region} · {fmt_money(k.best_region_total)}",
        f"{fmt_month(year, month)} · {fmt_money(k.best_month_total)}",
    )


FIGURE_BUILDERS = {
    "trend": figures.sales_trend_figure,
    "animation": figures.sales_animation_figure,
    "stacked": figures.monthly_stacked_figure,
}


def register(app: Dash, services: Services) -> None:
    sales = services.sales
    callback = secure_callback(app, "sales")

    @callback(
        Output(IDS.KPI_TOTAL, "children"),
        Output(IDS.KPI_GROWTH, "children"),
        Output(IDS.KPI_REGION, "children"),
        Output(IDS.KPI_MONTH, "children"),
        Output(IDS.TREND, "figure"),
        Output(IDS.ANIMATION, "figure"),
        Output(IDS.STACKED, "figure"),
        Output(IDS.TREND_HTML, "href"),
        Output(IDS.ANIMATION_HTML, "href"),
        Output(IDS.STACKED_HTML, "href"),
        Output("url", "search"),
        Input(IDS.REGIONS, "value"),
        Input(IDS.PRODUCTS, "value"),
        Input(IDS.DATES, "start_date"),
        Input(IDS.DATES, "end_date"),
    )
    def update_sales(regions, products, start, end):
        options = sales.options()
        flt = filter_from_inputs(regions, products, start, end, options)
        locale = current_locale()
        search = query_for(flt, options)
        data = sales.dashboard(flt)
        chart_links = [get_relative_path(f"/export/sales/{chart}.html") + search for chart in FIGURE_BUILDERS]
        return (
            *kpi_texts(data.kpis),
            *(build(data, locale) for build in FIGURE_BUILDERS.values()),
            *chart_links,
            search,
        )

    server = app.server

    @server.route(f"{services.prefix}/export/sales/<chart>.html", endpoint="export_sales_chart")
    def export_chart(chart: str) -> Response:
        services.access.require("sales")
        if chart not in FIGURE_BUILDERS:
            abort(404)
        options = sales.options()
        flt = filter_from_query(parse_search(request.query_string.decode("latin-1")), options)
        figure = FIGURE_BUILDERS[chart](sales.dashboard(flt), current_locale())
        services.audit.record(
            "export",
            dashboard="sales",
            format="html",
            chart=chart,
            query=request.query_string.decode("latin-1"),
        )
        return chart_html(figure, f"ventes-{chart}.html")

    @server.route(f"{services.prefix}/export/sales.csv", endpoint="export_sales_csv")
    def export_csv() -> Response:
        services.access.require("sales")
        options = sales.options()
        flt = filter_from_query(parse_search(request.query_string.decode("latin-1")), options)
        services.audit.record(
            "export", dashboard="sales", format="csv", query=request.query_string.decode("latin-1")
        )
        return csv_download(CSV_HEADER, csv_rows(sales, flt), "ventes.csv")

    def prepare_export(query: str):
        flt = filter_from_query(parse_search(query), sales.options())
        return sales.count_rows(flt), csv_rows(sales, flt)

    register_export(
        app,
        services,
        "sales",
        IDS.EXPORT,
        State("url", "search"),
        ExportSource(CSV_HEADER, "ventes.csv", prepare_export),
    )


CSV_HEADER = ("date", "region", "product", "amount")


def csv_rows(sales: SalesService, flt: SalesFilter):
    """The raw rows in flt, as the CSV exports write them."""
    return (
        (day.isoformat(), region, product, f"{amount:.2f}")
        for day, region, product, amount in sales.iter_rows(flt)
    )
