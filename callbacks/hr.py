"""RH (/hr): filters and chart selections → KPIs, four figures, table pages, exports, URL."""

from __future__ import annotations

import json
import math

from dash import ClientsideFunction, Dash, Input, Output, State, ctx, get_relative_path, html, no_update
from dash.exceptions import PreventUpdate
from flask import Response, abort, request

from dashhub.auth.callbacks import secure_callback, secure_clientside
from dashhub.callbacks.common import register_all_selected
from dashhub.container import Services
from dashhub.domain.filenames import hr_parts, stem
from dashhub.domain.hr import (
    AGE_LABELS,
    COLUMNS,
    EXP_LABELS,
    HrData,
    HrFilter,
    HrOptions,
    Selection,
    filter_from_query,
    query_for,
    whole,
)
from dashhub.domain.query import encode_search, parse_search
from dashhub.export_jobs import ExportSource, export_ticket, register_export
from dashhub.exports import chart_html
from dashhub.figures import hr as figures
from dashhub.i18n import current_locale, fmt_money, fmt_number
from dashhub.i18n import gettext as _
from dashhub.layouts import hr as view
from dashhub.layouts.common import graph_config, unknown_values_notice, view_state
from dashhub.layouts.hr import CHART_FILES, CSV_FILE, IDS
from dashhub.services.employees import MAX_SELECTED, EmployeesService
from dashhub.shell import PAGE_ROUTE
from dashhub.validation import BadInput, choices

FIGURE_BUILDERS = {
    "salary": figures.salary_histogram,
    "scatter": figures.performance_salary,
    "departments": figures.performance_by_department,
    "heatmap": figures.satisfaction_heatmap,
}
MAX_PAGE = 500
MAX_LASSO_POINTS = 2000


# --- inputs ---


def _range_input(value, bounds: tuple[float, float], field: str) -> tuple[float, float]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    ):
        raise BadInput(field, "expected [low, high]")
    low, high = sorted(float(v) for v in value)
    if low < bounds[0] - 1e-9 or high > bounds[1] + 1e-9:
        raise BadInput(field, "outside the data's range")
    return whole((low, high))


def _number(value, field: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise BadInput(field, "expected a number")
    return float(value)


def selection_from_store(data, options: HrOptions) -> Selection:
    """The cross-filter kept in the browser's store, checked like any other input."""
    if data in (None, {}):
        return Selection()
    if not isinstance(data, dict) or set(data) - {"department", "cell", "box", "lasso"}:
        raise BadInput("selection", "unexpected shape")
    department = data.get("department")
    if department is not None and department not in options.departments:
        raise BadInput("selection.department", "unknown department")
    cell = data.get("cell")
    if cell is not None:
        if (
            not isinstance(cell, list)
            or len(cell) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in cell)
            or not (0 <= cell[0] < len(AGE_LABELS) and 0 <= cell[1] < len(EXP_LABELS))
        ):
            raise BadInput("selection.cell", "expected [age band, experience band]")
        cell = (cell[0], cell[1])
    box = data.get("box")
    if box is not None:
        if not isinstance(box, list) or len(box) != 4:
            raise BadInput("selection.box", "expected four numbers")
        box = tuple(_number(v, "selection.box") for v in box)
    lasso = data.get("lasso")
    if lasso is not None:
        if not isinstance(lasso, list) or not (3 <= len(lasso) <= MAX_LASSO_POINTS):
            raise BadInput("selection.lasso", "expected 3 to 2000 points")
        points = []
        for point in lasso:
            if not isinstance(point, list) or len(point) != 2:
                raise BadInput("selection.lasso", "expected [x, y] points")
            points.append((_number(point[0], "selection.lasso"), _number(point[1], "selection.lasso")))
        lasso = tuple(points)
    return Selection(department, cell, box, lasso)


def bounded(employees: EmployeesService, flt: HrFilter) -> HrFilter:
    """flt, unless its box or lasso holds too many employees to read one by one (the page refuses
    those before they get here; a forged store or a pasted address may not)."""
    if employees.selection_bound(flt) > MAX_SELECTED:
        raise BadInput("selection", f"more than {MAX_SELECTED:,} employees in the box or lasso")
    return flt


def too_many_text(bound: int, locale: str) -> str:
    return _(
        "This selection would hold up to {count} employees: too many to select one by one (at most "
        "{limit}). Draw a smaller box or lasso, or narrow the filters first."
    ).format(count=fmt_number(bound, 0, locale), limit=fmt_number(MAX_SELECTED, 0, locale))


