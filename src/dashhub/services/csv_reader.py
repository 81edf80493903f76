"""Reading delimited text files fast and exactly, for `dashhub load`.

pyarrow's CSV parser reads the records, a block at a time, as columns of strings (so memory stays
flat whatever the file's size); this module adds what a loader needs around it: the encoding
(detected or given), a header that need not be on line 1 (blank lines and a spreadsheet's title
lines before it are skipped), a hint when the separator is not the expected one, rows with the wrong
number of fields kept apart with their reason, and the file's line number of any record, for
messages (« line 12: amount is not a number »).

Records are numbered from 0 after the header, as the parser sees them: blank lines are not records,
a quoted field may span lines. Most files have one record per line and no blank line: then a
record's line is computed; otherwise one pass of Python's csv reader over the start of the file
finds the lines of the records asked for.
"""

from __future__ import annotations

import codecs
import csv
import io
import queue
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from dashhub.i18n import N_, Said

# What the parser reads at a time, and so the longest record it accepts. Bigger blocks are no
# faster and hold more memory (the process stays near 160 MB reading any size of file with 2 MB).
BLOCK_BYTES = 2 << 20
MAX_KEPT = 1000  # rows with the wrong number of fields kept with their reason (all are counted)
SEPARATORS = {";": "semicolon", "\t": "tab", "|": "vertical bar", ",": "comma"}
DECIMAL_COMMA = re.compile(r"^-?[\d\s.\u00a0\u202f]*\d,\d+$")  # « 12,5 », « 1 234,50 », « 1.234,5 »
ASCII_NEWLINES = {"utf-8-sig", "utf-8", "utf8", "cp1252", "latin-1", "latin1", "iso-8859-1", "iso-8859-15"}
# Title lines above the header (« Rapport des ventes 2025 »): looked for among the first records
# of the file's first bytes only.
TITLE_RECORDS = 20
TITLE_BYTES = 64 << 10


class FileRejected(Said):
    """The file as a whole cannot be loaded (unreadable, wrong columns): str() for the command
    line, said() in the user's language on the web."""


@dataclass(frozen=True)
class CsvFormat:
    """How a file is written: field separator, decimal mark, date format, text encoding (auto:
    UTF-8 with or without BOM, UTF-16 with BOM, else Windows-1252)."""

    sep: str = ","
    decimal: str = "."
    encoding: str = "auto"
    date_format: str = "%Y-%m-%d"


@dataclass(frozen=True)
class Header:
    names: list[str]  # stripped, lower-cased, without the empty names of trailing separators
    line: int  # the file's line of the header (blank lines may come before it)
    trailing: int  # separators after the last name (« a,b,c, »)
    first_row: list[str] | None  # the first record after it, for the separator hint
    written: list[str] = field(default_factory=list)  # the names as written (case kept)
    titles: list[int] = field(default_factory=list)  # the lines skipped as titles above it


@dataclass
class Ragged:
    """Rows with the wrong number of fields: all counted, the first MAX_KEPT kept."""

    count: int = 0
    kept: list[tuple[int, str]] = field(default_factory=list)  # (record, reason)

    def add(self, record: int, reason: str) -> None:
        self.count += 1
        if len(self.kept) < MAX_KEPT:
            self.kept.append((record, reason))


def detect_encoding(path: Path, encoding: str = "auto") -> str:
    """With « auto », a BOM's encoding (UTF-8 or UTF-16), else UTF-8 when the first megabyte is
    UTF-8, else Windows-1252 (what Excel writes in western Europe). LookupError: unknown."""
    if encoding == "auto":
        with path.open("rb") as raw:
            head = raw.read(1 << 20)
        if head.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"
        else:
            try:
                codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
                encoding = "utf-8-sig"
            except UnicodeDecodeError:
                encoding = "cp1252"
    codecs.lookup(encoding)
    return encoding


def open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(path.open("rb"), encoding=encoding, newline="")


def encoding_name(encoding: str) -> str:
    """An encoding as people call it."""
    names = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "cp1252": "Windows-1252", "utf-16": "UTF-16"}
    return names.get(encoding.lower(), encoding)


