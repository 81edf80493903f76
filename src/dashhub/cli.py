"""Command line: dashhub init | serve | load | check-config | tokens | monitoring | simulate-traffic | …"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
import traceback
from pathlib import Path

import click
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, NoSuchModuleError, OperationalError

from dashhub.auth.audit import AuditLog
from dashhub.auth.users import UserError, UserStore, generate_password
from dashhub.config import ROLES, ConfigError, Settings, load_settings
from dashhub.db import bump_version, data_versions, employees, make_engine, sales
from dashhub.demo import demo_employees, demo_sales
from dashhub.migrations import SchemaError, check_schema, current_revision, upgrade
from dashhub.services import employee_cells
from dashhub.services.load_lock import LoadBusy, load_lock
from dashhub.services.loading import (
    DATASETS,
    CsvFormat,
    RejectLimit,
    UndoRefused,
    clear_dataset,
    count_rows,
    encoding_name,
    insert_employees,
    insert_sales,
    list_loads,
    load_csv,
    refresh_sales_rollup,
    undo_load,
)


def _engine(settings: Settings):
    """An engine on a database whose schema is this release's (else: say to run init, exit 2).
    A SQLite file that does not exist is not created here (only `init` creates a database): a
    command run from another folder would otherwise write to a new, empty database."""
    url = settings.database_url
    if url.startswith("sqlite"):
        path = Path(make_url(url).database or "")
        if not path.exists():
            click.echo(
                f"Error: there is no database at {path} (database.url, or paths.data_dir "
                f"relative to {Path.cwd()}): run `dashhub init` to create it, or point "
                "DASHHUB_PATHS__DATA_DIR or DASHHUB_DATABASE__URL at the existing one.",
                err=True,
            )
            sys.exit(2)
    engine = make_engine(url)
    try:
        check_schema(engine)
    except SchemaError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    return engine


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


DATABASE_PROBLEMS = (OperationalError, InterfaceError, ArgumentError, NoSuchModuleError, ModuleNotFoundError)


class _Commands(click.Group):
    """A database that cannot be reached or used is one line that names the setting and what to
    try, not a traceback (--debug shows it)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (
            OperationalError,
            InterfaceError,
            ArgumentError,
            NoSuchModuleError,
            ModuleNotFoundError,
        ) as exc:
            driver_missing = isinstance(exc, ModuleNotFoundError) and any(
                "sqlalchemy/dialects" in frame.filename for frame in traceback.extract_tb(exc.__traceback__)
            )
            if ctx.params.get("debug") or (isinstance(exc, ModuleNotFoundError) and not driver_missing):
                raise
            click.echo(f"Error: {_database_problem(ctx.params.get('config'), exc)}", err=True)
            sys.exit(2)


def _database_problem(config: Path | None, exc: Exception) -> str:
    try:
        url = load_settings(config).database_url
    except ConfigError:
        url = "?"
    shown = _redacted(url)
    if isinstance(exc, NoSuchModuleError | ModuleNotFoundError):
        return (
            f"database.url ({shown}) names a driver this installation does not have; "
            "use sqlite:///PATH or postgresql+psycopg://USER@HOST/NAME."
        )
    if isinstance(exc, ArgumentError):
        return f"database.url ({shown}) is not a database URL; use sqlite:///PATH or postgresql+psycopg://…"
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    hint = (
        "check that its folder exists and is writable"
        if url.startswith("sqlite")
        else "check that the server runs and accepts this user"
    )
    return (
        f"cannot use the database {shown}: {reason}. Check database.url (DASHHUB_DATABASE__URL); "
        f"{hint}. (--debug shows the traceback.)"
    )


@click.group(cls=_Commands)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Configuration file (default: $DASHHUB_CONFIG, else ./config.yaml).",
)
@click.pass_context
def main(ctx: click.Context, config: Path | None, debug: bool) -> None:
    """dashhub: interactive data and ML dashboards."""
    ctx.obj = config


