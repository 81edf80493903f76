"""Vos données (/explore): the upload route, the dataset list, the table's pages, a column's summary.

Every question names a dataset by id; the store answers only for the session's user (their own,
or shared with their role): an id sent by the browser decides nothing by itself.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode

import plotly.graph_objects as go
from dash import ALL, Dash, Input, Output, State, ctx, get_relative_path, html, no_update
from dash.exceptions import PreventUpdate
from flask import Response, jsonify, request
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from werkzeug.exceptions import ClientDisconnected
from wtforms.validators import ValidationError

from dashhub.auth.callbacks import secure_callback
from dashhub.callbacks import explore_model
from dashhub.config import ROLES
from dashhub.container import Services
from dashhub.domain.charts import (
    AGGREGATIONS,
    CHART_KINDS,
    FILTER_OPERATORS,
    MAX_FILTERS,
    ChartRefused,
    ChartSpec,
)
from dashhub.domain.filenames import stem
from dashhub.exports import chart_html, csv_download
from dashhub.figures.common import base_layout, empty_figure
from dashhub.figures.datasets import chart_figure, chart_title
from dashhub.i18n import current_locale, fmt_date, fmt_number
from dashhub.i18n import gettext as _
from dashhub.i18n import said as said_in_language
from dashhub.layouts import explore as view
from dashhub.layouts.common import graph_config, view_state
from dashhub.registry import by_key
from dashhub.services.dataset_charts import chart_data, typed_value
from dashhub.services.dataset_import import ImportFailed, add_in_child
from dashhub.services.saved_charts import SavedChartNotFound
from dashhub.services.user_datasets import (
    EXAMPLES,
    Dataset,
    DatasetNotFound,
    DatasetRefused,
    DatasetStore,
    Viewer,
)
from dashhub.shell import PAGE_ROUTE
from dashhub.validation import BadInput

IDS = view.IDS
SHARE_ROLES = tuple(role for role in ROLES if role != "service")  # (service: API tokens, no page)
MAX_UPLOAD_BYTES = 200 << 20  # (nginx's client_max_body_size for /explore/upload says the same)
CHUNK = 1 << 20
MAX_ID = 2**31 - 1  # (a dataset id is a database integer)
TYPE_NAMES = view.TYPE_NAMES


def viewer() -> Viewer:
    return Viewer.of(current_user)


def page(services: Services, search: str) -> object:
    store = services.datasets
    found = store.list(viewer())
    query = parse_qs(search.lstrip("?"))
    chosen = _chosen(found, query.get("dataset", [None])[0])
    column = None
    if chosen is not None:
        names = [c.name for c in chosen.columns]
        asked = query.get("column", [None])[0]
        column = asked if asked in names else names[0]
    chart = ChartSpec.from_query(query) if "chart" in query else default_chart(chosen)
    examples = {key: _(label) for key, label in EXAMPLES.items()}
    return view.layout(
        _options(found),
        chosen.id if chosen else None,
        _column_options(chosen),
        column,
        chart,
        examples,
        SHARE_ROLES,
        grid_columns(chosen),
    )


def default_chart(dataset: Dataset | None) -> ChartSpec:
    """A dataset's first chart: the rows counted by its first category (or its first column)."""
    if dataset is None:
        return ChartSpec()
    grouped = [c.name for c in dataset.columns if c.type in ("category", "boolean")]
    return ChartSpec(kind="bar", x=grouped[0] if grouped else dataset.columns[0].name)


def seed_chart() -> ChartSpec:
    """The seed's Plotly Iris scatter: sepal width × length, colour species, size petal length."""
    return ChartSpec(kind="scatter", x="sepal_width", y="sepal_length", color="species", size="petal_length")


# The grid's column filters the server answers (AG Grid's names → the store's operators).
GRID_OPERATORS = {
    "contains": "contains",
    "equals": "=",
    "notEqual": "!=",
    "lessThan": "<",
    "lessThanOrEqual": "<=",
    "greaterThan": ">",
    "greaterThanOrEqual": ">=",
}
COMPARISONS = ["equals", "notEqual", "lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual"]


