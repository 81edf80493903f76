"""Explorateur ML (/ml/explorer): the seed's side panel, KPI cards and tabs, plus cross-validation,
curves, importance, distributions, the decision boundary and the model registry."""

from __future__ import annotations

import json
import math

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, get_relative_path, html

from dashhub.domain.ml import (
    CV_RANGE,
    DATASETS,
    MODEL_PARAMS,
    MODELS,
    SEED_SCREEN,
    TEST_SIZE_RANGE,
    ExplorerConfig,
    Note,
    ParamSpec,
    query_for,
    slider_position,
)
from dashhub.i18n import N_, fmt_number
from dashhub.i18n import gettext as _
from dashhub.layouts.common import chart_card_plain, kpi_card, view_state_id, view_state_store

DATASET_NAMES = {"iris": N_("Iris (flowers)"), "wine": N_("Wine"), "breast_cancer": N_("Breast Cancer")}
MODEL_NAMES = {
    "svm": N_("SVM"),
    "random_forest": N_("Random Forest"),
    "logistic_regression": N_("Logistic Regression"),
    "knn": N_("k-nearest neighbours"),
    "gradient_boosting": N_("Gradient Boosting"),
}
WORD_NAMES = {
    "scale": N_("scale (from the data)"),
    "auto": N_("auto (1 / features)"),
    "none": N_("unlimited"),
}
PARAM_HELP = {
    "C": N_("Regularisation: smaller is simpler (log scale)"),
    "kernel": N_("Kernel"),
    "gamma": N_("Kernel width gamma (log scale)"),
    "degree": N_("Polynomial degree"),
    "n_estimators": N_("Number of trees"),
    "max_depth": N_("Maximum depth"),
    "min_samples_leaf": N_("Minimum rows per leaf"),
    "max_iter": N_("Maximum iterations"),
    "n_neighbors": N_("Neighbours k"),
    "weights": N_("Neighbour weights"),
    "p": N_("Distance (1: Manhattan, 2: Euclidean)"),
    "learning_rate": N_("Learning rate (log scale)"),
}


class IDS:
    DATASET = "ml-dataset"
    MODEL = "ml-model"
    TEST_SIZE = "ml-test-size"
    SCALE = "ml-scale"
    STRATIFY = "ml-stratify"
    SEED = "ml-seed"
    CV = "ml-cv"
    NOTES = "ml-notes"
    KPI_ACCURACY = "ml-kpi-accuracy"
    KPI_TRAIN = "ml-kpi-train"
    KPI_TEST = "ml-kpi-test"
    KPI_FEATURES = "ml-kpi-features"
    KPI_CV = "ml-kpi-cv"
    STATUS = "ml-status"
    RUN = "ml-run"  # {"query", "ready"}: the configuration shown, and whether its result exists
    QUEUE = "ml-queue"  # {"query"}: a configuration to train in the background
    DONE = "ml-done"  # {"query", "error"?}: what the background training finished
    TICKET = "ml-ticket"
    PROGRESS = "ml-progress"
    BAR = "ml-bar"
    CANCEL = "ml-cancel"
    TABS = "ml-tabs"
    REPORT = "ml-report"
    CV_FIGURE = "ml-cv-figure"
    INFO = "ml-info"
    CLASSES = "ml-classes"
    CONFUSION = "ml-confusion"
    ROC = "ml-roc"
    IMPORTANCE = "ml-importance"
    DIST_FEATURE = "ml-dist-feature"
    DISTRIBUTION = "ml-distribution"
    AXES = "ml-axes"
    X_FEATURE = "ml-x-feature"
    Y_FEATURE = "ml-y-feature"
    BOUNDARY = "ml-boundary"
    DEPLOY_NAME = "ml-deploy-name"
    DEPLOY_ACTIVATE = "ml-deploy-activate"
    DEPLOY = "ml-deploy"
    DEPLOY_RESULT = "ml-deploy-result"
    DEPLOYED = "ml-deployed"  # bumped by a deployment: the versions table reloads
    VERSIONS = "ml-versions"
    ACTIVATE = "ml-activate"
    ACTIVATED = "ml-activated"
    REGISTRY_MESSAGE = "ml-registry-message"
    COMPARE = "ml-compare"
    VIEW = view_state_id("ml_explorer")


def param_id(model: str, name: str) -> dict[str, str]:
    return {"type": "ml-param", "model": model, "name": name}


