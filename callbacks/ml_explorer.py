"""Explorateur ML (/ml/explorer): controls → configuration → result (in the request when cheap, as
a background job when not) → KPIs, report and figures; deployment, versions and activation."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate
from flask_login import current_user

from dashhub.auth.callbacks import secure_callback
from dashhub.background import job_session
from dashhub.container import Services
from dashhub.domain.ml import (
    CV_RANGE,
    DATASETS,
    MODEL_NAME_PATTERN,
    MODEL_PARAMS,
    MODELS,
    SEED_RANGE,
    TEST_SIZE_RANGE,
    ExplorerConfig,
    ExplorerResult,
    ModelVersion,
    applicable,
    config_from_query,
    param_value,
    query_for,
)
from dashhub.domain.query import parse_search
from dashhub.export_jobs import export_ticket
from dashhub.figures import ml as figures
from dashhub.figures.common import empty_figure
from dashhub.i18n import current_locale, fmt_number
from dashhub.i18n import gettext as _
from dashhub.jobs import stop_on_sigterm
from dashhub.layouts import ml_explorer as view
from dashhub.layouts.common import as_json, view_state
from dashhub.layouts.ml_explorer import DATASET_NAMES, IDS, MODEL_NAMES, SLIDER_OFF
from dashhub.services.dataset_models import dataset_id_of
from dashhub.services.models import LoadedModel, RegistryError, reference_sample
from dashhub.services.training import TrainingStopped, calibration, split, trains_inline
from dashhub.services.user_datasets import Viewer
from dashhub.shell import PAGE_ROUTE
from dashhub.validation import BadInput

log = logging.getLogger(__name__)
DASHBOARD = "ml_explorer"
PARAMS = {"type": "ml-param", "model": ALL, "name": ALL}
WORDS = {"type": "ml-word", "model": ALL, "name": ALL}
ROWS = {"type": "ml-param-row", "model": ALL, "name": ALL}
BOXES = {"type": "ml-slider-box", "model": ALL, "name": ALL}


def page(services: Services, search: str) -> object:
    own = services.dataset_models.available(Viewer.of(current_user))
    config, notes = config_from_query(parse_search(search), (*DATASETS, *(name for name, _label in own)))
    return view.layout(config, notes, current_locale(), export_ticket(services, DASHBOARD), own)


def allowed_datasets(services: Services, user=None) -> tuple[str, ...]:
    """The datasets the user may explore: the bundled ones, and the modelled datasets of « Vos
    données » they may open (theirs, and those shared with their role)."""
    return (*DATASETS, *services.dataset_models.names(Viewer.of(user or current_user)))


# --- inputs ---


def config_from_inputs(
    dataset,
    model,
    values,
    value_ids,
    words,
    word_ids,
    test_size,
    scale,
    stratify,
    seed,
    cv,
    datasets: tuple[str, ...] = DATASETS,
) -> ExplorerConfig:
    """The configuration the controls send; a value no control can send is refused with a 400
    (a dataset the user may not open among them)."""
    if dataset not in datasets:
        raise BadInput("dataset", "unknown dataset")
    if model not in MODELS:
        raise BadInput("model", "unknown model")
    given = _by_name(model, values, value_ids, "parameters")
    switches = _by_name(model, words, word_ids, "parameter switches")
    params: dict[str, Any] = {}
    for spec in MODEL_PARAMS[model]:
        if spec.name not in given:
            raise BadInput("parameters", f"{spec.name} is missing")
        try:
            params[spec.name] = param_value(spec, given[spec.name], switches.get(spec.name))
        except ValueError as exc:
            raise BadInput("parameters", str(exc)) from None
    return ExplorerConfig(
        dataset=dataset,
        model=model,
        params=applicable(model, params),
        test_size=_whole(test_size, TEST_SIZE_RANGE, "test_size"),
        scale=_flag(scale, "scale"),
        stratify=_flag(stratify, "stratify"),
        seed=_whole(seed, SEED_RANGE, "seed"),
        cv=0 if cv == 0 else _whole(cv, CV_RANGE, "cv"),
    )


def _by_name(model: str, values, ids, field: str) -> dict[str, Any]:
    """{parameter name: value} of model's controls, from the pattern-matching lists."""
    if not isinstance(values, list) or not isinstance(ids, list) or len(values) != len(ids) or len(ids) > 100:
        raise BadInput(field, "expected one value per control")
    chosen = {}
    for component, value in zip(ids, values, strict=True):
        if not isinstance(component, dict) or not isinstance(component.get("name"), str):
            raise BadInput(field, "unexpected control id")
        if component.get("model") == model:
            chosen[component["name"]] = value
    return chosen


