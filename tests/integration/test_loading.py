"""dashhub init / load: every row validated, good rows in one transaction, bad rows reported."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import Index, create_engine, func, inspect, select

from dashhub.cli import main
from dashhub.db import data_versions, employee_cells, employees, sales, sales_daily
from dashhub.i18n import fmt_money
from dashhub.services import csv_reader
from tests.conftest import logged_in, make_settings
from tests.support.dash_requests import post_sales, sales_outputs

GOOD_AND_BAD = """date,region,product,amount
2026-01-05,Nord,Produit A,100.50
2026-01-05,Sud,Produit A,abc
05/01/2026,Est,Produit B,10
2026-01-06,,Produit B,10
2026-01-06,Ouest,Produit B,1e400
2026-01-07,Ouest,Produit B,20,extra

2026-01-07,Ouest,=HYPERLINK("x"),30
"""


@pytest.fixture
def empty_settings(tmp_path, database_url):
    """Settings on an empty database (no schema yet)."""
    return make_settings(tmp_path, database_url)


def _invoke(settings, *args, **environ):
    env = {
        "DASHHUB_DATABASE__URL": settings.database_url,
        "DASHHUB_PATHS__DATA_DIR": str(settings.data_dir),
        "DASHHUB_LOAD_EXAMPLES": None,
        **environ,
    }
    return CliRunner().invoke(main, list(args), env=env)


def _count(url, table):
    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.scalar(select(func.count()).select_from(table))
    engine.dispose()
    return value


def _version(url, name):
    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.scalar(select(data_versions.c.version).where(data_versions.c.name == name))
    engine.dispose()
    return value


def test_init_demo_creates_the_schema_and_the_seed_like_data(empty_settings):
    settings = empty_settings
    result = _invoke(settings, "init", "--demo")
    assert result.exit_code == 0, result.output
    assert _count(settings.database_url, sales) == 731 * 16
    assert _count(settings.database_url, employees) == 2000
    assert _count(settings.database_url, sales_daily) == 731 * 16
    again = _invoke(settings, "init", "--demo")  # idempotent: replaces, does not duplicate
    assert again.exit_code == 0
    assert _count(settings.database_url, sales) == 731 * 16


def test_the_examples_switch_loads_the_demo_data_into_a_new_database_only(empty_settings):
    """docker compose's first start: empty tables by default; DASHHUB_LOAD_EXAMPLES=true loads the
    demo data once, and never again (the next starts run init with the same switch)."""
    settings, url = empty_settings, empty_settings.database_url
    assert _invoke(settings, "init").exit_code == 0
    assert _invoke(settings, "init", DASHHUB_LOAD_EXAMPLES="false").exit_code == 0
    assert (_count(url, sales), _count(url, employees)) == (0, 0)

    first = _invoke(settings, "init", DASHHUB_LOAD_EXAMPLES="true")
    assert first.exit_code == 0, first.output
    assert "Demo data loaded: 11,696 sales rows, 2,000 employees" in first.output
    assert (_count(url, sales), _count(url, employees)) == (731 * 16, 2000)
    versions = (_version(url, "sales"), _version(url, "employees"))

    again = _invoke(settings, "init", DASHHUB_LOAD_EXAMPLES="true")
    assert again.exit_code == 0, again.output
    assert "Examples not loaded: this database has held sales or employees before" in again.output
    assert (_version(url, "sales"), _version(url, "employees")) == versions  # not replaced

    wrong = _invoke(settings, "init", DASHHUB_LOAD_EXAMPLES="maybe")
    assert wrong.exit_code == 2 and "DASHHUB_LOAD_EXAMPLES" in wrong.output


def test_the_examples_switch_never_loads_over_data(empty_settings, tmp_path):
    settings = empty_settings
    _invoke(settings, "init")
    path = tmp_path / "sales.csv"
    path.write_text("date,region,product,amount\n2026-01-05,Nord,Produit A,100.50\n")
    assert _invoke(settings, "load", "sales", str(path)).exit_code == 0
    result = _invoke(settings, "init", DASHHUB_LOAD_EXAMPLES="1")
    assert "Examples not loaded" in result.output
    assert (_count(settings.database_url, sales), _count(settings.database_url, employees)) == (1, 0)


def test_load_reports_each_bad_row_with_its_line_and_loads_the_good_ones(empty_settings, tmp_path):
    settings = empty_settings
    _invoke(settings, "init")
    path = tmp_path / "sales.csv"
    path.write_text(GOOD_AND_BAD)
    result = _invoke(settings, "load", "sales", str(path), "--max-rejected", "100%")
    assert result.exit_code == 3, result.output  # (loaded, but rows were rejected)
    assert "line 3: amount is not a number" in result.output
    assert "line 4: date is not a date in YYYY-MM-DD form" in result.output
    assert "line 5: region is empty" in result.output
    assert "line 6: amount is not a number" in result.output  # (1e400: not a finite number)
    assert "line 7: expected 4 fields, found 5" in result.output
    assert "Loaded 2 rows into sales (" in result.output and "; rejected 5." in result.output
    assert _count(settings.database_url, sales) == 2
    assert _count(settings.database_url, sales_daily) == 2


def test_a_file_without_a_good_row_changes_nothing(settings, tmp_path):
    before = (_count(settings.database_url, sales), _version(settings.database_url, "sales"))
    path = tmp_path / "bad.csv"
    path.write_text("date,region,product,amount\nyesterday,Nord,A,1\n2025-01-01,Nord,A,many\n")
    result = _invoke(settings, "load", "sales", str(path))
    assert result.exit_code == 1
    assert "no valid row. Nothing was loaded;" in result.output
    assert (_count(settings.database_url, sales), _version(settings.database_url, "sales")) == before


def test_wrong_columns_and_binary_files_are_refused_with_a_reason(settings, tmp_path):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("day,region,product,price\n2025-01-01,Nord,A,1\n")
    result = _invoke(settings, "load", "sales", str(wrong))
    assert result.exit_code == 1
    assert "missing column(s): date, amount" in result.output
    assert "unknown column(s): day, price" in result.output
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    result = _invoke(settings, "load", "sales", str(binary))
    assert result.exit_code == 1
    assert "Nothing was loaded" in result.output
    assert "Traceback" not in result.output


def test_employees_load_checks_ranges_and_duplicate_ids(empty_settings, tmp_path):
    settings = empty_settings
    _invoke(settings, "init")
    path = tmp_path / "employees.csv"
    path.write_text(
        "employee_id,department,age,experience_years,salary,performance,satisfaction\n"
        "1,IT,30,5,60000,80,7\n"
        "1,IT,31,5,60000,80,7\n"
        "2,HR,200,5,60000,80,7\n"
        "3,HR,40,5,60000,101,7\n"
        "4,HR,40.5,5,60000,90,7\n"
        "5,Sales,45,20,70000,75,11\n"
    )
    result = _invoke(settings, "load", "employees", str(path), "--max-rejected", "5", "--allow-rejected")
    assert result.exit_code == 0, result.output
    assert "line 3: employee_id appears twice in the file" in result.output
    assert "line 4: age is above 100" in result.output
    assert "line 5: performance is above 100" in result.output
    assert "line 6: age is not a whole number" in result.output
    assert "line 7: satisfaction is above 10" in result.output
    assert _count(settings.database_url, employees) == 1
    again = _invoke(settings, "load", "employees", str(path), "--max-rejected", "100%", "--allow-duplicate")
    assert "line 2: employee_id is already loaded" in again.output


def test_ids_and_sums_stay_right_across_many_blocks(empty_settings, tmp_path, monkeypatch):
    """Small blocks: an id repeated blocks later, rejected rows and day sums spread over blocks."""
    monkeypatch.setattr(csv_reader, "BLOCK_BYTES", 4096)
    settings = empty_settings
    _invoke(settings, "init")
    rows = [f"{i},IT,30,5,{1000 + i},80,7" for i in range(1, 3001)]
    rows[2500] = "17,IT,30,5,1,80,7"  # (line 2502: id 17 is on line 18)
    rows[1200] = "x,IT,30,5,1,80,7"
    path = tmp_path / "employees.csv"
    path.write_text(
        "employee_id,department,age,experience_years,salary,performance,satisfaction\n" + "\n".join(rows)
    )
    result = _invoke(settings, "load", "employees", str(path), "--allow-rejected")
    assert result.exit_code == 0, result.output
    assert (
        "line 1202: employee_id is not a number\nline 2502: employee_id appears twice in the file"
        in result.output
    )
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(employees)) == 2998
        expected = sum(1000 + i for i in range(1, 3001)) - (1000 + 2501) - (1000 + 1201)
        assert conn.scalar(select(func.sum(employees.c.salary))) == expected
    lines = ["date,region,product,amount"] + [f"2026-01-{1 + i % 28:02d},Nord,A,{i}" for i in range(4000)]
    sales_path = tmp_path / "sales.csv"
    sales_path.write_text("\n".join(lines) + "\n")
    assert _invoke(settings, "load", "sales", str(sales_path)).exit_code == 0
    with engine.connect() as conn:
        by_day = dict(
            conn.execute(select(sales.c.date, func.sum(sales.c.amount)).group_by(sales.c.date)).all()
        )
        rollup = dict(conn.execute(select(sales_daily.c.day, sales_daily.c.amount)).all())
        assert rollup == pytest.approx(by_day)
        assert conn.scalar(select(func.sum(sales_daily.c.n_rows))) == 4000
    engine.dispose()


def test_loaded_rows_are_seen_at_once_through_the_cache(demo_app, settings, tmp_path):
    client = logged_in(demo_app)
    everything = (["Est", "Nord", "Ouest", "Sud"], ["Produit A", "Produit B", "Produit C", "Produit D"])
    before = sales_outputs(post_sales(client, *everything, "2025-12-01", "2025-12-31"))
    path = tmp_path / "more.csv"
    path.write_text("date,region,product,amount\n2025-12-24,Nord,Produit A,1000000\n")
    assert _invoke(settings, "load", "sales", str(path)).exit_code == 0
    after = sales_outputs(post_sales(client, *everything, "2025-12-01", "2025-12-31"))
    assert before["sales-kpi-total"] != after["sales-kpi-total"]
    weeks = [t for t in after["sales-trend"]["data"] if t["meta"] in ("weeks", "partial")]  # each week once
    trend_total = sum(sum(t["y"]) for t in weeks)
    assert after["sales-kpi-total"] == fmt_money(trend_total, "fr")


MOSTLY_BAD = "date,region,product,amount\n2025-01-01,Nord,A,1\n" + "".join(
    f"2025-01-0{i},Nord,A,{i},5\n" for i in range(2, 7)
)


def test_a_mostly_rejected_file_changes_nothing_even_with_replace(settings, tmp_path):
    """« --replace » with a file whose rows are mostly rejected used to wipe the table and exit 0."""
    before = (_count(settings.database_url, sales), _version(settings.database_url, "sales"))
    path = tmp_path / "mostly_bad.csv"
    path.write_text(MOSTLY_BAD)
    result = _invoke(settings, "load", "sales", str(path), "--replace", "--yes")
    assert result.exit_code == 1, result.output
    assert f"--replace deletes the {before[0]:,} rows of sales" in result.output
    assert "5 of 6 rows rejected, more than the 1% of the rows allowed" in result.output
    assert "is unchanged" in result.output
    assert (_count(settings.database_url, sales), _version(settings.database_url, "sales")) == before
    # a count instead of a share, and a limit the file is within: loaded, exit 3 (rows rejected)
    allowed = _invoke(settings, "load", "sales", str(path), "--max-rejected", "5")
    assert allowed.exit_code == 3 and _count(settings.database_url, sales) == before[0] + 1


def test_replace_says_what_it_deletes_and_asks_first(settings, tmp_path):
    before = _count(settings.database_url, sales)
    path = tmp_path / "one.csv"
    path.write_text("date,region,product,amount\n2025-01-01,Nord,A,1\n")
    unattended = _invoke(settings, "load", "sales", str(path), "--replace")  # (no terminal)
    assert unattended.exit_code == 2 and "Add --yes to confirm" in unattended.output
    assert _count(settings.database_url, sales) == before
    confirmed = _invoke(settings, "load", "sales", str(path), "--replace", "--yes")
    assert confirmed.exit_code == 0, confirmed.output
    assert _count(settings.database_url, sales) == 1


def test_nul_bytes_and_unbounded_amounts_are_rejected_rows_on_both_databases(settings, tmp_path):
    """1e308 twice on one day made Inf in the SQLite rollup and a PostgreSQL traceback; a NUL byte
    was cut on SQLite (« Prod ») and refused the whole file on PostgreSQL."""
    path = tmp_path / "hostile.csv"
    path.write_bytes(
        b"date,region,product,amount\n"
        b"2025-01-01,Nord,Prod\x00uit A,10\n"
        b"2025-01-01,Nord,Produit A,1e308\n"
        b"2025-01-01,Nord,Produit A,1e308\n"
        b"2025-01-01,Nord,Produit A,-2e12\n"
        b"2025-01-01,Nord,Produit A,12.5\n"
    )
    result = _invoke(settings, "load", "sales", str(path), "--max-rejected", "100%")
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    assert "line 2: contains a NUL byte" in result.output
    assert "line 3: amount is above 1,000,000,000,000" in result.output
    assert "line 5: amount is below -1,000,000,000,000" in result.output
    assert "Loaded 1 rows into sales" in result.output


@pytest.mark.parametrize("value", ["many", "-1", "2.5", "150%"])
def test_a_bad_max_rejected_is_a_usage_error(settings, tmp_path, value):
    path = tmp_path / "one.csv"
    path.write_text("date,region,product,amount\n2025-01-01,Nord,A,1\n")
    result = _invoke(settings, "load", "sales", str(path), "--max-rejected", value)
    assert result.exit_code == 2 and "--max-rejected" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql+psycopg://nobody@127.0.0.1:1/nothing", "cannot use the database postgresql+psycopg://"),
        ("postgresql+psycopg2://nobody@127.0.0.1/nothing", "names a driver this installation does not have"),
        # init cannot create it; the other commands do not (only init creates a database)
        (
            "sqlite:///{tmp}/missing-folder/dashhub.db",
            "check that its folder exists and is writable|there is no database at",
        ),
    ],
)
def test_a_database_that_cannot_be_used_is_one_line_not_a_traceback(tmp_path, url, said):
    env = {"DASHHUB_DATABASE__URL": url.format(tmp=tmp_path), "DASHHUB_PATHS__DATA_DIR": str(tmp_path)}
    for command in (["users", "list"], ["init"], ["load", "sales", __file__]):
        result = CliRunner().invoke(main, command, env=env)
        assert result.exit_code == 2, (command, result.output)
        assert any(words in result.output for words in said.split("|")), (command, result.output)
        assert "Traceback" not in result.output, (command, result.output)
        assert "database.url" in result.output
    assert not (tmp_path / "missing-folder").exists(), "no command creates the database's folder"


def test_a_second_load_waits_for_the_first_or_refuses_at_once(settings, tmp_path):
    """Two loads at once used to die (« database is locked », a rollup primary key violation)."""
    import threading
    import time

    from dashhub.db import make_engine
    from dashhub.services.load_lock import load_lock

    before = _count(settings.database_url, sales)
    path = tmp_path / "one.csv"
    path.write_text("date,region,product,amount\n2025-01-01,Nord,A,1\n")
    engine = make_engine(settings.database_url)
    waiting: dict = {}
    second = threading.Thread(
        target=lambda: waiting.update(result=_invoke(settings, "load", "sales", str(path)))
    )
    with load_lock(engine):  # (a first load, running)
        refused = _invoke(settings, "load", "sales", str(path), "--no-wait")
        assert refused.exit_code == 1, refused.output
        assert "another load is running (started at 20" in refused.output and "is unchanged" in refused.output
        second.start()
        time.sleep(1.5)
        assert second.is_alive(), "the second load waits while the first runs"
    second.join(60)
    engine.dispose()
    assert waiting["result"].exit_code == 0, waiting["result"].output
    assert "waiting for it to end" in waiting["result"].output
    assert _count(settings.database_url, sales) == before + 1


def test_the_same_file_twice_is_refused_and_a_load_can_be_undone(settings, tmp_path):
    """Loading a file twice used to double every total silently."""
    url = settings.database_url
    before = (_count(url, sales), _sums(url))
    path = tmp_path / "december.csv"
    path.write_text(
        "date,region,product,amount\n2025-12-24,Nord,Produit A,1000\n2025-12-26,Sud,Produit B,250.5\n"
    )
    first = _invoke(settings, "load", "sales", str(path))
    assert first.exit_code == 0, first.output
    load_id = int(first.output.split("This was load ")[1].split(" ")[0])
    again = _invoke(settings, "load", "sales", str(path))
    assert (
        again.exit_code == 1 and f"this file was loaded already (load {load_id}, december.csv" in again.output
    )
    assert _count(url, sales) == before[0] + 2
    insisted = _invoke(settings, "load", "sales", str(path), "--allow-duplicate")
    assert insisted.exit_code == 0 and _count(url, sales) == before[0] + 4
    listed = _invoke(settings, "loads", "list", "--dataset", "sales")
    assert listed.exit_code == 0 and listed.output.count("december.csv") == 2 and "active" in listed.output
    second_id = int(insisted.output.split("This was load ")[1].split(" ")[0])
    for undone in (second_id, load_id):
        result = _invoke(settings, "loads", "undo", str(undone))
        assert result.exit_code == 0 and "2 rows deleted from sales" in result.output, result.output
    assert (_count(url, sales), _sums(url)) == before  # rows, and the rollup the dashboards read
    twice = _invoke(settings, "loads", "undo", str(load_id))
    assert twice.exit_code == 1 and "was undone or replaced already" in twice.output
    assert _invoke(settings, "load", "sales", str(path)).exit_code == 0  # (undone: may be loaded again)


def _sums(url):
    engine = create_engine(url)
    with engine.connect() as conn:
        raw = conn.scalar(select(func.sum(sales.c.amount)))
        rollup = conn.scalar(select(func.sum(sales_daily.c.amount)))
        rows = conn.scalar(select(func.sum(sales_daily.c.n_rows)))
    engine.dispose()
    assert rollup == pytest.approx(raw) and rows == _count(url, sales), "the rollup matches the rows"
    return round(raw, 2)


def test_a_command_run_from_another_folder_creates_no_database(tmp_path, monkeypatch):
    """Run beside another ./data folder, `load` used to create a new, empty database there."""
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "one.csv"
    path.write_text("date,region,product,amount\n2025-01-01,Nord,A,1\n")
    result = CliRunner().invoke(main, ["load", "sales", str(path)], env={"DASHHUB_DATABASE__URL": ""})
    assert (
        result.exit_code == 2
        and "there is no database at" in result.output
        and "dashhub init" in result.output
    )
    assert list((tmp_path / "data").iterdir()) == []


def test_a_load_that_doubles_the_table_rebuilds_the_rh_indexes_and_keeps_them(
    empty_settings, tmp_path, monkeypatch
):
    """Past REBUILD_INDEXES_FROM rows and the table's size, the RH indexes are dropped around the
    insert and built again (in the load's transaction); a smaller load keeps them as they are."""
    from dashhub.services import loading

    monkeypatch.setattr(loading, "REBUILD_INDEXES_FROM", 1000)
    dropped = []
    real_drop = Index.drop
    monkeypatch.setattr(
        Index, "drop", lambda self, bind, **kw: (dropped.append(self.name), real_drop(self, bind, **kw))
    )
    settings = empty_settings
    _invoke(settings, "init")
    header = "employee_id,department,age,experience_years,salary,performance,satisfaction\n"
    for name, ids in (("first.csv", range(1, 3001)), ("more.csv", range(3001, 3501))):
        path = tmp_path / name
        path.write_text(
            header + "\n".join(f"{i},IT,{20 + i % 40},{i % 30}.5,{30000 + i},{i % 100},7" for i in ids)
        )
        assert _invoke(settings, "load", "employees", str(path)).exit_code == 0
        engine = create_engine(settings.database_url)
        indexes = {index["name"] for index in inspect(engine).get_indexes("employees")}
        with engine.connect() as conn:
            stored = conn.scalar(select(func.sum(employee_cells.c.n)))
            assert stored == conn.scalar(select(func.count()).select_from(employees))
        engine.dispose()
        assert {"ix_employees_cohort", "ix_employees_scatter"} <= indexes
    assert sorted(dropped) == ["ix_employees_cohort", "ix_employees_scatter"]  # (the first load only)
