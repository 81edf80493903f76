"""Large CSV exports as Dash background callbacks: progress bar, cancel, a download when done.

A dashboard gives an ExportSource (what its rows are for a query string); `register_export`
wires its button, progress bar and cancel button to a job that runs on the background manager
(a child process on the embedded default, a Celery worker in production), and
`install_download_route` serves the finished file to the user who asked for it.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, html
from flask import Flask, abort, send_file
from flask_login import current_user
from sqlalchemy.exc import OperationalError

from dashhub.auth.callbacks import secure_callback
from dashhub.background import job_session
from dashhub.container import Services
from dashhub.exports import decimal_commas, safe_row
from dashhub.i18n import current_locale, fmt_number
from dashhub.i18n import gettext as _
from dashhub.jobs import JobTicket, stop_on_sigterm
from dashhub.layouts.common import CSV_DIALECTS, ExportIds
from dashhub.services.export_files import ExportFile, ExportRefused
from dashhub.validation import BadInput

log = logging.getLogger(__name__)

PROGRESS_EVERY_ROWS = 5000
PROGRESS_EVERY_SECONDS = 0.5


@dataclass(frozen=True)
class ExportSource:
    """One dashboard's rows: `prepare(query)` validates the query string and returns how many
    rows match and an iterator over them (in `header` order)."""

    header: Sequence[str]
    filename: Callable[[str], str]  # the file's name for the query (it records the filters)
    prepare: Callable[[str], tuple[int, Iterable[Sequence]]]


class ExportStopped(Exception):
    """The job ran past jobs.timeout_seconds."""


def export_ticket(services: Services, dashboard: str) -> str:
    """The signed ticket a page carries so that its export job knows who asked (web side)."""
    return services.signer.sign(JobTicket(int(current_user.id), dashboard, current_locale()))


def register_export(
    app: Dash, services: Services, dashboard: str, ids: ExportIds, query: State, source: ExportSource
) -> None:
    """The background export of one dashboard: its button, progress, cancel and result."""
    callback = secure_callback(app, dashboard)
    timeout = services.settings.jobs.timeout_seconds

    def run_export(set_progress, _clicks, query_string, token, dialect):
        with job_session(services, token, dashboard) as session:
            if session.user is None:
                return _alert(session.severity, session.refusal)
            user = session.user
            try:
                if dialect not in CSV_DIALECTS:
                    raise BadInput("dialect", "unknown CSV format")
                with stop_on_sigterm():
                    export = _write_export(
                        services,
                        dashboard,
                        source,
                        query_string or "",
                        user.id,
                        set_progress,
                        time.monotonic() + timeout,
                        dialect,
                    )
            except BadInput:
                return _alert("warning", _("The filters in the address are not valid: reset them."))
            except ExportRefused as refused:
                return _alert("warning", _refusal(refused))
            except ExportStopped:
                return _alert("danger", _timeout_message(timeout))
            except OperationalError as exc:
                log.error("export %s: database unavailable: %s", dashboard, exc)
                return _alert("danger", _("The database is not answering. Try again in a moment."))
            except Exception as exc:
                if type(exc).__name__ == "SoftTimeLimitExceeded":  # Celery's backstop
                    return _alert("danger", _timeout_message(timeout))
                log.exception("export %s failed", dashboard)
                return _alert("danger", _("The export failed; the administrators have been told."))
            if export is None:
                return _alert("info", _("Nothing to export: no row matches the filters."))
            services.audit.record(
                "export",
                username=user.username,
                dashboard=dashboard,
                format="csv",
                rows=export.rows,
                query=query_string,
                background=True,
            )
            return _done(services, export)

    def stopped(error: Exception):
        """A job that ended without a result (its worker was killed or timed out)."""
        log.error("export %s: %s", dashboard, str(error).splitlines()[0])
        return _alert(
            "danger",
            _(
                "The export stopped before finishing (time limit reached or worker "
                "restarted). Narrow the filters and try again."
            ),
        )

    callback(
        Output(ids.result, "children"),
        Input(ids.start, "n_clicks"),
        query,
        State(ids.ticket, "data"),
        State(ids.dialect, "value"),
        background=True,
        prevent_initial_call=True,
        progress=[Output(ids.bar, "value"), Output(ids.count, "children")],
        progress_default=[0, ""],
        running=[
            (Output(ids.start, "disabled"), True, False),
            (Output(ids.cancel, "disabled"), False, True),
            (Output(ids.progress, "className"), "export-progress mb-3", "export-progress mb-3 d-none"),
            (Output(ids.result, "className"), "d-none", ""),
        ],
        cancel=[Input(ids.cancel, "n_clicks")],
        on_error=stopped,
        interval=500,
    )(run_export)

    @callback(
        Output(ids.result, "children", allow_duplicate=True),
        Input(ids.cancel, "n_clicks"),
        prevent_initial_call=True,
    )
    def cancelled(_clicks):
        return _alert("secondary", _("Export cancelled."))


def _write_export(
    services: Services,
    dashboard: str,
    source: ExportSource,
    query_string: str,
    owner: int,
    set_progress,
    deadline: float,
    dialect: str = "standard",
) -> ExportFile | None:
    files = services.exports
    files.remove_expired()
    with files.claimed(owner) as export_id:  # (ExportRefused past the limits)
        total, rows = source.prepare(query_string)
        french = dialect == "excel-fr"
        if total == 0:
            return None
        set_progress(_progress(0, total))  # the total at once, before the first row arrives
        written, reported = 0, time.monotonic()
        try:
            # French spreadsheets: semicolons, decimal commas, and a BOM so that they read UTF-8
            encoding = "utf-8-sig" if french else "utf-8"
            with files.partial_path(export_id).open("w", newline="", encoding=encoding) as out:
                writer = csv.writer(out, delimiter=";" if french else ",")
                writer.writerow(source.header)
                for row in rows:
                    writer.writerow(decimal_commas(safe_row(row)) if french else safe_row(row))
                    written += 1
                    if written % PROGRESS_EVERY_ROWS == 0:
                        now = time.monotonic()
                        if now > deadline:
                            raise ExportStopped
                        files.check_space()
                        if now - reported >= PROGRESS_EVERY_SECONDS:
                            set_progress(_progress(written, total))
                            reported = now
        except BaseException:
            files.discard(export_id)
            raise
        set_progress(_progress(written, max(total, written)))
        return files.publish(export_id, owner, dashboard, source.filename(query_string), written)


def _progress(done: int, total: int) -> tuple[int, str]:
    percent = int(100 * done / total) if total else 100
    return percent, _("{done} / {total} rows").format(done=fmt_number(done), total=fmt_number(total))


def _refusal(refused: ExportRefused) -> str:
    if refused.limit == "per_user":
        return _(
            "You already have {limit} exports running: wait for one to finish (or cancel it), then try again."
        ).format(limit=refused.figures["limit"])
    if refused.limit == "in_all":
        return _("The server is busy with {limit} exports: try again in a few minutes.").format(
            limit=refused.figures["limit"]
        )
    return _(
        "The exports fill the space set aside for them ({size} MB): try again once older ones "
        "have expired, or narrow the filters."
    ).format(size=fmt_number(refused.figures["limit_mb"]))


def _timeout_message(timeout: float) -> str:
    return _(
        "The export took longer than {seconds} s and was stopped. Narrow the filters and try again."
    ).format(seconds=fmt_number(timeout))


def _done(services: Services, export: ExportFile) -> dbc.Alert:
    size = export.path.stat().st_size
    return _alert(
        "success",
        [
            html.Span(
                _("{rows} rows exported ({size}).").format(
                    rows=fmt_number(export.rows), size=_file_size(size)
                ),
                className="me-2",
            ),
            html.A(
                [html.I(className="bi bi-download me-1"), _("Download the CSV file")],
                href=f"{services.prefix}/export/files/{export.export_id}",
                className="btn btn-success btn-sm",
                download=export.filename,
            ),
        ],
    )


def _file_size(size: int) -> str:
    if size < 1e6:
        return _("{size} KB").format(size=fmt_number(max(size / 1e3, 0.1), 1))
    return _("{size} MB").format(size=fmt_number(size / 1e6, 1))


def _alert(color: str, children) -> dbc.Alert:
    return dbc.Alert(children, color=color, className="py-2 mb-3 d-flex align-items-center flex-wrap")


def install_download_route(server: Flask, services: Services) -> None:
    """GET /export/files/<id>: the finished export, to the user who asked for it only."""

    @server.route(f"{services.prefix}/export/files/<export_id>", endpoint="export_file")
    def download(export_id: str):
        export = services.exports.find(export_id)
        if export is None or export.owner != int(current_user.id):
            abort(404)
        services.access.require(export.dashboard)
        services.audit.record("export_download", dashboard=export.dashboard, rows=export.rows)
        response = send_file(
            export.path, mimetype="text/csv", as_attachment=True, download_name=export.filename, max_age=0
        )
        response.headers["Cache-Control"] = "no-store"
        return response
