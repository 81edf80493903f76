"""Traffic for the monitoring: the demo's 30 days of history and the HTTP traffic simulator.

The history goes through the real model: real rows of the bundled dataset, predicted by the
deployed version, logged as the API logs them, with the dataset's true labels sent back as
feedback for a share of them. Only the times and the latencies are made up (they cannot be
measured after the fact). It holds one story: an error burst 12 days ago, a latency incident 4
days ago, and a drift of the size features over the last day and a half, still going on.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlparse

import numpy as np
import requests
from sqlalchemy import Engine, insert

from dashhub.db import feedback, predictions
from dashhub.domain.ml import ModelVersion, config_from_query, query_for
from dashhub.domain.query import parse_search
from dashhub.services.models import LoadedModel, ModelRegistry, reference_sample
from dashhub.services.predictions import log_row, predictions_of
from dashhub.services.training import LOADERS, bundled_dataset, calibration, evaluate, split

# The seed's screen (« Écran du cours »): SVM on Breast Cancer, accuracy 0.947 on 114 test rows.
DEMO_MODEL = "cancer"
DEMO_QUERY = (
    "?dataset=breast_cancer&model=svm&C=1&kernel=rbf&gamma=scale&test_size=20&scale=true&seed=42&cv=0"
)
DRIFTED_WORDS = ("radius", "perimeter", "area")  # the tumour-size features the drift enlarges
DRIFT_FACTOR = 1.2


def deploy(registry: ModelRegistry, name: str, query: str, user: str, activate: bool = True) -> ModelVersion:
    """Train an explorer configuration (its address) and register it as name's next version."""
    config = config_from_query(parse_search(query))[0]
    data = bundled_dataset(config.dataset)
    result, estimator = evaluate(config, data)
    reference = reference_sample(split(config, data)[0], data.features, config.seed)
    model = LoadedModel(estimator, calibration(config, data, estimator))
    return registry.register(name, result, model, reference, user, query_for(config), activate)


@dataclass(frozen=True)
class Story:
    """When the demo's incidents happen, relative to now."""

    days: int = 30
    per_hour: int = 60
    feedback_share: float = 0.4
    error_burst: tuple[float, float] = (12 * 24 + 3, 12 * 24 + 2)  # hours ago: from, to
    latency_incident: tuple[float, float] = (4 * 24 + 2, 4 * 24)
    drift_since: float = 36  # hours ago


@dataclass(frozen=True)
class HistoryReport:
    predictions: int
    refused: int
    feedback: int


def drifted_features(features: list[str]) -> list[str]:
    """The size features (Breast Cancer); every feature of a dataset that has none."""
    sizes = [f for f in features if any(word in f for word in DRIFTED_WORDS)]
    return sizes or list(features)


