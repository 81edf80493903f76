"""Start-up: `dashhub init --demo` time, and time until a fresh gunicorn serves its first page."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests

from bench.common import header, rss_mb
from tests.conftest import PASSWORDS, TEST_SECRET

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5


def _env(data_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "DASHHUB_PATHS__DATA_DIR": data_dir,
        "DASHHUB_SECRET_KEY": TEST_SECRET,
        "DASHHUB_ADMIN_PASSWORD": PASSWORDS["admin"],
    }


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
    """Seconds from gunicorn's start to the login page, then to the dashboards' home page of a
    user who logs in at once (index and /_dash-layout); worker RSS."""
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
        base = f"http://127.0.0.1:{port}"
        login_page = _poll(base + "/login", started)
        session = requests.Session()
        token = re.search(
            r'name="csrf_token" type="hidden" value="([^"]+)"', session.get(base + "/login").text
        )
        session.post(
            base + "/login",
            data={"username": "admin", "password": PASSWORDS["admin"], "csrf_token": token.group(1)},
        )
        assert session.get(base + "/", headers={"Accept": "text/html"}).status_code == 200
        assert session.get(base + "/_dash-layout").status_code == 200
        home = time.perf_counter() - started
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        return login_page, home, [rss_mb(int(pid)) for pid in children]
    finally:
        process.terminate()
        process.wait(timeout=20)


def _poll(url: str, started: float) -> float:
    while time.perf_counter() - started < 60:
        try:
            request = urllib.request.Request(url, headers={"Accept": "text/html"})
            with urllib.request.urlopen(request, timeout=2) as response:
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
    print(f"| gunicorn start → login page answered | {sum(indexes) / RUNS:.2f} | {max(indexes):.2f} |")
    print(
        f"| gunicorn start → logged in, home page and its layout answered | {sum(layouts) / RUNS:.2f} | "
        f"{max(layouts):.2f} |"
    )
    print(
        f"| gunicorn worker RSS after its first page (MB) | {sum(memory) / len(memory):.0f} | "
        f"{max(memory):.0f} |"
    )


if __name__ == "__main__":
    main()
