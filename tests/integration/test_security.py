"""Access control and hardening: each test fails if its protection breaks.

None of these depends on the database backend: they run on SQLite only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select

from dashhub.app import create_app
from dashhub.cli import main
from dashhub.config import ConfigError
from dashhub.db import audit_events
from tests.conftest import TEST_SECRET, logged_in, login, make_settings
from tests.support.dash_requests import callback_body, page_body, post_sales, sales_body

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

ALLOWLIST = {"/login", "/health", "/ready", "/_favicon.ico", "/locale", "/theme"}  # (the two switches: CSRF)
# Programs' routes: a token, not a session (tests/integration/test_api.py); the API's description
# is public, /metrics answers the allowed networks (127.0.0.1 here).
PROGRAMS = {"/api/v1/openapi.json", "/api/v1/docs/", "/metrics"}
EVERYTHING = (["Est", "Nord", "Ouest", "Sud"], ["Produit A", "Produit B", "Produit C", "Produit D"])


def _concrete(rule) -> str:
    path = rule.rule
    for argument in rule.arguments:
        path = path.replace(f"<{argument}>", "x").replace(f"<path:{argument}>", "x/y.js")
        path = path.replace(f"<string:{argument}>", "x")
    return path


def test_every_route_without_a_session_is_refused(app, anonymous):
    rules = list(app.server.url_map.iter_rules())
    assert len(rules) > 10
    checked = 0
    for rule in rules:
        path = _concrete(rule)
        if path in ALLOWLIST or path in PROGRAMS or path.startswith("/static"):
            continue
        for method in ("GET", "POST"):
            response = anonymous.open(path, method=method, headers={"Accept": "text/html"})
            body = response.get_data(as_text=True)
            if rule.endpoint.startswith("api.") and method in rule.methods:
                assert response.status_code == 401 and "token" in body, f"{method} {path}"
            elif response.status_code == 302:
                assert response.headers["Location"].startswith("/login"), path
            else:
                assert response.status_code == 401, f"{method} {path} answered {response.status_code}"
            assert "Nord" not in body and '"response"' not in body, f"{method} {path} leaked data"
            checked += 1
    assert checked >= 20


@pytest.mark.parametrize(
    "path", ["/_dash-layout", "/_dash-dependencies", "/sales", "/export/sales/trend.html"]
)
def test_dash_endpoints_and_exports_need_a_session(anonymous, path):
    response = anonymous.get(path)
    assert response.status_code == 401
    assert "Nord" not in response.get_data(as_text=True)


def test_the_login_page_and_its_assets_are_public(anonymous):
    page = anonymous.get("/login")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.get_data(as_text=True)
    assert anonymous.get("/assets/bootstrap.min.css").status_code == 200
    assert anonymous.get("/assets/dashhub.js").status_code == 401


def test_a_forged_pathname_does_not_open_callbacks(anonymous):
    """dash-auth trusts a callback whose inputs claim a public pathname; dashhub does not."""
    body = sales_body(*EVERYTHING, "2024-01-01", "2025-12-31")
    body["inputs"].append({"id": "url", "property": "pathname", "value": "/login"})
    body["changedPropIds"] = ["url.pathname"]
    response = anonymous.post("/_dash-update-component", json=body)
    assert response.status_code == 401
    assert "Nord" not in response.get_data(as_text=True)
    forged_page = anonymous.post("/_dash-update-component", json=page_body("/login"))
    assert forged_page.status_code == 401


@pytest.fixture
def sales_for_admins_only(tmp_path, demo_url):
    settings = make_settings(tmp_path, demo_url, DASHHUB_AUTH__PERMISSIONS='{"sales": ["admin"]}')
    return create_app(settings)


def test_a_role_without_permission_is_refused_on_the_server(sales_for_admins_only):
    viewer = logged_in(sales_for_admins_only, "viewer")
    refused = post_sales(viewer, *EVERYTHING, "2024-01-01", "2025-12-31")
    assert refused.status_code == 403
    assert "Nord" not in refused.get_data(as_text=True)
    page = json.dumps(viewer.post("/_dash-update-component", json=page_body("/sales")).get_json())
    assert "Acc\\u00e8s refus\\u00e9" in page or "Accès refusé" in page
    assert viewer.get("/export/sales/trend.html").status_code == 403
    layout = json.dumps(viewer.get("/_dash-layout").get_json())
    assert '"/sales"' not in layout  # not offered in the navbar either
    admin = logged_in(sales_for_admins_only, "admin")
    assert post_sales(admin, *EVERYTHING, "2024-01-01", "2025-12-31").status_code == 200


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=300),
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(regions=json_values, products=json_values, start=json_values, end=json_values)
def test_crafted_callback_payloads_never_cause_a_500(client, regions, products, start, end):
    response = post_sales(client, regions, products, start, end)
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:300]
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda b: b.pop("inputs"),
        lambda b: b.update(inputs="nope"),
        lambda b: b.update(output="x" * 100_000),
        lambda b: b["inputs"].pop(),
        lambda b: b.update(outputs=[]),
    ],
)
def test_malformed_callback_requests_get_a_clean_4xx(client, mangle):
    body = sales_body(*EVERYTHING, "2024-01-01", "2025-12-31")
    mangle(body)
    response = client.post("/_dash-update-component", json=body)
    assert 400 <= response.status_code < 500
    assert "Traceback" not in response.get_data(as_text=True)
    assert "Nord" not in response.get_data(as_text=True)


def test_the_removed_csv_routes_are_gone(client):
    """Large exports go through the background job (limits, progress, audit); the old unbounded
    streaming routes are not served any more (the address falls through to the app's page)."""
    for path in ("/export/sales.csv", "/export/hr.csv"):
        response = client.get(path)
        assert response.mimetype == "text/html"
        assert "attachment" not in response.headers.get("Content-Disposition", "")
        assert "date,region" not in response.get_data(as_text=True)


def test_security_headers_are_on_every_page(client):
    response = client.get("/sales", headers={"Accept": "text/html"})
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self' 'sha256-" in csp
    assert "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_session_cookie_is_httponly_and_samesite(anonymous):
    response = login(anonymous, "viewer")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # served over plain HTTP in this test


def test_cookies_are_secure_over_https(tmp_path, demo_url):
    settings = make_settings(tmp_path, demo_url, DASHHUB_SERVER__HTTPS="true")
    client = create_app(settings).server.test_client()
    cookie = login(client, "viewer").headers["Set-Cookie"]
    assert "Secure" in cookie


def test_wrong_password_then_lockout(demo_app):
    anonymous = demo_app.server.test_client()
    wrong = login(anonymous, "viewer", "not-the-password")
    assert wrong.status_code == 401
    assert "Nom d’utilisateur ou mot de passe incorrect" in wrong.get_data(as_text=True)
    for _ in range(4):
        last = login(anonymous, "viewer", "still-not-it")
    assert last.status_code == 429
    assert "réessayez après" in last.get_data(as_text=True)
    locked = login(anonymous, "viewer")  # the right password does not open it from this address
    assert locked.status_code == 429


def test_login_attempts_are_rate_limited_per_address(tmp_path, demo_url):
    settings = make_settings(tmp_path, demo_url, DASHHUB_AUTH__LOGIN_RATE_LIMIT="3 per minute")
    client = create_app(settings).server.test_client()
    codes = [login(client, "nobody", "x" * 12).status_code for _ in range(4)]
    assert codes[:3] == [401, 401, 401]
    assert codes[3] == 429


def test_forms_without_csrf_token_are_refused(anonymous, client):
    response = anonymous.post("/login", data={"username": "viewer", "password": "Looks-At-Charts-2026!"})
    assert response.status_code == 400
    assert client.post("/logout").status_code == 400
    assert client.get("/_dash-layout").status_code == 200  # still logged in


def test_logout_ends_the_session(app):
    client = logged_in(app)  # a session of its own: the shared ones stay logged in
    layout = client.get("/_dash-layout").get_json()
    token = _find_prop(layout, "id", "logout-csrf")["value"]
    assert token, "the navbar carries a logout form with a CSRF token"
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/_dash-layout").status_code == 401


def _find_prop(tree, key, value):
    """The props of the first component in a Dash layout tree whose props[key] == value."""
    if isinstance(tree, dict):
        props = tree.get("props", {})
        if props.get(key) == value:
            return props
        children = list(tree.values())
    elif isinstance(tree, list):
        children = tree
    else:
        return None
    for child in children:
        found = _find_prop(child, key, value)
        if found is not None:
            return found
    return None


def test_oversized_requests_get_413(client):
    body = callback_body([("x", "y")], [("sales-regions", "value", ["A" * 11 * 1024 * 1024])])
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 413


def test_logins_failures_and_exports_are_audited(demo_app, settings):
    anonymous = demo_app.server.test_client()
    login(anonymous, "viewer", "wrong-password-here")
    login(anonymous, "viewer")
    assert anonymous.get("/export/sales/trend.html?region=Nord").status_code == 200
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        events = [
            (r.event, r.username) for r in conn.execute(select(audit_events).order_by(audit_events.c.id))
        ]
    engine.dispose()
    assert ("login_failed", "viewer") in events
    assert ("login", "viewer") in events
    assert ("export", "viewer") in events


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DASHHUB_SERVER__DEBUG": "true"}, "server.debug"),
        ({"DASHHUB_SECRET_KEY": ""}, "server.secret_key"),
        ({"DASHHUB_SECRET_KEY": "changeme"}, "server.secret_key"),
    ],
)
def test_production_refuses_unsafe_settings(tmp_path, demo_url, overrides, message):
    settings = make_settings(tmp_path, demo_url, **overrides)
    with pytest.raises(ConfigError, match=message):
        create_app(settings)


