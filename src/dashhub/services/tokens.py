"""API tokens: made for a user, shown once, stored as a SHA-256, revocable.

A token is 256 random bits, so a plain SHA-256 is enough to store it (nothing to guess from a
leaked hash, unlike a password); looking one up is a single indexed query, and each process keeps
the answers under the tokens' and users' version numbers: a revocation or a disabled user bumps
them, so the next call on every worker looks again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass

from cachetools import LRUCache
from sqlalchemy import Engine, insert, select, update

from dashhub.db import api_tokens, bump_version, read_version, users

TOKEN_PREFIX = "dh_"
TOKEN_PATTERN = re.compile(r"^dh_[A-Za-z0-9_-]{43}$")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9 _.@-]{1,64}$")
LAST_USED_EVERY_SECONDS = 60.0  # last_used_at is written at most this often per token and process


class TokenError(ValueError):
    """A token action that cannot be done; the message says why."""


@dataclass(frozen=True)
class ApiToken:
    id: int
    user_id: int
    username: str
    role: str
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)  # SQLite gives naive datetimes: stored in UTC
    return value


_COLUMNS = (
    api_tokens.c.id,
    api_tokens.c.user_id,
    users.c.username,
    users.c.role,
    api_tokens.c.name,
    api_tokens.c.prefix,
    api_tokens.c.created_at,
    api_tokens.c.last_used_at,
    api_tokens.c.revoked_at,
)


def _token(row) -> ApiToken:
    return ApiToken(
        row.id,
        row.user_id,
        row.username,
        row.role,
        row.name,
        row.prefix,
        _aware(row.created_at),
        _aware(row.last_used_at),
        _aware(row.revoked_at),
    )


class TokenStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._touched: dict[int, float] = {}
        self._known: LRUCache = LRUCache(maxsize=1024)
        self._lock = threading.Lock()

    def create(self, username: str, name: str = "") -> tuple[ApiToken, str]:
        """A new token for username: the record, and the secret (shown once, never stored)."""
        name = name.strip() or "token"
        if not NAME_PATTERN.match(name):
            raise TokenError("a token name has 1 to 64 letters, digits, spaces or . _ - @")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._engine.begin() as conn:
            user_id = conn.scalar(select(users.c.id).where(users.c.username == username))
            if user_id is None:
                raise TokenError(f"no user named {username!r}")
            token_id = conn.execute(
                insert(api_tokens).values(
                    user_id=user_id,
                    name=name,
                    token_hash=digest(secret),
                    prefix=secret[:10],
                    created_at=dt.datetime.now(dt.UTC),
                )
            ).inserted_primary_key[0]
            bump_version(conn, "tokens")
        return self.by_id(int(token_id)), secret

    def by_id(self, token_id: int) -> ApiToken:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(*_COLUMNS)
                .join(users, users.c.id == api_tokens.c.user_id)
                .where(api_tokens.c.id == token_id)
            ).first()
        if row is None:
            raise TokenError(f"no token {token_id}")
        return _token(row)

    def all(self, username: str | None = None) -> list[ApiToken]:
        query = select(*_COLUMNS).join(users, users.c.id == api_tokens.c.user_id).order_by(api_tokens.c.id)
        if username is not None:
            query = query.where(users.c.username == username)
        with self._engine.connect() as conn:
            return [_token(row) for row in conn.execute(query)]

    def revoke(self, token_id: int) -> ApiToken:
        with self._engine.begin() as conn:
            changed = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=dt.datetime.now(dt.UTC))
            ).rowcount
            bump_version(conn, "tokens")
        token = self.by_id(token_id)
        if not changed:
            raise TokenError(f"token {token_id} was already revoked")
        return token

    def authenticate(self, secret: str) -> ApiToken | None:
        """The live token (of an active user) that secret is, or None."""
        if not isinstance(secret, str) or not TOKEN_PATTERN.match(secret):
            return None
        key = (read_version(self._engine, "tokens"), read_version(self._engine, "users"), digest(secret))
        with self._lock:
            known = key in self._known
            token = self._known.get(key)
        if known:
            if token is not None:
                self._touch(token.id)
            return token
        token = self._look_up(secret)
        with self._lock:
            self._known[key] = token
        return token

    def _look_up(self, secret: str) -> ApiToken | None:
        query = (
            select(*_COLUMNS)
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(
                api_tokens.c.token_hash == digest(secret), api_tokens.c.revoked_at.is_(None), users.c.active
            )
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        self._touch(row.id)
        return _token(row)

    def _touch(self, token_id: int) -> None:
        """Record that a token was used (at most once a minute per token and process)."""
        now = time.monotonic()
        with self._lock:
            if now - self._touched.get(token_id, -LAST_USED_EVERY_SECONDS) < LAST_USED_EVERY_SECONDS:
                return
            self._touched[token_id] = now
        with self._engine.begin() as conn:
            conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id)
                .values(last_used_at=dt.datetime.now(dt.UTC))
            )