@main.command("check-config")
@click.pass_obj
def check_config(config: Path | None) -> None:
    """Check what `serve` needs: the configuration, its production rules, the database and the
    cache answering. Exit 0 ready, 1 a problem (each said), 2 an invalid configuration."""
    settings = _settings(config)
    click.echo(f"  environment: {settings.environment}")
    click.echo(f"  database:    {_redacted(settings.database_url)}")
    click.echo(f"  cache:       {settings.cache.type}")
    from dashhub import readiness  # (imports the web app's pieces: only this command needs them)

    found = readiness.problems(settings)
    if found:
        for problem in found:
            click.echo(f"Error: {problem}", err=True)
        sys.exit(1)
    click.echo("Configuration is valid; the database and the cache answer.")


def _redacted(url: str) -> str:
    head, sep, tail = url.rpartition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, credentials = head.partition("://")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{tail}"


@main.command()
@click.option("--demo", is_flag=True, help="Replace sales and employees with the demo data.")
@click.option(
    "--examples/--no-examples",
    envvar="DASHHUB_LOAD_EXAMPLES",
    show_envvar=True,
    default=False,
    help="Load the demo data into a database that has never held sales or employees (a first start); "
    "never over data.",
)
@click.pass_obj
def init(config: Path | None, demo: bool, examples: bool) -> None:
    """Create or upgrade the database schema (and load the demo data); keeps existing data."""
    settings = _settings(config)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    engine = make_engine(settings.database_url)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    change = f"upgraded from {before} to {after}" if before and before != after else f"at revision {after}"
    click.echo(f"Schema ready in {_redacted(settings.database_url)} ({change}).")
    _ensure_admin(settings, engine)
    if examples and not demo:
        demo = _never_held_data(engine)
        if not demo:
            click.echo(
                "Examples not loaded: this database has held sales or employees before "
                "(DASHHUB_LOAD_EXAMPLES loads them into a new database only)."
            )
    if demo:
        sales_rows, employee_rows = demo_sales(), demo_employees()
        with load_lock(engine, on_wait=_say_waiting), engine.begin() as conn:
            clear_dataset(conn, "sales")
            clear_dataset(conn, "employees")
            insert_sales(conn, sales_rows)
            refresh_sales_rollup(conn)
            insert_employees(conn, employee_rows)
            employee_cells.rebuild(conn)
            bump_version(conn, "sales")
            bump_version(conn, "employees")
        click.echo(
            f"Demo data loaded: {len(sales_rows):,} sales rows, {len(employee_rows):,} employees "
            f"({time.perf_counter() - started:.1f} s)."
        )
        _demo_monitoring(settings, engine)
    engine.dispose()


def _never_held_data(engine) -> bool:
    """Sales and employees are empty and were never loaded nor cleared (their first version)."""
    with engine.connect() as conn:
        versions = dict(conn.execute(select(data_versions.c.name, data_versions.c.version)).all())
        rows = sum(conn.scalar(select(func.count()).select_from(table)) for table in (sales, employees))
    return rows == 0 and versions.get("sales") == 1 and versions.get("employees") == 1


def _demo_monitoring(settings: Settings, engine) -> None:
    """Deploy the demo model (once) and give it 30 days of traffic (once), then its alerts."""
    from dashhub.services.models import ModelRegistry
    from dashhub.services.monitoring_jobs import refresh_and_evaluate
    from dashhub.services.traffic import DEMO_MODEL, DEMO_QUERY, demo_history, deploy

    started = time.perf_counter()
    registry = ModelRegistry(engine)
    if registry.versions(DEMO_MODEL):
        click.echo(f"Demo model {DEMO_MODEL!r} already deployed: its traffic is left as it is.")
        return
    model = deploy(registry, DEMO_MODEL, DEMO_QUERY, "init")
    report = demo_history(engine, model, registry.load(model))
    refresh_and_evaluate(engine, settings, lookback_days=31)
    click.echo(
        f"Demo model {DEMO_MODEL!r} v{model.version} deployed with 30 days of traffic: "
        f"{report.predictions:,} predictions, {report.refused:,} refused calls, "
        f"{report.feedback:,} feedback labels ({time.perf_counter() - started:.1f} s)."
    )