def filter_from_inputs(departments, experience, age, selection, options: HrOptions) -> HrFilter:
    return HrFilter(
        choices(departments, options.departments, "departments"),
        _range_input(experience, options.experience, "experience"),
        _range_input(age, options.age, "age"),
        selection_from_store(selection, options),
    )


def next_selection(trigger: str | None, current: dict, bars_click, heat_click, scatter_selected) -> dict:
    """The cross-filter after a click on a bar or a cell, a box or lasso, or the clear button."""
    selection = dict(current or {})
    if trigger == IDS.CLEAR_SELECTION:
        return {}
    if trigger == IDS.DEPARTMENT_BARS:
        department = _clicked(bars_click, "x")
        if selection.get("department") == department:
            selection.pop("department")
        else:
            selection["department"] = department
        return selection
    if trigger == IDS.HEATMAP:
        experience, age = _clicked(heat_click, "x"), _clicked(heat_click, "y")
        if experience not in EXP_LABELS or age not in AGE_LABELS:
            raise BadInput("heatmap click", "unknown cell")
        cell = [AGE_LABELS.index(age), EXP_LABELS.index(experience)]
        if selection.get("cell") == cell:
            selection.pop("cell")
        else:
            selection["cell"] = cell
        return selection
    if trigger == IDS.SCATTER:
        if not isinstance(scatter_selected, dict):
            raise PreventUpdate  # a redraw cleared plotly's selection: keep ours until Clear
        if isinstance(scatter_selected.get("range"), dict):
            xr, yr = scatter_selected["range"].get("x"), scatter_selected["range"].get("y")
            if not (isinstance(xr, list) and isinstance(yr, list) and len(xr) == 2 and len(yr) == 2):
                raise BadInput("scatter selection", "expected x and y ranges")
            selection.pop("lasso", None)
            selection["box"] = sorted(xr) + sorted(yr)
        elif isinstance(scatter_selected.get("lassoPoints"), dict):
            xs, ys = scatter_selected["lassoPoints"].get("x"), scatter_selected["lassoPoints"].get("y")
            if not (isinstance(xs, list) and isinstance(ys, list) and len(xs) == len(ys)):
                raise BadInput("scatter selection", "expected lasso points")
            selection.pop("box", None)
            selection["lasso"] = [list(p) for p in zip(xs, ys, strict=True)]
        else:
            raise PreventUpdate
        return selection
    raise PreventUpdate


def _clicked(click, axis: str):
    try:
        return click["points"][0][axis]
    except (TypeError, KeyError, IndexError):
        raise BadInput("click", "expected a clicked point") from None


# --- outputs ---


def kpi_texts(data: HrData, locale: str) -> tuple[str, str, str, str]:
    if data.count == 0:
        return "0", "—", "—", "—"
    return (
        fmt_number(data.count, 0, locale),
        fmt_money(data.mean_salary, locale),
        f"{fmt_number(data.mean_performance, 1, locale)}/100",
        f"{fmt_number(data.mean_satisfaction, 1, locale)}/10",
    )


def selection_text(selection: Selection, locale: str) -> str:
    if not selection.active:
        return _(
            "Tip: click a bar or a heatmap cell, or draw a box on the scatter plot, to narrow every chart."
        )
    parts = []
    if selection.department:
        parts.append(_("department {name}").format(name=selection.department))
    if selection.cell:
        age, exp = AGE_LABELS[selection.cell[0]], EXP_LABELS[selection.cell[1]]
        parts.append(_("age {age} × experience {experience}").format(age=age, experience=exp))
    if selection.box:
        x0, x1, y0, y1 = selection.box
        parts.append(
            _("performance {low}–{high}, salary {low_salary}–{high_salary}").format(
                low=fmt_number(x0, 0, locale),
                high=fmt_number(x1, 0, locale),
                low_salary=fmt_money(y0, locale),
                high_salary=fmt_money(y1, locale),
            )
        )
    if selection.lasso:
        parts.append(_("lasso on the scatter plot"))
    return _("Chart selection: {parts}").format(parts=" · ".join(parts))


MAX_ADDRESS_CHARS = 4000


def export_query(search: str, selection: dict) -> str:
    """The page's query plus the chart selection, for the export links (and the address)."""
    if not selection:
        return search
    sel = encode_search({"sel": json.dumps(selection, separators=(",", ":"))})[1:]
    return (search + "&" if search else "?") + sel


def address_query(search: str, selection: dict) -> str:
    """The page's address: its filters and the chart selection, like every other filter. A lasso
    too long for an address (nginx refuses request lines over 8 KB) is left out of it."""
    address = export_query(search, selection)
    if len(address) > MAX_ADDRESS_CHARS and "lasso" in selection:
        address = export_query(search, {k: v for k, v in selection.items() if k != "lasso"})
    return address


