"""An uploaded file typed and stored in a process of its own, so that the web worker keeps its size.

Reading and typing a million rows takes ~170 MB for a moment (pyarrow's blocks, DuckDB's working
memory), which an allocator keeps once taken: in a worker that already holds the whole app (~380 MB)
that would pass 500 MB and stay there. A short-lived Python process that imports only what storing
needs (~190 MB) does the work and exits, giving everything back; the worker waits for its answer.

The child gets its job as JSON on stdin and answers one JSON line on stdout: the dataset's id and
the rows set aside, or the refusal (its msgid and parameters, said in the user's language by the
worker).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from dashhub.i18n import Word
from dashhub.services.user_datasets import DatasetRefused, DatasetStore, ImportReport, Viewer

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 600


class ImportFailed(RuntimeError):
    """The import process died or answered nothing usable (logged; the user is told to retry)."""


def add_in_child(
    store: DatasetStore, database_url: str, viewer: Viewer, path: Path, filename: str
) -> ImportReport:
    """store.add(viewer, path, filename), run by a child process; DatasetRefused as store.add."""
    job = {
        "database_url": database_url,
        "root": str(store.root),
        "max_per_user": store.max_per_user,
        "max_bytes_per_user": store.max_bytes_per_user,
        "user_id": viewer.user_id,
        "role": viewer.role,
        "path": str(path),
        "filename": filename,
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "dashhub.services.dataset_import"],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ImportFailed(f"the import process ran past {TIMEOUT_SECONDS} s") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        log.error("import process exited %s: %s", done.returncode, done.stderr.strip()[-2000:])
        raise ImportFailed(f"the import process exited with {done.returncode}")
    answer = json.loads(lines[-1])
    if "refused" in answer:
        refused = answer["refused"]
        words = set(refused.get("words", []))
        params = {k: Word(v) if k in words else v for k, v in refused["params"].items()}
        raise DatasetRefused(refused["message"], **params)
    return ImportReport(
        dataset=store.get(viewer, int(answer["id"])),
        rejected=int(answer["rejected"]),
        first_rejected=[(int(line), str(reason)) for line, reason in answer["first_rejected"]],
    )


def main() -> None:
    """The child: one job from stdin, one answer on stdout."""
    from dashhub.db import make_engine

    job = json.loads(sys.stdin.read())
    engine = make_engine(job["database_url"])
    store = DatasetStore(engine, Path(job["root"]), job["max_per_user"], job["max_bytes_per_user"])
    try:
        report = store.add(Viewer(int(job["user_id"]), job["role"]), Path(job["path"]), job["filename"])
    except DatasetRefused as exc:
        words = [k for k, v in exc.params.items() if isinstance(v, Word)]
        answer = {"refused": {"message": exc.message, "params": exc.params, "words": words}}
    else:
        answer = {
            "id": report.dataset.id,
            "rejected": report.rejected,
            "first_rejected": [list(pair) for pair in report.first_rejected],
        }
    finally:
        engine.dispose()
    print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