def _ensure_admin(settings: Settings, engine) -> None:
    """Create the admin user on first init: DASHHUB_ADMIN_PASSWORD, or a generated password."""
    store = UserStore(engine, settings.auth)
    if store.exists("admin"):
        return
    given = os.environ.get("DASHHUB_ADMIN_PASSWORD")
    password = given or generate_password()
    try:
        store.add("admin", "admin", password)
    except UserError as exc:
        click.echo(f"Error: DASHHUB_ADMIN_PASSWORD: {exc}", err=True)
        sys.exit(2)
    AuditLog(engine).record("user_add", username="init", target="admin", role="admin")
    if given:
        click.echo("Created user 'admin' with the password from DASHHUB_ADMIN_PASSWORD.")
    else:
        # The only time this password is shown: only its hash is stored.
        click.echo(
            f"Created user 'admin' with password: {password}  (shown once; change it with "
            "dashhub users passwd admin)"
        )


@main.command()
@click.argument("dataset", type=click.Choice(sorted(DATASETS)))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Delete the data set's rows before loading (asks first).")
@click.option(
    "--yes", is_flag=True, help="Do not ask before --replace deletes rows (needed without a terminal)."
)
@click.option(
    "--max-rejected",
    metavar="N|P%",
    help="Refuse the file when more rows than this are rejected (default: loading.max_rejected).",
)
@click.option("--allow-rejected", is_flag=True, help="Exit 0 even when some rows were rejected.")
@click.option("--allow-duplicate", is_flag=True, help="Load a file even if the same file is loaded already.")
@click.option("--no-wait", is_flag=True, help="Refuse at once when another load is running (default: wait).")
@click.option("--sep", default=",", show_default=True, help="Field separator: , ; | or \\t (tab).")
@click.option(
    "--decimal", type=click.Choice([".", ","]), default=".", show_default=True, help="Decimal mark."
)
@click.option(
    "--encoding",
    default="auto",
    show_default=True,
    help="Text encoding (auto: UTF-8 with or without BOM, UTF-16 with BOM, else cp1252).",
)
@click.option(
    "--date-format",
    default="%Y-%m-%d",
    show_default=True,
    help="How sales dates are written, in strftime codes (e.g. '%d/%m/%Y' for 31/01/2026).",
)
@click.pass_obj
def load(
    config: Path | None,
    dataset: str,
    file: Path,
    replace: bool,
    yes: bool,
    max_rejected: str | None,
    allow_rejected: bool,
    allow_duplicate: bool,
    no_wait: bool,
    sep: str,
    decimal: str,
    encoding: str,
    date_format: str,
) -> None:
    """Validate FILE and load its good rows into DATASET in one transaction.

    Exit status: 0 every row loaded; 1 nothing loaded (the file, or too many of its rows, were
    refused); 2 a usage or setup error; 3 loaded, but some rows were rejected (--allow-rejected: 0).
    """
    settings = _settings(config)
    try:
        limit = RejectLimit.parse(max_rejected or settings.loading.max_rejected)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--max-rejected") from None
    sep = "\t" if sep in ("\\t", "tab") else sep
    if len(sep) != 1 or sep == decimal or sep in '"\r\n':
        raise click.BadParameter(f"{sep!r}: one character, other than the decimal mark", param_hint="--sep")
    if sorted(re.findall(r"%.", date_format)) not in (["%Y", "%d", "%m"], ["%d", "%m", "%y"]):
        raise click.BadParameter(
            f"{date_format!r}: a day (%d), a month (%m) and a year (%Y)", param_hint="--date-format"
        )
    fmt = CsvFormat(sep=sep, decimal=decimal, encoding=encoding, date_format=date_format)
    engine = _engine(settings)
    where = _redacted(settings.database_url)
    if replace:
        _confirm_replace(engine, dataset, file, where, yes)
    try:
        with load_lock(engine, wait=not no_wait, on_wait=_say_waiting):
            report = load_csv(
                engine,
                dataset,
                file,
                replace=replace,
                max_rejected=limit,
                fmt=fmt,
                allow_duplicate=allow_duplicate,
            )
    except LoadBusy as busy:
        click.echo(f"Error: {busy}. Nothing was loaded; {where} is unchanged.", err=True)
        sys.exit(1)
    finally:
        engine.dispose()
    for row in report.rejected:
        click.echo(f"line {row.line}: {row.reason}", err=True)
    hidden = report.rejected_count - len(report.rejected)
    if hidden:
        click.echo(f"… and {hidden:,} more rejected rows", err=True)
    if report.error:
        click.echo(f"Error: {file}: {report.error}. Nothing was loaded; {where} is unchanged.", err=True)
        sys.exit(1)
    read_as = ""
    if report.encoding not in (None, "utf-8-sig"):
        read_as = f" Read as {encoding_name(report.encoding)}."
    counts = f"{report.loaded:,} rows into {dataset} ({where}); rejected {report.rejected_count:,}"
    click.echo(f"Loaded {counts}.{read_as}")
    click.echo(f"This was load {report.load_id} (`dashhub loads undo {report.load_id}` takes it back).")
    if report.rejected_count and not allow_rejected:
        sys.exit(3)