def filter_from_export_query(services: Services, query_string: str) -> HrFilter:
    """The filter of an export link or job: the page's query plus the chart selection."""
    options = services.employees.options()
    query = parse_search(query_string)
    flt = filter_from_query(query, options)
    raw = query.get("sel")
    if raw:
        try:
            data = json.loads(raw[-1])
        except ValueError:
            raise BadInput("sel", "not JSON") from None
        flt = HrFilter(flt.departments, flt.experience, flt.age, selection_from_store(data, options))
    return bounded(services.employees, flt)


def page(services: Services, search: str) -> object:
    options = services.employees.options()
    services.audit.record("hr_access", dashboard="hr", query=search)
    try:
        flt = filter_from_export_query(services, search)  # the chart selection (sel) included
    except BadInput:  # a pasted address with a broken selection: the filters without it
        flt = filter_from_query(parse_search(search), options)
    drawn = view.layout(options, flt, current_locale(), export_ticket(services, "hr"))
    asked = parse_search(search).get("department", [])
    notice = unknown_values_notice(
        {_("department"): [d for d in asked if d not in options.departments and d != "-"]}
    )
    return html.Div([notice, drawn]) if notice is not None else drawn


def register(app: Dash, services: Services) -> None:
    employees = services.employees
    callback = secure_callback(app, "hr")
    register_all_selected(app, "hr", IDS.DEPARTMENTS)

    @callback(
        Output(IDS.SELECTION, "data"),
        Output(IDS.SELECTION_REFUSED, "children"),
        Input(IDS.DEPARTMENT_BARS, "clickData"),
        Input(IDS.HEATMAP, "clickData"),
        Input(IDS.SCATTER, "selectedData"),
        Input(IDS.CLEAR_SELECTION, "n_clicks"),
        State(IDS.SELECTION, "data"),
        State(IDS.DEPARTMENTS, "value"),
        State(IDS.EXPERIENCE, "value"),
        State(IDS.AGE, "value"),
        prevent_initial_call=True,
    )
    def update_selection(
        bars_click, heat_click, scatter_selected, _clear, current, departments, experience, age
    ):
        if current not in (None, {}) and not isinstance(current, dict):
            raise BadInput("selection", "unexpected shape")
        selection = next_selection(ctx.triggered_id, current, bars_click, heat_click, scatter_selected)
        if ctx.triggered_id == IDS.SCATTER:
            flt = filter_from_inputs(departments, experience, age, selection, employees.options())
            bound = employees.selection_bound(flt)
            if bound > MAX_SELECTED:
                return no_update, too_many_text(bound, current_locale())
        return selection, ""

    @callback(
        Output(IDS.KPI_COUNT, "children"),
        Output(IDS.KPI_SALARY, "children"),
        Output(IDS.KPI_PERFORMANCE, "children"),
        Output(IDS.KPI_SATISFACTION, "children"),
        Output(IDS.SALARY, "figure"),
        Output(IDS.SCATTER, "figure"),
        Output(IDS.DEPARTMENT_BARS, "figure"),
        Output(IDS.HEATMAP, "figure"),
        Output(IDS.SALARY_HTML, "href"),
        Output(IDS.SCATTER_HTML, "href"),
        Output(IDS.DEPARTMENT_BARS_HTML, "href"),
        Output(IDS.HEATMAP_HTML, "href"),
        Output(IDS.SALARY, "config"),
        Output(IDS.SCATTER, "config"),
        Output(IDS.DEPARTMENT_BARS, "config"),
        Output(IDS.HEATMAP, "config"),
        Output(IDS.SELECTION_TEXT, "children"),
        Output(IDS.CLEAR_SELECTION, "disabled"),
        Output(IDS.QUERY, "data"),
        Output(IDS.VIEW, "data"),
        Input(IDS.DEPARTMENTS, "value"),
        Input(IDS.EXPERIENCE, "value"),
        Input(IDS.AGE, "value"),
        Input(IDS.SELECTION, "data"),
        State(PAGE_ROUTE, "data"),
    )
    def update_hr(departments, experience, age, selection, page_route=None):
        options = employees.options()
        flt = bounded(employees, filter_from_inputs(departments, experience, age, selection, options))
        locale = current_locale()
        data = employees.dashboard(flt)
        search = query_for(flt, options)
        exports = export_query(search, selection or {})
        chart_links = [get_relative_path(f"/export/hr/{chart}.html") + exports for chart in FIGURE_BUILDERS]
        parts = hr_parts(flt, options)  # (the PNG's name records the filters, as the HTML's does)
        configs = [
            graph_config(stem(CHART_FILES[chart], parts), locale, selectable=chart == "scatter")
            for chart in FIGURE_BUILDERS
        ]
        return (
            *kpi_texts(data, locale),
            *(build(data, locale) for build in FIGURE_BUILDERS.values()),
            *chart_links,
            *configs,
            selection_text(flt.selection, locale),
            not flt.selection.active,
            exports,
            view_state(address_query(search, selection or {}), ctx.triggered_id, page_route),
        )

    @callback(
        Output(IDS.TABLE, "getRowsResponse"),
        Output(IDS.TABLE_COUNT, "data"),  # (the grid clears getRowsResponse once read)
        Input(IDS.TABLE, "getRowsRequest"),
        State(IDS.DEPARTMENTS, "value"),
        State(IDS.EXPERIENCE, "value"),
        State(IDS.AGE, "value"),
        State(IDS.SELECTION, "data"),
    )
    def table_page(grid_request, departments, experience, age, selection):
        if grid_request is None:
            raise PreventUpdate
        start, end, sort = _grid_request(grid_request)
        flt = bounded(
            employees, filter_from_inputs(departments, experience, age, selection, employees.options())
        )
        rows, total = employees.rows(flt, start, end, sort)
        return {"rowData": [table_row(row, current_locale()) for row in rows], "rowCount": total}, total

    secure_clientside(app, "hr")(
        ClientsideFunction(namespace="dashhub", function_name="gridEmpty"),
        Output(IDS.TABLE, "className"),
        Input(IDS.TABLE_COUNT, "data"),
        State(IDS.TABLE, "id"),
        State(IDS.TABLE, "className"),
        prevent_initial_call=True,
    )
    secure_clientside(app, "hr")(
        ClientsideFunction(namespace="dashhub", function_name="refreshGrid"),
        Output(IDS.TABLE_REFRESHED, "data"),
        Input(IDS.QUERY, "data"),
        State(IDS.TABLE, "id"),
        prevent_initial_call=True,
    )

    server = app.server

    @server.route(f"{services.prefix}/export/hr/<chart>.html", endpoint="export_hr_chart")
    def export_chart(chart: str) -> Response:
        services.access.require("hr")
        if chart not in FIGURE_BUILDERS:
            abort(404)
        flt = filter_from_export_query(services, request.query_string.decode("latin-1"))
        figure = FIGURE_BUILDERS[chart](employees.dashboard(flt), current_locale())
        services.audit.record("export", dashboard="hr", format="html", chart=chart)
        return chart_html(figure, stem(CHART_FILES[chart], hr_parts(flt, employees.options())) + ".html")

    def prepare_export(query: str):
        flt = filter_from_export_query(services, query)
        return employees.count_rows(flt), csv_rows(employees, flt)

    def export_name(query: str) -> str:
        return (
            stem(CSV_FILE, hr_parts(filter_from_export_query(services, query), employees.options())) + ".csv"
        )

    register_export(
        app,
        services,
        "hr",
        IDS.EXPORT,
        State(IDS.QUERY, "data"),
        ExportSource(COLUMNS, export_name, prepare_export),
    )


