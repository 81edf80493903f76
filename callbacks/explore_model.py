"""Vos données (/explore) → « Model it »: the owner picks a column to predict and numeric columns
to predict it from; the dataset then opens in the Explorateur ML (/ml/explorer?dataset=user-<id>).

The store decides who may see the dataset and the model service who may change how it is
modelled (its owner): the ids and names the browser sends decide nothing by themselves.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, ctx, dcc, get_relative_path, html, no_update
from dash.exceptions import PreventUpdate
from flask_login import current_user

from dashhub.auth.callbacks import secure_callback
from dashhub.container import Services
from dashhub.i18n import gettext as _
from dashhub.layouts import explore as view
from dashhub.registry import by_key
from dashhub.services.dataset_models import (
    MAX_FEATURES,
    ModelRefused,
    candidates,
    dataset_name,
    spec_of,
)
from dashhub.services.user_datasets import Dataset, DatasetNotFound, Viewer
from dashhub.validation import BadInput

IDS = view.IDS
MAX_NAME = 128  # (a column name, as the store keeps it)


def explorer_link(dataset: Dataset) -> html.Div:
    """The way to the dataset in the explorer."""
    href = get_relative_path("/ml/explorer") + f"?dataset={dataset_name(dataset.id)}"
    return html.Div(
        [
            html.I(className="bi bi-check-circle me-1 text-success"),
            _("« {name} » is in the machine learning explorer: ").format(name=dataset.name),
            dcc.Link(_("open it"), href=href, id="explore-model-link", className="fw-semibold"),
        ],
        className="small",
    )


def _choices(dataset: Dataset) -> tuple[list[dict], object, list[dict], list[str]]:
    """Target and feature options, and the values to show: the dataset's own choice if it has
    one, else its first category (or yes/no) column and every column of (decimal) numbers."""
    targets, features = candidates(dataset)
    spec = spec_of(dataset)
    if spec is not None:
        target, chosen = spec.target, list(spec.features)
    else:
        types = {c.name: c.type for c in dataset.columns}
        preferred = [t for t in targets if types[t] in ("category", "boolean")]
        target = (preferred or targets or [None])[0]
        # (whole numbers and yes/no are offered, not chosen: often codes or ids, such as Iris's
        # species_id, which would give the answer away)
        chosen = [f for f in features if f != target and types[f] == "number"][:MAX_FEATURES]
    return (
        [{"label": t, "value": t} for t in targets],
        target,
        [{"label": f, "value": f} for f in features],
        chosen,
    )


def _names(value: object, field: str) -> list[str]:
    if not isinstance(value, list) or len(value) > 500:
        raise BadInput(field, "expected a list of column names")
    if not all(isinstance(v, str) and 0 < len(v) <= MAX_NAME for v in value):
        raise BadInput(field, "expected column names")
    return value


def register(app: Dash, services: Services) -> None:
    callback = secure_callback(app, "explore")
    store, models = services.datasets, services.dataset_models

    def explorer_allowed() -> bool:
        return services.access.can_open(current_user, by_key("ml_explorer"))

    @callback(
        Output(IDS.MODEL_TARGET, "options"),
        Output(IDS.MODEL_TARGET, "value"),
        Output(IDS.MODEL_FEATURES, "options"),
        Output(IDS.MODEL_FEATURES, "value"),
        Output(IDS.MODEL_IT, "disabled"),
        Output(IDS.MODEL_STATUS, "children"),
        Input(IDS.DATASET, "value"),
        Input(IDS.RETYPED, "data"),
        Input(IDS.MODEL_IT, "n_clicks"),
        State(IDS.MODEL_TARGET, "value"),
        State(IDS.MODEL_FEATURES, "value"),
    )
    def model_card(dataset_id, _retyped, clicks, target, features):
        """A dataset chosen (or retyped): the columns that can be predicted and predicted from, and
        its link to the explorer when it is modelled. « Open in the explorer »: the owner's choice
        kept (checked on the rows), then the link."""
        if dataset_id is None:
            return [], None, [], [], True, ""
        if not isinstance(dataset_id, int) or isinstance(dataset_id, bool):
            raise BadInput("dataset", "expected a dataset id")
        if ctx.triggered_id == IDS.MODEL_IT and clicks:
            return (*[no_update] * 5, model_it(dataset_id, target, features))
        me = Viewer.of(current_user)
        try:
            dataset = store.get(me, dataset_id)
        except DatasetNotFound:
            raise PreventUpdate from None
        targets, target, features, chosen = _choices(dataset)
        owner = dataset.owner_id == me.user_id
        if not explorer_allowed():
            said = _("Your role cannot open the machine learning explorer.")
        elif spec_of(dataset) is not None:
            said = explorer_link(dataset)
        elif not owner:
            said = _("Only its owner can model this dataset.")
        elif not targets or len(features) < 2:
            said = _(
                "To model it, a dataset needs a column with a few classes (a category, yes/no or whole "
                "numbers) and at least two numeric columns."
            )
        else:
            said = ""
        unusable = not targets or len(features) < 2
        return targets, target, features, chosen, not owner or not explorer_allowed() or unusable, said

    def model_it(dataset_id: int, target, features):
        if not explorer_allowed():
            return _("Your role cannot open the machine learning explorer.")
        if target is None:
            return dbc.Alert(_("Choose the column to predict."), color="warning", className="small py-2")
        chosen = _names(features or [], "features")
        (target_name,) = _names([target], "target")
        me = Viewer.of(current_user)
        try:
            models.model(me, dataset_id, target_name, chosen)
            dataset = store.get(me, dataset_id)
        except DatasetNotFound:
            return dbc.Alert(_("This dataset no longer exists."), color="warning", className="small py-2")
        except ModelRefused as exc:
            return dbc.Alert(exc.said(), color="warning", className="small py-2")
        services.audit.record(
            "dataset_model", dashboard="explore", dataset=dataset_id, target=target_name, features=len(chosen)
        )
        return explorer_link(dataset)
