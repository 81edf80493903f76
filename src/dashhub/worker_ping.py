"""The worker container's health check: `python -m dashhub.worker_ping [NODE]`.

Exit 0 when the Celery worker of this host (celery@<hostname>, Celery's default name: in a container,
the container's own worker) answers a ping through the broker, 1 otherwise. Light on purpose: the
Celery client alone, not the whole app the worker builds (`celery -A dashhub.worker inspect ping`
built it on every check, seconds of CPU each time, and was answered by any worker of the broker).
"""

from __future__ import annotations

import socket
import sys

from dashhub.config import load_settings
from dashhub.jobs import make_celery


def main(argv: list[str]) -> int:
    node = argv[1] if len(argv) > 1 else f"celery@{socket.gethostname()}"
    celery = make_celery(load_settings())
    try:
        replies = celery.control.ping(destination=[node], timeout=5)
    except Exception as exc:  # the broker is down: not healthy, and say why
        print(f"{node}: the job broker does not answer: {exc}", file=sys.stderr)
        return 1
    if not replies:
        print(f"{node}: no answer to a ping within 5 s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