def csv_rows(employees: EmployeesService, flt: HrFilter):
    """The employees in flt, as the CSV exports write them."""
    return ([row[c] for c in COLUMNS] for row in employees.iter_rows(flt))


def table_row(row: dict, locale: str) -> dict:
    """A row as the table shows it: numbers in the user's format (sorting happens on the server)."""
    return {
        **row,
        "experience_years": fmt_number(row["experience_years"], 1, locale),
        "salary": fmt_money(row["salary"], locale),
        "performance": fmt_number(row["performance"], 1, locale),
        "satisfaction": fmt_number(row["satisfaction"], 1, locale),
    }


def _grid_request(grid_request) -> tuple[int, int, list[tuple[str, bool]]]:
    if not isinstance(grid_request, dict):
        raise BadInput("table request", "unexpected shape")
    start, end = grid_request.get("startRow"), grid_request.get("endRow")
    if not (
        isinstance(start, int) and isinstance(end, int) and 0 <= start <= end and end - start <= MAX_PAGE
    ):
        raise BadInput("table request", "bad row range")
    sort = []
    for item in grid_request.get("sortModel") or []:
        if (
            not isinstance(item, dict)
            or item.get("colId") not in COLUMNS
            or item.get("sort") not in ("asc", "desc")
        ):
            raise BadInput("table request", "bad sort")
        sort.append((item["colId"], item["sort"] == "desc"))
    return start, end, sort[:3]
