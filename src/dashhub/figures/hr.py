"""RH figures: salary histogram, performance vs salary, performance by department, satisfaction map."""

from __future__ import annotations

from itertools import pairwise

from dashhub.domain.hr import AGE_LABELS, EXP_LABELS, HrData
from dashhub.figures.common import MONEY_TICKS, Figure, base_layout, colon, colour_map, empty_figure, money
from dashhub.i18n import N_, fmt_money, fmt_number, gettext

# Words used inside hover templates (f-strings hide calls from the extractor: mark them here).
HOVER_WORDS = (
    N_("Performance"),
    N_("Salary"),
    N_("Age"),
    N_("Experience"),
    N_("Satisfaction"),
    N_("Employees"),
    N_("Mean performance"),
    N_("Mean satisfaction"),
)


def _words(locale: str) -> dict[str, str]:
    return {word: gettext(word, locale) for word in HOVER_WORDS}


def _t(locale: str):
    return lambda message: gettext(message, locale)


def _colours(data: HrData) -> dict[str, str]:
    """One colour per department, whatever the filter keeps."""
    return colour_map(data.all_departments or list(data.departments))


def _empty(title: str, locale: str) -> Figure:
    return empty_figure(title, gettext("No employee matches these filters.", locale), locale)


def salary_histogram(data: HrData, locale: str) -> Figure:
    """Employees per salary bin, stacked by department, with the mean salary marked."""
    t = _t(locale)
    title = t("Salary distribution")
    if data.count == 0:
        return _empty(title, locale)
    edges = data.salary_edges
    centres = [(a + b) / 2 for a, b in pairwise(edges)]
    width = edges[1] - edges[0]
    colours = _colours(data)
    traces = [
        {
            "type": "bar",
            "name": dept,
            "x": centres,
            "y": counts,
            "width": width,
            "marker": {"color": colours[dept], "line": {"width": 0}},
            "hovertemplate": f"{dept}{colon(locale)}%{{y}}<extra></extra>",
        }
        for dept, counts in data.salary_counts.items()
    ]
    mean = data.mean_salary
    layout = base_layout(
        title,
        locale,
        barmode="stack",
        bargap=0.02,
        hovermode="x unified",
        xaxis={"title": {"text": t("Salary (€)")}, "hoverformat": ",.0f", **MONEY_TICKS},
        yaxis={"title": {"text": t("Employees")}},
        shapes=[
            {
                "type": "line",
                "x0": mean,
                "x1": mean,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": "#212529", "dash": "dash", "width": 2},
            }
        ],
        annotations=[
            {
                "x": mean,
                "yref": "paper",
                "y": 0.98,
                "text": t("Mean: {value}").format(value=fmt_money(mean, locale)),
                "showarrow": False,
                "xanchor": "left",
                "xshift": 4,
                "yanchor": "top",
                "bgcolor": "rgba(255,255,255,0.85)",
            }
        ],
    )
    return {"data": traces, "layout": layout}


def performance_salary(data: HrData, locale: str) -> Figure:
    """One point per employee (or a density view beyond MAX_POINTS) and a trend line per department."""
    t = _t(locale)
    words = _words(locale)
    title = t("Performance vs salary")
    if data.count == 0:
        return _empty(title, locale)
    colours = _colours(data)
    traces: list[dict] = []
    c = colon(locale)
    if data.scatter_mode == "points":
        hover = (
            "<b>#%{customdata[0]}</b> · " + "%{fullData.name}<br>"
            f"{words['Performance']}{c}%{{x:.1f}}<br>{words['Salary']}{c}{money('y', locale)}<br>"
            f"{words['Age']}{c}%{{customdata[1]:.0f}} · {words['Experience']}{c}%{{customdata[2]:.1f}}<br>"
            f"{words['Satisfaction']}{c}%{{customdata[3]:.1f}}/10<extra></extra>"
        )
        for dept, p in data.points.items():
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": dept,
                    "legendgroup": dept,
                    "x": p["x"],
                    "y": p["y"],
                    "customdata": p["customdata"],
                    "marker": {"color": colours[dept], "size": 6, "opacity": 0.7},
                    "hovertemplate": hover,
                }
            )
    else:
        d = data.density
        traces.append(
            {
                "type": "heatmap",
                "x": d["x"],
                "y": d["y"],
                "z": d["z"],
                "colorscale": "Blues",
                "showscale": False,
                "name": t("Employees"),
                "hovertemplate": f"{words['Performance']}{c}%{{x:.1f}}<br>{words['Salary']}{c}"
                f"{money('y', locale)}<br>{words['Employees']}{c}%{{z}}<extra></extra>",
            }
        )
    for dept, (x0, y0, x1, y1) in data.trends.items():
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": t("Trend {department}").format(department=dept),
                "legendgroup": dept,
                "showlegend": False,
                "x": [round(x0, 1), round(x1, 1)],
                "y": [round(y0), round(y1)],
                "line": {"color": colours[dept], "width": 2, "dash": "dot"},
                "hovertemplate": t("Trend {department}").format(department=dept)
                + f"{c}{money('y', locale)}<extra></extra>",
            }
        )
    annotations = []
    if data.scatter_mode == "density":
        annotations.append(
            {
                "text": t(
                    "{count} employees: density view (darker = more employees), trend lines on all of them."
                ).format(count=f"{data.count:,}".replace(",", "\u202f")),
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "y": 1.0,
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 11, "color": "#6c757d"},
            }
        )
    layout = base_layout(
        title,
        locale,
        dragmode="select",
        hovermode="closest",
        xaxis={"title": {"text": t("Performance score (0–100)")}},
        yaxis={"title": {"text": t("Salary (€)")}, **MONEY_TICKS},
        annotations=annotations,
    )
    return {"data": traces, "layout": layout}