def _whole(value, bounds: tuple[int, int], field: str) -> int:
    if not isinstance(value, int | float) or isinstance(value, bool) or value != int(value):
        raise BadInput(field, "expected a whole number")
    if not bounds[0] <= value <= bounds[1]:
        raise BadInput(field, f"expected {bounds[0]}–{bounds[1]}")
    return int(value)


def _flag(value, field: str) -> bool:
    if not isinstance(value, bool):
        raise BadInput(field, "expected true or false")
    return value


def seed_is_valid(seed) -> bool:
    """A seed the user may still be typing (empty, negative, decimal) is not an error: the field
    says it is invalid and the results wait."""
    return (
        isinstance(seed, int | float)
        and not isinstance(seed, bool)
        and seed == int(seed)
        and SEED_RANGE[0] <= seed <= SEED_RANGE[1]
    )


def run_of(data, datasets: tuple[str, ...] = DATASETS) -> tuple[ExplorerConfig, bool]:
    """The configuration a run store names (read like an address; but a user's dataset they may
    not open, or no longer, is refused rather than replaced by Iris), and whether it is ready."""
    if not isinstance(data, dict) or not isinstance(data.get("query"), str) or len(data["query"]) > 2000:
        raise BadInput("run", "expected {query, ready}")
    query = parse_search(data["query"])
    named = query.get("dataset", ["iris"])[-1]
    if dataset_id_of(named) is not None and named not in datasets:
        raise BadInput("run", "unknown dataset")
    config, _notes = config_from_query(query, datasets)
    return config, bool(data.get("ready"))


def row_classes(config: ExplorerConfig, row_ids) -> list[str]:
    """Show the chosen model's applicable parameters, hide the others."""
    params = config.param_dict
    classes = []
    for component in row_ids:
        spec = next(
            (s for s in MODEL_PARAMS.get(component.get("model"), ()) if s.name == component.get("name")), None
        )
        shown = spec is not None and component["model"] == config.model and spec.name in params
        classes.append("mb-3" if shown else "mb-3 d-none")
    return classes


def slider_boxes(box_ids, words, word_ids) -> list[str]:
    """A slider is greyed out while its parameter's switch names a word (« scale », « unlimited »)."""
    switched = {
        (w.get("model"), w.get("name")): word
        for w, word in zip(word_ids, words, strict=True)
        if isinstance(w, dict)
    }
    return [
        "" if switched.get((b.get("model"), b.get("name")), "value") == "value" else SLIDER_OFF
        for b in box_ids
        if isinstance(b, dict)
    ]


# --- what the page shows ---


def kpis(result: ExplorerResult | None, locale: str) -> list[str]:
    if result is None:
        return ["…"] * 5
    cv = (
        f"{fmt_number(result.cv_mean, 3, locale)} ± {fmt_number(result.cv_std, 3, locale)}"
        if result.cv_scores
        else _("off")
    )
    return [
        fmt_number(result.accuracy, 3, locale),
        cv,
        fmt_number(result.n_train, 0, locale),
        fmt_number(result.n_test, 0, locale),
        fmt_number(len(result.info.features), 0, locale),
    ]


