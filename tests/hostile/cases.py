"""The hostile-input corpus, as data.

Every case is a small mutation of the minimal valid dataset in `base/` (INTERFACE.md §1): a list
of edits, the exact `file:line: column:` prefix the loader must report and a key part of its
message. `apply(case, directory)` writes the broken dataset; nothing large is committed (the
100 MB cases are generated at test time by `Generate`).

Line numbers are physical lines of the file: the header is line 1, the first row line 2.
"""

from __future__ import annotations

import csv
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

BASE = Path(__file__).parent / "base"
MB = 1 << 20


# Edits ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SetCell:
    """Set the cell of `column` on physical line `line` (the header is line 1)."""
    file: str
    line: int
    column: str
    value: str


@dataclass(frozen=True)
class AddRow:
    file: str
    cells: tuple[str, ...]


@dataclass(frozen=True)
class AddColumn:
    """Append a column named `name`, every row holding `value`."""
    file: str
    name: str
    value: str


@dataclass(frozen=True)
class DropColumn:
    file: str
    column: str


@dataclass(frozen=True)
class RenameColumn:
    file: str
    column: str
    new: str


@dataclass(frozen=True)
class Replace:
    """Replace bytes: exactly once, or every occurrence with `every` (which must exist)."""
    file: str
    old: bytes
    new: bytes
    every: bool = False


@dataclass(frozen=True)
class Prepend:
    file: str
    data: bytes


@dataclass(frozen=True)
class Write:
    file: str
    data: bytes


@dataclass(frozen=True)
class Encode:
    """Write the file's text in another encoding."""
    file: str
    encoding: str


@dataclass(frozen=True)
class Delete:
    file: str


@dataclass(frozen=True)
class Rename:
    file: str
    new: str


@dataclass(frozen=True)
class MakeDir:
    """Replace the file by a directory of that name."""
    file: str


@dataclass(frozen=True)
class Generate:
    """Write `head`, then `unit` repeated until the file holds `size` bytes (in chunks, never whole
    in memory)."""
    file: str
    head: bytes
    unit: bytes
    size: int


Edit = (SetCell | AddRow | AddColumn | DropColumn | RenameColumn | Replace | Prepend | Write | Encode | Delete
        | Rename | MakeDir | Generate)


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


