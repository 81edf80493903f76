"""Vos données (/explore): upload a file, pick a dataset, browse its rows, summarise a column."""

from __future__ import annotations

import json

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, get_relative_path, html

from dashhub.domain.charts import AGGREGATIONS, CHART_KINDS, FILTER_OPERATORS, MAX_FILTERS, ChartSpec
from dashhub.i18n import N_, current_locale
from dashhub.i18n import gettext as _
from dashhub.layouts.common import (
    KEEP_CHART_DIMMED,
    chart_card_plain,
    dropdown_labels,
    graph_config,
    help_panel,
    paged_grid,
    view_state_id,
    view_state_store,
)


class IDS:
    FILE = "explore-file"
    SEND = "explore-send"
    CANCEL = "explore-cancel"
    PROGRESS = "explore-progress"
    STATUS = "explore-status"
    UPLOADED = "explore-uploaded"  # {"id": …, "at": …}: written by assets/explore.js after an upload
    DATASET = "explore-dataset"
    DETAILS = "explore-details"
    NEW_NAME = "explore-new-name"
    RENAME = "explore-rename"
    DELETE = "explore-delete"
    DELETE_DIALOG = "explore-delete-dialog"
    DELETE_CONFIRM = "explore-delete-confirm"
    DELETE_CANCEL = "explore-delete-cancel"
    ACTION_STATUS = "explore-action-status"
    TABLE = "explore-table"
    TABLE_SLOT = "explore-table-slot"  # (a new grid per dataset: it asks for its first page itself)
    COLUMN = "explore-column"
    SUMMARY = "explore-summary"
    HISTOGRAM = "explore-histogram"
    CORRELATIONS = "explore-correlations"
    EXAMPLE = "explore-example"
    ADD_EXAMPLE = "explore-add-example"
    SEED_SCATTER = "explore-seed-scatter"
    CHART_KIND = "explore-chart-kind"
    CHART_X = "explore-chart-x"
    CHART_Y = "explore-chart-y"
    CHART_COLOR = "explore-chart-color"
    CHART_SIZE = "explore-chart-size"
    CHART_FACET = "explore-chart-facet"
    CHART_AGG = "explore-chart-agg"
    FILTER_COLUMN = "explore-filter-column-{}"
    FILTER_OPERATOR = "explore-filter-operator-{}"
    FILTER_VALUE = "explore-filter-value-{}"
    CHART = "explore-chart"
    CHART_HTML = "explore-chart-html"
    CHART_CSV = "explore-chart-csv"
    PENDING_CHART = "explore-pending-chart"  # {dataset, search}: a chart to draw once it is chosen
    SAVE_NAME = "explore-save-name"
    SAVE = "explore-save"
    SAVE_STATUS = "explore-save-status"
    SAVED = "explore-saved"
    SAVED_DELETE = "explore-saved-delete"  # ({"type": …, "index": chart id}: one per saved chart)
    SHARE = "explore-share"
    SHARE_STATUS = "explore-share-status"
    NEW_TYPE = "explore-new-type"
    DATE_FORMAT = "explore-date-format"
    RETYPE = "explore-retype"
    RETYPE_STATUS = "explore-retype-status"
    RETYPED = "explore-retyped"  # {"dataset": id, "at": …}: a column's type was corrected
    MODEL_TARGET = "explore-model-target"
    MODEL_FEATURES = "explore-model-features"
    MODEL_IT = "explore-model-it"
    MODEL_STATUS = "explore-model-status"
    VIEW = view_state_id("explore")


# The encodings of the chart builder, by role: (component id, label).
ENCODINGS = (
    ("x", IDS.CHART_X, N_("x axis")),
    ("y", IDS.CHART_Y, N_("y axis")),
    ("color", IDS.CHART_COLOR, N_("Colour")),
    ("size", IDS.CHART_SIZE, N_("Size")),
    ("facet", IDS.CHART_FACET, N_("One panel per")),
)
KIND_NAMES = {
    "bar": N_("Bars"),
    "line": N_("Line"),
    "scatter": N_("Scatter"),
    "histogram": N_("Histogram"),
    "box": N_("Box plot"),
    "heatmap": N_("Heatmap"),
}
AGGREGATION_NAMES = {
    "count": N_("Number of rows"),
    "sum": N_("Sum"),
    "mean": N_("Mean"),
    "median": N_("Median"),
    "min": N_("Minimum"),
    "max": N_("Maximum"),
}
TYPE_NAMES = {  # (msgids: translated where shown)
    "integer": N_("whole number"),
    "number": N_("number"),
    "datetime": N_("date"),
    "boolean": N_("yes/no"),
    "category": N_("category"),
    "text": N_("text"),
}
OPERATOR_NAMES = {
    "=": "=",
    "!=": "≠",
    "<": "<",
    "<=": "≤",
    ">": ">",
    ">=": "≥",
    "contains": N_("contains"),
}