def word_id(model: str, name: str) -> dict[str, str]:
    return {"type": "ml-word", "model": model, "name": name}


def row_id(model: str, name: str) -> dict[str, str]:
    return {"type": "ml-param-row", "model": model, "name": name}


def box_id(model: str, name: str) -> dict[str, str]:
    """The slider of a parameter that also takes words: greyed out while a word is chosen."""
    return {"type": "ml-slider-box", "model": model, "name": name}


SLIDER_OFF = "ml-slider-off"


TABS = ("report", "info", "confusion", "roc", "importance", "distributions", "boundary", "versions")


def layout(
    config: ExplorerConfig,
    notes: list[Note],
    locale: str,
    ticket: str,
    own: list[tuple[str, str]] | None = None,
) -> html.Div:
    """own: the user's modelled datasets of « Vos données », (explorer name, dataset name)."""
    return html.Div(
        [
            html.H1(_("Machine learning model explorer"), className="h3 mb-1"),
            html.P(
                _(
                    "Pick a dataset and a model, tune it, and read its performance: every control "
                    "updates the results, and the address keeps the whole configuration."
                ),
                className="text-secondary mb-3",
            ),
            dcc.Store(id=IDS.RUN),
            dcc.Store(id=IDS.QUEUE),
            dcc.Store(id=IDS.DONE),
            dcc.Store(id=IDS.TICKET, data=ticket),
            dcc.Store(id=IDS.DEPLOYED),
            dcc.Store(id=IDS.ACTIVATED),
            view_state_store("ml_explorer"),
            dbc.Row(
                [
                    dbc.Col(_side_panel(config, locale, own or []), lg=4, xl=3, className="mb-3"),
                    dbc.Col(_results(config, notes), lg=8, xl=9),
                ]
            ),
        ]
    )


def dataset_options(own: list[tuple[str, str]]) -> list[dict]:
    """The bundled datasets, then the user's own (« Vos données : name »)."""
    bundled = [{"label": _(DATASET_NAMES[d]), "value": d} for d in DATASETS]
    mine = [{"label": _("Your data: {name}").format(name=label), "value": name} for name, label in own]
    return bundled + mine


def _side_panel(config: ExplorerConfig, locale: str, own: list[tuple[str, str]]) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(_("Settings"), className="h5"),
                html.Div(
                    dcc.Link(
                        [html.I(className="bi bi-mortarboard me-1"), _("Course screen")],
                        href=get_relative_path("/ml/explorer") + query_for(SEED_SCREEN),
                        className="btn btn-outline-primary btn-sm",
                        title=_("The seed's screen: Breast Cancer, SVM, 20 % test, seed 42"),
                    ),
                    className="mb-3",
                ),
                dbc.Label(_("Dataset"), html_for=IDS.DATASET),
                dcc.Dropdown(
                    id=IDS.DATASET,
                    options=dataset_options(own),
                    value=config.dataset,
                    clearable=False,
                    className="mb-3",
                ),
                dbc.Label(_("Model"), html_for=IDS.MODEL),
                dcc.Dropdown(
                    id=IDS.MODEL,
                    options=[{"label": _(MODEL_NAMES[m]), "value": m} for m in MODELS],
                    value=config.model,
                    clearable=False,
                    className="mb-3",
                ),
                html.Div([_param_row(m, spec, config, locale) for m in MODELS for spec in MODEL_PARAMS[m]]),
                dbc.Label(_("Test size (%)"), html_for=IDS.TEST_SIZE),
                dcc.Slider(
                    id=IDS.TEST_SIZE,
                    min=TEST_SIZE_RANGE[0],
                    max=TEST_SIZE_RANGE[1],
                    step=1,
                    value=config.test_size,
                    marks={v: f"{v}" for v in range(TEST_SIZE_RANGE[0], TEST_SIZE_RANGE[1] + 1, 10)},
                    tooltip={"placement": "bottom", "always_visible": False},
                    className="mb-3",
                ),
                dbc.Switch(id=IDS.SCALE, label=_("Standardise the features"), value=config.scale),
                dbc.Switch(id=IDS.STRATIFY, label=_("Stratified split"), value=config.stratify),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label(_("Random seed"), html_for=IDS.SEED),
                                dbc.Input(
                                    id=IDS.SEED,
                                    type="number",
                                    min=0,
                                    step=1,
                                    value=config.seed,
                                    debounce=True,
                                ),
                            ]
                        ),
                        dbc.Col(
                            [
                                dbc.Label(_("Cross-validation"), html_for=IDS.CV),
                                dcc.Dropdown(
                                    id=IDS.CV,
                                    options=[{"label": _("off"), "value": 0}]
                                    + [
                                        {"label": _("{k} folds").format(k=k), "value": k}
                                        for k in range(CV_RANGE[0], CV_RANGE[1] + 1)
                                    ],
                                    value=config.cv,
                                    clearable=False,
                                ),
                            ]
                        ),
                    ],
                    className="g-2 my-2",
                ),
                _instructions(),
            ]
        ),
        className="filter-card ml-panel",
    )


