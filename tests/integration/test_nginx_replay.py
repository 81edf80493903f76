"""The deployment's nginx template in front of two stand-in instances: what is sent again, what not.

An instance that dies while it answers a POST may already have done the write; nginx must not send
that POST to the other instance. A GET, or a request that never reached an instance, may go on.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.nginx import nginx_binary, nginx_config


class Instance:
    """A stand-in app instance that records every request; a dying one drops the connection after
    reading the request (as a worker killed mid-request would)."""

    def __init__(self, dies: bool) -> None:
        self.received: list[tuple[str, str]] = []
        instance = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                instance.received.append((self.command, self.path))
                if dies:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _handle

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def proxied(tmp_path):
    """nginx (the deployment's template) in front of a dying instance and a healthy one."""
    binary = nginx_binary()
    if binary is None:
        pytest.fail("nginx is needed (bash scripts/test.sh installs it; Debian: apt-get install nginx)")
    dying, healthy = Instance(dies=True), Instance(dies=False)
    port = _free_port()
    # round robin starts with the first server listed: the dying one gets the first request
    config = nginx_config(tmp_path, port, [dying.port, healthy.port])
    log = (tmp_path / "nginx.log").open("w")
    process = subprocess.Popen(
        [binary, "-p", str(tmp_path), "-c", str(config), "-g", "daemon off;"], stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, (tmp_path / "nginx-error.log").read_text()
            time.sleep(0.05)
    yield base, dying, healthy
    process.terminate()
    process.wait(timeout=10)
    dying.close()
    healthy.close()


def _send(base: str, method: str, path: str) -> int:
    request = urllib.request.Request(
        base + path, method=method, data=b"{}" if method == "POST" else None,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize("path", ["/_dash-update-component", "/login", "/api/v1/predict"])
def test_a_post_that_reached_a_dying_instance_is_not_sent_again(proxied, path):
    base, dying, healthy = proxied
    statuses = [_send(base, "POST", path) for _ in range(6)]
    reached_dying = [r for r in dying.received if r[0] == "POST"]
    reached_healthy = [r for r in healthy.received if r[0] == "POST"]
    assert reached_dying, "the dying instance got no request: nothing was tested"
    # every POST was received exactly once, by one instance: none was replayed
    assert len(reached_dying) + len(reached_healthy) == len(statuses)
    assert statuses.count(502) == len(reached_dying)
    assert statuses.count(200) == len(reached_healthy)


def test_a_get_that_met_a_dying_instance_is_served_by_the_other(proxied):
    base, _dying, healthy = proxied
    statuses = [_send(base, "GET", "/health") for _ in range(6)]
    assert statuses == [200] * 6
    assert len(healthy.received) == 6
