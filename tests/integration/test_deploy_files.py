"""The deployment files are valid: docker compose configuration, Dockerfile, nginx template."""

from __future__ import annotations

import os
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


COMPOSE = shutil.which("docker-compose")


@pytest.mark.skipif(
    COMPOSE is None and not os.environ.get("CI"),
    reason="docker-compose is not installed here (apt-get install docker-compose); CI always runs it",
)
def test_docker_compose_config_is_valid(compose_dir):
    binary = COMPOSE
    assert binary, "docker-compose is not installed (apt-get install docker-compose)"
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


def test_nginx_timeouts_are_ordered_database_gunicorn_nginx():
    template = (ROOT / "deploy" / "nginx" / "dashhub.conf.template").read_text()
    assert "proxy_read_timeout 90s;" in template
    gunicorn = (ROOT / "deploy" / "gunicorn.conf.py").read_text()
    assert 'GUNICORN_TIMEOUT", "60"' in gunicorn
