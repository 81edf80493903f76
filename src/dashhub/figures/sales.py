"""Ventes figures: weekly trend with the Christmas peak, month × region animation, stacked months."""

from __future__ import annotations

from dashhub.domain.sales import SalesData
from dashhub.figures.common import (
    LEGEND,
    MONEY_TICKS,
    Figure,
    base_layout,
    colon,
    colour_map,
    empty_figure,
    money,
)
from dashhub.i18n import N_, gettext, month_abbreviations

# Words used inside hover templates (f-strings hide calls from the extractor: mark them here).
HOVER_WORDS = (N_("Year"), N_("Month"), N_("Sales"))


def _words(locale: str) -> dict[str, str]:
    return {word: gettext(word, locale) for word in HOVER_WORDS}


def _t(locale: str):
    return lambda message: gettext(message, locale)


def sales_trend_figure(data: SalesData, locale: str) -> Figure:
    """One line per region over the weeks, with « Pic de Noël » on each December peak of the period.

    A week the period shows only in part (at its ends) would look like a drop: it is drawn dotted,
    with an open marker, and its tooltip says how many days it holds."""
    t = _t(locale)
    title = t("Sales by region over time")
    if data.empty:
        return empty_figure(title, t("No sales match these filters."), locale)
    colours = colour_map(data.all_regions or list(data.weekly))
    partial = t("partial week: {days} days")
    traces: list[dict] = []
    any_partial = False
    for region, series in data.weekly.items():
        full = [i for i, days in enumerate(series.labels) if days == "7"]
        edges = [i for i, days in enumerate(series.labels) if days != "7"]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": region,
                "legendgroup": region,
                "meta": "weeks",  # (full weeks; with the "partial" markers, every week once)
                "x": [series.x[i] for i in full],
                "y": [series.y[i] for i in full],
                "line": {"color": colours[region], "width": 2},
                "hovertemplate": f"{region}{colon(locale)}{money('y', locale)}<extra></extra>",
            }
        )
        if not edges:
            continue
        any_partial = True
        dotted_x: list = []
        dotted_y: list = []
        for i in edges:  # each partial week joined to its full neighbour
            neighbour = i + 1 if i == 0 else i - 1
            if 0 <= neighbour < len(series.x) and neighbour in full:
                pair = sorted((neighbour, i))
                dotted_x += [series.x[j] for j in pair] + [None]
                dotted_y += [series.y[j] for j in pair] + [None]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": region,
                "legendgroup": region,
                "meta": "partial-line",
                "showlegend": False,
                "x": dotted_x,
                "y": dotted_y,
                "line": {"color": colours[region], "width": 2, "dash": "dot"},
                "hoverinfo": "skip",
            }
        )
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": region,
                "legendgroup": region,
                "meta": "partial",
                "showlegend": False,
                "x": [series.x[i] for i in edges],
                "y": [series.y[i] for i in edges],
                "customdata": [partial.format(days=series.labels[i]) for i in edges],
                "marker": {"color": "#ffffff", "size": 7, "line": {"color": colours[region], "width": 2}},
                "hovertemplate": f"{region}{colon(locale)}{money('y', locale)} "
                "(%{customdata})<extra></extra>",
            }
        )
    annotations = [
        {
            "x": week,
            "y": amount,
            "text": t("Christmas peak"),
            "showarrow": True,
            "arrowhead": 2,
            "ax": -40,
            "ay": -36,
            "bgcolor": "rgba(255,255,255,0.85)",
            "bordercolor": colours[region],
        }
        for week, region, amount in data.peaks
    ]
    if any_partial:  # said in the legend, which wraps on a phone (a note would be cut)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": t("partial week (dotted)"),
                "meta": "partial-legend",
                "legendgroup": "partial-legend",
                "x": [None],
                "y": [None],
                "line": {"color": "#5c636a", "width": 2, "dash": "dot"},
                "marker": {"color": "#ffffff", "size": 7, "line": {"color": "#5c636a", "width": 2}},
                "hoverinfo": "skip",
            }
        )
    layout = base_layout(
        title,
        locale,
        hovermode="x unified",
        xaxis={"title": {"text": t("Week")}, "hoverformat": "%d %b %Y"},
        yaxis={"title": {"text": t("Sales per week (€)")}, "rangemode": "tozero", **MONEY_TICKS},
        annotations=annotations,
    )
    return {"data": traces, "layout": layout}


