"""Monitoring ML figures: the seed's performance trends with their alert lines, system resources
with their limits, and the drift of a feature's mean and standard deviation against the reference.
Plain dicts from rollup totals."""

from __future__ import annotations

import datetime as dt
import math

from dashhub.domain.monitoring import FeatureTrend, ResourcePoint, Totals
from dashhub.figures.common import PALETTE, Figure, base_layout, empty_figure
from dashhub.i18n import N_, fmt_number, gettext

BLUE, ORANGE, GREEN, RED, GREY = PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3], "#6c757d"
Points = list[tuple[dt.datetime, Totals]]
# words used inside formatted strings (marked here for the catalogs)
HOVER_WORDS = (
    N_("Predictions"),
    N_("Labelled"),
    N_("Refused"),
    N_("Threshold"),
    N_("Reference"),
    N_("Limit"),
    N_("mean"),
    N_("standard deviation"),
)


def _t(locale: str):
    return lambda message: gettext(message, locale)


def _x(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _threshold_shape(value: float, label: str) -> tuple[dict, dict]:
    """A dashed red line across the plot at value, and its label."""
    line = {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "yref": "y",
        "y0": value,
        "y1": value,
        "line": {"color": RED, "width": 2, "dash": "dash"},
    }
    note = {
        "xref": "paper",
        "x": 1,
        "xanchor": "right",
        "yref": "y",
        "y": value,
        "yanchor": "bottom",
        "text": label,
        "showarrow": False,
        "font": {"color": RED, "size": 12},
    }
    return line, note


def _layout(title: str, locale: str, y_title: str, threshold: float | None, label: str, **extra) -> dict:
    shapes, notes = [], []
    if threshold is not None:
        line, note = _threshold_shape(threshold, label)
        shapes, notes = [line], [note]
    return base_layout(
        title,
        locale,
        shapes=shapes,
        annotations=notes,
        hovermode="x unified",
        xaxis={"type": "date"},
        yaxis={"title": {"text": y_title}, "rangemode": "tozero", **extra.pop("yaxis", {})},
        **extra,
    )


def _series(points: Points, value) -> tuple[list[str], list[float | None]]:
    return [_x(moment) for moment, _ in points], [value(t) for _, t in points]


def accuracy_figure(points: Points, threshold: float, min_labelled: int, locale: str) -> Figure:
    """Accuracy per point (from feedback labels; points with fewer than min_labelled labels are
    left out), with the threshold line."""
    t = _t(locale)
    title = t("Accuracy (feedback labels)")
    if not any(total.labelled for _, total in points):
        return empty_figure(title, t("No feedback labels in this period"), locale)
    x, y = _series(points, lambda tot: tot.accuracy if tot.labelled >= min_labelled else None)
    labelled = [tot.labelled for _, tot in points]
    trace = {
        "type": "scatter",
        "mode": "lines+markers",
        "name": t("Accuracy"),
        "x": x,
        "y": y,
        "customdata": labelled,
        "line": {"color": BLUE, "width": 2},
        "marker": {"size": 4},
        "connectgaps": False,
        "hovertemplate": f"%{{y:.3f}} · {t('Labelled')}: %{{customdata}}<extra></extra>",
    }
    layout = _layout(
        title,
        locale,
        t("Accuracy"),
        threshold,
        f"{t('Threshold')} {fmt_number(threshold, 2, locale)}",
        yaxis={"range": [max(0.0, min([v for v in y if v is not None] + [threshold]) - 0.05), 1.01]},
    )
    layout["yaxis"].pop("rangemode", None)
    return {"data": [trace], "layout": layout}


def latency_figure(points: Points, threshold: float, locale: str) -> Figure:
    """Mean latency per point, its p95 and p99, and the alert line."""
    t = _t(locale)
    title = t("Latency (ms)")
    if not any(total.answered for _, total in points):
        return empty_figure(title, t("No predictions in this period"), locale)
    traces = []
    for name, value, colour, dash in (
        (t("Mean"), lambda tot: tot.latency_mean, BLUE, "solid"),
        ("p95", lambda tot: tot.latency_percentile(95), ORANGE, "dot"),
        ("p99", lambda tot: tot.latency_percentile(99), GREY, "dot"),
    ):
        x, y = _series(points, value)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "x": x,
                "y": [None if v is None else round(v, 2) for v in y],
                "line": {"color": colour, "width": 2 if dash == "solid" else 1.5, "dash": dash},
                "hovertemplate": f"{name}: %{{y:.1f}} ms<extra></extra>",
            }
        )
    return {
        "data": traces,
        "layout": _layout(
            title, locale, "ms", threshold, f"{t('Threshold')} {fmt_number(threshold, 0, locale)} ms"
        ),
    }


def volume_figure(points: Points, locale: str) -> Figure:
    """Predictions per point: answered, and refused or failed, stacked."""
    t = _t(locale)
    title = t("Prediction volume")
    if not any(total.count for _, total in points):
        return empty_figure(title, t("No predictions in this period"), locale)
    x = [_x(moment) for moment, _ in points]
    traces = [
        {
            "type": "bar",
            "name": name,
            "x": x,
            "y": [value(total) for _, total in points],
            "marker": {"color": colour},
            "hovertemplate": f"{name}: %{{y}}<extra></extra>",
        }
        for name, value, colour in (
            (t("Answered"), lambda tot: tot.answered, BLUE),
            (t("Refused or failed"), lambda tot: tot.failed, RED),
        )
    ]
    return {"data": traces, "layout": _layout(title, locale, t("Predictions"), None, "", barmode="stack")}


