"""Failed logins per (user name, client address): who must wait before trying again.

A lock holds one address out of one account, never the account out of everyone: an address that
has not failed on an account is never refused the right password, so nobody can keep a user out
from elsewhere. Each further lock of the same address on the same account lasts twice as long.
An account's failures from all addresses together are also counted per hour: past the ceiling,
only addresses that have not failed on it in that hour may still try (one guess per address).

User names are counted whether or not the user exists, so that the answers (and the time they
take) say nothing about which accounts exist.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Engine, and_, delete, select, update

from dashhub.config import AuthConfig
from dashhub.db import insert_or_ignore, login_failures

EVERY_ADDRESS = "*"
CEILING_WINDOW = dt.timedelta(hours=1)
# Rows of addresses that stopped failing are forgotten after this long (their next lock starts
# again from the shortest delay).
FORGET_AFTER = dt.timedelta(days=2)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes: they were stored in UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def address_key(address: str | None) -> str:
    return (address or "unknown")[:64]


class LoginThrottle:
    """Reads and writes login_failures; every method takes the caller's transaction."""

    def __init__(self, config: AuthConfig) -> None:
        self._config = config

    def wait_until(
        self, conn: Connection, username: str, address: str, now: dt.datetime
    ) -> dt.datetime | None:
        """Until when this address must not try this account (None: it may try now)."""
        rows = {
            row.address: row
            for row in conn.execute(
                select(login_failures).where(
                    login_failures.c.username == username,
                    login_failures.c.address.in_([address, EVERY_ADDRESS]),
                )
            )
        }
        own, account = rows.get(address), rows.get(EVERY_ADDRESS)
        if own is None:
            return None  # an address that has not failed on this account always may try
        locked_until = _aware(own.locked_until)
        if locked_until is not None and locked_until > now:
            return locked_until
        window_end = _aware(account.locked_until) if account is not None else None
        if (
            window_end is not None
            and window_end > now
            and account.failures >= self._config.account_failures_per_hour
            and _aware(own.last_failure_at) >= window_end - CEILING_WINDOW
        ):
            return window_end
        return None

    def record_failure(
        self, conn: Connection, username: str, address: str, now: dt.datetime
    ) -> dt.datetime | None:
        """Count one failure; the end of the lock it starts, if it starts one."""
        conn.execute(
            delete(login_failures).where(
                login_failures.c.last_failure_at < now - FORGET_AFTER,
                (login_failures.c.locked_until.is_(None)) | (login_failures.c.locked_until < now),
            )
        )
        for key in (address, EVERY_ADDRESS):
            conn.execute(
                insert_or_ignore(conn, login_failures).values(
                    username=username, address=key, failures=0, locks=0, last_failure_at=now
                )
            )
        # The account's hourly count: a new window when the last one is over.
        account = and_(login_failures.c.username == username, login_failures.c.address == EVERY_ADDRESS)
        window_end = _aware(conn.scalar(select(login_failures.c.locked_until).where(account)))
        if window_end is None or window_end <= now:
            conn.execute(
                update(login_failures)
                .where(account)
                .values(failures=1, locked_until=now + CEILING_WINDOW, last_failure_at=now)
            )
        else:
            conn.execute(
                update(login_failures)
                .where(account)
                .values(failures=login_failures.c.failures + 1, last_failure_at=now)
            )
        own = and_(login_failures.c.username == username, login_failures.c.address == address)
        conn.execute(
            update(login_failures)
            .where(own)
            .values(failures=login_failures.c.failures + 1, last_failure_at=now)
        )
        row = conn.execute(select(login_failures.c.failures, login_failures.c.locks).where(own)).one()
        if row.failures < self._config.max_failed_logins:
            return None
        until = now + self.lock_length(row.locks + 1)
        conn.execute(
            update(login_failures).where(own).values(failures=0, locks=row.locks + 1, locked_until=until)
        )
        return until

    def lock_length(self, lock_number: int) -> dt.timedelta:
        """How long the n-th lock of an address on an account lasts: doubling, up to the maximum."""
        minutes = self._config.lockout_minutes * 2 ** min(lock_number - 1, 30)
        return min(dt.timedelta(minutes=minutes), dt.timedelta(hours=self._config.max_lockout_hours))

    @staticmethod
    def succeeded(conn: Connection, username: str, address: str) -> None:
        """A right password: this address starts again from a clean slate."""
        conn.execute(
            delete(login_failures).where(
                login_failures.c.username == username, login_failures.c.address == address
            )
        )

    @staticmethod
    def unlock(engine: Engine, username: str, address: str | None = None) -> int:
        """Lift the locks on username (from one address, or all): how many addresses were held."""
        condition = login_failures.c.username == username
        if address is not None:
            condition &= login_failures.c.address == address_key(address)
        with engine.begin() as conn:
            return conn.execute(delete(login_failures).where(condition)).rowcount

    @staticmethod
    def locks(engine: Engine, username: str, now: dt.datetime) -> list[tuple[str, dt.datetime]]:
        """The addresses held out of username now, with the end of each lock."""
        with engine.connect() as conn:
            rows = conn.execute(
                select(login_failures.c.address, login_failures.c.locked_until).where(
                    login_failures.c.username == username,
                    login_failures.c.address != EVERY_ADDRESS,
                    login_failures.c.locked_until > now,
                )
            )
            return [(row.address, _aware(row.locked_until)) for row in rows]
