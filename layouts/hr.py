"""RH (/hr): filters, KPI cards, the seed's four HR charts, cross-filtering and the employee table."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashhub.domain.hr import HrFilter, HrOptions, selection_to_store
from dashhub.i18n import N_
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
    paged_grid,
    range_slider,
    view_state_id,
    view_state_store,
)


class IDS:
    DEPARTMENTS = "hr-department-filter"
    EXPERIENCE = "hr-experience"
    AGE = "hr-age"
    SELECTION = "hr-selection"
    SELECTION_TEXT = "hr-selection-text"
    SELECTION_REFUSED = "hr-selection-refused"
    CLEAR_SELECTION = "hr-clear-selection"
    KPI_COUNT = "hr-kpi-count"
    KPI_SALARY = "hr-kpi-salary"
    KPI_PERFORMANCE = "hr-kpi-performance"
    KPI_SATISFACTION = "hr-kpi-satisfaction"
    SALARY = "hr-salary"
    SCATTER = "hr-scatter"
    DEPARTMENT_BARS = "hr-departments"
    HEATMAP = "hr-heatmap"
    SALARY_HTML = "hr-salary-html"
    SCATTER_HTML = "hr-scatter-html"
    DEPARTMENT_BARS_HTML = "hr-departments-html"
    HEATMAP_HTML = "hr-heatmap-html"
    TABLE = "hr-table"
    TABLE_REFRESHED = "hr-table-refreshed"
    TABLE_COUNT = "hr-table-count"
    EXPORT = ExportIds("hr")
    QUERY = "hr-query"  # the filters and the chart selection as a query string, for the exports
    VIEW = view_state_id("hr")


# What a chart's exported files are called (PNG from its toolbar, HTML from its link), before the
# filters they hold: the same for both formats.
CHART_FILES = {
    "salary": "rh-salaires",
    "scatter": "rh-performance-salaire",
    "departments": "rh-performance-departement",
    "heatmap": "rh-satisfaction",
}
CSV_FILE = "rh"

# The page's help (« How to read this dashboard »).
HELP = [
    (
        N_("Filters"),
        N_(
            "Departments, experience and age apply to every chart, figure and the table. They are kept "
            "in the address: copy it to share this view. Experience counts completed years: 0–5 keeps "
            "everyone below 6 years (5.9 years included), 6–10 starts at 6.0 years."
        ),
    ),
    (
        N_("Selecting on the charts"),
        N_(
            "Click a department's bar or a heatmap cell, or draw a box or a lasso on the scatter: every "
            "chart and the table keep only those employees. « Clear selection » undoes it."
        ),
    ),
    (
        N_("Performance by department"),
        N_("Mean score with its 95 % confidence interval; bars start at zero."),
    ),
    (
        N_("Satisfaction by age and experience"),
        N_("Mean satisfaction per cell; a cell of too few employees is left blank (the note says how many)."),
    ),
    (
        N_("Employee table"),
        N_("Sorted and paged on the server, 20 rows per page."),
    ),
    (
        N_("Exports"),
        N_(
            "PNG from a chart's toolbar, HTML from the link under it, the filtered employees as CSV (in "
            "the background). File names record the filters."
        ),
    ),
]


def layout(options: HrOptions, flt: HrFilter, locale: str, export_ticket: str) -> html.Div:
    if options.empty:
        return no_data_page(
            _("Interactive HR dashboard"),
            _("No employee data yet"),
            _("Load a CSV file with: dashhub load employees FILE.csv (or dashhub init --demo)."),
        )
    return html.Div(
        [
            html.H1(_("Interactive HR dashboard"), className="h3 mb-1"),
            html.P(
                _("Employees by department, age and experience: filters and chart selections update all."),
                className="text-secondary mb-3",
            ),
            help_panel(HELP),
            _filters(options, flt),
            export_panel(IDS.EXPORT, export_ticket),
            dcc.Store(id=IDS.SELECTION, data=selection_to_store(flt.selection)),
            dcc.Store(id=IDS.QUERY, data=""),
            view_state_store("hr"),
            dcc.Store(id=IDS.TABLE_REFRESHED),
            dcc.Store(id=IDS.TABLE_COUNT),
            html.Div(
                [
                    html.Span(id=IDS.SELECTION_TEXT, className="small text-secondary"),
                    html.Span(id=IDS.SELECTION_REFUSED, className="small text-danger", role="status"),
                    dbc.Button(
                        [html.I(className="bi bi-x-circle me-1"), _("Clear chart selection")],
                        id=IDS.CLEAR_SELECTION,
                        color="secondary",
                        outline=True,
                        size="sm",
                        disabled=True,
                    ),
                ],
                className="d-flex gap-3 align-items-center mb-3 flex-wrap",
            ),
            dbc.Row(
                [
                    kpi_card(IDS.KPI_COUNT, _("Employees"), "people", xs=6),
                    kpi_card(IDS.KPI_SALARY, _("Mean salary"), "cash-coin", xs=6),
                    kpi_card(IDS.KPI_PERFORMANCE, _("Mean performance"), "speedometer2", xs=6),
                    kpi_card(IDS.KPI_SATISFACTION, _("Mean satisfaction"), "emoji-smile", xs=6),
                ],
                className="g-3",
            ),
            dbc.Row(
                [
                    dbc.Col(chart_card(IDS.SALARY, IDS.SALARY_HTML, CHART_FILES["salary"], locale), lg=6),
                    dbc.Col(
                        chart_card(
                            IDS.SCATTER, IDS.SCATTER_HTML, CHART_FILES["scatter"], locale, selectable=True
                        ),
                        lg=6,
                    ),
                    dbc.Col(
                        chart_card(
                            IDS.DEPARTMENT_BARS,
                            IDS.DEPARTMENT_BARS_HTML,
                            CHART_FILES["departments"],
                            locale,
                        ),
                        lg=6,
                    ),
                    dbc.Col(chart_card(IDS.HEATMAP, IDS.HEATMAP_HTML, CHART_FILES["heatmap"], locale), lg=6),
                ]
            ),
            html.H2(_("Employees"), className="h5 mt-2"),
            paged_grid(IDS.TABLE, _columns(), _("No employee matches these filters."), 640, "mb-4"),
        ]
    )


def _columns() -> list[dict]:
    number = {"type": "numericColumn"}
    return [
        {"field": "employee_id", "headerName": _("ID"), **number},
        {"field": "department", "headerName": _("Department")},
        {"field": "age", "headerName": _("Age"), **number},
        {"field": "experience_years", "headerName": _("Experience (years)"), **number},
        {"field": "salary", "headerName": _("Salary (€)"), **number},
        {"field": "performance", "headerName": _("Performance"), **number},
        {"field": "satisfaction", "headerName": _("Satisfaction"), **number},
    ]


def _filters(options: HrOptions, flt: HrFilter) -> dbc.Card:
    exp_low, exp_high = options.experience
    age_low, age_high = options.age
    return filter_card(
        [
            dbc.Col(
                multi_select(
                    IDS.DEPARTMENTS,
                    _("Departments"),
                    options.departments,
                    flt.departments,
                    _("Choose one or more departments"),
                    _("All departments ({num_selected})"),
                ),
                md=12,
                xl=4,
            ),
            dbc.Col(
                range_slider(
                    IDS.EXPERIENCE, _("Experience (completed years)"), exp_low, exp_high, flt.experience
                ),
                md=6,
                xl=3,
                className="slider-col",
            ),
            dbc.Col(
                range_slider(IDS.AGE, _("Age"), age_low, age_high, flt.age),
                md=6,
                xl=3,
                className="slider-col",
            ),
            dbc.Col(filter_actions("/hr", IDS.EXPORT), md=12, xl=2),
        ]
    )
