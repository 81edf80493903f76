"""Hostile requests to every callback and every route: refused (4xx) or answered, never a 5xx.

A 5xx is a server error in the log and counts against the error rate the monitoring watches, so
a bad request must never cause one. The callbacks are read from `/_dash-dependencies` (the
router's and Dash's own included), the routes from Flask's URL map: a callback or route added
later is fuzzed without touching this file.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.conftest import logged_in
from tests.support.callback_graph import outputs_of

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

PATH = "/_dash-update-component"
HOSTILE = [
    None,
    "",
    [],
    {},
    0,
    -1,
    10**30,
    1e308,
    True,
    "\x00" * 8,
    "../" * 40,
    "é" * 5000,
    ["x"] * 500,
    {"$gt": ""},
    "0001-01-01",
    "9999-12-31",
    "?a=" + "%" * 50,
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=60),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=12,
)
FUZZ = hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _component_id(text: str):
    return json.loads(text) if text.startswith("{") else text


def _split(target: str) -> tuple[object, str]:
    component, _, prop = target.partition("@")[0].rpartition(".")
    return _component_id(component), prop


def server_callbacks(client) -> list[dict]:
    """Every callback the server runs (clientside ones never reach it), as the admin sees them."""
    dependencies = client.get("/_dash-dependencies").get_json()
    return [d for d in dependencies if d.get("clientside_function") is None]


def _entry(slot: dict, value) -> dict | list:
    """One input or state as the renderer sends it: a wildcard (ALL) slot as a list of entries,
    one per matching component (ids made up from the pattern)."""
    component = _component_id(slot["id"])
    if isinstance(component, dict) and ["ALL"] in component.values():
        concrete = {k: ("x" if v == ["ALL"] else v) for k, v in component.items()}
        return [{"id": concrete, "property": slot["property"], "value": value}]
    return {"id": component, "property": slot["property"], "value": value}


def body_for(callback: dict, values: list) -> dict:
    outputs = [_split(o) for o in outputs_of(callback["output"])]
    slots = [*callback["inputs"], *callback["state"]]
    filled = [_entry(slot, values[i % len(values)]) for i, slot in enumerate(slots)]
    return {
        "output": callback["output"],
        "outputs": [{"id": i, "property": p} for i, p in outputs]
        if len(outputs) > 1
        else {"id": outputs[0][0], "property": outputs[0][1]},
        "inputs": filled[: len(callback["inputs"])],
        "state": filled[len(callback["inputs"]) :],
        "changedPropIds": [f"{callback['inputs'][0]['id']}.{callback['inputs'][0]['property']}"]
        if callback["inputs"]
        else [],
    }


@pytest.fixture
def admin(demo_app):
    return logged_in(demo_app, "admin")


def _post(client, body, query=None):
    response = client.post(PATH, json=body, query_string=query or {})
    assert response.status_code < 500, (
        body["output"],
        response.status_code,
        response.get_data(as_text=True)[:300],
    )
    return response


def test_every_callback_refuses_hostile_values_without_a_server_error(admin):
    callbacks = server_callbacks(admin)
    assert len(callbacks) > 20
    for callback in callbacks:
        if callback.get("background"):
            continue  # a start queues a job: fuzzed through its handles below
        for value in HOSTILE:
            _post(admin, body_for(callback, [value]))


def test_background_callbacks_refuse_forged_handles(admin):
    background = [c for c in server_callbacks(admin) if c.get("background")]
    assert {c["output"] for c in background} >= {"sales-export-result.children", "hr-export-result.children"}
    for callback in background:
        for handles in (
            {"cacheKey": "x", "job": "1"},
            {"cacheKey": "sales:" + "0" * 64 + "~" + "0" * 64, "job": "1~0"},
            {"cacheKey": "\x00", "job": "-1", "endId": "../../"},
            {"cacheKey": "a" * 10_000},
            {"oldJob": ["1", "2~x"], "cacheKey": "y"},
        ):
            _post(admin, body_for(callback, [None]), handles)


@FUZZ
@given(data=st.data())
def test_random_values_to_random_callbacks_never_cause_a_server_error(admin, data):
    callbacks = [c for c in server_callbacks(admin) if not c.get("background")]
    callback = data.draw(st.sampled_from(callbacks), label="callback")
    values = data.draw(st.lists(json_values, min_size=1, max_size=6), label="values")
    _post(admin, body_for(callback, values))


@FUZZ
@given(body=json_values)
def test_malformed_callback_bodies_never_cause_a_server_error(admin, body):
    response = admin.post(PATH, json=body)
    assert response.status_code in (400, 403), response.get_data(as_text=True)[:300]


@FUZZ
@given(data=st.data())
def test_a_request_not_shaped_like_its_callback_is_refused(admin, data):
    """Inputs moved, missing, or a wildcard input that is not a list: 400 before the callback."""
    callbacks = [c for c in server_callbacks(admin) if not c.get("background") and c["inputs"]]
    callback = data.draw(st.sampled_from(callbacks), label="callback")
    body = body_for(callback, [None])
    broken = data.draw(st.sampled_from(["drop", "extra", "scalar", "property", "id"]), label="how")
    if broken == "drop":
        body["inputs"] = body["inputs"][:-1]
    elif broken == "extra":
        body["state"] = [*body["state"], {"id": "x", "property": "value", "value": 1}]
    elif broken == "scalar":
        body["inputs"][0] = data.draw(json_values.filter(lambda v: not isinstance(v, (dict, list))))
    elif broken == "property":
        first = body["inputs"][0]
        (first[0] if isinstance(first, list) else first)["property"] = "not-the-property"
    else:
        first = body["inputs"][0]
        if isinstance(first, dict) and isinstance(first["id"], str):
            first["id"] = "someone-elses-component"
        else:
            body["inputs"] = []
    response = admin.post(PATH, json=body)
    assert response.status_code == 400, (callback["output"], broken, response.status_code)


def _routes(app) -> list[tuple[str, set[str]]]:
    return [(rule.rule, set(rule.methods) - {"HEAD", "OPTIONS"}) for rule in app.server.url_map.iter_rules()]


segments = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#"), min_size=1, max_size=40
)


@FUZZ
@given(data=st.data())
def test_every_route_with_random_arguments_never_causes_a_server_error(demo_app, admin, data):
    rule, methods = data.draw(st.sampled_from(_routes(demo_app)), label="route")
    # each <argument> of the rule replaced once (a drawn segment may itself hold < or >)
    path = re.sub(r"<[^>]+>", lambda _match: data.draw(segments, label="segment"), rule)
    method = data.draw(st.sampled_from(sorted(methods | {"GET", "POST", "PUT", "DELETE"})), label="method")
    query = data.draw(st.dictionaries(segments, segments, max_size=3), label="query")
    form = data.draw(st.dictionaries(segments, segments, max_size=3), label="form")
    for client in (admin, demo_app.server.test_client()):
        response = client.open(path, method=method, query_string=query, data=form)
        assert response.status_code < 500, (method, path, response.status_code)


@pytest.mark.parametrize(
    "path",
    [
        "/_dash-component-suites/dash/__init__.py",
        "/_dash-component-suites/dash/nope.js",
        "/_dash-component-suites/evil/x.js",
        "/_dash-component-suites/plotly/package_data/../../../etc/passwd",
    ],
)
def test_a_bad_component_suite_path_is_a_404(admin, path):
    response = admin.get(path)
    assert response.status_code == 404, (path, response.status_code)


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    username=st.text(max_size=80),
    password=st.text(max_size=80),
    next_=st.text(max_size=80),
    code=st.text(max_size=10),
)
def test_the_forms_refuse_anything_without_a_server_error(demo_app, username, password, next_, code):
    client = demo_app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    for path, form in (
        ("/login", {"username": username, "password": password, "next": next_, "csrf_token": token}),
        ("/locale", {"code": code, "csrf_token": token}),
        ("/logout", {"csrf_token": token}),
    ):
        response = client.post(path, data=form)
        assert response.status_code < 500, (path, form, response.status_code)
