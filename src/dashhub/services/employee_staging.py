"""Employees on their way in: a load's rows that pass the rules are written to a temporary table
first, so that ids already loaded, or repeated in the file, are found by the database in one
planned query (an index probe per row for a small file, a hash join for a large one) rather than
by holding every id of the table in memory."""

from __future__ import annotations

import pyarrow as pa
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    MetaData,
    Table,
    exists,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from dashhub.db import employees
from dashhub.services.bulk_insert import bulk_insert
from dashhub.services.employee_cells import fine_query

MAX_LISTED = 1000
ALREADY = "employee_id is already loaded"
TWICE = "employee_id appears twice in the file"
COLUMNS = ("employee_id", "department", "age", "experience_years", "salary", "performance", "satisfaction")

_temporary = MetaData()
STAGED = Table(
    "employees_staged",
    _temporary,
    *(Column(name, employees.c[name].type) for name in COLUMNS),
    Column("record", BigInteger),  # the row's place in the file (for its line number)
    prefixes=["TEMPORARY"],
)
REFUSED = Table(
    "employees_refused",
    _temporary,
    Column("record", BigInteger),
    Column("stored", Boolean),  # the id is in the table already (else: earlier in the file)
    prefixes=["TEMPORARY"],
)


class EmployeeStaging:
    """Temporary tables of a load's checked rows, in the load's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.drop()  # (a load that died on this connection)
        STAGED.create(conn)
        self.staged = 0
        self.refused = 0

    def add(self, rows: pa.Table) -> None:
        """Stage rows: the employees columns and `record`."""
        bulk_insert(self.conn, STAGED, rows)
        self.staged += rows.num_rows

    def duplicates(self) -> tuple[int, list[tuple[int, str]]]:
        """Find the staged rows that cannot go in (the id is in the table already, or an earlier
        row of the file has it): how many, and the first MAX_LISTED (record, reason)."""
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(text(f"ANALYZE {STAGED.name}"))  # (so the planner knows its size)
        s = STAGED.c
        ranked = select(
            s.record,
            s.employee_id,
            func.row_number().over(partition_by=s.employee_id, order_by=s.record).label("n"),
        ).subquery()
        stored = exists().where(employees.c.employee_id == ranked.c.employee_id)
        REFUSED.create(self.conn)
        self.conn.execute(
            insert(REFUSED).from_select(
                ["record", "stored"], select(ranked.c.record, stored).where(stored | (ranked.c.n > 1))
            )
        )
        self.refused = int(self.conn.scalar(select(func.count()).select_from(REFUSED)) or 0)
        first = self.conn.execute(select(REFUSED).order_by(REFUSED.c.record).limit(MAX_LISTED))
        return self.refused, [(int(record), ALREADY if was_stored else TWICE) for record, was_stored in first]

    def insert_into_employees(self, load_id: int) -> int:
        """Insert the staged rows that are not duplicates (after `duplicates`); how many."""
        s = STAGED.c
        kept = select(*(s[name] for name in COLUMNS), literal(load_id)).where(
            ~s.record.in_(select(REFUSED.c.record))
        )
        self.conn.execute(insert(employees).from_select([*COLUMNS, "load_id"], kept))
        return self.staged - self.refused  # (PostgreSQL's driver gives no row count here)

    def counted(self) -> Select:
        """The rows `insert_into_employees` inserts, grouped as the RH cells count them."""
        return fine_query(~STAGED.c.record.in_(select(REFUSED.c.record)), table=STAGED)

    def drop(self) -> None:
        REFUSED.drop(self.conn, checkfirst=True)
        STAGED.drop(self.conn, checkfirst=True)