HELP = [
    (
        N_("Your file"),
        N_(
            "A CSV file (any usual separator and encoding), an Excel workbook (.xlsx: its first "
            "sheet) or a Parquet file, up to 200 MB. Each column gets a type "
            "(whole number, number, date, yes/no, category or text) from all its values. Rows with "
            "the wrong number of fields are left out and counted. Only you see your datasets."
        ),
    ),
    (
        N_("Chart builder"),
        N_(
            "Pick a chart, the columns on its axes, its colour, size and panels, and what each bar, "
            "point of a line or cell shows (the number of rows, or the sum, mean, median, minimum or "
            "maximum of a number column), computed over every row. A scatter of more than 5,000 rows "
            "shows a density, or a random sample when it has a colour or a size: the chart says so. "
            "The address keeps the whole chart: share it, or save the chart under a name."
        ),
    ),
    (
        N_("Table and summary"),
        N_(
            "The table reads the stored file a page at a time; click a heading to sort. Pick a "
            "column to see its missing and distinct values, its range and quartiles or its most "
            "frequent values, and how its values are spread."
        ),
    ),
    (
        N_("Model it"),
        N_(
            "Pick a column with 2 to 20 classes to predict and at least two numeric columns to predict "
            "it from: the dataset appears in the machine learning explorer, trained on its complete "
            "rows (a sample of 20,000 of them, every class kept, when there are more)."
        ),
    ),
]


def layout(
    options: list[dict],
    chosen: int | None,
    columns: list[dict],
    column: str | None,
    chart: ChartSpec,
    examples: dict[str, str],
    roles: tuple[str, ...],
    grid_columns: list[dict],
) -> html.Div:
    return html.Div(
        [
            html.H1(_("Your data"), className="h3 mb-2"),
            help_panel(HELP),
            _upload_card(examples),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label(_("Dataset"), html_for=IDS.DATASET),
                            dcc.Dropdown(
                                id=IDS.DATASET,
                                options=options,
                                value=chosen,
                                clearable=False,
                                placeholder=_("No dataset yet: send a file above"),
                            ),
                        ],
                        md=6,
                    ),
                    dbc.Col(
                        [
                            dbc.Label(_("Column"), html_for=IDS.COLUMN),
                            dcc.Dropdown(id=IDS.COLUMN, options=columns, value=column, clearable=False),
                        ],
                        md=6,
                    ),
                ],
                className="g-3 mb-3",
            ),
            html.P(id=IDS.DETAILS, className="text-secondary small", **{"aria-live": "polite"}),
            dbc.Card(dbc.CardBody(_manage_row(roles), className="py-2"), className="mb-3"),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardBody(id=IDS.SUMMARY),
                                dbc.CardFooter(_retype_form(), className="bg-transparent"),
                            ]
                        ),
                        lg=4,
                        className="mb-3",
                    ),
                    dbc.Col(chart_card_plain(IDS.HISTOGRAM, "vos-donnees-colonne", height=320), lg=8),
                ],
                className="g-3",
            ),
            _chart_builder(columns, chart),
            model_card(),
            html.Div(
                chart_card_plain(IDS.CORRELATIONS, "vos-donnees-correlations", height=460), className="mt-3"
            ),
            html.Div(table(grid_columns), id=IDS.TABLE_SLOT),
            dcc.Store(id=IDS.UPLOADED),
            dcc.Store(id=IDS.PENDING_CHART),
            dcc.Store(id=IDS.RETYPED),
            view_state_store("explore"),
        ]
    )