def _say_waiting(message: str) -> None:
    click.echo(f"{message}: waiting for it to end (--no-wait refuses instead)…", err=True)


def _confirm_replace(engine, dataset: str, file: Path, where: str, yes: bool) -> None:
    """Say what --replace deletes; ask (or, without a terminal, require --yes)."""
    with engine.connect() as conn:
        count = count_rows(conn, dataset)
    message = f"--replace deletes the {count:,} rows of {dataset} in {where} before loading {file.name}."
    _ask(message, yes or count == 0)


def _ask(message: str, yes: bool) -> None:
    """Say what is about to be deleted; ask (or, without a terminal, require --yes)."""
    if yes:
        click.echo(message)
        return
    if not sys.stdin.isatty():
        click.echo(f"Error: {message} Add --yes to confirm (there is no terminal to ask).", err=True)
        sys.exit(2)
    if not click.confirm(f"{message} Go on?", default=False):
        click.echo("Nothing was changed.", err=True)
        sys.exit(1)


@main.group()
def loads() -> None:
    """What `dashhub load` brought: list the loads, undo one."""


@loads.command("list")
@click.option("--dataset", type=click.Choice(sorted(DATASETS)), help="Only this data set's loads.")
@click.pass_obj
def loads_list(config: Path | None, dataset: str | None) -> None:
    """Every load, oldest first: id, data set, file, rows, rejected, when, state."""
    engine = _engine(_settings(config))
    rows = list_loads(engine, dataset)
    engine.dispose()
    if not rows:
        click.echo("No load yet.")
        return
    for row in rows:
        state = "active" if row.undone_at is None else f"undone {row.undone_at:%Y-%m-%d %H:%M}"
        click.echo(
            f"{row.id:>5}  {row.dataset:<9}  {row.filename:<32}  {row.rows:>10,} rows  "
            f"{row.rejected:>8,} rejected  {row.loaded_at:%Y-%m-%d %H:%M}  {state}"
        )


@loads.command("undo")
@click.argument("load_id", type=int)
@click.option("--no-wait", is_flag=True, help="Refuse at once when a load is running (default: wait).")
@click.pass_obj
def loads_undo(config: Path | None, load_id: int, no_wait: bool) -> None:
    """Delete the rows load LOAD_ID brought, its totals and rollup made right, in one transaction."""
    engine = _engine(_settings(config))
    try:
        with load_lock(engine, wait=not no_wait, on_wait=_say_waiting):
            dataset, deleted = undo_load(engine, load_id)
    except (UndoRefused, LoadBusy) as exc:
        click.echo(f"Error: {exc}. Nothing was changed.", err=True)
        sys.exit(1)
    finally:
        engine.dispose()
    click.echo(f"Load {load_id} undone: {deleted:,} rows deleted from {dataset}.")


@main.group()
def users() -> None:
    """Manage users: add, passwd, role, list, unlock, sessions, logout, delete."""


