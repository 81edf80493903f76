"""Dependencies that fail while the app runs, on throwaway servers of the test's own."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
import redis

from dashhub.app import create_app
from tests.conftest import load_demo, logged_in, make_settings
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


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_redis_stopped_then_back(tmp_path, database_url, throwaway_redis):
    settings = make_settings(
        tmp_path, database_url, DASHHUB_CACHE__TYPE="redis", DASHHUB_CACHE__REDIS_URL=throwaway_redis.url
    )
    load_demo(settings.database_url)
    client = logged_in(create_app(settings))
    window = (*EVERYTHING, "2024-01-01", "2024-06-30")
    healthy = sales_outputs(post_sales(client, *window))
    assert client.get("/ready").status_code == 200

    throwaway_redis.stop()
    # pages keep working (computed without the cache), readiness says what is down
    for end in ("2024-07-31", "2024-08-31", "2024-06-30"):
        response = post_sales(client, *EVERYTHING, "2024-01-01", end)
        assert response.status_code == 200
    assert sales_outputs(post_sales(client, *window))["sales-kpi-total"] == healthy["sales-kpi-total"]
    down = client.get("/ready")
    assert down.status_code == 503
    assert down.get_json()["checks"]["cache"] == "down"

    throwaway_redis.start()
    assert client.get("/ready").status_code == 200
    assert post_sales(client, *window).status_code == 200
    assert redis.Redis.from_url(throwaway_redis.url).keys("dashhub:*"), "the cache is used again"