def model_card() -> dbc.Card:
    """« Model it »: a target and numeric features, and the dataset opens in the Explorateur ML."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(_("Model it"), className="h5"),
                html.P(
                    _(
                        "Predict a column with a few classes from numeric columns: the dataset then "
                        "appears in the machine learning explorer, for you and for those you share it with."
                    ),
                    className="text-secondary small mb-2",
                ),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label(_("Column to predict"), html_for=IDS.MODEL_TARGET),
                                dcc.Dropdown(id=IDS.MODEL_TARGET, options=[], clearable=False),
                            ],
                            md=4,
                        ),
                        dbc.Col(
                            [
                                dbc.Label(_("Predict it from"), html_for=IDS.MODEL_FEATURES),
                                dcc.Dropdown(
                                    id=IDS.MODEL_FEATURES, options=[], multi=True, labels=dropdown_labels()
                                ),
                            ],
                            md=5,
                        ),
                        dbc.Col(
                            dbc.Button(
                                [html.I(className="bi bi-cpu me-1"), _("Open in the explorer")],
                                id=IDS.MODEL_IT,
                                color="primary",
                                className="w-100",
                            ),
                            md=3,
                            className="d-flex align-items-end",
                        ),
                    ],
                    className="g-2",
                ),
                html.Div(id=IDS.MODEL_STATUS, className="mt-2", **{"aria-live": "polite"}),
            ]
        ),
        className="mt-3",
    )


def _manage_row(roles: tuple[str, ...]) -> html.Div:  # (in a card: outline buttons have their contrast)
    """Rename the dataset shown, share it read-only with a role, or delete it (after a
    confirmation): its owner only."""
    return html.Div(
        [
            html.Div(
                [
                    dbc.Label(_("Shared with"), html_for=IDS.SHARE, className="mb-0 small"),
                    html.Div(
                        dcc.Dropdown(
                            id=IDS.SHARE,
                            options=[{"label": _("nobody (only me)"), "value": ""}]
                            + [
                                {"label": _("every « {role} » user (read-only)").format(role=r), "value": r}
                                for r in roles
                            ],
                            value="",
                            clearable=False,
                        ),
                        style={"minWidth": "15rem"},
                    ),
                    html.Span(id=IDS.SHARE_STATUS, className="small", role="status"),
                ],
                className="d-flex flex-wrap gap-2 align-items-center",
            ),
            dbc.Label(_("New name of the dataset"), html_for=IDS.NEW_NAME, className="visually-hidden"),
            dbc.InputGroup(
                [
                    dbc.Input(id=IDS.NEW_NAME, placeholder=_("New name"), maxLength=128),
                    dbc.Button(_("Rename"), id=IDS.RENAME, color="secondary", outline=True),
                ],
                className="explore-rename w-auto",
            ),
            dbc.Button(
                [html.I(className="bi bi-trash me-1"), _("Delete")],
                id=IDS.DELETE,
                color="danger",
                outline=True,
            ),
            html.Span(id=IDS.ACTION_STATUS, className="small", role="status"),
            dbc.Modal(
                [
                    dbc.ModalHeader(
                        dbc.ModalTitle(_("Delete this dataset?"), id=IDS.DELETE_DIALOG + "-title")
                    ),
                    dbc.ModalBody(
                        _("Its file and its rows are deleted for good; charts of it stop working.")
                    ),
                    dbc.ModalFooter(
                        [
                            dbc.Button(_("Cancel"), id=IDS.DELETE_CANCEL, color="secondary", outline=True),
                            dbc.Button(_("Delete"), id=IDS.DELETE_CONFIRM, color="danger"),
                        ]
                    ),
                ],
                id=IDS.DELETE_DIALOG,
                is_open=False,
                fade=False,  # (no half-transparent frames: what is shown is readable at once)
                labelledby=IDS.DELETE_DIALOG + "-title",
            ),
        ],
        className="d-flex flex-wrap gap-2 align-items-center",
    )


def _upload_card(examples: dict[str, str]) -> dbc.Card:
    """A file picker (drop a file on the card, or choose one), Send and Cancel, a progress bar:
    assets/explore.js streams the file to POST /explore/upload (no Dash callback carries it)."""
    texts = {
        "choose": _("Choose a file first."),
        "progress": _("Sending the file"),
        "sending": _("Sending…"),
        "reading": _("Reading and typing the file…"),
        "cancelled": _("Sending cancelled: nothing was stored."),
        "failed": _("The file could not be sent (connection lost): nothing was stored."),
        "refused": _("File refused:"),
        "stored": _("Stored: {rows} rows, {columns} columns."),
        "rejected": _("{count} rows left out (wrong number of fields), the first on line {line}."),
    }
    return html.Div(
        dbc.Card(
            dbc.CardBody(
                [
                    dbc.Label(
                        _("Send a CSV, Excel (.xlsx) or Parquet file (or drop it here)"), html_for=IDS.FILE
                    ),
                    html.Div(
                        [
                            # (the file input itself is made by assets/explore.js)
                            html.Div(id=IDS.FILE + "-slot", className="flex-grow-1"),
                            dbc.Button(_("Send"), id=IDS.SEND, color="primary"),
                            dbc.Button(
                                _("Cancel"), id=IDS.CANCEL, color="secondary", outline=True, disabled=True
                            ),
                        ],
                        className="d-flex flex-wrap gap-2 align-items-center",
                    ),
                    dbc.Progress(id=IDS.PROGRESS, value=0, className="mt-3", style={"height": "0.75rem"}),
                    html.P(id=IDS.STATUS, className="mt-2 mb-0 small", role="status"),
                    html.Hr(className="my-3"),
                    _examples_row(examples),
                ]
            ),
            className="mb-4",
        ),
        id="explore-upload",
        **{"data-url": get_relative_path("/explore/upload"), "data-texts": json.dumps(texts)},
    )


def table(columns: list[dict]) -> dag.AgGrid:
    """The dataset's rows, paged and sorted by the server."""
    return paged_grid(IDS.TABLE, columns, _("No row in this dataset."), 560, "my-4")


