"""Audit trail: one structured log line per event, and a row in audit_events."""

from __future__ import annotations

import datetime as dt
import json
import logging

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import Engine

from dashhub.db import audit_events

log = logging.getLogger("dashhub.audit")


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, event: str, username: str | None = None, **detail) -> None:
        """Write event (login, login_failed, logout, export, hr_access, user_add, …)."""
        address = request.remote_addr if has_request_context() else None
        if username is None and has_request_context() and current_user.is_authenticated:
            username = current_user.username
        payload = {"event": event, "user": username, "address": address, **detail}
        log.info(json.dumps(payload, ensure_ascii=False, default=str))
        with self._engine.begin() as conn:
            conn.execute(
                audit_events.insert().values(
                    at=dt.datetime.now(dt.UTC),
                    event=event,
                    username=username,
                    address=address,
                    detail=json.dumps(detail, ensure_ascii=False, default=str),
                )
            )
