"""Start-up: `dashhub init --demo` time, and time until a fresh gunicorn serves its first page."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import header, rss_mb

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5


def _env(data_dir: str) -> dict[str, str]:
    return {**os.environ, "DASHHUB_PATHS__DATA_DIR": data_dir, "DASHHUB_ENVIRONMENT": "development"}


def time_init(data_dir: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dashhub", "init", "--demo"],
        env=_env(data_dir),
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def first_page(data_dir: str) -> tuple[float, float, list[float]]:
    """Seconds from gunicorn's start to the first 200 on / and on /_dash-layout; worker RSS."""
    port = _free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "dashhub.wsgi:server",
        ],
        env={**_env(data_dir), "GUNICORN_ACCESS_LOG": os.devnull},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        index = _poll(f"http://127.0.0.1:{port}/", started)
        layout = _poll(f"http://127.0.0.1:{port}/_dash-layout", started)
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        return index, layout, [rss_mb(int(pid)) for pid in children]
    finally:
        process.terminate()
        process.wait(timeout=20)


def _poll(url: str, started: float) -> float:
    while time.perf_counter() - started < 60:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"{url} did not answer in 60 s")


def main() -> None:
    inits, indexes, layouts, memory = [], [], [], []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as data_dir:
            inits.append(time_init(data_dir))
            index, layout, workers = first_page(data_dir)
            indexes.append(index)
            layouts.append(layout)
            memory.extend(workers)
    print(header("Start-up (seconds; mean and worst of 5 runs)"))
    print("| what | mean | worst |")
    print("| --- | --- | --- |")
    print(
        f"| `dashhub init --demo` (schema + 11,696 sales rows + 2,000 employees, SQLite) "
        f"| {sum(inits) / RUNS:.2f} | {max(inits):.2f} |"
    )
    print(f"| gunicorn start → first `/` answered | {sum(indexes) / RUNS:.2f} | {max(indexes):.2f} |")
    print(
        f"| gunicorn start → first `/_dash-layout` answered | {sum(layouts) / RUNS:.2f} | "
        f"{max(layouts):.2f} |"
    )
    print(
        f"| gunicorn worker RSS after its first page (MB) | {sum(memory) / len(memory):.0f} | "
        f"{max(memory):.0f} |"
    )


if __name__ == "__main__":
    main()