def sales_animation_figure(data: SalesData, locale: str) -> Figure:
    """Points month × sales coloured by region, one animation frame per year."""
    t = _t(locale)
    words = _words(locale)
    title = t("Sales by month and region, animated by year")
    if data.empty:
        return empty_figure(title, t("No sales match these filters."), locale)
    regions = sorted({region for by_region in data.points.values() for region in by_region})
    years = sorted(data.points)
    colours = colour_map(data.all_regions or regions)
    hover = (
        "<b>%{customdata[1]}</b> · %{customdata[0]}<br>"
        f"{words['Year']}{colon(locale)}%{{customdata[2]}}<br>"
        f"{words['Month']}{colon(locale)}%{{x}}<br>"
        f"{words['Sales']}{colon(locale)}{money('y', locale)}<extra></extra>"
    )
    empty = [[], [], []]

    def traces_for(year: int) -> list[dict]:
        out = []
        for region in regions:
            series = data.points[year].get(region)
            x, y, labels = (series.x, series.y, series.labels) if series else empty
            out.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": region,
                    "x": x,
                    "y": y,
                    "customdata": [[product, region, year] for product in labels],
                    "marker": {"color": colours[region], "size": 10, "opacity": 0.85},
                    "hovertemplate": hover,
                }
            )
        return out

    frames = [{"name": str(year), "data": traces_for(year)} for year in years]
    y_max = max(max(s.y) for by_region in data.points.values() for s in by_region.values()) * 1.1
    transition = {"duration": 300, "easing": "cubic-in-out"}
    steps = [
        {
            "label": str(year),
            "method": "animate",
            "args": [
                [str(year)],
                {
                    "mode": "immediate",
                    "frame": {"duration": 300, "redraw": False},
                    "transition": transition,
                },
            ],
        }
        for year in years
    ]
    buttons = [
        {
            "label": "▶ " + t("Play"),
            "method": "animate",
            "args": [
                None,
                {
                    "frame": {"duration": 1000, "redraw": False},
                    "fromcurrent": True,
                    "transition": transition,
                },
            ],
        },
        {
            "label": "❚❚ " + t("Pause"),
            "method": "animate",
            "args": [[None], {"mode": "immediate", "frame": {"duration": 0, "redraw": False}}],
        },
    ]
    axes = {
        "xaxis": {
            "title": {"text": t("Month")},
            "range": [0.5, 12.5],
            "tickvals": list(range(1, 13)),
            "ticktext": month_abbreviations(locale),
        },
        "yaxis": {"title": {"text": t("Sales (€)")}, "range": [0, y_max], **MONEY_TICKS},
    }
    if len(years) == 1:  # nothing to animate: the year is named, without Play nor slider
        layout = base_layout(f"{title} · {years[0]}", locale, **axes)
        return {"data": frames[0]["data"], "layout": layout}
    # Play and Pause on a row of their own, the year slider under them across the whole width:
    # nothing overlaps, even at 375 px.
    layout = base_layout(
        title,
        locale,
        **axes,
        margin={"l": 56, "r": 16, "t": 64, "b": 170},
        updatemenus=[
            {
                "type": "buttons",
                "direction": "left",
                "showactive": False,
                "x": 0,
                "xanchor": "left",
                "y": -0.3,
                "yanchor": "top",
                "pad": {"t": 16},
                "buttons": buttons,
            }
        ],
        sliders=[
            {
                "active": 0,
                "x": 0,
                "len": 1,
                "y": -0.3,
                "yanchor": "top",
                "pad": {"t": 56},
                "currentvalue": {"prefix": t("Year") + colon(locale), "xanchor": "right"},
                "steps": steps,
            }
        ],
    )
    return {"data": frames[0]["data"], "layout": layout, "frames": frames}


def monthly_stacked_figure(data: SalesData, locale: str) -> Figure:
    """Bars of monthly sales stacked by region, with the month's total on hover."""
    t = _t(locale)
    title = t("Monthly sales by region")
    if data.empty:
        return empty_figure(title, t("No sales match these filters."), locale)
    colours = colour_map(data.all_regions or list(data.monthly))
    traces: list[dict] = [
        {
            "type": "bar",
            "name": region,
            "x": series.x,
            "y": series.y,
            "marker": {"color": colours[region]},
            "hovertemplate": f"{region}{colon(locale)}{money('y', locale)}<extra></extra>",
        }
        for region, series in data.monthly.items()
    ]
    traces.append(
        {
            "type": "scatter",
            "mode": "markers",
            "name": t("Total"),
            "x": data.totals.x,
            "y": data.totals.y,
            "marker": {"opacity": 0, "size": 1, "color": "#212529"},
            "showlegend": False,
            "hovertemplate": f"<b>{t('Total')}{colon(locale)}{money('y', locale)}</b><extra></extra>",
        }
    )
    layout = base_layout(
        title,
        locale,
        barmode="stack",
        hovermode="x unified",
        # the legend reads like the stack: its first entry is the top segment
        legend={**LEGEND, "traceorder": "reversed"},
        xaxis={"title": {"text": t("Month")}, "tickformat": "%b %Y", "hoverformat": "%B %Y"},
        yaxis={"title": {"text": t("Sales (€)")}, "rangemode": "tozero", **MONEY_TICKS},
    )
    return {"data": traces, "layout": layout}
