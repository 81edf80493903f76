"""Callback bodies for the Explorateur ML, as Dash's renderer posts them (pattern-matching lists
included), and the background job driven the same way."""

from __future__ import annotations

import time
from typing import Any

from dashhub.domain.ml import MODEL_PARAMS, MODELS, ExplorerConfig, slider_position
from dashhub.layouts.ml_explorer import IDS, box_id, param_id, row_id, word_id
from dashhub.shell import PAGE_ROUTE
from tests.support.dash_requests import callback_body, stringify_id

PATH = "/_dash-update-component"
RENDER_OUTPUTS = [
    (IDS.KPI_ACCURACY, "children"),
    (IDS.KPI_CV, "children"),
    (IDS.KPI_TRAIN, "children"),
    (IDS.KPI_TEST, "children"),
    (IDS.KPI_FEATURES, "children"),
    (IDS.STATUS, "children"),
    (IDS.REPORT, "children"),
    (IDS.CV_FIGURE, "figure"),
    (IDS.INFO, "children"),
    (IDS.CLASSES, "figure"),
    (IDS.CONFUSION, "figure"),
    (IDS.ROC, "figure"),
]


def _all(ids: list[dict], prop: str, values: list | None = None) -> list[dict]:
    if values is None:
        return [{"id": i, "property": prop} for i in ids]
    # a forged list may be shorter or longer than the controls: the request then carries fewer
    return [{"id": i, "property": prop, "value": v} for i, v in zip(ids, values, strict=False)]


def control_values(config: ExplorerConfig) -> tuple[list, list, list, list]:
    """(param ids, values, word ids, words) as the page's controls hold them for config."""
    chosen = config.param_dict
    ids, values, word_ids, words = [], [], [], []
    for model in MODELS:
        for spec in MODEL_PARAMS[model]:
            value = chosen.get(spec.name, spec.default) if model == config.model else spec.default
            word = value if value in spec.words else "value"
            if word != "value":
                value = spec.low
            ids.append(param_id(model, spec.name))
            values.append(slider_position(spec, value) if spec.kind == "float" else value)
            if spec.words:
                word_ids.append(word_id(model, spec.name))
                words.append(word)
    return ids, values, word_ids, words


def rows_and_boxes() -> tuple[list[dict], list[dict]]:
    rows = [row_id(m, s.name) for m in MODELS for s in MODEL_PARAMS[m]]
    boxes = [box_id(m, s.name) for m in MODELS for s in MODEL_PARAMS[m] if s.words]
    return rows, boxes


def configure_body(config: ExplorerConfig, **forged: Any) -> dict:
    """The controls' callback for config (forged: replace one input's value by name)."""
    ids, values, word_ids, words = control_values(config)
    rows, boxes = rows_and_boxes()
    view = {"type": "view-state", "dashboard": "ml_explorer"}
    given = {
        "dataset": config.dataset,
        "model": config.model,
        "values": values,
        "words": words,
        "test_size": config.test_size,
        "scale": config.scale,
        "stratify": config.stratify,
        "seed": config.seed,
        "cv": config.cv,
        **forged,
    }
    wild = lambda kind: stringify_id({"model": ["ALL"], "name": ["ALL"], "type": kind})  # noqa: E731
    output = (
        f"..{IDS.RUN}.data...{IDS.QUEUE}.data...{stringify_id(view)}.data...{wild('ml-param-row')}.className"
        f"...{wild('ml-slider-box')}.className...{IDS.SEED}.invalid.."
    )
    return {
        "output": output,
        "outputs": [
            {"id": IDS.RUN, "property": "data"},
            {"id": IDS.QUEUE, "property": "data"},
            {"id": view, "property": "data"},
            _all(rows, "className"),
            _all(boxes, "className"),
            {"id": IDS.SEED, "property": "invalid"},
        ],
        "inputs": [
            {"id": IDS.DATASET, "property": "value", "value": given["dataset"]},
            {"id": IDS.MODEL, "property": "value", "value": given["model"]},
            _all(ids, "value", given["values"]) if isinstance(given["values"], list) else given["values"],
            _all(word_ids, "value", given["words"]) if isinstance(given["words"], list) else given["words"],
            {"id": IDS.TEST_SIZE, "property": "value", "value": given["test_size"]},
            {"id": IDS.SCALE, "property": "value", "value": given["scale"]},
            {"id": IDS.STRATIFY, "property": "value", "value": given["stratify"]},
            {"id": IDS.SEED, "property": "value", "value": given["seed"]},
            {"id": IDS.CV, "property": "value", "value": given["cv"]},
        ],
        "state": [
            _all(ids, "id", ids),
            _all(word_ids, "id", word_ids),
            _all(rows, "id", rows),
            _all(boxes, "id", boxes),
            {"id": PAGE_ROUTE, "property": "data", "value": None},
        ],
        "changedPropIds": [f"{IDS.MODEL}.value"],
    }


def configure(client, config: ExplorerConfig) -> dict:
    """{"run": …, "queue": …, "view": …} that the controls' callback answered."""
    response = client.post(PATH, json=configure_body(config))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    payload = response.get_json()["response"]
    view = stringify_id({"type": "view-state", "dashboard": "ml_explorer"})
    return {
        "run": payload[IDS.RUN]["data"],
        "queue": payload.get(IDS.QUEUE, {}).get("data"),
        "view": payload[view]["data"],
    }


def render(client, run: dict, done: dict | None = None) -> dict[str, Any]:
    """{component id: value} of what the page draws for a run."""
    body = callback_body(RENDER_OUTPUTS, [(IDS.RUN, "data", run), (IDS.DONE, "data", done)])
    response = client.post(PATH, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return {cid: next(iter(props.values())) for cid, props in response.get_json()["response"].items()}


def train_body(queue: dict, ticket: str) -> dict:
    return callback_body([(IDS.DONE, "data")], [(IDS.QUEUE, "data", queue)], [(IDS.TICKET, "data", ticket)])


def start_job(client, body: dict) -> dict:
    """Start a background callback; the handles the renderer polls with."""
    response = client.post(PATH, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    handles = response.get_json()
    assert {"cacheKey", "job"} <= set(handles)
    return {"cacheKey": handles["cacheKey"], "job": handles["job"]}


def poll_job(client, body: dict, handles: dict, seconds: float = 90, progress: list | None = None):
    """Poll like the renderer until the job answers: its response (None when it was cancelled)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = client.post(PATH, json=body, query_string=handles)
        if response.status_code == 204:
            return None
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        payload = response.get_json()
        if payload.get("progress") and progress is not None:
            progress.append(payload["progress"])
        if "response" in payload:
            return payload["response"]
        time.sleep(0.15)
    raise AssertionError(f"the job did not finish within {seconds} s")


def cancel_job(client, handles: dict):
    body = callback_body([(IDS.CANCEL, "id")], [(IDS.CANCEL, "n_clicks", 1)])
    return client.post(PATH, json=body, query_string={"cancelJob": handles["job"]})