def demo_history(
    engine: Engine,
    model: ModelVersion,
    loaded: LoadedModel,
    now: dt.datetime | None = None,
    story: Story = Story(),
    seed: int = 11,
) -> HistoryReport:
    """Fill the prediction log with story.days of traffic for model, ending now."""
    now = now or dt.datetime.now(dt.UTC)
    data = bundled_dataset(model.dataset)
    rng = np.random.default_rng(seed)
    names = [f["name"] for f in model.features]
    shifted = [names.index(f) for f in drifted_features(names)]
    start = now - dt.timedelta(days=story.days)
    moments, ago = _call_times(rng, start, now, story.per_hour)
    picks = rng.integers(0, len(data.X), len(moments))
    X = data.X[picks].copy()
    drifting = ago <= story.drift_since
    X[np.ix_(drifting, shifted)] *= DRIFT_FACTOR
    latency = rng.lognormal(np.log(8.0), 0.35, len(moments))
    slow = (ago >= story.latency_incident[1]) & (ago <= story.latency_incident[0])
    latency[slow] = rng.lognormal(np.log(180.0), 0.3, int(slow.sum()))
    burst = (ago >= story.error_burst[1]) & (ago <= story.error_burst[0])
    refused = rng.random(len(moments)) < np.where(burst, 0.35, 0.01)
    answered = ~refused
    indices, probabilities = loaded.predict(X[answered])
    made = predictions_of(model, indices, probabilities)
    kept = [m for m, keep in zip(moments, answered, strict=True) if keep]
    rows = [
        log_row(model, names, row, p, moment, float(ms), None)
        for p, row, moment, ms in zip(made, X[answered].tolist(), kept, latency[answered], strict=True)
    ]
    error = json.dumps({"instance": 0, "feature": names[0], "message": "missing feature"})
    refusals = [
        {
            "id": uuid.uuid4().hex,
            "at": moment,
            "model_name": model.name,
            "model_version": model.version,
            "latency_ms": float(ms),
            "status": "rejected",
            "error": error,
            "token_id": None,
        }
        for moment, ms, refuse in zip(moments, latency, refused, strict=True)
        if refuse
    ]
    truth = [data.classes[int(i)] for i in data.y[picks[answered]]]
    delays = rng.uniform(10, 360, len(rows))
    given = [
        {
            "prediction_id": row["id"],
            "label": label,
            "correct": label == row["label"],
            "at": row["at"] + dt.timedelta(minutes=float(delay)),
        }
        for row, label, delay, keep in zip(
            rows, truth, delays, rng.random(len(rows)) < story.feedback_share, strict=True
        )
        if keep and row["at"] + dt.timedelta(minutes=float(delay)) < now
    ]
    with engine.begin() as conn:
        for first in range(0, len(rows), 5000):
            conn.execute(insert(predictions), rows[first : first + 5000])
        if refusals:
            conn.execute(insert(predictions), refusals)
        for first in range(0, len(given), 5000):
            conn.execute(insert(feedback), given[first : first + 5000])
    return HistoryReport(len(rows), len(refusals), len(given))


def _call_times(
    rng, start: dt.datetime, now: dt.datetime, per_hour: int
) -> tuple[list[dt.datetime], np.ndarray]:
    """Times of the calls between start and now (a Poisson count per hour, busier in the afternoon),
    and how many hours before now each one is."""
    hours = int((now - start) / dt.timedelta(hours=1))
    moments: list[dt.datetime] = []
    for hour in range(hours):
        begin = start + dt.timedelta(hours=hour)
        busy = 1 + 0.5 * np.sin((begin.hour - 9) / 24 * 2 * np.pi)
        offsets = np.sort(rng.uniform(0, 3600, int(rng.poisson(per_hour * busy))))
        moments.extend(begin + dt.timedelta(seconds=float(s)) for s in offsets)
    moments = [m for m in moments if m < now]
    ago = np.array([(now - m) / dt.timedelta(hours=1) for m in moments])
    return moments, ago


# --- the simulator: real HTTP calls to a running API ---

MAX_RATE = 500.0  # calls per second
MAX_DURATION = 3600.0  # seconds


class SimulationError(ValueError):
    """The simulation cannot start (bad target, unknown model, out-of-bounds settings)."""


@dataclass(frozen=True)
class SimulationReport:
    sent: int
    answered: int
    refused: int
    failed: int
    feedback: int
    seconds: float