def grid_columns(dataset: Dataset | None) -> list[dict]:
    """The table's columns: every column of the dataset (numbers aligned right), each with the
    filter of its type, one condition, with the comparisons the server answers."""
    if dataset is None:
        return []
    columns = []
    for c in dataset.columns:
        if c.type in ("integer", "number"):
            kind, options = "agNumberColumnFilter", COMPARISONS
        elif c.type == "datetime":
            kind, options = "agDateColumnFilter", ["equals", "lessThan", "greaterThan"]
        else:
            kind, options = "agTextColumnFilter", ["contains", "equals", "notEqual"]
        columns.append(
            {
                "field": c.name,
                "headerName": c.name,
                "filter": kind,
                "filterParams": {"filterOptions": options, "maxNumConditions": 1, "debounceMs": 400},
                **({"type": "numericColumn"} if c.type in ("integer", "number") else {}),
            }
        )
    return columns


def grid_filters(model: object, dataset: Dataset) -> list[tuple[str, str, object]]:
    """The grid's filter model (sent by the browser: checked here) as the store's filters, each
    value read as its column's type."""
    if model in (None, {}):
        return []
    if not isinstance(model, dict) or len(model) > len(dataset.columns):
        raise BadInput("table", "bad filter model")
    filters = []
    for name, condition in model.items():
        if not isinstance(condition, dict) or condition.get("type") not in GRID_OPERATORS:
            raise BadInput("table", "unsupported filter")
        raw = condition.get("dateFrom") if condition.get("filterType") == "date" else condition.get("filter")
        if not isinstance(raw, str | int | float) or isinstance(raw, bool) or len(str(raw)) > 200:
            raise BadInput("table", "bad filter value")
        try:
            column = dataset.column(name)
            value = typed_value(column, str(raw))
        except (DatasetRefused, ChartRefused):
            raise BadInput("table", "bad filter") from None
        filters.append((column.name, GRID_OPERATORS[condition["type"]], value))
    return filters


def _chosen(found: list[Dataset], asked: str | None) -> Dataset | None:
    for dataset in found:
        if asked is not None and str(dataset.id) == asked:
            return dataset
    return found[0] if found else None


def _options(found: list[Dataset]) -> list[dict]:
    locale = current_locale()
    return [
        {"label": f"{d.name} · {fmt_number(d.rows, locale=locale)} × {len(d.columns)}", "value": d.id}
        for d in found
    ]


def _column_options(dataset: Dataset | None) -> list[dict]:
    if dataset is None:
        return []
    return [{"label": f"{c.name} ({_(TYPE_NAMES[c.type])})", "value": c.name} for c in dataset.columns]


