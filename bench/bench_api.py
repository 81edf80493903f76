"""Prediction API under load: one gunicorn instance (the deployed settings), 16 locust clients
calling predict with one instance each, against the trivial callback through the same instance;
log rows against answers; a 1,000-instance batch. Loopback only; prints markdown."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import header, percentile
from bench.locust_run import run
from dashhub.config import load_settings
from dashhub.db import make_engine, predictions
from dashhub.services.models import ModelRegistry
from dashhub.services.tokens import TokenStore
from tests.conftest import PASSWORDS, TEST_SECRET
from tests.e2e.conftest import _free_port, _gunicorn, _start, _wait_for, add_user, init_demo
from tests.support import services
from tests.support.api import deploy, instances

# The seed's model (« Écran du cours »): SVM on Breast Cancer, served as « cancer ».
CANCER_SEED = (
    "?dataset=breast_cancer&model=svm&C=1&kernel=rbf&gamma=scale"
    "&test_size=20&scale=false&stratify=false&seed=42&cv=0"
)


class _Registry:
    def __init__(self, url: str) -> None:
        self.models = ModelRegistry(make_engine(url))


def _logged(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(predictions).where(predictions.c.status == "ok"))


def _answered_by_server(host: str) -> int:
    """Predict calls answered 200, as the server counted them (/metrics, from loopback)."""
    text = requests.get(f"{host}/metrics", timeout=10).text
    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(text)
            if family.name == "dashhub_requests"
            for sample in family.samples
            if sample.name == "dashhub_requests_total"
            and sample.labels["endpoint"].endswith("/predict")
            and sample.labels["status"] == "200"
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument(
        "--rates", default="10,19", help="calls per second per client, one paced run for each"
    )
    parser.add_argument("--stack", choices=["embedded", "postgres"], default="embedded")
    args = parser.parse_args()
    extra_env, drop = {}, None
    if args.stack == "postgres":  # a database of the run's own, dropped at the end
        database_url, drop = services.create_database(services.postgres_admin_url())
        extra_env = {"DASHHUB_DATABASE__URL": database_url}
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DASHHUB_PATHS__DATA_DIR": tmp,
            "DASHHUB_SECRET_KEY": TEST_SECRET,
            "DASHHUB_ADMIN_PASSWORD": PASSWORDS["admin"],
            "DASHHUB_AUTH__LOGIN_RATE_LIMIT": "10000 per minute",
            "DASHHUB_API__RATE_LIMIT": "1000000 per minute",
            "GUNICORN_ACCESS_LOG": os.devnull,
            **extra_env,
        }
        init_demo(env)
        add_user(env, "analyst")
        url = load_settings(path=None, environ=env).database_url
        deploy(_Registry(url), "cancer", CANCER_SEED)
        _token, secret = TokenStore(make_engine(url)).create("analyst", "bench")
        port = _free_port()
        server = _start(_gunicorn(port), env, Path(tmp) / "gunicorn.log")
        host = f"http://127.0.0.1:{port}"
        try:
            _wait_for(host + "/health")
            bench_env = {
                "DASHHUB_BENCH_TOKEN": secret,
                "DASHHUB_BENCH_MODEL": "cancer",
                "DASHHUB_BENCH_USER": "analyst",
                "DASHHUB_BENCH_PASSWORD": PASSWORDS["analyst"],
            }
            for _ in range(200):  # every worker loads the model and warms up before measuring
                requests.post(
                    f"{host}/api/v1/models/cancer/predict",
                    json={"instances": instances("breast_cancer")},
                    headers={"Authorization": f"Bearer {secret}"},
                    timeout=10,
                )
            engine = make_engine(url)
            rows_before, served_before = _logged(engine), _answered_by_server(host)
            rates = [float(r) for r in args.rates.split(",")]

            def paced(rate: float) -> dict[str, str]:
                return bench_env | {"DASHHUB_BENCH_RATE": str(rate)}

            results = {
                f"predict, paced {rate * args.users:.0f}/s": run(
                    "PredictUser", host, args.users, args.seconds, paced(rate)
                )["predict"]
                for rate in rates
            }
            results |= {
                "predict, flat out": run("PredictUser", host, args.users, args.seconds, bench_env)["predict"],
                "trivial callback, flat out": run(
                    "TrivialCallbackUser", host, args.users, args.seconds, bench_env
                )["trivial callback"],
            }
            served = _answered_by_server(host) - served_before
            logged = _logged(engine) - rows_before
            batch = {"instances": (instances("breast_cancer", slice(0, 569)) * 2)[:1000]}
            headers = {"Authorization": f"Bearer {secret}"}
            times = []
            for _ in range(20):
                started = time.perf_counter()
                answer = requests.post(
                    f"{host}/api/v1/models/cancer/predict", json=batch, headers=headers, timeout=30
                )
                assert answer.status_code == 200
                times.append((time.perf_counter() - started) * 1000)
        finally:
            server.terminate()
            server.wait(timeout=20)
            if drop is not None:
                drop()
    answered = sum(s.requests - s.failures for name, s in results.items() if name.startswith("predict"))
    print(
        header(
            f"Prediction API: {args.users} locust clients, {args.seconds} s per run, one gunicorn "
            f"instance, {'PostgreSQL' if args.stack == 'postgres' else 'SQLite'}"
        )
    )
    print("| run | calls | failed | requests/s | p50 | p95 | p99 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, s in results.items():
        print(
            f"| {name} | {s.requests:,} | {s.failures} | {s.rps:.0f} | {s.p50_ms:.0f} ms "
            f"| {s.p95_ms:.0f} ms | {s.p99_ms:.0f} ms |"
        )
    ceiling = results["predict, flat out"].rps / results["trivial callback, flat out"].rps
    print(
        "\nPaced runs: each client calls at a fixed rate (offered load in the run's name). "
        f"Ratio predict / trivial callback flat out: {ceiling:.2f}. "
        f"Log rows {logged:,} for {served:,} calls the server answered with 200 (its own count, "
        f"/metrics; lost: {served - logged}); locust saw {answered:,} answers (calls cut off "
        "when a run stops were answered and logged but not counted by locust)."
    )
    print(
        f"A 1,000-instance batch, 20 calls (client round trip): p50 {percentile(times, 50):.0f} ms, "
        f"p95 {percentile(times, 95):.0f} ms."
    )


if __name__ == "__main__":
    main()
