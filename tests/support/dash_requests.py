"""Build the JSON bodies Dash's renderer posts to /_dash-update-component."""

from __future__ import annotations

from typing import Any

from dashhub.layouts.sales import IDS

SALES_OUTPUTS = [
    (IDS.KPI_TOTAL, "children"),
    (IDS.KPI_GROWTH, "children"),
    (IDS.KPI_REGION, "children"),
    (IDS.KPI_MONTH, "children"),
    (IDS.TREND, "figure"),
    (IDS.ANIMATION, "figure"),
    (IDS.STACKED, "figure"),
    (IDS.TREND_HTML, "href"),
    (IDS.ANIMATION_HTML, "href"),
    (IDS.STACKED_HTML, "href"),
    ("url", "search"),
]


def callback_body(
    outputs: list[tuple[str, str]],
    inputs: list[tuple[str, str, Any]],
    state: list[tuple[str, str, Any]] = (),
) -> dict:
    output = (
        f"{outputs[0][0]}.{outputs[0][1]}"
        if len(outputs) == 1
        else ".." + "...".join(f"{i}.{p}" for i, p in outputs) + ".."
    )
    return {
        "output": output,
        "outputs": [{"id": i, "property": p} for i, p in outputs]
        if len(outputs) > 1
        else {"id": outputs[0][0], "property": outputs[0][1]},
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
        "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"],
    }


def sales_body(regions: Any, products: Any, start: Any, end: Any) -> dict:
    return callback_body(
        SALES_OUTPUTS,
        [
            (IDS.REGIONS, "value", regions),
            (IDS.PRODUCTS, "value", products),
            (IDS.DATES, "start_date", start),
            (IDS.DATES, "end_date", end),
        ],
    )


def post_sales(client, regions, products, start, end):
    return client.post("/_dash-update-component", json=sales_body(regions, products, start, end))


def sales_outputs(response) -> dict[str, Any]:
    """{component id: value} from a successful sales callback response."""
    payload = response.get_json()["response"]
    return {cid: next(iter(props.values())) for cid, props in payload.items()}


def page_body(pathname: str, search: str = "") -> dict:
    return callback_body(
        [("page-content", "children")], [("url", "pathname", pathname)], [("url", "search", search)]
    )


def find_prop(tree: Any, component_id: str, prop: str) -> Any:
    """The value of prop on the component with component_id in a rendered layout (JSON)."""
    if isinstance(tree, dict):
        props = tree.get("props")
        if isinstance(props, dict) and props.get("id") == component_id:
            return props.get(prop)
        for value in tree.values():
            found = find_prop(value, component_id, prop)
            if found is not None:
                return found
    elif isinstance(tree, list):
        for item in tree:
            found = find_prop(item, component_id, prop)
            if found is not None:
                return found
    return None