def test_development_relaxes_the_guards(tmp_path, demo_url):
    settings = make_settings(tmp_path, demo_url, DASHHUB_SECRET_KEY="", DASHHUB_ENVIRONMENT="development")
    assert create_app(settings) is not None


def test_gunicorn_entry_point_exits_with_a_clear_message(tmp_path, database_url):
    env = {
        **os.environ,
        "DASHHUB_PATHS__DATA_DIR": str(tmp_path),
        "DASHHUB_DATABASE__URL": database_url,
        "DASHHUB_SECRET_KEY": TEST_SECRET,
        "DASHHUB_ADMIN_PASSWORD": "admin",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import dashhub.wsgi"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3
    assert "DASHHUB_ADMIN_PASSWORD is weak" in result.stderr
    assert "Traceback" not in result.stderr


def test_init_creates_the_admin_and_users_can_be_managed(tmp_path, database_url):
    env = {"DASHHUB_DATABASE__URL": database_url, "DASHHUB_PATHS__DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    first = runner.invoke(main, ["init"], env=env)
    assert first.exit_code == 0, first.output
    assert "Created user 'admin' with password: " in first.output
    assert "Created user" not in runner.invoke(main, ["init"], env=env).output  # only once
    weak = runner.invoke(
        main, ["users", "add", "bob", "--role", "hr", "--password-stdin"], env=env, input="short\n"
    )
    assert weak.exit_code == 1 and "at least 12 characters" in weak.output
    added = runner.invoke(
        main,
        ["users", "add", "bob", "--role", "hr", "--password-stdin"],
        env=env,
        input="Reads-The-Payroll-1\n",
    )
    assert added.exit_code == 0, added.output
    bad_role = runner.invoke(main, ["users", "add", "eve", "--role", "root", "--generate"], env=env)
    assert bad_role.exit_code == 2
    changed = runner.invoke(
        main, ["users", "passwd", "bob", "--password-stdin"], env=env, input="Another-Long-Secret-9\n"
    )
    assert changed.exit_code == 0
    listing = runner.invoke(main, ["users", "list"], env=env).output
    assert "admin\tadmin" in listing and "bob\thr" in listing


def test_disabling_or_changing_a_user_takes_effect_on_the_next_request(demo_app):
    client = logged_in(demo_app)
    store = demo_app.server.extensions["dashhub"].users
    assert post_sales(client, *EVERYTHING, "2024-01-01", "2025-12-31").status_code == 200
    store.set_active("viewer", False)
    assert post_sales(client, *EVERYTHING, "2024-01-01", "2025-12-31").status_code == 401
    store.set_active("viewer", True)
    assert post_sales(client, *EVERYTHING, "2024-01-01", "2025-12-31").status_code == 401, "stays ended"
    client = logged_in(demo_app)
    store.set_role("viewer", "hr")
    assert client.get("/_dash-layout").status_code == 401, "a role change ends the session"
    client = logged_in(demo_app)
    layout = json.dumps(client.get("/_dash-layout").get_json())
    assert '"/hr"' in layout  # the new role's dashboards
