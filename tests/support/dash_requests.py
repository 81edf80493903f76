"""Build the JSON bodies Dash's renderer posts to /_dash-update-component."""

from __future__ import annotations

import json
from typing import Any

from dashhub.layouts.sales import IDS
from dashhub.shell import PAGE_CONTENT, PAGE_ROUTE, ROUTE

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
    (IDS.TREND, "config"),
    (IDS.ANIMATION, "config"),
    (IDS.STACKED, "config"),
    (IDS.QUERY, "data"),
    (IDS.VIEW, "data"),
]


def stringify_id(component_id: str | dict) -> str:
    """A component id as Dash writes it in a callback's output string."""
    if isinstance(component_id, dict):
        return json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return component_id


def callback_body(
    outputs: list[tuple[str, str]],
    inputs: list[tuple[str, str, Any]],
    state: list[tuple[str, str, Any]] = (),
) -> dict:
    names = [f"{stringify_id(i)}.{p}" for i, p in outputs]
    output = names[0] if len(names) == 1 else ".." + "...".join(names) + ".."
    return {
        "output": output,
        "outputs": [{"id": i, "property": p} for i, p in outputs]
        if len(outputs) > 1
        else {"id": outputs[0][0], "property": outputs[0][1]},
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
        "changedPropIds": [f"{stringify_id(inputs[0][0])}.{inputs[0][1]}"],
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
        [(PAGE_ROUTE, "data", None)],
    )


def post_sales(client, regions, products, start, end):
    return client.post("/_dash-update-component", json=sales_body(regions, products, start, end))


def sales_outputs(response) -> dict[str, Any]:
    """{component id: value} from a successful sales callback response."""
    payload = response.get_json()["response"]
    return {cid: next(iter(props.values())) for cid, props in payload.items()}


def view_search(outputs: dict[str, Any], dashboard: str) -> str:
    """The query string a dashboard's callback put into the address (its view state)."""
    return outputs[stringify_id({"type": "view-state", "dashboard": dashboard})]["search"]


def page_body(pathname: str, search: str = "") -> dict:
    """What the browser posts to draw the page of an address (the route the shell computed)."""
    route = {"pathname": pathname, "search": search, "at": 0}
    return callback_body([(PAGE_CONTENT, "children"), (PAGE_ROUTE, "data")], [(ROUTE, "data", route)])


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
