"""A `limits` storage on diskcache (SQLite on the local disk), so that rate limits count across
every worker of a host when there is no Redis (the embedded default): one counter per window,
updated in a transaction, expiring with its window.

Used by Flask-Limiter as `dashhub-diskcache:///path/to/folder`.
"""

from __future__ import annotations

import time
from typing import ClassVar

import diskcache
from limits.storage import Storage


class DiskcacheStorage(Storage):
    STORAGE_SCHEME: ClassVar[list[str]] = ["dashhub-diskcache"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        folder = (uri or "").split("://", 1)[-1]
        if not folder:
            raise ValueError("dashhub-diskcache needs a folder: dashhub-diskcache:///path")
        self._cache = diskcache.Cache(folder, timeout=5, eviction_policy="none")

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return (OSError, diskcache.Timeout)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with self._cache.transact():
            value, expire_at = self._cache.get(key, default=None, expire_time=True)
            if value is None:
                self._cache.set(key, amount, expire=expiry)
                return amount
            remaining = max(0.001, (expire_at or time.time() + expiry) - time.time())
            self._cache.set(key, value + amount, expire=remaining)
            return value + amount

    def get(self, key: str) -> int:
        return int(self._cache.get(key, default=0))

    def get_expiry(self, key: str) -> float:
        _value, expire_at = self._cache.get(key, default=None, expire_time=True)
        return float(expire_at) if expire_at else time.time()

    def check(self) -> bool:
        try:
            self._cache.set("health:probe", 1, expire=5)
            return True
        except (OSError, diskcache.Timeout):
            return False

    def reset(self) -> int | None:
        count = len(self._cache)
        self._cache.clear()
        return count

    def clear(self, key: str) -> None:
        self._cache.delete(key)