def _read_password(password_stdin: bool, confirm: bool = True) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=confirm)


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may open.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--generate", is_flag=True, help="Generate a password and print it once.")
@click.pass_obj
def users_add(config: Path | None, name: str, role: str, password_stdin: bool, generate: bool) -> None:
    """Add user NAME with ROLE."""
    settings = _settings(config)
    engine = _engine(settings)
    password = generate_password() if generate else _read_password(password_stdin)
    try:
        UserStore(engine, settings.auth).add(name, role, password)
    except UserError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    AuditLog(engine).record("user_add", username="cli", target=name, role=role)
    click.echo(f"Added user {name!r} with role {role}." + (f" Password: {password}" if generate else ""))


@users.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_obj
def users_passwd(config: Path | None, name: str, password_stdin: bool) -> None:
    """Set the password of user NAME (ends their sessions and lifts every lock on the account)."""
    settings = _settings(config)
    engine = _engine(settings)
    try:
        UserStore(engine, settings.auth).set_password(name, _read_password(password_stdin))
    except UserError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    AuditLog(engine).record("user_passwd", username="cli", target=name)
    click.echo(f"Password of {name!r} changed; their open sessions have ended.")


@users.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@click.pass_obj
def users_role(config: Path | None, name: str, role: str) -> None:
    """Give user NAME another ROLE (ends their sessions: the next login carries the new role)."""
    settings = _settings(config)
    engine = _engine(settings)
    try:
        UserStore(engine, settings.auth).set_role(name, role)
    except UserError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    AuditLog(engine).record("user_role", username="cli", target=name, role=role)
    click.echo(f"{name!r} now has role {role}; their open sessions have ended.")


@users.command("list")
@click.pass_obj
def users_list(config: Path | None) -> None:
    """List users with their role."""
    settings = _settings(config)
    for name, role, active in UserStore(_engine(settings), settings.auth).all():
        click.echo(f"{name}\t{role}" + ("" if active else "\t(disabled)"))


@users.command("unlock")
@click.argument("name")
@click.option("--address", help="Lift the lock of this client address only (default: every address).")
@click.pass_obj
def users_unlock(config: Path | None, name: str, address: str | None) -> None:
    """Let user NAME log in again from addresses locked out after failed attempts."""
    settings = _settings(config)
    engine = _engine(settings)
    store = UserStore(engine, settings.auth)
    try:
        held = store.locks(name)
        store.unlock(name, address)
    except UserError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    lifted = [a for a, _until in held if address is None or a == address]
    AuditLog(engine).record("user_unlock", username="cli", target=name, addresses=lifted)
    if lifted:
        click.echo(f"Unlocked {name!r} for {', '.join(lifted)}.")
    else:
        click.echo(f"{name!r} was not locked out" + (f" from {address}." if address else "."))


@users.command("sessions")
@click.argument("name")
@click.pass_obj
def users_sessions(config: Path | None, name: str) -> None:
    """List the open sessions of user NAME, and the addresses locked out of the account."""
    settings = _settings(config)
    store = UserStore(_engine(settings), settings.auth)
    if not store.exists(name):
        click.echo(f"Error: no user named {name!r}", err=True)
        sys.exit(1)
    sessions = store.sessions.list_open(name)
    click.echo(f"{len(sessions)} open session(s)")
    for open_session in sessions:
        click.echo(
            f"  since {open_session.created_at:%Y-%m-%d %H:%M} UTC, until "
            f"{open_session.expires_at:%Y-%m-%d %H:%M} UTC, from {open_session.address or '?'}"
            f" ({(open_session.user_agent or '?')[:60]})"
        )
    for address, until in store.locks(name):
        click.echo(f"locked out: {address} until {until:%Y-%m-%d %H:%M} UTC")


@users.command("logout")
@click.argument("name")
@click.pass_obj
def users_logout(config: Path | None, name: str) -> None:
    """End every open session of user NAME at once (their next request asks them to log in)."""
    settings = _settings(config)
    engine = _engine(settings)
    ended = UserStore(engine, settings.auth).sessions.end_all_of(name)
    if ended is None:
        click.echo(f"Error: no user named {name!r}", err=True)
        sys.exit(1)
    AuditLog(engine).record("user_logout", username="cli", target=name, sessions=ended)
    click.echo(f"Ended {ended} session(s) of {name!r}.")


