"""Files as Dutch Excel saves them (INTERFACE.md §1, v2; issue 11, item 6): a UTF-8 byte order mark,
semicolons with decimal commas, Windows-1252, CRLF line ends. Each is detected per file, gives the
facts and hashes of the plain file, and `settle load` names it.

The datasets are the bundled demonstration data, converted file by file; it holds no letter outside
ASCII, so the plain copy first gets a street and a provider with accents (in UTF-8), which the
Windows-1252 files carry as single bytes.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from settlement.cli import main
from settlement.demo.run import DATA
from settlement.loader import FILES, LoadError, dataset_hashes, dialects_of, load_dir

BOM = b"\xef\xbb\xbf"
AMOUNTS = {"tariffs.csv": ("price",), "declarations.csv": ("amount",), "budgets.csv": ("historic", "objective")}
CSV_FILES = sorted(name for name in FILES if (DATA / name).exists())
ACCENTED = ("disputes.csv", "municipalities.csv", "placements.csv")  # files with letters outside ASCII (see `plain`; the demo dispute's subject has "vóór")


def read_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


@pytest.fixture
def plain(tmp_path) -> Path:
    """The demo data with 'Rûnwei 1' as the first municipality's street and 'Zorggroep Één' as
    the provider of the first placement: plain CSV (UTF-8, commas, LF)."""
    d = tmp_path / "plain"
    shutil.copytree(DATA, d)
    for name, column, value in (("municipalities.csv", "street", "Rûnwei 1"),
                                ("placements.csv", "provider", "Zorggroep Één")):
        rows = read_rows(d / name)
        rows[1][rows[0].index(column)] = value
        write_rows(d / name, rows)
    return d


def excel(source: Path, target: Path, *, semicolons: bool = False, bom: bool = False, cp1252: bool = False,
          files: tuple[str, ...] | None = None) -> Path:
    """A copy of `source` whose `files` (default: every CSV file) are saved as Excel saves them:
    CRLF line ends always; with `semicolons` separated by ';' with decimal commas in the amounts;
    with `bom` UTF-8 after a byte order mark; with `cp1252` in Windows-1252."""
    shutil.copytree(source, target)
    for name in files or CSV_FILES:
        rows = read_rows(source / name)
        if semicolons:
            for column in AMOUNTS.get(name, ()):
                i = rows[0].index(column)
                for row in rows[1:]:
                    row[i] = row[i].replace(".", ",")
        buf = io.StringIO()
        csv.writer(buf, delimiter=";" if semicolons else ",", lineterminator="\r\n").writerows(rows)
        data = buf.getvalue().encode("cp1252" if cp1252 else "utf-8")
        (target / name).write_bytes(BOM + data if bom else data)
    return target


def hashes(directory: Path) -> tuple[str, str]:
    ds, agreements = load_dir(directory)
    assert (ds.input_hash, ds.agreements_hash) == dataset_hashes(ds, agreements)
    return ds.input_hash, ds.agreements_hash


def test_the_plain_copy_is_plain(plain):
    ds, _ = load_dir(plain)
    assert dialects_of(ds) == {}
    assert ds.municipalities["0014"].street == "Rûnwei 1" and ds.placements["P00001"].provider == "Zorggroep Één"


def test_a_byte_order_mark(plain, tmp_path):
    d = excel(plain, tmp_path / "bom", bom=True)
    assert hashes(d) == hashes(plain)
    assert dialects_of(load_dir(d)[0]) == {name: "Excel CSV (UTF-8 with byte order mark)" for name in CSV_FILES}


def test_crlf_line_ends_alone_are_plain(plain, tmp_path):
    d = excel(plain, tmp_path / "crlf")
    assert b"\r\n" in (d / "brp.csv").read_bytes()
    assert hashes(d) == hashes(plain)
    assert dialects_of(load_dir(d)[0]) == {}


def test_semicolons_with_decimal_commas(plain, tmp_path):
    d = excel(plain, tmp_path / "semicolons", semicolons=True)
    assert (d / "tariffs.csv").read_bytes().splitlines()[1] == b"BEGELEID;groningen;2020-01-01;2023-12-31;1512,30"
    assert hashes(d) == hashes(plain)
    ds, _ = load_dir(d)
    assert dialects_of(ds) == {name: "Excel CSV (semicolons, decimal commas)" if name in AMOUNTS
                               else "Excel CSV (semicolons)" for name in CSV_FILES}
    assert ds.tariffs == load_dir(plain)[0].tariffs


def test_windows_1252(plain, tmp_path):
    d = excel(plain, tmp_path / "cp1252", cp1252=True)
    assert "Rûnwei 1".encode("cp1252") in (d / "municipalities.csv").read_bytes()
    assert hashes(d) == hashes(plain)
    # a file of ASCII only reads the same in both encodings: nothing to name
    assert dialects_of(load_dir(d)[0]) == {name: "Excel CSV (Windows-1252)" for name in ACCENTED}


def all_three(plain: Path, target: Path) -> Path:
    """Every file by semicolons; the accented ones in Windows-1252, the others UTF-8 with a BOM."""
    d = excel(plain, target, semicolons=True, cp1252=True, files=ACCENTED)
    staged = excel(plain, target.with_name(target.name + "-bom"), semicolons=True, bom=True,
                   files=tuple(n for n in CSV_FILES if n not in ACCENTED))
    for name in CSV_FILES:
        if name not in ACCENTED:
            shutil.copy(staged / name, d / name)
    return d


def test_all_three_at_once(plain, tmp_path):
    d = all_three(plain, tmp_path / "excel")
    assert hashes(d) == hashes(plain)
    found = dialects_of(load_dir(d)[0])
    assert found["tariffs.csv"] == "Excel CSV (semicolons, decimal commas, UTF-8 with byte order mark)"
    assert found["municipalities.csv"] == "Excel CSV (semicolons, Windows-1252)"
    assert found["clients.csv"] == "Excel CSV (semicolons, UTF-8 with byte order mark)"
    assert sorted(found) == CSV_FILES


def settle(url: str, *args: str):
    return CliRunner().invoke(main, ["--db", url, *args])


def test_settle_load_names_the_files_and_their_dialects(db_url, plain, tmp_path):
    """The Excel copy is the same snapshot as the plain one: loading it after the plain one
    changes nothing; its report names each file and how it was read, sorted by file."""
    d = all_three(plain, tmp_path / "excel")
    assert settle(db_url, "init").exit_code == 0
    r = settle(db_url, "load", str(plain))
    assert r.exit_code == 0 and r.stdout == f"{plain}: loaded as snapshot 1\n", r.output
    r = settle(db_url, "load", str(d))
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[-1] == f"{d}: unchanged: already the current snapshot 1"
    assert lines[:-1] == [f"{name}: read as {dialects_of(load_dir(d)[0])[name]}" for name in CSV_FILES]
    assert "tariffs.csv: read as Excel CSV (semicolons, decimal commas, UTF-8 with byte order mark)" in lines
    assert "placements.csv: read as Excel CSV (semicolons, Windows-1252)" in lines

    fresh = tmp_path / "fresh.db"  # and into an empty database: the same snapshot hash
    url = f"sqlite:///{fresh}"
    assert settle(url, "init").exit_code == 0
    r = settle(url, "load", str(excel(plain, tmp_path / "tariffs-only", semicolons=True, cp1252=True,
                                      files=("tariffs.csv",))))
    assert r.exit_code == 0
    assert r.stdout.splitlines()[0] == "tariffs.csv: read as Excel CSV (semicolons, decimal commas)"  # ASCII only
    assert settle(url, "load", str(plain)).stdout == f"{plain}: unchanged: already the current snapshot 1\n"


# -- refusals -----------------------------------------------------------------------------------------

def refused(directory: Path) -> list[str]:
    with pytest.raises(LoadError) as e:
        load_dir(directory)
    return e.value.problems


def set_cell(path: Path, line: int, column: str, value: str, separator: str = ";") -> None:
    text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))
    rows[line - 1][rows[0].index(column)] = value
    buf = io.StringIO()
    csv.writer(buf, delimiter=separator, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8"))


def test_a_thousands_separator_is_refused(plain, tmp_path):
    d = excel(plain, tmp_path / "excel", semicolons=True)
    set_cell(d / "tariffs.csv", 2, "price", "1.512,30")
    set_cell(d / "budgets.csv", 3, "historic", "43.543.220,00")
    assert refused(d) == [
        "budgets.csv:3: historic: '43.543.220,00' has a '.' as thousands separator, which is not accepted (1.512 "
        "could also be a decimal point); write the amount without it, as '43543220,00'",
        "tariffs.csv:2: price: '1.512,30' has a '.' as thousands separator, which is not accepted (1.512 could "
        "also be a decimal point); write the amount without it, as '1512,30'"]


@pytest.mark.parametrize("value,message", [
    ("1512.30", "1512.30 has a '.'; this file is separated by semicolons, so its amounts are written with a "
                "decimal comma and no thousands separators, such as 1512,30"),
    ("1512,305", "'1512,305' is not an amount in euros with a decimal comma and at most two decimals, such as "
                 "1512,30 (the file is separated by semicolons) (it has 3 decimals)"),
    ("€ 1512,30", "'€ 1512,30' is not an amount in euros with a decimal comma and at most two decimals, such as "
                  "1512,30 (the file is separated by semicolons) (without a currency sign)"),
    ("-1512,30", "'-1512,30' is negative; amounts must not be negative"),
])
def test_other_amounts_of_a_semicolon_file(plain, tmp_path, value, message):
    d = excel(plain, tmp_path / "excel", semicolons=True, files=("tariffs.csv",))
    set_cell(d / "tariffs.csv", 4, "price", value)
    assert refused(d) == [f"tariffs.csv:4: price: {message}"]


def test_a_plain_file_keeps_its_messages(plain):
    set_cell(plain / "tariffs.csv", 2, "price", "1512,30", separator=",")
    assert refused(plain) == ["tariffs.csv:2: price: '1512,30' is not an amount in euros with a '.' and at most two "
                              "decimals (use '.' for the decimals and no thousands separators: 1234.56, not 1.234,56)"]


def test_commas_in_the_header_and_semicolons_in_the_rows(plain):
    """The header decides: by commas, so rows by semicolons are one cell each, and say why."""
    lines = (plain / "clients.csv").read_text(encoding="utf-8").splitlines()
    (plain / "clients.csv").write_text("\n".join([lines[0]] + [l.replace(",", ";") for l in lines[1:]]) + "\n",
                                       encoding="utf-8")
    problems = refused(plain)
    hint = ("the row has 1 cell, the header has 2 (the row is separated by semicolons, the header by commas: use "
            "one separator in the whole file)")
    assert problems[:3] == [f"clients.csv:{n}: -: {hint}" for n in (2, 3, 4)]
    assert all(p.startswith("clients.csv:") for p in problems)


def test_a_byte_windows_1252_does_not_define_names_its_line(plain, tmp_path):
    d = excel(plain, tmp_path / "excel", semicolons=True, cp1252=True, files=("municipalities.csv",))
    raw = (d / "municipalities.csv").read_bytes().split(b"\r\n")
    raw[5] = raw[5].replace(b"Noordersingel", b"Noorder\x9dsingel")
    (d / "municipalities.csv").write_bytes(b"\r\n".join(raw))
    assert refused(d) == ["municipalities.csv:6: -: is neither UTF-8 nor Windows-1252: byte 38 of the line is 0x9D, "
                          "which is not a character in Windows-1252; save the file as UTF-8"]
