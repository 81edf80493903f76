"""Find the PostgreSQL and Redis servers the tests need, or start throwaway ones.

Order: the URL in DASHHUB_TEST_POSTGRES_URL / DASHHUB_TEST_REDIS_URL, else the local default
port, else a throwaway server started from the local binaries, else a clear error naming what is
missing. Never a silent skip.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import psycopg
import redis
from sqlalchemy import create_engine, text

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


class MissingService(RuntimeError):
    """A service the tests need is not there and could not be started."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("select 1")
        return True
    except psycopg.Error:
        return False


class ThrowawayPostgres:
    """A PostgreSQL server in a temporary folder, on a port of its own; it can stop and start."""

    def __init__(self) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or list(
            filter(None, [shutil.which("initdb")])
        )
        if not binaries:
            raise MissingService(
                "PostgreSQL is needed by the tests and none answers on 127.0.0.1:5432. "
                "Install it (Debian: apt-get install postgresql) or set DASHHUB_TEST_POSTGRES_URL "
                "to a server where the user may create databases."
            )
        self.bindir = os.path.dirname(binaries[-1])
        self.workdir = tempfile.mkdtemp(prefix="dashhub-pg-")
        self.run_as: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the throwaway server as postgres
            shutil.chown(self.workdir, "postgres")
            self.run_as = ["runuser", "-u", "postgres", "--"]
        self.port = _free_port()
        self.data = os.path.join(self.workdir, "data")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        subprocess.run(
            [*self.run_as, f"{self.bindir}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
        )

    def _ctl(self, *args: str, check: bool = True) -> int:
        return subprocess.run(
            [*self.run_as, f"{self.bindir}/pg_ctl", "-D", self.data, *args], check=check, capture_output=True
        ).returncode

    def start(self) -> None:
        if self._ctl("status", check=False) == 0:
            return
        self._ctl(
            "-w",
            "-l",
            os.path.join(self.workdir, "log"),
            "-o",
            f"-p {self.port} -h 127.0.0.1 -k {self.workdir}",
            "start",
        )

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop", check=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _start_throwaway_postgres() -> str:
    server = ThrowawayPostgres()
    server.start()
    atexit.register(server.remove)
    return server.url


def postgres_admin_url() -> str:
    url = os.environ.get("DASHHUB_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    if _postgres_answers(url):
        return url
    if "DASHHUB_TEST_POSTGRES_URL" in os.environ:
        raise MissingService(f"DASHHUB_TEST_POSTGRES_URL={url} does not answer.")
    return _start_throwaway_postgres()


def create_database(admin_url: str, template: str | None = None) -> tuple[str, callable]:
    """A new database (empty, or a copy of template); returns its SQLAlchemy URL and a drop."""
    name = f"dashhub_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
        pool_pre_ping=True,
    )
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    base = admin_url.rsplit("/", 1)[0]

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://"), drop


def redis_url() -> str:
    url = os.environ.get("DASHHUB_TEST_REDIS_URL", DEFAULT_REDIS)
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        return url
    except redis.RedisError:
        if "DASHHUB_TEST_REDIS_URL" in os.environ:
            raise MissingService(f"DASHHUB_TEST_REDIS_URL={url} does not answer.") from None
    binary = shutil.which("redis-server")
    if not binary:
        raise MissingService(
            "Redis is needed by the integration tests and none answers on 127.0.0.1:6379. "
            "Install it (Debian: apt-get install redis-server) or set DASHHUB_TEST_REDIS_URL."
        )
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    atexit.register(process.terminate)
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(50):
        try:
            redis.Redis.from_url(url).ping()
            return url
        except redis.RedisError:
            time.sleep(0.1)
    raise MissingService(f"a throwaway redis-server on port {port} did not start")


def closed_port() -> int:
    """A loopback port where nothing listens (to play a dependency that is down)."""
    return _free_port()
