"""Shared fixtures: real databases (SQLite and PostgreSQL), real caches, demo data, apps.

The demo database (demo data and one user per role) is built once per backend and run: a test that
only reads uses one shared app per backend (`app`, `client`, `hr_client`, `anonymous`); a test
that changes data or accounts gets a copy of its own (`demo_app`, `settings`), made from the
template in milliseconds (a file copy on SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL).
Tests that do not depend on the database run on SQLite only:
`pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)`.
"""

from __future__ import annotations

import os
import tempfile

# Prometheus multiprocess files of this run's own (set before anything loads prometheus_client).
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="dashhub-test-metrics-")

import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, text

from dashhub.auth.users import UserStore
from dashhub.config import Settings, load_settings
from dashhub.db import bump_version, employees, make_engine, sales, sales_daily
from dashhub.demo import demo_employees, demo_sales, insert_transactions
from dashhub.migrations import upgrade
from dashhub.services import employee_cells
from dashhub.services.loading import insert_employees, insert_sales, refresh_sales_rollup
from tests.support import services

pytest_plugins = ["tests.support.datasets"]  # (the « Vos données » store fixture)

BACKENDS = ["sqlite", "postgresql"]
TEST_SECRET = "test-secret-key-that-is-long-enough-for-production-0123456789"
PASSWORDS = {
    "viewer": "Looks-At-Charts-2026!",
    "analyst": "Tunes-Models-2026!",
    "hr": "Knows-Salaries-2026!",
    "admin": "Holds-The-Keys-2026!",
}


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    try:
        return services.postgres_admin_url()
    except services.MissingService as exc:
        pytest.exit(str(exc), returncode=3)


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        return services.redis_url()
    except services.MissingService as exc:
        pytest.exit(str(exc), returncode=3)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """The database backend of a test: both by default, one with indirect parametrization."""
    return request.param


@pytest.fixture
def database_url(backend, request, tmp_path):
    """An empty database of the test's own (no schema)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    url, drop = services.create_database(request.getfixturevalue("postgres_admin_url"))
    yield url
    drop()


def make_settings(tmp_path, database_url: str, **overrides) -> Settings:
    """Production settings (the guards apply) on a test database and data folder."""
    environ = {
        "DASHHUB_PATHS__DATA_DIR": str(tmp_path / "data"),
        "DASHHUB_DATABASE__URL": database_url,
        "DASHHUB_ENVIRONMENT": "production",
        "DASHHUB_SECRET_KEY": TEST_SECRET,
    }
    environ.update({k: str(v) for k, v in overrides.items()})
    return load_settings(path=None, environ=environ)


def add_transactions(database_url: str, count: int) -> None:
    """count more synthetic sales rows, with the rollup and the data version brought up to date."""
    engine = make_engine(database_url)
    with engine.begin() as conn:
        insert_transactions(conn, count)
        refresh_sales_rollup(conn)
        bump_version(conn, "sales")
    engine.dispose()


def add_users(settings_or_url: Settings | str) -> None:
    """One user per role, named after the role (passwords in PASSWORDS)."""
    url = settings_or_url if isinstance(settings_or_url, str) else settings_or_url.database_url
    engine = make_engine(url)
    upgrade(engine)
    store = UserStore(engine, load_settings(path=None, environ={}).auth)
    for role, password in PASSWORDS.items():
        if not store.exists(role):
            store.add(role, role, password)
    engine.dispose()


def load_demo(database_url: str) -> None:
    """The schema and the demo data (sales and employees replaced)."""
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.begin() as conn:
        for table in (sales_daily, sales, employees):
            conn.execute(delete(table))
        insert_sales(conn, demo_sales())
        refresh_sales_rollup(conn)
        insert_employees(conn, demo_employees())
        employee_cells.rebuild(conn)
        bump_version(conn, "sales")
        bump_version(conn, "employees")
    engine.dispose()


class DemoDatabases:
    """The demo database of each backend, built once per run; copies of it on demand."""

    def __init__(self, root: Path, postgres_admin_url: Callable[[], str]) -> None:
        self._root = root
        self._postgres_admin_url = postgres_admin_url
        self._templates: dict[str, str] = {}
        self._drops: list[Callable[[], None]] = []

    def _template(self, backend: str) -> str:
        if backend not in self._templates:
            if backend == "sqlite":
                url = f"sqlite:///{self._root / 'demo-template.db'}"
            else:
                url, drop = services.create_database(self._postgres_admin_url())
                self._drops.append(drop)
            load_demo(url)
            add_users(url)
            self._templates[backend] = url
        return self._templates[backend]

    def copy(self, backend: str, folder: Path) -> tuple[str, Callable[[], None]]:
        """A database of its own holding the demo data and users; returns its URL and a drop."""
        template = self._template(backend)
        if backend == "sqlite":
            target = folder / f"demo-{uuid.uuid4().hex[:8]}.db"
            shutil.copyfile(template.removeprefix("sqlite:///"), target)
            return f"sqlite:///{target}", lambda: None
        return services.create_database(self._postgres_admin_url(), template=template.rsplit("/", 1)[1])

    def close(self) -> None:
        for drop in self._drops:
            drop()


@pytest.fixture(scope="session")
def demo_databases(tmp_path_factory, request):
    databases = DemoDatabases(
        tmp_path_factory.mktemp("demo"), lambda: request.getfixturevalue("postgres_admin_url")
    )
    yield databases
    databases.close()


@pytest.fixture
def demo_url(backend, demo_databases, tmp_path):
    """A database of the test's own with the demo data and one user per role."""
    url, drop = demo_databases.copy(backend, tmp_path)
    yield url
    drop()


