"""The dashboards in a Jupyter notebook (docs/jupyter.md, docs/notebooks/dashboards-in-jupyter.ipynb).

NotebookServer serves the real app (create_app, every security check in place) from a thread of the
notebook's kernel, on the loopback interface only, so that the notebook can show a dashboard in an
IFrame. Its one difference from `dashhub serve`: the app's answers say that pages served from the
loopback interface (the local Jupyter) may frame it (`frame-ancestors`), where the app itself
forbids every frame (clickjacking protection). Nothing else changes: the dashboards ask for a login.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from collections.abc import Callable, Iterable

from dash import Dash
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from dashhub.container import Services

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
# Who may frame the notebook server's pages: the local Jupyter, on any port, and nobody else.
NOTEBOOK_FRAME_ANCESTORS = ("http://127.0.0.1:*", "http://localhost:*")

_FRAME_ANCESTORS = re.compile(r"frame-ancestors[^;]*")


def services_of(app: Dash) -> Services:
    """The services create_app() wired for app: the same data services the dashboards' callbacks
    call (sales, employees, monitoring, …)."""
    return app.server.extensions["dashhub"]


class _FramableBy:
    """WSGI middleware: lets the given origins frame the answers (and only them)."""

    def __init__(self, wsgi_app: Callable, ancestors: Iterable[str]) -> None:
        self._app = wsgi_app
        self._ancestors = "frame-ancestors " + " ".join(ancestors)

    def __call__(self, environ, start_response):
        def framable_start_response(status, headers, exc_info=None):
            kept = []
            for name, value in headers:
                if name.lower() == "x-frame-options":
                    continue  # (DENY; frame-ancestors below says who may, and wins in browsers)
                if name.lower() == "content-security-policy":
                    value = _FRAME_ANCESTORS.sub(self._ancestors, value)
                kept.append((name, value))
            return start_response(status, kept, exc_info)

        return self._app(environ, framable_start_response)


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request in the notebook's output."""

    def log_request(self, *args, **kwargs) -> None:
        pass


class NotebookServer:
    """app served by werkzeug (threaded) in a daemon thread of this process, on host:port (port 0:
    a free one). Loopback hosts only: it has no TLS and is meant for one person's notebook.

        server = NotebookServer(app).start()
        server.iframe("/sales")   # in a notebook cell
        server.stop()
    """

    def __init__(
        self,
        app: Dash,
        host: str = "127.0.0.1",
        port: int = 0,
        frame_ancestors: Iterable[str] | None = NOTEBOOK_FRAME_ANCESTORS,
    ) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError(
                f"NotebookServer serves on the loopback interface only ({', '.join(LOOPBACK_HOSTS)})"
            )
        self.app = app
        self.host = host
        wsgi = app.server if frame_ancestors is None else _FramableBy(app.server, frame_ancestors)
        self._server: BaseWSGIServer = make_server(
            host, port, wsgi, threaded=True, request_handler=_QuietHandler
        )
        self.port: int = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"dashhub-notebook-{self.port}", daemon=True
        )
        self._prefix = services_of(app).settings.server.url_prefix  # "/" or "/dashhub/"

    def url(self, path: str = "/") -> str:
        """The address of path (e.g. "/sales") on this server, under the app's URL prefix."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self._prefix}{path.lstrip('/')}"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> NotebookServer:
        """Start serving and wait until /health answers 200 (else RuntimeError)."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                status, _ = self.get("/health")
                if status == 200:
                    return self
            except OSError:
                status = None
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the notebook server did not answer /health in {timeout} s ({status})")
            time.sleep(0.05)

    def get(self, path: str = "/health") -> tuple[int, str | None]:
        """GET path as a browser asks for a page (redirects not followed): the status and the
        Location header, e.g. (302, "/login?next=/sales") for a dashboard without a session."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            connection.request("GET", self.url(path), headers={"Accept": "text/html"})
            response = connection.getresponse()
            response.read()
            return response.status, response.getheader("Location")
        finally:
            connection.close()

    def iframe(self, path: str = "/", width: str | int = "100%", height: int = 650):
        """An IFrame of path for a notebook cell to show (the login page first, then the page)."""
        from IPython.display import IFrame  # (only in a notebook)

        return IFrame(self.url(path), width=width, height=height)

    def stop(self) -> None:
        """Stop serving and close the listening socket (the app and its services stay usable)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()

    def __enter__(self) -> NotebookServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