def _dataset_id(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ID:
        raise BadInput("dataset", "expected a dataset id")
    return value


def register(app: Dash, services: Services) -> None:
    store = services.datasets
    callback = secure_callback(app, "explore")
    _register_upload(app, services, store)
    explore_model.register(app, services)

    @callback(
        Output(IDS.DATASET, "options"),
        Output(IDS.DATASET, "value"),
        Output(IDS.ACTION_STATUS, "children"),
        Output(IDS.NEW_NAME, "value"),
        Output(IDS.PENDING_CHART, "data"),
        Input(IDS.UPLOADED, "data"),
        Input(IDS.RENAME, "n_clicks"),
        Input(IDS.DELETE_CONFIRM, "n_clicks"),
        Input(IDS.ADD_EXAMPLE, "n_clicks"),
        Input(IDS.SEED_SCATTER, "n_clicks"),
        State(IDS.DATASET, "value"),
        State(IDS.NEW_NAME, "value"),
        State(IDS.EXAMPLE, "value"),
        prevent_initial_call=True,
    )
    def manage(uploaded, _rename, _delete, _example, _seed, dataset_id, new_name, example):
        """After an upload, a rename, a confirmed delete or an example: the list again, and what
        happened (a chart to draw with it, for the course's Iris scatter)."""
        said, chosen_id, pending = "", dataset_id, no_update
        trigger = ctx.triggered_id
        if trigger == IDS.UPLOADED:
            if not isinstance(uploaded, dict):
                raise PreventUpdate
            chosen_id = uploaded.get("id")
        elif trigger in (IDS.ADD_EXAMPLE, IDS.SEED_SCATTER):
            key = "iris" if trigger == IDS.SEED_SCATTER else example
            if key not in EXAMPLES:
                raise BadInput("example", "no such example")
            added = _example_dataset(store, key, reuse=trigger == IDS.SEED_SCATTER)
            services.audit.record("dataset_example", dashboard="explore", dataset=added.id)
            chosen_id = added.id
            said = _("« {name} » is ready.").format(name=added.name)
            if trigger == IDS.SEED_SCATTER:
                pending = {"dataset": added.id, "search": urlencode(seed_chart().query(), doseq=True)}
        elif dataset_id is None:
            said = _("No dataset to change.")
        elif trigger in (IDS.RENAME, IDS.DELETE_CONFIRM):
            said, chosen_id = _change(store, trigger, _dataset_id(dataset_id), new_name)
        found = store.list(viewer())
        chosen = _chosen(found, str(chosen_id))
        return _options(found), chosen.id if chosen else None, said, "", pending

    @callback(
        Output(IDS.SHARE_STATUS, "children"),
        Input(IDS.SHARE, "value"),
        State(IDS.DATASET, "value"),
        prevent_initial_call=True,
    )
    def share(role, dataset_id):
        """Share read-only with a role, or with nobody: the owner only. (Not an input of the
        dataset list: choosing a dataset sets this dropdown, which would close a loop.)"""
        if dataset_id is None:
            raise PreventUpdate
        return _share(store, _dataset_id(dataset_id), role)

    @callback(
        Output(IDS.DELETE_DIALOG, "is_open"),
        Input(IDS.DELETE, "n_clicks"),
        Input(IDS.DELETE_CONFIRM, "n_clicks"),
        Input(IDS.DELETE_CANCEL, "n_clicks"),
        prevent_initial_call=True,
    )
    def delete_dialog(_open, _confirm, _cancel):
        return ctx.triggered_id == IDS.DELETE

    chart_values = [Output(component, "value") for component in CHART_CONTROLS]

    @callback(
        Output(IDS.COLUMN, "options"),
        Output(IDS.COLUMN, "value"),
        Output(IDS.TABLE_SLOT, "children"),
        Output(IDS.DETAILS, "children"),
        Output(IDS.CORRELATIONS, "figure"),
        *[Output(component, "options") for component in COLUMN_PICKERS],
        *chart_values,
        Output(IDS.SHARE, "value"),
        Output(IDS.SHARE, "disabled"),
        Input(IDS.DATASET, "value"),
        Input(IDS.PENDING_CHART, "data"),
        Input(IDS.RETYPED, "data"),
        State(IDS.COLUMN, "value"),
    )
    def choose_dataset(dataset_id, pending, _retyped, column):
        """Another dataset: its columns everywhere, its description and correlations; the chart
        builder starts again from the dataset's first chart (or the one asked for)."""
        keep_chart = [no_update] * len(CHART_CONTROLS)
        if dataset_id is None:
            empty = empty_figure(_("Correlations"), _("No data"), current_locale())
            pickers = [[] for _p in COLUMN_PICKERS]
            return (
                [],
                None,
                [],
                _("Send a file or take an example to explore it here."),
                empty,
                *pickers,
                *keep_chart,
                "",
                True,
            )
        dataset = _get(store, dataset_id)
        names = [c.name for c in dataset.columns]
        locale = current_locale()
        details = _("{name}: {rows} rows, {columns} columns, from {file} ({date}).").format(
            name=dataset.name,
            rows=fmt_number(dataset.rows, locale=locale),
            columns=len(names),
            file=dataset.filename,
            date=fmt_date(dataset.created_at.date(), locale),
        )
        correlations = _correlation_figure(*store.correlations(viewer(), dataset.id))
        options = _column_options(dataset)
        chart = keep_chart
        if (
            isinstance(pending, dict)
            and pending.get("dataset") == dataset.id
            and ctx.triggered_id is not None
        ):
            chart = _control_values(ChartSpec.from_query(parse_qs(str(pending.get("search", "")))))
        elif ctx.triggered_id == IDS.DATASET:
            chart = _control_values(default_chart(dataset))
        initial = ctx.triggered_id is None  # (the layout holds the address's column: no echo)
        return (
            options,
            no_update if initial else column if column in names else names[0],
            no_update if initial else view.table(grid_columns(dataset)),
            details,
            correlations,
            *[options for _p in COLUMN_PICKERS],
            *chart,
            dataset.shared_role or "",
            dataset.owner_id != viewer().user_id,  # (a reader of a shared dataset cannot share it)
        )

    @callback(
        Output(IDS.TABLE, "getRowsResponse"),
        Input(IDS.TABLE, "getRowsRequest"),
        State(IDS.DATASET, "value"),
        prevent_initial_call=True,
    )
    def table_page(grid_request, dataset_id):
        if not isinstance(grid_request, dict) or dataset_id is None:
            raise PreventUpdate
        start, end = grid_request.get("startRow", 0), grid_request.get("endRow", 20)
        if not all(isinstance(v, int) and v >= 0 for v in (start, end)) or end - start > 1000:
            raise BadInput("table", "bad row range")
        sort = [
            (s.get("colId"), "desc" if s.get("sort") == "desc" else "asc")
            for s in grid_request.get("sortModel") or []
            if isinstance(s, dict)
        ]
        dataset = _get(store, dataset_id)
        filters = grid_filters(grid_request.get("filterModel"), dataset)
        try:
            rows, total = store.page(viewer(), dataset.id, start, end - start, sort=sort, filters=filters)
        except DatasetNotFound:
            raise BadInput("dataset", "no such dataset") from None
        except DatasetRefused as exc:
            raise BadInput("table", str(exc)) from None
        return {"rowData": [_cells(row) for row in rows], "rowCount": total}

    @callback(
        Output(IDS.SUMMARY, "children"),
        Output(IDS.HISTOGRAM, "figure"),
        Output(IDS.NEW_TYPE, "value"),
        Input(IDS.COLUMN, "value"),
        Input(IDS.RETYPED, "data"),
        State(IDS.DATASET, "value"),
    )
    def summarise(column, _retyped, dataset_id):
        if dataset_id is None or column is None:
            return _("No column to summarise."), empty_figure("", _("No data"), current_locale()), None
        dataset = _get(store, dataset_id)
        try:
            summary = store.summary(viewer(), dataset.id, column)
        except DatasetRefused:
            raise BadInput("column", "no such column") from None
        return _summary_list(summary), _figure(store, dataset, column, summary), summary["type"]

    @callback(
        Output(IDS.RETYPE_STATUS, "children"),
        Output(IDS.RETYPED, "data"),
        Input(IDS.RETYPE, "n_clicks"),
        State(IDS.DATASET, "value"),
        State(IDS.COLUMN, "value"),
        State(IDS.NEW_TYPE, "value"),
        State(IDS.DATE_FORMAT, "value"),
        prevent_initial_call=True,
    )
    def retype(_click, dataset_id, column, new_type, date_format):
        """The owner corrects the column's type; nothing is lost, or nothing changes."""
        if not isinstance(column, str) or new_type not in TYPE_NAMES:
            raise BadInput("column", "expected a column and a type")
        if date_format is not None and not isinstance(date_format, str):
            raise BadInput("date format", "expected text")
        dataset_id = _dataset_id(dataset_id)
        try:
            changed, report = store.retype(viewer(), dataset_id, column, new_type, date_format or None)
        except DatasetNotFound:
            return _("Only its owner can change this dataset."), no_update
        except DatasetRefused as exc:
            return _("The type was not changed: {reason}").format(reason=said_in_language(exc)), no_update
        said = _("{column} is now of type « {type} » ({count} values).").format(
            column=column,
            type=_(TYPE_NAMES[new_type]),
            count=fmt_number(report.get("changed", 0), locale=current_locale()),
        )
        return said, {"dataset": changed.id, "stored": changed.stored}

    @callback(
        Output(IDS.SAVED, "children"),
        Output(IDS.SAVE_STATUS, "children"),
        Output(IDS.SAVE_NAME, "value"),
        Input(IDS.DATASET, "value"),
        Input(IDS.SAVE, "n_clicks"),
        Input({"type": IDS.SAVED_DELETE, "index": ALL}, "n_clicks"),
        State(IDS.SAVE_NAME, "value"),
        State(IDS.VIEW, "data"),
    )
    def saved(dataset_id, _save, _deletes, name, view_data):
        """The viewer's saved charts of the dataset; save the chart shown, or delete one."""
        if dataset_id is None:
            return view.saved_charts_list([]), "", no_update
        dataset = _get(store, dataset_id)
        said, keep_name = "", no_update
        trigger = ctx.triggered_id
        if trigger == IDS.SAVE:
            said, keep_name = _save_chart(services, dataset, name, view_data)
        elif isinstance(trigger, dict) and trigger.get("type") == IDS.SAVED_DELETE:
            if not ctx.triggered[0].get("value"):
                raise PreventUpdate  # (the list drawn again: its buttons were not clicked)
            said = _delete_saved(services, trigger.get("index"))
        charts = services.saved_charts.list(viewer(), dataset.id)
        links = [(c.id, c.name, get_relative_path("/explore") + "?" + c.query.lstrip("?")) for c in charts]
        return view.saved_charts_list(links), said, keep_name

    chart_inputs = [Input(component, "value") for component in CHART_CONTROLS]

    @callback(
        Output(IDS.CHART, "figure"),
        Output(IDS.CHART_HTML, "href"),
        Output(IDS.CHART_CSV, "href"),
        Output(IDS.CHART, "config"),
        Input(IDS.DATASET, "value"),
        Input(IDS.RETYPED, "data"),
        *chart_inputs,
    )
    def draw_chart(dataset_id, _retyped, *controls):
        """The chart the builder describes, computed by DuckDB over every row of the dataset."""
        locale = current_locale()
        if dataset_id is None:
            empty = empty_figure(_("Chart builder"), _("No data"), locale)
            return empty, None, None, graph_config("vos-donnees-graphique", locale)
        spec = spec_of(controls)
        dataset = _get(store, dataset_id)
        figure = chart_for(services, dataset, spec, locale)
        search = "?" + urlencode({"dataset": dataset.id, **spec.query()}, doseq=True)
        name = stem(f"{dataset.name}-{spec.kind}", [])
        return (
            figure,
            get_relative_path("/explore/chart.html") + search,
            get_relative_path("/explore/chart.csv") + search,
            graph_config(name, locale),
        )

    @callback(
        Output(IDS.VIEW, "data"),
        Input(IDS.DATASET, "value"),
        Input(IDS.COLUMN, "value"),
        *chart_inputs,
        State(PAGE_ROUTE, "data"),
    )
    def address(dataset_id, column, *controls_and_route):
        """The page's address: the dataset, the column summarised and the whole chart."""
        controls = controls_and_route[: len(CHART_CONTROLS)]
        page_route = (
            controls_and_route[len(CHART_CONTROLS)] if len(controls_and_route) > len(controls) else None
        )
        if dataset_id is None:
            return view_state("", ctx.triggered_id, page_route)
        params = {"dataset": _dataset_id(dataset_id)}
        if isinstance(column, str):
            params["column"] = column
        search = "?" + urlencode({**params, **spec_of(controls).query()}, doseq=True)
        return view_state(search, ctx.triggered_id, page_route)

    _register_chart_exports(app, services)


def _change(store: DatasetStore, action: str, dataset_id: int, new_name: object) -> tuple[str, int | None]:
    """Rename or delete for the owner: what to say, and the dataset to show next."""
    try:
        if action == IDS.RENAME:
            if not isinstance(new_name, str) or not new_name.strip():
                return _("Type the new name first."), dataset_id
            renamed = store.rename(viewer(), dataset_id, new_name)
            return _("Renamed « {name} ».").format(name=renamed.name), dataset_id
        gone = store.get(viewer(), dataset_id)
        store.delete(viewer(), dataset_id)
        return _("« {name} » was deleted.").format(name=gone.name), None
    except DatasetNotFound:
        return _("Only its owner can rename or delete this dataset."), dataset_id
    except DatasetRefused as exc:
        return said_in_language(exc), dataset_id


def _share(store: DatasetStore, dataset_id: int, role: object) -> str:
    """Share read-only with a role ("": with nobody), for the owner; said only when it changed."""
    if role not in ("", *SHARE_ROLES):
        raise BadInput("share", "unknown role")
    try:
        current = store.get(viewer(), dataset_id)
        if (current.shared_role or "") == role:
            raise PreventUpdate  # (the dropdown shows the dataset just chosen: nothing to do)
        store.share(viewer(), dataset_id, role or None, SHARE_ROLES)
    except DatasetNotFound:
        return _("Only its owner can share this dataset.")
    if role:
        return _("Every « {role} » user can now read this dataset.").format(role=role)
    return _("This dataset is no longer shared.")


def _save_chart(services: Services, dataset: Dataset, name: object, view_data: object) -> tuple[str, object]:
    """Save the chart shown (the page's address) under name: what to say, and the name field."""
    if not isinstance(name, str) or not name.strip():
        return _("Type a name for the chart first."), no_update
    search = view_data.get("search") if isinstance(view_data, dict) else None
    if not isinstance(search, str) or "chart=" not in search:
        return _("Draw a chart first."), no_update
    try:
        saved = services.saved_charts.save(viewer(), dataset, name, search)
    except DatasetNotFound:
        raise BadInput("dataset", "no such dataset") from None
    except DatasetRefused as exc:
        return _("The chart was not saved: {reason}").format(reason=said_in_language(exc)), no_update
    return _("Saved as « {name} ».").format(name=saved.name), ""


def _delete_saved(services: Services, chart_id: object) -> str:
    if not isinstance(chart_id, int) or isinstance(chart_id, bool) or not 1 <= chart_id <= MAX_ID:
        raise BadInput("saved chart", "expected a saved chart id")
    try:
        gone = services.saved_charts.get(viewer(), chart_id)
        services.saved_charts.delete(viewer(), chart_id)
    except SavedChartNotFound:
        raise BadInput("saved chart", "no such saved chart") from None
    return _("« {name} » was deleted.").format(name=gone.name)


def _get(store: DatasetStore, dataset_id: object) -> Dataset:
    try:
        return store.get(viewer(), _dataset_id(dataset_id))
    except DatasetNotFound:
        raise BadInput("dataset", "no such dataset") from None


def _cells(row: dict) -> dict:
    """Values the browser can show: dates as ISO text."""
    return {k: (v.isoformat(sep=" ") if hasattr(v, "isoformat") else v) for k, v in row.items()}


def _summary_list(summary: dict) -> html.Dl:
    locale = current_locale()

    def shown(value) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return fmt_number(value, 0 if float(value).is_integer() else 2, locale=locale)
        return str(value)

    items = [(_("Type"), _(TYPE_NAMES[summary["type"]])), (_("Missing"), shown(summary["missing"]))]
    items.append((_("Distinct (about)"), shown(summary["distinct"])))
    for key, label in (
        ("min", _("Min")),
        ("q1", _("1st quartile")),
        ("median", _("Median")),
        ("mean", _("Mean")),
        ("q3", _("3rd quartile")),
        ("max", _("Max")),
    ):
        if summary.get(key) is not None:
            items.append((label, shown(summary[key])))
    return html.Dl(
        [part for term, text in items for part in (html.Dt(term), html.Dd(text))], className="mb-0"
    )


def _figure(store: DatasetStore, dataset: Dataset, column: str, summary: dict) -> go.Figure:
    locale = current_locale()
    title = _("How {column} is spread").format(column=column)
    if summary["type"] in ("integer", "number", "datetime"):
        bins = store.histogram(viewer(), dataset.id, column)
        if not bins:
            return empty_figure(title, _("No value in this column"), locale)
        if summary["type"] == "datetime":
            x = [start + (end - start) / 2 for start, end, _n in bins]
            width = [(end - start).total_seconds() * 1000 for start, end, _n in bins]
        else:
            x = [(start + end) / 2 for start, end, _n in bins]
            width = [end - start for start, end, _n in bins]
        figure = go.Figure(go.Bar(x=x, y=[n for *_edges, n in bins], width=width, name=column))
        figure.update_layout(
            **base_layout(title, locale, showlegend=False, bargap=0.02, yaxis={"title": _("Number of rows")})
        )
        return figure
    top = summary.get("top") or []
    if not top:
        return empty_figure(title, _("No value in this column"), locale)
    figure = go.Figure(
        go.Bar(y=[str(v) for v, _n in top][::-1], x=[n for _v, n in top][::-1], orientation="h")
    )
    title = _("Most frequent values of {column}").format(column=column)
    figure.update_layout(**base_layout(title, locale, showlegend=False, xaxis={"title": _("Number of rows")}))
    return figure


def _correlation_figure(names: list[str], matrix: list[list]) -> go.Figure:
    """Each pair of number columns' correlation, from -1 (blue) to +1 (red), written in its cell."""
    locale = current_locale()
    title = _("Correlations between number columns")
    if not matrix:
        return empty_figure(title, _("Fewer than two number columns"), locale)
    figure = go.Figure(
        go.Heatmap(
            z=matrix,
            x=names,
            y=names,
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=True,
            texttemplate="%{z:.2f}",
            hovertemplate="%{y} · %{x}: %{z:.3f}<extra></extra>",
            colorbar={"thickness": 12},
        )
    )
    figure.update_layout(**base_layout(title, locale, showlegend=False, yaxis={"autorange": "reversed"}))
    return figure


def _register_upload(app: Dash, services: Services, store: DatasetStore) -> None:
    """POST /explore/upload: the file as the request's body, streamed to disk a megabyte at a time
    (never whole in memory), at most MAX_UPLOAD_BYTES; then typed and stored for the user by a
    process of its own (services/dataset_import.py)."""
    folder = services.settings.data_dir / "uploads"

    @app.server.route(f"{services.prefix}/explore/upload", methods=["POST"], endpoint="explore_upload")
    def upload() -> tuple[Response, int]:
        if not services.access.can_open(current_user, by_key("explore")):
            return jsonify(error=_("You are not allowed to see this dashboard.")), 403
        try:
            validate_csrf(request.headers.get("X-CSRFToken"))
        except ValidationError:
            return jsonify(error=_("Invalid or expired form: reload the page.")), 400
        request.max_content_length = MAX_UPLOAD_BYTES  # (this route's own: server.max_request_mb is smaller)
        too_big = _("The file is larger than {size} MB.").format(size=MAX_UPLOAD_BYTES >> 20)
        if (request.content_length or 0) > MAX_UPLOAD_BYTES:
            return jsonify(error=too_big), 413
        name = Path(unquote(request.headers.get("X-Filename", ""))).name[:255] or "data.csv"
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".upload", delete=False) as out:
            received = Path(out.name)
            try:
                size = 0
                while chunk := request.stream.read(CHUNK):
                    size += len(chunk)
                    if size > MAX_UPLOAD_BYTES:
                        received.unlink(missing_ok=True)
                        return jsonify(error=too_big), 413
                    out.write(chunk)
            except ClientDisconnected:
                received.unlink(missing_ok=True)
                return jsonify(
                    error=_("The file could not be sent (connection lost): nothing was stored.")
                ), 400
        try:
            # (in a process of its own: typing a large file would grow this worker for good)
            report = add_in_child(store, services.settings.database_url, viewer(), received, name)
        except DatasetRefused as exc:
            return jsonify(error=said_in_language(exc)), 400
        except ImportFailed:
            return jsonify(error=_("The file could not be stored (the server failed): try again.")), 500
        finally:
            received.unlink(missing_ok=True)
        services.audit.record("dataset_upload", dashboard="explore", dataset=report.dataset.id)
        locale = current_locale()
        return (
            jsonify(
                id=report.dataset.id,
                name=report.dataset.name,
                rows=report.dataset.rows,
                rows_text=fmt_number(report.dataset.rows, locale=locale),
                columns=len(report.dataset.columns),
                rejected=report.rejected,
                rejected_text=fmt_number(report.rejected, locale=locale),
                first_line=report.first_rejected[0][0] if report.first_rejected else None,
            ),
            200,
        )


