"""« Vos données » test helpers: a dataset store on the test's database, the viewer of a test user."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dashhub.db import make_engine, users
from dashhub.services.user_datasets import DatasetStore, Viewer
from tests.conftest import add_users


@pytest.fixture
def store(database_url, tmp_path):
    """A DatasetStore on the test's own database (one user per role) and data folder."""
    add_users(database_url)
    engine = make_engine(database_url)
    yield DatasetStore(engine, tmp_path / "data")
    engine.dispose()


def viewer(store: DatasetStore, name: str = "analyst") -> Viewer:
    """The test user name, as the server knows them."""
    with store.engine.connect() as conn:
        row = conn.execute(select(users.c.id, users.c.role).where(users.c.username == name)).one()
    return Viewer(int(row.id), row.role)
