"""Reading the first sheet of an Excel workbook (.xlsx) as batches of string columns, like the CSV
reader gives them, so that a workbook is typed and stored exactly as a CSV file is.

The archive is checked before openpyxl opens it (an .xlsx is a zip of XML files: a few kilobytes
can inflate to gigabytes): members, total size and each member's compression ratio are bounded.
Python's zipfile never inflates a member past the size its header declares (and checks its CRC), so
the declared sizes checked here are the sizes actually read.

Cells become text as a CSV would hold them: numbers without locale (« 1234.5 »), dates in ISO 8601,
booleans « true » / « false », formulas as their cached values (a cell whose text starts with « = »
stays text: exports neutralise such cells).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from dashhub.i18n import N_
from dashhub.services.csv_reader import FileRejected, Ragged

MAX_UNCOMPRESSED = 1 << 30  # the archive's members inflated, all together
MAX_RATIO = 100  # a member's uncompressed size over its compressed size (Apache POI's bound too)
RATIO_GRACE = 100 << 10  # (small members may compress better than that: only larger ones are checked)
MAX_MEMBERS = 10_000
BATCH_CELLS = 1_000_000  # cells held in Python before a batch is handed on
WORKBOOK = "xl/workbook.xml"
DAMAGED = N_("the file is damaged: a zip archive (an Excel .xlsx workbook?) that cannot be read")


def check_archive(path: Path) -> None:
    """Refuse what is not a workbook, or would inflate to far more than it weighs (a zip bomb)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise FileRejected(DAMAGED) from None
    if len(members) > MAX_MEMBERS:
        raise FileRejected(
            N_("the zip archive has {count} files: at most {most}"), count=len(members), most=MAX_MEMBERS
        )
    if WORKBOOK not in {member.filename for member in members}:
        raise FileRejected(N_("the file is a zip archive, not an Excel workbook (.xlsx) nor a CSV file"))
    if any(member.flag_bits & 0x1 for member in members):
        raise FileRejected(N_("the workbook is password-protected: save it without a password"))
    total = sum(member.file_size for member in members)
    if total > MAX_UNCOMPRESSED:
        raise FileRejected(
            N_("the workbook holds {size} GB once unzipped: at most 1 GB"), size=f"{total / (1 << 30):.1f}"
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_GRACE and ratio > MAX_RATIO:
            raise FileRejected(
                N_(
                    "the workbook's {member} inflates {ratio} times (at most {most}): "
                    "refused as a possible zip bomb"
                ),
                member=member.filename,
                ratio=round(ratio),
                most=MAX_RATIO,
            )


def cell_text(value: Any) -> str:
    """A cell's value as a CSV would hold it, so that DuckDB infers its type as from a file."""
    if value is None:
        return ""
    if isinstance(value, bool):  # (before int: a bool is an int)
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # (shortest exact form, no locale, no thousands separator)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time() and value.tzinfo is None:
            return value.date().isoformat()  # (a date cell is a datetime at midnight)
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _trimmed(cells: list[str]) -> list[str]:
    """Without the empty cells at the end of a row (a sheet's row ends where its last value is)."""
    end = len(cells)
    while end and not cells[end - 1].strip():
        end -= 1
    return cells[:end]


class XlsxReader:
    """The first sheet of a workbook: its header (first non-empty row), then its rows as batches of
    string columns. Fully empty rows are skipped; rows longer than the header go to `ragged` with
    their sheet row number. Use as a context manager (the workbook stays open while read)."""

    def __init__(self, path: Path) -> None:
        check_archive(path)
        self._handle: IO[bytes] = path.open("rb")
        try:
            self._rows = self._open_rows()
            self.header_row, self.written = self._header()
        except BaseException:
            self.close()
            raise
        self.ragged = Ragged()

    def _open_rows(self) -> Iterator[tuple[int, list[str]]]:
        """(sheet row number, cells as text) of the first sheet, streamed."""
        from openpyxl import load_workbook  # (imported when a workbook comes: it is slow to import)

        try:
            # (from a file object: given a path, openpyxl would go by its extension, not its content)
            self._book = load_workbook(self._handle, read_only=True, data_only=True)
            sheets = self._book.worksheets
        except Exception as exc:  # (openpyxl says a damaged workbook many ways)
            raise FileRejected(
                N_("the Excel workbook cannot be read: {reason}"), reason=_reason(exc)
            ) from None
        if not sheets:
            raise FileRejected(N_("the Excel workbook has no sheet"))
        sheet = sheets[0]
        sheet.reset_dimensions()  # (a declared « A1:XFD1048576 » would pad every row to 16,384 cells)
        return _guarded(
            (number, [cell_text(v) for v in row])
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1)
        )

    def _header(self) -> tuple[int, list[str]]:
        for number, cells in self._rows:
            written = _trimmed(cells)
            if written:
                return number, [name.strip() for name in written]
        raise FileRejected(N_("the file is empty"))

    @property
    def width(self) -> int:
        return len(self.written)

    def batches(self) -> Iterator[list[pa.Array]]:
        """The rows under the header, as one string array per header column, a batch at a time."""
        columns: list[list[str]] = [[] for _ in range(self.width)]
        held = 0
        for number, cells in self._rows:
            row = _trimmed(cells)
            if not row:
                continue  # (a blank row, as a blank line in a CSV file)
            if len(row) > self.width:
                self.ragged.add(number, f"expected {self.width} fields, found {len(row)}")
                continue
            row += [""] * (self.width - len(row))
            for column, cell in zip(columns, row, strict=True):
                column.append(cell)
            held += self.width
            if held >= BATCH_CELLS:
                yield [pa.array(column, pa.string()) for column in columns]
                columns, held = [[] for _ in range(self.width)], 0
        if held:
            yield [pa.array(column, pa.string()) for column in columns]

    def close(self) -> None:
        book = getattr(self, "_book", None)
        if book is not None:
            book.close()
        self._handle.close()

    def __enter__(self) -> XlsxReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _guarded(rows: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, list[str]]]:
    """rows, with a damaged sheet (found only while streaming it) said as a refusal."""
    try:
        yield from rows
    except FileRejected:
        raise
    except Exception as exc:  # (bad XML, a missing part, a bad CRC: openpyxl and zipfile say many ways)
        raise FileRejected(N_("the Excel workbook cannot be read: {reason}"), reason=_reason(exc)) from None


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
