#!/usr/bin/env bash
# Set up and run the whole test suite:  bash scripts/test.sh [pytest arguments]
#
# Creates .venv (once), installs dashhub with its test extra, checks what the tests need from the
# machine (Chromium; PostgreSQL and Redis are found or started by the tests themselves), lints,
# then runs pytest: unit, integration (SQLite and PostgreSQL) and e2e (Chromium against gunicorn).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"

chromium=${DASHHUB_TEST_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  echo "error: the browser tests need Chromium at $chromium." >&2
  echo "       Debian/Ubuntu: sudo apt-get install chromium chromium-driver" >&2
  echo "       or point DASHHUB_TEST_CHROMIUM at a Chromium binary." >&2
  exit 3
fi

echo "== lint: ruff, hadolint"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/hadolint Dockerfile

echo "== tests"
exec .venv/bin/python -m pytest "$@"
