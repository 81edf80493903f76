"""Finished exports on disk: written by a job, downloaded by the user who asked for them.

Each export is `<id>.csv` plus `<id>.json` (owner, dashboard, rows, file name). The id is random
(128 bits) and the download also checks the owner, so neither guessing nor sharing a link gives
someone else's rows. Files older than `jobs.keep_hours` are removed when the next export starts.

A running export holds a claim, `<id>.claim` (owner, host, process), taken under a file lock: the
claims bound how many exports run per user and in all. A claim whose process has died (a job
killed on cancel or by a restart) is abandoned: it goes, with its partial file, at the next export
or the scheduler's next clean-up.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

EXPORT_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class ExportFile:
    export_id: str
    owner: int
    dashboard: str
    filename: str
    rows: int
    path: Path


@dataclass(frozen=True)
class ExportLimits:
    per_user: int
    in_all: int
    disk_bytes: int


class ExportRefused(Exception):
    """An export that may not start (or go on): which limit, and the figures for the message."""

    def __init__(self, which: str, **figures) -> None:
        super().__init__(which)
        self.limit = which
        self.figures = figures


class ExportFiles:
    def __init__(
        self, directory: Path, keep_hours: float, job_seconds: float, limits: ExportLimits | None = None
    ) -> None:
        self.directory = directory
        self._keep_seconds = keep_hours * 3600
        # A partial file older than the longest a job may run belongs to a job that was killed.
        self._abandoned_seconds = job_seconds + 120
        self.limits = limits or ExportLimits(per_user=2, in_all=4, disk_bytes=2 * 1024**3)

    def claim(self, owner: int) -> str:
        """Take a running-export slot for owner: the new export's id; ExportRefused when the
        user's or everyone's slots are taken, or the exports fill their disk budget."""
        with self._locked():
            running = [c for c in self._claims() if c is not None]
            mine = sum(1 for claim in running if claim.get("owner") == owner)
            if mine >= self.limits.per_user:
                raise ExportRefused("per_user", limit=self.limits.per_user)
            if len(running) >= self.limits.in_all:
                raise ExportRefused("in_all", limit=self.limits.in_all)
            if self.used_bytes() >= self.limits.disk_bytes:
                raise ExportRefused("disk", limit_mb=self.limits.disk_bytes // 1024**2)
            export_id = self.new_id()
            claim = {"owner": owner, "host": socket.gethostname(), "pid": os.getpid(), "at": time.time()}
            (self.directory / f"{export_id}.claim").write_text(json.dumps(claim), encoding="utf-8")
            return export_id

    @contextmanager
    def claimed(self, owner: int) -> Iterator[str]:
        """A running-export slot for owner while the block runs (see claim); released after."""
        export_id = self.claim(owner)
        try:
            yield export_id
        finally:
            self.release(export_id)

    def release(self, export_id: str) -> None:
        (self.directory / f"{export_id}.claim").unlink(missing_ok=True)

    def check_space(self) -> None:
        """ExportRefused when finished and running exports together fill the disk budget."""
        if self.used_bytes() > self.limits.disk_bytes:
            raise ExportRefused("disk", limit_mb=self.limits.disk_bytes // 1024**2)

    def used_bytes(self) -> int:
        total = 0
        for path in self.directory.glob("*.csv*"):
            try:
                total += path.stat().st_size
            except OSError:
                continue
        return total

    def remove_abandoned(self) -> int:
        """Remove the claims (and partial files) of exports whose process is gone; how many."""
        with self._locked():
            return sum(1 for claim in self._claims() if claim is None)

    def _claims(self) -> Iterator[dict | None]:
        """Each claim in the folder; None for one found abandoned (and removed with its file)."""
        for path in self.directory.glob("*.claim"):
            export_id = path.name.removesuffix(".claim")
            try:
                claim = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                claim = {}
            if self._alive(claim, path):
                yield claim
                continue
            path.unlink(missing_ok=True)
            self.discard(export_id)
            log.info("removed the abandoned export %s", export_id)
            yield None

    def _alive(self, claim: dict, path: Path) -> bool:
        try:
            age = time.time() - path.stat().st_mtime
        except OSError:
            return False
        if age > self._abandoned_seconds:
            return False
        if claim.get("host") != socket.gethostname():
            return True  # another host's job: only its age tells
        pid = claim.get("pid")
        if not isinstance(pid, int):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return _not_zombie(pid)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Every process that claims or cleans, on this host (and on a shared volume that supports
        locks), one at a time."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / ".claims.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def new_id(self) -> str:
        return secrets.token_hex(16)

    def partial_path(self, export_id: str) -> Path:
        """Where a job writes while it runs (renamed when complete, so no half file is served)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        return self.directory / f"{export_id}.csv.part"

    def publish(self, export_id: str, owner: int, dashboard: str, filename: str, rows: int) -> ExportFile:
        path = self.directory / f"{export_id}.csv"
        self.partial_path(export_id).replace(path)
        meta = {"owner": owner, "dashboard": dashboard, "filename": filename, "rows": rows}
        (self.directory / f"{export_id}.json").write_text(json.dumps(meta), encoding="utf-8")
        return ExportFile(export_id, owner, dashboard, filename, rows, path)

    def discard(self, export_id: str) -> None:
        self.partial_path(export_id).unlink(missing_ok=True)

    def find(self, export_id: str) -> ExportFile | None:
        """The finished export with this id, or None (unknown, malformed, expired or unfinished)."""
        if not EXPORT_ID.match(export_id):
            return None
        meta_path = self.directory / f"{export_id}.json"
        path = self.directory / f"{export_id}.csv"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not path.exists() or time.time() - path.stat().st_mtime > self._keep_seconds:
            return None
        return ExportFile(
            export_id, int(meta["owner"]), meta["dashboard"], meta["filename"], int(meta["rows"]), path
        )

    def remove_expired(self) -> int:
        """Delete exports older than keep_hours, and partial files no job can still be writing;
        how many went."""
        if not self.directory.exists():
            return 0
        now = time.time()
        removed = 0
        for path in self.directory.iterdir():
            if path.name.endswith(".claim") or path.name.startswith("."):
                continue  # running exports (remove_abandoned decides), and the lock
            age = self._abandoned_seconds if path.name.endswith(".part") else self._keep_seconds
            try:
                if path.stat().st_mtime < now - age:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        return removed


def _not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return True  # no /proc: trust kill(0)
