"""Monitoring ML (/ml/monitoring): the seed's two monitoring screens on the served model's traffic:
alert bar, real-time KPIs, performance trends, system resources, data drift, summary, alerts."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashhub.domain.monitoring import CUSTOM, MonitoringView
from dashhub.i18n import gettext as _
from dashhub.layouts.common import chart_card_plain, dropdown_labels, kpi_card, no_data_page, view_state_store

DASHBOARD = "ml_monitoring"


class IDS:
    MODEL = "mon-model"
    PERIOD = "mon-period"
    DATES = "mon-dates"
    DATES_BOX = "mon-dates-box"
    REFRESH = "mon-refresh"
    AUTO = "mon-auto"
    INTERVAL = "mon-interval"
    TICK = "mon-tick"
    STATUS = "mon-status"
    ALERT = "mon-alert"
    WATCHED = "mon-watched"
    KPI_ACCURACY = "mon-kpi-accuracy"
    KPI_LATENCY = "mon-kpi-latency"
    KPI_VOLUME = "mon-kpi-volume"
    KPI_ERRORS = "mon-kpi-errors"
    ACCURACY = "mon-accuracy"
    LATENCY = "mon-latency"
    VOLUME = "mon-volume"
    ERRORS = "mon-errors"
    MEMORY = "mon-memory"
    CPU = "mon-cpu"
    FEATURES = "mon-features"
    DRIFT_VERDICT = "mon-drift-verdict"
    DRIFT_CHARTS = "mon-drift-charts"
    DRIFT_TABLE = "mon-drift-table"
    SUMMARY = "mon-summary"
    ALERTS = "mon-alerts"


def period_options() -> list[dict[str, str]]:
    return [
        {"label": _("24 h"), "value": "24h"},
        {"label": _("7 days"), "value": "7d"},
        {"label": _("30 days"), "value": "30d"},
        {"label": _("Custom"), "value": CUSTOM},
    ]


def no_model_page() -> html.Div:
    return no_data_page(
        _("ML monitoring"),
        _("No model is served yet"),
        _(
            "Deploy a model from the ML explorer (« Deploy »), or run dashhub init --demo; then call "
            "the prediction API (/api/v1) or run dashhub simulate-traffic."
        ),
    )


def layout(view: MonitoringView, models: list[dict[str, str]], refresh_seconds: int) -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.H1(_("Model monitoring"), className="h3 mb-1"),
                    html.P(
                        _(
                            "The model served by the prediction API, on its real traffic: accuracy "
                            "from feedback labels, latency, volume, errors, system resources and drift."
                        ),
                        className="text-secondary mb-3",
                    ),
                ]
            ),
            _controls(view, models, refresh_seconds),
            view_state_store(DASHBOARD),
            dcc.Store(id=IDS.TICK),
            dcc.Interval(
                id=IDS.INTERVAL,
                interval=max(refresh_seconds, 5) * 1000,
                disabled=refresh_seconds == 0,
            ),
            dcc.Loading(html.Div(id=IDS.ALERT, className="mb-3"), type="dot", delay_show=300),
            html.H2(_("Real-time performance"), className="h5 mt-2"),
            html.P(id=IDS.WATCHED, className="small text-secondary mb-2"),
            dbc.Row(
                [
                    kpi_card(IDS.KPI_ACCURACY, _("Accuracy"), "bullseye"),
                    kpi_card(IDS.KPI_LATENCY, _("Latency"), "stopwatch"),
                    kpi_card(IDS.KPI_VOLUME, _("Predictions per day"), "bar-chart"),
                    kpi_card(IDS.KPI_ERRORS, _("Error rate"), "exclamation-triangle"),
                ],
                className="g-3",
            ),
            html.H2(_("Performance trends"), className="h5 mt-3"),
            dbc.Row(
                [
                    dbc.Col(chart_card_plain(IDS.ACCURACY, "monitoring-precision", 360), lg=6),
                    dbc.Col(chart_card_plain(IDS.LATENCY, "monitoring-latence", 360), lg=6),
                    dbc.Col(chart_card_plain(IDS.VOLUME, "monitoring-volume", 360), lg=6),
                    dbc.Col(chart_card_plain(IDS.ERRORS, "monitoring-erreurs", 360), lg=6),
                ],
                className="g-3",
            ),
            html.H2(_("System resources"), className="h5 mt-3"),
            dbc.Row(
                [
                    dbc.Col(chart_card_plain(IDS.MEMORY, "monitoring-memoire", 360), lg=6),
                    dbc.Col(chart_card_plain(IDS.CPU, "monitoring-cpu", 360), lg=6),
                ],
                className="g-3",
            ),
            html.H2(_("Data drift"), className="h5 mt-3"),
            _drift_controls(view),
            dcc.Loading(html.Div(id=IDS.DRIFT_VERDICT, className="mb-2"), type="dot", delay_show=300),
            dcc.Loading(html.Div(id=IDS.DRIFT_CHARTS), type="circle", delay_show=300),
            html.Details(
                [
                    html.Summary(_("Drift tests, every feature"), className="mb-2"),
                    html.Div(id=IDS.DRIFT_TABLE, className="table-responsive"),
                ],
                className="mb-3",
            ),
            html.H2(_("Monitoring summary"), className="h5 mt-3"),
            html.Div(id=IDS.SUMMARY, className="table-responsive mb-3"),
            html.H2(_("Alerts"), className="h5 mt-3"),
            html.Div(id=IDS.ALERTS, className="table-responsive mb-4"),
        ]
    )


def _controls(view: MonitoringView, models: list[dict[str, str]], refresh_seconds: int) -> dbc.Card:
    dates_hidden = "" if view.period == CUSTOM else " d-none"
    return dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label(_("Model version"), html_for=IDS.MODEL),
                            dcc.Dropdown(
                                id=IDS.MODEL,
                                options=models,
                                value=view.model,
                                clearable=False,
                                searchable=False,
                            ),
                        ],
                        md=4,
                    ),
                    dbc.Col(
                        [
                            dbc.Label(_("Period"), html_for=IDS.PERIOD),
                            dbc.RadioItems(
                                id=IDS.PERIOD,
                                options=period_options(),
                                value=view.period,
                                inline=True,
                                className="period-choice",
                            ),
                            html.Div(
                                dcc.DatePickerRange(
                                    id=IDS.DATES,
                                    start_date=view.start.isoformat() if view.start else None,
                                    end_date=view.end.isoformat() if view.end else None,
                                    display_format="DD/MM/YYYY",
                                ),
                                id=IDS.DATES_BOX,
                                className="mt-1" + dates_hidden,
                            ),
                        ],
                        md=5,
                    ),
                    dbc.Col(
                        [
                            dbc.Button(
                                [html.I(className="bi bi-arrow-clockwise me-1"), _("Refresh data")],
                                id=IDS.REFRESH,
                                color="primary",
                                size="sm",
                                className="me-2 mb-1",
                            ),
                            dbc.Switch(
                                id=IDS.AUTO,
                                label=_("Automatic refresh every {seconds} s").format(
                                    seconds=refresh_seconds
                                ),
                                value=refresh_seconds > 0,
                                disabled=refresh_seconds == 0,
                                className="small",
                            ),
                            html.Div(id=IDS.STATUS, className="small text-secondary", role="status"),
                        ],
                        md=3,
                    ),
                ],
                className="g-3",
            ),
            className="pb-2",
        ),
        className="mb-3 filter-card",
    )


def _drift_controls(view: MonitoringView) -> html.Div:
    return html.Div(
        [
            dbc.Label(_("Features to show (default: the most drifted)"), html_for=IDS.FEATURES),
            dcc.Dropdown(
                id=IDS.FEATURES,
                options=[],
                value=list(view.features),
                multi=True,
                labels=dropdown_labels(),
                placeholder=_("The most drifted features"),
            ),
        ],
        className="mb-3",
        style={"maxWidth": "720px"},
    )
