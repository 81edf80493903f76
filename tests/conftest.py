"""Shared fixtures: real databases (SQLite and PostgreSQL), real caches, demo data, apps."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete

from dashhub.auth.users import UserStore
from dashhub.config import Settings, load_settings
from dashhub.db import bump_version, create_schema, employees, make_engine, sales, sales_daily
from dashhub.demo import demo_employees, demo_sales, insert_transactions
from dashhub.services.loading import insert_employees, insert_sales, refresh_sales_rollup
from tests.support import services


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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Each test gets a database of its own, on both backends."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    url, drop = services.create_database(request.getfixturevalue("postgres_admin_url"))
    yield url
    drop()


TEST_SECRET = "test-secret-key-that-is-long-enough-for-production-0123456789"
PASSWORDS = {
    "viewer": "Looks-At-Charts-2026!",
    "analyst": "Tunes-Models-2026!",
    "hr": "Knows-Salaries-2026!",
    "admin": "Holds-The-Keys-2026!",
}


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


def add_users(settings: Settings) -> None:
    """One user per role, named after the role (passwords in PASSWORDS)."""
    engine = make_engine(settings.database_url)
    create_schema(engine)
    store = UserStore(engine, settings.auth)
    for role, password in PASSWORDS.items():
        if not store.exists(role):
            store.add(role, role, password)
    engine.dispose()


def login(client, username: str, password: str | None = None):
    """Log client in through the real login form (CSRF token included); returns the response."""
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post(
        "/login",
        data={"username": username, "password": password or PASSWORDS[username], "csrf_token": token},
    )


def logged_in(app, username: str = "viewer"):
    """A test client of app with a session for username (users are created if missing)."""
    add_users(app.server.extensions["dashhub"].settings)
    client = app.server.test_client()
    assert login(client, username).status_code == 302
    return client


def load_demo(database_url: str) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    with engine.begin() as conn:
        for table in (sales_daily, sales, employees):
            conn.execute(delete(table))
        insert_sales(conn, demo_sales())
        refresh_sales_rollup(conn)
        insert_employees(conn, demo_employees())
        bump_version(conn, "sales")
        bump_version(conn, "employees")
    engine.dispose()


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def demo_app(settings):
    """The app on a database holding the demo data."""
    from dashhub.app import create_app

    load_demo(settings.database_url)
    add_users(settings)
    app = create_app(settings)
    yield app
    app.server.extensions["dashhub"].engine.dispose()


@pytest.fixture
def anonymous(demo_app):
    """A client without a session."""
    return demo_app.server.test_client()


@pytest.fixture
def client(demo_app):
    """A client logged in as a viewer (who may open Ventes)."""
    client = demo_app.server.test_client()
    assert login(client, "viewer").status_code == 302
    return client
