"""« Vos données »: a user's own file (CSV, read by the loader's CSV reader; an Excel .xlsx
workbook's first sheet; a Parquet file) or a bundled example, every column typed (each source
first written as a Parquet file of strings, then typed by the same rules), stored as Parquet under
paths.data_dir/datasets/<owner>/ and described in the `datasets` table; read back by DuckDB
(paging, sorting, filtering and summaries run on the file, never whole in Python).

Access is decided here, from the user the server knows (never from a client's input): the owner
may do anything with a dataset; users of the role it is shared with may read it; anyone else is
told it does not exist, as if it did not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.resources
import json
import os
import shutil
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Engine, delete, func, insert, or_, select, update

from dashhub.db import datasets, saved_charts
from dashhub.i18n import N_, Said, Word
from dashhub.services.csv_reader import (
    DECIMAL_COMMA,
    SEPARATORS,
    CsvFormat,
    CsvReader,
    FileRejected,
    Header,
)
from dashhub.services.xlsx_reader import XlsxReader

COLUMN_TYPES = ("integer", "number", "datetime", "boolean", "category", "text")
MAX_COLUMNS = 500
MAX_NAME = 128
CATEGORY_SHARE = 0.5  # at most this share of distinct values (and MAX_CATEGORIES) makes a category
MAX_CATEGORIES = 1000
MIN_CATEGORIES = 20  # (so that a small file's few labels are categories too)
PAGE_LIMIT = 1000
ROW_NUMBER = "file_row_number"  # (DuckDB's virtual column of a Parquet row's position)
DUCKDB_TYPES = {
    "integer": "BIGINT",
    "number": "DOUBLE",
    "datetime": "TIMESTAMP",
    "boolean": "BOOLEAN",
    "category": "VARCHAR",
    "text": "VARCHAR",
}
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # (a zip's first bytes; an empty one's)
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, and any password-protected Office file
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
MAX_PARQUET_BYTES = 1 << 30  # a Parquet file's columns uncompressed, as its footer declares them
PARQUET_BATCH_ROWS = 65_536
# With decimal commas: « 1 234,5 », « -12,5 » and « 1.234 » (grouping marks only) are numbers.
GROUPING_MARKS = r"[\s.\x{00a0}\x{202f}']"
COMMA_NUMBER = r"^[+-]?\d[\d\s.\x{00a0}\x{202f}']*,\d+$|^[+-]?,\d+$"
GROUPED_NUMBER = r"^[+-]?\d{1,3}([\s.\x{00a0}\x{202f}']\d{3})+$"
FILTER_OPERATORS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "contains": "ILIKE"}


class DatasetNotFound(LookupError):
    """No such dataset for this user (missing, or someone else's and not shared with them)."""


class DatasetRefused(Said, ValueError):
    """The file or the request cannot be taken, with why (said to the user in their language)."""

    @classmethod
    def of(cls, rejected: FileRejected) -> DatasetRefused:
        return cls(rejected.message, **rejected.params)


@dataclass(frozen=True)
class Viewer:
    """Who asks: the user the server authenticated."""

    user_id: int
    role: str

    @classmethod
    def of(cls, user) -> Viewer:
        """The viewer a logged-in user is (a Flask-Login user, or a users row)."""
        return cls(int(user.id), user.role)


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass(frozen=True)
class Dataset:
    id: int
    owner_id: int
    name: str
    filename: str
    stored: str
    rows: int
    bytes: int
    columns: tuple[Column, ...]
    created_at: dt.datetime
    shared_role: str | None
    model_spec: str | None = None  # JSON {"target", "features"}: see services/dataset_models.py

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise DatasetRefused(N_("no column « {column} » in {name}"), column=name, name=self.name)


@dataclass
class ImportReport:
    dataset: Dataset | None = None
    rejected: int = 0
    first_rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def column_names(written: list[str]) -> list[str]:
    """Header names made usable: empty ones named by position, repeats numbered (« a », « a (2) »;
    regardless of case, as SQL names are)."""
    names: list[str] = []
    taken: set[str] = set()
    for position, name in enumerate(written, start=1):
        base = name[:MAX_NAME] or f"column {position}"
        candidate, n = base, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{base} ({n})"
        names.append(candidate)
        taken.add(candidate.lower())
    return names


def _looks_binary(path: Path) -> bool:
    """NUL bytes near the start: no text table has them (outside UTF-16, told by its BOM)."""
    with path.open("rb") as raw:
        head = raw.read(1 << 16)
    return not head.startswith(UTF16_BOMS) and b"\x00" in head


def quoted(name: str) -> str:
    """A column name as a DuckDB identifier (names come from users' files)."""
    return '"' + name.replace('"', '""') + '"'


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def infer_types(con: duckdb.DuckDBPyConnection, source: str, names: list[str], rows: int) -> list[str]:
    """Each column's type, from every value: the narrowest of integer, number, datetime, boolean
    that all its non-empty values read as; else category (few distinct values) or text."""
    checks = []
    for name in names:
        value = f"NULLIF(TRIM({quoted(name)}), '')"
        checks += [
            f"count({value})",
            # (DuckDB casts « 5.1 » to the integer 5: whole numbers are told by their digits)
            f"count({value}) - count(CASE WHEN regexp_full_match({value}, '[+-]?[0-9]+') "
            f"THEN TRY_CAST({value} AS BIGINT) END)",
            f"count({value}) - count(TRY_CAST({value} AS DOUBLE))",
            f"count({value}) - count(TRY_CAST({value} AS TIMESTAMP))",
            f"count({value}) - count(TRY_CAST({value} AS BOOLEAN))",
            f"approx_count_distinct({value})",
        ]
    counts = con.execute(f"SELECT {', '.join(checks)} FROM {source}").fetchone()
    types = []
    for i in range(len(names)):
        present, not_int, not_number, not_time, not_bool, distinct = counts[6 * i : 6 * i + 6]
        if present and not not_int:
            types.append("integer")
        elif present and not not_number:
            types.append("number")
        elif present and not not_time:
            types.append("datetime")
        elif present and not not_bool:
            types.append("boolean")
        elif distinct <= min(MAX_CATEGORIES, max(MIN_CATEGORIES, rows * CATEGORY_SHARE)):
            types.append("category")
        else:
            types.append("text")
    return types


def _typed_select(columns: list[Column], source: str) -> str:
    parts = []
    for column in columns:
        value = f"NULLIF(TRIM({quoted(column.name)}), '')"
        if column.type in ("category", "text"):
            parts.append(f"{quoted(column.name)} AS {quoted(column.name)}")
        else:
            parts.append(f"TRY_CAST({value} AS {DUCKDB_TYPES[column.type]}) AS {quoted(column.name)}")
    return f"SELECT {', '.join(parts)} FROM {source}"


# --- from a source to a Parquet file of strings (then typed the same way, whatever the source) ---


@dataclass
class Staged:
    """What a source gave: its columns' names, its rows, and the rows it left out (with why)."""

    names: list[str]
    rows: int = 0
    rejected: int = 0
    first_rejected: list[tuple[int, str]] = field(default_factory=list)  # (line or row, reason)


def _kind(path: Path) -> str:
    """What the file is, from its first bytes (a name's extension says what its sender hoped)."""
    try:
        with path.open("rb") as raw:
            head = raw.read(8)
    except OSError as exc:
        raise DatasetRefused(N_("cannot read the file: {reason}"), reason=exc.strerror) from None
    if head.startswith(ZIP_MAGIC):
        return "xlsx"  # (any other zip is refused there, with what it is)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PARE"):
        raise DatasetRefused(N_("the Parquet file is encrypted: save it without encryption"))
    if head.startswith(OLE_MAGIC):
        raise DatasetRefused(
            N_(
                "the file is a password-protected Excel workbook or an old .xls one: "
                "save it as .xlsx without a password, or as CSV"
            )
        )
    return "csv"


def _names(written: list[str]) -> list[str]:
    names = column_names(written)
    if len(names) > MAX_COLUMNS:
        raise DatasetRefused(
            N_("{count} columns: at most {most} are kept"), count=len(names), most=MAX_COLUMNS
        )
    return names


def _write_strings(target: Path, names: list[str], batches: Iterable[Sequence[pa.Array]]) -> int:
    """Batches of string columns written to a Parquet file, a batch at a time; how many rows."""
    schema = pa.schema([(name, pa.string()) for name in names])
    rows = 0
    with pq.ParquetWriter(target, schema) as writer:
        for columns in batches:
            table = pa.Table.from_arrays(list(columns), schema=schema)
            writer.write_table(table)
            rows += table.num_rows
    return rows


DUCKDB_MEMORY = "256MB"  # a query's working memory in a worker; past it, DuckDB spills to disk
DUCKDB_THREADS = 2


def duckdb_connection(spill: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with bounded working memory (a worker's size stays bounded
    whatever the file: a sort of a million rows spills to spill instead)."""
    spill.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(
        config={"memory_limit": DUCKDB_MEMORY, "threads": DUCKDB_THREADS, "temp_directory": str(spill)}
    )


def _write_typed(staged: Path, final: Path, strings: Staged) -> list[Column]:
    """Every column's type inferred by DuckDB from all its values, and the typed file written."""
    with duckdb_connection(final.parent.parent / ".spill") as con:  # (datasets/.spill)
        source = f"read_parquet({_literal(staged)})"
        types = infer_types(con, source, strings.names, strings.rows)
        columns = [Column(n, t) for n, t in zip(strings.names, types, strict=True)]
        con.execute(f"COPY ({_typed_select(columns, source)}) TO {_literal(final)} (FORMAT parquet)")
    return columns


def _csv_reader(path: Path, fmt: CsvFormat | None) -> CsvReader:
    """The file's reader, with fmt or else the separator (and decimal mark) its header shows."""
    try:
        if _looks_binary(path):
            # (before reading a header: bytes that are not text are said as such, not as an encoding)
            raise DatasetRefused(N_("the file is binary, not a text table (CSV)"))
        reader = CsvReader(path, fmt or CsvFormat())
        if fmt is None and (found := _detected_format(reader.header)) is not None:
            reader = CsvReader(path, found)
    except OSError as exc:
        raise DatasetRefused(N_("cannot read the file: {reason}"), reason=exc.strerror) from None
    except LookupError:
        raise DatasetRefused(N_("unknown text encoding")) from None
    except FileRejected as exc:
        raise DatasetRefused.of(exc) from None
    return reader


def _detected_format(header: Header) -> CsvFormat | None:
    """When a comma-read header is one name holding another separator (« a;b;c »): that separator,
    with decimal commas if the first row writes numbers so (« 12,5 »)."""
    if len(header.written) != 1:
        return None
    for sep in SEPARATORS:
        if sep != "," and sep in header.written[0]:
            line = ",".join(header.first_row or [])  # (the first row as written: it was split on commas)
            comma = any(DECIMAL_COMMA.match(cell.strip()) for cell in line.split(sep))
            return CsvFormat(sep=sep, decimal="," if comma else ".")
    return None


def _decimal_points(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Numbers written with a decimal comma and grouping marks (« 1 234,5 », « 1.234 ») rewritten
    as DuckDB reads them (« 1234.5 », « 1234 »); any other value as it is."""
    trimmed = pc.utf8_trim_whitespace(column)
    number = pc.or_(
        pc.match_substring_regex(trimmed, COMMA_NUMBER), pc.match_substring_regex(trimmed, GROUPED_NUMBER)
    )
    plain = pc.replace_substring(pc.replace_substring_regex(trimmed, GROUPING_MARKS, ""), ",", ".")
    return pc.if_else(number, plain, column)


def _stage_csv(path: Path, fmt: CsvFormat | None, target: Path) -> Staged:
    reader = _csv_reader(path, fmt)
    strings = Staged(_names(reader.header.written))
    comma = reader.fmt.decimal == ","
    batches = (
        [_decimal_points(column) if comma else column for column in table.columns]
        for table, _ in reader.batches()
    )
    strings.rows = _write_strings(target, strings.names, batches)
    strings.rejected = reader.ragged.count
    lines = reader.lines(record for record, _ in reader.ragged.kept)
    strings.first_rejected = [(lines[record], reason) for record, reason in reader.ragged.kept]
    return strings


def _stage_xlsx(path: Path, target: Path) -> Staged:
    with XlsxReader(path) as reader:
        strings = Staged(_names(reader.written))
        strings.rows = _write_strings(target, strings.names, reader.batches())
        strings.rejected, strings.first_rejected = reader.ragged.count, list(reader.ragged.kept)
    return strings


def _stage_parquet(path: Path, target: Path) -> Staged:
    try:
        source = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise DatasetRefused(N_("not a readable Parquet file ({reason})"), reason=_first_line(exc)) from None
    with source:
        # (what the footer declares; a file that lies about it fails to decode, and is refused then)
        metadata = source.metadata
        declared = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
        if declared > MAX_PARQUET_BYTES:
            size = f"{declared / (1 << 30):.1f} GB"
            raise DatasetRefused(N_("the Parquet file holds {size} uncompressed: at most 1 GB"), size=size)
        return _stage_arrow(source.schema_arrow, source.iter_batches(batch_size=PARQUET_BATCH_ROWS), target)


def _stage_arrow(schema: pa.Schema, batches: Iterable[pa.RecordBatch], target: Path) -> Staged:
    """Typed Arrow batches (a Parquet file's, an example's) as strings, so that their columns are
    typed by the same rules as a CSV file's."""
    if not schema.names:
        raise DatasetRefused(N_("the file has no column"))
    strings = Staged(_names(schema.names))
    for field_ in schema:
        _check_readable(field_)
    try:
        strings.rows = _write_strings(
            target, strings.names, ([_as_text(c) for c in batch.columns] for batch in batches)
        )
    except (pa.ArrowException, OSError) as exc:
        raise DatasetRefused(N_("not a readable Parquet file ({reason})"), reason=_first_line(exc)) from None
    return strings


def _as_text(column: pa.Array) -> pa.Array:
    """A typed column as text; whole floats keep a decimal point (« 151.0 », not « 151 »), so that
    a float column is a number, as pandas would have written it to a CSV file."""
    text = column.cast(pa.string())
    if not pa.types.is_floating(column.type):
        return text
    whole = pc.match_substring_regex(text, r"^[+-]?[0-9]+$")
    return pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)


def _check_readable(column: pa.Field) -> None:
    """Refuse a column that has no text form: nested values (lists, structs, maps) and the few
    types Arrow cannot write as text."""
    if pa.types.is_nested(column.type):
        raise DatasetRefused(
            N_("column « {column} » holds nested values ({type}): only flat columns can be read"),
            column=column.name,
            type=str(column.type),
        )
    try:
        pa.array([], column.type).cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        raise DatasetRefused(
            N_("column « {column} » is of a type that cannot be read ({type})"),
            column=column.name,
            type=str(column.type),
        ) from None


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


# --- examples shipped with the libraries (no download) ---

EXAMPLES = {  # (msgids: translated where shown)
    "iris": N_("Iris flowers (150 flowers, 3 species)"),
    "wine": N_("Wine (178 wines, 3 cultivars)"),
    "breast_cancer": N_("Breast cancer Wisconsin (569 tumours, diagnosis)"),
    "diabetes": N_("Diabetes (442 patients, disease progression)"),
}


def example_frame(key: str) -> pd.DataFrame:
    """One of EXAMPLES as a table: Plotly's Iris, or scikit-learn's bundled sets with the class of a
    classification set named (« class_0 », « malignant ») beside its numeric target."""
    if key == "iris":
        # (the file plotly.data.iris() reads, read here: services do not import the charting layer)
        shipped = importlib.resources.files("plotly") / "package_data" / "datasets" / "iris.csv.gz"
        with importlib.resources.as_file(shipped) as path:
            return pd.read_csv(path)
    from sklearn import datasets as sklearn_datasets  # (slow to import: only when an example is asked)

    loaded = {
        "wine": sklearn_datasets.load_wine,
        "breast_cancer": sklearn_datasets.load_breast_cancer,
        "diabetes": sklearn_datasets.load_diabetes,
    }[key](as_frame=True)
    frame = loaded.frame.copy()
    named = {"wine": "class", "breast_cancer": "diagnosis"}.get(key)
    if named is not None:
        frame[named] = [str(loaded.target_names[i]) for i in frame["target"]]
    return frame


# --- reading pages (DatasetStore.page): the process's DuckDB database; a column's order on disk ---

SORT_INDEX = "sort"  # (<stored stem>.sort-<column's digest>-<asc|desc>.npy, beside the file)
_READERS: weakref.WeakKeyDictionary[DatasetStore, duckdb.DuckDBPyConnection] = weakref.WeakKeyDictionary()
_READERS_LOCK = threading.Lock()
_INHERITED: list[duckdb.DuckDBPyConnection] = []


def _forget_readers() -> None:
    """In a forked child (a job): the parent's DuckDB databases are neither used nor closed (their
    threads were not forked), the child opens its own; and the lock is new (another thread may
    have held it when the parent forked)."""
    global _READERS_LOCK
    _READERS_LOCK = threading.Lock()
    _INHERITED.extend(_READERS.values())
    _READERS.clear()


os.register_at_fork(after_in_child=_forget_readers)


def _index_path(path: Path, name: str, descending: bool) -> Path:
    """The sort index of column name of the file at path (names are users': hashed)."""
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
    return path.with_name(f"{path.stem}.{SORT_INDEX}-{digest}-{'desc' if descending else 'asc'}.npy")


def _remove_sort_indexes(path: Path) -> None:
    """Every sort index of the file at path (after the file itself is removed)."""
    for index in path.parent.glob(f"{path.stem}.{SORT_INDEX}-*.npy"):
        index.unlink(missing_ok=True)


def _save_index(index_path: Path, numbers: np.ndarray) -> None:
    """numbers written as index_path, whole or not at all (a reader beside sees the old file or
    the new one); if the folder cannot take it (full, read-only), this page is answered all the
    same and the next sort builds the index again."""
    written = index_path.with_name(f"{index_path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with written.open("wb") as out:
            np.save(out, numbers, allow_pickle=False)
        os.replace(written, index_path)
    except OSError:
        pass
    finally:
        written.unlink(missing_ok=True)


def _rows_at(con: duckdb.DuckDBPyConnection, path: Path, numbers: np.ndarray) -> list[dict]:
    """The rows of the file at path with these row numbers, in this order, as dicts of its
    columns. DuckDB skips the row groups (and within them the vectors) that hold none of them."""
    if not len(numbers):
        return []
    listed = ", ".join(str(n) for n in np.sort(numbers).tolist())
    cursor = con.execute(
        f"SELECT {ROW_NUMBER}, * EXCLUDE ({ROW_NUMBER}) "
        f"FROM read_parquet({_literal(path)}, file_row_number=true) WHERE {ROW_NUMBER} IN ({listed})"
    )
    names = [described[0] for described in cursor.description[1:]]
    found = {row[0]: dict(zip(names, row[1:], strict=True)) for row in cursor.fetchall()}
    return [found[n] for n in numbers.tolist()]


class DatasetStore:
    """Users' datasets: files under root/datasets, their descriptions in the database."""

    def __init__(
        self, engine: Engine, root: Path, max_per_user: int = 50, max_bytes_per_user: int = 2 << 30
    ) -> None:
        self.engine = engine
        self.root = root
        self.max_per_user = max_per_user
        self.spill = root / "datasets" / ".spill"  # (DuckDB's temporary files, for large sorts)
        self.max_bytes_per_user = max_bytes_per_user

    # --- bringing a file ---

    def add(self, viewer: Viewer, path: Path, filename: str, fmt: CsvFormat | None = None) -> ImportReport:
        """Read path (a CSV file, an Excel .xlsx workbook or a Parquet file, told apart by their
        content, not their name), type its columns and store it for viewer."""
        kind = _kind(path)
        if kind == "xlsx":
            return self._import(viewer, filename, lambda target: _stage_xlsx(path, target))
        if kind == "parquet":
            return self._import(viewer, filename, lambda target: _stage_parquet(path, target))
        return self._import(viewer, filename, lambda target: _stage_csv(path, fmt, target))

    def add_example(self, viewer: Viewer, key: str) -> ImportReport:
        """Store one of EXAMPLES for viewer (shipped with Plotly or scikit-learn: no download), typed
        as the same table uploaded as a file would be."""
        if key not in EXAMPLES:
            raise DatasetRefused(
                N_("no example « {key} » (one of {known})"), key=key, known=", ".join(EXAMPLES)
            )
        table = pa.Table.from_pandas(example_frame(key), preserve_index=False)
        return self._import(
            viewer, key, lambda staged: _stage_arrow(table.schema, table.to_batches(), staged)
        )

    def _import(self, viewer: Viewer, filename: str, stage: Callable[[Path], Staged]) -> ImportReport:
        """The source as a strings Parquet file (stage writes it), then typed by DuckDB, stored and
        recorded; on any refusal or error, nothing left behind."""
        count, used = self.usage(viewer.user_id)
        if count >= self.max_per_user:
            raise DatasetRefused(
                N_("you already keep {count} datasets (at most {most}): delete one first"),
                count=count,
                most=self.max_per_user,
            )
        folder = self.root / "datasets" / str(viewer.user_id)
        folder.mkdir(parents=True, exist_ok=True)
        stem = uuid.uuid4().hex
        staged, final = folder / f"{stem}.strings.parquet", folder / f"{stem}.parquet"
        try:
            strings = stage(staged)
            if strings.rows == 0:
                raise DatasetRefused(N_("the file has no row under its header"))
            columns = _write_typed(staged, final, strings)
            if used + final.stat().st_size > self.max_bytes_per_user:
                raise DatasetRefused(
                    N_("your datasets would take {size} MB (at most {most} MB): delete one first"),
                    size=(used + final.stat().st_size) >> 20,
                    most=self.max_bytes_per_user >> 20,
                )
            report = ImportReport(rejected=strings.rejected, first_rejected=strings.first_rejected)
            report.dataset = self._record(viewer, Path(filename).name, final, strings.rows, columns)
            return report
        except FileRejected as exc:
            final.unlink(missing_ok=True)
            raise DatasetRefused.of(exc) from None
        except BaseException:
            final.unlink(missing_ok=True)
            raise
        finally:
            staged.unlink(missing_ok=True)

    def _record(
        self, viewer: Viewer, filename: str, stored: Path, rows: int, columns: list[Column]
    ) -> Dataset:
        now = dt.datetime.now(dt.UTC)
        values = {
            "owner_id": viewer.user_id,
            "name": Path(filename).stem[:MAX_NAME] or "data",
            "filename": filename[:255],
            "stored": str(stored.relative_to(self.root)),
            "rows": rows,
            "bytes": stored.stat().st_size,
            "columns": json.dumps([{"name": c.name, "type": c.type} for c in columns]),
            "created_at": now,
            "shared_role": None,
        }
        with self.engine.begin() as conn:
            new_id = conn.execute(insert(datasets).values(**values).returning(datasets.c.id)).scalar_one()
        return self.get(viewer, int(new_id))

    def usage(self, owner_id: int) -> tuple[int, int]:
        """How many datasets owner_id owns, and their stored bytes."""
        query = select(func.count(), func.coalesce(func.sum(datasets.c.bytes), 0)).where(
            datasets.c.owner_id == owner_id
        )
        with self.engine.connect() as conn:
            count, used = conn.execute(query).one()
        return int(count), int(used)

    # --- finding, changing, removing ---

    def list(self, viewer: Viewer) -> list[Dataset]:
        """The viewer's datasets, then those shared with their role, newest first."""
        query = (
            select(datasets)
            .where(or_(datasets.c.owner_id == viewer.user_id, datasets.c.shared_role == viewer.role))
            .order_by(datasets.c.created_at.desc(), datasets.c.id.desc())
        )
        with self.engine.connect() as conn:
            return [_dataset(row) for row in conn.execute(query)]

    def get(self, viewer: Viewer, dataset_id: int) -> Dataset:
        if not 1 <= dataset_id <= 2**31 - 1:  # (what the id column holds)
            raise DatasetNotFound(f"no dataset {dataset_id}")
        with self.engine.connect() as conn:
            row = conn.execute(select(datasets).where(datasets.c.id == dataset_id)).first()
        if row is None or not (row.owner_id == viewer.user_id or row.shared_role == viewer.role):
            raise DatasetNotFound(f"no dataset {dataset_id}")
        return _dataset(row)

    def _owned(self, viewer: Viewer, dataset_id: int) -> Dataset:
        found = self.get(viewer, dataset_id)
        if found.owner_id != viewer.user_id:
            raise DatasetNotFound(f"no dataset {dataset_id} of yours")  # (shared: read-only)
        return found

    def rename(self, viewer: Viewer, dataset_id: int, name: str) -> Dataset:
        cleaned = " ".join(name.split())[:MAX_NAME]
        if not cleaned:
            raise DatasetRefused(N_("a dataset needs a name"))
        self._owned(viewer, dataset_id)
        with self.engine.begin() as conn:
            conn.execute(update(datasets).where(datasets.c.id == dataset_id).values(name=cleaned))
        return self.get(viewer, dataset_id)

    def share(self, viewer: Viewer, dataset_id: int, role: str | None, roles: tuple[str, ...]) -> Dataset:
        """Share read-only with every user of role (None: nobody but the owner)."""
        if role is not None and role not in roles:
            raise DatasetRefused(
                N_("unknown role « {role} » (one of {known})"), role=str(role), known=", ".join(roles)
            )
        self._owned(viewer, dataset_id)
        with self.engine.begin() as conn:
            conn.execute(update(datasets).where(datasets.c.id == dataset_id).values(shared_role=role))
        return self.get(viewer, dataset_id)

    def delete(self, viewer: Viewer, dataset_id: int) -> None:
        found = self._owned(viewer, dataset_id)
        with self.engine.begin() as conn:
            # (SQLite does not enforce foreign keys here, so ON DELETE CASCADE is done by hand)
            conn.execute(delete(saved_charts).where(saved_charts.c.dataset_id == dataset_id))
            conn.execute(delete(datasets).where(datasets.c.id == dataset_id))
        (self.root / found.stored).unlink(missing_ok=True)
        _remove_sort_indexes(self.root / found.stored)

    def remove_owner(self, owner_id: int) -> tuple[int, int]:
        """Delete every dataset of owner_id (an account being deleted): rows, saved charts, and the
        owner's whole folder of files. Returns how many datasets and bytes."""
        count, stored = self.usage(owner_id)
        with self.engine.begin() as conn:
            conn.execute(delete(saved_charts).where(saved_charts.c.owner_id == owner_id))
            conn.execute(delete(datasets).where(datasets.c.owner_id == owner_id))
        shutil.rmtree(self.root / "datasets" / str(owner_id), ignore_errors=True)
        return int(count), int(stored)

    def retype(
        self, viewer: Viewer, dataset_id: int, column: str, new_type: str, date_format: str | None = None
    ) -> tuple[Dataset, dict]:
        """The owner corrects a column's type: the file is rewritten by DuckDB under a new name (the
        row then points to it, in one statement; the old file is removed after), so that a reader of
        the old file is not cut off mid-read and anything keyed on `stored` sees a new version.

        Nothing is lost: each value is converted through its text (dates also with date_format, a
        strptime format such as « %d/%m/%Y »); if any value that is there would become missing, the
        change is refused with how many and the first examples, and nothing changes. Returns the
        dataset and {"changed": how many values were converted}."""
        if new_type not in COLUMN_TYPES:
            raise DatasetRefused(
                N_("unknown type « {type} » (one of {known})"),
                type=str(new_type),
                known=", ".join(COLUMN_TYPES),
            )
        fmt = _date_format(new_type, date_format)
        found = self._owned(viewer, dataset_id)
        target = found.column(column)
        if target.type == new_type:
            return found, {"changed": 0}
        old = self.root / found.stored
        converted = _retyped(quoted(target.name), target.type, new_type, fmt)
        text_value = f"NULLIF(TRIM(CAST({quoted(target.name)} AS VARCHAR)), '')"
        folder = old.parent
        new = folder / f"{uuid.uuid4().hex}.parquet"
        with duckdb_connection(self.spill) as con:
            con.execute("SET TimeZone = 'UTC'")
            values = (
                f"SELECT file_row_number AS r, {text_value} AS v, {converted} AS c "
                f"FROM read_parquet({_literal(old)}, file_row_number = true)"
            )
            present, lost = con.execute(
                f"SELECT count(v), count(*) FILTER (WHERE v IS NOT NULL AND c IS NULL) FROM ({values})"
            ).fetchone()
            if lost:
                examples = con.execute(
                    f"SELECT v FROM ({values}) WHERE v IS NOT NULL AND c IS NULL "
                    "GROUP BY v ORDER BY min(r) LIMIT 3"
                ).fetchall()
                raise _lost(int(lost), target.type, new_type, [e[0] for e in examples])
            chosen = ", ".join(
                f"{converted} AS {quoted(c.name)}" if c.name == target.name else quoted(c.name)
                for c in found.columns
            )
            try:
                con.execute(
                    f"COPY (SELECT {chosen} FROM read_parquet({_literal(old)})) TO {_literal(new)} "
                    "(FORMAT parquet)"
                )
            except BaseException:
                new.unlink(missing_ok=True)
                raise
        columns = [Column(c.name, new_type if c.name == target.name else c.type) for c in found.columns]
        with self.engine.begin() as conn:
            swapped = conn.execute(
                update(datasets)
                .where(datasets.c.id == dataset_id, datasets.c.stored == found.stored)
                .values(
                    stored=str(new.relative_to(self.root)),
                    bytes=new.stat().st_size,
                    columns=json.dumps([{"name": c.name, "type": c.type} for c in columns]),
                )
            ).rowcount
        if not swapped:  # (changed or deleted meanwhile: this rewrite of the old file is not kept)
            new.unlink(missing_ok=True)
            raise DatasetRefused(N_("the dataset changed meanwhile: try again"))
        old.unlink(missing_ok=True)
        _remove_sort_indexes(old)
        return self.get(viewer, dataset_id), {"changed": int(present)}

    # --- reading ---

    def page(
        self,
        viewer: Viewer,
        dataset_id: int,
        start: int = 0,
        count: int = 100,
        sort: list[tuple[str, str]] | None = None,
        filters: list[tuple[str, str, Any]] | None = None,
    ) -> tuple[list[dict], int]:
        """Rows start … start + count - 1 in sort order, after filters; and how many rows match.
        Column names and operators are checked against the dataset; values are parameters.

        Sorted on one column without filters (a click on a grid header): the column's order is
        read from its sort index beside the file (built on the first such sort, see _sort_index),
        then the page's rows are read by their row numbers. Otherwise DuckDB sorts."""
        found = self.get(viewer, dataset_id)
        where, params = self._where(found, filters or [])
        sort = sort or []
        order = ", ".join(
            f"{quoted(found.column(name).name)} {'DESC' if direction == 'desc' else 'ASC'} NULLS LAST"
            for name, direction in sort
        )
        path = self.root / found.stored
        source = f"read_parquet({_literal(path)})"
        count, start = max(0, min(int(count), PAGE_LIMIT)), max(0, int(start))
        numbered_ok = ROW_NUMBER not in {c.name.lower() for c in found.columns}
        if len(sort) == 1 and not where and numbered_ok:
            name, direction = sort[0]
            index = self._sort_index(path, found.column(name).name, direction == "desc", found.rows)
            numbers = np.array(index[start : start + count], dtype=np.int64)
            with self._reader() as con:
                return _rows_at(con, path, numbers), len(index)
        # A page in file order is read by the process's database; a sort gets a database of its
        # own, whose memory goes back to the system when it closes.
        with duckdb_connection(self.spill) if order else self._reader() as con:
            total = con.execute(f"SELECT count(*) FROM {source} {where}", params).fetchone()[0]
            if order and numbered_ok:
                # Sorted: the page's row numbers first, sorting the sort columns alone (not every
                # column of a million rows), ties in file order (pages neither overlap nor skip);
                # then those rows.
                numbered = f"read_parquet({_literal(path)}, file_row_number=true)"
                cursor = con.execute(
                    f"WITH page AS (SELECT {ROW_NUMBER} AS n FROM {numbered} {where} "
                    f"ORDER BY {order}, {ROW_NUMBER} LIMIT {count} OFFSET {start}) "
                    f"SELECT * EXCLUDE ({ROW_NUMBER}) FROM {numbered} "
                    f"SEMI JOIN page ON {ROW_NUMBER} = page.n ORDER BY {order}, {ROW_NUMBER}",
                    params,
                )
            else:
                cursor = con.execute(
                    f"SELECT * FROM {source} {where} {'ORDER BY ' + order if order else ''} "
                    f"LIMIT {count} OFFSET {start}",
                    params,
                )
            names = [described[0] for described in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return rows, int(total)

    def _reader(self) -> duckdb.DuckDBPyConnection:
        """A cursor on this process's DuckDB database for reading pages, opened once (opening one
        costs ~14 ms, as much as reading a page): duckdb_connection's, with its bounds (its memory
        limit is then shared by the process's concurrent pages). It caches neither files nor their
        metadata (said, not left to defaults): each query reads the Parquet file afresh, as a new
        database would. A forked job opens its own."""
        with _READERS_LOCK:
            con = _READERS.get(self)
            if con is None:
                con = duckdb_connection(self.spill)
                con.execute("SET enable_external_file_cache = false")
                con.execute("SET parquet_metadata_cache = false")
                _READERS[self] = con
            return con.cursor()

    def _sort_index(self, path: Path, name: str, descending: bool, rows: int) -> np.ndarray:
        """The row numbers of the file at path in the order of column name (NULLS LAST, ties in
        file order), memory-mapped from the .npy file beside it; built on the first sort of this
        column this way by DuckDB, with the ORDER BY of a sorted page, in a database of its own (a
        sort's memory goes back to the system). Keyed on the file's name, which a retype
        changes: an index never outlives the values it sorts."""
        index_path = _index_path(path, name, descending)
        try:
            index = np.load(index_path, mmap_mode="r", allow_pickle=False)
            if index.shape == (rows,) and index.dtype.kind == "i":
                return index
        except (OSError, ValueError):
            pass  # (none yet, or damaged: built below)
        numbered = f"read_parquet({_literal(path)}, file_row_number=true)"
        order = f"{quoted(name)} {'DESC' if descending else 'ASC'} NULLS LAST, {ROW_NUMBER}"
        with duckdb_connection(self.spill) as con:
            found = con.execute(f"SELECT {ROW_NUMBER} FROM {numbered} ORDER BY {order}").fetchnumpy()
        numbers = np.asarray(found[ROW_NUMBER])
        numbers = numbers.astype(np.int32 if len(numbers) < 2**31 else np.int64)
        _save_index(index_path, numbers)
        if not path.exists():  # (deleted or retyped meanwhile: its indexes may be gone already)
            index_path.unlink(missing_ok=True)
        return numbers

    def _where(self, found: Dataset, filters: list[tuple[str, str, Any]]) -> tuple[str, list]:
        clauses, params = [], []
        for name, operator, value in filters:
            column = found.column(name)
            if operator not in FILTER_OPERATORS:
                raise DatasetRefused(N_("unknown filter « {operator} »"), operator=str(operator))
            if operator == "contains":
                clauses.append(f"CAST({quoted(column.name)} AS VARCHAR) ILIKE ?")
                params.append(
                    "%" + str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                )
            else:
                clauses.append(f"{quoted(column.name)} {FILTER_OPERATORS[operator]} ?")
                params.append(value)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def summary(self, viewer: Viewer, dataset_id: int, name: str) -> dict:
        """A column's type, missing and distinct counts, and min / max / mean / quartiles (numbers
        and dates) or its most frequent values (the others)."""
        found = self.get(viewer, dataset_id)
        column = found.column(name)
        source = f"read_parquet({_literal(self.root / found.stored)})"
        q = quoted(column.name)
        with duckdb_connection(self.spill) as con:
            missing, distinct = con.execute(
                f"SELECT count(*) - count({q}), approx_count_distinct({q}) FROM {source}"
            ).fetchone()
            summary: dict[str, Any] = {
                "type": column.type,
                "missing": int(missing),
                "distinct": int(distinct),
            }
            if column.type in ("integer", "number"):
                low, high, mean, q1, median, q3 = con.execute(
                    f"SELECT min({q}), max({q}), avg({q}), quantile_cont({q}, 0.25), "
                    f"quantile_cont({q}, 0.5), quantile_cont({q}, 0.75) FROM {source}"
                ).fetchone()
                summary.update(min=low, max=high, mean=mean, q1=q1, median=median, q3=q3)
            elif column.type == "datetime":
                low, high = con.execute(f"SELECT min({q}), max({q}) FROM {source}").fetchone()
                summary.update(min=low, max=high)
            else:
                top = con.execute(
                    f"SELECT {q}, count(*) AS n FROM {source} WHERE {q} IS NOT NULL "
                    f"GROUP BY {q} ORDER BY n DESC, {q} LIMIT 10"
                ).fetchall()
                summary["top"] = [(value, int(n)) for value, n in top]
        return summary

    def correlations(self, viewer: Viewer, dataset_id: int, most: int = 20) -> tuple[list[str], list[list]]:
        """Pearson correlations between the first `most` number columns, computed by DuckDB in one
        query: their names, and the matrix (None where a pair has fewer than two values)."""
        found = self.get(viewer, dataset_id)
        names = [c.name for c in found.columns if c.type in ("integer", "number")][:most]
        if len(names) < 2:
            return names, []
        pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
        terms = ", ".join(f"corr({quoted(names[i])}, {quoted(names[j])})" for i, j in pairs)
        source = f"read_parquet({_literal(self.root / found.stored)})"
        with duckdb_connection(self.spill) as con:
            values = con.execute(f"SELECT {terms} FROM {source}").fetchone()
        size = len(names)
        matrix: list[list] = [[1.0 if i == j else None for j in range(size)] for i in range(size)]
        for (i, j), value in zip(pairs, values, strict=True):
            matrix[i][j] = matrix[j][i] = None if value is None or value != value else float(value)
        return names, matrix

    def histogram(
        self, viewer: Viewer, dataset_id: int, name: str, bins: int = 30
    ) -> list[tuple[Any, Any, int]]:
        """A number or date column's values counted in equal bins: (start, end, count) each,
        computed by DuckDB (a few dozen values reach Python, whatever the rows)."""
        found = self.get(viewer, dataset_id)
        column = found.column(name)
        if column.type not in ("integer", "number", "datetime"):
            raise DatasetRefused(N_("{name} is not a number or a date"), name=name)
        q = quoted(column.name)
        value = f"epoch({q})" if column.type == "datetime" else f"CAST({q} AS DOUBLE)"
        source = f"read_parquet({_literal(self.root / found.stored)})"
        with duckdb_connection(self.spill) as con:
            low, high = con.execute(f"SELECT min({value}), max({value}) FROM {source}").fetchone()
            if low is None:
                return []
            width = (high - low) / bins or 1.0
            counts = dict(
                con.execute(
                    f"SELECT LEAST(CAST(floor(({value} - ?) / ?) AS INTEGER), ?) AS bin, count(*) "
                    f"FROM {source} WHERE {q} IS NOT NULL GROUP BY bin",
                    [low, width, bins - 1],
                ).fetchall()
            )
        edges = [(low + i * width, low + (i + 1) * width, int(counts.get(i, 0))) for i in range(bins)]
        if column.type == "datetime":
            moment = dt.datetime.fromtimestamp
            return [(moment(a, dt.UTC), moment(b, dt.UTC), n) for a, b, n in edges]
        return edges


# --- a column's type corrected (DatasetStore.retype) ---

EXACT_INTEGERS = 2**53  # beyond, a DOUBLE does not hold every whole number
TYPE_NOUNS = {  # (one value, several values) as the refusal says them
    "integer": (Word(N_("a whole number")), Word(N_("whole numbers"))),
    "number": (Word(N_("a number")), Word(N_("numbers"))),
    "datetime": (Word(N_("a date")), Word(N_("dates"))),
    "boolean": (Word(N_("true or false")), Word(N_("true or false"))),
}
MAX_DATE_FORMAT = 64
MAX_EXAMPLE = 40


def _date_format(new_type: str, date_format: str | None) -> str | None:
    """date_format as a DuckDB string literal (None without one), checked."""
    if date_format is None or date_format == "":
        return None
    if new_type != "datetime":
        raise DatasetRefused(N_("a date format applies to dates only"))
    if len(date_format) > MAX_DATE_FORMAT or "%" not in date_format or not date_format.isprintable():
        raise DatasetRefused(
            N_("not a date format: « {format} » (e.g. %d/%m/%Y)"), format=date_format[:MAX_DATE_FORMAT]
        )
    literal = "'" + date_format.replace("'", "''") + "'"
    with duckdb.connect(config={"threads": 1}) as con:  # (no data: a format checked)
        try:
            con.execute(f"SELECT TRY_STRPTIME('', {literal})")
        except duckdb.Error:
            raise DatasetRefused(
                N_("not a date format: « {format} » (e.g. %d/%m/%Y)"), format=date_format
            ) from None
    return literal


def _retyped(q: str, old_type: str, new_type: str, fmt: str | None) -> str:
    """The DuckDB expression of column q (of old_type) as new_type: NULL where a value cannot be
    read as new_type (the caller refuses the change if a value that is there would become NULL)."""
    if new_type in ("category", "text"):
        return f"CAST({q} AS VARCHAR)"
    if old_type == "boolean" and new_type in ("integer", "number"):
        return f"CAST({q} AS {DUCKDB_TYPES[new_type]})"  # (true 1, false 0)
    if old_type == "integer" and new_type == "number":
        return f"CASE WHEN {q} BETWEEN -{EXACT_INTEGERS} AND {EXACT_INTEGERS} THEN CAST({q} AS DOUBLE) END"
    value = f"NULLIF(TRIM(CAST({q} AS VARCHAR)), '')"
    if new_type == "integer":
        # (« 5 », and « 5.0 » or « 5e3 »: whole numbers that a DOUBLE holds exactly; never « 5.1 »)
        number = f"TRY_CAST({value} AS DOUBLE)"
        return (
            f"CASE WHEN regexp_full_match({value}, '[+-]?[0-9]+') THEN TRY_CAST({value} AS BIGINT) "
            f"WHEN {number} BETWEEN -{EXACT_INTEGERS} AND {EXACT_INTEGERS} AND {number} = trunc({number}) "
            f"THEN CAST({number} AS BIGINT) END"
        )
    if new_type == "datetime" and fmt is not None:
        return f"COALESCE(CAST(TRY_STRPTIME({value}, {fmt}) AS TIMESTAMP), TRY_CAST({value} AS TIMESTAMP))"
    return f"TRY_CAST({value} AS {DUCKDB_TYPES[new_type]})"


def _lost(lost: int, old_type: str, new_type: str, examples: list[str]) -> DatasetRefused:
    """The refusal of a type change that would lose lost values (with the first examples)."""
    shown = ", ".join(
        '"' + (e if len(e) <= MAX_EXAMPLE else e[: MAX_EXAMPLE - 1] + "…") + '"' for e in examples
    )
    one, several = TYPE_NOUNS[new_type]
    if old_type == "integer" and new_type == "number":
        if lost == 1:
            return DatasetRefused(
                N_("1 value cannot be held exactly as {kind} (beyond ±2^53), e.g. {examples}"),
                kind=several,
                examples=shown,
            )
        return DatasetRefused(
            N_("{count} values cannot be held exactly as {kind} (beyond ±2^53), e.g. {examples}"),
            count=lost,
            kind=several,
            examples=shown,
        )
    if lost == 1:
        return DatasetRefused(
            N_("1 value cannot be read as {kind}, e.g. {examples}"), kind=one, examples=shown
        )
    return DatasetRefused(
        N_("{count} values cannot be read as {kind}, e.g. {examples}"),
        count=lost,
        kind=several,
        examples=shown,
    )


def _dataset(row) -> Dataset:
    return Dataset(
        id=int(row.id),
        owner_id=int(row.owner_id),
        name=row.name,
        filename=row.filename,
        stored=row.stored,
        rows=int(row.rows),
        bytes=int(row.bytes),
        columns=tuple(Column(c["name"], c["type"]) for c in json.loads(row.columns)),
        created_at=row.created_at,
        shared_role=row.shared_role,
        model_spec=row.model_spec,
    )
