"""Building blocks every dashboard layout uses: KPI cards, chart cards, empty states."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, get_relative_path, html

from dashhub.i18n import current_locale, number_separators, plotly_locale
from dashhub.i18n import gettext as _


def as_json(component) -> dict:
    """component as the plain JSON Dash sends for it.

    Dash serialises callback responses with orjson when every value is plain JSON; one component
    object in a response makes plotly walk the whole response in Python first (measured: a cached
    Ventes callback 5.2 ms instead of 2.7 ms). Callbacks return small components through this.
    """
    if hasattr(component, "to_plotly_json"):
        component = component.to_plotly_json()
    if isinstance(component, dict):
        return {key: as_json(value) for key, value in component.items()}
    if isinstance(component, list | tuple):
        return [as_json(value) for value in component]
    return component


def view_state_id(dashboard: str) -> dict[str, str]:
    """The id of a dashboard's view state: {"search": its query string, "replace": bool}.

    The dashboard's callback writes it; the shell copies it into the address (the one writer of
    the URL) and compares the address with it to tell Back, Forward and links from its own echo.
    """
    return {"type": "view-state", "dashboard": dashboard}


def view_state_store(dashboard: str) -> dcc.Store:
    return dcc.Store(id=view_state_id(dashboard))


def view_state(search: str, trigger: object, at: object = None) -> dict:
    """A dashboard's view state: its query string, and whether it only tidies the address the
    page was opened with (the callback's first run, trigger None) or records a user's change;
    at: the stamp of the route the page was drawn for (the shell's page-route store, a State of
    the callback), so that an answer that comes back after Back or a link is told from the new
    page's own."""
    state = {"search": search, "replace": trigger is None}
    if isinstance(at, int | float) and not isinstance(at, bool):
        state["at"] = at
    return state


class ExportIds:
    """Component ids of one dashboard's background CSV export."""

    def __init__(self, dashboard: str) -> None:
        self.start = f"{dashboard}-export-start"
        self.cancel = f"{dashboard}-export-cancel"
        self.progress = f"{dashboard}-export-progress"
        self.bar = f"{dashboard}-export-bar"
        self.count = f"{dashboard}-export-count"
        self.result = f"{dashboard}-export-result"
        self.ticket = f"{dashboard}-export-ticket"
        self.dialect = f"{dashboard}-export-dialect"


# CSV conventions offered: "standard" (comma, decimal point: programs, English spreadsheets) and
# "excel-fr" (semicolon, decimal comma, UTF-8 with BOM: what a French spreadsheet opens as is).
CSV_DIALECTS = ("standard", "excel-fr")


def graph_config(filename: str, locale: str, selectable: bool = False) -> dict:
    """Toolbar and export settings shared by every chart; box and lasso selection only where the
    chart answers a selection (elsewhere they would select nothing)."""
    return {
        "displaylogo": False,
        "responsive": True,
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
        "modeBarButtonsToRemove": [] if selectable else ["lasso2d", "select2d"],
        # plotly.js offers « Share chart », which uploads the figure's data to Plotly's cloud:
        # no button, and no destination either
        "showSendToCloud": False,
        "showEditInChartStudio": False,
        "plotlyServerURL": "",
        **plotly_locale(locale),
    }


# While a chart updates, the previous one stays in view, dimmed, under the spinner (not replaced
# by an empty box that makes the page jump).
KEEP_CHART_DIMMED = {"visibility": "visible", "opacity": 0.45}


def kpi_card(card_id: str, label: str, icon: str, xl: int = 3, xs: int = 12) -> dbc.Col:
    return dbc.Col(
        dbc.Card(
            dbc.CardBody(
                [
                    html.Div([html.I(className=f"bi bi-{icon} me-2"), label], className="kpi-label"),
                    dcc.Loading(
                        html.Div("…", id=card_id, className="kpi-value"),
                        type="dot",
                        delay_show=150,
                    ),
                ]
            ),
            className="kpi-card h-100",
        ),
        xs=xs,
        sm=6,
        xl=xl,
        className="mb-3",
    )


def chart_card_plain(graph_id: str, filename: str, height: int = 420) -> dbc.Card:
    """A chart with a loading indicator (its toolbar saves it as PNG)."""
    locale = current_locale()
    return dbc.Card(
        dbc.CardBody(
            dcc.Loading(
                dcc.Graph(
                    id=graph_id, config=graph_config(filename, locale), style={"height": f"{height}px"}
                ),
                type="circle",
                delay_show=150,
                overlay_style=KEEP_CHART_DIMMED,
            ),
            className="p-2",
        ),
        className="mb-3 chart-card",
    )


def chart_card(
    graph_id: str, export_id: str, filename: str, locale: str, height: int = 420, selectable: bool = False
) -> dbc.Card:
    """A chart with a loading indicator and a link to download it as standalone HTML."""
    return dbc.Card(
        [
            dbc.CardBody(
                dcc.Loading(
                    dcc.Graph(
                        id=graph_id,
                        config=graph_config(filename, locale, selectable),
                        style={"height": f"{height}px"},
                    ),
                    type="circle",
                    overlay_style=KEEP_CHART_DIMMED,
                    delay_show=150,
                ),
                className="p-2",
            ),
            dbc.CardFooter(
                html.A(
                    [html.I(className="bi bi-filetype-html me-1"), _("Download as HTML")],
                    id=export_id,
                    href="#",
                    className="small text-decoration-none",
                ),
                className="text-end py-1 bg-transparent",
            ),
        ],
        className="mb-4 chart-card",
    )


def unknown_values_notice(unknown: dict[str, list[str]]) -> dbc.Alert | None:
    """Say which values of the address the data does not have (they were left out), instead of
    an empty view without a word. unknown: the filter's label → the values not found."""
    named = [f"{label} « {value} »" for label, values in unknown.items() for value in values[:5]]
    if not named:
        return None
    return dbc.Alert(
        [
            html.I(className="bi bi-exclamation-triangle me-2"),
            _("The address names values these data do not have: {values}. They were left out.").format(
                values=", ".join(named)
            ),
        ],
        color="warning",
        className="py-2 mb-3",
        id="unknown-values",
        dismissable=True,
    )


def no_data_page(title: str, heading: str, body: str) -> html.Div:
    """A dashboard whose table is empty: its title and what to do about it."""
    return html.Div([html.H1(title, className="h3 mb-3"), empty_state(heading, body)])


def empty_state(title: str, body: str, icon: str = "inbox") -> html.Div:
    return html.Div(
        [
            html.I(className=f"bi bi-{icon} display-5 text-secondary"),
            html.H2(title, className="h4 mt-3"),
            html.P(body, className="text-secondary"),
        ],
        className="empty-state text-center py-5",
    )


def dropdown_labels() -> dict[str, str]:
    """Dash's dropdown texts in the user's language."""
    return {
        "select_all": _("Select all"),
        "deselect_all": _("Deselect all"),
        "selected_count": _("{num_selected} selected"),
        "search": _("Search"),
        "clear_search": _("Clear search"),
        "clear_selection": _("Clear selection"),
        "no_options_found": _("No options found"),
    }


def all_selected_texts(component_id: str) -> str:
    """The id of the Store holding a multi-select's count texts (see callbacks.common)."""
    return f"{component_id}-count-texts"


def multi_select(
    component_id: str, label: str, options, value, placeholder: str, all_text: str | None = None
) -> list:
    """A labelled multi-select dropdown (every option chosen by default). all_text: what its count
    says when every option is chosen (« Toutes (4) »), instead of « 4 sélectionné(s) »."""
    return [
        dcc.Store(
            id=all_selected_texts(component_id),
            data={"all": all_text or _("All ({num_selected})"), "some": _("{num_selected} selected")},
        ),
        dbc.Label(label, html_for=component_id),
        dcc.Dropdown(
            id=component_id,
            options=list(options),
            value=list(value),
            multi=True,
            labels=dropdown_labels(),
            placeholder=placeholder,
            # every option in view without scrolling up to eight (four regions, five departments),
            # below « select all » and the search box
            maxHeight=340,
        ),
    ]


def range_slider(component_id: str, label: str, low: float, high: float, value) -> list:
    """A labelled range slider with its two values always shown."""
    return [
        dbc.Label(label, html_for=component_id),
        dcc.RangeSlider(
            id=component_id,
            min=low,
            max=high,
            step=1,
            value=list(value),
            marks=None,
            allowCross=False,
            tooltip={"placement": "bottom", "always_visible": True},
            # the values show once, in the handles' tooltips: no unlabelled number boxes beside
            allow_direct_input=False,
        ),
    ]


def filter_actions(reset_path: str, export: ExportIds) -> html.Div:
    """Reset the filters (reload the page without its query) and export the filtered rows."""
    return html.Div(
        [
            dcc.Link(
                [html.I(className="bi bi-arrow-counterclockwise me-1"), _("Reset")],
                href=get_relative_path(reset_path),
                className="btn btn-outline-secondary btn-sm",
            ),
            dbc.Button(
                [html.I(className="bi bi-filetype-csv me-1"), _("Export CSV")],
                id=export.start,
                color="primary",
                outline=True,
                size="sm",
                title=_("Export the filtered rows as CSV (runs in the background)"),
            ),
            html.Label(
                [
                    html.Span(_("CSV format"), className="visually-hidden"),
                    dbc.Select(
                        id=export.dialect,
                        options=[
                            {"label": _("Standard (,)"), "value": "standard"},
                            {"label": _("French spreadsheet (;)"), "value": "excel-fr"},
                        ],
                        # a French user's spreadsheet expects semicolons and decimal commas
                        value="excel-fr" if current_locale() == "fr" else "standard",
                        size="sm",
                    ),
                ],
                className="mb-0",
            ),
        ],
        className="d-flex gap-2 align-items-end h-100 pb-1 flex-wrap",
    )


def export_panel(export: ExportIds, ticket: str) -> html.Div:
    """Progress, cancel and the download link of a background export (hidden until one runs)."""
    return html.Div(
        [
            dcc.Store(id=export.ticket, data=ticket),
            html.Div(
                [
                    html.Div(
                        [_("Exporting the filtered rows…"), " ", html.Span(id=export.count)],
                        className="small text-secondary mb-1",
                    ),
                    html.Div(
                        [
                            dbc.Progress(
                                id=export.bar,
                                value=0,
                                striped=True,
                                animated=True,
                                className="flex-grow-1",
                                style={"height": "1.25rem"},
                            ),
                            dbc.Button(
                                [html.I(className="bi bi-x-circle me-1"), _("Cancel")],
                                id=export.cancel,
                                color="secondary",
                                outline=True,
                                size="sm",
                                disabled=True,
                            ),
                        ],
                        className="d-flex gap-2 align-items-center",
                    ),
                ],
                id=export.progress,
                className="export-progress mb-3 d-none",
            ),
            html.Div(id=export.result, role="status", **{"aria-live": "polite"}),
        ]
    )


def filter_card(columns: list[dbc.Col]) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(dbc.Row(columns, className="g-3"), className="pb-2"),
        className="mb-3 filter-card",
    )


