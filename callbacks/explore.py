"""Vos données (/explore): the upload route, the dataset list, the table's pages, a column's summary.

Every question names a dataset by id; the store answers only for the session's user (their own,
or shared with their role): an id sent by the browser decides nothing by itself.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode

import plotly.graph_objects as go
from dash import ClientsideFunction, Dash, Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate
from flask import Response, jsonify, request
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from werkzeug.exceptions import ClientDisconnected
from wtforms.validators import ValidationError

from dashhub.auth.callbacks import secure_callback, secure_clientside
from dashhub.container import Services
from dashhub.figures.common import base_layout, empty_figure
from dashhub.i18n import N_, current_locale, fmt_date, fmt_number
from dashhub.i18n import gettext as _
from dashhub.layouts import explore as view
from dashhub.layouts.common import view_state
from dashhub.registry import by_key
from dashhub.services.user_datasets import Dataset, DatasetNotFound, DatasetRefused, DatasetStore, Viewer
from dashhub.validation import BadInput

IDS = view.IDS
MAX_UPLOAD_BYTES = 200 << 20  # (nginx's client_max_body_size for /explore/upload says the same)
CHUNK = 1 << 20
MAX_ID = 2**31 - 1  # (a dataset id is a database integer)
TYPE_NAMES = {  # (msgids: translated where shown)
    "integer": N_("whole number"),
    "number": N_("number"),
    "datetime": N_("date"),
    "boolean": N_("yes/no"),
    "category": N_("category"),
    "text": N_("text"),
}


def viewer() -> Viewer:
    return Viewer(int(current_user.id), current_user.role)


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
    return view.layout(_options(found), chosen.id if chosen else None, _column_options(chosen), column)


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

    @callback(
        Output(IDS.DATASET, "options"),
        Output(IDS.DATASET, "value"),
        Output(IDS.ACTION_STATUS, "children"),
        Output(IDS.NEW_NAME, "value"),
        Input(IDS.UPLOADED, "data"),
        Input(IDS.RENAME, "n_clicks"),
        Input(IDS.DELETE_CONFIRM, "n_clicks"),
        State(IDS.DATASET, "value"),
        State(IDS.NEW_NAME, "value"),
        prevent_initial_call=True,
    )
    def manage(uploaded, _rename, _delete, dataset_id, new_name):
        """After an upload, a rename or a confirmed delete: the list again, and what happened."""
        said, chosen_id = "", dataset_id
        if ctx.triggered_id == IDS.UPLOADED:
            if not isinstance(uploaded, dict):
                raise PreventUpdate
            chosen_id = uploaded.get("id")
        elif dataset_id is None:
            said = _("No dataset to change.")
        elif ctx.triggered_id in (IDS.RENAME, IDS.DELETE_CONFIRM):
            said, chosen_id = _change(store, ctx.triggered_id, _dataset_id(dataset_id), new_name)
        found = store.list(viewer())
        chosen = _chosen(found, str(chosen_id))
        return _options(found), chosen.id if chosen else None, said, ""

    @callback(
        Output(IDS.DELETE_DIALOG, "is_open"),
        Input(IDS.DELETE, "n_clicks"),
        Input(IDS.DELETE_CONFIRM, "n_clicks"),
        Input(IDS.DELETE_CANCEL, "n_clicks"),
        prevent_initial_call=True,
    )
    def delete_dialog(_open, _confirm, _cancel):
        return ctx.triggered_id == IDS.DELETE

    @callback(
        Output(IDS.COLUMN, "options"),
        Output(IDS.COLUMN, "value"),
        Output(IDS.TABLE, "columnDefs"),
        Output(IDS.DETAILS, "children"),
        Output(IDS.CORRELATIONS, "figure"),
        Input(IDS.DATASET, "value"),
        State(IDS.COLUMN, "value"),
    )
    def choose_dataset(dataset_id, column):
        if dataset_id is None:
            empty = empty_figure(_("Correlations"), _("No data"), current_locale())
            return [], None, [], _("Send a CSV file to explore it here."), empty
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
        column_defs = [
            {
                "field": c.name,
                "headerName": c.name,
                **({"type": "numericColumn"} if c.type in ("integer", "number") else {}),
            }
            for c in dataset.columns
        ]
        correlations = _correlation_figure(*store.correlations(viewer(), dataset.id))
        return (
            _column_options(dataset),
            column if column in names else names[0],
            column_defs,
            details,
            correlations,
        )

    secure_clientside(app, "explore")(  # (another dataset: the grid asks for its first page again)
        ClientsideFunction(namespace="dashhub", function_name="refreshGrid"),
        Output(IDS.TABLE_REFRESHED, "data"),
        Input(IDS.DATASET, "value"),
        State(IDS.TABLE, "id"),
        prevent_initial_call=True,
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
        try:
            rows, total = store.page(viewer(), _dataset_id(dataset_id), start, end - start, sort=sort)
        except DatasetNotFound:
            raise BadInput("dataset", "no such dataset") from None
        except DatasetRefused as exc:
            raise BadInput("table", str(exc)) from None
        return {"rowData": [_cells(row) for row in rows], "rowCount": total}

    @callback(
        Output(IDS.SUMMARY, "children"),
        Output(IDS.HISTOGRAM, "figure"),
        Output(IDS.VIEW, "data"),
        Input(IDS.COLUMN, "value"),
        State(IDS.DATASET, "value"),
    )
    def summarise(column, dataset_id):
        trigger = ctx.triggered_id
        if dataset_id is None or column is None:
            return (
                _("No column to summarise."),
                empty_figure("", _("No data"), current_locale()),
                view_state("", trigger),
            )
        dataset = _get(store, dataset_id)
        try:
            summary = store.summary(viewer(), dataset.id, column)
        except DatasetRefused:
            raise BadInput("column", "no such column") from None
        search = "?" + urlencode({"dataset": dataset.id, "column": column})
        return _summary_list(summary), _figure(store, dataset, column, summary), view_state(search, trigger)


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
        return str(exc), dataset_id


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
    (never whole in memory), at most MAX_UPLOAD_BYTES; then typed and stored for the user."""
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
            report = store.add(viewer(), received, name)
        except DatasetRefused as exc:
            return jsonify(error=str(exc)), 400
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