def report_table(result: ExplorerResult, locale: str) -> dict:
    """The classification report with three decimals (a plain table, JSON for orjson)."""

    def cell(value: float | None) -> str:
        return "—" if value is None else fmt_number(value, 3, locale)

    names = {
        "accuracy": _("accuracy"),
        "macro avg": _("macro average"),
        "weighted avg": _("weighted average"),
    }
    head = html.Thead(
        html.Tr(
            [
                html.Th(_("Class")),
                html.Th(_("Precision")),
                html.Th(_("Recall")),
                html.Th(_("F1-score")),
                html.Th(_("Support")),
            ]
        )
    )
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Th(names.get(row.label, row.label), scope="row"),
                    html.Td(cell(row.precision)),
                    html.Td(cell(row.recall)),
                    html.Td(cell(row.f1)),
                    html.Td(fmt_number(row.support, 0, locale)),
                ],
                className="table-light" if row.label in names else None,
            )
            for row in result.report
        ]
    )
    return as_json(
        dbc.Table([head, body], bordered=False, hover=True, size="sm", className="report-table mb-2")
    )


def dataset_info(result: ExplorerResult, locale: str) -> dict:
    info = result.info
    total = info.samples
    facts = [
        (_("Samples"), fmt_number(total, 0, locale)),
        (_("Features"), fmt_number(len(info.features), 0, locale)),
        (_("Classes"), f"{len(info.classes)} ({', '.join(info.classes)})"),
        (_("Train samples"), fmt_number(result.n_train, 0, locale)),
        (_("Test samples"), fmt_number(result.n_test, 0, locale)),
    ]
    if info.complete_rows:
        facts.insert(
            1,
            (
                _("Sampled from"),
                _("{count} complete rows (every class kept, in file order)").format(
                    count=fmt_number(info.complete_rows, 0, locale)
                ),
            ),
        )
    share = _("{name}: {count} ({percent}%)")
    distribution = html.Ul(
        [
            html.Li(
                share.format(
                    name=name,
                    count=fmt_number(count, 0, locale),
                    percent=fmt_number(100 * count / total, 1, locale),
                )
            )
            for name, count in zip(info.classes, info.class_counts, strict=True)
        ],
        className="mb-2",
    )
    return as_json(
        html.Div(
            [
                html.Dl(
                    [part for label, value in facts for part in (html.Dt(label), html.Dd(value))],
                    className="row-facts mb-2",
                ),
                html.H3(_("Class distribution"), className="h6"),
                distribution,
            ]
        )
    )


def status_text(result: ExplorerResult | None, locale: str) -> str | dict:
    if result is None:
        return ""
    parts = [_("Trained in {ms} ms.").format(ms=fmt_number(result.fit_seconds * 1000, 0, locale))]
    if "convergence" in result.warnings:
        parts.append(_("The solver stopped before converging: raise the iterations or standardise."))
    return " ".join(parts)


def version_row(model: ModelVersion, locale: str) -> dict:
    metrics = model.metrics
    cv = metrics.get("cv_mean")
    return {
        "id": model.id,
        "name": model.name,
        "version": model.version,
        "active_text": _("served") if model.active else "",
        "active": model.active,
        "algorithm": _(MODEL_NAMES.get(model.algorithm, model.algorithm)),
        "dataset": _(DATASET_NAMES.get(model.dataset, model.dataset)),
        "accuracy": fmt_number(metrics["accuracy"], 3, locale),
        "cv": "—"
        if cv is None
        else f"{fmt_number(cv, 3, locale)} ± {fmt_number(metrics['cv_std'], 3, locale)}",
        "created_at": model.created_at.replace("T", " ")[:16],
        "created_by": model.created_by,
    }


def comparison(models: list[ModelVersion], locale: str) -> dict | None:
    """The selected versions side by side: what they are, how they were trained, how they score."""
    if len(models) < 2:
        return None
    params = sorted({name for m in models for name in m.params})
    rows = [
        (_("Model"), [_(MODEL_NAMES.get(m.algorithm, m.algorithm)) for m in models]),
        (_("Dataset"), [_(DATASET_NAMES.get(m.dataset, m.dataset)) for m in models]),
        *[(name, [str(m.params.get(name, "—")) for m in models]) for name in params],
        (_("Accuracy"), [fmt_number(m.metrics["accuracy"], 3, locale) for m in models]),
        (_("Cross-validated"), [version_row(m, locale)["cv"] for m in models]),
        (_("Train samples"), [fmt_number(m.metrics["n_train"], 0, locale) for m in models]),
        (_("Served"), [_("yes") if m.active else _("no") for m in models]),
        (_("Deployed"), [f"{m.created_at[:16].replace('T', ' ')} · {m.created_by}" for m in models]),
    ]
    head = html.Thead(html.Tr([html.Th("")] + [html.Th(f"{m.name} v{m.version}") for m in models]))
    body = html.Tbody(
        [html.Tr([html.Th(label, scope="row")] + [html.Td(v) for v in values]) for label, values in rows]
    )
    return as_json(dbc.Table([head, body], size="sm", bordered=True, className="mb-3"))


