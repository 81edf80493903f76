"""Users stored in the database, with scrypt password hashes, roles and login lockout."""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
import threading
from dataclasses import dataclass

from cachetools import LRUCache
from flask_login import UserMixin
from sqlalchemy import Engine, bindparam, delete, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from dashhub.auth.lockout import LoginThrottle, address_key
from dashhub.auth.sessions import SessionStore
from dashhub.config import ROLES, AuthConfig
from dashhub.db import (
    api_tokens,
    bump_version,
    login_failures,
    read_version,
    user_sessions,
    user_settings,
    users,
)

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
COMMON_PASSWORDS = frozenset(
    {
        "password",
        "passw0rd",
        "password123",
        "123456789012",
        "azertyuiop",
        "qwertyuiop",
        "administrator",
        "changeme",
        "letmein",
        "welcome",
        "dashhub",
        "motdepasse",
    }
)


class UserError(ValueError):
    """A user change that cannot be made; the message says why."""


@dataclass(frozen=True)
class User(UserMixin):
    id: int
    username: str
    role: str

    def get_id(self) -> str:
        return str(self.id)


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    # set when this address must wait before trying this account again (whether it exists or not)
    locked_until: dt.datetime | None = None


def password_problem(password: str, username: str = "", min_length: int = 12) -> str | None:
    """Why password is too weak, or None when it is acceptable."""
    if len(password) < min_length:
        return f"it must have at least {min_length} characters"
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or any(lowered.startswith(c) for c in COMMON_PASSWORDS):
        return "it is a well-known password"
    if username and username.lower() in lowered:
        return "it contains the user name"
    if len(set(password)) < 6:
        return "it repeats too few different characters"
    return None


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes: they were stored in UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the user does not exist, so that both cases take the same time
    (computed on first use: importing this module costs no hash)."""
    return generate_password_hash("not-a-real-password")


class UserStore:
    """The one place that reads and writes users."""

    def __init__(self, engine: Engine, config: AuthConfig, session_hours: float = 8) -> None:
        self._engine = engine
        self._config = config
        self._throttle = LoginThrottle(config)
        self.sessions = SessionStore(engine, session_hours)
        # Users as sessions see them, per users version: any change bumps it, so never stale.
        self._by_id: LRUCache = LRUCache(maxsize=1024)
        self._lock = threading.Lock()

    def add(self, username: str, role: str, password: str) -> User:
        self._check_username(username)
        self._check_role(role)
        self._check_password(password, username)
        with self._engine.begin() as conn:
            if conn.scalar(select(users.c.id).where(users.c.username == username)) is not None:
                raise UserError(f"user {username!r} already exists")
            new_id = conn.execute(
                users.insert().values(
                    username=username,
                    password_hash=generate_password_hash(password),
                    role=role,
                    active=True,
                    failed_logins=0,
                    created_at=_now(),
                )
            ).inserted_primary_key[0]
            bump_version(conn, "users")
        return User(int(new_id), username, role)

    def set_password(self, username: str, password: str) -> None:
        """A new password; every session of the user ends, every lock on the account is lifted."""
        self._check_password(password, username)
        self._update(username, password_hash=generate_password_hash(password))
        LoginThrottle.unlock(self._engine, username)

    def set_role(self, username: str, role: str) -> None:
        """A new role; every session of the user ends (the next login carries the new role)."""
        self._check_role(role)
        self._update(username, role=role)

    def set_active(self, username: str, active: bool) -> None:
        self._update(username, active=active)

    def removable(self, username: str) -> int:
        """The id of username if the account may be deleted: it exists and is not the last active
        admin (nobody could manage the others any more)."""
        with self._engine.connect() as conn:
            row = conn.execute(select(users.c.id, users.c.role).where(users.c.username == username)).first()
            if row is None:
                raise UserError(f"no user named {username!r}")
            if row.role == "admin":
                admins = conn.scalar(
                    select(func.count()).where(users.c.role == "admin", users.c.active.is_(True))
                )
                if admins <= 1:
                    raise UserError(f"{username!r} is the last admin: make another admin first")
        return int(row.id)

    def delete(self, username: str) -> int:
        """Delete the account with its sessions (ended at once), settings, API tokens and login locks,
        in one transaction (by hand: SQLite does not enforce the foreign keys' cascade). Its
        datasets are the DatasetStore's (DatasetStore.remove_owner, first). Returns its id."""
        user_id = self.removable(username)
        with self._engine.begin() as conn:
            for table in (user_sessions, user_settings, api_tokens):
                conn.execute(delete(table).where(table.c.user_id == user_id))
            conn.execute(delete(login_failures).where(login_failures.c.username == username))
            conn.execute(delete(users).where(users.c.id == user_id))
            bump_version(conn, "users")
            bump_version(conn, "tokens")
        return user_id

    def unlock(self, username: str, address: str | None = None) -> int:
        """Let username log in again from every address (or one): how many addresses were held."""
        if not self.exists(username):
            raise UserError(f"no user named {username!r}")
        return LoginThrottle.unlock(self._engine, username, address)

    def locks(self, username: str) -> list[tuple[str, dt.datetime]]:
        return LoginThrottle.locks(self._engine, username, _now())

    def exists(self, username: str) -> bool:
        with self._engine.connect() as conn:
            return conn.scalar(select(users.c.id).where(users.c.username == username)) is not None

    # Built once: this runs on every request (the session names a user id).
    _BY_ID = select(users.c.id, users.c.username, users.c.role).where(
        users.c.id == bindparam("user_id"), users.c.active.is_(True)
    )

    def get(self, user_id: int) -> User | None:
        """The active user with this id (what the session refers to)."""
        key = (read_version(self._engine, "users"), user_id)
        with self._lock:
            if key in self._by_id:
                return self._by_id[key]
        with self._engine.connect() as conn:
            row = conn.execute(self._BY_ID, {"user_id": user_id}).first()
        user = User(int(row.id), row.username, row.role) if row else None
        with self._lock:
            self._by_id[key] = user
        return user

    def locale(self, user_id: int) -> str | None:
        """The language the user last chose, if any (applied when they log in on a new browser)."""
        with self._engine.connect() as conn:
            return conn.scalar(select(user_settings.c.locale).where(user_settings.c.user_id == user_id))

    def set_locale(self, user_id: int, locale: str) -> None:
        self._save_setting(user_id, locale=locale)

    def theme(self, user_id: int) -> str | None:
        """The theme the user last chose, if any (auto, light or dark)."""
        with self._engine.connect() as conn:
            return conn.scalar(select(user_settings.c.theme).where(user_settings.c.user_id == user_id))

    def set_theme(self, user_id: int, theme: str) -> None:
        self._save_setting(user_id, theme=theme)

    def _save_setting(self, user_id: int, **values: str) -> None:
        """One of the user's settings, the others kept."""
        with self._engine.begin() as conn:
            updated = conn.execute(
                user_settings.update().where(user_settings.c.user_id == user_id).values(**values)
            ).rowcount
            if not updated:
                conn.execute(user_settings.insert().values(user_id=user_id, **values))

    def all(self) -> list[tuple[str, str, bool]]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(users.c.username, users.c.role, users.c.active).order_by(users.c.username)
            )
            return [(r.username, r.role, bool(r.active)) for r in rows]

    def authenticate(self, username: str, password: str, address: str | None = None) -> LoginResult:
        """Check a login from a client address.

        Every failure takes the same time (one password hash, a dummy one when the user does not
        exist or the address must wait) and says the same whether the user exists or not; the
        caller answers them all alike.
        """
        now = _now()
        address = address_key(address)
        username = username[:64]
        with self._engine.begin() as conn:
            row = conn.execute(
                select(users.c.id, users.c.username, users.c.role, users.c.password_hash).where(
                    users.c.username == username, users.c.active.is_(True)
                )
            ).first()
            wait_until = self._throttle.wait_until(conn, username, address, now)
            if row is None or wait_until is not None:
                check_password_hash(_dummy_hash(), password)
                right = False
            else:
                right = check_password_hash(row.password_hash, password)
            if right:
                self._throttle.succeeded(conn, username, address)
                return LoginResult(User(int(row.id), row.username, row.role))
            if wait_until is not None:
                return LoginResult(None, wait_until)
            return LoginResult(None, self._throttle.record_failure(conn, username, address, now))

    def _update(self, username: str, **values) -> None:
        """Change a user and end their sessions, in one transaction."""
        with self._engine.begin() as conn:
            user_id = conn.scalar(select(users.c.id).where(users.c.username == username))
            if user_id is None:
                raise UserError(f"no user named {username!r}")
            conn.execute(update(users).where(users.c.id == user_id).values(**values))
            bump_version(conn, "users")
            self.sessions.end_all(conn, int(user_id))

    def _check_username(self, username: str) -> None:
        if not USERNAME.match(username):
            raise UserError("a user name has 1 to 64 letters, digits or . _ - @")

    @staticmethod
    def _check_role(role: str) -> None:
        if role not in ROLES:
            raise UserError(f"role must be one of {', '.join(ROLES)}; got {role!r}")

    def _check_password(self, password: str, username: str) -> None:
        problem = password_problem(password, username, self._config.min_password_length)
        if problem:
            raise UserError(f"password refused: {problem}")
