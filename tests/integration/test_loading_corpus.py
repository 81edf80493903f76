"""Awkward but realistic files (issue 15), each with what `dashhub load` must do with it, on SQLite
and on PostgreSQL: the exit code, what the output says, the rows stored and a value read back."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from dashhub.cli import main

HEADER = "date,region,product,amount\n"
BIG = "2025-01-01,Nord,A,1\n" * 60_000  # (past the first megabyte, where the encoding is guessed)

# name: (file bytes, extra options, exit code, what the output says, rows loaded, a stored value)
CORPUS = {
    "french-excel-default": (
        b"date;region;product;amount\n2025-01-01;Nord;A;1 234,50\n",
        [],
        1,
        ["line 1: the file looks semicolon-separated with decimal commas: use --sep ';' --decimal ','"],
        0,
        None,
    ),
    "french-excel-with-options": (
        b"date;region;product;amount\n2025-01-01;Nord;A;1 234,50\n2025-01-02;Nord;A;1.234,5\n",
        ["--sep", ";", "--decimal", ","],
        0,
        ["Loaded 2 rows"],
        2,
        ("SELECT sum(amount) FROM sales", 2469.0),
    ),
    "a-spreadsheet-title-above-the-header": (
        b"Ventes 2025\n\ndate;region;product;amount\n2025-01-01;Nord;A;1 234,50\n",
        [],
        1,
        ["line 3: the file looks semicolon-separated with decimal commas: use --sep ';' --decimal ','"],
        0,
        None,
    ),
    "a-spreadsheet-title-above-the-header-with-options": (
        b"Ventes 2025;;;\nExport du 03/12/2025;;;\ndate;region;product;amount\n"
        b"2025-01-01;Nord;A;1 234,50\n2025-01-01;Nord;A;x\n2025-01-02;Nord;A;1,5\n",
        ["--sep", ";", "--decimal", ",", "--max-rejected", "50%"],
        3,
        ["line 5: amount is not a number", "Loaded 2 rows"],
        2,
        ("SELECT sum(amount) FROM sales", 1236.0),
    ),
    "tab-separated": (
        b"date\tregion\tproduct\tamount\n2025-01-01\tNord\tA\t1\n",
        [],
        1,
        ["the file looks tab-separated: use --sep '\\t'"],
        0,
        None,
    ),
    "windows-1252": (
        (HEADER + "2025-01-01,Île-de-France,Crème,1\n").encode("cp1252"),
        [],
        0,
        ["Loaded 1 rows", "Read as Windows-1252."],
        1,
        ("SELECT region FROM sales", "Île-de-France"),
    ),
    "utf-16-with-bom": (
        (HEADER + "2025-01-01,Nord,Crème,1\n").encode("utf-16"),
        [],
        0,
        ["Loaded 1 rows", "Read as UTF-16."],
        1,
        ("SELECT product FROM sales", "Crème"),
    ),
    "utf-8-with-a-bad-byte-late": (
        (HEADER + BIG).encode() + b"2025-01-02,Nord,Cr\xe8me,1\n",
        [],
        1,
        ["line 60002: byte 0xE8 is not UTF-8 text", "--encoding cp1252"],
        0,
        None,
    ),
    "blank-lines-and-a-trailing-comma": (
        ("\n\n" + "date,region,product,amount,\n2025-01-01,Nord,A,1,\n2025-01-02,Nord,A,2\n").encode(),
        [],
        0,
        ["Loaded 2 rows"],
        2,
        ("SELECT sum(amount) FROM sales", 3.0),
    ),
    "rejected-rows-in-file-order": (
        (
            HEADER
            + "2025-01-01,Nord,A,x\n2025-01-01,Nord,A,1,9\n2025-01-01,Nord,A,y\n"
            + "2025-01-01,Nord,A,1\n" * 3
        ).encode(),
        ["--max-rejected", "100%"],
        3,
        [
            "line 2: amount is not a number\nline 3: expected 4 fields, found 5\n"
            "line 4: amount is not a number"
        ],
        3,
        None,
    ),
    "a-one-megabyte-field": (
        (HEADER + f"2025-01-01,{'N' * (1 << 20)},A,1\n" + "2025-01-01,Nord,A,1\n" * 200).encode(),
        [],
        3,
        ["line 2: region is longer than 64 characters", "Loaded 200 rows"],
        200,
        None,
    ),
    "an-unknown-encoding": (
        HEADER.encode(),
        ["--encoding", "klingon"],
        1,
        ["unknown text encoding 'klingon'"],
        0,
        None,
    ),
    "a-grouping-point-under-decimal-commas": (
        b"date;region;product;amount\n2025-01-01;Nord;A;1.234\n",
        ["--sep", ";", "--decimal", ","],
        0,
        ["Loaded 1 rows"],
        1,
        ("SELECT amount FROM sales", 1234.0),
    ),
    "day-first-dates": (
        (HEADER + "31/01/2025,Nord,A,1\n").encode(),
        [],
        1,
        ["line 2: date is not a date in YYYY-MM-DD form; for DD/MM/YYYY dates use --date-format '%d/%m/%Y'"],
        0,
        None,
    ),
    "day-first-dates-with-the-option": (
        (HEADER + "31/01/2025,Nord,A,1\n29/02/2025,Nord,A,1\n").encode(),
        ["--date-format", "%d/%m/%Y", "--allow-rejected", "--max-rejected", "50%"],
        0,
        ["line 3: date is not a date in DD/MM/YYYY form", "Loaded 1 rows"],
        1,
        ("SELECT CAST(date AS TEXT) FROM sales", "2025-01-31"),
    ),
    "a-nul-byte-and-an-unbounded-amount": (
        (HEADER + "2025-01-01,No\x00rd,A,1\n2025-01-01,Nord,A,1e308\n2025-01-01,Nord,A,2\n").encode(),
        ["--max-rejected", "100%"],
        3,
        ["line 2: contains a NUL byte", "line 3: amount is above 1,000,000,000,000", "Loaded 1 rows"],
        1,
        ("SELECT sum(amount) FROM sales", 2.0),
    ),
    "a-field-over-two-lines-then-a-bad-row": (
        (HEADER + '2025-01-01,"Nord\nEst",A,1\n2025-01-01,Nord,A,x\n\n2025-01-01,Nord,A\n').encode(),
        ["--max-rejected", "100%"],
        3,
        ["line 4: amount is not a number\nline 6: expected 4 fields, found 3"],
        1,
        ("SELECT region FROM sales", "Nord\nEst"),
    ),
    "windows-line-ends-spaces-and-empty-cells": (
        (HEADER.replace("\n", "\r\n") + "2025-01-01 , Nord , A , 1 \r\n   \r\n,,,\r\n").encode(),
        [],
        0,
        ["Loaded 1 rows", "rejected 0"],
        1,
        ("SELECT region FROM sales", "Nord"),
    ),
    "a-bad-date-format-option": (
        HEADER.encode(),
        ["--date-format", "%d/%m"],
        2,
        ["--date-format"],
        0,
        None,
    ),
}

EMPLOYEES = "employee_id,department,age,experience_years,salary,performance,satisfaction\n"
EMPLOYEE_CORPUS = {
    "french-excel-employees": (
        b"employee_id;department;age;experience_years;salary;performance;satisfaction\n"
        b"1;IT;30;2,5;45 000,50;80;7,5\n",
        ["--sep", ";", "--decimal", ","],
        0,
        ["Loaded 1 rows"],
        1,
        ("SELECT salary FROM employees", 45000.5),
    ),
    "ids-twice-and-out-of-range": (
        (
            EMPLOYEES
            + "1,IT,30,2,45000,80,7\n1,IT,31,2,45000,80,7\n2147483648,IT,30,2,1,1,1\n2,IT,30,2,1,1,1\n"
        ).encode(),
        ["--max-rejected", "100%"],
        3,
        ["line 3: employee_id appears twice in the file", "line 4: employee_id is above 2,147,483,647"],
        2,
        ("SELECT sum(age) FROM employees", 60),
    ),
}


CASES = [("sales", name) for name in sorted(CORPUS)] + [
    ("employees", name) for name in sorted(EMPLOYEE_CORPUS)
]


@pytest.mark.parametrize(("dataset", "case"), CASES, ids=[name for _, name in CASES])
def test_each_awkward_file_gets_its_outcome(tmp_path, database_url, dataset, case):
    content, options, code, said, loaded, stored = (CORPUS if dataset == "sales" else EMPLOYEE_CORPUS)[case]
    env = {"DASHHUB_DATABASE__URL": database_url, "DASHHUB_PATHS__DATA_DIR": str(tmp_path)}
    assert CliRunner().invoke(main, ["init"], env=env).exit_code == 0
    path = tmp_path / f"{case}.csv"
    path.write_bytes(content)
    result = CliRunner().invoke(main, ["load", dataset, str(path), *options], env=env)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    for words in said:
        assert words in result.output, result.output[-2000:]
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.scalar(text(f"SELECT count(*) FROM {dataset}")) == loaded
        if stored:
            value = conn.scalar(text(stored[0]))
            assert value == (pytest.approx(stored[1]) if isinstance(stored[1], float) else stored[1])
    engine.dispose()