def help_panel(items: list[tuple[str, str]]) -> html.Details:
    """« How to read this dashboard »: a closed disclosure under the page's title (no callback;
    opened with a click, Enter or Space), each item a term and what it means."""
    return html.Details(
        [
            html.Summary([html.I(className="bi bi-question-circle me-1"), _("How to read this dashboard")]),
            html.Dl(
                [part for term, text in items for part in (html.Dt(_(term)), html.Dd(_(text)))],
                className="help-list mb-0 mt-2",
            ),
        ],
        className="help-panel mb-3",
    )


def paged_grid(grid_id: str, columns: list[dict], no_rows: str, height: int, class_name: str) -> dag.AgGrid:
    """A table paged by the server (AG Grid's infinite row model: it asks for 20 rows at a time,
    sorted by its headings), its paging bar in the page's language; no_rows: when empty."""
    return dag.AgGrid(
        id=grid_id,
        rowModelType="infinite",
        columnDefs=columns,
        defaultColDef={"sortable": True, "resizable": True, "filter": False, "minWidth": 110},
        columnSize="responsiveSizeToFit",
        dashGridOptions={
            "pagination": True,
            "paginationPageSize": 20,
            "paginationPageSizeSelector": False,
            "cacheBlockSize": 20,
            "maxBlocksInCache": 10,
            "localeText": grid_texts(no_rows),
            "suppressFieldDotNotation": True,  # (« a.b » is a column's name, not a path)
        },
        style={"height": f"{height}px"},
        className=f"ag-theme-alpine {class_name}",
    )


def grid_texts(no_rows: str) -> dict[str, str]:
    """An AG Grid's paging bar and messages in the page's language (no_rows: when empty)."""
    thousands, decimal = number_separators()
    return {
        "thousandSeparator": thousands,
        "decimalSeparator": decimal,
        "page": _("Page"),
        "of": _("of"),
        "to": _("to"),
        "more": _("more"),
        "firstPage": _("First page"),
        "lastPage": _("Last page"),
        "nextPage": _("Next page"),
        "previousPage": _("Previous page"),
        "loadingOoo": _("Loading…"),
        "noRowsToShow": no_rows,
    }
