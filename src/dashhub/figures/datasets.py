"""Figures of the chart builder (« Vos données »): a ChartData table drawn with graph_objects.

The tables are already aggregated, binned or sampled by DuckDB: here they are only laid out, a
trace per colour group and a panel per facet value; what was left out or summarised is said
under the title.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashhub.domain.charts import ChartData
from dashhub.figures.common import PALETTE, base_layout
from dashhub.i18n import N_, fmt_number
from dashhub.i18n import gettext as _

FACET_COLUMNS = 3
MARKER_SIZES = (5.0, 26.0)  # (the smallest and the largest marker of a size encoding, in px)
AGGREGATE_LABELS = {  # msgids: translated where shown
    "count": N_("Number of rows"),
    "sum": N_("Sum of {column}"),
    "mean": N_("Mean of {column}"),
    "median": N_("Median of {column}"),
    "min": N_("Minimum of {column}"),
    "max": N_("Maximum of {column}"),
}
UNIT_NAMES = {
    "second": N_("second"),
    "minute": N_("minute"),
    "hour": N_("hour"),
    "day": N_("day"),
    "week": N_("week"),
    "month": N_("month"),
    "quarter": N_("quarter"),
    "year": N_("year"),
}


def value_label(data: ChartData) -> str:
    spec = data.spec
    if data.spec.kind == "histogram" or spec.agg == "count":
        return _(AGGREGATE_LABELS["count"])
    column = spec.color if spec.kind == "heatmap" else spec.y
    return _(AGGREGATE_LABELS[spec.agg]).format(column=column)


def chart_title(data: ChartData) -> str:
    spec = data.spec
    if spec.kind == "scatter":
        return _("{y} against {x}").format(y=spec.y, x=spec.x)
    if spec.kind == "box":
        return _("{y} by {x}").format(y=spec.y, x=spec.x) if spec.x else spec.y or ""
    if spec.kind == "heatmap":
        return _("{value} by {x} and {y}").format(value=value_label(data), x=spec.x, y=spec.y)
    return _("{value} by {x}").format(value=value_label(data), x=spec.x)


def notes_text(data: ChartData, locale: str) -> str:
    """What the chart leaves out or summarises, in a sentence (« Shown: … »)."""
    said = []
    for msgid, fields in data.notes:
        shown = {
            key: fmt_number(value, locale=locale)
            if isinstance(value, int) and not isinstance(value, bool)
            else value
            for key, value in fields.items()
        }
        if "role" in shown:
            shown["role"] = _(shown["role"])
        if "unit" in shown:
            shown["unit"] = _(UNIT_NAMES.get(shown["unit"], shown["unit"]))
        said.append(_(msgid).format(**shown))
    return _("Shown: {notes}.").format(notes="; ".join(said)) if said else ""


def chart_figure(data: ChartData, locale: str) -> go.Figure:
    """The figure of data: one panel, or a panel per facet value."""
    spec = data.spec
    keyed = 1 if spec.facet else 0
    facets = _facet_values(data, keyed)
    rows = max(1, math.ceil(len(facets) / FACET_COLUMNS)) if spec.facet else 1
    columns = min(len(facets), FACET_COLUMNS) if spec.facet else 1
    if spec.facet:
        figure = make_subplots(
            rows=rows,
            cols=columns,
            subplot_titles=[f"{spec.facet} = {value}" for value in facets],
            shared_yaxes=True,
            horizontal_spacing=0.06,
            vertical_spacing=0.12,
        )
    else:
        figure = go.Figure()
    draw = _DRAWERS[data.shape]
    colours: dict[str, str] = {}
    for index, facet in enumerate(facets):
        rows_of = [row[keyed:] for row in data.rows if not spec.facet or row[0] == facet]
        place = {"row": index // FACET_COLUMNS + 1, "col": index % FACET_COLUMNS + 1} if spec.facet else {}
        for trace in draw(data, rows_of, colours, first=index == 0):
            figure.add_trace(trace, **place)
    title = chart_title(data)
    notes = notes_text(data, locale)
    layout = base_layout(
        title + (f"<br><sup>{notes}</sup>" if notes else ""),
        locale,
        showlegend=bool(spec.color) and data.shape in ("groups", "points", "boxes"),
        margin={"l": 64, "r": 16, "t": 96 if notes else 72, "b": 56},
        barmode="stack" if spec.kind == "histogram" else "group",
        boxmode="group",
        bargap=0.02 if data.x_width else 0.15,
    )
    figure.update_layout(**layout)
    figure.update_layout(legend_itemsizing="constant")  # (a size encoding: legend marks all alike)
    if not spec.facet:
        figure.update_xaxes(title=spec.x or "")
        figure.update_yaxes(title=_axis_title(data))
    if spec.facet:
        figure.update_annotations(font_size=12)
    return figure


def _axis_title(data: ChartData) -> str:
    if data.shape in ("points", "density", "cells", "boxes"):
        return data.spec.y or ""
    return value_label(data)


def _facet_values(data: ChartData, keyed: int) -> list[Any]:
    if not keyed:
        return [None]
    seen: dict[Any, None] = {}
    for row in data.rows:
        seen.setdefault(row[0], None)
    return list(seen) or [None]


def _colour(colours: dict[str, str], name: str) -> str:
    """The same colour for a group in every panel."""
    if name not in colours:
        colours[name] = PALETTE[len(colours) % len(PALETTE)]
    return colours[name]


def _by_colour(data: ChartData, rows: list[tuple]) -> dict[str, list[tuple]]:
    groups: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        if data.spec.color:
            groups["" if row[0] is None else str(row[0])].append(row[1:])
        else:
            groups[""].append(row)
    return groups


def _groups(
    data: ChartData, rows: list[tuple], colours: dict[str, str], first: bool
) -> list[go.BaseTraceType]:
    """bar, line and histogram: (colour,) x, value."""
    traces = []
    label = value_label(data)
    for name, values in _by_colour(data, rows).items():
        xs, ys = [r[0] for r in values], [r[1] for r in values]
        colour = _colour(colours, name)
        common = {"x": xs, "y": ys, "name": name or label, "legendgroup": name, "showlegend": first}
        if data.spec.kind == "line":
            traces.append(
                go.Scatter(mode="lines+markers", line={"color": colour}, marker={"size": 5}, **common)
            )
        else:
            traces.append(go.Bar(marker={"color": colour}, width=data.x_width, **common))
    return traces


def _points(
    data: ChartData, rows: list[tuple], colours: dict[str, str], first: bool
) -> list[go.BaseTraceType]:
    """scatter: (colour,) x, y, (size)."""
    spec = data.spec
    sizes = _marker_sizes([r[-1] for r in data.rows]) if spec.size else None
    numeric_colour = spec.color and data.color_type in ("integer", "number")
    groups = {"": rows} if numeric_colour else _by_colour(data, rows)
    traces = []
    for name, values in groups.items():
        marker: dict[str, Any] = {"opacity": 0.75}
        if numeric_colour:
            marker.update(
                color=[r[0] for r in values],
                colorscale="Viridis",
                colorbar={"title": spec.color, "thickness": 12},
            )
            values = [r[1:] for r in values]
        else:
            marker["color"] = _colour(colours, name)
        if sizes is not None:
            marker["size"] = [sizes(r[2]) for r in values]
        traces.append(
            go.Scatter(
                x=[r[0] for r in values],
                y=[r[1] for r in values],
                mode="markers",
                name=name or spec.y,
                legendgroup=name,
                showlegend=first and bool(name),
                marker=marker,
            )
        )
    return traces


def _marker_sizes(values: list[Any]):
    """A function from a size value to a marker diameter (area proportional to the value's rank
    in the range; missing values get the smallest)."""
    present = [v for v in values if v is not None]
    low, high = (min(present), max(present)) if present else (0, 0)
    small, large = MARKER_SIZES

    def size(value: Any) -> float:
        if value is None or high == low:
            return small
        share = (value - low) / (high - low)
        return math.sqrt(small**2 + share * (large**2 - small**2))

    return size


def _cells(
    data: ChartData, rows: list[tuple], colours: dict[str, str], first: bool
) -> list[go.BaseTraceType]:
    """density and heatmap: x, y, value (1-D lists: Plotly lays them on a grid)."""
    density = data.shape == "density"
    return [
        go.Heatmap(
            x=[r[0] for r in rows],
            y=[r[1] for r in rows],
            z=[r[2] for r in rows],
            colorscale="Blues" if density else "Viridis",
            colorbar={"title": _("Rows") if density else value_label(data), "thickness": 12},
            showscale=first,
            hoverongaps=False,
        )
    ]


def _boxes(
    data: ChartData, rows: list[tuple], colours: dict[str, str], first: bool
) -> list[go.BaseTraceType]:
    """box: (colour,) (x,) q1, median, q3, mean, lower fence, upper fence, min, max, count."""
    traces = []
    has_x = bool(data.spec.x)
    for name, values in _by_colour(data, rows).items():
        xs = [str(r[0]) for r in values] if has_x else [data.spec.y] * len(values)
        stats = [r[1:] if has_x else r for r in values]
        traces.append(
            go.Box(
                x=xs,
                q1=[s[0] for s in stats],
                median=[s[1] for s in stats],
                q3=[s[2] for s in stats],
                mean=[s[3] for s in stats],
                lowerfence=[s[4] for s in stats],
                upperfence=[s[5] for s in stats],
                name=name or data.spec.y,
                legendgroup=name,
                showlegend=first and bool(name),
                marker={"color": _colour(colours, name)},
            )
        )
    return traces


_DRAWERS = {"groups": _groups, "points": _points, "density": _cells, "cells": _cells, "boxes": _boxes}
