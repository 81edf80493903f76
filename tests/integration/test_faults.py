"""Dependencies that fail while the app runs, on throwaway servers of the test's own."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time

import pytest
import redis

from dashhub.app import create_app
from tests.conftest import add_users, load_demo, logged_in, make_settings
from tests.support import services
from tests.support.dash_requests import post_sales, sales_outputs

EVERYTHING = (["Est", "Nord", "Ouest", "Sud"], ["Produit A", "Produit B", "Produit C", "Produit D"])


class ThrowawayRedis:
    """A redis-server on a port of its own, that the test can stop and start again."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is needed for the fault tests (apt-get install redis-server)")
        self.binary = binary
        self.port = services.closed_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("throwaway redis did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def throwaway_redis():
    server = ThrowawayRedis()
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_redis_stopped_then_back(tmp_path, demo_url, throwaway_redis):
    settings = make_settings(
        tmp_path, demo_url, DASHHUB_CACHE__TYPE="redis", DASHHUB_CACHE__REDIS_URL=throwaway_redis.url
    )
    app = create_app(settings)
    client = logged_in(app)
    window = (*EVERYTHING, "2024-01-01", "2024-06-30")
    healthy = sales_outputs(post_sales(client, *window))
    assert client.get("/ready").status_code == 200

    with Load(app) as load:
        throwaway_redis.stop()
        stopped = time.monotonic()
        time.sleep(2)
        # pages keep working (computed without the cache), readiness says what is down
        during = load.since(stopped)
        assert during and {status for status, _ in during} == {200}
        assert sales_outputs(post_sales(client, *window))["sales-kpi-total"] == healthy["sales-kpi-total"]
        down = client.get("/ready")
        assert down.status_code == 503
        assert down.get_json()["checks"]["cache"] == "down"

        throwaway_redis.start()
        restarted = time.monotonic()
        time.sleep(1)
        assert client.get("/ready").status_code == 200
        assert {status for status, _ in load.since(restarted)} == {200}
    assert post_sales(client, *window).status_code == 200
    assert redis.Redis.from_url(throwaway_redis.url).keys("dashhub:*"), "the cache is used again"


@pytest.fixture
def throwaway_postgres():
    server = services.ThrowawayPostgres()
    server.start()
    yield server
    server.remove()


class Load:
    """Threads that keep changing the sales filters (each with its own session) and record what
    every request answered."""

    def __init__(self, app, users: int = 4) -> None:
        self.clients = [logged_in(app) for _ in range(users)]
        self.answers: list[tuple[float, int, str]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(c, i)) for i, c in enumerate(self.clients)]

    def _run(self, client, seed: int) -> None:
        month = seed
        while not self._stop.is_set():
            month = month % 12 + 1
            response = post_sales(client, *EVERYTHING, "2024-01-01", f"2024-{month:02d}-28")
            self.answers.append((time.monotonic(), response.status_code, response.get_data(as_text=True)))

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def since(self, moment: float) -> list[tuple[int, str]]:
        return [(status, body) for at, status, body in list(self.answers) if at >= moment]


def test_postgres_stopped_then_back(tmp_path, throwaway_postgres):
    url, drop = services.create_database(throwaway_postgres.url)
    settings = make_settings(tmp_path, url)
    load_demo(settings.database_url)
    add_users(settings)
    app = create_app(settings)
    client = logged_in(app)
    window = (*EVERYTHING, "2024-01-01", "2024-06-30")
    healthy = sales_outputs(post_sales(client, *window))
    try:
        with Load(app) as load:
            time.sleep(1)
            assert {status for status, _ in load.since(0)} == {200}

            throwaway_postgres.stop()
            stopped = time.monotonic()
            time.sleep(2)
            during = load.since(stopped + 0.5)
            assert during, "the load kept running"
            # every request fails cleanly: 503 with a short reason, never a 500 or a traceback
            assert {status for status, _ in during} == {503}
            assert all(json.loads(body) == {"error": "database unavailable"} for _, body in during)
            page = client.get("/sales", headers={"Accept": "text/html"})
            assert page.status_code == 503
            assert "La base de données ne répond pas" in page.get_data(as_text=True)
            assert page.headers["Retry-After"] == "5"
            ready = client.get("/ready")
            assert ready.status_code == 503
            assert ready.get_json()["checks"]["database"] == "down"
            assert client.get("/health").status_code == 200, "the process itself is alive"

            throwaway_postgres.start()
            restarted = time.monotonic()
            time.sleep(3)
            after = load.since(restarted + 1.5)
            assert after and {status for status, _ in after} == {200}, "recovers by itself"
        assert client.get("/ready").status_code == 200
        assert sales_outputs(post_sales(client, *window)) == healthy
    finally:
        app.server.extensions["dashhub"].engine.dispose()
        drop()