def _param_row(model: str, spec: ParamSpec, config: ExplorerConfig, locale: str) -> html.Div:
    """The control of one model's hyper-parameter (hidden unless its model is chosen and it applies)."""
    chosen = model == config.model
    params = config.param_dict if chosen else {}
    value = params.get(spec.name, spec.default)
    # the label names the control (Dash writes a dict id into the page as compact, sorted JSON)
    control_id = json.dumps(param_id(model, spec.name), sort_keys=True, separators=(",", ":"))
    children = [dbc.Label(_(PARAM_HELP[spec.name]), html_for=control_id, className="small mb-1")]
    word = "value"
    if spec.words:
        word = value if value in spec.words else "value"
        children.append(
            dbc.RadioItems(
                id=word_id(model, spec.name),
                options=[{"label": _(WORD_NAMES[w]), "value": w} for w in spec.words]
                + [{"label": _("value"), "value": "value"}],
                value=word,
                inline=True,
                className="small",
            )
        )
        if word != "value":
            value = spec.default if spec.default not in spec.words else _middle(spec)
    if spec.kind == "choice":
        control = dbc.RadioItems(
            id=param_id(model, spec.name),
            options=[{"label": c, "value": c} for c in spec.choices],
            value=value,
            inline=True,
            className="small",
        )
    elif spec.kind == "float":
        low, high = math.log10(spec.low), math.log10(spec.high)
        control = dcc.Slider(
            id=param_id(model, spec.name),
            min=low,
            max=high,
            step=0.01,
            value=slider_position(spec, value),
            marks={
                k: {"label": fmt_number(10**k, max(0, -k), locale)}
                for k in range(math.ceil(low), int(high) + 1)
            },
            tooltip={"placement": "bottom", "always_visible": True, "transform": "pow10"},
            allow_direct_input=False,  # it would show the log10 position, not the value
        )
    else:
        control = dcc.Slider(
            id=param_id(model, spec.name),
            min=spec.low,
            max=spec.high,
            step=spec.step,
            value=value,
            marks={int(spec.low): str(int(spec.low)), int(spec.high): str(int(spec.high))},
            tooltip={"placement": "bottom", "always_visible": True},
        )
    if spec.words:
        control = html.Div(
            control, id=box_id(model, spec.name), className="" if word == "value" else SLIDER_OFF
        )
    children.append(control)
    visible = chosen and spec.applies(config.param_dict)
    return html.Div(children, id=row_id(model, spec.name), className="mb-3" + ("" if visible else " d-none"))


