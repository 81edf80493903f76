"""Load through the production topology on loopback: nginx → two gunicorn instances.

`--stack embedded` (default): SQLite and the file-system cache. `--stack compose`: what
docker-compose.yml runs, PostgreSQL (a database of the run's own) and Redis (a key prefix of the
run's own) for the cache and the rate limits.

N simulated users log in, open the home page and the dashboards, and change filters, for a fixed
time. Reports requests/s, failures and latency; then compares the throughput of a cached
dashboard callback with that of a trivial callback through the same stack.
Loopback only, bounded in users and time.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import redis
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import header, percentile
from tests.conftest import PASSWORDS, TEST_SECRET
from tests.e2e.conftest import _free_port, _gunicorn, _start, _wait_for, add_user, init_demo, nginx_config
from tests.support import services
from tests.support.dash_requests import callback_body, page_body, sales_body
from tests.support.hr_requests import hr_body

REGIONS = ["Est", "Nord", "Ouest", "Sud"]
PRODUCTS = ["Produit A", "Produit B", "Produit C", "Produit D"]
DEPARTMENTS = ["Finance", "HR", "IT", "Marketing", "Sales"]


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


def logged_in(base: str, user: str) -> requests.Session:
    session = requests.Session()
    token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', session.get(base + "/login").text
    ).group(1)
    response = session.post(
        base + "/login",
        data={"username": user, "password": PASSWORDS[user], "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:200]
    return session


def user_loop(base: str, stop: float, results: list, rng: random.Random) -> None:
    session = logged_in(base, "hr")
    post = base + "/_dash-update-component"
    while time.monotonic() < stop:
        choice = rng.random()
        if choice < 0.1:
            step = ("GET /", lambda: session.get(base + "/"))
        elif choice < 0.2:
            path = rng.choice(["/", "/sales", "/hr"])
            step = ("page", lambda p=path: session.post(post, json=page_body(p)))
        elif choice < 0.6:
            regions = sorted(rng.sample(REGIONS, rng.randint(1, 4)))
            body = sales_body(
                regions, PRODUCTS, "2024-01-01", rng.choice(["2024-12-31", "2025-06-30", "2025-12-31"])
            )
            step = ("sales filter", lambda b=body: session.post(post, json=b))
        else:
            departments = sorted(rng.sample(DEPARTMENTS, rng.randint(1, 5)))
            body = hr_body(departments, [0, rng.choice([20, 30, 44])], [21, 65])
            step = ("hr filter", lambda b=body: session.post(post, json=b))
        started = time.perf_counter()
        try:
            ok = step[1]().status_code == 200
        except requests.RequestException:
            ok = False
        results.append((step[0], time.perf_counter() - started, ok))


def throughput(base: str, body: dict, seconds: float, threads: int) -> float:
    sessions = [logged_in(base, "hr") for _ in range(threads)]
    count = [0] * threads
    stop = time.monotonic() + seconds

    def run(i: int) -> None:
        while time.monotonic() < stop:
            if sessions[i].post(base + "/_dash-update-component", json=body).status_code == 200:
                count[i] += 1

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(count) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120)
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
    with tempfile.TemporaryDirectory() as tmp:
        base, processes = start_topology(Path(tmp), extra_env)
        try:
            results: list = []
            stop = time.monotonic() + args.seconds
            users = [
                threading.Thread(target=user_loop, args=(base, stop, results, random.Random(i)))
                for i in range(args.users)
            ]
            started = time.monotonic()
            for u in users:
                u.start()
            for u in users:
                u.join()
            elapsed = time.monotonic() - started
            trivial = callback_body(
                [("navbar-collapse", "is_open")],
                [("navbar-toggler", "n_clicks", 1)],
                [("navbar-collapse", "is_open", False)],
            )
            cached = sales_body(REGIONS, PRODUCTS, "2024-01-01", "2025-12-31")
            trivial_rps = throughput(base, trivial, 15, 8)
            cached_rps = throughput(base, cached, 15, 8)
        finally:
            for p in processes:
                p.terminate()
            for p in processes:
                p.wait(timeout=20)
            for step in cleanup:
                step()
    latencies = [r[1] * 1000 for r in results]
    failures = sum(1 for r in results if not r[2])
    stack = "SQLite, file cache" if args.stack == "embedded" else "PostgreSQL, Redis"
    print(
        header(
            f"Load: {args.users} simulated users for {args.seconds:.0f} s "
            f"through nginx → 2 × gunicorn ({stack})"
        )
    )
    print("| requests | failed | requests/s | p50 | p95 | p99 |")
    print("| --- | --- | --- | --- | --- | --- |")
    p50, p95, p99 = (percentile(latencies, q) for q in (50, 95, 99))
    rate = len(results) / elapsed
    print(f"| {len(results):,} | {failures} | {rate:.0f} | {p50:.0f} ms | {p95:.0f} ms | {p99:.0f} ms |")
    print()
    for kind in sorted({r[0] for r in results}):
        values = [r[1] * 1000 for r in results if r[0] == kind]
        p50, p95 = percentile(values, 50), percentile(values, 95)
        print(f"- {kind}: {len(values):,} requests, p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    print(
        f"\nCached Ventes callback {cached_rps:.0f} req/s vs trivial callback {trivial_rps:.0f} req/s "
        f"(8 clients, same stack): ratio {cached_rps / trivial_rps:.2f}"
    )


def _delete_keys(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)


if __name__ == "__main__":
    main()
