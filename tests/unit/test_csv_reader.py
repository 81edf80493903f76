"""The CSV reader against Python's csv module on awkward files: the same records, the same line
numbers, blocks or not (the parser reads a block at a time; small blocks here make many)."""

from __future__ import annotations

import csv
import io
import random

import pytest

from dashhub.services import csv_reader
from dashhub.services.csv_reader import CsvFormat, CsvReader, FileRejected

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


def read_all(path, **fmt) -> tuple[list[tuple[int, list[str]]], list[int]]:
    reader = CsvReader(path, CsvFormat(**fmt))
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


@pytest.mark.parametrize(
    ("content", "sep", "line", "titles", "names"),
    [
        # (a spreadsheet's export: a title, a date, a blank line, then the table)
        (
            "Rapport des ventes 2025\nExporté le 03/12/2025\n\nville;ventes\nLyon;1,5\nNice;2\n",
            ";",
            4,
            [1, 2],
            None,
        ),
        ("Rapport\nville,ventes\nLyon,1.5\nNice,2\n", ",", 2, [1], None),
        ("Rapport;;;\n;;;\nville;ventes;;\nLyon;1,5;;\nNice;2;;\n", ";", 3, [1], None),
        # (read under the wrong separator, the header is still found: the hint names it)
        ("Rapport\n\nville;ventes\nLyon;1,5\nNice;2\n", ",", 3, [1], ["ville;ventes"]),
        # (none skipped: one column; a table from the first line; a title too wide to be one)
        ("ville\nLyon\nNice\n", ",", 1, [], ["ville"]),
        ("ville;ventes\nLyon;1,5\nNice;2,5\n", ";", 1, [], None),
        ("ville;ventes\nLyon;1,5\nNice;2,5\n", ",", 1, [], ["ville;ventes"]),
        ("Ventes, 2025\nville;ventes\nLyon;1,5\nNice;2\n", ";", 1, [], ["Ventes, 2025"]),
        (",valeur\n0,1\n1,2\n", ",", 1, [], ["", "valeur"]),
        ("Titre\nville,ventes\n", ",", 1, [], ["Titre"]),  # (a header without rows: no table)
        ("Titre\nville;ventes\nLyon\nNice\n", ";", 1, [], ["Titre"]),  # (rows of one field)
    ],
)
def test_title_lines_above_the_header_are_skipped_only_above_a_table(
    tmp_path, content, sep, line, titles, names
):
    path = tmp_path / "f.csv"
    path.write_text(content)
    header = CsvReader(path, CsvFormat(sep=sep)).header
    assert (header.line, header.titles) == (line, titles)
    assert header.written == (names or ["ville", "ventes"])
    assert CsvReader(path, CsvFormat(sep=sep), titles=False).header.line == 1


def test_rows_under_a_titled_header_keep_their_file_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_reader, "BLOCK_BYTES", 2048)  # many blocks
    rows = [f"Ville {i};{i},5;2026-01-05" for i in range(400)]
    rows[3] = "Nice;2"  # (line 9, early: the header is still found)
    rows[300] = 'Pau;"1\n2";x;y'  # (lines 306-307, over two lines)
    content = "Rapport des ventes 2025\r\nExporté le 03/12/2025\r\n\r\nville;ventes;jour\r\n\r\n"
    path = tmp_path / "f.csv"
    path.write_text(content + "\r\n".join(rows) + "\r\n", newline="")
    reader = CsvReader(path, CsvFormat(sep=";"))
    found, ragged = read_all(path, sep=";")
    assert (reader.header.line, reader.header.titles, reader.header.names) == (
        4,
        [1, 2],
        ["ville", "ventes", "jour"],
    )
    assert found[0] == (6, ["Ville 0", "0,5", "2026-01-05"])
    assert found[-1] == (406, ["Ville 399", "399,5", "2026-01-05"])
    assert len(found) == 398
    assert ragged == [9, 306]
    list(reader.batches())
    assert reader.ragged.kept == [(3, "expected 3 fields, found 2"), (300, "expected 3 fields, found 4")]


def test_a_title_in_another_encoding_and_past_the_sample(tmp_path, monkeypatch):
    path = tmp_path / "f.csv"
    path.write_bytes("Relevé de l'été\na,b\n1,2\n3,4\n".encode("utf-16"))
    reader = CsvReader(path)
    assert (reader.encoding, reader.header.line, reader.header.titles) == ("utf-16", 2, [1])
    assert read_all(path) == ([(3, ["1", "2"]), (4, ["3", "4"])], [])
    monkeypatch.setattr(csv_reader, "TITLE_BYTES", 12)  # (the table starts past what is looked at)
    path.write_text("Relevé de l'été\na,b\n1,2\n3,4\n")
    assert CsvReader(path).header.line == 1
