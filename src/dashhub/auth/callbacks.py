"""Server-side callback wrapper: permission checked from the session, errors kept server-side."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from dash import Dash
from dash.exceptions import PreventUpdate
from flask import Flask, has_request_context, jsonify, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from dashhub.auth.web import Access

log = logging.getLogger(__name__)

# server.extensions key: Dash output key of each protected callback → dashboard key.
CALLBACK_KEYS = "dashhub_callback_keys"
DISPATCH_PATH = "/_dash-update-component"
MAX_WILDCARD_ITEMS = 1000  # components one wildcard (ALL) input may carry


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
        keys.update(dict.fromkeys(set(app.callback_map) - before, key))
        # The cancel callback Dash adds for a background callback (output "<cancel id>.id",
        # registered at its first request) belongs to the same dashboard.
        for cancel in options.get("cancel") or []:
            keys[f"{cancel.component_id}.id"] = key

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

            # Background functions are offered to every manager of the process: mark ours, and
            # the dashboard its jobs belong to (dashhub.jobs binds their handles to it).
            guarded.dashhub_owner = app.server
            guarded.dashhub_dashboard = key
            return register(guarded)

        return decorate

    return callback


def secure_clientside(app: Dash, key: str | None = None) -> Callable:
    """Like app.clientside_callback, for dashboard key (None: any logged-in user): its outputs are
    known to the guard and listed in /_dash-dependencies only for users who may open key."""
    keys = app.server.extensions.setdefault(CALLBACK_KEYS, {})

    def register(*args, **kwargs) -> None:
        before = set(app.callback_map)
        app.clientside_callback(*args, **kwargs)
        keys.update(dict.fromkeys(set(app.callback_map) - before, key))

    return register


def dashboard_of_request(server: Flask):
    """The dashboard of the callback request being served (None: any logged-in user's), or
    NOT_A_CALLBACK outside a callback request."""
    from dashhub.jobs import NOT_A_CALLBACK

    if not has_request_context() or not request.path.endswith(DISPATCH_PATH):
        return NOT_A_CALLBACK
    body = request.get_json(silent=True)
    output = body.get("output") if isinstance(body, dict) else None
    return server.extensions.get(CALLBACK_KEYS, {}).get(output) if isinstance(output, str) else None


def unguarded_callbacks(app: Dash) -> list[str]:
    """Callbacks of app the guard does not know (must be none: each would escape it)."""
    keys = app.server.extensions.get(CALLBACK_KEYS, {})
    return sorted(output for output in app.callback_map if output not in keys)


def request_shape_problem(body: dict, declared: dict) -> str | None:
    """Why a callback request does not have the shape of the callback it names (None: it does).

    Dash hands the values to the callback as they come; checked here once for every callback,
    each input and state is where the callback graph puts it: a wildcard (ALL) slot a list of
    {id, property, value}, any other slot one {id, property, value} of the declared property.
    """
    for group in ("inputs", "state"):
        sent, expected = body.get(group, []), declared.get(group, [])
        if not isinstance(sent, list) or len(sent) != len(expected):
            return f"{group}: expected {len(expected)} entries"
        for entry, slot in zip(sent, expected, strict=True):
            wildcard = '["ALL"]' in slot["id"] or '["ALLSMALLER"]' in slot["id"]
            items = entry if wildcard else [entry]
            if not isinstance(items, list) or len(items) > MAX_WILDCARD_ITEMS:
                return f"{group}: {slot['id']} expects a list"
            for item in items:
                if (
                    not isinstance(item, dict)
                    or item.get("property") != slot["property"]
                    or not isinstance(item.get("id"), dict if slot["id"].startswith("{") else str)
                    or (not slot["id"].startswith("{") and item["id"] != slot["id"])
                ):
                    return f"{group}: {slot['id']}.{slot['property']} malformed"
    return None


def install_dispatch_guard(server: Flask, access: Access, prefix: str, app: Dash) -> None:
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
        if not isinstance(output, str) or output not in keys:
            # Not a callback of this app (Dash would fail on it): refused before Dash sees it.
            return jsonify(error="malformed callback request"), 400
        key = keys[output]
        if key is not None:
            access.require(key)
        declared = app.callback_map.get(output)
        problem = request_shape_problem(body, declared) if declared else None
        if problem:
            log.warning("malformed callback request refused: %s: %s", output[:80], problem)
            return jsonify(error="malformed callback request"), 400