@users.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask first (needed without a terminal).")
@click.pass_obj
def users_delete(config: Path | None, name: str, yes: bool) -> None:
    """Delete user NAME: their sessions end at once; their settings, API tokens, datasets (files
    too) and saved charts go with the account. The audit trail keeps their name."""
    from dashhub.services.user_datasets import DatasetStore

    settings = _settings(config)
    engine = _engine(settings)
    store = UserStore(engine, settings.auth)
    datasets = DatasetStore(engine, settings.data_dir)
    try:
        user_id = store.removable(name)
    except UserError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    owned, _ = datasets.usage(user_id)
    _ask(f"Deleting {name!r} deletes their {owned} dataset(s), saved charts, API tokens and settings.", yes)
    store.sessions.end_all_of(name)  # (first: no upload of theirs starts while their files go)
    removed, stored = datasets.remove_owner(user_id)
    try:
        store.delete(name)
    except UserError as exc:  # (made the last admin meanwhile, or deleted by another command)
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    AuditLog(engine).record("user_delete", username="cli", target=name, datasets=removed, bytes=stored)
    click.echo(f"Deleted user {name!r} with {removed} dataset(s) ({stored / 1e6:.1f} MB).")


@main.command()
@click.pass_obj
def scheduler(config: Path | None) -> None:
    """Run this host's periodic work (monitoring rollups and alerts, resource samples, pruning
    the prediction log) until stopped.

    gunicorn's master starts one per host (deploy/gunicorn.conf.py); run it yourself only when
    serving otherwise."""
    settings = _settings(config)
    _engine(settings).dispose()  # the schema must be this release's
    from dashhub.scheduler import run_until_terminated

    run_until_terminated(settings)


@main.group()
def predictions() -> None:
    """The prediction log: prune it now."""


@predictions.command("prune")
@click.pass_obj
def predictions_prune(config: Path | None) -> None:
    """Roll up and delete the predictions older than monitoring.retention_days."""
    from dashhub.services.retention import prune

    settings = _settings(config)
    report = prune(_engine(settings), settings.monitoring.retention_days)
    click.echo(
        f"Rolled up and deleted {report.rolled_up:,} predictions; "
        f"dropped {report.rollups_dropped:,} old rollups."
    )


@main.group()
def monitoring() -> None:
    """The monitoring's rollups and alerts: bring them up to date now."""


@monitoring.command("refresh")
@click.pass_obj
def monitoring_refresh(config: Path | None) -> None:
    """Count the new predictions and feedback into the rollups, then evaluate the alert rules."""
    from dashhub.services.monitoring_jobs import refresh_and_evaluate

    settings = _settings(config)
    events = refresh_and_evaluate(_engine(settings), settings)
    click.echo(f"Rollups and alerts up to date ({len(events)} alerts fired or cleared).")


@main.command("simulate-traffic")
@click.option("--url", default="http://127.0.0.1:8050", show_default=True, help="The app's address.")
@click.option("--token", envvar="DASHHUB_TOKEN", required=True, help="An API token (or $DASHHUB_TOKEN).")
@click.option("--model", default="cancer", show_default=True, help="The model to call.")
@click.option("--rate", type=float, default=5, show_default=True, help="Calls per second (at most 500).")
@click.option("--duration", type=float, default=60, show_default=True, help="Seconds (at most 3600).")
@click.option(
    "--drift", type=float, default=0.0, help="Enlarge the size features by this share (0.2: +20 %)."
)
@click.option("--error-rate", type=float, default=0.0, help="Share of calls sent with a missing feature.")
@click.option(
    "--feedback-share", type=float, default=0.3, show_default=True, help="Share answered with labels."
)
@click.option("--seed", type=int, default=0, help="Random seed of the rows sent.")
@click.option("--allow-remote", is_flag=True, help="Allow a target that is not this machine.")
def simulate_traffic(
    url, token, model, rate, duration, drift, error_rate, feedback_share, seed, allow_remote
):
    """Send real prediction calls (and feedback) to a running dashhub, bounded in count and time."""
    from dashhub.services.traffic import SimulationError, check_target, simulate

    try:
        base = check_target(url, allow_remote)
        click.echo(f"Sending {int(rate * duration):,} calls to {base} over {duration:g} s…")
        report = simulate(base, token, model, rate, duration, drift, error_rate, feedback_share, seed)
    except SimulationError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    click.echo(
        f"Sent {report.sent:,} calls in {report.seconds:.1f} s: {report.answered:,} answered, "
        f"{report.refused:,} refused, {report.failed:,} failed; {report.feedback:,} feedback labels."
    )
    if report.failed:
        sys.exit(1)


