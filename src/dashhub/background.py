"""What every background job starts with: who asked for it (the ticket the server signed into the
page), whether they may still open its dashboard, and the language to answer in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from dashhub.auth.users import User
from dashhub.container import Services
from dashhub.i18n import gettext as _
from dashhub.i18n import use_locale
from dashhub.registry import by_key


@dataclass(frozen=True)
class JobSession:
    user: User | None
    refusal: str | None = None  # why the job must not run (shown to the user)
    severity: str = "warning"  # how to show the refusal ("warning": reload; "danger": not allowed)


@contextmanager
def job_session(services: Services, token: object, dashboard: str) -> Iterator[JobSession]:
    """Inside a job (a child process or a Celery worker, no request): the user the ticket names,
    in their language, or the reason to refuse."""
    services.after_fork()  # before any query: a forked child must not share the parent's sockets
    ticket = services.signer.verify(token)
    with use_locale(ticket.locale if ticket else services.settings.i18n.default_locale):
        if ticket is None or ticket.dashboard != dashboard:
            yield JobSession(None, _("This page has expired: reload it, then try again."))
            return
        user = services.users.get(ticket.user_id)
        if user is None or not services.access.can_open(user, by_key(dashboard)):
            yield JobSession(None, _("You are not allowed to see this dashboard."), "danger")
            return
        yield JobSession(user)
