"""Explorateur ML: server time of a configuration change (train + every number of the main tabs),
the same configuration again, a Random Forest with cross-validation as a background job, the
tabs computed on demand, and the cost estimate that sends a configuration to a job, against
what it measured. Prints markdown for docs/benchmarks.md."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import header, percentile, summary, timed_app
from dashhub.db import make_engine
from dashhub.domain.ml import DATASETS, MODELS, SEED_SCREEN, config_from_query
from dashhub.domain.query import parse_search
from dashhub.migrations import upgrade
from dashhub.services.training import bundled_dataset, estimated_seconds, evaluate
from tests.support.dash_requests import find_prop, page_body
from tests.support.ml_requests import PATH, configure_body, render, start_job, train_body

SVM = "?dataset=breast_cancer&model=svm&C=1&kernel=rbf&gamma=scale&test_size=20&scale=true&cv=5&seed={seed}"
FOREST = "?dataset=breast_cancer&model=random_forest&n_estimators=100&cv=5&seed={seed}"


def cfg(query: str):
    return config_from_query(parse_search(query))[0]


def change(client, timer, config) -> tuple[float, dict]:
    """A configuration change as the browser makes it: the controls' callback, then the drawing."""
    response = client.post(PATH, json=configure_body(config))
    first = timer.last_ms
    run = response.get_json()["response"]["ml-run"]["data"]
    render(client, run)
    return first + timer.last_ms, run


def job_seconds(client, timer, config) -> tuple[float, float]:
    """(seconds to the first progress report, seconds until the job answered), polled every 20 ms."""
    _ms, run = change(client, timer, config)
    page = client.post(PATH, json=page_body("/ml/explorer")).get_json()
    body = train_body({"query": run["query"]}, find_prop(page, "ml-ticket", "data"))
    started = time.perf_counter()
    handles = start_job(client, body)
    first = None
    while True:
        payload = client.post(PATH, json=body, query_string=handles).get_json()
        if payload.get("progress") and first is None:
            first = time.perf_counter() - started
        if "response" in payload:
            return first or 0.0, time.perf_counter() - started
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        url = f"sqlite:///{data_dir}/ml.db"
        upgrade(make_engine(url))
        app, timer, client = timed_app(url, data_dir, "analyst")
        cold = [change(client, timer, cfg(SVM.format(seed=s)))[0] for s in range(args.runs)]
        warm = [change(client, timer, cfg(SVM.format(seed=0)))[0] for _ in range(args.runs)]
        jobs = [job_seconds(client, timer, cfg(FOREST.format(seed=s))) for s in range(5)]
        ml = app.server.extensions["dashhub"].ml
        lazy = {}
        for label, call in (
            ("permutation importance (SVM, Breast Cancer)", lambda: ml.permutation_importance(SEED_SCREEN)),
            ("decision boundary on two principal components", lambda: ml.boundary(SEED_SCREEN, None)),
            ("one feature's distribution by class", lambda: ml.distribution("breast_cancer", "mean radius")),
        ):
            started = time.perf_counter()
            call()
            lazy[label] = (time.perf_counter() - started) * 1000

    print(header("Explorateur ML"))
    print("| measure | p50 / p95 |")
    print("| --- | --- |")
    print(
        f"| SVM on Breast Cancer, new configuration: train, CV 5, every number (ms, {args.runs} seeds) | "
        f"{summary(cold)} |"
    )
    print(f"| the same configuration again (ms) | {summary(warm)} |")
    firsts, totals = [j[0] for j in jobs], [j[1] for j in jobs]
    print(
        f"| Random Forest 100 trees + 5-fold CV as a job: first progress (s) | "
        f"{percentile(firsts, 50):.2f} / {percentile(firsts, 95):.2f} |"
    )
    print(
        f"| the same job: until its answer, spawn and polling included (s) | "
        f"{percentile(totals, 50):.2f} / {percentile(totals, 95):.2f} |"
    )
    for label, ms in lazy.items():
        print(f"| tab computed on demand: {label} (ms, once) | {ms:.0f} |")

    print(
        "\nCost estimate (decides job or request; threshold 0.5 s) against the time measured, defaults "
        "with 5-fold CV:\n"
    )
    print("| dataset | model | estimated s | measured s | runs as |")
    print("| --- | --- | --- | --- | --- |")
    for dataset in DATASETS:
        data = bundled_dataset(dataset)
        for model in MODELS:
            config = cfg(f"?dataset={dataset}&model={model}&cv=5")
            estimate = estimated_seconds(config, len(data.y), len(data.features), len(data.classes))
            started = time.perf_counter()
            evaluate(config, data)
            measured = time.perf_counter() - started
            where = "request" if estimate <= 0.5 else "job"
            print(f"| {dataset} | {model} | {estimate:.3f} | {measured:.3f} | {where} |")


if __name__ == "__main__":
    main()