CHART_CONTROLS = (
    IDS.CHART_KIND,
    IDS.CHART_X,
    IDS.CHART_Y,
    IDS.CHART_COLOR,
    IDS.CHART_SIZE,
    IDS.CHART_FACET,
    IDS.CHART_AGG,
    *(
        component.format(i)
        for i in range(MAX_FILTERS)
        for component in (IDS.FILTER_COLUMN, IDS.FILTER_OPERATOR, IDS.FILTER_VALUE)
    ),
)
COLUMN_PICKERS = (
    IDS.CHART_X,
    IDS.CHART_Y,
    IDS.CHART_COLOR,
    IDS.CHART_SIZE,
    IDS.CHART_FACET,
    *(IDS.FILTER_COLUMN.format(i) for i in range(MAX_FILTERS)),
)


def spec_of(controls: tuple) -> ChartSpec:
    """The chart the controls describe (their values come from the browser: shapes checked here,
    names and types against the dataset by the chart service)."""
    if len(controls) != len(CHART_CONTROLS):
        raise BadInput("chart", "expected the chart builder's controls")
    for value in controls:
        if value is not None and (not isinstance(value, str) or len(value) > 512):
            raise BadInput("chart", "expected text")
    kind, x, y, color, size, facet, agg, *filter_parts = controls
    if kind not in CHART_KINDS or agg not in AGGREGATIONS:
        raise BadInput("chart", "unknown chart or aggregation")
    filters = []
    for i in range(MAX_FILTERS):
        column, operator, value = filter_parts[3 * i : 3 * i + 3]
        if column and operator in FILTER_OPERATORS and value not in (None, ""):
            filters.append((column, operator, value))
    return ChartSpec(
        kind, x or None, y or None, color or None, size or None, facet or None, agg, tuple(filters)
    )


