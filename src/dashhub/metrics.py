"""Prometheus metrics (prometheus-client), correct under several gunicorn workers.

Multiprocess mode: each process writes its samples to files in PROMETHEUS_MULTIPROC_DIR, and
/metrics adds them up. The directory must be set before prometheus_client is first imported:
deploy/gunicorn.conf.py sets it for the whole server (and empties it at start), `dashhub serve`
for its process; anything else gets a folder under the system's temporary directory.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", str(Path(tempfile.gettempdir()) / f"dashhub-metrics-{os.getuid()}")
)
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

from flask import Flask, Response, g, request  # noqa: E402
from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

# Seconds; 0.1 s is the seed's latency threshold.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("dashhub_requests", "HTTP requests answered", ["endpoint", "method", "status"])
LATENCY = Histogram(
    "dashhub_request_duration_seconds", "Time to answer a request", ["endpoint"], buckets=LATENCY_BUCKETS
)
PREDICTIONS = Counter("dashhub_predictions", "Instances predicted", ["model", "version", "label"])
FEEDBACK = Counter("dashhub_feedback", "Feedback labels stored (new or changed)")
CACHE = Counter("dashhub_cache", "Query cache lookups", ["result"])
JOBS = Counter("dashhub_jobs", "Background jobs by how they ended", ["kind", "state"])


def endpoint_label() -> str:
    """A bounded label for the request: the route's rule, never the raw path (ids, queries)."""
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"


def install(server: Flask, allowed_networks: list[str], may_read) -> None:
    """Time and count every request; serve /metrics to allowed networks or a permitted token.

    may_read(authorization_header) tells whether a token with the metrics permission was given.
    """
    networks = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]

    @server.before_request
    def start_timer():
        g.metrics_started = time.perf_counter()

    @server.after_request
    def count(response: Response) -> Response:
        started = g.get("metrics_started")
        if started is not None:
            endpoint = endpoint_label()
            LATENCY.labels(endpoint).observe(time.perf_counter() - started)
            REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        return response

    @server.route("/metrics")
    def metrics() -> Response:
        if not (_from(networks) or may_read(request.headers.get("Authorization", ""))):
            return Response(
                "metrics are for allowed networks or a token with the metrics permission\n",
                status=403,
                mimetype="text/plain",
            )
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _from(networks) -> bool:
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in networks)
