"""Server-side callback wrapper: permission checked from the session, errors kept server-side."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from dash import Dash
from dash.exceptions import PreventUpdate
from werkzeug.exceptions import HTTPException, InternalServerError

from dashhub.auth.web import Access

log = logging.getLogger(__name__)


class CallbackFailed(InternalServerError):
    """A callback of ours raised: logged with its traceback, answered with a short 500."""

    description = "internal error; the administrators have been told"


def secure_callback(app: Dash, access: Access | None = None, key: str | None = None) -> Callable:
    """Like app.callback; each call first checks that the session's user may open dashboard key.

    What the browser sends (pathname, inputs, state) plays no part in the decision, so a request
    that relabels its inputs or forges a pathname gets a 403 like any other. An exception in the
    callback is logged and answered with a bare 500, so that any other error on the callback
    route can be told apart as a malformed request.
    """

    def callback(*dependencies, **options):
        register = app.callback(*dependencies, **options)

        def decorate(function):
            @functools.wraps(function)
            def guarded(*args, **kwargs):
                if access is not None and key is not None:
                    access.require(key)
                try:
                    return function(*args, **kwargs)
                except (HTTPException, PreventUpdate):
                    raise
                except Exception as exc:
                    log.exception("callback %s failed", function.__name__)
                    raise CallbackFailed() from exc

            return register(guarded)

        return decorate

    return callback
