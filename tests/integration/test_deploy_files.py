"""The deployment files are valid: docker compose configuration, Dockerfile, nginx template."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def compose_dir(tmp_path) -> Path:
    """The compose file with a .env made from .env.example, as an operator would have it."""
    shutil.copy(ROOT / "docker-compose.yml", tmp_path)
    env = (ROOT / ".env.example").read_text().replace("POSTGRES_PASSWORD=\n", "POSTGRES_PASSWORD=example\n")
    (tmp_path / ".env").write_text(env)
    return tmp_path


def test_docker_compose_config_is_valid(compose_dir):
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is needed (scripts/test.sh installs it: apt-get install docker-compose)"
    result = subprocess.run([binary, "config"], cwd=compose_dir, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert set(config["services"]) >= {"nginx", "app", "worker", "postgres", "redis"}
    assert config["services"]["app"]["deploy"]["replicas"] >= 2
    app_env = config["services"]["app"]["environment"]
    assert app_env["DASHHUB_CACHE__TYPE"] == "redis"
    assert app_env["DASHHUB_DATABASE_URL"].startswith("postgresql://")
    worker = config["services"]["worker"]
    # the worker runs the app's background callbacks: same database, broker and export folder
    for key in ("DASHHUB_DATABASE_URL", "DASHHUB_JOBS__BACKEND", "DASHHUB_JOBS__BROKER_URL"):
        assert worker["environment"][key] == app_env[key]
    assert app_env["DASHHUB_JOBS__BACKEND"] == "celery"
    assert worker["command"][:4] == ["celery", "-A", "dashhub.worker", "worker"]

    # short syntax (docker-compose v1) or long syntax (compose v2): source and target either way
    def mounts(service: dict) -> set[tuple[str, str]]:
        return {
            tuple(v.split(":")[:2]) if isinstance(v, str) else (v["source"], v["target"])
            for v in service.get("volumes", [])
        }

    assert ("jobs", "/var/lib/dashhub/jobs") in mounts(config["services"]["app"]) & mounts(worker)


def test_every_variable_of_env_example_is_documented():
    lines = (ROOT / ".env.example").read_text().splitlines()
    for number, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert lines[number - 1].startswith("#"), f".env.example line {number + 1} has no comment"


def gunicorn_settings(environ: dict[str, str]) -> dict:
    """deploy/gunicorn.conf.py evaluated as gunicorn does, under environ."""
    source = (ROOT / "deploy" / "gunicorn.conf.py").read_text()
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environ)
    try:
        namespace: dict = {}
        exec(compile(source, "gunicorn.conf.py", "exec"), namespace)
        return namespace
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_timeouts_are_ordered_database_then_gunicorn_then_nginx():
    """The layer nearest the user gives up last, so that it can say why (a 504 with a message)."""
    from dashhub.db import STATEMENT_TIMEOUT_SECONDS, postgres_connect_args

    options = postgres_connect_args()["options"]
    database = int(re.search(r"statement_timeout=(\d+)", options).group(1)) / 1000
    assert database == STATEMENT_TIMEOUT_SECONDS
    gunicorn = gunicorn_settings({})["timeout"]
    template = (ROOT / "deploy" / "nginx" / "dashhub.conf.template").read_text()
    nginx = int(re.search(r"proxy_read_timeout (\d+)s;", template).group(1))
    assert database < gunicorn < nginx, (database, gunicorn, nginx)
    assert gunicorn_settings({"GUNICORN_TIMEOUT": "75"})["timeout"] == 75


def test_no_request_that_reached_an_instance_is_replayed_by_nginx():
    template = (ROOT / "deploy" / "nginx" / "dashhub.conf.template").read_text()
    directives = [line.strip() for line in template.splitlines() if not line.strip().startswith("#")]
    assert not any("non_idempotent" in line for line in directives)


def test_postgresql_connections_carry_the_statement_timeout(postgres_admin_url):
    from sqlalchemy import text

    from dashhub.db import STATEMENT_TIMEOUT_SECONDS, make_engine

    engine = make_engine(postgres_admin_url)
    with engine.connect() as conn:
        assert conn.scalar(text("SHOW statement_timeout")) == f"{STATEMENT_TIMEOUT_SECONDS}s"
    engine.dispose()
