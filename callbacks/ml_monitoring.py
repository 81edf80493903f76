"""Monitoring ML (/ml/monitoring): period, version and refresh → alert bar, KPIs, trends, resources,
drift, summary and alerts, all from one read of the rollups."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from dashhub.auth.callbacks import secure_callback, secure_clientside
from dashhub.container import Services
from dashhub.domain.alerts import AlertState
from dashhub.domain.ml import ModelVersion
from dashhub.domain.monitoring import (
    CUSTOM,
    MAX_CUSTOM_DAYS,
    PERIODS,
    MonitoringView,
    Window,
    coarser,
    model_key,
    query_for,
    view_from_query,
)
from dashhub.domain.query import parse_search
from dashhub.figures import monitoring as figures
from dashhub.i18n import N_, current_locale, fmt_number
from dashhub.i18n import gettext as _
from dashhub.layouts import ml_monitoring as view
from dashhub.layouts.common import as_json, graph_config, view_state, view_state_id
from dashhub.layouts.ml_monitoring import DASHBOARD, IDS
from dashhub.services.cache import QueryCache
from dashhub.services.monitoring import Overview
from dashhub.shell import PAGE_ROUTE
from dashhub.validation import BadInput, choices, iso_date

DEFAULT_DRIFT_FEATURES = 2
# Accuracy and error rate are charted per hour at least, a point with fewer labels than this left
# out: a rate over a handful of calls is noise.
RATE_STEP = dt.timedelta(hours=1)
CHART_MIN_LABELS = 10
MAX_DRIFT_FEATURES = 6


def model_options(models: list[ModelVersion]) -> list[dict[str, str]]:
    return [
        {
            "label": f"{m.name} v{m.version}" + (f" · {_('served')}" if m.active else ""),
            "value": model_key(m.name, m.version),
        }
        for m in models
    ]


def default_model(models: list[ModelVersion]) -> str:
    served = [m for m in models if m.active] or models
    return model_key(served[0].name, served[0].version)


def page(services: Services, search: str) -> object:
    models = services.monitoring.watched()
    if not models:
        return view.no_model_page()
    settings = services.monitoring.settings
    current = view_from_query(
        parse_search(search),
        [model_key(m.name, m.version) for m in models],
        default_model(models),
        settings.default_period,
    )
    return view.layout(current, model_options(models), settings.page_refresh_seconds)


def view_from_inputs(model, period, start, end, features, models: list[ModelVersion]) -> MonitoringView:
    """The view the controls send; a value no control can send is refused with a 400."""
    keys = [model_key(m.name, m.version) for m in models]
    if model not in keys:
        raise BadInput("model", "unknown model version")
    if period not in (*PERIODS, CUSTOM):
        raise BadInput("period", "unknown period")
    chosen = tuple(features or ())
    if not isinstance(features, list | type(None)) or len(chosen) > 50:
        raise BadInput("features", "expected a list of feature names")
    if period == CUSTOM:
        if not (start and end):
            return MonitoringView(model, "24h", features=chosen)
        first, last = sorted((iso_date(start, "start_date"), iso_date(end, "end_date")))
        first = max(first, last - dt.timedelta(days=MAX_CUSTOM_DAYS))  # bounded work per request
        return MonitoringView(model, CUSTOM, first, last, chosen)
    return MonitoringView(model, period, features=chosen)


# --- what the page says about each indicator ---


@dataclass(frozen=True)
class Reading:
    """One indicator now: its value shown, its threshold shown, and how it stands."""

    key: str
    label: str
    value: float | None
    shown: str
    threshold: str
    status: str  # ok | warn | alert | none
    meaning: str


def _status(state: AlertState | None, breached: bool | None) -> str:
    if breached is None:
        return "none"
    if state is not None and state.state == "firing":
        return "alert"
    return "warn" if breached or (state is not None and state.state == "pending") else "ok"


def readings(data: Overview, settings, locale: str) -> list[Reading]:
    t, th, states = data.totals, settings.thresholds, data.states
    accuracy = t.accuracy if t.labelled >= settings.min_labelled else None
    latency = t.latency_mean
    error_rate = t.error_rate
    memory = max((points[-1].process_memory_gb for points in data.resources.values() if points), default=None)
    cpu = max((points[-1].host_cpu for points in data.resources.values() if points), default=None)
    drift = data.drift.drifted_share if data.drift.enough_data else None
    drifted = [f.feature for f in data.drift.features if f.drifted]
    items = [
        (
            "accuracy",
            _("Accuracy"),
            accuracy,
            "—" if accuracy is None else fmt_number(accuracy, 3, locale),
            f"≥ {fmt_number(th.accuracy, 2, locale)}",
            None if accuracy is None else accuracy < th.accuracy,
            _("The model stays above the critical accuracy threshold."),
            _("Accuracy below the threshold: check the recent data, retrain or roll back."),
            _(
                "Not enough feedback labels in this period to judge ({n} of {min}): send the true "
                "labels to POST /api/v1/feedback."
            ).format(n=t.labelled, min=settings.min_labelled),
        ),
        (
            "latency",
            _("Latency"),
            latency,
            "—" if latency is None else f"{fmt_number(latency, 1, locale)} ms",
            f"≤ {fmt_number(th.latency_ms, 0, locale)} ms",
            None if latency is None else latency > th.latency_ms,
            _("Predictions are fast, under the set limit."),
            _("Predictions are slow: look for load peaks or a slow dependency."),
            _("No prediction in this period."),
        ),
        (
            "volume",
            _("Volume"),
            float(t.count),
            fmt_number(t.count, 0, locale),
            "N/A",
            False,
            _("Requests handled in the period: a sign of the system's load."),
            "",
            "",
        ),
        (
            "error_rate",
            _("Errors"),
            error_rate,
            "—" if error_rate is None else f"{fmt_number(100 * error_rate, 1, locale)} %",
            f"≤ {fmt_number(100 * th.error_rate, 0, locale)} %",
            None if error_rate is None else error_rate > th.error_rate,
            _("The error rate stays under control."),
            _("Too many refused or failed calls: look at the API's error messages."),
            _("No prediction in this period."),
        ),
        (
            "memory",
            _("Memory"),
            memory,
            "—" if memory is None else f"{fmt_number(memory, 2, locale)} GB",
            f"≤ {fmt_number(th.memory_gb, 1, locale)} GB",
            None if memory is None else memory > th.memory_gb,
            _("Memory use is within the allowed limit."),
            _("Memory above the limit: look for a leak or add capacity."),
            _("No resource sample yet (the server's scheduler takes them)."),
        ),
        (
            "cpu",
            _("CPU"),
            cpu,
            "—" if cpu is None else f"{fmt_number(cpu, 0, locale)} %",
            f"≤ {fmt_number(th.cpu_percent, 0, locale)} %",
            None if cpu is None else cpu > th.cpu_percent,
            _("Processor use stays moderate."),
            _("Processor near saturation: expect slower answers."),
            _("No resource sample yet (the server's scheduler takes them)."),
        ),
        (
            "drift",
            _("Data drift"),
            drift,
            "—"
            if drift is None
            else _("{n} of {total} features").format(n=len(drifted), total=len(data.drift.features)),
            f"< {fmt_number(100 * settings.drift.dataset_share, 0, locale)} %",
            None if drift is None else drift >= settings.drift.dataset_share or bool(drifted),
            _("No major drift on the monitored features."),
            _("Drift on: {features}.").format(features=", ".join(drifted[:5])),
            _("Too few predictions in this period to test drift ({n} of {min}).").format(
                n=data.drift.features[0].n_current if data.drift.features else 0,
                min=settings.drift.min_samples,
            ),
        ),
    ]
    out = []
    for key, label, value, shown, threshold, breached, good, bad, unknown in items:
        status = _status(states.get(key), breached)
        meaning = unknown if status == "none" else (good if status == "ok" else bad)
        out.append(Reading(key, label, value, shown, threshold, status, meaning))
    return out


STATUS_BADGES = {
    "ok": ("success", "✓", N_("OK")),
    "warn": ("warning", "!", N_("Watch")),
    "alert": ("danger", "✗", N_("Alert")),
    "none": ("secondary", "–", N_("N/A")),
}
SUMMARY_COLUMNS = (N_("Metric"), N_("Current value"), N_("Threshold"), N_("Status"), N_("Interpretation"))
DRIFT_COLUMNS = (
    N_("Feature"),
    "KS",
    N_("p (BH)"),
    "Wasserstein / σ",
    "PSI",
    N_("Mean"),
    N_("Reference mean"),
    N_("Drift"),
)
# words used inside formatted strings (marked here for the catalogs)
WORDS = (N_("served"), N_("Watching"), N_("test accuracy at deployment"))
ALERT_COLUMNS = (N_("Indicator"), N_("Fired"), N_("Value"), N_("Threshold"), N_("Cleared"))


def alert_bar(found: list[Reading], calls: int) -> dict:
    faults = [r for r in found if r.status in ("warn", "alert")]
    if not faults and not calls:
        return as_json(
            dbc.Alert(
                [
                    html.I(className="bi bi-info-circle-fill me-2"),
                    _(
                        "No prediction in this period yet: call the prediction API (/api/v1), or send "
                        "test traffic with dashhub simulate-traffic."
                    ),
                ],
                color="secondary",
                className="mb-0",
                id="mon-alert-bar",
            )
        )
    if not faults:
        return as_json(
            dbc.Alert(
                [
                    html.I(className="bi bi-check-circle-fill me-2"),
                    _("All indicators are within their thresholds"),
                ],
                color="success",
                className="mb-0",
                id="mon-alert-bar",
            )
        )
    red = any(r.status == "alert" for r in faults)
    parts = [f"{r.label} {r.shown} ({r.threshold})" for r in faults]
    heading = _("Alert:") if red else _("To watch:")
    return as_json(
        dbc.Alert(
            [
                html.I(className=f"bi bi-{'x-octagon-fill' if red else 'exclamation-triangle-fill'} me-2"),
                html.Strong(heading + " "),
                " · ".join(parts),
            ],
            color="danger" if red else "warning",
            className="mb-0",
            id="mon-alert-bar",
        )
    )


def kpi(reading: Reading, note: str) -> dict:
    colour = {"ok": "text-success", "warn": "text-warning", "alert": "text-danger"}.get(reading.status, "")
    return as_json(
        html.Div(
            [
                html.Span(reading.shown, className=colour),
                html.Small(note, className="kpi-note d-block"),
            ]
        )
    )


def kpi_cards(data: Overview, found: list[Reading], settings, locale: str) -> list[dict]:
    by_key = {r.key: r for r in found}
    t = data.totals
    p95, p99 = t.latency_percentile(95), t.latency_percentile(99)
    percentiles = (
        f"p95 {fmt_number(p95, 1, locale)} · p99 {fmt_number(p99, 1, locale)} ms · "
        if p95 is not None and p99 is not None
        else ""
    )
    per_day = Reading(
        "per_day", _("Predictions per day"), data.per_day, fmt_number(data.per_day, 0, locale), "", "ok", ""
    )
    return [
        kpi(
            by_key["accuracy"],
            _("{n} feedback labels · threshold {threshold}").format(
                n=fmt_number(t.labelled, 0, locale), threshold=by_key["accuracy"].threshold
            ),
        ),
        kpi(
            by_key["latency"],
            percentiles + _("threshold {threshold}").format(threshold=by_key["latency"].threshold),
        ),
        kpi(per_day, _("{n} calls in the period").format(n=fmt_number(t.count, 0, locale))),
        kpi(
            by_key["error_rate"], _("threshold {threshold}").format(threshold=by_key["error_rate"].threshold)
        ),
    ]


def summary_table(found: list[Reading]) -> dict:
    header = html.Thead(html.Tr([html.Th(_(h)) for h in SUMMARY_COLUMNS]))
    rows = []
    for r in found:
        colour, mark, word = STATUS_BADGES[r.status]
        rows.append(
            html.Tr(
                [
                    html.Td(html.Strong(r.label)),
                    html.Td(r.shown),
                    html.Td(r.threshold),
                    # dark text on the yellow badge: white on it is unreadable (contrast 1.6:1)
                    html.Td(
                        dbc.Badge(
                            f"{mark} {_(word)}",
                            color=colour,
                            text_color="dark" if colour == "warning" else None,
                        )
                    ),
                    html.Td(r.meaning),
                ],
                **{"data-indicator": r.key, "data-status": r.status},
            )
        )
    return as_json(
        dbc.Table([header, html.Tbody(rows)], bordered=False, hover=True, size="sm", id="mon-summary-table")
    )


def drift_table(data: Overview, locale: str) -> dict:
    if not data.drift.enough_data:
        return as_json(
            html.P(_("Too few predictions in this period to test drift."), className="text-secondary")
        )
    header = html.Thead(html.Tr([html.Th(_(h)) for h in DRIFT_COLUMNS]))
    rows = [
        html.Tr(
            [
                html.Td(f.feature),
                html.Td(fmt_number(f.ks_statistic, 3, locale)),
                html.Td(f"{f.p_adjusted:.2g}"),
                html.Td(fmt_number(f.wasserstein_scaled, 2, locale)),
                html.Td(fmt_number(f.psi, 2, locale)),
                html.Td(f"{f.current_mean:.4g}"),
                html.Td(f"{f.reference_mean:.4g}"),
                html.Td(dbc.Badge(_("drift"), color="danger") if f.drifted else "—"),
            ],
            **{"data-feature": f.feature, "data-drifted": "yes" if f.drifted else "no"},
        )
        for f in data.drift.features
    ]
    return as_json(dbc.Table([header, html.Tbody(rows)], size="sm", hover=True, id="mon-drift-tests"))


def drift_verdict(data: Overview, settings, locale: str) -> dict:
    report = data.drift
    if not report.enough_data:
        return as_json(
            dbc.Alert(
                _("Too few predictions in this period to test drift (at least {min}).").format(
                    min=settings.drift.min_samples
                ),
                color="secondary",
                className="py-2",
            )
        )
    drifted = [f.feature for f in report.features if f.drifted]
    label = data.label_drift
    words = [
        _(
            "{n} of {total} features drifted ({share} %; Kolmogorov–Smirnov, Benjamini–Hochberg at {alpha})."
        ).format(
            n=len(drifted),
            total=len(report.features),
            share=fmt_number(100 * report.drifted_share, 0, locale),
            alpha=settings.drift.alpha,
        )
    ]
    if label is not None:
        words.append(
            _("Predicted classes: drifted (chi-square p = {p}).").format(p=f"{label.pvalue:.2g}")
            if label.drifted
            else _("Predicted classes: stable (chi-square p = {p}).").format(p=f"{label.pvalue:.2g}")
        )
    colour = "danger" if report.dataset_drift else ("warning" if drifted else "success")
    return as_json(dbc.Alert(" ".join(words), color=colour, className="py-2", id="mon-drift-alert"))


def drift_charts(data: Overview, chosen: tuple[str, ...], locale: str) -> list[dict]:
    trends = {trend.feature: trend for trend in data.features}
    picked = [f for f in chosen if f in trends][:MAX_DRIFT_FEATURES]
    if not picked:
        picked = [f.feature for f in data.drift.features[:DEFAULT_DRIFT_FEATURES]] or list(trends)[
            :DEFAULT_DRIFT_FEATURES
        ]
    rows = []
    for feature in picked:
        mean_figure, std_figure = figures.drift_figures(trends[feature], locale)
        rows.append(
            html.Div(
                dbc.Row(
                    [
                        dbc.Col(_graph(mean_figure, f"derive-{feature}-moyenne"), lg=6),
                        dbc.Col(_graph(std_figure, f"derive-{feature}-ecart-type"), lg=6),
                    ],
                    className="g-3",
                ),
                className="drift-pair",
                **{"data-feature": feature},
            )
        )
    return as_json(rows)


def _graph(figure: dict, filename: str) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            dcc.Graph(
                figure=figure, config=graph_config(filename, current_locale()), style={"height": "360px"}
            ),
            className="p-2",
        ),
        className="mb-3 chart-card",
    )


def alerts_table(data: Overview, locale: str) -> dict:
    if not data.alerts:
        return as_json(html.P(_("No alert in this period."), className="text-secondary", id="mon-no-alerts"))
    names = {
        "accuracy": _("Accuracy"),
        "latency": _("Latency"),
        "error_rate": _("Errors"),
        "drift": _("Data drift"),
        "cpu": _("CPU"),
        "memory": _("Memory"),
    }
    header = html.Thead(html.Tr([html.Th(_(h)) for h in ALERT_COLUMNS]))
    rows = [
        html.Tr(
            [
                html.Td(names.get(a.indicator, a.indicator)),
                html.Td(_when(a.fired_at)),
                html.Td(indicator_value(a.indicator, a.value, locale)),
                html.Td(indicator_value(a.indicator, a.threshold, locale)),
                html.Td(_when(a.cleared_at) if a.cleared_at else dbc.Badge(_("ongoing"), color="danger")),
            ],
            **{"data-indicator": a.indicator},
        )
        for a in data.alerts[:50]
    ]
    return as_json(dbc.Table([header, html.Tbody(rows)], size="sm", hover=True, id="mon-alerts-table"))


def indicator_value(indicator: str, value: float, locale: str) -> str:
    """A value of an indicator in its unit."""
    if indicator in ("error_rate", "drift"):
        return f"{fmt_number(100 * value, 1, locale)} %"
    if indicator == "latency":
        return f"{fmt_number(value, 1, locale)} ms"
    if indicator == "memory":
        return f"{fmt_number(value, 2, locale)} GB"
    if indicator == "cpu":
        return f"{fmt_number(value, 0, locale)} %"
    return fmt_number(value, 3, locale)


def _when(moment: dt.datetime) -> str:
    return moment.strftime("%d/%m/%Y %H:%M UTC")


def watched_text(model: ModelVersion, window: Window, locale: str) -> str:
    metrics = model.metrics
    accuracy = metrics.get("accuracy")
    trained = f" · {_('test accuracy at deployment')} {fmt_number(accuracy, 3, locale)}" if accuracy else ""
    return (
        f"{_('Watching')} {model.name} v{model.version} ({model.algorithm}, {model.dataset}){trained} · "
        f"{_when(window.start)} → {_when(min(window.end, window.until or window.end))}"
    )


def register(app: Dash, services: Services) -> None:
    monitoring = services.monitoring
    callback = secure_callback(app, DASHBOARD)

    secure_clientside(app, DASHBOARD)(
        # the automatic refresh ticks only while the tab is visible
        "function (n) { return document.hidden ? window.dash_clientside.no_update : n; }",
        Output(IDS.TICK, "data"),
        Input(IDS.INTERVAL, "n_intervals"),
        prevent_initial_call=True,
    )
    secure_clientside(app, DASHBOARD)(
        "function (on) { return !on; }",
        Output(IDS.INTERVAL, "disabled"),
        Input(IDS.AUTO, "value"),
    )
    secure_clientside(app, DASHBOARD)(
        "function (period) { return period === 'custom' ? 'mt-1' : 'mt-1 d-none'; }",
        Output(IDS.DATES_BOX, "className"),
        Input(IDS.PERIOD, "value"),
    )

    @callback(
        Output(IDS.ALERT, "children"),
        Output(IDS.WATCHED, "children"),
        Output(IDS.KPI_ACCURACY, "children"),
        Output(IDS.KPI_LATENCY, "children"),
        Output(IDS.KPI_VOLUME, "children"),
        Output(IDS.KPI_ERRORS, "children"),
        Output(IDS.ACCURACY, "figure"),
        Output(IDS.LATENCY, "figure"),
        Output(IDS.VOLUME, "figure"),
        Output(IDS.ERRORS, "figure"),
        Output(IDS.MEMORY, "figure"),
        Output(IDS.CPU, "figure"),
        Output(IDS.FEATURES, "options"),
        Output(IDS.DRIFT_VERDICT, "children"),
        Output(IDS.DRIFT_CHARTS, "children"),
        Output(IDS.DRIFT_TABLE, "children"),
        Output(IDS.SUMMARY, "children"),
        Output(IDS.ALERTS, "children"),
        Output(IDS.STATUS, "children"),
        Output(view_state_id(DASHBOARD), "data"),
        Input(IDS.MODEL, "value"),
        Input(IDS.PERIOD, "value"),
        Input(IDS.DATES, "start_date"),
        Input(IDS.DATES, "end_date"),
        Input(IDS.FEATURES, "value"),
        Input(IDS.REFRESH, "n_clicks"),
        Input(IDS.TICK, "data"),
        State(PAGE_ROUTE, "data"),
    )
    def update_monitoring(model, period, start, end, features, _clicks, _tick, page_route=None):
        models = monitoring.watched()
        if not models:
            raise PreventUpdate
        current = view_from_inputs(model, period, start, end, features, models)
        chosen = choices(list(current.features), _features_of(models, current.model), "features")
        locale = current_locale()
        now = dt.datetime.now(dt.UTC)
        refreshed = monitoring.ensure_fresh(now, force=ctx.triggered_id == IDS.REFRESH)
        version = next(m for m in models if model_key(m.name, m.version) == current.model)
        window = current.window(now)
        search = query_for(MonitoringView(current.model, current.period, current.start, current.end, chosen))
        # the drawn page of a view is the same until the next refresh: computed once, then shared
        key = QueryCache.key(
            "monitoring", 0, "page", (version.id, window.start, window.end, str(refreshed), locale, chosen)
        )
        drawn = services.cache.get_or_compute(
            key, lambda: draw(monitoring.overview(version, window, refreshed), chosen, locale)
        )
        return (
            *drawn,
            _("Updated at {time} UTC").format(time=refreshed.strftime("%H:%M:%S")),
            view_state(search, ctx.triggered_id, page_route),
        )

    def draw(data: Overview, chosen: tuple[str, ...], locale: str) -> tuple:
        """Every output of the page but the refresh time and the address."""
        settings = monitoring.settings
        found = readings(data, settings, locale)
        th = settings.thresholds
        rates = coarser(data.points, max(data.window.step, RATE_STEP))
        span = (data.window.start, data.window.until or data.window.end)
        return (
            alert_bar(found, data.totals.count),
            watched_text(data.model, data.window, locale),
            *kpi_cards(data, found, settings, locale),
            figures.accuracy_figure(rates, th.accuracy, CHART_MIN_LABELS, locale),
            figures.latency_figure(data.points, th.latency_ms, locale),
            figures.volume_figure(data.points, locale),
            figures.error_rate_figure(rates, th.error_rate, locale),
            figures.memory_figure(data.resources, th.memory_gb, locale, span),
            figures.cpu_figure(data.resources, th.cpu_percent, locale, span),
            [{"label": f.feature, "value": f.feature} for f in data.drift.features],
            drift_verdict(data, settings, locale),
            drift_charts(data, chosen, locale),
            drift_table(data, locale),
            summary_table(found),
            alerts_table(data, locale),
        )


def _features_of(models: list[ModelVersion], key: str) -> list[str]:
    model = next(m for m in models if model_key(m.name, m.version) == key)
    return [f["name"] for f in model.features]
