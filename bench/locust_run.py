"""Run a locust user class headless against a host (loopback) and read its statistics."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"


@dataclass(frozen=True)
class Stats:
    name: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


def run(user_class: str, host: str, users: int, seconds: int, env: dict[str, str]) -> dict[str, Stats]:
    """locust -f bench/locustfile.py USER_CLASS --headless: statistics per request name, and
    "Aggregated" for all of them."""
    with tempfile.TemporaryDirectory() as tmp:
        prefix = str(Path(tmp) / "run")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(LOCUSTFILE),
                user_class,
                "--headless",
                "-u",
                str(users),
                "-r",
                str(users),
                "-t",
                f"{seconds}s",
                "--host",
                host,
                "--csv",
                prefix,
                "--only-summary",
                "--loglevel",
                "WARNING",
                "--stop-timeout",
                "5",
            ],
            env={**os.environ, **env},
            check=False,
            capture_output=True,
            text=True,
            timeout=seconds + 120,
        )
        with open(prefix + "_stats.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    return {
        row["Name"]: Stats(
            row["Name"],
            int(row["Request Count"]),
            int(row["Failure Count"]),
            float(row["Requests/s"]),
            float(row["50%"]),
            float(row["95%"]),
            float(row["99%"]),
        )
        for row in rows
    }
