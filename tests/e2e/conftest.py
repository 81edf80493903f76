"""A real gunicorn serving the demo data, and headless Chromium that fails on console errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from playwright.sync_api import expect
from sqlalchemy import text

from dashhub.db import make_engine
from tests.conftest import PASSWORDS, TEST_SECRET
from tests.support import services
from tests.support.nginx import nginx_binary, nginx_config

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("DASHHUB_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, seconds: float = 90) -> None:
    # (several workers, the scheduler and a Celery worker import the app at once on two cores: a
    # busy machine can take longer than 30 s; a healthy one answers in a few)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def _start(command: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    log = log_path.open("w")
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def _gunicorn(port: int) -> list[str]:
    return [
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
    ]


def server_env(data_dir: Path, **extra: str) -> dict:
    """The environment of a test's own app instance: production mode (the guards apply), its data
    folder, the test secret and admin password, the embedded database unless extra names one."""
    env = {
        **os.environ,
        "DASHHUB_PATHS__DATA_DIR": str(data_dir),
        "DASHHUB_ENVIRONMENT": "production",
        "DASHHUB_SECRET_KEY": TEST_SECRET,
        "DASHHUB_ADMIN_PASSWORD": PASSWORDS["admin"],
        "GUNICORN_ACCESS_LOG": os.devnull,
        **extra,
    }
    env.pop("DASHHUB_DATABASE_URL", None)
    return env


def init_demo(env: dict) -> None:
    """`dashhub init --demo` in env: the schema, the demo data and the admin user."""
    subprocess.run(
        [sys.executable, "-m", "dashhub", "init", "--demo"], env=env, check=True, capture_output=True
    )


def production_env(data_dir: Path, database_url: str, redis_url: str, prefix: str) -> dict:
    """The environment of the compose deployment, on loopback services: PostgreSQL, Redis for
    the cache, the rate limits and the Celery broker (keys and queue of the run's own)."""
    return server_env(
        data_dir,
        DASHHUB_DATABASE__URL=database_url,
        DASHHUB_SERVER__TRUSTED_PROXIES="1",
        DASHHUB_AUTH__LOGIN_RATE_LIMIT="60 per minute",  # the suite logs in often from 127.0.0.1
        DASHHUB_CACHE__TYPE="redis",
        DASHHUB_CACHE__REDIS_URL=redis_url,
        DASHHUB_CACHE__KEY_PREFIX=prefix,
        DASHHUB_JOBS__BACKEND="celery",
        DASHHUB_JOBS__BROKER_URL=redis_url,
        DASHHUB_JOBS__QUEUE=prefix.rstrip(":"),
        GUNICORN_ACCESS_LOG=str(data_dir / "access.log"),
    )


def celery_worker() -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "dashhub.worker", "worker", "--concurrency", "2",
            "--without-gossip", "--without-mingle", "--loglevel", "INFO"]  # fmt: skip


