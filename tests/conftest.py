"""Shared fixtures: real databases (SQLite and PostgreSQL), real caches, demo data, apps."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from dashhub.config import Settings, load_settings
from dashhub.db import bump_version, create_schema, employees, make_engine, sales, sales_daily
from dashhub.demo import demo_employees, demo_sales
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


def make_settings(tmp_path, database_url: str, **overrides) -> Settings:
    environ = {
        "DASHHUB_PATHS__DATA_DIR": str(tmp_path / "data"),
        "DASHHUB_DATABASE__URL": database_url,
        "DASHHUB_ENVIRONMENT": "development",
    }
    environ.update({k: str(v) for k, v in overrides.items()})
    return load_settings(path=None, environ=environ)


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
    app = create_app(settings)
    yield app
    app.server.extensions["dashhub"].engine.dispose()


@pytest.fixture
def client(demo_app):
    return demo_app.server.test_client()
