"""What the hardening of issue 13 costs: the server-side session check on every request, the
callback shape check, and the time of each kind of failed login (they must be alike).

Server time through the Flask test client, on SQLite or PostgreSQL (`--stack postgres`); prints
markdown for docs/benchmarks.md."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import header, summary
from dashhub.app import create_app
from tests.conftest import add_users, load_demo, login, make_settings
from tests.support import services
from tests.support.dash_requests import post_sales

EVERYTHING = (["Est", "Nord", "Ouest", "Sud"], ["Produit A", "Produit B", "Produit C", "Produit D"])


def timed(call, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-auth-"))
    drop = None
    if args.stack == "postgres":
        url, drop = services.create_database(services.postgres_admin_url())
    else:
        url = f"sqlite:///{folder / 'bench.db'}"
    load_demo(url)
    add_users(url)
    app = create_app(make_settings(folder, url, DASHHUB_AUTH__LOGIN_RATE_LIMIT="100000 per minute"))
    try:
        client = app.server.test_client()
        login(client, "viewer")
        layout = timed(lambda: client.get("/_dash-layout"), args.runs)
        post_sales(client, *EVERYTHING, "2024-01-01", "2025-12-31")
        callback = timed(lambda: post_sales(client, *EVERYTHING, "2024-01-01", "2025-12-31"), args.runs)
        store = app.server.extensions["dashhub"].users.sessions
        with app.server.test_request_context():
            session_id = store.start(1, "127.0.0.1", "bench")
            store.is_open(session_id, 1)
        check = []
        for _ in range(args.runs):
            with app.server.test_request_context():
                started = time.perf_counter()
                store.is_open(session_id, 1)
                check.append((time.perf_counter() - started) * 1000)

        def failures(username: str, address: str, runs: int = 20) -> list[float]:
            attacker = app.server.test_client()
            attacker.environ_base["REMOTE_ADDR"] = address
            return timed(lambda: login(attacker, username, "not-the-password-1"), runs)

        failures("admin", "203.0.113.1", 5)  # locked from now on
        locked = failures("admin", "203.0.113.1")
        unknown = failures("nobody", "203.0.113.2", 4)  # under the lock threshold
        wrong = failures("hr", "203.0.113.3", 4)
        right = timed(lambda: login(app.server.test_client(), "analyst"), 10)
    finally:
        app.server.extensions["dashhub"].engine.dispose()
        if drop:
            drop()
    print(header(f"Sessions, callback guard and login answers ({args.stack})"))
    print("| what | p50 / p95 (ms) |\n| --- | --- |")
    print(f"| session check alone (warm, per request) | {summary(check)} |")
    print(f"| `/_dash-layout` (session, gate, layout) | {summary(layout)} |")
    print(f"| Ventes callback, warm (gate, guard, shape check, cached answer) | {summary(callback)} |")
    print(f"| login, right password | {summary(right)} |")
    print(f"| login, wrong password | {summary(wrong)} |")
    print(f"| login, unknown user | {summary(unknown)} |")
    print(f"| login, address locked out | {summary(locked)} |")


if __name__ == "__main__":
    main()
