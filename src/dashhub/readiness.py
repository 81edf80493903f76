"""What `dashhub check-config` checks beyond the configuration's values: everything `serve`
refuses to start on, and whether the database and the cache answer (each within a few seconds)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from dashhub.auth.hardening import check_production
from dashhub.config import ConfigError, Settings
from dashhub.db import make_engine


def problems(settings: Settings) -> list[str]:
    """Every reason `serve` would refuse to start or fail at its first request; empty: ready."""
    found: list[str] = []
    try:
        check_production(settings)
    except ConfigError as exc:
        found.append(str(exc))
    found += database_problems(settings)
    found += cache_problems(settings)
    return found


def _writable_folder(folder: Path, what: str) -> list[str]:
    """folder can be written, or created (its nearest existing parent can be written)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return [f"{what}: {existing} is not a folder"]
    if not os.access(existing, os.W_OK | os.X_OK):
        return [f"{what}: {existing} is not writable by this user ({os.geteuid()})"]
    return []


def database_problems(settings: Settings) -> list[str]:
    url = settings.database_url
    if url.startswith("sqlite"):
        path = Path(make_url(url).database or "")
        found = _writable_folder(
            path.parent, f"database folder (database.url or paths.data_dir: {path.parent})"
        )
        if found or not path.exists():
            return found  # (a missing file is made by `dashhub init`, not here)
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver's error: said, not raised
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return [f"database.url: the database does not answer: {reason}"]
    finally:
        engine.dispose()
    return []


def cache_problems(settings: Settings) -> list[str]:
    cache = settings.cache
    if cache.type == "filesystem":
        return _writable_folder(settings.cache_dir, f"cache folder ({settings.cache_dir})")
    if cache.type == "redis":
        import redis

        timeout = max(cache.socket_timeout, 2.0)
        try:
            redis.Redis.from_url(
                cache.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
            ).ping()
        except Exception as exc:  # any connection or authentication error
            return [f"cache.redis_url: Redis does not answer: {str(exc).splitlines()[0]}"]
    return []
