"""Server-side sessions: the cookie carries a random session id, the database says whether it is
still open. Logout ends one; a password or role change, deactivation or `dashhub users logout`
ends all of a user's.

Every request checks its session; the answer is kept per `sessions` data version (bumped by
every ending), so the check costs a dictionary lookup until something ends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
from dataclasses import dataclass

from cachetools import LRUCache
from sqlalchemy import Connection, Engine, delete, func, select, update

from dashhub.db import bump_version, read_version, user_sessions, users

# Ended and expired rows are kept this long (for `dashhub users sessions`), then removed.
KEEP_ENDED = dt.timedelta(days=7)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class OpenSession:
    created_at: dt.datetime
    expires_at: dt.datetime
    address: str | None
    user_agent: str | None


class SessionStore:
    def __init__(self, engine: Engine, hours: float) -> None:
        self._engine = engine
        self._length = dt.timedelta(hours=hours)
        self._open: LRUCache = LRUCache(maxsize=4096)  # (version, hash) → (user id, expires at)
        self._lock = threading.Lock()

    def start(self, user_id: int, address: str | None, user_agent: str | None) -> str:
        """Open a session for user_id: the id to put in the cookie."""
        session_id = secrets.token_urlsafe(32)
        now = _now()
        with self._engine.begin() as conn:
            conn.execute(delete(user_sessions).where(user_sessions.c.expires_at < now - KEEP_ENDED))
            conn.execute(
                user_sessions.insert().values(
                    id_hash=_hash(session_id),
                    user_id=user_id,
                    created_at=now,
                    expires_at=now + self._length,
                    address=(address or "")[:64] or None,
                    user_agent=(user_agent or "")[:256] or None,
                )
            )
        return session_id

    def is_open(self, session_id: object, user_id: int) -> bool:
        """Whether session_id is an open session of user_id."""
        if not isinstance(session_id, str) or len(session_id) > 128:
            return False
        key = (read_version(self._engine, "sessions"), _hash(session_id))
        with self._lock:
            found = self._open.get(key)
        if found is None:
            with self._engine.connect() as conn:
                row = conn.execute(
                    select(user_sessions.c.user_id, user_sessions.c.expires_at).where(
                        user_sessions.c.id_hash == key[1], user_sessions.c.ended_at.is_(None)
                    )
                ).first()
            found = (int(row.user_id), _aware(row.expires_at)) if row else (None, None)
            with self._lock:
                self._open[key] = found
        owner, expires_at = found
        return owner == user_id and expires_at is not None and expires_at > _now()

    def end(self, session_id: object) -> None:
        """End one session (logout)."""
        if isinstance(session_id, str):
            with self._engine.begin() as conn:
                self._end(conn, user_sessions.c.id_hash == _hash(session_id))

    def end_all(self, conn: Connection, user_id: int) -> int:
        """End every session of user_id, in the caller's transaction: how many were open."""
        return self._end(conn, user_sessions.c.user_id == user_id)

    def end_all_of(self, username: str) -> int | None:
        """End every session of username (None: no such user)."""
        with self._engine.begin() as conn:
            user_id = conn.scalar(select(users.c.id).where(users.c.username == username))
            if user_id is None:
                return None
            return self.end_all(conn, int(user_id))

    def list_open(self, username: str) -> list[OpenSession]:
        now = _now()
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(user_sessions)
                .join(users, users.c.id == user_sessions.c.user_id)
                .where(
                    users.c.username == username,
                    user_sessions.c.ended_at.is_(None),
                    user_sessions.c.expires_at > now,
                )
                .order_by(user_sessions.c.created_at)
            )
            return [
                OpenSession(_aware(r.created_at), _aware(r.expires_at), r.address, r.user_agent) for r in rows
            ]

    def count_open(self) -> int:
        with self._engine.connect() as conn:
            return conn.scalar(
                select(func.count())
                .select_from(user_sessions)
                .where(user_sessions.c.ended_at.is_(None), user_sessions.c.expires_at > _now())
            )

    @staticmethod
    def _end(conn: Connection, condition) -> int:
        ended = conn.execute(
            update(user_sessions).where(condition, user_sessions.c.ended_at.is_(None)).values(ended_at=_now())
        ).rowcount
        bump_version(conn, "sessions")
        return ended
