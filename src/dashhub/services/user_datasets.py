"""« Vos données »: a user's own file, read by the loader's CSV reader, every column typed, stored
as Parquet under paths.data_dir/datasets/<owner>/ and described in the `datasets` table; read
back by DuckDB (paging, sorting, filtering and summaries run on the file, never whole in Python).

Access is decided here, from the user the server knows (never from a client's input): the owner
may do anything with a dataset; users of the role it is shared with may read it; anyone else is
told it does not exist, as if it did not.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, delete, insert, or_, select, update

from dashhub.db import datasets
from dashhub.services.csv_reader import CsvFormat, CsvReader, FileRejected

COLUMN_TYPES = ("integer", "number", "datetime", "boolean", "category", "text")
MAX_COLUMNS = 500
MAX_NAME = 128
CATEGORY_SHARE = 0.5  # at most this share of distinct values (and MAX_CATEGORIES) makes a category
MAX_CATEGORIES = 1000
MIN_CATEGORIES = 20  # (so that a small file's few labels are categories too)
PAGE_LIMIT = 1000
DUCKDB_TYPES = {
    "integer": "BIGINT",
    "number": "DOUBLE",
    "datetime": "TIMESTAMP",
    "boolean": "BOOLEAN",
    "category": "VARCHAR",
    "text": "VARCHAR",
}
FILTER_OPERATORS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "contains": "ILIKE"}


class DatasetNotFound(LookupError):
    """No such dataset for this user (missing, or someone else's and not shared with them)."""


class DatasetRefused(ValueError):
    """The file or the request cannot be taken, with why (said to the user)."""


@dataclass(frozen=True)
class Viewer:
    """Who asks: the user the server authenticated."""

    user_id: int
    role: str


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

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise DatasetRefused(f"no column {name!r} in {self.name}")


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
    """NUL bytes near the start: no text table has them (outside UTF-16)."""
    with path.open("rb") as raw:
        return b"\x00" in raw.read(1 << 16)


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


class DatasetStore:
    """Users' datasets: files under root/datasets, their descriptions in the database."""

    def __init__(self, engine: Engine, root: Path) -> None:
        self.engine = engine
        self.root = root

    # --- bringing a file ---

    def add(self, viewer: Viewer, path: Path, filename: str, fmt: CsvFormat | None = None) -> ImportReport:
        """Read path (a delimited text file), type its columns and store it for viewer."""
        try:
            reader = CsvReader(path, fmt or CsvFormat())
        except OSError as exc:
            raise DatasetRefused(f"cannot read the file: {exc.strerror}") from None
        except LookupError:
            raise DatasetRefused("unknown text encoding") from None
        except FileRejected as exc:
            raise DatasetRefused(str(exc)) from None
        if not reader.encoding.startswith("utf-16") and _looks_binary(path):
            raise DatasetRefused("the file is binary, not a text table (CSV)")
        names = column_names(reader.header.written)
        if len(names) > MAX_COLUMNS:
            raise DatasetRefused(f"{len(names):,} columns: at most {MAX_COLUMNS} are kept")
        folder = self.root / "datasets" / str(viewer.user_id)
        folder.mkdir(parents=True, exist_ok=True)
        stem = uuid.uuid4().hex
        staged, final = folder / f"{stem}.strings.parquet", folder / f"{stem}.parquet"
        try:
            rows = self._write_strings(reader, names, staged)
            if rows == 0:
                raise DatasetRefused("the file has no row under its header")
            with duckdb.connect() as con:
                source = f"read_parquet({_literal(staged)})"
                columns = [
                    Column(n, t) for n, t in zip(names, infer_types(con, source, names, rows), strict=True)
                ]
                con.execute(f"COPY ({_typed_select(columns, source)}) TO {_literal(final)} (FORMAT parquet)")
            report = ImportReport(rejected=reader.ragged.count)
            lines = reader.lines(record for record, _ in reader.ragged.kept)
            report.first_rejected = [(lines[record], reason) for record, reason in reader.ragged.kept]
            report.dataset = self._record(viewer, Path(filename).name, final, rows, columns)
            return report
        except FileRejected as exc:
            final.unlink(missing_ok=True)
            raise DatasetRefused(str(exc)) from None
        except BaseException:
            final.unlink(missing_ok=True)
            raise
        finally:
            staged.unlink(missing_ok=True)

    def _write_strings(self, reader: CsvReader, names: list[str], target: Path) -> int:
        """The file's records as string columns in a Parquet file, a block at a time; how many."""
        schema = pa.schema([(name, pa.string()) for name in names])
        rows = 0
        with pq.ParquetWriter(target, schema) as writer:
            for strings, _ in reader.batches():
                writer.write_table(pa.Table.from_arrays(strings.columns, schema=schema))
                rows += strings.num_rows
        return rows

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
            raise DatasetRefused("a dataset needs a name")
        self._owned(viewer, dataset_id)
        with self.engine.begin() as conn:
            conn.execute(update(datasets).where(datasets.c.id == dataset_id).values(name=cleaned))
        return self.get(viewer, dataset_id)

    def share(self, viewer: Viewer, dataset_id: int, role: str | None, roles: tuple[str, ...]) -> Dataset:
        """Share read-only with every user of role (None: nobody but the owner)."""
        if role is not None and role not in roles:
            raise DatasetRefused(f"unknown role {role!r} (one of {', '.join(roles)})")
        self._owned(viewer, dataset_id)
        with self.engine.begin() as conn:
            conn.execute(update(datasets).where(datasets.c.id == dataset_id).values(shared_role=role))
        return self.get(viewer, dataset_id)

    def delete(self, viewer: Viewer, dataset_id: int) -> None:
        found = self._owned(viewer, dataset_id)
        with self.engine.begin() as conn:
            conn.execute(delete(datasets).where(datasets.c.id == dataset_id))
        (self.root / found.stored).unlink(missing_ok=True)

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
        Column names and operators are checked against the dataset; values are parameters."""
        found = self.get(viewer, dataset_id)
        where, params = self._where(found, filters or [])
        order = ", ".join(
            f"{quoted(found.column(name).name)} {'DESC' if direction == 'desc' else 'ASC'} NULLS LAST"
            for name, direction in (sort or [])
        )
        source = f"read_parquet({_literal(self.root / found.stored)})"
        count = max(0, min(int(count), PAGE_LIMIT))
        with duckdb.connect() as con:
            total = con.execute(f"SELECT count(*) FROM {source} {where}", params).fetchone()[0]
            cursor = con.execute(
                f"SELECT * FROM {source} {where} {'ORDER BY ' + order if order else ''} LIMIT {count} "
                f"OFFSET {max(0, int(start))}",
                params,
            )
            names = [described[0] for described in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return rows, int(total)

    def _where(self, found: Dataset, filters: list[tuple[str, str, Any]]) -> tuple[str, list]:
        clauses, params = [], []
        for name, operator, value in filters:
            column = found.column(name)
            if operator not in FILTER_OPERATORS:
                raise DatasetRefused(f"unknown filter {operator!r}")
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
        with duckdb.connect() as con:
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
        with duckdb.connect() as con:
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
            raise DatasetRefused(f"{name} is not a number or a date")
        q = quoted(column.name)
        value = f"epoch({q})" if column.type == "datetime" else f"CAST({q} AS DOUBLE)"
        source = f"read_parquet({_literal(self.root / found.stored)})"
        with duckdb.connect() as con:
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
    )