def alert(color: str, children) -> dict:
    return as_json(dbc.Alert(children, color=color, className="py-2 mb-2"))


# --- callbacks ---


def register(app: Dash, services: Services) -> None:
    ml = services.ml
    callback = secure_callback(app, DASHBOARD)
    timeout = min(services.settings.jobs.timeout_seconds, services.settings.ml.training_seconds)

    @callback(
        Output(IDS.RUN, "data"),
        Output(IDS.QUEUE, "data"),
        Output(IDS.VIEW, "data"),
        Output(ROWS, "className"),
        Output(BOXES, "className"),
        Output(IDS.SEED, "invalid"),
        Input(IDS.DATASET, "value"),
        Input(IDS.MODEL, "value"),
        Input(PARAMS, "value"),
        Input(WORDS, "value"),
        Input(IDS.TEST_SIZE, "value"),
        Input(IDS.SCALE, "value"),
        Input(IDS.STRATIFY, "value"),
        Input(IDS.SEED, "value"),
        Input(IDS.CV, "value"),
        State(PARAMS, "id"),
        State(WORDS, "id"),
        State(ROWS, "id"),
        State(BOXES, "id"),
        State(PAGE_ROUTE, "data"),
    )
    def configure(
        dataset,
        model,
        values,
        words,
        test_size,
        scale,
        stratify,
        seed,
        cv,
        value_ids,
        word_ids,
        row_ids,
        box_ids,
        page_route=None,
    ):
        if not seed_is_valid(seed):
            keep = [no_update] * len(row_ids or []), [no_update] * len(box_ids or [])
            return no_update, no_update, no_update, *keep, True
        config = config_from_inputs(
            dataset,
            model,
            values,
            value_ids,
            words,
            word_ids,
            test_size,
            scale,
            stratify,
            seed,
            cv,
            allowed_datasets(services),
        )
        query = query_for(config)
        rows = row_classes(config, row_ids if isinstance(row_ids, list) else [])
        boxes = slider_boxes(box_ids if isinstance(box_ids, list) else [], words, word_ids)
        view = view_state(query, ctx.triggered_id, page_route)
        if ml.cached(config) is not None or trains_inline(config, ml.dataset(config.dataset)):
            ml.explore(config)
            return {"query": query, "ready": True}, no_update, view, rows, boxes, False
        return {"query": query, "ready": False}, {"query": query}, view, rows, boxes, False

    def train(set_progress, queued, token):
        query = queued.get("query") if isinstance(queued, dict) else None
        with job_session(services, token, DASHBOARD) as session:
            if session.user is None:
                return {"query": query, "error": session.refusal}
            if not isinstance(query, str) or len(query) > 2000:
                return {"query": query, "error": _("This page has expired: reload it, then try again.")}
            datasets = allowed_datasets(services, session.user)
            try:
                config, _ready = run_of({"query": query}, datasets)
            except BadInput:
                return {"query": query, "error": _("This dataset is no longer available to you.")}

            def progress(done: int, total: int) -> None:
                set_progress((int(100 * done / total), f"{done} / {total}"))

            try:
                with stop_on_sigterm():
                    ml.run(config, progress, time.monotonic() + timeout)
            except TrainingStopped:
                return {"query": query, "error": training_too_long(timeout)}
            except Exception as exc:
                if type(exc).__name__ == "SoftTimeLimitExceeded":
                    return {"query": query, "error": training_too_long(timeout)}
                log.exception("training %s failed", query)
                return {"query": query, "error": _("The training failed; the administrators have been told.")}
            return {"query": query}

    def train_stopped(error: Exception):
        log.error("training job: %s", str(error).splitlines()[0])
        return {
            "query": None,
            "error": _("The training stopped before finishing (time limit or worker restarted)."),
        }

    callback(
        Output(IDS.DONE, "data"),
        Input(IDS.QUEUE, "data"),
        State(IDS.TICKET, "data"),
        background=True,
        prevent_initial_call=True,
        progress=[Output(IDS.BAR, "value"), Output(IDS.BAR, "label")],
        progress_default=[0, ""],
        running=[
            (Output(IDS.PROGRESS, "className"), "export-progress mb-3", "export-progress mb-3 d-none"),
            (Output(IDS.CANCEL, "disabled"), False, True),
        ],
        cancel=[Input(IDS.CANCEL, "n_clicks")],
        on_error=train_stopped,
        interval=400,
    )(train)

    @callback(
        Output(IDS.DONE, "data", allow_duplicate=True),
        Input(IDS.CANCEL, "n_clicks"),
        State(IDS.RUN, "data"),
        prevent_initial_call=True,
    )
    def cancelled(_clicks, run):
        """The job is cancelled (Dash stops it): say so instead of waiting for it."""
        run_of(run, allowed_datasets(services))
        return {"query": run["query"], "error": _("Training cancelled: change a setting to train again.")}

    def current(run, done) -> tuple[ExplorerConfig, ExplorerResult | None, str | None]:
        """The configuration shown, its result if there is one, and what to say if not."""
        config, ready = run_of(run, allowed_datasets(services))
        if ready:
            result = ml.cached(config)
            if result is None and trains_inline(config, ml.dataset(config.dataset)):
                result = ml.explore(config)  # the cache lost it (or there is none): cheap again
            return (
                config,
                result,
                None if result else _("The result is no longer available: change a setting."),
            )
        if isinstance(done, dict) and done.get("query") == run.get("query"):
            if done.get("error"):
                return config, None, str(done["error"])[:300]
            return config, ml.cached(config), None
        return config, None, _("Training in the background: the results appear when it is done.")

    @callback(
        Output(IDS.KPI_ACCURACY, "children"),
        Output(IDS.KPI_CV, "children"),
        Output(IDS.KPI_TRAIN, "children"),
        Output(IDS.KPI_TEST, "children"),
        Output(IDS.KPI_FEATURES, "children"),
        Output(IDS.STATUS, "children"),
        Output(IDS.REPORT, "children"),
        Output(IDS.CV_FIGURE, "figure"),
        Output(IDS.INFO, "children"),
        Output(IDS.CLASSES, "figure"),
        Output(IDS.CONFUSION, "figure"),
        Output(IDS.ROC, "figure"),
        Input(IDS.RUN, "data"),
        Input(IDS.DONE, "data"),
    )
    def render(run, done):
        if run is None:
            raise PreventUpdate
        locale = current_locale()
        _config, result, message = current(run, done)
        if result is None:
            waiting = empty_figure("", message or "", locale)
            return (*kpis(None, locale), message, None, waiting, None, waiting, waiting, waiting)
        return (
            *kpis(result, locale),
            status_text(result, locale),
            report_table(result, locale),
            figures.cv_figure(result, locale),
            dataset_info(result, locale),
            figures.classes_figure(result, locale),
            figures.confusion_figure(result, locale),
            figures.roc_figure(result, locale),
        )

    @callback(
        Output(IDS.IMPORTANCE, "figure"),
        Input(IDS.TABS, "active_tab"),
        Input(IDS.RUN, "data"),
        Input(IDS.DONE, "data"),
    )
    def importance(tab, run, done):
        if tab != "importance" or run is None:
            raise PreventUpdate
        locale = current_locale()
        config, result, message = current(run, done)
        if result is None:
            return empty_figure(_("Feature importance"), message or "", locale)
        found = result.importance or ml.permutation_importance(config)
        return figures.importance_figure(found, locale)

    @callback(
        Output(IDS.DIST_FEATURE, "options"),
        Output(IDS.DIST_FEATURE, "value"),
        Output(IDS.X_FEATURE, "options"),
        Output(IDS.X_FEATURE, "value"),
        Output(IDS.Y_FEATURE, "options"),
        Output(IDS.Y_FEATURE, "value"),
        Input(IDS.RUN, "data"),
        State(IDS.DIST_FEATURE, "value"),
        State(IDS.X_FEATURE, "value"),
        State(IDS.Y_FEATURE, "value"),
    )
    def feature_choices(run, shown, x, y):
        if run is None:
            raise PreventUpdate
        config, _ready = run_of(run, allowed_datasets(services))
        features = ml.dataset(config.dataset).features
        options = [{"label": f, "value": f} for f in features]
        keep = lambda value, default: value if value in features else default  # noqa: E731
        return (
            options,
            keep(shown, features[0]),
            options,
            keep(x, features[0]),
            options,
            keep(y, features[1]),
        )

    @callback(
        Output(IDS.DISTRIBUTION, "figure"),
        Input(IDS.TABS, "active_tab"),
        Input(IDS.DIST_FEATURE, "value"),
        State(IDS.RUN, "data"),
    )
    def distribution(tab, feature, run):
        if tab != "distributions" or run is None or feature is None:
            raise PreventUpdate
        config, _ready = run_of(run, allowed_datasets(services))
        if feature not in ml.dataset(config.dataset).features:
            raise BadInput("feature", "unknown feature")
        return figures.distribution_figure(ml.distribution(config.dataset, feature), current_locale())

    @callback(
        Output(IDS.BOUNDARY, "figure"),
        Output(IDS.X_FEATURE, "disabled"),
        Output(IDS.Y_FEATURE, "disabled"),
        Input(IDS.TABS, "active_tab"),
        Input(IDS.AXES, "value"),
        Input(IDS.X_FEATURE, "value"),
        Input(IDS.Y_FEATURE, "value"),
        Input(IDS.RUN, "data"),
        Input(IDS.DONE, "data"),
    )
    def boundary(tab, axes, x, y, run, done):
        if tab != "boundary" or run is None:
            raise PreventUpdate
        locale = current_locale()
        config, result, message = current(run, done)
        by_features = axes == "features"
        if axes not in ("pca", "features"):
            raise BadInput("axes", "expected pca or features")
        if result is None:
            return (
                empty_figure(_("Decision boundary"), message or "", locale),
                not by_features,
                not by_features,
            )
        data = ml.dataset(config.dataset)
        if by_features:
            if x not in data.features or y not in data.features:
                raise BadInput("axes", "unknown feature")
            if x == y:
                figure = empty_figure(_("Decision boundary"), _("Choose two different features."), locale)
                return figure, False, False
        found = ml.boundary(config, (x, y) if by_features else None)
        return figures.boundary_figure(found, data.classes, locale), not by_features, not by_features

    register_registry(app, services)


