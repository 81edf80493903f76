"""Schema migrations: a database of the previous release keeps every row; workers never migrate."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect, select

from dashhub.app import create_app
from dashhub.cli import main
from dashhub.db import make_engine, metadata
from dashhub.demo import demo_employees, demo_sales
from dashhub.domain.hr import COLUMNS
from dashhub.i18n import fmt_money
from dashhub.migrations import SchemaError, current_revision, head_revision, upgrade
from dashhub.services.employee_cells import Cells, read_cells
from dashhub.services.loading import insert_employees, insert_sales, refresh_sales_rollup
from tests.conftest import PASSWORDS, TEST_SECRET, logged_in, make_settings
from tests.support import release_0_1
from tests.support.dash_requests import post_sales, sales_outputs
from tests.support.hr_requests import post_hr


def make_release_0_1_database(url: str, with_user_settings: bool = True) -> None:
    """A database as release 0.1 left it: its tables (no alembic_version), rows in every one."""
    from werkzeug.security import generate_password_hash

    engine = make_engine(url)
    tables = [
        t for t in release_0_1.metadata.sorted_tables if with_user_settings or t.name != "user_settings"
    ]
    release_0_1.metadata.create_all(engine, tables=tables)
    t = release_0_1.metadata.tables
    now = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)
    with engine.begin() as conn:
        insert_sales(conn, demo_sales(end=dt.date(2024, 3, 31)))
        refresh_sales_rollup(conn)
        insert_employees(conn, demo_employees(300))
        conn.execute(
            t["users"].insert(),
            [
                {"username": "admin", "password_hash": generate_password_hash(PASSWORDS["admin"]),
                 "role": "admin", "active": True, "failed_logins": 0, "created_at": now},
                {"username": "viewer", "password_hash": generate_password_hash(PASSWORDS["viewer"]),
                 "role": "viewer", "active": True, "failed_logins": 1, "created_at": now},
            ],
        )  # fmt: skip
        if with_user_settings:
            conn.execute(t["user_settings"].insert(), [{"user_id": 2, "locale": "en"}])
        conn.execute(
            t["audit_events"].insert(),
            [{"at": now, "event": "login", "username": "admin", "address": "10.0.0.1", "detail": "{}"}],
        )
        conn.execute(
            t["data_versions"].insert(),
            [
                {"name": "sales", "version": 7},
                {"name": "employees", "version": 3},
                {"name": "users", "version": 2},
            ],
        )
    engine.dispose()


def every_row(url: str) -> dict[str, list[tuple]]:
    """Each table's rows (sorted), read back through plain SQL."""
    engine = make_engine(url)
    tables = {}
    with engine.connect() as conn:
        for table in release_0_1.metadata.sorted_tables:
            if inspect(conn).has_table(table.name):
                tables[table.name] = sorted(tuple(row) for row in conn.execute(select(table)))
    engine.dispose()
    return tables


# What the migrations after 0.1 add to existing tables (and nothing else).
ADDED_ROWS = {"data_versions": [("models", 1), ("sessions", 1), ("tokens", 1)]}  # 0002, 0005, 0003


