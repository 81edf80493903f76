"""Finished exports on disk: written by a job, downloaded by the user who asked for them.

Each export is `<id>.csv` plus `<id>.json` (owner, dashboard, rows, file name). The id is random
(128 bits) and the download also checks the owner, so neither guessing nor sharing a link gives
someone else's rows. Files older than `jobs.keep_hours` are removed when the next export starts.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
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


class ExportFiles:
    def __init__(self, directory: Path, keep_hours: float, job_seconds: float) -> None:
        self.directory = directory
        self._keep_seconds = keep_hours * 3600
        # A partial file older than the longest a job may run belongs to a job that was killed.
        self._abandoned_seconds = job_seconds + 120

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
            age = self._abandoned_seconds if path.name.endswith(".part") else self._keep_seconds
            try:
                if path.stat().st_mtime < now - age:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        return removed