def _control_values(spec: ChartSpec) -> list:
    """The controls' values for spec (CHART_CONTROLS' order)."""
    values = [spec.kind, spec.x, spec.y, spec.color, spec.size, spec.facet, spec.agg]
    for i in range(MAX_FILTERS):
        column, operator, value = spec.filters[i] if i < len(spec.filters) else (None, "=", "")
        values += [column, operator, value]
    return values


def chart_for(services: Services, dataset: Dataset, spec: ChartSpec, locale: str) -> go.Figure:
    """The chart's figure, or a figure that says why it cannot be drawn."""
    try:
        data = chart_data(services.datasets, viewer(), dataset.id, spec)
    except ChartRefused as exc:
        return empty_figure(_("Chart builder"), _(exc.message).format(**exc.fields), locale)
    if not data.rows:
        return empty_figure(chart_title(data), _("No row matches these filters."), locale)
    return chart_figure(data, locale)


def _example_dataset(store: DatasetStore, key: str, reuse: bool) -> Dataset:
    """An example stored for the viewer (their own copy already stored, when reuse)."""
    if reuse:
        for dataset in store.list(viewer()):
            if dataset.owner_id == viewer().user_id and dataset.filename == key:
                return dataset
    return store.add_example(viewer(), key).dataset


def _register_chart_exports(app: Dash, services: Services) -> None:
    """GET /explore/chart.html and /explore/chart.csv: the chart of the query string (the page's
    own address) as a standalone page, or its table as formula-safe CSV."""

    def chart_request() -> tuple[Dataset, ChartSpec] | Response:
        if not current_user.is_authenticated or not services.access.can_open(current_user, by_key("explore")):
            return Response(_("You are not allowed to see this dashboard."), status=403)
        query = parse_qs(request.query_string.decode("utf-8", "replace"))
        try:
            dataset_id = int((query.get("dataset") or ["0"])[0])
            dataset = services.datasets.get(viewer(), dataset_id)
        except (ValueError, DatasetNotFound):
            return Response(_("No such dataset."), status=404)
        return dataset, ChartSpec.from_query(query)

    @app.server.route(f"{services.prefix}/explore/chart.html", endpoint="explore_chart_html")
    def chart_page():
        found = chart_request()
        if isinstance(found, Response):
            return found
        dataset, spec = found
        figure = chart_for(services, dataset, spec, current_locale())
        return chart_html(figure.to_dict(), stem(f"{dataset.name}-{spec.kind}", []) + ".html")

    @app.server.route(f"{services.prefix}/explore/chart.csv", endpoint="explore_chart_csv")
    def chart_csv():
        found = chart_request()
        if isinstance(found, Response):
            return found
        dataset, spec = found
        try:
            data = chart_data(services.datasets, viewer(), dataset.id, spec)
        except ChartRefused as exc:
            return Response(_(exc.message).format(**exc.fields), status=400)
        rows = ([_cell(v) for v in row] for row in data.rows)
        return csv_download(data.columns, rows, stem(f"{dataset.name}-{spec.kind}", []) + ".csv")


def _cell(value: object) -> object:
    return value.isoformat(sep=" ") if hasattr(value, "isoformat") else value
