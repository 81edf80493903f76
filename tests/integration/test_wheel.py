"""A wheel built from the repository serves the whole app from a clean virtualenv."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHECK = r"""
import os, re, sys
os.chdir(sys.argv[1])  # away from the repository: nothing may come from the source tree
from dashhub.app import create_app
from dashhub.config import load_settings
import dashhub
assert "site-packages" in dashhub.__file__, dashhub.__file__
settings = load_settings(path=None, environ={
    "DASHHUB_PATHS__DATA_DIR": sys.argv[1], "DASHHUB_ENVIRONMENT": "development"})
from dashhub.db import make_engine
from dashhub.migrations import current_revision, upgrade
engine = make_engine(settings.database_url)
upgrade(engine)  # the migration scripts ship with the package
assert current_revision(engine) is not None
app = create_app(settings)
client = app.server.test_client()
login = client.get("/login")
assert login.status_code == 200 and "Connexion" in login.get_data(as_text=True), "template or fr catalog"
client.set_cookie("dashhub_locale", "en")
assert "Log in" in client.get("/login").get_data(as_text=True), "en catalog"
for asset in ("bootstrap.min.css", "dashhub.css", "fonts/bootstrap-icons.woff2"):
    assert client.get("/assets/" + asset).status_code == 200, asset
print("wheel ok")
"""


def test_a_wheel_in_a_clean_virtualenv_serves_pages_assets_and_translations(tmp_path):
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(wheels.glob("dashhub-*.whl"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DASHHUB_", "PYTHONPATH"))}
    result = subprocess.run(
        [str(python), "-c", CHECK, str(run_dir)], capture_output=True, text=True, timeout=120, env=environ
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "wheel ok" in result.stdout
