"""Flask-Caching in front of the data service; a cache that fails degrades to computing."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from cachetools import LRUCache
from flask import Flask
from flask_caching import Cache

from dashhub.config import Settings
from dashhub.metrics import CACHE

log = logging.getLogger(__name__)
T = TypeVar("T")

_CACHE_TYPES = {
    "filesystem": "FileSystemCache",
    "redis": "RedisCache",
    "simple": "SimpleCache",
    "null": "NullCache",
}


def cache_config(settings: Settings) -> dict[str, Any]:
    """Flask-Caching settings for the configured backend."""
    cfg = settings.cache
    config: dict[str, Any] = {
        "CACHE_TYPE": _CACHE_TYPES[cfg.type],
        "CACHE_DEFAULT_TIMEOUT": cfg.default_timeout,
        "CACHE_KEY_PREFIX": cfg.key_prefix,
    }
    if cfg.type == "filesystem":
        settings.cache_dir.mkdir(parents=True, exist_ok=True)
        config["CACHE_DIR"] = str(settings.cache_dir)
        config["CACHE_THRESHOLD"] = 5000
    elif cfg.type == "redis":
        config["CACHE_REDIS_URL"] = cfg.redis_url
        # A hung Redis must not hang the workers: fail fast, then compute.
        config["CACHE_OPTIONS"] = {
            "socket_timeout": cfg.socket_timeout,
            "socket_connect_timeout": cfg.socket_timeout,
        }
    return config


def _code_version() -> str:
    """A digest of the code that shapes what is cached (domain and services): an upgrade that
    changes a cached object's shape or meaning never reads the previous release's answers, even
    in a shared Redis while old and new instances run side by side."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha1()
    for path in sorted([*package.glob("domain/*.py"), *package.glob("services/*.py")]):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:8]


CODE_VERSION = _code_version()


class QueryCache:
    """get-or-compute over a Flask-Caching backend, keyed by data set, version and arguments.

    A small per-process LRU sits in front of the shared backend. It cannot serve stale data:
    every key carries the data version, and a value stored under a key never changes.
    """

    WARN_EVERY_S = 60.0
    LOCAL_ENTRIES = 256

    def __init__(self, server: Flask, settings: Settings) -> None:
        self._cache = Cache(server, config=cache_config(settings))
        self._local: LRUCache = LRUCache(maxsize=self.LOCAL_ENTRIES if settings.cache.type != "null" else 0)
        self._lock = threading.Lock()
        self._last_warning = 0.0

    @staticmethod
    def key(dataset: str, version: int, query: str, args: tuple[Any, ...], scope: str = "all") -> str:
        """The key of a query's answer. scope names who may read it (restricted data sets pass
        the caller's access scope), so that an answer is never served across scopes."""
        digest = hashlib.sha1(repr(args).encode()).hexdigest()[:20]
        return f"{dataset}:{scope}:v{version}:{CODE_VERSION}:{query}:{digest}"

    def ping(self) -> bool:
        """Whether the shared backend answers a write and a read."""
        probe = "health:probe"
        try:
            self._cache.set(probe, 1, timeout=10)
            return self._cache.get(probe) == 1
        except Exception as exc:
            self._warn("probe", exc)
            return False

    def get_or_compute(self, key: str, compute: Callable[[], T]) -> T:
        """The cached value for key, or compute() (stored for next time when the cache works)."""
        with self._lock:
            value = self._local.get(key)
        if value is not None:
            CACHE.labels("hit").inc()
            return value
        value = self._shared_get(key)
        if value is None:
            CACHE.labels("miss").inc()
            value = compute()
            self._shared_set(key, value)
        else:
            CACHE.labels("hit").inc()
        if self._local.maxsize:
            with self._lock:
                self._local[key] = value
        return value

    def peek(self, key: str):
        """The cached value for key, or None (nothing is computed)."""
        with self._lock:
            value = self._local.get(key)
        return value if value is not None else self._shared_get(key)

    def put(self, key: str, value) -> None:
        """Store value under key (another process computed it: a background job)."""
        self._shared_set(key, value)
        if self._local.maxsize:
            with self._lock:
                self._local[key] = value

    def _shared_get(self, key: str):
        try:
            return self._cache.get(key)
        except Exception as exc:  # any backend failure: serve the answer anyway
            self._warn("read", exc)
            return None

    def _shared_set(self, key: str, value) -> None:
        try:
            self._cache.set(key, value)
        except Exception as exc:
            self._warn("write", exc)

    def clear(self) -> None:
        """Forget everything, in this process and in the shared backend."""
        with self._lock:
            self._local.clear()
        try:
            self._cache.clear()
        except Exception as exc:
            self._warn("clear", exc)

    def _warn(self, action: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_warning >= self.WARN_EVERY_S:
            self._last_warning = now
            log.warning("cache %s failed, computing without the cache: %s", action, exc)
