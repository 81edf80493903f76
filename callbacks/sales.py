"""Ventes (/sales): filters → KPIs, three figures, export links and the shareable URL."""

from __future__ import annotations

from dash import Dash, Input, Output, State, ctx, get_relative_path, html
from flask import Response, abort, request

from dashhub.auth.callbacks import secure_callback
from dashhub.callbacks.common import register_all_selected
from dashhub.container import Services
from dashhub.domain.filenames import sales_parts, stem
from dashhub.domain.query import parse_search
from dashhub.domain.sales import SalesFilter, SalesKpis, SalesOptions, filter_from_query, query_for
from dashhub.export_jobs import ExportSource, export_ticket, register_export
from dashhub.exports import chart_html
from dashhub.figures import sales as figures
from dashhub.i18n import N_, current_locale, fmt_money, fmt_month, fmt_percent
from dashhub.i18n import gettext as _
from dashhub.layouts import sales as view
from dashhub.layouts.common import as_json, graph_config, unknown_values_notice, view_state
from dashhub.layouts.sales import CHART_FILES, CSV_FILE, IDS
from dashhub.services.sales import SalesService
from dashhub.shell import PAGE_ROUTE
from dashhub.validation import choices, iso_date


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
    query = parse_search(search)
    flt = filter_from_query(query, options)
    drawn = view.layout(options, flt, current_locale(), export_ticket(services, "sales"))
    unknown = {
        _("region"): [v for v in query.get("region", []) if v not in options.regions and v != "-"],
        _("product"): [v for v in query.get("product", []) if v not in options.products and v != "-"],
    }
    notice = unknown_values_notice(unknown)
    return html.Div([notice, drawn]) if notice is not None else drawn


YEAR_ON_YEAR = N_("last 12 months vs the 12 before")


def kpi_texts(k: SalesKpis) -> tuple[str, str | dict, str, str]:
    if k.best_region is None:
        none = _("No sales")
        return fmt_money(0), "—", none, none
    growth = (
        as_json(
            html.Span(["—", html.Small(" " + _("no sales in the previous period"), className="kpi-note")])
        )
        if k.growth is None
        else as_json(
            html.Span(
                [
                    fmt_percent(k.growth),
                    html.Small(" " + _("last 12 months vs the 12 before"), className="kpi-note"),
                ]
            )
        )
        if k.year_on_year
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
    register_all_selected(app, "sales", IDS.REGIONS)
    register_all_selected(app, "sales", IDS.PRODUCTS)

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
        Output(IDS.TREND, "config"),
        Output(IDS.ANIMATION, "config"),
        Output(IDS.STACKED, "config"),
        Output(IDS.QUERY, "data"),
        Output(IDS.VIEW, "data"),
        Input(IDS.REGIONS, "value"),
        Input(IDS.PRODUCTS, "value"),
        Input(IDS.DATES, "start_date"),
        Input(IDS.DATES, "end_date"),
        State(PAGE_ROUTE, "data"),
    )
    def update_sales(regions, products, start, end, page_route=None):
        options = sales.options()
        flt = filter_from_inputs(regions, products, start, end, options)
        locale = current_locale()
        search = query_for(flt, options)
        data = sales.dashboard(flt)
        chart_links = [get_relative_path(f"/export/sales/{chart}.html") + search for chart in FIGURE_BUILDERS]
        parts = sales_parts(flt, options)  # (the PNG's name records the filters, as the HTML's does)
        configs = [graph_config(stem(CHART_FILES[chart], parts), locale) for chart in FIGURE_BUILDERS]
        return (
            *kpi_texts(data.kpis),
            *(build(data, locale) for build in FIGURE_BUILDERS.values()),
            *chart_links,
            *configs,
            search,
            view_state(search, ctx.triggered_id, page_route),
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
        return chart_html(figure, stem(CHART_FILES[chart], sales_parts(flt, options)) + ".html")

    def prepare_export(query: str):
        flt = filter_from_query(parse_search(query), sales.options())
        return sales.count_rows(flt), csv_rows(sales, flt)

    def export_name(query: str) -> str:
        options = sales.options()
        return stem(CSV_FILE, sales_parts(filter_from_query(parse_search(query), options), options)) + ".csv"

    register_export(
        app,
        services,
        "sales",
        IDS.EXPORT,
        State(IDS.QUERY, "data"),
        ExportSource(CSV_HEADER, export_name, prepare_export),
    )


CSV_HEADER = ("date", "region", "product", "amount")


def csv_rows(sales: SalesService, flt: SalesFilter):
    """The raw rows in flt, as the CSV exports write them."""
    return (
        (day.isoformat(), region, product, f"{amount:.2f}")
        for day, region, product, amount in sales.iter_rows(flt)
    )
