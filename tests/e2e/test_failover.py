"""Instances killed or hung behind nginx: the other serves, no acknowledged write is lost, and a
request nobody answers ends in a message, not an endless spinner."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.conftest import PASSWORDS
from tests.e2e.conftest import (
    _free_port,
    _gunicorn,
    _start,
    _wait_for,
    failing_callbacks,
    init_demo,
    nginx_config,
    sales_page,
    server_env,
    toggle_region,
)
from tests.support.dash_requests import sales_body

EVERYTHING = (["Est", "Nord", "Ouest", "Sud"], ["Produit A", "Produit B", "Produit C", "Produit D"])


@pytest.fixture
def topology(tmp_path, request):
    """Its own nginx and two gunicorn instances (the shared one must stay whole). An indirect
    parameter {"read_timeout": seconds} shortens nginx's proxy_read_timeout (90 s deployed)."""
    read_timeout = getattr(request, "param", {}).get("read_timeout")
    env = server_env(
        tmp_path, DASHHUB_SERVER__TRUSTED_PROXIES="1", DASHHUB_AUTH__LOGIN_RATE_LIMIT="1000 per minute"
    )
    init_demo(env)
    ports = [_free_port(), _free_port()]
    apps = [_start(_gunicorn(p), env, tmp_path / f"gunicorn-{p}.log") for p in ports]
    port = _free_port()
    config = nginx_config(tmp_path, port, ports)
    if read_timeout:
        text = config.read_text()
        assert "proxy_read_timeout 90s;" in text
        config.write_text(text.replace("proxy_read_timeout 90s;", f"proxy_read_timeout {read_timeout}s;"))
    nginx = _start(
        ["nginx", "-p", str(tmp_path), "-c", str(config), "-g", "daemon off;"], env, tmp_path / "nginx.log"
    )
    base = f"http://127.0.0.1:{port}"
    for p in ports:
        _wait_for(f"http://127.0.0.1:{p}/health")
    _wait_for(base + "/health")
    yield base, apps, tmp_path / "dashhub.db", env
    for process in [nginx, *apps]:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=20)


def _login(base: str) -> requests.Session:
    session = requests.Session()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', session.get(base + "/login").text)
    response = session.post(
        base + "/login",
        data={"username": "admin", "password": PASSWORDS["admin"], "csrf_token": token.group(1)},
        allow_redirects=False,
    )
    assert response.status_code == 302
    return session


def _signal_instance(master: subprocess.Popen, signum: int) -> None:
    """Send signum to a gunicorn master, then to each of its workers."""
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    for pid in [master.pid, *map(int, children)]:
        os.kill(pid, signum)


def _kill_instance(master: subprocess.Popen) -> None:
    """SIGKILL a gunicorn instance and wait until its port refuses connections: until its last
    process is gone, the kernel still completes handshakes on its listening socket, and a request
    sent then is lost with the instance (a 502, never replayed: see test_nginx_replay)."""
    _signal_instance(master, signal.SIGKILL)
    master.wait(timeout=10)
    port = int(re.search(r"127\.0\.0\.1:(\d+)", " ".join(master.args)).group(1))
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return
        assert time.monotonic() < deadline, f"port {port} still answers after its instance was killed"
        time.sleep(0.05)


def test_killing_one_instance_loses_no_request_and_no_acknowledged_write(topology):
    base, apps, database, _env = topology
    session = _login(base)
    assert session.post(
        base + "/_dash-update-component", json=sales_body(*EVERYTHING, "2024-01-01", "2025-12-31")
    ).ok

    _kill_instance(apps[0])
    statuses = []
    acknowledged_logins = 0
    for i in range(20):
        end = f"2025-{(i % 12) + 1:02d}-28"
        statuses.append(
            session.post(
                base + "/_dash-update-component", json=sales_body(*EVERYTHING, "2024-01-01", end)
            ).status_code
        )
        _login(base)  # a write: one audit event per acknowledged login
        acknowledged_logins += 1
    assert statuses == [200] * 20

    with sqlite3.connect(database) as conn:
        recorded = conn.execute("SELECT count(*) FROM audit_events WHERE event = 'login'").fetchone()[0]
    assert recorded == acknowledged_logins + 1


def test_every_instance_down_shows_a_banner_then_the_page_recovers(topology, browser):
    base, apps, _database, env = topology
    with sales_page(browser, base, "admin", failing_callbacks(502)) as page:
        total = page.locator("#sales-kpi-total")
        banner = page.locator("#request-alert")

        for app in apps:
            _kill_instance(app)
        toggle_region(page, "Est")  # nginx has no instance left: 502
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("Le serveur n'a pas répondu à temps")
        expect(total).not_to_have_text("…")  # what was shown stays, no endless spinner

        port = int(re.search(r"127\.0\.0\.1:(\d+)", " ".join(apps[0].args)).group(1))
        restarted = _start(_gunicorn(port), env, Path(os.devnull))
        try:
            _wait_for(f"http://127.0.0.1:{port}/health")
            _wait_for(base + "/health")  # nginx gives a failed upstream another try after fail_timeout
            before = total.text_content()
            toggle_region(page, "Ouest")
            expect(banner).to_be_hidden()
            expect(total).not_to_have_text(before)
        finally:
            restarted.terminate()
            restarted.wait(timeout=20)


@pytest.mark.parametrize("topology", [{"read_timeout": 3}], indirect=True)
def test_a_request_no_instance_answers_ends_in_a_message_then_the_page_recovers(topology, browser):
    """Both instances hang (stopped, as a stuck worker would be): nginx gives up after its read
    timeout (504), the page says so and keeps what it showed; once they answer again, it recovers."""
    base, apps, _database, _env = topology
    with sales_page(browser, base, "admin", failing_callbacks(504)) as page:
        total = page.locator("#sales-kpi-total")
        shown = total.text_content()
        banner = page.locator("#request-alert")

        for app in apps:
            _signal_instance(app, signal.SIGSTOP)
        try:
            with page.expect_response(lambda r: "_dash-update-component" in r.url, timeout=20_000) as answer:
                toggle_region(page, "Est")
            assert answer.value.status == 504
            expect(banner).to_be_visible()
            expect(banner).to_contain_text("Le serveur n'a pas répondu à temps")
            expect(total).to_have_text(shown)  # what was shown stays
        finally:
            for app in apps:
                _signal_instance(app, signal.SIGCONT)

        toggle_region(page, "Ouest")
        expect(banner).to_be_hidden()
        expect(total).not_to_have_text(shown)