def _examples_row(examples: dict[str, str]) -> html.Div:
    """Bundled datasets, one click away (no download): and the seed's Iris scatter itself."""
    return html.Div(
        [
            dbc.Label(_("Or take an example"), html_for=IDS.EXAMPLE, className="mb-0"),
            html.Div(
                dcc.Dropdown(
                    id=IDS.EXAMPLE,
                    options=[{"label": label, "value": key} for key, label in examples.items()],
                    value=next(iter(examples), None),
                    clearable=False,
                ),
                style={"minWidth": "16rem"},
            ),
            dbc.Button(_("Add"), id=IDS.ADD_EXAMPLE, color="secondary", outline=True),
            dbc.Button(
                [html.I(className="bi bi-stars me-1"), _("The course's Iris scatter")],
                id=IDS.SEED_SCATTER,
                color="link",
                className="text-decoration-none",
            ),
        ],
        className="d-flex flex-wrap gap-2 align-items-center",
    )


def _chart_builder(columns: list[dict], chart: ChartSpec) -> dbc.Card:
    """Chart type, encodings, aggregation and filters; the chart; its exports."""
    kinds = [{"label": _(KIND_NAMES[k]), "value": k} for k in CHART_KINDS]
    aggregations = [{"label": _(AGGREGATION_NAMES[a]), "value": a} for a in AGGREGATIONS]
    choose = [
        _picker(_("Chart"), IDS.CHART_KIND, kinds, chart.kind),
        *(
            _picker(_(label), cid, columns, getattr(chart, role), optional=True)
            for role, cid, label in ENCODINGS
        ),
        _picker(_("Value"), IDS.CHART_AGG, aggregations, chart.agg),
    ]
    filters = [
        _filter_row(i, columns, chart.filters[i] if i < len(chart.filters) else None)
        for i in range(MAX_FILTERS)
    ]
    links = html.Div(
        [
            html.A(
                [html.I(className="bi bi-filetype-html me-1"), _("Download as HTML")],
                id=IDS.CHART_HTML,
                href="#",
                className="small text-decoration-none",
            ),
            html.A(
                [html.I(className="bi bi-filetype-csv me-1"), _("The chart's data (CSV)")],
                id=IDS.CHART_CSV,
                href="#",
                className="small text-decoration-none",
            ),
        ],
        className="d-flex flex-wrap gap-3 justify-content-end",
    )
    return dbc.Card(
        [
            dbc.CardHeader(html.H2(_("Chart builder"), className="h5 mb-0")),
            dbc.CardBody(
                [
                    dbc.Row(choose, className="g-2 mb-2"),
                    html.Fieldset(
                        [html.Legend(_("Keep the rows where"), className="small fw-semibold mb-1"), *filters],
                        className="mb-2",
                    ),
                    dcc.Loading(
                        dcc.Graph(
                            id=IDS.CHART,
                            config=graph_config("vos-donnees-graphique", current_locale()),
                            style={"height": "520px"},
                        ),
                        type="circle",
                        delay_show=150,
                        overlay_style=KEEP_CHART_DIMMED,
                    ),
                ],
                className="p-2",
            ),
            dbc.CardFooter(
                dbc.Row(
                    [
                        dbc.Col([_save_row(), html.Div(id=IDS.SAVED, className="mt-2")], md=8),
                        dbc.Col(links, md=4),
                    ],
                    className="g-2",
                ),
                className="py-2 bg-transparent",
            ),
        ],
        className="mt-3 chart-card",
    )


