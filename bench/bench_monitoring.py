"""Monitoring ML at scale: 30 days × 100,000 predictions a day (3 M rows, PostgreSQL by default) of
a served model, a third with feedback. Measures the first rollup of the whole log, the refresh
the scheduler runs every few seconds (one minute of new traffic), and the page's callback server
time cold (rollups just refreshed by the scheduler: the view computed anew), warm (the same view
again) and with the Refresh button (the refresh in the request), for 24 h, 7 d and 30 d. Prints
markdown for docs/benchmarks.md.

The model is Iris (4 features): the log's size follows the features' JSON, and 3 M rows of
Breast Cancer's 30 features would be 2 GB to generate here; the drift tests read a bounded sample
whatever the log's size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import header, percentile, timed_app
from dashhub.db import make_engine, predictions
from dashhub.domain.monitoring import model_key
from dashhub.migrations import upgrade
from dashhub.services.models import ModelRegistry
from dashhub.services.rollups import refresh
from dashhub.services.traffic import deploy
from dashhub.services.training import bundled_dataset
from tests.support import services
from tests.support.api import IRIS
from tests.support.monitoring import monitoring_body

PATH = "/_dash-update-component"


NULL = "\\N"


def _line(*values) -> str:
    """One row of COPY's text format."""
    return "\t".join(str(v) for v in values) + "\n"


def fill(engine, model, days: int, per_day: int, now: dt.datetime, seed: int = 3) -> int:
    """days × per_day logged predictions of model before now (1 % refused), a third with feedback,
    written with COPY (PostgreSQL) a day at a time."""
    data = bundled_dataset(model.dataset)
    rng = np.random.default_rng(seed)
    names = [f["name"] for f in model.features]
    total = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for day in range(days, 0, -1):
            start = now - dt.timedelta(days=day)
            offsets = np.sort(rng.uniform(0, 86400, per_day))
            picks = rng.integers(0, len(data.X), per_day)
            latency = rng.lognormal(np.log(8.0), 0.35, per_day)
            refused = rng.random(per_day) < 0.01
            labelled = rng.random(per_day) < 1 / 3
            log, given = io.StringIO(), io.StringIO()
            for i in range(per_day):
                at = (start + dt.timedelta(seconds=float(offsets[i]))).isoformat()
                pid = uuid.uuid4().hex
                label = data.classes[int(data.y[picks[i]])]
                head = (pid, at, model.name, model.version)
                if refused[i]:
                    log.write(_line(*head, NULL, NULL, NULL, latency[i], "rejected", "missing feature", NULL))
                    continue
                features = json.dumps(dict(zip(names, data.X[picks[i]].tolist(), strict=True)))
                log.write(_line(*head, features, label, NULL, latency[i], "ok", NULL, NULL))
                if labelled[i]:
                    truth = label if rng.random() < 0.95 else data.classes[0]
                    given.write(_line(pid, truth, truth == label, at))
            with cursor.copy(
                "COPY predictions (id, at, model_name, model_version, features, label, probabilities, "
                "latency_ms, status, error, token_id) FROM STDIN"
            ) as copy:
                copy.write(log.getvalue())
            with cursor.copy("COPY feedback (prediction_id, label, correct, at) FROM STDIN") as copy:
                copy.write(given.getvalue())
            raw.commit()
            total += per_day
    finally:
        raw.close()
    return total


def recent(engine, model, count: int) -> None:
    """count answered predictions logged just now, as the API logs them."""
    data = bundled_dataset(model.dataset)
    names = [f["name"] for f in model.features]
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "id": uuid.uuid4().hex,
            "at": now,
            "model_name": model.name,
            "model_version": model.version,
            "features": json.dumps(dict(zip(names, data.X[i % len(data.X)].tolist(), strict=True))),
            "label": data.classes[0],
            "probabilities": None,
            "latency_ms": 5.0,
            "status": "ok",
            "error": None,
            "token_id": None,
        }
        for i in range(count)
    ]
    with engine.begin() as conn:
        conn.execute(insert(predictions), rows)


def page_times(client, timer, engine, key: str, period: str, runs: int, kind: str) -> list[float]:
    """Server time of the page's callback (ms). cold: the scheduler has just refreshed the rollups
    (outside the request), so the view is computed anew, as the page's automatic refresh finds
    it every `refresh_every_seconds`; button: « Rafraîchir les données » (the refresh runs in the
    request, then the view); warm: the same view again, from the cache."""
    times = []
    for run in range(runs):
        if kind == "cold":
            refresh(engine)
        body = monitoring_body(key, period, refresh=run + 1 if kind == "button" else None)
        response = client.post(PATH, json=body)
        assert response.status_code == 200, response.status_code
        times.append(timer.last_ms)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    database_url, drop = services.create_database(services.postgres_admin_url())
    try:
        engine = make_engine(database_url)
        upgrade(engine)
        registry = ModelRegistry(engine)
        model = deploy(registry, "iris", IRIS, "bench")
        now = dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        rows = fill(engine, model, args.days, args.per_day, now)
        fill_s = time.perf_counter() - started
        started = time.perf_counter()
        refresh(engine)
        first_s = time.perf_counter() - started
        minute = []
        for _ in range(10):  # a minute of traffic at per_day a day, then the scheduler's refresh
            recent(engine, model, max(1, args.per_day // 1440))
            started = time.perf_counter()
            refresh(engine)
            minute.append((time.perf_counter() - started) * 1000)
        with tempfile.TemporaryDirectory() as tmp:
            app, timer, client = timed_app(database_url, tmp, "analyst")
            key = model_key(model.name, model.version)
            results = {}
            for period in ("24h", "7d", "30d"):
                results[period] = [
                    page_times(client, timer, engine, key, period, args.runs, kind)
                    for kind in ("cold", "warm", "button")
                ]
            app.server.extensions["dashhub"].engine.dispose()
        engine.dispose()
    finally:
        drop()
    print(header(f"Monitoring ML: {rows:,} logged predictions over {args.days} days (PostgreSQL)"))
    print(f"Generating the log (COPY): {fill_s:.0f} s. First rollup of the whole log: {first_s:.1f} s.")
    print(
        f"The scheduler's refresh after a minute of traffic ({max(1, args.per_day // 1440)} calls): "
        f"p50 {percentile(minute, 50):.0f} ms, p95 {percentile(minute, 95):.0f} ms.\n"
    )
    print("| period | page refresh, cold (p50 / p95 ms) | warm | « Rafraîchir les données » |")
    print("| --- | --- | --- | --- |")
    for period, (cold, warm, button) in results.items():
        print(
            f"| {period} | {percentile(cold, 50):.0f} / {percentile(cold, 95):.0f} "
            f"| {percentile(warm, 50):.1f} / {percentile(warm, 95):.1f} "
            f"| {percentile(button, 50):.0f} / {percentile(button, 95):.0f} |"
        )


if __name__ == "__main__":
    main()
