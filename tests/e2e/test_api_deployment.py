"""The prediction API as programs call it, through nginx, on several gunicorn workers and
instances: the log loses no answered instance, /metrics adds up every worker, and an instance
killed mid-load loses nothing it answered."""

from __future__ import annotations

import subprocess
import sys
import threading

import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from dashhub.db import make_engine, predictions
from dashhub.services.models import ModelRegistry
from tests.e2e.test_failover import _kill_instance, topology  # noqa: F401  (the fixture)
from tests.support.api import IRIS, bearer, deploy, instances


class _Services:
    def __init__(self, database_url: str) -> None:
        self.models = ModelRegistry(make_engine(database_url))


def token_for(env: dict, user: str) -> str:
    made = subprocess.run(
        [sys.executable, "-m", "dashhub", "tokens", "create", user, "--name", "e2e"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip().splitlines()[-1]


TRUNCATED = "truncated"


def load(base: str, token: str, callers: int, calls: int):
    """callers threads × calls predictions of 5 iris instances; (ids answered, statuses)."""
    answered, statuses = [], []
    lock = threading.Lock()

    def caller(seed: int) -> None:
        session = requests.Session()
        for call in range(calls):
            start = (seed * 11 + call * 5) % 145
            try:
                response = session.post(
                    f"{base}/api/v1/models/iris/predict",
                    headers=bearer(token),
                    json={"instances": instances("iris", slice(start, start + 5))},
                    timeout=30,
                )
            except requests.exceptions.ChunkedEncodingError:
                # the instance died after its headers went out: nginx cuts the body short
                with lock:
                    statuses.append(TRUNCATED)
                continue
            except requests.RequestException as error:
                with lock:
                    statuses.append(f"no answer: {error!r}")
                continue
            with lock:
                statuses.append(response.status_code)
                if response.status_code == 200:
                    answered.extend(p["id"] for p in response.json()["predictions"])

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answered, statuses


def logged_ids(database_url: str) -> set[str]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        ids = set(conn.scalars(select(predictions.c.id).where(predictions.c.status == "ok")))
    engine.dispose()
    return ids


def predictions_counted(port: int, model: str) -> float:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "dashhub_predictions_total" and s.labels.get("model") == model
    )


def test_concurrent_callers_through_nginx_every_answer_logged_and_counted(live_stack):
    deploy(_Services(live_stack.database_url), "iris", IRIS)
    token = token_for(live_stack.env, "analyst")
    before = {port: predictions_counted(port, "iris") for port in live_stack.app_ports}
    answered, statuses = load(live_stack.base, token, callers=8, calls=20)
    assert set(statuses) == {200}
    assert len(answered) == 8 * 20 * 5
    assert set(answered) <= logged_ids(live_stack.database_url)
    engine = make_engine(live_stack.database_url)
    with engine.connect() as conn:
        rows = conn.scalar(
            select(func.count()).select_from(predictions).where(predictions.c.model_name == "iris")
        )
    engine.dispose()
    assert rows == len(answered), "one row per answered instance, none lost, none doubled"
    # each instance's /metrics adds up its workers; together they counted every instance
    counted = sum(predictions_counted(port, "iris") - before[port] for port in live_stack.app_ports)
    assert counted == len(answered)
    docs = requests.get(f"{live_stack.base}/api/v1/docs/", timeout=10)
    assert docs.status_code == 200 and "/api/v1/models/{name}/predict" in docs.text


def test_an_instance_killed_mid_load_loses_nothing_it_answered(topology):  # noqa: F811
    base, apps, database, env = topology
    url = f"sqlite:///{database}"
    deploy(_Services(url), "iris", IRIS)
    token = token_for(env, "admin")
    result: dict = {}

    def run_load() -> None:
        result["answered"], result["statuses"] = load(base, token, callers=6, calls=60)

    runner = threading.Thread(target=run_load)
    runner.start()
    threading.Event().wait(1.5)  # the load is running
    _kill_instance(apps[0])  # SIGKILL, every process of the instance
    runner.join(timeout=120)
    answered, statuses = result["answered"], result["statuses"]
    assert statuses.count(200) > len(statuses) // 2
    assert set(statuses) <= {200, 502, TRUNCATED}, (
        "a call in flight when its instance died gets a 502 (or, its headers already sent, a cut body),"
        " nothing else"
    )
    assert set(answered) <= logged_ids(url), "every answered instance is in the log"
