#!/usr/bin/env bash
# Set up and run dashhub on the embedded default (SQLite file + file-system cache, no other
# service):  bash scripts/run.sh      then open http://127.0.0.1:8050
#
# Creates .venv (once), installs dashhub, creates the database with the demo data the first time,
# then serves the app with gunicorn on 127.0.0.1:8050 (PORT=… to change it).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .

.venv/bin/dashhub check-config
data_dir=${DASHHUB_PATHS__DATA_DIR:-data}
if [ ! -f "$data_dir/dashhub.db" ] && [ -z "${DASHHUB_DATABASE_URL:-}" ]; then
  .venv/bin/dashhub init --demo
else
  .venv/bin/dashhub init
fi

port=${PORT:-8050}
echo "dashhub is starting on http://127.0.0.1:${port}"
exec .venv/bin/gunicorn -c deploy/gunicorn.conf.py --bind "127.0.0.1:${port}" --workers 2 dashhub.wsgi:server