def _picker(label: str, component_id: str, options: list[dict], value, optional: bool = False) -> dbc.Col:
    """A labelled dropdown of the chart builder (optional: it may be left empty)."""
    return dbc.Col(
        [
            dbc.Label(label, html_for=component_id),
            dcc.Dropdown(
                id=component_id,
                options=options,
                value=value,
                clearable=optional,
                placeholder=_("(none)") if optional else None,
            ),
        ],
        xs=12,
        sm=6,
        lg=3,
    )


def _filter_row(index: int, columns: list[dict], chosen: tuple[str, str, str] | None) -> dbc.Row:
    column, operator, value = chosen or (None, "=", "")
    number = index + 1
    return dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Label(
                        _("Filter {n}: column").format(n=number),
                        html_for=IDS.FILTER_COLUMN.format(index),
                        className="visually-hidden",
                    ),
                    dcc.Dropdown(
                        id=IDS.FILTER_COLUMN.format(index),
                        options=columns,
                        value=column,
                        placeholder=_("(no filter)"),
                    ),
                ],
                xs=12,
                sm=5,
            ),
            dbc.Col(
                [
                    dbc.Label(
                        _("Filter {n}: comparison").format(n=number),
                        html_for=IDS.FILTER_OPERATOR.format(index),
                        className="visually-hidden",
                    ),
                    dcc.Dropdown(
                        id=IDS.FILTER_OPERATOR.format(index),
                        options=[{"label": _(OPERATOR_NAMES[o]), "value": o} for o in FILTER_OPERATORS],
                        value=operator,
                        clearable=False,
                    ),
                ],
                xs=4,
                sm=2,
            ),
            dbc.Col(
                [
                    dbc.Label(
                        _("Filter {n}: value").format(n=number),
                        html_for=IDS.FILTER_VALUE.format(index),
                        className="visually-hidden",
                    ),
                    dbc.Input(
                        id=IDS.FILTER_VALUE.format(index),
                        value=value,
                        debounce=True,
                        maxLength=200,
                        placeholder=_("value"),
                    ),
                ],
                xs=8,
                sm=5,
            ),
        ],
        className="g-2 mb-1",
    )


def _retype_form() -> html.Div:
    """The owner corrects the column's type (a date format for dates written otherwise)."""
    return html.Div(
        [
            dbc.Label(_("Correct the type"), html_for=IDS.NEW_TYPE, className="small mb-1"),
            dcc.Dropdown(
                id=IDS.NEW_TYPE,
                options=[{"label": _(name), "value": key} for key, name in TYPE_NAMES.items()],
                clearable=False,
            ),
            dbc.Label(_("Date format (optional)"), html_for=IDS.DATE_FORMAT, className="visually-hidden"),
            dbc.Input(
                id=IDS.DATE_FORMAT,
                placeholder=_("date format, e.g. %d/%m/%Y"),
                maxLength=64,
                size="sm",
                className="mt-1",
            ),
            dbc.Button(
                _("Apply"), id=IDS.RETYPE, color="secondary", outline=True, size="sm", className="mt-1"
            ),
            html.Div(id=IDS.RETYPE_STATUS, className="small mt-1", role="status"),
        ]
    )


def saved_charts_list(charts: list[tuple[int, str, str]]) -> html.Div:
    """Saved charts as links to their address, each with a delete button (id, name, href)."""
    if not charts:
        return html.P(_("No saved chart for this dataset yet."), className="small text-secondary mb-0")
    return html.Ul(
        [
            html.Li(
                [
                    dcc.Link(name, href=href),
                    dbc.Button(
                        html.I(className="bi bi-x-lg"),
                        id={"type": IDS.SAVED_DELETE, "index": chart_id},
                        color="link",
                        size="sm",
                        className="p-0 ms-2 text-danger",
                        title=_("Delete the saved chart « {name} »").format(name=name),
                    ),
                ],
                className="d-flex align-items-center",
            )
            for chart_id, name, href in charts
        ],
        className="list-unstyled mb-0 small",
    )


def _save_row() -> html.Div:
    return html.Div(
        [
            dbc.Label(_("Name of the chart to save"), html_for=IDS.SAVE_NAME, className="visually-hidden"),
            dbc.InputGroup(
                [
                    dbc.Input(id=IDS.SAVE_NAME, placeholder=_("Save this chart as…"), maxLength=128),
                    dbc.Button(
                        [html.I(className="bi bi-bookmark me-1"), _("Save")],
                        id=IDS.SAVE,
                        color="secondary",
                        outline=True,
                    ),
                ],
                size="sm",
                className="w-auto",
            ),
            html.Span(id=IDS.SAVE_STATUS, className="small", role="status"),
        ],
        className="d-flex flex-wrap gap-2 align-items-center",
    )