def check_target(url: str, allow_remote: bool) -> str:
    """The API's base URL; only loopback unless allow_remote."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise SimulationError(f"--url must be http(s)://host[:port][/prefix]; got {url!r}")
    if not allow_remote:
        host = parsed.hostname
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise SimulationError(f"{host} is not this machine: add --allow-remote to send traffic there")
    return url.rstrip("/")


def simulate(
    url: str,
    token: str,
    model: str,
    rate: float,
    duration: float,
    drift: float = 0.0,
    error_rate: float = 0.0,
    feedback_share: float = 0.0,
    seed: int = 0,
    session: requests.Session | None = None,
) -> SimulationReport:
    """Call POST {url}/api/v1/models/{model}/predict `rate` times a second for `duration` seconds
    with rows of the model's dataset: `drift` multiplies its size features by (1 + drift), a share
    `error_rate` of calls lacks a feature (the API refuses them), and the true labels of a share
    `feedback_share` of the answers are sent back to /api/v1/feedback."""
    if not 0 < rate <= MAX_RATE:
        raise SimulationError(f"--rate must be in (0, {MAX_RATE:g}] calls per second")
    if not 0 < duration <= MAX_DURATION:
        raise SimulationError(f"--duration must be in (0, {MAX_DURATION:g}] seconds")
    for name, value in (("--error-rate", error_rate), ("--feedback-share", feedback_share)):
        if not 0 <= value <= 1:
            raise SimulationError(f"{name} must be between 0 and 1")
    if not -0.9 <= drift <= 10:
        raise SimulationError("--drift must be between -0.9 and 10 (a relative change of the size features)")
    http = session or requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    served = _served(http, url, model)
    names = [f["name"] for f in served["features"]]
    if served["dataset"] not in LOADERS:
        raise SimulationError(
            f"{model} was trained on a user's own dataset: the simulator sends rows of the bundled "
            f"datasets ({', '.join(LOADERS)}) only"
        )
    data = bundled_dataset(served["dataset"])
    if data.features != names:
        raise SimulationError(f"the features of {model} are not those of the {served['dataset']} dataset")
    shifted = [names.index(f) for f in drifted_features(names)] if drift else []
    rng = np.random.default_rng(seed)
    counts = {"sent": 0, "answered": 0, "refused": 0, "failed": 0, "feedback": 0}
    pending: list[dict] = []
    started = time.monotonic()
    total = int(rate * duration)
    for index in range(total):
        due = started + index / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        pick = int(rng.integers(0, len(data.X)))
        row = data.X[pick].copy()
        row[shifted] *= 1 + drift
        instance = dict(zip(names, row.tolist(), strict=True))
        if rng.random() < error_rate:
            instance.pop(names[0])
        counts["sent"] += 1
        try:
            answer = http.post(
                f"{url}/api/v1/models/{model}/predict", json={"instances": [instance]}, timeout=10
            )
        except requests.RequestException:
            counts["failed"] += 1
            continue
        if answer.status_code != 200:
            counts["refused" if answer.status_code < 500 else "failed"] += 1
            continue
        counts["answered"] += 1
        if rng.random() < feedback_share:
            made = answer.json()["predictions"][0]
            pending.append({"id": made["id"], "label": data.classes[int(data.y[pick])]})
        if len(pending) >= 50:
            counts["feedback"] += _send_feedback(http, url, pending)
    if pending:
        counts["feedback"] += _send_feedback(http, url, pending)
    return SimulationReport(**counts, seconds=time.monotonic() - started)


def _served(http: requests.Session, url: str, model: str) -> dict:
    try:
        answer = http.get(f"{url}/api/v1/models", timeout=10)
    except requests.RequestException as exc:
        raise SimulationError(f"cannot reach {url}: {exc.__class__.__name__}") from None
    if answer.status_code in (401, 403):
        raise SimulationError("the API refused the token (it needs the predict permission)")
    if answer.status_code != 200:
        raise SimulationError(f"GET {url}/api/v1/models answered {answer.status_code}")
    for entry in answer.json().get("models", []):
        if entry.get("name") == model:
            active = next((v for v in entry.get("versions", []) if v.get("active")), None)
            if active is None:
                break
            return active
    raise SimulationError(f"no served version of {model!r} (deploy one from the ML explorer)")


def _send_feedback(http: requests.Session, url: str, pending: list[dict]) -> int:
    batch, pending[:] = list(pending), []
    try:
        answer = http.post(f"{url}/api/v1/feedback", json={"feedback": batch}, timeout=10)
    except requests.RequestException:
        return 0
    return int(answer.json().get("accepted", 0)) if answer.status_code == 200 else 0
