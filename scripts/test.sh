#!/usr/bin/env bash
# Set up and run the whole test suite:  bash scripts/test.sh [pytest arguments]
#
# On a fresh machine it does all the set-up: the system packages the tests need (Chromium and its
# driver, nginx, docker.io, docker-compose, debootstrap; installed with apt-get when run as root,
# otherwise it prints the one command to run), the docker daemon (started when it does not answer
# and this runs as root), .venv with dashhub and its test extra. PostgreSQL and Redis are found on
# their default local ports or started as throwaway servers by the tests themselves. Then it
# lints and runs pytest: unit, integration (SQLite and PostgreSQL) and e2e (Chromium through
# nginx against gunicorn, and the docker compose stack built and run for real: -m "not compose"
# leaves that one out).
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=${DASHHUB_TEST_CHROMIUM:-/usr/bin/chromium}
missing=()
[ -x "$chromium" ] || missing+=(chromium chromium-driver)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
{ command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ]; } || missing+=(docker.io)
{ command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ]; } || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "error: the tests need ${missing[*]}. Install them, then run this again:" >&2
    echo "       sudo apt-get install -y ${missing[*]}" >&2
    [ -x "$chromium" ] || echo "       (or point DASHHUB_TEST_CHROMIUM at a Chromium binary)" >&2
    exit 3
  fi
fi

# The compose test (tests/e2e/test_compose_stack.py) needs a docker daemon. When none answers and
# this runs as root, start one; otherwise the test fails saying what is missing (never a skip).
if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && [ -x /usr/sbin/dockerd ]; then
    echo "== starting dockerd (log: /var/log/dashhub-test-dockerd.log)"
    setsid /usr/sbin/dockerd >/var/log/dashhub-test-dockerd.log 2>&1 </dev/null &
    for _ in $(seq 60); do
      docker info >/dev/null 2>&1 && break
      sleep 0.5
    done
    docker info >/dev/null 2>&1 \
      || { echo "warning: dockerd did not start; the compose test will fail. Its log:" >&2
           tail -n 20 /var/log/dashhub-test-dockerd.log >&2; }
  else
    echo "warning: no docker daemon answers (start it: sudo dockerd or sudo systemctl start docker);" \
         "the compose test will fail" >&2
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"

echo "== lint: ruff, hadolint"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/hadolint Dockerfile tests/compose/images/*/Dockerfile

echo "== tests"
exec .venv/bin/python -m pytest "$@"
