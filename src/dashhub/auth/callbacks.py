"""Server-side callback wrapper: permission checked from the session, errors kept server-side."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from dash import Dash
from dash.exceptions import PreventUpdate
from flask import Flask, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from dashhub.auth.web import Access

log = logging.getLogger(__name__)

# server.extensions key: Dash output key of each protected callback → dashboard key.
CALLBACK_KEYS = "dashhub_callback_keys"
DISPATCH_PATH = "/_dash-update-component"


class CallbackFailed(InternalServerError):
    """A callback of ours raised: logged with its traceback, answered with a short 500."""

    description = "internal error; the administrators have been told"


def secure_callback(app: Dash, key: str | None = None) -> Callable:
    """Like app.callback, for callbacks of dashboard key: the dispatch guard checks, before each
    call, that the session's user may open it (install_dispatch_guard).

    What the browser sends (pathname, inputs, state) plays no part in the decision, so a request
    that relabels its inputs or forges a pathname gets a 403 like any other. An exception in the
    callback is logged and answered with a bare 500, so that any other error on the callback
    route can be told apart as a malformed request; a database that does not answer gets a 503.

    Background callbacks (background=True) run in a worker without a request: the guard checks the
    session before the job is queued, and the job itself checks the ticket the server signed into
    the page.
    """
    keys = app.server.extensions.setdefault(CALLBACK_KEYS, {})

    def callback(*dependencies, **options):
        before = set(app.callback_map)
        register = app.callback(*dependencies, **options)  # Dash maps the outputs here
        if key is not None:
            keys.update(dict.fromkeys(set(app.callback_map) - before, key))

        def decorate(function):
            if options.get("background"):
                guarded = function
            else:

                @functools.wraps(function)
                def guarded(*args, **kwargs):
                    try:
                        return function(*args, **kwargs)
                    except (HTTPException, PreventUpdate, OperationalError):
                        raise  # OperationalError: the server's database handler answers 503
                    except Exception as exc:
                        log.exception("callback %s failed", function.__name__)
                        raise CallbackFailed() from exc

            # Background functions are offered to every manager of the process: mark ours.
            guarded.dashhub_owner = app.server
            return register(guarded)

        return decorate

    return callback


def install_dispatch_guard(server: Flask, access: Access, prefix: str) -> None:
    """Check, before Dash dispatches a callback, that the session may use its dashboard.

    Dash picks the callback to run from the body's `output`; the same field picks the dashboard
    to check here, so a request cannot run one callback while being checked for another.
    """
    keys: dict[str, str] = server.extensions.setdefault(CALLBACK_KEYS, {})
    path = prefix + DISPATCH_PATH

    @server.before_request
    def guard_dispatch():
        if request.method != "POST" or request.path != path:
            return
        body = request.get_json(silent=True)
        output = body.get("output") if isinstance(body, dict) else None
        key = keys.get(output) if isinstance(output, str) else None
        if key is not None:
            access.require(key)