def error_rate_figure(points: Points, threshold: float, locale: str) -> Figure:
    """Refused and failed calls over all calls, per point, with the threshold line (in %)."""
    t = _t(locale)
    title = t("Error rate (%)")
    if not any(total.count for _, total in points):
        return empty_figure(title, t("No predictions in this period"), locale)
    x, y = _series(points, lambda tot: None if tot.error_rate is None else 100 * tot.error_rate)
    trace = {
        "type": "scatter",
        "mode": "lines",
        "name": t("Error rate"),
        "x": x,
        "y": y,
        "fill": "tozeroy",
        "line": {"color": ORANGE, "width": 2},
        "hovertemplate": "%{y:.1f} %<extra></extra>",
    }
    return {
        "data": [trace],
        "layout": _layout(
            title,
            locale,
            "%",
            100 * threshold,
            f"{t('Threshold')} {fmt_number(100 * threshold, 0, locale)} %",
        ),
    }


def _resource_figure(
    hosts: dict[str, list[ResourcePoint]],
    value,
    title: str,
    y_title: str,
    limit: float,
    label: str,
    locale,
    span: tuple[dt.datetime, dt.datetime] | None,
) -> Figure:
    t = _t(locale)
    if not hosts:
        return empty_figure(
            title, t("No resource samples in this period (the scheduler samples them)"), locale
        )
    traces = []
    for index, (host, points) in enumerate(sorted(hosts.items())):
        for name, getter, dash in value:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "marker": {"size": 3},
                    "name": f"{name} · {host}" if len(hosts) > 1 else name,
                    "x": [_x(p.at) for p in points],
                    "y": [round(getter(p), 3) for p in points],
                    "line": {"color": PALETTE[index % len(PALETTE)], "dash": dash, "width": 2},
                }
            )
    layout = _layout(title, locale, y_title, limit, label)
    if span is not None:  # the whole period, even while samples cover only part of it
        layout["xaxis"]["range"] = [_x(span[0]), _x(span[1])]
    return {"data": traces, "layout": layout}


def memory_figure(
    hosts: dict[str, list[ResourcePoint]],
    limit_gb: float,
    locale: str,
    span: tuple[dt.datetime, dt.datetime] | None = None,
) -> Figure:
    """Memory of the serving processes (and of the host, dotted), in GB, with the limit line."""
    t = _t(locale)
    series = (
        (t("Server processes"), lambda p: p.process_memory_gb, "solid"),
        (t("Host"), lambda p: p.host_memory_gb, "dot"),
    )
    return _resource_figure(
        hosts,
        series,
        t("Memory (GB)"),
        "GB",
        limit_gb,
        f"{t('Limit')} {fmt_number(limit_gb, 1, locale)} GB",
        locale,
        span,
    )


def cpu_figure(
    hosts: dict[str, list[ResourcePoint]],
    limit: float,
    locale: str,
    span: tuple[dt.datetime, dt.datetime] | None = None,
) -> Figure:
    """CPU of the host (and of the serving processes, dotted), in %, with the limit line."""
    t = _t(locale)
    series = (
        (t("Host"), lambda p: p.host_cpu, "solid"),
        (t("Server processes"), lambda p: p.process_cpu, "dot"),
    )
    label = f"{t('Limit')} {fmt_number(limit, 0, locale)} %"
    return _resource_figure(hosts, series, t("CPU (%)"), "%", limit, label, locale, span)


def drift_figures(trend: FeatureTrend, locale: str) -> tuple[Figure, Figure]:
    """The seed's pair for one feature: its mean over time and its standard deviation over time,
    each against the reference and the band where 95 % of samples of that size would fall
    without drift."""
    t = _t(locale)
    x = [_x(moment) for moment, *_ in trend.points]
    sizes = [n for _, n, _, _ in trend.points]
    means = [mean for _, _, mean, _ in trend.points]
    stds = [std for _, _, _, std in trend.points]
    ref_mean, ref_std = trend.reference_mean, trend.reference_std
    mean_band = [1.96 * ref_std / math.sqrt(n) if n else None for n in sizes]
    std_band = [1.96 * ref_std / math.sqrt(2 * (n - 1)) if n > 1 else None for n in sizes]
    return (
        _drift_figure(
            f"{trend.feature} · {t('mean')}", x, means, sizes, ref_mean, mean_band, t("Mean"), locale
        ),
        _drift_figure(
            f"{trend.feature} · {t('standard deviation')}",
            x,
            stds,
            sizes,
            ref_std,
            std_band,
            t("Std"),
            locale,
        ),
    )


def _drift_figure(title, x, values, sizes, reference, band, name, locale) -> Figure:
    t = _t(locale)
    if not any(v is not None for v in values):
        return empty_figure(title, t("No predictions in this period"), locale)
    upper = [None if b is None else reference + b for b in band]
    lower = [None if b is None else reference - b for b in band]
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": x,
            "y": upper,
            "line": {"width": 0},
            "showlegend": False,
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": t("Expected without drift (95 %)"),
            "x": x,
            "y": lower,
            "fill": "tonexty",
            "fillcolor": "rgba(0, 158, 115, 0.15)",
            "line": {"width": 0},
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": t("Reference"),
            "x": x,
            "y": [reference] * len(x),
            "line": {"color": GREEN, "dash": "dash", "width": 1.5},
            "hovertemplate": f"{t('Reference')}: %{{y:.4g}}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": x,
            "y": values,
            "customdata": sizes,
            "marker": {"size": 4},
            "line": {"color": BLUE, "width": 2},
            "hovertemplate": f"{name}: %{{y:.4g}} · n = %{{customdata}}<extra></extra>",
        },
    ]
    layout = _layout(title, locale, name, None, "")
    layout["yaxis"].pop("rangemode", None)
    return {"data": traces, "layout": layout}
