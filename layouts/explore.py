"""Vos données (/explore): upload a file, pick a dataset, browse its rows, summarise a column."""

from __future__ import annotations

import json

import dash_bootstrap_components as dbc
from dash import dcc, get_relative_path, html

from dashhub.i18n import N_
from dashhub.i18n import gettext as _
from dashhub.layouts.common import chart_card_plain, help_panel, paged_grid, view_state_id, view_state_store


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
    TABLE_REFRESHED = "explore-table-refreshed"
    COLUMN = "explore-column"
    SUMMARY = "explore-summary"
    HISTOGRAM = "explore-histogram"
    CORRELATIONS = "explore-correlations"
    VIEW = view_state_id("explore")


HELP = [
    (
        N_("Your file"),
        N_(
            "A CSV file (any usual separator and encoding), up to 200 MB. Each column gets a type "
            "(whole number, number, date, yes/no, category or text) from all its values. Rows with "
            "the wrong number of fields are left out and counted. Only you see your datasets."
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
]


def layout(options: list[dict], chosen: int | None, columns: list[dict], column: str | None) -> html.Div:
    return html.Div(
        [
            html.H1(_("Your data"), className="h3 mb-2"),
            help_panel(HELP),
            _upload_card(),
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
            dbc.Card(dbc.CardBody(_manage_row(), className="py-2"), className="mb-3"),
            dbc.Row(
                [
                    dbc.Col(dbc.Card(dbc.CardBody(id=IDS.SUMMARY)), lg=4, className="mb-3"),
                    dbc.Col(chart_card_plain(IDS.HISTOGRAM, "vos-donnees-colonne", height=320), lg=8),
                ],
                className="g-3",
            ),
            html.Div(
                chart_card_plain(IDS.CORRELATIONS, "vos-donnees-correlations", height=460), className="mt-3"
            ),
            paged_grid(IDS.TABLE, [], _("No row in this dataset."), 560, "my-4"),
            dcc.Store(id=IDS.UPLOADED),
            dcc.Store(id=IDS.TABLE_REFRESHED),
            view_state_store("explore"),
        ]
    )


def _manage_row() -> html.Div:  # (in a card: outline buttons have their contrast on white)
    """Rename the dataset shown, or delete it (after a confirmation): its owner only."""
    return html.Div(
        [
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


def _upload_card() -> dbc.Card:
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
                    dbc.Label(_("Send a CSV file (or drop it here)"), html_for=IDS.FILE),
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
                ]
            ),
            className="mb-4",
        ),
        id="explore-upload",
        **{"data-url": get_relative_path("/explore/upload"), "data-texts": json.dumps(texts)},
    )
