"""Awkward but realistic files (issue 15), each with what `dashhub load` must do with it."""

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
}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("case", sorted(CORPUS))
def test_each_awkward_file_gets_its_outcome(tmp_path, database_url, case):
    content, options, code, said, loaded, stored = CORPUS[case]
    env = {"DASHHUB_DATABASE__URL": database_url, "DASHHUB_PATHS__DATA_DIR": str(tmp_path)}
    assert CliRunner().invoke(main, ["init"], env=env).exit_code == 0
    path = tmp_path / f"{case}.csv"
    path.write_bytes(content)
    result = CliRunner().invoke(main, ["load", "sales", str(path), *options], env=env)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    for words in said:
        assert words in result.output, result.output[-2000:]
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM sales")) == loaded
        if stored:
            assert (
                conn.scalar(text(stored[0])) == pytest.approx(stored[1])
                if isinstance(stored[1], float)
                else (conn.scalar(text(stored[0])) == stored[1])
            )
    engine.dispose()
