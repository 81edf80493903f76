"""Schema migrations (Alembic): `dashhub init` upgrades a database to the latest revision.

Workers never change the schema: at start they only check that the database is at the revision
this release expects, and refuse to run against an older one with a message saying what to do.
"""

from __future__ import annotations

import logging
from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)


class SchemaError(RuntimeError):
    """The database's schema is not the one this release needs."""


def alembic_config(engine: Engine | None = None) -> Config:
    """Alembic's configuration for this package's scripts (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(files("dashhub.migrations")))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The revision this release's code expects."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The database's revision (None for an empty database or one made before migrations)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to revision (default: the latest); a no-op when it is there already."""
    command.upgrade(alembic_config(engine), revision)


def check_schema(engine: Engine) -> None:
    """Raise SchemaError unless the database is at this release's revision.

    A database that does not answer is not an error here: the app starts, /ready says the
    database is down, and requests get a 503 until it answers.
    """
    try:
        current = current_revision(engine)
    except OperationalError as exc:
        log.warning("database not answering at start; schema not checked: %s", str(exc).splitlines()[0])
        return
    head = head_revision()
    if current != head:
        raise SchemaError(
            f"the database schema is at revision {current or 'none'}, this release needs {head}: "
            "run `dashhub init` (it upgrades the schema and keeps the data)"
        )
