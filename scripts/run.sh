#!/usr/bin/env bash
# Set up and run dashhub on the embedded default (SQLite file + file-system cache, no other
# service):  bash scripts/run.sh      then open http://127.0.0.1:8050
#
# Creates .venv (once), installs dashhub, creates the database with the demo data and the admin
# user the first time (its password is printed once; DASHHUB_ADMIN_PASSWORD=… to choose it), then
# serves the app with gunicorn on 127.0.0.1:8050 (PORT=… to change it).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .

data_dir=${DASHHUB_PATHS__DATA_DIR:-data}
mkdir -p "$data_dir"
# Production mode needs a real secret: keep one, made once, next to the data (readable by you only).
if [ -z "${DASHHUB_SECRET_KEY:-}" ]; then
  if [ ! -s "$data_dir/.secret_key" ]; then
    (umask 077 && .venv/bin/python -c "import secrets; print(secrets.token_urlsafe(48))" > "$data_dir/.secret_key")
  fi
  DASHHUB_SECRET_KEY=$(cat "$data_dir/.secret_key")
  export DASHHUB_SECRET_KEY
fi

.venv/bin/dashhub check-config
if [ ! -f "$data_dir/dashhub.db" ] && [ -z "${DASHHUB_DATABASE_URL:-}" ]; then
  .venv/bin/dashhub init --demo
else
  .venv/bin/dashhub init
fi

port=${PORT:-8050}
echo "dashhub is starting on http://127.0.0.1:${port}"
exec .venv/bin/gunicorn -c deploy/gunicorn.conf.py --bind "127.0.0.1:${port}" --workers 2 dashhub.wsgi:server