def kept_with_additions(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> bool:
    """Every row of every table is still there, and the only new ones are the migrations' own."""
    for table, rows in before.items():
        expected = sorted(rows + ADDED_ROWS.get(table, []))
        assert after[table] == expected, table
    return True


def _init(settings, *args):
    env = {"DASHHUB_DATABASE__URL": settings.database_url, "DASHHUB_PATHS__DATA_DIR": str(settings.data_dir)}
    return CliRunner().invoke(main, ["init", *args], env=env)


def test_a_release_0_1_database_is_adopted_with_every_row_and_served(tmp_path, database_url):
    make_release_0_1_database(database_url)
    before = every_row(database_url)
    assert sum(len(rows) for rows in before.values()) > 3000 and all(before.values())
    settings = make_settings(tmp_path, database_url)
    with pytest.raises(SchemaError, match="run `dashhub init`"):
        create_app(settings)  # a worker never changes the schema itself

    result = _init(settings)
    assert result.exit_code == 0, result.output
    assert f"at revision {head_revision()}" in result.output
    assert kept_with_additions(before, every_row(database_url))
    assert current_revision(make_engine(database_url)) == head_revision()

    client = logged_in(create_app(settings), "viewer")  # the 0.1 password still works
    out = sales_outputs(post_sales(client, ["Nord"], ["Produit A"], "2024-01-01", "2024-03-31"))
    nord_a = [r for r in before["sales"] if r[2] == "Nord" and r[3] == "Produit A"]
    assert out["sales-kpi-total"] == fmt_money(sum(r[4] for r in nord_a), "en")  # viewer chose English

    # 0012 counted the employees already there into the RH cells
    engine = make_engine(database_url)
    with engine.connect() as conn:
        cells = read_cells(conn)
    engine.dispose()
    raw = pd.DataFrame(before["employees"], columns=list(COLUMNS))
    recount = Cells.from_rows(raw)
    keys = ["department", "age", "experience_year", "n"]
    assert len(raw) == 300
    assert cells.frame[keys].astype(str).values.tolist() == recount.frame[keys].astype(str).values.tolist()
    assert np.allclose(cells.frame["salary_sum"], recount.frame["salary_sum"], rtol=1e-12)
    assert (cells.salary == recount.salary).all() and (cells.density == recount.density).all()
    admin = logged_in(create_app(settings), "admin")
    experience, age = [0, int(np.floor(raw["experience_years"].max()))], [raw["age"].min(), raw["age"].max()]
    out = sales_outputs(post_hr(admin, sorted(raw["department"].unique()), experience, [int(a) for a in age]))
    assert out["hr-kpi-count"] == "300"


def test_an_early_0_1_database_without_user_settings_gets_the_table(tmp_path, database_url):
    make_release_0_1_database(database_url, with_user_settings=False)
    before = every_row(database_url)
    settings = make_settings(tmp_path, database_url)
    assert _init(settings).exit_code == 0
    after = every_row(database_url)
    assert after.pop("user_settings") == []
    assert kept_with_additions(before, after)


def test_the_models_are_exactly_the_migrated_schema(database_url):
    """Every change to db.py comes with its migration: autogenerate finds nothing to do."""
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []


def test_init_twice_changes_nothing_and_keeps_the_data(tmp_path, demo_url):
    settings = make_settings(tmp_path, demo_url)
    before = every_row(demo_url)
    second = _init(settings)
    assert second.exit_code == 0
    assert f"at revision {head_revision()}" in second.output
    assert every_row(demo_url) == before


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_commands_and_gunicorn_on_an_old_schema_say_what_to_do(tmp_path, database_url):
    make_release_0_1_database(database_url)
    settings = make_settings(tmp_path, database_url)
    env = {"DASHHUB_DATABASE__URL": database_url, "DASHHUB_PATHS__DATA_DIR": str(settings.data_dir)}
    listing = CliRunner().invoke(main, ["users", "list"], env=env)
    assert listing.exit_code == 2
    assert "run `dashhub init`" in listing.output
    worker = subprocess.run(
        [sys.executable, "-c", "import dashhub.wsgi"],
        env={**os.environ, **env, "DASHHUB_SECRET_KEY": TEST_SECRET},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert worker.returncode == 3
    assert "this release needs" in worker.stderr and "Traceback" not in worker.stderr


def test_saved_charts_arrive_on_a_0009_database_with_its_datasets_kept(tmp_path, database_url):
    """0010 and 0011 from 0009 with a user's dataset in it: the dataset stays (not modelled), charts
    of it can be saved."""
    from dashhub.db import datasets, saved_charts, users
    from dashhub.services.saved_charts import SavedChartStore
    from dashhub.services.user_datasets import DatasetStore
    from tests.support.datasets import viewer

    engine = make_engine(database_url)
    upgrade(engine, "0009")
    with engine.begin() as conn:
        owner = conn.execute(
            users.insert()
            .values(username="ana", password_hash="x", role="analyst", created_at=dt.datetime.now(dt.UTC))
            .returning(users.c.id)
        ).scalar_one()
        conn.execute(
            datasets.insert().values(
                owner_id=owner,
                name="ventes",
                filename="ventes.csv",
                stored="datasets/1/a.parquet",
                rows=3,
                bytes=10,
                columns='[{"name": "ville", "type": "category"}]',
                created_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
                shared_role=None,
            )
        )
    assert "saved_charts" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    store = DatasetStore(engine, tmp_path)
    ana = viewer(store, "ana")
    kept = store.list(ana)
    assert [(d.name, d.rows) for d in kept] == [("ventes", 3)]
    assert kept[0].model_spec is None  # (0011: not modelled until its owner chooses)
    SavedChartStore(engine, store).save(ana, kept[0], "par ville", "?chart=bar&x=ville")
    with engine.connect() as conn:
        assert conn.execute(select(saved_charts.c.name)).scalars().all() == ["par ville"]
    engine.dispose()
