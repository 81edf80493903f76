"""Callbacks shared by several dashboards."""

from __future__ import annotations

from dash import ClientsideFunction, Dash, Input, Output, State

from dashhub.auth.callbacks import secure_clientside
from dashhub.layouts.common import all_selected_texts


def register_all_selected(app: Dash, dashboard: str, component_id: str) -> None:
    """A multi-select says « Toutes les régions (4) » when every option is chosen, in the browser
    as the choice changes (no request)."""
    secure_clientside(app, dashboard)(
        ClientsideFunction(namespace="dashhub", function_name="allSelected"),
        Output(component_id, "labels"),
        Output(component_id, "className"),
        Input(component_id, "value"),
        State(component_id, "options"),
        State(component_id, "labels"),
        State(all_selected_texts(component_id), "data"),
    )
