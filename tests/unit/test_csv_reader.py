"""The CSV reader against Python's csv module on awkward files: the same records, the same line
numbers, blocks or not (the parser reads a block at a time; small blocks here make many)."""

from __future__ import annotations

import csv
import io
import random

import pytest

from dashhub.services import csv_reader
from dashhub.services.csv_reader import CsvReader, FileRejected

HEADER = ["date", "region", "product", "amount"]


def reference(text: str, width: int) -> tuple[list[tuple[int, list[str]]], list[int]]:
    """(line, cells) of each well-formed record and the lines of ragged ones, by Python's csv."""
    rows, ragged, previous, seen_header = [], [], 0, False
    for row in (reader := csv.reader(io.StringIO(text, newline=""))):
        start, previous = previous + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if not seen_header:
            seen_header = True
            continue
        (rows.append((start, row)) if len(row) == width else ragged.append(start))
    return rows, ragged


def read_all(path) -> tuple[list[tuple[int, list[str]]], list[int]]:
    reader = CsvReader(path)
    found = []
    for table, records in reader.batches():
        columns = [table[name].to_pylist() for name in reader.header.names]
        found.extend((int(record), [column[i] for column in columns]) for i, record in enumerate(records))
    lines = reader.lines([record for record, _ in found] + [record for record, _ in reader.ragged.kept])
    rows = sorted((lines[record], cells) for record, cells in found)
    return rows, sorted(lines[record] for record, _ in reader.ragged.kept)


def awkward_file(rng: random.Random, rows: int) -> str:
    newline = rng.choice(["\n", "\r\n"])
    out = [newline * rng.randint(0, 2), ",".join(HEADER), newline]
    for i in range(rows):
        kind = rng.random()
        if kind < 0.05:
            out.append(rng.choice(["", "   ", " , "]))
        elif kind < 0.10:
            out.append(",".join(["2026-01-01", "Nord", "A"] + ["1"] * rng.choice([0, 2])))
        elif kind < 0.15:
            out.append(f'2026-01-01,"Nord{newline}Ouest",A,{i}')
        elif kind < 0.20:
            out.append(f'2026-01-01,"Sud, ""ouest""",A,{i}')
        else:
            out.append(f"2026-01-{1 + i % 28:02d},Nord,Produit {i % 7},{i}.5")
        out.append(newline)
    return "".join(out)


@pytest.mark.parametrize("seed", range(8))
def test_records_and_their_lines_match_pythons_csv_on_awkward_files(tmp_path, monkeypatch, seed):
    monkeypatch.setattr(csv_reader, "BLOCK_BYTES", 2048)  # many blocks
    rng = random.Random(seed)
    text = awkward_file(rng, 600)
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode())
    assert read_all(path) == reference(text, len(HEADER))


def test_a_plain_file_needs_no_second_pass(tmp_path, monkeypatch):
    path = tmp_path / "f.csv"
    path.write_text("date,region,product,amount\n" + "2026-01-01,Nord,A,1\n" * 10 + "2026-01-01,Nord\n")
    reader = CsvReader(path)
    list(reader.batches())
    monkeypatch.setattr(csv_reader, "_csv_rows", None)  # (would fail if called)
    assert reader.lines([10]) == {10: 12}
    assert reader.ragged.kept == [(10, "expected 4 fields, found 2")]


def test_a_trailing_separator_on_the_header_only_or_on_every_row(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("date,region,product,amount,\n2026-01-01,N,A,1,\n2026-01-02,N,A,2\n2026-01-03,N,A,3,x\n")
    rows, ragged = read_all(path)
    assert rows == [(2, ["2026-01-01", "N", "A", "1"]), (3, ["2026-01-02", "N", "A", "2"])]
    assert ragged == [4]


@pytest.mark.parametrize(
    ("encoding", "name"), [("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"), ("cp1252", "cp1252")]
)
def test_encodings_are_detected_and_lines_still_counted(tmp_path, encoding, name):
    text = "date,region,product,amount\n\n2026-01-01,Île,Crème,1\n2026-01-01,Nord\n"
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode(encoding))
    reader = CsvReader(path)
    assert reader.encoding == name
    rows, ragged = read_all(path)
    assert rows == [(3, ["2026-01-01", "Île", "Crème", "1"])]
    assert ragged == [4]


def test_a_bad_byte_is_named_by_line(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(
        b"date,region,product,amount\n" + b"2026-01-01,N,A,1\n" * 70_000 + b"2026-01-01,\xff,A,1\n"
    )
    with pytest.raises(FileRejected, match="line 70002: byte 0xFF is not UTF-8 text"):
        list(CsvReader(path).batches())


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "the file is empty"), (b"\n\n  \n", "the file is empty")],
)
def test_files_without_a_header_are_refused(tmp_path, content, message):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    with pytest.raises(FileRejected, match=message):
        CsvReader(path)


def test_a_record_longer_than_a_block_is_refused_with_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_reader, "BLOCK_BYTES", 1 << 20)
    path = tmp_path / "f.csv"
    path.write_text("date,region,product,amount\n" + f'2026-01-01,"{"N" * (3 << 20)}",A,1\n')
    with pytest.raises(FileRejected, match="a record is longer than 1 MB"):
        list(CsvReader(path).batches())