def bad_byte(path: Path, encoding: str) -> FileRejected:
    """Which line holds the first byte that is not text in encoding, and what to try."""
    decoder = codecs.getincrementaldecoder(encoding)()
    name = encoding_name(encoding)
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as bad:
                return FileRejected(
                    N_(
                        "line {line}: byte {byte} is not {encoding} text; the file is binary or in another "
                        "encoding (try --encoding cp1252, latin-1 or utf-16)"
                    ),
                    line=str(number),
                    byte=f"0x{bad.object[bad.start]:02X}",
                    encoding=name,
                )
    return FileRejected(N_("the file is not {encoding} text"), encoding=name)


def format_hint(header: list[str], first_row: list[str] | None, fmt: CsvFormat) -> str | None:
    """When the header is one column holding another separator: what the file looks like."""
    if len(header) != 1:
        return None
    for sep in SEPARATORS:
        if sep != fmt.sep and sep in header[0]:
            line = fmt.sep.join(first_row) if first_row else ""  # (the row as written)
            comma = any(DECIMAL_COMMA.match(cell.strip()) for cell in line.split(sep))
            shown = "\\t" if sep == "\t" else sep
            options = f"--sep '{shown}'" + (" --decimal ','" if comma else "")
            shape = f"{SEPARATORS[sep]}-separated" + (" with decimal commas" if comma else "")
            return f"the file looks {shape}: use {options}"
    return None


def _limit() -> str:
    return f"{BLOCK_BYTES / (1 << 20):g} MB"


def _csv_rows(text: io.TextIOBase, sep: str) -> Iterator[tuple[list[str], int]]:
    """(record, the line it ends on) by Python's csv reader; a line it cannot read is said."""
    csv.field_size_limit(max(csv.field_size_limit(), BLOCK_BYTES))
    reader = csv.reader(text, delimiter=sep)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise FileRejected(
                    N_("line {line}: a record is longer than {limit}"),
                    line=str(reader.line_num),
                    limit=_limit(),
                ) from None
            raise FileRejected(
                N_("line {line}: not readable as CSV ({reason})"), line=str(reader.line_num), reason=str(exc)
            ) from None
        yield row, reader.line_num


def read_header(path: Path, fmt: CsvFormat, encoding: str, titles: bool = True) -> Header:
    """The first non-blank record, its line, and the record after it; with titles, the first
    record after the file's title lines (see table_start)."""
    start = table_start(path, fmt, encoding) if titles else 1
    skipped: list[int] = []
    with open_text(path, encoding) as text:
        rows = _csv_rows(text, fmt.sep)
        try:
            previous = 0
            for cells, line in rows:  # (the header's line: after the loop)
                first, previous = previous + 1, line
                if any(cell.strip() for cell in cells):
                    if first >= start:
                        break
                    skipped.append(first)
            else:
                raise FileRejected(N_("the file is empty"))
            try:
                first_row = next((row for row, _ in rows if any(c.strip() for c in row)), None)
            except FileRejected:
                first_row = None  # (only for the separator hint: the parser says what is wrong)
        except UnicodeDecodeError:
            raise bad_byte(path, encoding) from None
    written = [name.lstrip("\ufeff").strip() for name in cells]
    trailing = 0
    while len(written) > 1 and written[-1] == "":  # a trailing separator, not a column
        written.pop()
        trailing += 1
    return Header([name.lower() for name in written], line, trailing, first_row, written, skipped)


def table_start(path: Path, fmt: CsvFormat, encoding: str) -> int:
    """The line the table's header starts on when title lines come before it, else 1.

    The first TITLE_RECORDS non-blank records of the first TITLE_BYTES are read under each
    separator (fmt's first). Under one, the header is the first record of two fields or more
    (counted up to its last non-empty cell: « a;b », but not « Rapport;;; » nor « a, »), provided
    that the record after it has as many fields and that at most one of those after it (or one in
    five) has not; the records before it, of one field, are titles. The separator whose header
    comes first wins (a « ; » file whose rows hold decimal commas is not a « , » one). Nothing is
    skipped when a title has as many fields as that header under any separator (« Ventes, 2025 »
    above « a;b » stays), when the header is not a record under fmt's separator, or when the file
    is one column wide (no header of two fields)."""
    with path.open("rb") as raw:
        head = raw.read(TITLE_BYTES)
        truncated = bool(raw.read(1))
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=not truncated)
    lines = io.StringIO(text.lstrip("\ufeff"), newline="").readlines()
    if truncated and len(lines) > 1:
        lines.pop()  # (cut in the middle)
    seps = [fmt.sep] + [sep for sep in SEPARATORS if sep != fmt.sep]
    records = {sep: _first_records(lines, sep) for sep in seps}
    tables = [table for sep in seps if (table := _table_under(records[sep])) is not None]
    if not tables:
        return 1
    line, width = min(tables, key=lambda table: table[0])  # (fmt's separator's on a tie)
    titles = [record for record in records[fmt.sep] if record[0] < line]
    if not titles or line not in {start for start, _ in records[fmt.sep]}:
        return 1
    for other in seps:
        if any(_fields(cells) >= width for start, cells in records[other] if start < line):
            return 1
    return line


