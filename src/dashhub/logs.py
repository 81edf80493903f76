"""Logging set-up: one line per event, readable text or JSON."""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid

from flask import Flask, g, has_app_context, request

from dashhub.config import Settings

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdFilter(logging.Filter):
    """Adds the current request's id (nginx's X-Request-ID, or one of ours) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_app_context() else "-"
        return True


def install_request_ids(server: Flask) -> None:
    """Take the request id nginx sends (or make one), log it, and return it in the response."""

    @server.before_request
    def take_request_id() -> None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex

    @server.after_request
    def return_request_id(response):
        response.headers.setdefault(REQUEST_ID_HEADER, g.get("request_id", ""))
        return response


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    """Configure the dashhub logger once per process (a second call only updates the level)."""
    logger = logging.getLogger("dashhub")
    logger.setLevel(settings.logging.level)
    if any(getattr(h, "_dashhub", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._dashhub = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    if settings.logging.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")
        )
    logger.addHandler(handler)