@main.group()
def tokens() -> None:
    """API tokens: create (shown once), list, revoke."""


@tokens.command("create")
@click.argument("username")
@click.option("--name", default="", help="What the token is for (shown in tokens list).")
@click.pass_obj
def tokens_create(config: Path | None, username: str, name: str) -> None:
    """Make a token for USERNAME and print it once (only its hash is kept)."""
    from dashhub.services.tokens import TokenError, TokenStore

    settings = _settings(config)
    engine = _engine(settings)
    try:
        token, secret = TokenStore(engine).create(username, name)
    except TokenError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    AuditLog(engine).record("token_create", username="cli", target=username, token=token.id, name=token.name)
    click.echo(f"Token {token.id} ({token.name}) for {username} ({token.role}); shown once, keep it:")
    click.echo(secret)


@tokens.command("list")
@click.argument("username", required=False)
@click.pass_obj
def tokens_list(config: Path | None, username: str | None) -> None:
    """List tokens (of USERNAME): id, user, name, prefix, created, last used, revoked."""
    from dashhub.services.tokens import TokenStore

    settings = _settings(config)
    for t in TokenStore(_engine(settings)).all(username):
        used = t.last_used_at.isoformat(timespec="minutes") if t.last_used_at else "never"
        state = f"revoked {t.revoked_at.isoformat(timespec='minutes')}" if t.revoked_at else "live"
        click.echo(
            f"{t.id}\t{t.username}\t{t.name}\t{t.prefix}…\t{t.created_at.isoformat(timespec='minutes')}\t{used}\t{state}"
        )


@tokens.command("revoke")
@click.argument("token_id", type=int)
@click.pass_obj
def tokens_revoke(config: Path | None, token_id: int) -> None:
    """Revoke token TOKEN_ID: it stops working on the next call, on every worker."""
    from dashhub.services.tokens import TokenError, TokenStore

    settings = _settings(config)
    engine = _engine(settings)
    try:
        token = TokenStore(engine).revoke(token_id)
    except TokenError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    AuditLog(engine).record("token_revoke", username="cli", target=token.username, token=token.id)
    click.echo(f"Token {token.id} ({token.name}) of {token.username} revoked.")


@main.command()
@click.option("--host", default=None, help="Default: server.host from the configuration.")
@click.option("--port", type=int, default=None, help="Default: server.port from the configuration.")
@click.pass_obj
def serve(config: Path | None, host: str | None, port: int | None) -> None:
    """Run the development server (use gunicorn in production)."""
    settings = _settings(config)
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:  # before prometheus_client loads: a fresh count
        metrics_dir = settings.data_dir / "metrics-serve"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    from dashhub.app import create_app

    try:
        app = create_app(settings)
    except (ConfigError, SchemaError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    # The host's periodic work (monitoring rollups, alerts, resource samples, pruning) in a
    # thread of this process, as gunicorn's master runs it beside its workers.
    if os.environ.get("DASHHUB_SCHEDULER", "on") != "off":
        import threading

        from dashhub.scheduler import run as run_scheduler

        threading.Thread(
            target=run_scheduler,
            args=(settings, threading.Event()),
            kwargs={"root_pid": os.getpid()},
            daemon=True,
        ).start()
    # Dash's dev tools are already on when server.debug is (create_app); Flask's own debugger,
    # an interactive console in the browser, never is.
    app.server.run(host=host or settings.server.host, port=port or settings.server.port, threaded=True)