def _first_records(lines: list[str], sep: str) -> list[tuple[int, list[str]]]:
    """(the line it starts on, its cells) of the first TITLE_RECORDS non-blank records."""
    found: list[tuple[int, list[str]]] = []
    reader = csv.reader(lines, delimiter=sep)
    previous = 0
    try:
        for cells in reader:
            start, previous = previous + 1, reader.line_num
            if any(cell.strip() for cell in cells):
                found.append((start, cells))
                if len(found) == TITLE_RECORDS:
                    break
    except csv.Error:
        pass  # (what precedes it is enough to judge; the reader says what is wrong)
    return found


def _fields(cells: list[str]) -> int:
    """The fields of a record up to its last non-empty one (« Rapport;;; » has one)."""
    return max((i + 1 for i, cell in enumerate(cells) if cell.strip()), default=0)


def _table_under(records: list[tuple[int, list[str]]]) -> tuple[int, int] | None:
    """(the header's line, its fields) under one separator, when its records make a table."""
    for k, (line, cells) in enumerate(records):
        width = _fields(cells)
        if width < 2:
            continue  # (a title, or a file of one column)
        sizes = {len(cells), width}  # (with or without the header's trailing separators)
        after = [len(row) in sizes or _fields(row) == width for _, row in records[k + 1 :]]
        if after and after[0] and after.count(False) <= max(1, len(after) // 5):
            return line, width
        return None
    return None


class CsvReader:
    """A file's header, then its records as batches of string columns named by the header."""

    def __init__(self, path: Path, fmt: CsvFormat = CsvFormat(), *, titles: bool = True) -> None:
        """titles: skip title lines above the header (see table_start); False: the header is the
        first non-blank record."""
        self.path, self.fmt = path, fmt
        self.encoding = detect_encoding(path, fmt.encoding)
        self.header = read_header(path, fmt, self.encoding, titles)
        self.ragged = Ragged()
        self.records = 0  # records read so far (returned, ragged or blank)
        self._skipped: list[int] = []  # records the parser did not return, in order
        self._rescued: list[tuple[int, list[str]]] = []  # rows without the header's trailing separator

    @property
    def _names(self) -> list[str]:
        """The columns' names in batches: the header's, or positions when two are the same."""
        names = self.header.names
        return names if len(set(names)) == len(names) else [f"\x00column{i}" for i in range(len(names))]

    @property
    def width(self) -> int:
        return len(self.header.names)

    def batches(self) -> Iterator[tuple[pa.Table, np.ndarray]]:
        """(string columns, the record number of each row), a block of the file at a time; rows with
        the wrong number of fields go to `ragged`, blank ones nowhere."""
        names = self._names + [f"\x00trailing{i}" for i in range(self.header.trailing)]
        options = dict(
            read_options=pacsv.ReadOptions(
                use_threads=False,  # (the parser numbers the rows it skips only when serial)
                block_size=BLOCK_BYTES,
                skip_rows=self.header.line,
                column_names=names,
                encoding="utf8" if self.encoding in ("utf-8-sig", "utf-8") else self.encoding,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=self.fmt.sep, newlines_in_values=True, invalid_row_handler=self._skip
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        returned = 0  # rows the parser returned so far
        try:
            # (from a Python file: given a path, pyarrow reads many blocks ahead, memory growing)
            with self.path.open("rb") as raw:
                batches = pacsv.open_csv(raw, **options)
                for batch in batches:
                    records = self._record_numbers(returned, batch.num_rows)
                    yield self._drop_trailing(pa.Table.from_batches([batch]), records)
                    returned += batch.num_rows
                    self.records = returned + len(self._skipped)
                    yield from self._rescued_rows()
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            message = str(exc)
            if isinstance(exc, UnicodeDecodeError) or "invalid UTF8" in message:
                raise bad_byte(self.path, self.encoding) from None
            if "straddl" in message:
                raise FileRejected(N_("a record is longer than {limit}"), limit=_limit()) from None
            raise FileRejected(N_("not readable as CSV ({reason})"), reason=message.splitlines()[0]) from None
        self.records = returned + len(self._skipped)

    def _skip(self, row) -> str:
        """The parser's handler for a row with the wrong number of fields."""
        record = row.number - self.header.line - 1
        self._skipped.append(record)
        if not row.text.replace(self.fmt.sep, "").strip():
            return "skip"  # a line of spaces and separators: blank
        if self.header.trailing and row.actual_columns == self.width:
            cells = next(csv.reader([row.text], delimiter=self.fmt.sep), [])
            if len(cells) == self.width:  # « a,b,c » under « a,b,c, »: no trailing separator
                self._rescued.append((record, cells))
                return "skip"
        self.ragged.add(record, f"expected {self.width} fields, found {row.actual_columns}")
        return "skip"

    def _record_numbers(self, first: int, count: int) -> np.ndarray:
        """Record numbers of the returned rows first … first + count - 1: each row's place among
        returned rows, plus the skipped records before it."""
        skipped = np.asarray(self._skipped, dtype=np.int64)
        returned_before = skipped - np.arange(len(skipped))  # rows returned before each skipped one
        places = np.arange(first, first + count, dtype=np.int64)
        return places + np.searchsorted(returned_before, places, side="right")

    def _drop_trailing(self, table: pa.Table, records: np.ndarray) -> tuple[pa.Table, np.ndarray]:
        """Columns of a trailing separator: removed; a row with something there is ragged."""
        if not self.header.trailing:
            return table, records
        extra = table.column_names[self.width :]
        filled = np.zeros(table.num_rows, dtype=bool)
        for name in extra:
            filled |= pc.not_equal(pc.utf8_trim_whitespace(table[name]), "").to_numpy(zero_copy_only=False)
        table = table.drop_columns(extra)
        if not filled.any():
            return table, records
        for record in records[filled]:
            self.ragged.add(int(record), f"expected {self.width} fields, found {self.width + len(extra)}")
        return table.filter(pa.array(~filled)), records[~filled]

    def _rescued_rows(self) -> Iterator[tuple[pa.Table, np.ndarray]]:
        if not self._rescued:
            return
        records = np.array([record for record, _ in self._rescued], dtype=np.int64)
        columns = list(zip(*(cells for _, cells in self._rescued), strict=True))
        self._rescued = []
        yield (
            pa.table({n: pa.array(c, pa.string()) for n, c in zip(self._names, columns, strict=True)}),
            records,
        )

    def lines(self, records: Iterable[int]) -> dict[int, int]:
        """The file's line of each record (where it starts)."""
        wanted = sorted(set(records))
        if not wanted:
            return {}
        if self._one_record_per_line():
            return {record: self.header.line + 1 + record for record in wanted}
        found: dict[int, int] = {}
        with open_text(self.path, self.encoding) as text:
            record, previous = -1, 0
            for row, line in _csv_rows(text, self.fmt.sep):
                start, previous = previous + 1, line
                if line <= self.header.line or not row:
                    continue  # the header and what precedes it; blank lines are not records
                record += 1
                if record == wanted[len(found)]:
                    found[record] = start
                    if len(found) == len(wanted):
                        break
        return found

    def _one_record_per_line(self) -> bool:
        """True when the lines after the header are exactly the records (no blank line, no field
        over several lines): checked by counting newlines, in encodings where one byte is one."""
        if self.encoding.lower() not in ASCII_NEWLINES:
            return False
        newlines, last = 0, b"\n"
        with self.path.open("rb") as raw:
            for block in iter(lambda: raw.read(1 << 24), b""):
                newlines += block.count(b"\n")
                last = block[-1:]
        lines = newlines + (last != b"\n")
        return lines - self.header.line == self.records


def read_ahead(batches: Iterator, depth: int = 1) -> Iterator:
    """batches, produced by a thread of their own up to depth ahead of the consumer: reading and
    checking the next batch overlaps writing this one (pyarrow and the database drivers release
    the GIL). An exception in the producer is raised in the consumer."""
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def offer(item) -> bool:
        """Hand item over, unless the consumer stopped listening."""
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not offer(batch):
                    return
            offer(done)
        except BaseException as exc:  # (handed to the consumer, raised there)
            offer(exc)

    producer = threading.Thread(target=produce, name="csv-read-ahead", daemon=True)
    producer.start()
    try:
        while (item := handoff.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        producer.join()