@pytest.fixture
def settings(tmp_path, demo_url) -> Settings:
    return make_settings(tmp_path, demo_url)


@pytest.fixture
def demo_app(settings):
    """An app of the test's own on a copy of the demo database: for tests that change things."""
    from dashhub.app import create_app

    app = create_app(settings)
    yield app
    app.server.extensions["dashhub"].engine.dispose()


class SharedApps:
    """One app per backend on a demo database of its own, for tests that only read."""

    def __init__(self, root: Path, databases: DemoDatabases) -> None:
        self._root = root
        self._databases = databases
        self._apps: dict[str, object] = {}
        self._drops: list[Callable[[], None]] = []

    def get(self, backend: str):
        if backend not in self._apps:
            from dashhub.app import create_app

            folder = self._root / backend
            folder.mkdir()
            url, drop = self._databases.copy(backend, folder)
            self._drops.append(drop)
            self._apps[backend] = create_app(make_settings(folder, url))
        return self._apps[backend]

    def close(self) -> None:
        for app in self._apps.values():
            app.server.extensions["dashhub"].engine.dispose()
        for drop in self._drops:
            drop()


@pytest.fixture(scope="session")
def shared_apps(tmp_path_factory, demo_databases):
    apps = SharedApps(tmp_path_factory.mktemp("shared"), demo_databases)
    yield apps
    apps.close()


@pytest.fixture
def app(backend, shared_apps):
    """The shared app of the backend: demo data and users; tests must not change anything."""
    return shared_apps.get(backend)


def login(client, username: str, password: str | None = None):
    """Log client in through the real login form (CSRF token included); returns the response."""
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post(
        "/login",
        data={"username": username, "password": password or PASSWORDS[username], "csrf_token": token},
    )


def switch_locale(client, code: str, referer: str | None = None):
    """Press the language switch (a POST with the CSRF token of the login page's form)."""
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    headers = {"Referer": referer} if referer else {}
    return client.post("/locale", data={"code": code, "csrf_token": token}, headers=headers)


def logged_in(app, username: str = "viewer"):
    """A test client of app with a session for username, logged in through the form."""
    client = app.server.test_client()
    response = login(client, username)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


_SESSIONS: dict[tuple[int, str], str] = {}


def session_of(app, username: str):
    """A test client of the shared app, logged in once per run and user (its cookie reused): the
    shared app sees few logins, so that no test meets the login rate limit."""
    key = (id(app), username)
    cookie_name = app.server.config["SESSION_COOKIE_NAME"]
    if key not in _SESSIONS:
        _SESSIONS[key] = logged_in(app, username).get_cookie(cookie_name).value
    client = app.server.test_client()
    client.set_cookie(cookie_name, _SESSIONS[key])
    return client


@pytest.fixture
def anonymous(app):
    """A client of the shared app without a session."""
    return app.server.test_client()


@pytest.fixture
def client(app):
    """A viewer (who may open Ventes) on the shared app."""
    return session_of(app, "viewer")


@pytest.fixture
def hr_client(app):
    """An HR user (who may open RH) on the shared app."""
    return session_of(app, "hr")


def raw_table(database_url: str, table: str):
    """Every row of table, read with plain SQL through pandas (independent of the app)."""
    import pandas as pd

    engine = create_engine(database_url)
    with engine.connect() as conn:
        frame = pd.read_sql(text(f"SELECT * FROM {table}"), conn)
    engine.dispose()
    return frame
