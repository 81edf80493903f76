"""Callback and URL input checks: a value outside its declared domain is a 400, never a 500."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import BadRequest

log = logging.getLogger(__name__)

MAX_CHOICES = 200


class BadInput(BadRequest):
    """A client sent a value the server does not accept; answered with 400 and logged."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"invalid value for {field}: {reason}")
        log.warning("rejected input %s: %s", field, reason)


def choices(value: Any, allowed: Iterable[str], field: str) -> tuple[str, ...]:
    """A list of strings, each one of allowed (None means none chosen)."""
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_CHOICES:
        raise BadInput(field, "expected a list of choices")
    allowed_set = set(allowed)
    for item in value:
        if not isinstance(item, str) or item not in allowed_set:
            raise BadInput(field, "unknown choice")
    return tuple(dict.fromkeys(value))


def iso_date(value: Any, field: str) -> dt.date:
    """A date given as YYYY-MM-DD (a datetime string is cut to its date)."""
    if not isinstance(value, str) or len(value) > 32:
        raise BadInput(field, "expected a date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise BadInput(field, "expected a date YYYY-MM-DD") from None