def training_too_long(seconds: float) -> str:
    return _("The training took longer than {seconds} s and was stopped: choose a lighter setting.").format(
        seconds=fmt_number(seconds)
    )


def register_registry(app: Dash, services: Services) -> None:
    """Deploy the configuration as a new version, list the versions, serve one, compare them."""
    callback = secure_callback(app, DASHBOARD)
    registry, ml = services.models, services.ml
    timeout = min(services.settings.jobs.timeout_seconds, services.settings.ml.training_seconds)

    def deploy(_clicks, run, name, activate, token):
        with job_session(services, token, DASHBOARD) as session:
            if session.user is None:
                return alert(session.severity, session.refusal), no_update
            if not isinstance(name, str) or not re.fullmatch(MODEL_NAME_PATTERN, name.strip()):
                return alert(
                    "warning",
                    _(
                        "Give the model a name: lower-case letters, digits, - and _ "
                        "(up to 64, starting with a letter or digit)."
                    ),
                ), no_update
            try:
                config, _ready = run_of(run, allowed_datasets(services, session.user))
            except BadInput:
                return alert("warning", _("This page has expired: reload it, then try again.")), no_update
            try:
                with stop_on_sigterm():
                    result, estimator = ml.fitted(config, deadline=time.monotonic() + timeout)
                data = ml.dataset(config.dataset)
                X_train, _X_test, _y_train, _y_test = split(config, data)
                reference = reference_sample(X_train, result.info.features, config.seed)
                saved = registry.register(
                    name.strip(),
                    result,
                    LoadedModel(estimator, calibration(config, data, estimator)),
                    reference,
                    session.user.username,
                    query_for(config),
                    activate is True,
                )
            except TrainingStopped:
                return alert("danger", training_too_long(timeout)), no_update
            except RegistryError as exc:
                return alert("danger", str(exc)), no_update
            services.audit.record(
                "model_deploy",
                username=session.user.username,
                model=saved.name,
                version=saved.version,
                active=saved.active,
                config=saved.config,
                sha256=saved.artifact_sha256,
            )
            served = _(" It is now served.") if saved.active else ""
            text = _("{name} version {version} deployed (accuracy {accuracy}).").format(
                name=saved.name, version=saved.version, accuracy=fmt_number(saved.metrics["accuracy"], 3)
            )
            return alert("success", text + served), {"id": saved.id}

    def deploy_stopped(error: Exception):
        log.error("deploy job: %s", str(error).splitlines()[0])
        return alert("danger", _("The deployment stopped before finishing: try again.")), no_update

    callback(
        Output(IDS.DEPLOY_RESULT, "children"),
        Output(IDS.DEPLOYED, "data"),
        Input(IDS.DEPLOY, "n_clicks"),
        State(IDS.RUN, "data"),
        State(IDS.DEPLOY_NAME, "value"),
        State(IDS.DEPLOY_ACTIVATE, "value"),
        State(IDS.TICKET, "data"),
        background=True,
        prevent_initial_call=True,
        running=[(Output(IDS.DEPLOY, "disabled"), True, False)],
        on_error=deploy_stopped,
        interval=400,
    )(deploy)

    @callback(
        Output(IDS.VERSIONS, "rowData"),
        Input(IDS.TABS, "active_tab"),
        Input(IDS.DEPLOYED, "data"),
        Input(IDS.ACTIVATED, "data"),
    )
    def versions(tab, _deployed, _activated):
        if tab != "versions":
            raise PreventUpdate
        locale = current_locale()
        return [version_row(m, locale) for m in registry.versions()]

    @callback(
        Output(IDS.ACTIVATED, "data"),
        Output(IDS.REGISTRY_MESSAGE, "children"),
        Input(IDS.ACTIVATE, "n_clicks"),
        State(IDS.VERSIONS, "selectedRows"),
        prevent_initial_call=True,
    )
    def activate(_clicks, selected):
        chosen = selected_versions(registry, selected)
        if len(chosen) != 1:
            return no_update, alert("warning", _("Select exactly one version to serve."))
        model = registry.activate(chosen[0].name, chosen[0].version)
        services.audit.record("model_activate", model=model.name, version=model.version)
        text = _("{name} version {version} is now served.").format(name=model.name, version=model.version)
        return {"id": model.id, "at": time.time()}, alert("success", text)

    @callback(Output(IDS.COMPARE, "children"), Input(IDS.VERSIONS, "selectedRows"))
    def compare(selected):
        return comparison(selected_versions(registry, selected), current_locale())


def selected_versions(registry, selected) -> list[ModelVersion]:
    """The versions the grid's selected rows name (client data: only ids are read, and looked up)."""
    if selected is None:
        return []
    if not isinstance(selected, list) or len(selected) > 50:
        raise BadInput("selection", "expected a list of rows")
    chosen = []
    for row in selected:
        model_id = row.get("id") if isinstance(row, dict) else None
        if not isinstance(model_id, int) or isinstance(model_id, bool):
            raise BadInput("selection", "expected rows with an id")
        try:
            chosen.append(registry.by_id(model_id))
        except RegistryError:
            raise BadInput("selection", "unknown version") from None
    return chosen
