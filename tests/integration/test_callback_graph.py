"""The callback graph the browser receives: one owner per output, every dashboard wired."""

from __future__ import annotations

import pytest

from dashhub.registry import DASHBOARDS
from dashhub.shell import PAGE_CONTENT
from tests.conftest import session_of
from tests.support.api import CANCER, deploy
from tests.support.callback_graph import outputs_of, outputs_written_twice
from tests.support.dash_requests import page_body, stringify_id

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

# Component types whose value a user changes, and the property a callback must listen to.
CONTROLS = {
    "Dropdown": ("value",),
    "RangeSlider": ("value",),
    "DatePickerRange": ("start_date", "end_date"),
}


def components(tree):
    """Every component in a rendered layout (JSON), depth first."""
    if isinstance(tree, dict):
        if "type" in tree and "props" in tree:
            yield tree
        for value in tree.values():
            yield from components(value)
    elif isinstance(tree, list):
        for item in tree:
            yield from components(item)


def test_no_output_is_written_by_two_callbacks(app):
    dependencies = session_of(app, "admin").get("/_dash-dependencies").get_json()
    assert len(dependencies) > 10
    assert outputs_written_twice(dependencies) == {}


def test_no_callback_feeds_itself_through_others(app):
    """No loop in the graph (an input that some chain of callbacks writes back): Dash refuses the
    whole page's callbacks when it finds one (« Dependency Cycle Found »)."""
    dependencies = session_of(app, "admin").get("/_dash-dependencies").get_json()
    edges: dict[str, set[str]] = {}
    for d in dependencies:
        outputs = {o.partition("@")[0] for o in outputs_of(d["output"])}
        for i in d["inputs"]:
            edges.setdefault(f"{stringify_id(i['id'])}.{i['property']}", set()).update(outputs)
    done: set[str] = set()

    def loop_from(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(edges.get(node, ())):
            found = loop_from(target, [*path, node])
            if found:
                return found
        done.add(node)
        return None

    for start in sorted(edges):
        assert loop_from(start, []) is None


def test_a_user_is_told_only_the_callbacks_of_their_dashboards(app, client):
    """A viewer's /_dash-dependencies lists the shell's and Ventes's callbacks, not RH's or the
    ML dashboards' (Dash's own cancel callbacks included); an admin's lists them all."""
    viewer = {o for d in client.get("/_dash-dependencies").get_json() for o in outputs_of(d["output"])}
    admin = {
        o
        for d in session_of(app, "admin").get("/_dash-dependencies").get_json()
        for o in outputs_of(d["output"])
    }
    assert "sales-trend.figure" in viewer and "route.data" in viewer
    assert "sales-export-cancel.id" in viewer, "Dash's cancel callback of the sales export"
    hidden = {o for o in admin - viewer}
    assert "hr-export-cancel.id" in hidden and any(o.startswith("hr-") for o in hidden)
    assert not any(o.startswith(("hr-", "ml-")) for o in viewer), sorted(viewer)


def test_only_the_shell_writes_the_address(client):
    dependencies = client.get("/_dash-dependencies").get_json()
    writers = [d for d in dependencies if "url.search" in outputs_of(d["output"])]
    assert len(writers) == 1
    assert writers[0]["clientside_function"]["function_name"] == "syncAddress"


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=lambda d: d.key)
def test_every_chart_of_a_dashboard_is_drawn_and_every_control_is_listened_to(request, app, dashboard):
    if dashboard.key == "ml_monitoring":  # its charts are drawn once a model is served
        app = request.getfixturevalue("demo_app")
        deploy(app.server.extensions["dashhub"], "cancer", CANCER)
    client = session_of(app, "admin")
    dependencies = client.get("/_dash-dependencies").get_json()
    outputs = {o.partition("@")[0] for d in dependencies for o in outputs_of(d["output"])}
    inputs = {f"{stringify_id(i['id'])}.{i['property']}" for d in dependencies for i in d["inputs"]}
    # (a form's field is read when its button is pressed: a State of the button's callback)
    inputs |= {
        f"{stringify_id(i['id'])}.{i['property']}"
        for d in dependencies
        if any(trigger["property"] == "n_clicks" for trigger in d["inputs"])
        for i in d["state"]
    }
    response = client.post("/_dash-update-component", json=page_body(dashboard.path))
    assert response.status_code == 200
    page = response.get_json()["response"][PAGE_CONTENT]["children"]
    found = list(components(page))
    graphs = [c["props"]["id"] for c in found if c["type"] == "Graph"]
    controls = [(c["props"]["id"], CONTROLS[c["type"]]) for c in found if c["type"] in CONTROLS]
    assert graphs and controls, f"{dashboard.path} drew no chart or no control"
    for graph in graphs:
        assert f"{stringify_id(graph)}.figure" in outputs, f"nothing draws {graph}"
    for control, props in controls:
        for prop in props:
            assert f"{stringify_id(control)}.{prop}" in inputs, f"nothing listens to {control}.{prop}"
    view_state = stringify_id({"type": "view-state", "dashboard": dashboard.key}) + ".data"
    assert view_state in outputs, f"{dashboard.path} does not put its state in the address"