@dataclass(frozen=True)
class LiveStack:
    base: str  # nginx's address
    database_url: str  # for independent checks of what the pages show
    env: dict = field(default_factory=dict)  # the servers' environment (for dashhub commands)
    app_ports: tuple[int, ...] = ()  # each gunicorn instance, behind nginx
    access_logs: tuple[Path, ...] = ()  # gunicorn's and nginx's


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory) -> LiveStack:
    """The production topology on loopback: nginx in front of two gunicorn instances (two workers
    each), a Celery worker, PostgreSQL and Redis (a database and key prefix of the run's own)."""
    nginx = nginx_binary()
    if nginx is None:
        pytest.exit(
            "nginx is needed by the browser tests (they run through it). "
            "Install it (Debian: apt-get install nginx).",
            returncode=3,
        )
    data_dir = tmp_path_factory.mktemp("e2e-data")
    database_url, drop_database = services.create_database(services.postgres_admin_url())
    redis_url = services.redis_url()
    prefix = f"dashhub-e2e-{uuid.uuid4().hex[:8]}:"
    env = production_env(data_dir, database_url, redis_url, prefix)
    init_demo(env)
    for role in ("viewer", "hr", "analyst"):
        add_user(env, role)
    app_ports = [_free_port(), _free_port()]
    apps = [_start(_gunicorn(p), env, data_dir / f"gunicorn-{p}.log") for p in app_ports]
    worker = _start(celery_worker(), env, data_dir / "worker.log")
    port = _free_port()
    tmp = tmp_path_factory.mktemp("nginx")
    config = nginx_config(tmp, port, app_ports)
    proxy = _start([nginx, "-p", str(tmp), "-c", str(config), "-g", "daemon off;"], env, tmp / "nginx.log")
    base = f"http://127.0.0.1:{port}"
    try:
        for app_port in app_ports:
            _wait_for(f"http://127.0.0.1:{app_port}/health")
        _wait_for(base + "/health")
        _wait_for(base + "/ready")  # the Celery worker answers too
        yield LiveStack(
            base, database_url, env, tuple(app_ports), (data_dir / "access.log", tmp / "nginx.log")
        )
    finally:
        for process in [proxy, *apps, worker]:
            process.terminate()
        for process in [proxy, *apps, worker]:
            process.wait(timeout=30)
        drop_database()
        keys = redis.Redis.from_url(redis_url)
        for key in keys.scan_iter(f"*{prefix}*"):  # the rate limiter writes LIMITS:LIMITER/<prefix>…
            keys.delete(key)


@pytest.fixture(scope="session")
def live_server(live_stack) -> str:
    """nginx's base URL of the shared production topology."""
    return live_stack.base