def performance_by_department(data: HrData, locale: str) -> Figure:
    """Mean performance per department, best first, with 95 % confidence intervals."""
    t = _t(locale)
    words = _words(locale)
    title = t("Mean performance by department (95 % CI)")
    if data.count == 0:
        return _empty(title, locale)
    colours = _colours(data)
    names = [row[0] for row in data.by_department]
    trace = {
        "type": "bar",
        "x": names,
        "y": [round(row[1], 2) for row in data.by_department],
        "error_y": {
            "type": "data",
            "array": [round(row[2], 2) if row[2] is not None else 0 for row in data.by_department],
            "visible": True,
            "color": "#495057",
            "thickness": 1.5,
        },
        "customdata": [
            [
                row[3],
                f"± {fmt_number(row[2], 2, locale)}" if row[2] is not None else t("not enough employees"),
            ]
            for row in data.by_department
        ],
        # a department clicked (the cross-filter) stands out; the others stay, dimmed
        "marker": {
            "color": [colours[name] for name in names],
            "opacity": [1.0 if data.selected_department in (None, name) else 0.3 for name in names],
        },
        "hovertemplate": f"<b>%{{x}}</b><br>{words['Mean performance']}{colon(locale)}%{{y:.1f}} "
        f"(%{{customdata[1]}})<br>n = %{{customdata[0]}}<extra></extra>",
        "showlegend": False,
    }
    # Bars start at zero: a length is read as a quantity (75.8 must not look twice 72.2).
    layout = base_layout(
        title,
        locale,
        xaxis={"title": {"text": t("Department")}},
        yaxis={"title": {"text": t("Mean performance (/100)")}, "range": [0, 100]},
    )
    return {"data": [trace], "layout": layout}


def satisfaction_heatmap(data: HrData, locale: str) -> Figure:
    """Mean satisfaction per age band × experience band; empty cells stay empty."""
    t = _t(locale)
    words = _words(locale)
    title = t("Satisfaction by age and experience")
    if data.count == 0:
        return _empty(title, locale)
    c = colon(locale)
    trace = {
        "type": "heatmap",
        "x": list(EXP_LABELS),
        "y": list(AGE_LABELS),
        "z": data.heatmap,
        "customdata": data.heatmap_counts,
        # orange below the seed's average satisfaction (7/10), purple above: a diverging scale
        # that stays readable with red-green colour blindness (ColorBrewer PuOr)
        "zmin": 4,
        "zmax": 10,
        "zmid": 7,
        "colorscale": [
            [0, "#b35806"],
            [0.25, "#f1a340"],
            [0.5, "#f7f7f7"],
            [0.75, "#998ec3"],
            [1, "#542788"],
        ],
        "xgap": 2,
        "ygap": 2,
        "colorbar": {"title": {"text": "/10"}, "thickness": 12},
        "hoverongaps": False,
        "hovertemplate": f"{words['Age']}{c}%{{y}} · {words['Experience']}{c}%{{x}}<br>"
        f"{words['Mean satisfaction']}{c}%{{z:.2f}}/10<br>n = %{{customdata}}<extra></extra>",
    }
    hidden = sum(
        1
        for row, counts in zip(data.heatmap, data.heatmap_counts, strict=True)
        for mean, count in zip(row, counts, strict=True)
        if mean is None and count > 0
    )
    notes = []
    if hidden:
        notes.append(
            {
                "text": t("cells of fewer than {count} employees, left blank: {cells}").format(
                    cells=hidden, count=data.min_cell_count
                ),
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "y": 1,
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 11, "color": "#5c636a"},
            }
        )
    outline = []
    if data.selected_cell is not None:  # the clicked cell, outlined; the others stay in view
        age, experience = data.selected_cell
        outline.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "y",
                "x0": experience - 0.5,
                "x1": experience + 0.5,
                "y0": age - 0.5,
                "y1": age + 0.5,
                "line": {"color": "#212529", "width": 3},
            }
        )
    layout = base_layout(
        title,
        locale,
        showlegend=False,
        xaxis={"title": {"text": t("Experience (years)")}, "type": "category"},
        yaxis={"title": {"text": t("Age band")}, "type": "category"},
        annotations=notes,
        shapes=outline,
    )
    return {"data": [trace], "layout": layout}
