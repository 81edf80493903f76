"""Logging set-up: one line per event, readable text or JSON."""

from __future__ import annotations

import json
import logging
import sys

from dashhub.config import Settings


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
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
    if settings.logging.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
