"""The app factory: one Dash app, its services, the shell, and every registered dashboard."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Collection
from importlib.resources import files
from urllib.parse import urlsplit

from dash import ALL, ClientsideFunction, Dash, Input, Output, State
from dash.exceptions import PreventUpdate
from flask import Flask, Response, abort, jsonify, redirect, request
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from wtforms.validators import ValidationError

from dashhub import api, metrics
from dashhub.auth import web as auth_web
from dashhub.auth.callbacks import (
    install_dispatch_guard,
    secure_callback,
    secure_clientside,
    unguarded_callbacks,
)
from dashhub.auth.dash_app import GuardedDash
from dashhub.auth.hardening import check_production, configure_server, install_compression, install_headers
from dashhub.config import Settings, load_settings
from dashhub.container import Services
from dashhub.export_jobs import install_download_route
from dashhub.i18n import LOCALES, remember_locale
from dashhub.i18n import gettext as _
from dashhub.layouts.common import view_state_id
from dashhub.logs import configure_logging, install_request_ids
from dashhub.migrations import check_schema
from dashhub.plotly_bundle import install_partial_plotly
from dashhub.registry import DASHBOARDS, find
from dashhub.shell import PAGE_CONTENT, PAGE_MARK, PAGE_ROUTE, ROUTE, app_layout, forbidden, home, not_found
from dashhub.themes import THEMES, remember_theme
from dashhub.validation import BadInput

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Dash:
    """Build the Dash app for settings (default: config.yaml plus the environment)."""
    settings = settings or load_settings()
    check_production(settings)
    configure_logging(settings)
    server = Flask("dashhub")
    install_request_ids(server)
    configure_server(server, settings)
    install_compression(server, settings.server.url_prefix.rstrip("/"))
    install_partial_plotly(server, settings.server.url_prefix.rstrip("/"))
    server.config["DASHHUB_DEFAULT_LOCALE"] = settings.i18n.default_locale
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    services = Services.build(server, settings)
    check_schema(services.engine)  # never changes it: `dashhub init` does
    limiter = auth_web.make_limiter(server, settings)
    auth_web.install(server, settings, services.users, services.audit, limiter)

    app = GuardedDash(
        "dashhub",
        server=server,
        assets_folder=str(files("dashhub.assets")),
        url_base_pathname=settings.server.url_prefix,
        title="dashhub",
        update_title=None,
        suppress_callback_exceptions=True,
        serve_locally=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        background_callback_manager=services.jobs,
    )
    app.access = services.access
    app.layout = lambda: app_layout(services.access.visible(current_user))
    server.extensions["dashhub"] = services
    _register_routes(server, services)
    _register_theme_route(server, services)
    install_dispatch_guard(server, services.access, services.prefix, app)
    install_download_route(server, services)
    api.install(server, services, limiter)
    metrics.install(
        server, settings.metrics.allowed_networks, lambda header: _may_read_metrics(services, header)
    )
    _register_router(app, services)
    for dashboard in DASHBOARDS:
        importlib.import_module(dashboard.callbacks_module).register(app, services)
    install_headers(app, settings)
    if settings.server.debug:
        # Dev tools (front-end callback validation, error overlay) under any server; set up here
        # because Flask takes no more set-up after _finish_setup's first request.
        app.enable_dev_tools(debug=True, dev_tools_hot_reload=False, dev_tools_disable_version_check=True)
    _finish_setup(server, services)
    unguarded = unguarded_callbacks(app)  # Dash adds some of its own in set-up: none may escape
    if unguarded:
        raise RuntimeError(f"callbacks outside the permission check: {', '.join(unguarded)}")
    return app


def _finish_setup(server: Flask, services: Services) -> None:
    """Let Dash finish its set-up now, before any user request.

    Dash sets itself up on a worker's first request and registers its script bundles there; under
    a threaded worker, concurrent first requests for those bundles would meet an empty registry
    and fail. One internal request while the process is still single-threaded settles it.
    """
    response = server.test_client().get(f"{services.prefix}/health")
    if response.status_code != 200:
        raise RuntimeError(f"app set-up failed: /health answered {response.status_code}")


def _register_router(app: Dash, services: Services) -> None:
    """The address decides the page: route (which address to draw), the page drawn for it, and
    the one writer of the address (each dashboard's view state, copied into the URL)."""
    callback = secure_callback(app)
    views = State(view_state_id(ALL), "data")

    clientside = secure_clientside(app)
    clientside(
        ClientsideFunction(namespace="dashhub", function_name="route"),
        Output(ROUTE, "data"),
        Input("url", "pathname"),
        Input("url", "search"),
        State(ROUTE, "data"),
        views,
    )
    clientside(
        ClientsideFunction(namespace="dashhub", function_name="markPage"),
        Output(PAGE_MARK, "data"),
        Input(ROUTE, "data"),
    )
    clientside(
        ClientsideFunction(namespace="dashhub", function_name="syncAddress"),
        Output("url", "search"),
        Input(view_state_id(ALL), "data"),
        State(ROUTE, "data"),
        State(PAGE_ROUTE, "data"),
    )

    @callback(Output(PAGE_CONTENT, "children"), Output(PAGE_ROUTE, "data"), Input(ROUTE, "data"))
    def render_page(route):
        pathname, search = route_of(route)
        # (the page comes with the stamp of its route: the address takes no view state from a
        # page still shown while the next route's page is on its way — a late answer after Back)
        at = route.get("at")
        if not isinstance(at, int | float) or isinstance(at, bool):
            at = None
        return _page_for(pathname, search), at

    def _page_for(pathname: str, search: str) -> object:
        path = app.strip_relative_path(pathname) or ""
        if path == "":
            return home(services.access.visible(current_user))
        dashboard = find("/" + path)
        if dashboard is None:
            return not_found(path)
        if not services.access.can_open(current_user, dashboard):
            return forbidden()
        module = importlib.import_module(dashboard.callbacks_module)
        return module.page(services, search)

    @callback(
        Output("navbar-collapse", "is_open"),
        Input("navbar-toggler", "n_clicks"),
        State("navbar-collapse", "is_open"),
        prevent_initial_call=True,
    )
    def toggle_navbar(n_clicks, is_open):
        return not bool(is_open)


def route_of(route) -> tuple[str, str]:
    """(pathname, search) of the route store, checked like any other input."""
    if route is None:
        raise PreventUpdate
    if not isinstance(route, dict):
        raise BadInput("route", "expected {pathname, search}")
    pathname, search = route.get("pathname"), route.get("search") or ""
    if not isinstance(pathname, str) or not isinstance(search, str) or len(pathname) > 2048:
        raise BadInput("route", "expected {pathname, search}")
    if not pathname.startswith("/"):
        raise BadInput("route", "a pathname starts with /")
    return pathname, search


def _register_routes(server: Flask, services: Services) -> None:
    prefix = services.prefix
    development = services.settings.server.debug

    @server.before_request
    def serve_no_source():
        """Dash serves the assets folder whole and lists the installed packages for hot reload:
        never a Python file, and no package list outside development."""
        path = request.path
        if path.startswith(f"{prefix}/assets/") and (path.endswith((".py", ".pyc")) or "__pycache__" in path):
            abort(404)
        if path == f"{prefix}/_reload-hash" and not development:
            abort(404)

    @server.route(f"{prefix}/health")
    def health() -> Response:
        return Response("OK", mimetype="text/plain")

    @server.route(f"{prefix}/ready")
    def ready() -> tuple[Response, int]:
        """Readiness: one entry per dependency; 503 when one is down."""
        checks = {
            "database": _database_answers(services),
            "cache": services.cache.ping(),
            "worker": services.jobs.ping(),
        }
        body = {name: "ok" if up else "down" for name, up in checks.items()}
        return jsonify(status="ok" if all(checks.values()) else "down", checks=body), (
            200 if all(checks.values()) else 503
        )

    _preference_route(
        server,
        services,
        "locale",
        "code",
        LOCALES,
        remember_locale,
        lambda user_id, code: services.users.set_locale(user_id, code),
    )


def _register_theme_route(server: Flask, services: Services) -> None:
    _preference_route(
        server,
        services,
        "theme",
        "theme",
        THEMES,
        remember_theme,
        lambda user_id, theme: services.users.set_theme(user_id, theme),
    )


def _preference_route(
    server: Flask,
    services: Services,
    name: str,
    field: str,
    choices: Collection[str],
    remember: Callable[[Response, str], None],
    save: Callable[[int, str], None],
) -> None:
    """POST /<name>: the language or the theme switch. For this browser (a cookie), and for the
    user wherever they log in next; a POST with the page's CSRF token, so that a link or a form
    on another site cannot change it. Back to the page it was pressed on."""
    prefix = services.prefix

    def choose() -> Response:
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            return jsonify(error=_("Invalid or expired form: reload the page.")), 400
        value = request.form.get(field, "")
        response = redirect(_same_site_return_path(prefix))
        if value in choices:
            remember(response, value)
            if current_user.is_authenticated:
                save(int(current_user.id), value)
        return response

    server.add_url_rule(f"{prefix}/{name}", endpoint=f"choose_{name}", view_func=choose, methods=["POST"])


def _may_read_metrics(services: Services, header: str) -> bool:
    """Whether an Authorization header carries a live token with the metrics permission."""
    scheme, _, secret = header.partition(" ")
    token = services.tokens.authenticate(secret.strip()) if scheme.lower() == "bearer" else None
    return token is not None and services.access.allows(token.role, "metrics")


def _database_answers(services: Services) -> bool:
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError as exc:
        log.warning("readiness: database down: %s", exc)
        return False


def _same_site_return_path(prefix: str) -> str:
    """Where the user came from, if it was this site; else the home page."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc != request.host:
        return f"{prefix}/"
    path = referrer.path or f"{prefix}/"
    if not path.startswith("/") or path.startswith("//"):
        return f"{prefix}/"
    return path + (f"?{referrer.query}" if referrer.query else "")
