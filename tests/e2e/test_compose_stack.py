"""`docker compose up`, for real: the image built from the Dockerfile, the whole stack of the repository's
own docker-compose.yml with a .env made from .env.example, and a user's path through nginx.

The bases are stand-ins made from Debian packages (tests/compose/standins.py: image registries are out
of reach here), kept between runs; everything else the test makes (the app image, containers,
network, volumes) is removed at the end, passed or failed. Only loopback: nginx is published on
127.0.0.1, the services talk on the compose network, and only the builds download packages.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from dashhub.i18n import fmt_number
from tests.compose import standins
from tests.e2e.conftest import ARTIFACTS, _free_port, log_in, watched_page
from tests.support import compose
from tests.support.compose import APP_REPOSITORY, PREFIX, ComposeStack

pytestmark = pytest.mark.compose

ROOT = Path(__file__).resolve().parents[2]
SALES_CHARTS = ("#sales-trend", "#sales-animation", "#sales-stacked")
HR_CHARTS = ("#hr-salary", "#hr-scatter", "#hr-departments", "#hr-heatmap")
KEEPER = ("keeper", "Outlives-Restarts-2026!")  # a user added before `down`, expected after `up`
DATA_VERSIONS = (
    "SELECT string_agg(name || '=' || version, ',' ORDER BY name) FROM data_versions"
    " WHERE name IN ('sales', 'employees')"
)


def say(message: str) -> None:
    print(f"[compose] {message}", flush=True)


def checkout_copy(target: Path) -> None:
    """The repository's files as a clone has them (tracked and new files, not ignored ones): the
    build context and the compose project, with a .env of their own (the developer's stays put)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout  # fmt: skip
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def env_from_example(directory: Path, port: int, admin_password: str) -> None:
    """.env as a user makes it: .env.example with the secrets filled in; here also nginx on
    loopback only, the examples loaded on first start, two gunicorn workers per container."""
    values = {
        "DASHHUB_SECRET_KEY": secrets.token_urlsafe(48),
        "DASHHUB_ADMIN_PASSWORD": admin_password,
        "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
        "HTTP_PORT": f"127.0.0.1:{port}",
        "DASHHUB_LOAD_EXAMPLES": "true",
        "GUNICORN_WORKERS": "2",
    }
    lines = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        name = line.lstrip("# ").split("=", 1)[0]
        if "=" in line and name in values:
            line = f"{name}={values.pop(name)}"
        lines.append(line)
    assert not values, f".env.example no longer has {sorted(values)}"
    (directory / ".env").write_text("\n".join(lines) + "\n")


def build_app_image(directory: Path, tag: str, python_image: str) -> float:
    """The Dockerfile, unchanged, on the Python stand-in (downloads allowed: --network host)."""
    command, env = standins.buildkit_command()
    started = time.monotonic()
    with standins.build_lock():
        result = subprocess.run(
            [*command, "--network", "host", "--build-arg", f"PYTHON_IMAGE={python_image}",
             "--tag", tag, str(directory)],
            env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
    if result.returncode != 0:
        raise compose.ComposeError(f"the image did not build:\n{result.stderr[-6000:]}")
    return time.monotonic() - started


@pytest.fixture(scope="module")
def stack(request, tmp_path_factory) -> ComposeStack:
    """The image built, the stack up and every service as the compose file says; removed at the end."""
    problem = compose.daemon_problem()
    if problem:
        pytest.fail(f"the compose test needs a running docker daemon: {problem}", pytrace=False)
    removed = compose.remove_abandoned_projects()
    if removed:
        say(f"removed what killed runs left behind: {', '.join(removed)}")
    started = time.monotonic()
    try:
        images = standins.ensure_all()
    except standins.StandinError as exc:
        pytest.fail(f"the stand-in base images could not be made: {exc}", pytrace=False)
    say(f"stand-in bases ready in {time.monotonic() - started:.0f} s")

    project = f"{PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
    directory = tmp_path_factory.mktemp("compose") / "dashhub"
    directory.mkdir()
    checkout_copy(directory)
    port = _free_port()
    admin_password = f"Compose-{secrets.token_urlsafe(12)}-2026!"
    env_from_example(directory, port, admin_password)
    images = {**images, "DASHHUB_IMAGE": f"{APP_REPOSITORY}:{project}"}
    stack = ComposeStack(project, directory, images, port, admin_password)
    failed_before, up = request.session.testsfailed, False
    say(f"project {project} with {' '.join(stack.command)} {compose.compose_version(stack.command)}")
    try:
        seconds = build_app_image(directory, images["DASHHUB_IMAGE"], images["PYTHON_IMAGE"])
        say(f"app image built in {seconds:.0f} s")
        log = directory / "up.log"
        seconds = stack.wait_until_up(stack.start_compose("up", "-d", "--no-build", log=log), log)
        say(f"stack up and ready in {seconds:.0f} s ({stack.timeline_text()})")
        up = True
        yield stack
    finally:
        finished = time.monotonic()
        try:
            if not up or request.session.testsfailed > failed_before:
                save_logs(stack)
            stack.compose("down", "--volumes", "--remove-orphans", "--timeout", "10", check=False)
        finally:
            compose.remove_project(project)  # whatever `down` left, and the app image
            left = compose.left_behind(project)
            say(f"removed in {time.monotonic() - finished:.0f} s")
            assert not left, f"the compose test left behind: {left}"


def save_logs(stack: ComposeStack) -> None:
    """Every container's whole output, for a run that failed (test-artifacts/compose/)."""
    folder = ARTIFACTS / "compose"
    folder.mkdir(parents=True, exist_ok=True)
    logs = stack.compose("logs", "--no-color", "--timestamps", check=False, timeout=120).stdout
    path = folder / f"{stack.project}.log"
    path.write_text(logs)
    say(f"the containers' output is in {path.relative_to(ROOT)}")


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def docker_now() -> str:
    return compose.docker("info", "--format", "{{.SystemTime}}").stdout.strip()


@contextmanager
def browsing(stack: ComposeStack, browser):
    """A page of its own through nginx (console errors fail the test, as everywhere); when a step
    fails, the message adds what the browser saw go wrong and the containers' state and logs."""
    seen: list[str] = []
    try:
        with watched_page(browser, stack.base, 1400) as page:
            page.on(
                "console", lambda m: seen.append(f"console {m.type}: {m.text}") if m.type == "error" else None
            )
            page.on(
                "response",
                lambda r: (
                    seen.append(f"HTTP {r.status} on {r.request.method} {r.url}") if r.status >= 400 else None
                ),
            )
            yield page
    except compose.ComposeError:
        raise
    except (PlaywrightError, AssertionError) as exc:
        saw = "\n".join(f"  {line}" for line in seen[-20:]) or "  (no console error, no HTTP error)"
        stack.fail(f"in Chromium: {str(exc)[:1500]}\n\nthe browser saw:\n{saw}")


def open_dashboards(page, base: str) -> None:
    page.goto(base + "/sales")
    for chart in SALES_CHARTS:
        page.locator(f"{chart} .main-svg").first.wait_for(timeout=30_000)
    expect(page.locator("#sales-kpi-total")).not_to_have_text("…", timeout=30_000)
    page.goto(base + "/hr")
    for chart in HR_CHARTS:
        page.locator(f"{chart} .main-svg").first.wait_for(timeout=30_000)
    expect(page.locator("#hr-kpi-count")).not_to_have_text("…", timeout=30_000)


def test_every_service_is_up_as_the_compose_file_says_and_only_on_loopback(stack):
    config = yaml.safe_load(stack.compose("config").stdout)
    assert set(config["services"]) == set(compose.EXPECTED), "a service was added: teach the test about it"
    assert config["services"]["app"]["build"]["args"]["PYTHON_IMAGE"] == stack.images["PYTHON_IMAGE"]
    for service in ("app", "worker", "init"):
        assert config["services"][service]["image"] == stack.images["DASHHUB_IMAGE"]

    broken, waiting = stack.problems()
    assert (broken, waiting) == ([], []), stack.describe()
    init_log = compose.docker("logs", stack.container("init")["Id"]).stdout
    assert "Demo data loaded" in init_log, init_log  # DASHHUB_LOAD_EXAMPLES=true, a new database

    published = [
        (c["Name"], binding["HostIp"], binding["HostPort"])
        for c in stack.containers()
        for bindings in (c["NetworkSettings"]["Ports"] or {}).values()
        for binding in bindings or []
    ]
    assert published and all(ip == "127.0.0.1" for _name, ip, _port in published), published
    assert [p for *_rest, p in published] == [str(stack.port)]

    status, body = get(stack.base + "/ready")
    assert status == 200 and b'"worker":"ok"' in body.replace(b" ", b""), body


def test_the_admin_logs_in_through_nginx_and_sees_ventes_and_rh(stack, browser):
    since = docker_now()
    with browsing(stack, browser) as page:
        log_in(page, stack.base, "admin", stack.admin_password)
        open_dashboards(page, stack.base)
        sales_rows = int(stack.psql("SELECT count(*) FROM sales"))
        assert sales_rows > 0
        page.goto(stack.base + "/sales")
        expect(page.locator("#sales-kpi-total")).not_to_have_text("…")
    # nginx sent the page's requests to both app containers
    served_by = {stack.app_addresses().get(u, u) for u in stack.nginx_upstreams(since)}
    assert len(served_by & set(stack.app_addresses().values())) == 2, served_by


def test_a_background_export_runs_in_the_celery_worker(stack, browser, tmp_path_factory):
    worker = stack.container("worker")["Id"]
    since = docker_now()
    with browsing(stack, browser) as page:
        log_in(page, stack.base, "admin", stack.admin_password)
        page.goto(stack.base + "/sales?region=Nord")
        expect(page.locator("#sales-kpi-total")).not_to_have_text("…", timeout=30_000)
        page.locator("#sales-export-start").click()
        link = page.get_by_role("link", name="Télécharger le fichier CSV")
        expect(link).to_be_visible(timeout=90_000)
        expected = int(stack.psql("SELECT count(*) FROM sales WHERE region = 'Nord'"))
        expect(page.locator("#sales-export-result")).to_contain_text(
            f"{fmt_number(expected, locale='fr')} lignes exportées"
        )
        href = link.get_attribute("href")
        download = page.context.request.get(stack.base + href)
        assert download.status == 200
        exported = download.body()
        rows = exported.decode("utf-8-sig").strip().splitlines()
        assert len(rows) == expected + 1  # the header
        state = tmp_path_factory.mktemp("compose-session") / "admin.json"
        page.context.storage_state(path=str(state))
    # the job ran in the worker container (the app containers have no worker of their own)
    logged = compose.docker("logs", "--since", since, worker)
    worker_log = logged.stdout + logged.stderr
    assert re.search(r"Task background_callback_\w+\[[-\w]+\] succeeded", worker_log), worker_log[-3000:]
    stack.memo["export"] = (href, exported, str(state))


def test_one_app_replica_stopped_the_site_is_still_served_then_it_comes_back(stack, browser):
    first, second = sorted(stack.containers("app"), key=lambda c: c["Name"])
    addresses = stack.app_addresses()
    compose.docker("kill", first["Id"])
    try:
        slowest = 0.0
        for _ in range(20):
            for path in ("/login", "/health", "/ready"):
                started = time.monotonic()
                status, body = get(stack.base + path)
                slowest = max(slowest, time.monotonic() - started)
                assert status == 200, (path, status, body[:300])
        say(f"{first['Name'].lstrip('/')} killed: 60 requests via nginx, all 200, slowest {slowest:.1f} s")
        with browsing(stack, browser) as page:
            log_in(page, stack.base, "admin", stack.admin_password)
            open_dashboards(page, stack.base)
    finally:
        compose.docker("start", first["Id"])
    stack.wait_healthy(first["Id"])
    if stack.app_addresses() != addresses:
        # Docker gave it another address: nginx resolved `app` at its start, so, as
        # docs/operations.md says for a scaled service, it must be restarted to see it.
        say(f"{first['Name']} came back on another address: restarting nginx")
        stack.compose("restart", "nginx")
        addresses = stack.app_addresses()
    since = docker_now()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for _ in range(10):
            assert get(stack.base + "/login")[0] == 200
        served_by = {addresses.get(u) for u in stack.nginx_upstreams(since)}
        if first["Name"].lstrip("/") in served_by:
            break
        time.sleep(2)
    else:
        pytest.fail(f"nginx never sent a request to {first['Name']} once it was back: {served_by}")
    assert second["Name"].lstrip("/") in served_by


def test_down_then_up_keeps_the_data(stack, browser):
    assert "export" in stack.memo, "needs the export of test_a_background_export_runs_in_the_celery_worker"
    href, exported, state = stack.memo["export"]
    stack.exec("app", "dashhub", "users", "add", KEEPER[0], "--role", "viewer", "--password-stdin",
               input=KEEPER[1] + "\n")  # fmt: skip
    stack.exec("app", "sh", "-c", "echo kept > /var/lib/dashhub/datasets/.compose-test")
    versions = stack.psql(DATA_VERSIONS)

    stack.compose("down", "--timeout", "20")
    assert stack.containers() == []
    log = stack.directory / "up-again.log"
    seconds = stack.wait_until_up(stack.start_compose("up", "-d", "--no-build", log=log), log)
    say(f"up again and ready in {seconds:.0f} s ({stack.timeline_text()})")

    # PostgreSQL's volume: the user, the admin's session, the data (the examples not loaded again)
    init_log = compose.docker("logs", stack.container("init")["Id"]).stdout
    assert "Examples not loaded" in init_log, init_log
    assert stack.psql(DATA_VERSIONS) == versions
    with browsing(stack, browser) as page:
        log_in(page, stack.base, *KEEPER)
        page.goto(stack.base + "/sales")
        page.locator("#sales-trend .main-svg").first.wait_for(timeout=30_000)
    # the jobs volume: the export made before `down`, for the session that made it
    context = browser.new_context(storage_state=state)
    try:
        again = context.request.get(stack.base + href)
        assert again.status == 200 and again.body() == exported
    finally:
        context.close()
    # the datasets volume
    assert stack.exec("app", "cat", "/var/lib/dashhub/datasets/.compose-test").strip() == "kept"
