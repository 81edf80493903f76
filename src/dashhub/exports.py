"""Downloads every dashboard offers: a chart as standalone HTML, rows as streamed, formula-safe CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from html import escape

import plotly.io as pio
from flask import Response, stream_with_context

from dashhub.csvsafe import safe_cell
from dashhub.i18n import current_locale, plotly_locale

CSV_FLUSH_ROWS = 5000


def chart_html(figure: dict, filename: str) -> Response:
    """The figure as a standalone page (plotly.js inlined: it opens offline), in the user's
    language: its dates and numbers (Plotly's locale), its toolbar, its <title> and <html lang>."""
    locale = current_locale()
    html = pio.to_html(
        figure,
        include_plotlyjs=True,
        full_html=True,
        validate=False,
        # nothing in the toolbar of the saved page sends the data anywhere
        config={
            "displaylogo": False,
            "showSendToCloud": False,
            "plotlyServerURL": "",
            **plotly_locale(locale),
        },
    )
    title = escape(_plain_title(figure) or filename)
    html = html.replace("<html>", f'<html lang="{locale}">', 1).replace(
        "<head>", f'<head><meta charset="utf-8" /><title>{title}</title>', 1
    )
    return attachment(html, filename, "text/html; charset=utf-8")


def _plain_title(figure: dict) -> str:
    title = (figure.get("layout") or {}).get("title") or {}
    text = title.get("text", "") if isinstance(title, dict) else str(title)
    return re.sub(r"<[^>]+>", " ", text).strip()


def csv_download(header: Sequence[str], rows: Iterable[Sequence], filename: str) -> Response:
    """rows streamed as CSV, text cells made safe from spreadsheet formulas."""
    return attachment(stream_with_context(csv_lines(header, rows)), filename, "text/csv; charset=utf-8")


def csv_lines(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow(safe_row(row))
        if count % CSV_FLUSH_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def safe_row(row: Sequence) -> list:
    """row with its text cells made safe from spreadsheet formulas."""
    return [safe_cell(value) if isinstance(value, str) else value for value in row]


DECIMAL = re.compile(r"^-?\d+\.\d+$")


def decimal_commas(row: list) -> list:
    """Numbers with a decimal comma (« 1234,5 »), for French spreadsheets: floats, and the
    decimal numbers the exports write as text (« 1234.50 »); other cells as they are."""
    return [
        str(value).replace(".", ",")
        if isinstance(value, float | Decimal) or (isinstance(value, str) and DECIMAL.match(value))
        else value
        for value in row
    ]


def attachment(body, filename: str, mimetype: str) -> Response:
    response = Response(body, content_type=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