def apply_edit(d: Path, e: Edit) -> None:
    path = d / e.file
    if isinstance(e, SetCell):
        rows = _rows(path)
        rows[e.line - 1][rows[0].index(e.column)] = e.value
        _write_rows(path, rows)
    elif isinstance(e, AddRow):
        _write_rows(path, _rows(path) + [list(e.cells)])
    elif isinstance(e, AddColumn):
        rows = _rows(path)
        _write_rows(path, [rows[0] + [e.name]] + [r + [e.value] for r in rows[1:]])
    elif isinstance(e, DropColumn):
        rows = _rows(path)
        i = rows[0].index(e.column)
        _write_rows(path, [r[:i] + r[i + 1:] for r in rows])
    elif isinstance(e, RenameColumn):
        rows = _rows(path)
        rows[0][rows[0].index(e.column)] = e.new
        _write_rows(path, rows)
    elif isinstance(e, Replace):
        data = path.read_bytes()
        n = data.count(e.old)
        assert n == 1 or (e.every and n > 0), f"{e.file}: {e.old!r} occurs {n} times"
        path.write_bytes(data.replace(e.old, e.new))
    elif isinstance(e, Prepend):
        path.write_bytes(e.data + path.read_bytes())
    elif isinstance(e, Write):
        path.write_bytes(e.data)
    elif isinstance(e, Encode):
        path.write_bytes(path.read_text(encoding="utf-8").encode(e.encoding))
    elif isinstance(e, Delete):
        path.unlink()
    elif isinstance(e, Rename):
        path.rename(d / e.new)
    elif isinstance(e, MakeDir):
        path.unlink()
        path.mkdir()
    elif isinstance(e, Generate):
        chunk = e.unit * max(1, MB // len(e.unit))
        with open(path, "wb") as f:
            f.write(e.head)
            written = len(e.head)
            while written < e.size:
                part = chunk[: e.size - written]
                f.write(part)
                written += len(part)
    else:  # pragma: no cover
        raise TypeError(e)


# Cases ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    name: str
    kind: str                    # the class of hostility (docs/RELIABILITY.md counts per class)
    edits: tuple[Edit, ...]
    prefix: str                  # 'file:line: column:' of the expected problem
    fragment: str                # a key part of its message
    alone: bool = True           # the only problem reported (no cascade)


def apply(case: Case, d: Path) -> Path:
    """Write the base dataset with the case's edits into `d` (created)."""
    shutil.copytree(BASE, d)
    for e in case.edits:
        apply_edit(d, e)
    return d


def C(name: str, kind: str, edits: Edit | tuple[Edit, ...], prefix: str, fragment: str, alone: bool = True) -> Case:
    return Case(name, kind, edits if isinstance(edits, tuple) else (edits,), prefix, fragment, alone)


M, R, RM, PR, T, CL, B, A, PL, N, D, BU, AG = (
    "municipalities.csv", "regions.csv", "region_members.csv", "products.csv", "tariffs.csv", "clients.csv",
    "brp.csv", "applications.csv", "placements.csv", "notifications.csv", "declarations.csv", "budgets.csv",
    "agreements.toml")

CASES: list[Case] = [
    # --- encodings ------------------------------------------------------------------------------
    # a file that is not UTF-8 is read as Windows-1252 (INTERFACE.md §1, v2): refused are bytes that
    # Windows-1252 does not define either, and files that mix the two encodings
    C("cp1252-byte", "encoding", Replace(M, b"Dalfsen,NL85", b"D\x81lfsen,NL85"),
      "municipalities.csv:4: -:", "is neither UTF-8 nor Windows-1252: byte 7 of the line is 0x81"),
    C("cp1252-en-dash", "encoding", (SetCell(PR, 2, "name", "Beschermd wonen – intramuraal"), Encode(PR, "cp1252"),
                                     Replace(PR, b"Maatschappelijke opvang", "Maatschappelijke opvang é".encode())),
      "products.csv:3: -:", "is UTF-8 text while line 2 is Windows-1252: the file mixes two encodings"),
    C("latin1-and-utf8", "encoding", (SetCell(M, 3, "name", "Kämpen"), Encode(M, "latin-1"),
                                      Replace(M, b"Dalfsen,NL85", "Dëlfsen,NL85".encode())),
      "municipalities.csv:4: -:", "is UTF-8 text while line 3 is Windows-1252"),
    C("utf16-with-bom", "encoding", Encode(CL, "utf-16"), "clients.csv:1: -:",
      "is not UTF-8 but UTF-16 (it starts with a UTF-16 byte order mark)"),
    C("utf16-be-with-bom", "encoding", (Encode(CL, "utf-16-be"), Prepend(CL, b"\xfe\xff")), "clients.csv:1: -:",
      "is not UTF-8 but UTF-16"),
    C("utf16-le-without-bom", "encoding", Encode(B, "utf-16-le"), "brp.csv:1: -:",
      "is not UTF-8 but UTF-16 (every other byte of the first line is a NUL byte)"),
    C("utf8-bom-csv", "encoding", (Prepend(M, b"\xef\xbb\xbf"),
                                   Replace(M, b"Dalfsen,NL85", "Dälfsen,NL85".encode("cp1252"))),
      "municipalities.csv:4: -:", "although the file starts with a UTF-8 byte order mark"),
    C("utf8-bom-toml", "encoding", Prepend(AG, b"\xef\xbb\xbf"), "agreements.toml:1: -:", "byte order mark (BOM)"),
    C("cp1252-toml", "encoding", Replace(AG, b"# agreements of the test data", "# afspraken café".encode("cp1252")),
      "agreements.toml:1: -:", "is not valid UTF-8 (byte 16 of the line is 0xE9, 'é' in Windows-1252"),
    C("nul-in-cell", "encoding", Replace(PL, b"P1,C1,BW-INTRA,ijssel-vecht,Zorggroep A",
                                         b"P1,C1,BW-INTRA,ijssel-vecht,Zorggroep\x00A"),
      "placements.csv:2: provider:", "contains the control character U+0000 at character 10"),
    C("escape-in-cell", "encoding", Replace(M, b"Kampen,NL34", b"Kam\x1bpen,NL34"), "municipalities.csv:3: name:",
      "control character U+001B"),
    # characters that break outputs: a C1 control, bidirectional overrides that make a name display as
    # another, a non-character that makes the invoice XML malformed, a line break that forges table rows
    C("c1-control-in-name", "encoding", Replace(M, b"Kampen,NL34", "Kam\x85pen,NL34".encode()),
      "municipalities.csv:3: name:", "contains the control character U+0085 at character 4"),
    C("bidi-override-in-name", "encoding", Replace(M, b"Kampen,NL34", "Kampen\u202egnitset\u202c,NL34".encode()),
      "municipalities.csv:3: name:", "contains the bidirectional control U+202E at character 7"),
    C("bidi-isolate-in-provider", "encoding", SetCell(PL, 2, "provider", "Zorggroep \u2067A"),
      "placements.csv:2: provider:", "contains the bidirectional control U+2067"),
    C("non-character-in-name", "encoding", Replace(M, b"Kampen,NL34", "Kampen\uffff,NL34".encode()),
      "municipalities.csv:3: name:", "contains the non-character U+FFFF at character 7"),
    C("line-separator-in-name", "encoding", Replace(M, b"Kampen,NL34", "Kam\u2028pen,NL34".encode()),
      "municipalities.csv:3: name:", "contains the line separator U+2028"),
    C("line-break-in-name", "encoding", Replace(M, b"Kampen,NL34", b'"Kampen\n0193 | Zwolle",NL34'),
      "municipalities.csv:3: name:", "contains a line break or a tab; a name or text is one line"),
    C("bidi-override-in-agreement-name", "toml", Replace(AG, b'id = "eagle"', b'id = "eagle"\nname = "EAGLE\\u202e"'),
      "agreements.toml:17: name:", "contains the bidirectional control U+202E at character 6"),
    C("old-mac-line-ends", "encoding", Replace(CL, b"\n", b"\r", every=True), "clients.csv:1: -:",
      "a carriage return (CR) that does not end a line"),

    # --- structure ------------------------------------------------------------------------------
    C("semicolons", "structure", Replace(CL, b"client,bsn", b"client;bsn"), "clients.csv:2: -:",
      "the row is separated by commas, the header by semicolons", alone=False),
    C("semicolon-row", "structure", Replace(CL, b"C2,123456782", b"C2;123456782"), "clients.csv:3: -:",
      "the row has 1 cell, the header has 2"),
    C("missing-column", "structure", DropColumn(CL, "bsn"), "clients.csv:1: bsn:", "missing column in the header"),
    C("missing-column-placements", "structure", DropColumn(PL, "financing"), "placements.csv:1: financing:",
      "missing column in the header"),
    C("extra-column", "structure", AddColumn(CL, "extra", "x"), "clients.csv:1: extra:", "unknown column extra"),
    C("misspelled-column", "structure", RenameColumn(B, "valid_from", "valid_form"), "brp.csv:1: valid_form:",
      "did you mean valid_from?", alone=False),
    C("duplicate-column", "structure", AddColumn(CL, "client", "C0"), "clients.csv:1: client:",
      "appears more than once in the header"),
    C("spaces-in-header", "structure", RenameColumn(CL, "bsn", " bsn"), "clients.csv:1: -:",
      "remove the spaces around bsn", alone=False),
    C("trailing-comma-header", "structure", Replace(CL, b"client,bsn\n", b"client,bsn,\n"), "clients.csv:1: -:",
      "an empty column name: a trailing comma?", alone=False),
    C("too-few-cells", "structure", AddRow(CL, ("C9",)), "clients.csv:7: -:", "the row has 1 cell, the header has 2"),
    C("too-many-cells", "structure", AddRow(PL, ("P9", "C4", "MO-OPVANG", "ijssel-vecht", "X", "0193", "2020-01-01",
                                                 "", "ZIN", "extra")),
      "placements.csv:9: -:", "the row has 10 cells, the header has 9"),
    C("unterminated-quote", "structure", Replace(CL, b"C4,100000010", b'C4,"100000010'), "clients.csv:5: -:",
      "malformed CSV"),
    C("stray-quote", "structure", Replace(CL, b"C3,100000009", b'C3,"1000"00009'), "clients.csv:4: -:",
      "malformed CSV"),
    C("blank-first-line", "structure", Prepend(CL, b"\n"), "clients.csv:1: -:",
      "the line is blank; the first line must be the header row"),

    # --- files ----------------------------------------------------------------------------------
    C("empty-file", "files", Write(PR, b""), "products.csv:1: -:", "the file is empty; expected a header row"),
    C("header-only", "files", Write(CL, b"client,bsn\n"), "brp.csv:2: client:", "unknown client C1", alone=False),
    C("missing-file", "files", Delete(B), "brp.csv:0: -:", "the file is missing"),
    C("missing-toml", "files", Delete(AG), "agreements.toml:0: -:", "the file is missing"),
    C("misspelled-file", "files", Rename(D, "declaration.csv"), "declaration.csv:0: -:",
      "is not a file of the exchange format; did you mean declarations.csv?"),
    C("upper-case-file", "files", Rename(CL, "Clients.CSV"), "Clients.CSV:0: -:", "did you mean clients.csv?",
      alone=False),
    C("directory-not-file", "files", MakeDir(CL), "clients.csv:0: -:", "is not a regular file"),
    C("toml-directory", "files", MakeDir(AG), "agreements.toml:0: -:", "is not a regular file"),

    # --- dates ----------------------------------------------------------------------------------
    C("31-february", "dates", SetCell(B, 6, "valid_from", "2023-02-31"), "brp.csv:6: valid_from:",
      "2023-02-31 is not a date that exists"),
    C("29-february-2023", "dates", SetCell(PL, 2, "start", "2023-02-29"), "placements.csv:2: start:",
      "2023-02-29 is not a date that exists"),
    C("month-13", "dates", SetCell(A, 2, "date", "2023-13-01"), "applications.csv:2: date:",
      "2023-13-01 is not a date that exists"),
    C("day-month-year-short", "dates", SetCell(PL, 3, "start", "1-2-2023"), "placements.csv:3: start:",
      "1-2-2023 is not a date YYYY-MM-DD (day-month-year?"),
    C("day-month-year", "dates", SetCell(A, 3, "date", "05-01-2023"), "applications.csv:3: date:",
      "05-01-2023 is not a date YYYY-MM-DD"),
    C("slashes", "dates", SetCell(N, 2, "notified_on", "2023/01/12"), "notifications.csv:2: notified_on:",
      "with '-', not '/'"),
    C("date-with-time", "dates", SetCell(B, 2, "valid_to", "2023-02-28T00:00:00"), "brp.csv:2: valid_to:",
      "a date without a time"),
    C("date-without-dashes", "dates", SetCell(T, 2, "valid_from", "20220101"), "tariffs.csv:2: valid_from:",
      "20220101 is not a date YYYY-MM-DD"),
    C("excel-serial-date", "dates", SetCell(R, 2, "cutover", "44927"), "regions.csv:2: cutover:",
      "44927 is not a date YYYY-MM-DD"),
    C("fullwidth-digits-date", "dates", SetCell(B, 7, "valid_from", "１９９０-01-01"), "brp.csv:7: valid_from:",
      "is not a date YYYY-MM-DD"),
    C("end-before-start", "dates", SetCell(PL, 3, "end", "2023-01-09"), "placements.csv:3: end:",
      "2023-01-09 lies before start 2023-01-10"),
    C("brp-ends-before-it-starts", "dates", SetCell(B, 2, "valid_to", "1999-12-31"), "brp.csv:2: valid_to:",
      "1999-12-31 lies before valid_from 2000-01-01"),
    C("membership-ends-before-it-starts", "dates", SetCell(RM, 6, "valid_to", "2014-12-31"),
      "region_members.csv:6: valid_to:", "lies before valid_from 2015-01-01"),
    C("declaration-month-one-digit", "dates", SetCell(D, 2, "month", "2023-3"), "declarations.csv:2: month:",
      "2023-3 is not a month YYYY-MM"),
    C("declaration-month-13", "dates", SetCell(D, 2, "month", "2023-13"), "declarations.csv:2: month:",
      "2023-13 is not a month YYYY-MM"),

    # --- amounts --------------------------------------------------------------------------------
    C("negative-price", "amounts", SetCell(T, 3, "price", "-1.00"), "tariffs.csv:3: price:",
      "-1.00 is negative"),
    C("three-decimals", "amounts", SetCell(T, 3, "price", "105.505"), "tariffs.csv:3: price:",
      "at most two decimals (it has 3 decimals)"),
    C("dutch-thousands", "amounts", SetCell(T, 6, "price", "1.234,56"), "tariffs.csv:6: price:",
      "use '.' for the decimals and no thousands separators"),
    C("decimal-comma", "amounts", SetCell(T, 4, "price", "98,75"), "tariffs.csv:4: price:",
      "is not an amount in euros"),
    C("currency-sign", "amounts", SetCell(T, 5, "price", "€ 80"), "tariffs.csv:5: price:",
      "without a currency sign"),
    C("exponent", "amounts", SetCell(D, 2, "amount", "3e3"), "declarations.csv:2: amount:",
      "3e3 is not an amount in euros"),
    C("nan-amount", "amounts", SetCell(T, 2, "price", "NaN"), "tariffs.csv:2: price:", "NaN is not an amount"),
    C("huge-amount", "amounts", SetCell(T, 2, "price", "99999999999999999999.00"), "tariffs.csv:2: price:",
      "is larger than the largest amount accepted, 999999999.99"),
    C("huge-declaration", "amounts", SetCell(D, 2, "amount", "1000000000.00"), "declarations.csv:2: amount:",
      "is larger than the largest amount accepted"),
    C("fullwidth-digits-amount", "amounts", SetCell(T, 2, "price", "１００.00"), "tariffs.csv:2: price:",
      "is not an amount in euros"),
    C("space-in-amount", "amounts", SetCell(D, 2, "amount", " 3000.00"), "declarations.csv:2: amount:",
      "remove the spaces"),
    C("negative-zero", "amounts", SetCell(D, 2, "amount", "-0.00"), "declarations.csv:2: amount:", "is negative"),
    C("budget-dutch", "amounts", SetCell(BU, 2, "historic", "1.000.000,00"), "budgets.csv:2: historic:",
      "is not an amount in euros"),

    # --- identity: BSN, IBAN, OIN ---------------------------------------------------------------
    C("bsn-11-proef", "identity", SetCell(CL, 3, "bsn", "123456789"), "clients.csv:3: bsn:",
      "client C2: bsn fails the 11-proef"),
    C("bsn-8-digits", "identity", SetCell(CL, 2, "bsn", "11122233"), "clients.csv:2: bsn:",
      "client C1: bsn must be exactly 9 digits"),
    C("bsn-with-spaces", "identity", SetCell(CL, 2, "bsn", "111 222 333"), "clients.csv:2: bsn:",
      "must be exactly 9 digits"),
    C("bsn-arabic-digits", "identity", SetCell(CL, 2, "bsn", "١١١٢٢٢٣٣٣"), "clients.csv:2: bsn:",
      "must be exactly 9 digits"),
    C("bsn-duplicate", "identity", SetCell(CL, 4, "bsn", "111222333"), "clients.csv:4: bsn:",
      "client C3: bsn is the same as that of client C1 on line 2"),
    C("iban-mod-97", "identity", SetCell(M, 3, "iban", "NL91ABNA0417164301"), "municipalities.csv:3: iban:",
      "is not a valid IBAN"),
    C("iban-garbage", "identity", SetCell(M, 2, "iban", "NL00"), "municipalities.csv:2: iban:", "is not a valid IBAN"),
    C("oin-short", "identity", SetCell(M, 3, "oin", "123"), "municipalities.csv:3: oin:", "is not an OIN of 20 digits"),
    C("oin-missing", "identity", SetCell(M, 4, "oin", ""), "municipalities.csv:4: oin:",
      "is required (INTERFACE.md v2): the municipality's OIN of 20 digits, which its e-invoices name it by"),
    C("oin-letters", "identity", SetCell(M, 2, "oin", "0000000100193ABC1000"), "municipalities.csv:2: oin:",
      "is not an OIN of 20 digits"),

    # --- codes ----------------------------------------------------------------------------------
    C("unknown-municipality", "codes", SetCell(B, 2, "municipality", "0999"), "brp.csv:2: municipality:",
      "unknown municipality code 0999"),
    C("code-lost-leading-zero", "codes", SetCell(PL, 2, "location", "193"), "placements.csv:2: location:",
      "193 is not a 4-digit CBS municipality code"),
    C("code-with-line-break", "codes", SetCell(M, 2, "code", "0193\n"), "municipalities.csv:2: code:",
      "is not a 4-digit CBS municipality code"),
    C("code-arabic-digits", "codes", SetCell(M, 5, "code", "٠١١٤"), "municipalities.csv:5: code:",
      "is not a 4-digit CBS municipality code"),
    C("unknown-region", "codes", SetCell(PL, 2, "region", "ijssel-vecht-noord"), "placements.csv:2: region:",
      "unknown region ijssel-vecht-noord"),
    C("region-not-a-slug", "codes", SetCell(R, 3, "region", "Zuidoost Drenthe"), "regions.csv:3: region:",
      "is not a region slug"),
    C("unknown-product", "codes", SetCell(PL, 4, "product", "WMO-BEGELEID"), "placements.csv:4: product:",
      "unknown product WMO-BEGELEID"),
    C("unknown-product-tariff", "codes", SetCell(T, 5, "product", "MO"), "tariffs.csv:5: product:",
      "unknown product MO"),
    C("unknown-domain", "codes", SetCell(PR, 2, "domain", "GGZ"), "products.csv:2: domain:",
      "GGZ is not one of BW, MO, WMO"),
    C("unknown-unit", "codes", SetCell(PR, 4, "unit", "week"), "products.csv:4: unit:", "is not one of day, month"),
    C("unknown-brp-kind", "codes", SetCell(B, 2, "kind", "home"), "brp.csv:2: kind:", "home is not one of woonadres"),
    C("financing-lower-case", "codes", SetCell(PL, 2, "financing", "zin"), "placements.csv:2: financing:",
      "zin is not one of ZIN, PGB"),
    C("boolean-yes", "codes", SetCell(PR, 2, "bw_definition", "yes"), "products.csv:2: bw_definition:",
      "is not one of true, false"),
    C("unknown-iwmo-category", "codes", SetCell(PR, 3, "iwmo_category", "99"), "products.csv:3: iwmo_category:",
      "is not one of 15, 16, 17, 18"),
    C("mo-product-as-bw", "codes", SetCell(PR, 3, "bw_definition", "true"), "products.csv:3: bw_definition:",
      "a MO product cannot have the BW definition"),
    C("woonadres-without-municipality", "codes", SetCell(B, 2, "municipality", ""), "brp.csv:2: municipality:",
      "is required for kind woonadres"),
    C("required-cell-empty", "codes", SetCell(PL, 3, "provider", "   "), "placements.csv:3: provider:", "is required"),
    C("id-with-spaces", "codes", SetCell(PL, 2, "client", "C1 "), "placements.csv:2: client:",
      "has leading or trailing spaces"),
    C("id-with-line-break", "codes", SetCell(A, 2, "client", "C\n1"), "applications.csv:2: client:",
      "contains a line break or a tab"),
    C("budget-year", "codes", SetCell(BU, 3, "year", "24"), "budgets.csv:3: year:", "24 is not a year"),

    # limits of identifiers, names and dates (a 3000-character agreement id loaded and then broke
    # every run; a 4000-byte pseudonym broke PostgreSQL's index; an end of 9999-12-31 the dossier)
    C("pseudonym-of-65", "limits", SetCell(PL, 2, "client", "C" * 65), "placements.csv:2: client:",
      "is 65 characters long; a key or reference has at most 64"),
    C("pseudonym-of-4000", "limits", SetCell(CL, 2, "client", "C" * 999), "clients.csv:2: client:",
      "is 999 characters long; a key or reference has at most 64"),
    C("provider-of-201", "limits", SetCell(PL, 3, "provider", "Zorg " * 40 + "B"), "placements.csv:3: provider:",
      "is 201 characters long; at most 200 are accepted"),
    C("end-9999-12-31", "limits", SetCell(PL, 2, "end", "9999-12-31"), "placements.csv:2: end:",
      "9999-12-31 lies outside the dates accepted, 1900-01-01 to 2199-12-31; leave an open end empty"),
    C("start-1899", "limits", SetCell(PL, 2, "start", "1899-12-31"), "placements.csv:2: start:",
      "1899-12-31 lies outside the dates accepted"),
    C("agreement-id-of-3000", "limits", Replace(AG, b'id = "eagle"', b'id = "' + b"e" * 3000 + b'"'),
      "agreements.toml:16: id:", "is 3000 characters long; an agreement id has at most 64"),
    C("agreement-date-9999", "limits", Replace(AG, b"notify_within_days = 14", b"notify_within_days = 14\nvalid_to = 9999-12-31"),
      "agreements.toml:21: valid_to:", "9999-12-31 lies outside the dates accepted"),

    # --- periods --------------------------------------------------------------------------------
    C("brp-overlap", "periods", AddRow(B, ("C3", "0193", "woonadres", "2023-01-01", "2023-01-31")),
      "brp.csv:9: valid_from:", "registration of client C3 overlaps the registration on line 6 (1990-01-01..open)"),
    C("brp-overlap-by-one-day", "periods", SetCell(B, 3, "valid_from", "2023-02-28"), "brp.csv:3: valid_from:",
      "overlaps the registration on line 2 (2000-01-01..2023-02-28)"),
    C("tariff-overlap", "periods", AddRow(T, ("BW-INTRA", "ijssel-vecht", "2023-12-01", "2023-12-31", "1.00")),
      "tariffs.csv:7: valid_from:", "overlaps the tariff on line 2 (2022-01-01..2023-12-31)"),
    C("membership-overlap", "periods", AddRow(RM, ("zuidoost-drenthe", "0166", "2022-01-01", "")),
      "region_members.csv:8: valid_from:", "overlaps its membership of region ijssel-vecht on line 3"),
    C("placement-overlap", "periods", AddRow(PL, ("P9", "C1", "BW-INTRA", "ijssel-vecht", "Zorggroep B", "0166",
                                                  "2024-01-01", "2024-02-01", "PGB")),
      "placements.csv:9: start:", "placement P9 overlaps placement P1 on line 2 (2023-03-01..open)"),
    # (a centrumgemeente that is not a member of its region is accepted since RULES.md v2 §2)

    # --- duplicate keys -------------------------------------------------------------------------
    C("duplicate-municipality", "keys", AddRow(M, ("0193", "Zwolle", "NL38BNGH0285012345", "x", "y", "z",
                                                        "00000001000000000000")),
      "municipalities.csv:7: code:", "duplicate municipality code (first on line 2)"),
    C("duplicate-region", "keys", AddRow(R, ("ijssel-vecht", "Again", "0193", "2023-01-01")),
      "regions.csv:4: region:", "duplicate region (first on line 2)"),
    C("duplicate-product", "keys", AddRow(PR, ("MO-OPVANG", "Again", "MO", "false", "day", "")),
      "products.csv:5: product:", "duplicate product (first on line 3)"),
    C("duplicate-client", "keys", AddRow(CL, ("C1", "111222333")), "clients.csv:7: client:",
      "duplicate client (first on line 2)"),
    C("duplicate-placement", "keys", AddRow(PL, ("P3", "C4", "MO-OPVANG", "ijssel-vecht", "X", "0193", "2020-01-01",
                                                 "2020-12-31", "ZIN")),
      "placements.csv:9: placement:", "duplicate placement (first on line 4)"),
    C("duplicate-declaration", "keys", AddRow(D, ("P2", "2023-03", "1.00")), "declarations.csv:3: month:",
      "duplicate declaration for this placement and month (first on line 2)"),
    C("duplicate-budget", "keys", AddRow(BU, ("0193", "2024", "", "")), "budgets.csv:4: year:",
      "duplicate budget for this municipality and year (first on line 2)"),
    C("duplicate-notification", "keys", AddRow(N, ("P2", "0114", "2023-01-12")), "notifications.csv:4: -:",
      "duplicate notification (first on line 2)"),

    # --- dangling references --------------------------------------------------------------------
    C("placement-to-missing-client", "references", SetCell(PL, 5, "client", "C42"), "placements.csv:5: client:",
      "unknown client C42 (not in clients.csv)"),
    C("notification-to-missing-placement", "references", SetCell(N, 2, "placement", "P0"),
      "notifications.csv:2: placement:", "unknown placement P0 (not in placements.csv)"),
    C("declaration-to-missing-placement", "references", SetCell(D, 2, "placement", "P99"),
      "declarations.csv:2: placement:", "unknown placement P99"),
    C("brp-to-missing-client", "references", SetCell(B, 7, "client", "C6"), "brp.csv:7: client:", "unknown client C6"),
    C("application-to-missing-client", "references", SetCell(A, 3, "client", "C77"), "applications.csv:3: client:",
      "unknown client C77"),
    C("application-to-missing-region", "references", SetCell(A, 3, "region", "drenthe"),
      "applications.csv:3: region:", "unknown region drenthe"),
    C("member-of-missing-region", "references", SetCell(RM, 2, "region", "nowhere"), "region_members.csv:2: region:",
      "unknown region nowhere"),
    C("member-missing-municipality", "references", AddRow(RM, ("ijssel-vecht", "0994", "2015-01-01", "")),
      "region_members.csv:8: municipality:", "unknown municipality code 0994"),
    C("centrumgemeente-missing", "references", SetCell(R, 3, "centrumgemeente", "0993"),
      "regions.csv:3: centrumgemeente:", "unknown municipality code 0993"),
    C("tariff-of-missing-region", "references", SetCell(T, 4, "region", "zuidoost"), "tariffs.csv:4: region:",
      "unknown region zuidoost"),
    C("budget-of-missing-municipality", "references", SetCell(BU, 3, "municipality", "0995"),
      "budgets.csv:3: municipality:", "unknown municipality code 0995"),
    C("notification-to-missing-municipality", "references", SetCell(N, 2, "municipality", "0996"),
      "notifications.csv:2: municipality:", "unknown municipality code 0996"),
    C("declaration-outside-placement", "references", SetCell(D, 2, "month", "2023-07"), "declarations.csv:2: month:",
      "2023-07 lies outside placement P2 (2023-01-10..2023-06-30)"),

    # --- agreements -----------------------------------------------------------------------------
    C("unknown-kind", "agreements", Replace(AG, b'kind = "interregional"', b'kind = "solidarity"'),
      "agreements.toml:17: kind:", "unknown kind solidarity; known kinds: interregional, pool"),
    C("missing-kind", "agreements", Replace(AG, b'kind = "pool"\n', b""), "agreements.toml:2: kind:", "is required"),
    C("missing-id", "agreements", Replace(AG, b'id = "eagle"\n', b""), "agreements.toml:15: id:", "is required"),
    C("duplicate-agreement-id", "agreements", Replace(AG, b'id = "eagle"', b'id = "ijv-solidariteit-historisch"'),
      "agreements.toml:16: id:", "duplicate agreement id ijv-solidariteit-historisch (first on line 2)"),
    C("pool-weight-non-member", "agreements", Replace(AG, b'"0148" = 29000', b'"0148" = 29000\n"0114" = 1000'),
      "agreements.toml:10: weights:", "0114 is not a member of region ijssel-vecht while the agreement is valid"),
    C("pool-weight-unknown-code", "agreements", Replace(AG, b'"0148" = 29000', b'"0999" = 29000'),
      "agreements.toml:10: weights:", "unknown municipality code '0999'"),
    C("pool-unknown-region", "agreements", Replace(AG, b'region = "ijssel-vecht"', b'region = "ijssel"'),
      "agreements.toml:5: region:", "unknown region 'ijssel'"),
    C("interregional-unknown-region", "agreements",
      Replace(AG, b'regions = ["ijssel-vecht", "zuidoost-drenthe"]', b'regions = ["ijssel-vecht", "groningen"]'),
      "agreements.toml:18: regions:", "unknown region 'groningen'"),
    C("interregional-one-region", "agreements",
      Replace(AG, b'regions = ["ijssel-vecht", "zuidoost-drenthe"]', b'regions = ["ijssel-vecht"]'),
      "agreements.toml:18: regions:", "must list at least two different regions"),
    C("pool-starts-mid-month", "agreements", Replace(AG, b"valid_from = 2023-01-01\nvalid_to",
                                                     b"valid_from = 2023-01-15\nvalid_to"),
      "agreements.toml:6: valid_from:", "it must be the first day of a month"),
    C("agreement-ends-before-start", "agreements", Replace(AG, b"valid_from = 2023-01-01\nnotify",
                                                           b"valid_from = 2023-01-01\nvalid_to = 2022-12-31\nnotify"),
      "agreements.toml:20: valid_to:", "2022-12-31 lies before valid_from 2023-01-01"),
    C("late-notification-value", "agreements", Replace(AG, b'late_notification = "shift"', b'late_notification = "later"'),
      "agreements.toml:21: late_notification:", 'must be "shift" or "flag"'),
    C("negative-weight", "agreements", Replace(AG, b'"0166" = 54000', b'"0166" = -5'),
      "agreements.toml:10: weights:", "weight of 0166 must be a non-negative number, not -5"),
    C("nan-weight", "agreements", Replace(AG, b'"0166" = 54000', b'"0166" = nan'),
      "agreements.toml:10: weights:", "must be a finite number, not nan"),
    C("zero-weights", "agreements", Replace(AG, b'"0193" = 130000\n"0166" = 54000\n"0148" = 29000',
                                            b'"0193" = 0\n"0166" = 0\n"0148" = 0'),
      "agreements.toml:10: weights:", "the weights must not all be zero"),
    C("unknown-field", "agreements", Replace(AG, b"notify_within_days = 14", b"notify_within = 14"),
      "agreements.toml:20: notify_within:", "is not a field of this kind of agreement"),
    C("negative-notify-days", "agreements", Replace(AG, b"notify_within_days = 14", b"notify_within_days = -1"),
      "agreements.toml:20: notify_within_days:", "must be a whole number of days from 0 to 365"),
    C("date-as-string", "agreements", Replace(AG, b"valid_from = 2023-01-01\nnotify", b'valid_from = "2023-01-01"\nnotify'),
      "agreements.toml:19: valid_from:", "must be a TOML date such as 2023-01-01"),
    C("pool-clients-value", "agreements", Replace(AG, b'clients = "historic"', b'clients = "everyone"'),
      "agreements.toml:8: clients:", "must be one of historic, new, all"),
    C("pool-domain-value", "agreements", Replace(AG, b'domains = ["BW"]', b'domains = ["GGZ"]'),
      "agreements.toml:9: domains:", "must be a non-empty list out of BW, MO, WMO"),
    C("top-level-key", "agreements", Prepend(AG, b"version = 1\n"), "agreements.toml:1: version:",
      "unknown top-level key version"),
    C("single-table", "agreements", Write(AG, b'[agreement]\nid = "x"\nkind = "pool"\n'), "agreements.toml:1: -:",
      "must be [[agreement]] tables"),

    # --- TOML syntax ----------------------------------------------------------------------------
    C("toml-bare-word", "toml", Replace(AG, b'kind = "interregional"', b"kind = interregional"),
      "agreements.toml:17: -:", "invalid TOML"),
    C("toml-unterminated-string", "toml", Replace(AG, b'id = "eagle"', b'id = "eagle'), "agreements.toml:16: -:",
      "invalid TOML"),
    C("toml-duplicate-key", "toml", Replace(AG, b'id = "eagle"', b'id = "eagle"\nid = "eagle2"'),
      "agreements.toml:17: -:", "invalid TOML"),
    C("toml-unclosed-header", "toml", Replace(AG, b"[[agreement]]\nid = \"eagle\"", b"[[agreement]\nid = \"eagle\""),
      "agreements.toml:15: -:", "invalid TOML"),
    C("toml-nul", "toml", Replace(AG, b'id = "eagle"', b'id = "ea\x00gle"'), "agreements.toml:16: -:", "invalid TOML"),
    C("toml-nested-60-levels", "toml", Replace(AG, b'id = "eagle"', b'id = ' + b"[" * 60 + b"]" * 60),
      "agreements.toml:16: -:", "invalid TOML: arrays or tables are nested too deeply (more than 50 levels)"),
    C("toml-deep-nesting", "toml", Write(AG, b"x = " + b"[" * 100_000), "agreements.toml:1: -:",
      "invalid TOML: arrays or tables are nested too deeply"),
    # the standard parser takes time quadratic in a dotted key's parts (120 KB: past 100 s and 10 GB)
    C("toml-dotted-key-60000", "toml", Write(AG, b"x" + b".x" * 60_000 + b" = 1\n"), "agreements.toml:1: -:",
      "invalid TOML: more than 16 dots on one line (a dotted key nested too deeply)"),
    C("toml-dotted-key-on-line-3", "toml", Write(AG, b"# a\n# b.c.d\n" + b"k" + b".k" * 17 + b" = 1\n"),
      "agreements.toml:3: -:", "more than 16 dots on one line"),
    # Python refuses to convert integers of over 4300 digits (ValueError): refused before parsing
    C("toml-integer-5000-digits", "toml", Replace(AG, b"notify_within_days = 14", b"notify_within_days = " + b"1" * 5000),
      "agreements.toml:20: -:", "invalid TOML: a number of more than 30 digits"),

    # --- size -----------------------------------------------------------------------------------
    C("huge-field", "size", SetCell(PL, 3, "provider", "Leger des Heils " * 200), "placements.csv:3: provider:",
      "field is longer than 1000 characters"),
    C("huge-line-3-mib", "size", Replace(CL, b"C2,123456782", b"C2," + b"9" * (3 * MB)), "clients.csv:3: -:",
      "field is longer than 1000 characters (the line is longer than 1 MiB; the rest of the file was not read)"),
    C("100-mb-of-bad-rows", "size", Generate(B, b"client,municipality,kind,valid_from,valid_to\n",
                                            b"C1,0166,home,2000-01-01,\n", 100 * MB),
      "brp.csv:2: kind:", "home is not one of woonadres", alone=False),
    C("100-mb-single-line", "size", Generate(CL, b"client,bsn\nC1,", b"1234567890", 100 * MB), "clients.csv:2: -:",
      "field is longer than 1000 characters (the line is longer than 1 MiB; the rest of the file was not read)"),
    C("100-mb-toml", "size", Generate(AG, b"# padding\n", b"# " + b"x" * 98 + b"\n", 100 * MB),
      "agreements.toml:0: -:", "the file is larger than 256 KB"),
]

assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"
