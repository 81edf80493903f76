"""Pieces shared by every figure: palette, base layout, the empty-state figure."""

from __future__ import annotations

from typing import Any

Figure = dict[str, Any]

# Okabe-Ito: distinguishable for colour-blind readers, stable across figures.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


def colour_map(names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """A colour per name, the same for a name whichever figure shows it."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(sorted(names))}


AXIS_STYLE = {
    "gridcolor": "#e9ecef",
    "zerolinecolor": "#ced4da",
    "linecolor": "#ced4da",
    "automargin": True,
}


LEGEND = {"orientation": "h", "yref": "container", "y": 0.93, "yanchor": "top", "xanchor": "left", "x": 0}


def base_layout(title: str, locale: str = "fr", **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        # Title at the very top, the legend under it (placed in the figure's frame, it pushes the
        # plot down as far as its rows need): they never overlap, even at 375 px with 5 entries.
        "title": {
            "text": title,
            "x": 0.01,
            "xanchor": "left",
            "y": 0.985,
            "yanchor": "top",
            "yref": "container",
            "font": {"size": 16},
        },
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "colorway": list(PALETTE),
        "margin": {"l": 56, "r": 16, "t": 64, "b": 48},
        "showlegend": True,
        "legend": LEGEND,
        "font": {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
        "separators": separators(locale),
    }
    for axis in ("xaxis", "yaxis"):
        layout[axis] = {**AXIS_STYLE, **extra.pop(axis, {})}
    layout.update(extra)
    return layout


def empty_figure(title: str, message: str, locale: str = "fr") -> Figure:
    """A figure that says plainly that there is nothing to show."""
    return {
        "data": [],
        "layout": base_layout(
            title,
            locale,
            xaxis={"visible": False},
            yaxis={"visible": False},
            annotations=[
                {
                    "text": message,
                    "xref": "paper",
                    "yref": "paper",
                    "x": 0.5,
                    "y": 0.5,
                    "showarrow": False,
                    "font": {"size": 15, "color": "#565e64"},
                }
            ],
        ),
    }


def colon(locale: str) -> str:
    """« : » in French (a no-break space before it), ": " in English."""
    return "\u00a0: " if locale == "fr" else ": "


def money(value: str, locale: str) -> str:
    """A hover template's amount in euros as the KPIs write it: « 91 432 € », « €91,432 »."""
    return f"%{{{value}:,.0f}}\u00a0€" if locale == "fr" else f"€%{{{value}:,.0f}}"


# Money axes print whole amounts with the locale's grouping (« 50 000 », « 50,000 »), not « 50k ».
MONEY_TICKS = {"tickformat": ",.0f"}


def separators(locale: str) -> str:
    """Plotly's decimal and thousands separators for locale."""
    return ",\u202f" if locale == "fr" else ".,"