def _middle(spec: ParamSpec) -> float | int:
    """Where a slider stands while its word (« scale », « unlimited ») is chosen."""
    if spec.kind == "float":
        return float(f"{math.sqrt(spec.low * spec.high):.3g}")
    return int((spec.low + spec.high) // 2)


def _instructions() -> html.Div:
    steps = [
        _("Choose a dataset"),
        _("Select a model and tune its parameters"),
        _("Explore the analysis tabs"),
        _("Change the parameters and watch the effect at once"),
    ]
    tips = [
        _("Start with Random Forest (more stable)"),
        _("Raise the complexity step by step"),
        _("Watch what each hyper-parameter changes"),
    ]
    return html.Details(
        [
            html.Summary(_("Instructions and tips"), className="small fw-semibold"),
            html.Ol([html.Li(s) for s in steps], className="small mt-2 mb-2"),
            html.Ul([html.Li(s) for s in tips], className="small mb-0"),
        ],
        open=True,
        className="mt-3",
    )


def _results(config: ExplorerConfig, notes: list[Note]) -> html.Div:
    return html.Div(
        [
            html.Div(notes_alert(notes), id=IDS.NOTES),
            dbc.Row(
                [
                    kpi_card(IDS.KPI_ACCURACY, _("Accuracy"), "bullseye", xl=2, xs=6),
                    kpi_card(IDS.KPI_CV, _("Cross-validated"), "arrow-repeat", xl=3, xs=6),
                    kpi_card(IDS.KPI_TRAIN, _("Train samples"), "database", xl=2, xs=6),
                    kpi_card(IDS.KPI_TEST, _("Test samples"), "clipboard-check", xl=2, xs=6),
                    kpi_card(IDS.KPI_FEATURES, _("Features"), "columns", xl=3, xs=6),
                ],
                className="g-3",
            ),
            html.Div(
                [
                    html.Div(_("Training in the background…"), className="small text-secondary mb-1"),
                    html.Div(
                        [
                            dbc.Progress(
                                id=IDS.BAR,
                                value=0,
                                striped=True,
                                animated=True,
                                className="flex-grow-1",
                                style={"height": "1.25rem"},
                            ),
                            dbc.Button(
                                [html.I(className="bi bi-x-circle me-1"), _("Cancel")],
                                id=IDS.CANCEL,
                                color="secondary",
                                outline=True,
                                size="sm",
                                disabled=True,
                            ),
                        ],
                        className="d-flex gap-2 align-items-center",
                    ),
                ],
                id=IDS.PROGRESS,
                className="export-progress mb-3 d-none",
            ),
            html.Div(
                id=IDS.STATUS, className="small text-secondary mb-2", role="status", **{"aria-live": "polite"}
            ),
            dbc.Tabs(
                [
                    dbc.Tab(_report_tab(), label=_("Detailed report"), tab_id="report"),
                    dbc.Tab(_info_tab(), label=_("Dataset information"), tab_id="info"),
                    dbc.Tab(
                        chart_card_plain(IDS.CONFUSION, "ml-confusion"),
                        label=_("Confusion matrix"),
                        tab_id="confusion",
                    ),
                    dbc.Tab(chart_card_plain(IDS.ROC, "ml-roc"), label=_("ROC curves"), tab_id="roc"),
                    dbc.Tab(
                        chart_card_plain(IDS.IMPORTANCE, "ml-importance", 520),
                        label=_("Importance"),
                        tab_id="importance",
                    ),
                    dbc.Tab(_distribution_tab(), label=_("Distributions"), tab_id="distributions"),
                    dbc.Tab(_boundary_tab(), label=_("Decision boundary"), tab_id="boundary"),
                    dbc.Tab(_versions_tab(), label=_("Deploy and versions"), tab_id="versions"),
                ],
                id=IDS.TABS,
                active_tab="report",
                className="mb-3",
            ),
        ]
    )


NOTE_TEXTS = {
    "unknown_value": N_("« {given} » is not a known {key}: {used} is used."),
    "clamped": N_("{key} = {given} is outside what is allowed: {used} is used."),
    "not_a_number": N_("{key} = « {given} » is not a number: {used} is used."),
    "not_applicable": N_("{key} does not apply to this model: ignored."),
}


def notes_alert(notes: list[Note]):
    """What the address asked for that was changed or ignored (nothing when all was taken)."""
    if not notes:
        return None
    return dbc.Alert(
        [
            html.Strong(_("The address asked for values that cannot be used:")),
            html.Ul(
                [html.Li(_(NOTE_TEXTS[n.kind]).format(key=n.key, given=n.given, used=n.used)) for n in notes],
                className="mb-0",
            ),
        ],
        color="warning",
        dismissable=True,
        className="py-2",
    )


def _report_tab() -> html.Div:
    return html.Div(
        [
            html.H2(_("Classification report"), className="h6 mt-3"),
            html.Div(id=IDS.REPORT, className="table-responsive"),
            html.P(
                _(
                    "Precision: share of the model's predictions of a class that are right. Recall: share "
                    "of a class's rows the model finds. F1: their harmonic mean. Support: rows per class "
                    "in the test set."
                ),
                className="small text-secondary",
            ),
            chart_card_plain(IDS.CV_FIGURE, "ml-validation-croisee", 320),
        ]
    )


def _info_tab() -> html.Div:
    return html.Div(
        [
            html.Div(id=IDS.INFO, className="mt-3"),
            chart_card_plain(IDS.CLASSES, "ml-classes", 320),
        ]
    )


def _distribution_tab() -> html.Div:
    return html.Div(
        [
            dbc.Label(_("Feature"), html_for=IDS.DIST_FEATURE, className="mt-3"),
            dcc.Dropdown(id=IDS.DIST_FEATURE, clearable=False, className="mb-2"),
            chart_card_plain(IDS.DISTRIBUTION, "ml-distribution"),
        ]
    )


def _boundary_tab() -> html.Div:
    return html.Div(
        [
            dbc.RadioItems(
                id=IDS.AXES,
                options=[
                    {"label": _("first two principal components"), "value": "pca"},
                    {"label": _("two features"), "value": "features"},
                ],
                value="pca",
                inline=True,
                className="mt-3 mb-2",
            ),
            dbc.Row(
                [
                    dbc.Col(dcc.Dropdown(id=IDS.X_FEATURE, clearable=False, disabled=True), md=6),
                    dbc.Col(dcc.Dropdown(id=IDS.Y_FEATURE, clearable=False, disabled=True), md=6),
                ],
                className="g-2 mb-2",
            ),
            chart_card_plain(IDS.BOUNDARY, "ml-frontiere", 520),
            html.P(
                _(
                    "The same model and settings, trained on the two axes only: a picture of how it "
                    "separates the classes, not the full model."
                ),
                className="small text-secondary",
            ),
        ]
    )


def _versions_tab() -> html.Div:
    return html.Div(
        [
            html.H2(_("Deploy this model"), className="h6 mt-3"),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Input(
                            id=IDS.DEPLOY_NAME,
                            placeholder=_("model name, e.g. cancer-svm"),
                            maxLength=64,
                            pattern="[a-z0-9][a-z0-9_-]*",
                        ),
                        md=5,
                    ),
                    dbc.Col(
                        dbc.Checkbox(id=IDS.DEPLOY_ACTIVATE, label=_("serve it at once"), value=True),
                        md="auto",
                        className="pt-2",
                    ),
                    dbc.Col(
                        dbc.Button(
                            [html.I(className="bi bi-cloud-upload me-1"), _("Deploy as a new version")],
                            id=IDS.DEPLOY,
                            color="primary",
                            size="sm",
                        ),
                        md="auto",
                    ),
                ],
                className="g-2 align-items-start",
            ),
            html.Div(id=IDS.DEPLOY_RESULT, className="mt-2"),
            html.H2(_("Versions"), className="h6 mt-3"),
            dag.AgGrid(
                id=IDS.VERSIONS,
                columnDefs=version_columns(),
                rowData=[],
                getRowId="params.data.id",
                defaultColDef={"sortable": True, "resizable": True, "minWidth": 90},
                columnSize="responsiveSizeToFit",
                dashGridOptions={
                    "rowSelection": {"mode": "multiRow", "enableClickSelection": True},
                    "domLayout": "autoHeight",
                    "localeText": {"noRowsToShow": _("No model deployed yet.")},
                },
                className="ag-theme-alpine mb-2",
            ),
            html.Div(
                [
                    dbc.Button(
                        [html.I(className="bi bi-play-circle me-1"), _("Serve the selected version")],
                        id=IDS.ACTIVATE,
                        color="success",
                        outline=True,
                        size="sm",
                    ),
                    html.Span(
                        _("Select two versions or more to compare them."), className="small text-secondary"
                    ),
                ],
                className="d-flex gap-3 align-items-center flex-wrap mb-2",
            ),
            html.Div(id=IDS.REGISTRY_MESSAGE),
            html.Div(id=IDS.COMPARE, className="table-responsive"),
        ]
    )


def version_columns() -> list[dict]:
    number = {"type": "numericColumn"}
    return [
        {"field": "name", "headerName": _("Name")},
        {"field": "version", "headerName": _("Version"), **number, "maxWidth": 110},
        {"field": "active_text", "headerName": _("Served")},
        {"field": "algorithm", "headerName": _("Model")},
        {"field": "dataset", "headerName": _("Dataset")},
        {"field": "accuracy", "headerName": _("Accuracy"), **number},
        {"field": "cv", "headerName": _("Cross-validated")},
        {"field": "created_at", "headerName": _("Deployed")},
        {"field": "created_by", "headerName": _("By")},
    ]
