"""Load through the production topology on loopback: nginx → two gunicorn instances.

`--stack embedded` (default): SQLite and the file-system cache. `--stack compose`: what
docker-compose.yml runs, PostgreSQL (a database of the run's own) and Redis (a key prefix of the
run's own) for the cache and the rate limits.

N simulated users (locust, bench/locustfile.py DashboardUser) log in, open the home page and the
dashboards, and change filters, for a fixed time. Reports requests/s, failures and latency; then
compares the throughput of a cached dashboard callback with that of a trivial callback through
the same stack.
Loopback only, bounded in users and time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import header
from bench.locust_run import run
from tests.conftest import PASSWORDS, TEST_SECRET
from tests.e2e.conftest import _free_port, _gunicorn, _start, _wait_for, add_user, init_demo
from tests.support import services
from tests.support.nginx import nginx_config


def start_topology(tmp: Path, extra_env: dict | None = None) -> tuple[str, list]:
    env = {
        **os.environ,
        "DASHHUB_PATHS__DATA_DIR": str(tmp),
        "DASHHUB_SECRET_KEY": TEST_SECRET,
        "DASHHUB_ADMIN_PASSWORD": PASSWORDS["admin"],
        "DASHHUB_SERVER__TRUSTED_PROXIES": "1",
        "DASHHUB_AUTH__LOGIN_RATE_LIMIT": "1000 per minute",
        "GUNICORN_ACCESS_LOG": os.devnull,
        **(extra_env or {}),
    }
    init_demo(env)
    add_user(env, "hr")
    ports = [_free_port(), _free_port()]
    processes = [_start(_gunicorn(p), env, tmp / f"gunicorn-{p}.log") for p in ports]
    port = _free_port()
    config = nginx_config(tmp, port, ports)
    processes.append(
        _start(["nginx", "-p", str(tmp), "-c", str(config), "-g", "daemon off;"], env, tmp / "nginx.log")
    )
    base = f"http://127.0.0.1:{port}"
    _wait_for(base + "/health")
    return base, processes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--stack", choices=["embedded", "compose"], default="embedded")
    args = parser.parse_args()
    cleanup = []
    extra_env = {}
    if args.stack == "compose":
        database_url, drop = services.create_database(services.postgres_admin_url())
        prefix = f"dashhub-load-{uuid.uuid4().hex[:8]}:"
        redis_url = services.redis_url()
        extra_env = {
            "DASHHUB_DATABASE__URL": database_url,
            "DASHHUB_CACHE__TYPE": "redis",
            "DASHHUB_CACHE__REDIS_URL": redis_url,
            "DASHHUB_CACHE__KEY_PREFIX": prefix,
        }
        cleanup = [drop, lambda: _delete_keys(redis_url, prefix)]
    user = {"DASHHUB_BENCH_USER": "hr", "DASHHUB_BENCH_PASSWORD": PASSWORDS["hr"]}
    with tempfile.TemporaryDirectory() as tmp:
        base, processes = start_topology(Path(tmp), extra_env)
        try:
            mixed = run("DashboardUser", base, args.users, args.seconds, user)
            trivial = run("TrivialCallbackUser", base, 8, 15, user)["trivial callback"]
            cached = run("CachedSalesUser", base, 8, 15, user)["cached sales callback"]
        finally:
            for p in processes:
                p.terminate()
            for p in processes:
                p.wait(timeout=20)
            for step in cleanup:
                step()
    stack = "SQLite, file cache" if args.stack == "embedded" else "PostgreSQL, Redis"
    print(
        header(
            f"Load: {args.users} simulated users (locust, think time 0.5–2 s) for {args.seconds} s "
            f"through nginx → 2 × gunicorn ({stack})"
        )
    )
    print("| request | calls | failed | requests/s | p50 | p95 | p99 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, s in sorted(mixed.items(), key=lambda item: item[0] == "Aggregated"):
        print(
            f"| {name} | {s.requests:,} | {s.failures} | {s.rps:.0f} | {s.p50_ms:.0f} ms "
            f"| {s.p95_ms:.0f} ms | {s.p99_ms:.0f} ms |"
        )
    print(
        f"\nCached Ventes callback {cached.rps:.0f} req/s vs trivial callback {trivial.rps:.0f} req/s "
        f"(8 clients flat out, same stack): ratio {cached.rps / trivial.rps:.2f}"
    )


def _delete_keys(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)


if __name__ == "__main__":
    main()