def live_query(live_stack: LiveStack, sql: str, **params):
    """One value computed by the database itself (independent of the app under test)."""
    engine = make_engine(live_stack.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar_one()
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.exit(
            f"Chromium is needed by the browser tests and {CHROMIUM} does not exist. "
            "Install it (Debian: apt-get install chromium chromium-driver) or set DASHHUB_TEST_CHROMIUM.",
            returncode=3,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.failed_call = report.failed


def add_user(env: dict, role: str) -> None:
    """A user named after role, with its test password, through the command line."""
    subprocess.run(
        [sys.executable, "-m", "dashhub", "users", "add", role, "--role", role, "--password-stdin"],
        env=env,
        input=PASSWORDS[role] + "\n",
        text=True,
        check=True,
        capture_output=True,
    )


PARTIAL_WEEK_LEGEND = ("semaine partielle (pointillés)", "partial week (dotted)")


def trend_regions(page) -> list[str]:
    """The regions in the Ventes trend's legend (not its « partial week » entry)."""
    names = page.locator("#sales-trend .legendtext").all_text_contents()
    return [name for name in names if name not in PARTIAL_WEEK_LEGEND]


def toggle_region(page, region: str) -> None:
    """Add or remove one region in the Ventes filter, the way a user does."""
    page.locator("#sales-regions").click()
    page.get_by_role("option", name=region, exact=True).click()
    page.keyboard.press("Escape")


OVERFLOWING = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && e.offsetParent !== null)
  .slice(0, 6)
  .map(e => `${e.tagName}.${e.className} in #${(e.closest("[id]") || {}).id}`
            + ` → ${Math.round(e.getBoundingClientRect().right)}`)"""


def horizontal_overflow(page) -> tuple[int, list[str]]:
    """How far the page is wider than the screen, and the first elements that stick out."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    return overflow, page.evaluate(OVERFLOWING)


def failing_callbacks(status: int) -> tuple[str, ...]:
    """What the browser logs when callbacks answer status: a test that provokes it expects these."""
    return (f"HTTP {status} on POST", f"status of {status}", "Callback error updating")


@contextmanager
def sales_page(browser, base: str, username: str, expected_errors: tuple[str, ...] = ()):
    """A page of its own, logged in as username, on Ventes with its KPIs drawn; console errors
    fail the test like on every other page (expected_errors: substrings a test provokes)."""
    with watched_page(browser, base, 1400) as page:
        page.expected_errors += list(expected_errors)
        log_in(page, base, username, PASSWORDS[username])
        page.goto(base + "/sales")
        expect(page.locator("#sales-kpi-total")).not_to_have_text("…")
        yield page


def log_in(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(base + "/")


@pytest.fixture(scope="session")
def viewer_session(browser, live_server, tmp_path_factory) -> str:
    """Cookies of a logged-in viewer, saved once and reused by every page."""
    context = browser.new_context()
    page = context.new_page()
    log_in(page, live_server, "viewer", PASSWORDS["viewer"])
    path = tmp_path_factory.mktemp("browser") / "viewer.json"
    context.storage_state(path=str(path))
    context.close()
    return str(path)


@pytest.fixture(scope="session")
def hr_session(browser, live_server, tmp_path_factory) -> str:
    context = browser.new_context()
    page = context.new_page()
    log_in(page, live_server, "hr", PASSWORDS["hr"])
    path = tmp_path_factory.mktemp("browser") / "hr.json"
    context.storage_state(path=str(path))
    context.close()
    return str(path)


@pytest.fixture
def hr_page(request, browser, live_server, hr_session):
    """A fresh page of a logged-in HR user."""
    yield from _page(request, browser, live_server, getattr(request, "param", 1400), hr_session)


@pytest.fixture(scope="session")
def analyst_session(browser, live_server, tmp_path_factory) -> str:
    context = browser.new_context()
    page = context.new_page()
    log_in(page, live_server, "analyst", PASSWORDS["analyst"])
    path = tmp_path_factory.mktemp("browser") / "analyst.json"
    context.storage_state(path=str(path))
    context.close()
    return str(path)


@pytest.fixture
def analyst_page(request, browser, live_server, analyst_session):
    """A fresh page of a logged-in analyst (who may open the ML dashboards)."""
    yield from _page(request, browser, live_server, getattr(request, "param", 1400), analyst_session)


@pytest.fixture
def anonymous_page(browser, live_server):
    yield from _page(None, browser, live_server, 1400)


@pytest.fixture
def page(request, browser, live_server, viewer_session):
    """A fresh page of a logged-in viewer; the test fails on any console error or page error."""
    yield from _page(request, browser, live_server, getattr(request, "param", 1400), viewer_session)


def _page(request, browser, live_server, width: int, storage_state: str | None = None):
    with watched_page(browser, live_server, width, storage_state, request) as page:
        yield page


@contextmanager
def watched_page(browser, base: str, width: int, storage_state: str | None = None, request=None):
    """A page in a context of its own; on leaving, any console error, page error or HTTP error
    that the test did not declare in page.expected_errors fails it (with a screenshot)."""
    context = browser.new_context(
        viewport={"width": width, "height": 1000}, accept_downloads=True, storage_state=storage_state
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on(
        "console",
        lambda msg: errors.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None,
    )
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on(
        "response",
        lambda r: (
            errors.append(f"HTTP {r.status} on {r.request.method} {r.url}") if r.status >= 400 else None
        ),
    )
    page.base_url = base
    page.expected_errors = []  # substrings of errors a test provokes on purpose
    failed = False
    try:
        yield page
    except BaseException:
        failed = True
        raise
    finally:
        unexpected = [e for e in errors if not any(allowed in e for allowed in page.expected_errors)]
        if failed or unexpected or (request is not None and getattr(request.node, "failed_call", False)):
            ARTIFACTS.mkdir(exist_ok=True)
            name = request.node.name if request is not None else f"page-{uuid.uuid4().hex[:6]}"
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        context.close()
    assert unexpected == [], "browser console errors:\n" + "\n".join(unexpected)


def pytest_collection_modifyitems(items):
    for item in items:
        if "e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
