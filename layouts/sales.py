"""Ventes (/sales): filters, KPI cards and the seed's three sales charts."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashhub.domain.sales import SalesFilter, SalesOptions
from dashhub.i18n import N_, fmt_date
from dashhub.i18n import gettext as _
from dashhub.layouts.common import (
    ExportIds,
    chart_card,
    export_panel,
    filter_actions,
    filter_card,
    help_panel,
    kpi_card,
    multi_select,
    no_data_page,
    view_state_id,
    view_state_store,
)


class IDS:
    REGIONS = "sales-regions"
    PRODUCTS = "sales-products"
    DATES = "sales-dates"
    RESET = "sales-reset"
    KPI_TOTAL = "sales-kpi-total"
    DATA_AS_OF = "sales-data-as-of"
    KPI_GROWTH = "sales-kpi-growth"
    KPI_REGION = "sales-kpi-region"
    KPI_MONTH = "sales-kpi-month"
    TREND = "sales-trend"
    ANIMATION = "sales-animation"
    STACKED = "sales-stacked"
    TREND_HTML = "sales-trend-html"
    ANIMATION_HTML = "sales-animation-html"
    STACKED_HTML = "sales-stacked-html"
    EXPORT = ExportIds("sales")
    QUERY = "sales-query"  # the filters as a query string, for the export
    VIEW = view_state_id("sales")


# What a chart's exported files are called (PNG from its toolbar, HTML from its link), before the
# filters they hold: the same for both formats.
CHART_FILES = {"trend": "ventes-evolution", "animation": "ventes-mois-region", "stacked": "ventes-mensuelles"}
CSV_FILE = "ventes"

# The page's help (« How to read this dashboard »).
HELP = [
    (
        N_("Filters"),
        N_(
            "Regions, products and period apply to every chart and figure. They are kept in the "
            "address: copy it to share this view."
        ),
    ),
    (
        N_("Sales by region over time"),
        N_(
            "One line per region, sales per week. « Christmas peak » marks the highest week of each "
            "December shown. A dotted end is a week the period shows only in part."
        ),
    ),
    (
        N_("Animated by year"),
        N_("▶ Play runs through the years; the slider picks one. With a single year, that year is shown."),
    ),
    (
        N_("Monthly sales by region"),
        N_("Bars stacked by region; hover a month for its total."),
    ),
    (
        N_("Growth"),
        N_(
            "Against the period of the same length just before. When nothing precedes it, the last 12 "
            "months against the 12 before."
        ),
    ),
    (
        N_("Exports"),
        N_(
            "PNG from a chart's toolbar, HTML from the link under it, the filtered rows as CSV (in the "
            "background; « French spreadsheet » uses ; and decimal commas). File names record the "
            "filters."
        ),
    ),
    (
        N_("Keyboard"),
        N_("Tab reaches each chart and its toolbar; the arrow keys move within the toolbar."),
    ),
]


def layout(options: SalesOptions, flt: SalesFilter, locale: str, export_ticket: str) -> html.Div:
    if options.empty:
        return no_data_page(
            _("Sales"),
            _("No sales data yet"),
            _("Load a CSV file with: dashhub load sales FILE.csv (or dashhub init --demo)."),
        )
    return html.Div(
        [
            html.Div(
                [
                    html.H1(_("Sales – interactive charts"), className="h3 mb-1"),
                    html.P(
                        [
                            _("Sales by region, month and year. Every chart and figure follows the filters."),
                            html.Span(
                                " " + _("Data up to {day}.").format(day=fmt_date(options.last_day, locale)),
                                id=IDS.DATA_AS_OF,
                                className="text-nowrap",
                            ),
                        ],
                        className="text-secondary mb-3",
                    ),
                ]
            ),
            help_panel(HELP),
            _filters(options, flt, locale),
            export_panel(IDS.EXPORT, export_ticket),
            dcc.Store(id=IDS.QUERY, data=""),
            view_state_store("sales"),
            dbc.Row(
                [
                    kpi_card(IDS.KPI_TOTAL, _("Total sales"), "cash-stack"),
                    kpi_card(IDS.KPI_GROWTH, _("Growth vs previous period"), "graph-up"),
                    kpi_card(IDS.KPI_REGION, _("Best region"), "geo-alt"),
                    kpi_card(IDS.KPI_MONTH, _("Best month"), "calendar-event"),
                ],
                className="g-3",
            ),
            chart_card(IDS.TREND, IDS.TREND_HTML, CHART_FILES["trend"], locale),
            dbc.Row(
                [
                    dbc.Col(
                        chart_card(IDS.ANIMATION, IDS.ANIMATION_HTML, CHART_FILES["animation"], locale, 520),
                        lg=6,
                    ),
                    dbc.Col(
                        chart_card(IDS.STACKED, IDS.STACKED_HTML, CHART_FILES["stacked"], locale, 520),
                        lg=6,
                    ),
                ]
            ),
        ]
    )


def _filters(options: SalesOptions, flt: SalesFilter, locale: str) -> dbc.Card:
    return filter_card(
        [
            dbc.Col(
                multi_select(
                    IDS.REGIONS,
                    _("Regions"),
                    options.regions,
                    flt.regions,
                    _("Choose one or more regions"),
                    _("All regions ({num_selected})"),
                ),
                md=6,
                xl=3,
            ),
            dbc.Col(
                multi_select(
                    IDS.PRODUCTS,
                    _("Products"),
                    options.products,
                    flt.products,
                    _("Choose one or more products"),
                    _("All products ({num_selected})"),
                ),
                md=6,
                xl=3,
            ),
            dbc.Col(
                [
                    dbc.Label(_("Period"), html_for=IDS.DATES),
                    html.Div(
                        dcc.DatePickerRange(
                            id=IDS.DATES,
                            start_date=flt.start.isoformat(),
                            end_date=flt.end.isoformat(),
                            min_date_allowed=options.first_day.isoformat(),
                            max_date_allowed=options.last_day.isoformat(),
                            display_format="DD/MM/YYYY" if locale == "fr" else "YYYY-MM-DD",
                            first_day_of_week=1,
                            start_date_placeholder_text=_("Start date"),
                            end_date_placeholder_text=_("End date"),
                        ),
                    ),
                ],
                md=8,
                xl=4,
            ),
            dbc.Col(filter_actions("/sales", IDS.EXPORT), md=4, xl=2),
        ]
    )
