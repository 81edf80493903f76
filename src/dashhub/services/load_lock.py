"""One load at a time per database, whichever host runs it.

Two loads at once used to collide: on SQLite the second died after 30 s with « database is locked »,
on PostgreSQL one failed on the rollup's primary key. A load now holds a lock both databases honour:
a PostgreSQL advisory lock (every host sees it), or a lock file next to the SQLite database. The
second load waits, saying so, or (no wait) refuses at once, with when the running one started.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

LOCK_KEY = 0x6461_7368_6C6F_6164 & 0x7FFF_FFFF_FFFF_FFFF  # "dashload": one bigint for every host


class LoadBusy(Exception):
    """Another load holds the lock (and the caller chose not to wait)."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


@contextmanager
def load_lock(
    engine: Engine, *, wait: bool = True, on_wait: Callable[[str], None] = lambda _: None
) -> Iterator[None]:
    """Hold the database's load lock for the block. A busy lock: LoadBusy (wait=False), or
    on_wait(message) and wait for it."""
    if engine.dialect.name == "postgresql":
        with _postgres_lock(engine, wait, on_wait):
            yield
    else:
        with _file_lock(Path(make_url(str(engine.url)).database or "dashhub.db"), wait, on_wait):
            yield


def _busy(started: str) -> str:
    return f"another load is running (started at {started or 'an unknown time'})"


@contextmanager
def _postgres_lock(engine: Engine, wait: bool, on_wait: Callable[[str], None]) -> Iterator[None]:
    with engine.connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar()
        if not got:
            started = conn.execute(
                text(
                    "SELECT min(a.backend_start) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted "
                    "AND (l.classid::bigint << 32) + l.objid::bigint = :key"
                ),
                {"key": LOCK_KEY},
            ).scalar()
            message = _busy(started.astimezone().isoformat(timespec="seconds") if started else "")
            if not wait:
                conn.rollback()
                raise LoadBusy(message)
            on_wait(message)
            conn.execute(text("SET statement_timeout = 0"))  # (a load may take minutes)
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            conn.commit()


@contextmanager
def _file_lock(database: Path, wait: bool, on_wait: Callable[[str], None]) -> Iterator[None]:
    path = database.with_name(database.name + ".load-lock")  # (beside the database: its folder exists)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            message = _busy(handle.read().strip().split(" ")[0])
            if not wait:
                raise LoadBusy(message) from None
            on_wait(message)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{_now()} pid {os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
