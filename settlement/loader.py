"""Reading a dataset directory (INTERFACE.md §1): every file checked, every problem collected.

`load_dir` reads the CSV files and `agreements.toml` of a directory, validates all of it and either
returns the `Dataset` and its agreements or raises `LoadError` with every problem as
`file:line: column: message` (sorted by file, line, column). Nothing is half-loaded.

Files are read as a stream of lines (bytes decoded one physical line at a time), so a huge file
costs one line of memory at a time; reading a file stops after `MAX_PROBLEMS_PER_FILE` problems.
All cross-checks are dictionary look-ups or sorted sweeps: O(n log n).

A file may also be saved as Dutch Excel saves it (INTERFACE.md §1, v2), detected per file: a UTF-8
byte order mark, Windows-1252 when it is not UTF-8 (see _lines), semicolons as separator (decided
from the header, see _separator) and then decimal commas in amounts; its facts are those of the
plain file, and `dialects_of(ds)` names the files read so. No identifier a user makes up
(InputFile.identifiers: pseudonyms, placement ids, providers; agreement ids) may be a BSN.

Each input file is declared once, in `INPUTS` (see `InputFile`): its columns, parser, key,
Dataset attribute, database table and canonical form; `load_dir`, the store (settlement.store)
and `settle synth` take what they need from there.

`canonical_tables` and `hash_of` define the snapshot's identity (`input_hash`, `agreements_hash`)
from Dataset fields only, so the database layer recomputes the same hashes from stored rows. The
canonical form is versioned per table and per field, so that adding a file or an optional column
leaves the hash of every snapshot that does not use it unchanged (see `canonical_tables`).
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import json
import math
import re
import sys
import stat
import tomllib
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import date
from itertools import chain, repeat
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from stdnum.nl import bsn as _bsn

from .agreements import KINDS, Agreement
from .facts import (Application, Budget, Client, Dataset, Declaration, Dispute, Municipality, Notification, Placement,
                    Product, Region, RegionMember, Registration, Ruling, Tariff)
from .money import parse_euros
from .periods import FAR_FUTURE, Month, parse_date

MAX_FIELD = 1000                    # characters in one cell
MAX_ID = 64                         # characters of a key or reference (a pseudonym, a placement, an agreement id)
MAX_NAME = 200                      # characters of a name or address (the documents show it whole, wrapped)
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2199, 12, 31)  # the dates a cell may hold (an open end is empty)
MAX_CENTS = 99_999_999_999          # 999999999.99 euros: price x 31 days x a million lines still fits 64 bits
MAX_MESSAGE = 400                   # characters of one problem's message
MAX_TOML_DEPTH = 50                 # nesting of arrays and tables in agreements.toml
MAX_LINE_BYTES = 1 << 20            # one physical line; beyond this a field is certainly too long
MAX_PROBLEMS_PER_FILE = 100         # then stop reading that file; the report shows this many per file
MAX_TOML_BYTES = 256 << 10          # agreements.toml: a region's agreements take a few KB, a nation's some 30 KB
MAX_TOML_DOTS = 16                  # dots outside strings on one line: the standard parser is quadratic in them
MAX_TOML_DIGITS = 30                # of one number (Python refuses integers of over 4300 digits with ValueError)
BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

AGREEMENTS = "agreements.toml"

#: A progress callback, `progress(phase, done, total)`: called as a phase advances and last with
#: done == total. Phases: READING (bytes of the files read), VALIDATING (steps), STORING (records).
Progress = Callable[[str, int, int], None]
READING, VALIDATING, STORING = "reading files", "validating", "storing"
PROGRESS_EVERY = 8192  # rows between two progress reports while reading

DOMAINS = ("BW", "MO", "WMO")
UNITS = ("day", "month")
BRP_KINDS = ("woonadres", "institution", "briefadres", "abroad")
FINANCING = ("ZIN", "PGB")
IWMO_CATEGORIES = ("15", "16", "17", "18")  # BW and MO products: beschermd wonen, opvang, spoedopvang, overig
# WMO-domain products: the whole iWmo 3.2 list WMO020 (01 hulp bij het huishouden ... 18 overige BW en opvang)
IWMO_CATEGORIES_WMO = tuple(f"{n:02d}" for n in range(1, 19))
BOOLEANS = {"true": True, "false": False}

# ASCII digits only, matched whole (`fullmatch`): `\d` would take Arabic-Indic or fullwidth digits
# and `$` a trailing line break, both of which a quoted cell can carry
_CODE = re.compile(r"[0-9]{4}")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_BSN = re.compile(r"[0-9]{9}")
_NINE_DIGITS = re.compile(r"(?<![0-9])[0-9]{9}(?![0-9])")
_OIN = re.compile(r"[0-9]{20}")
_TOEWIJZING = re.compile(r"[0-9]{1,9}")           # iWmo LDT_Nummer
_IWMO_PRODUCT_CODE = re.compile(r"[A-Za-z0-9]{1,5}")  # iWmo LDT_ProductCode, as product code lists spell them
_YEAR = re.compile(r"[0-9]{4}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")
#: an Iv3 taakveld (the BBV's functional classification): 6.81a, 6.71, 0.1
_TAAKVELD = re.compile(r"[0-9]\.[0-9]{1,2}[a-z]?")
_AMOUNT = re.compile(r"-?[0-9]+(?:\.[0-9]{1,2})?")
_COMMA_AMOUNT = re.compile(r"-?[0-9]+(?:,[0-9]{1,2})?")  # an amount in a semicolon-separated file
_THOUSANDS = re.compile(r"-?[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]*)?")  # 1.512,30: Dutch thousands separators
_PLAIN = re.compile(r"[\w.:/+@-]{1,40}", re.ASCII)
_COLUMN = re.compile(r"[\w.-]{1,60}", re.ASCII)  # what may stand in the column position of a problem
# control characters a cell must not hold (tab, line feed and carriage return are text); NUL
# cannot even be stored in PostgreSQL
# cannot even be stored in PostgreSQL; nor C1 controls, the bidirectional controls that make a name
# display as another ("Kampen\u202egnitset\u202c" shows as "Kampentesting"), the line and
# paragraph separators, and the Unicode non-characters (U+FFFF makes an XML document malformed)
_NONCHARS = "\ufdd0-\ufdef" + "".join(f"{chr(p * 0x10000 + 0xfffe)}{chr(p * 0x10000 + 0xffff)}" for p in range(17))
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
                      + _NONCHARS + "]")
_BREAK = re.compile(r"[\t\n\r]")
_ROUGH = re.compile(_CONTROL.pattern[:-1] + "\t\n\r]")  # _CONTROL and _BREAK: what makes a line `rough` (see _lines)
#: text -> date of the valid dates read so far (a dataset repeats the same few thousand); a value
#: found here is a valid date and parses to it, so the checks are skipped. Bounded: MAX_DATES.
_DATES: dict[str, date] = {}
MAX_DATES = 100_000
_TOML_POS = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")


class LoadError(Exception):
    """The dataset was refused. `problems`: every problem as 'file:line: column: message'."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        first = self.problems[0] if self.problems else "no details"
        super().__init__(f"the dataset was refused with {len(self.problems)} problem(s); the first: {first}")


# Problems ---------------------------------------------------------------------------------------

class Problems:
    """Collects (file, line, column, message); counts per file so that reading can stop early."""

    def __init__(self) -> None:
        self.items: list[tuple[str, int, str, str]] = []
        self.count: dict[str, int] = defaultdict(int)
        self.stopped: dict[str, int] = {}  # file -> the line where reading stopped
        # (file, line, column, value) of each identifier of digits only: a BSN? (_check_identifiers)
        self.digits: list[tuple[str, int, str, str]] = []

    def add(self, file: str, line: int, column: str, message: str) -> None:
        """One problem. A column that is not a plain name becomes '-' (the message names it) and a
        message is kept to one line of at most MAX_MESSAGE characters, so that every problem reads
        as `file:line: column: message`."""
        if not _COLUMN.fullmatch(column):
            column = "-"
        message = " ".join(message.split("\n"))
        if len(message) > MAX_MESSAGE:
            message = message[:MAX_MESSAGE - 3] + "..."
        self.items.append((file, line, column, message))
        self.count[file] += 1

    def __bool__(self) -> bool:
        return bool(self.items)

    def formatted(self, limit: int = MAX_PROBLEMS_PER_FILE) -> list[str]:
        by_file: dict[str, list[tuple[str, int, str, str]]] = defaultdict(list)
        for item in sorted(set(self.items), key=lambda p: (p[0], p[1], p[2], p[3])):
            by_file[item[0]].append(item)
        out = []
        for file in sorted(by_file):
            items = by_file[file]
            out += [f"{f}:{line}: {col}: {msg}" for f, line, col, msg in items[:limit]]
            if len(items) > limit:
                more = len(items) - limit
                out.append(f"{file}:{items[limit][1]}: -: ... and {more} more problem{'s' * (more > 1)} in {file}")
            if file in self.stopped:
                out.append(f"{file}:{self.stopped[file]}: -: stopped reading after {MAX_PROBLEMS_PER_FILE} "
                           f"problems; the rest of {file} was not checked")
        return out


def show(value: Any) -> str:
    """A value for a message: plain tokens as they are, anything odd quoted and cut short; a value
    with nine digits in a row may be a BSN (in the wrong column) and is never shown."""
    text = str(value)
    if _NINE_DIGITS.search(text):
        return "(a value with 9 digits, possibly a BSN: not shown)"
    if _PLAIN.fullmatch(text):
        return text
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _date_hint(value: str) -> str:
    """A hint for a date written the Dutch way or with a time."""
    if re.fullmatch(r"[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{4}", value):
        return " (day-month-year? write the year first: YYYY-MM-DD)"
    if re.fullmatch(r"[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}", value):
        return " (with '-', not '/')"
    if re.match(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]", value):
        return " (a date without a time)"
    if value.strip() != value:
        return " (remove the spaces or line breaks around it)"
    return ""


def _amount_hint(value: str) -> str:
    """A hint for an amount written the Dutch way, with thousands separators or a currency sign."""
    if re.fullmatch(r"-?[0-9]+\.[0-9]{3,}", value):
        return f" (it has {len(value.split('.')[1])} decimals)"
    if "," in value:
        return " (use '.' for the decimals and no thousands separators: 1234.56, not 1.234,56)"
    if value.strip() != value:
        return " (remove the spaces)"
    if re.search(r"[€$]|EUR", value):
        return " (without a currency sign)"
    return ""


def _comma_amount_problem(value: str) -> str:
    """What is wrong with an amount of a semicolon-separated file (where 1512,30 is right)."""
    if _THOUSANDS.fullmatch(value):
        return (f"{show(value)} has a '.' as thousands separator, which is not accepted (1.512 could also be a "
                f"decimal point); write the amount without it, as {show(value.replace('.', ''))}")
    if "." in value:
        return (f"{show(value)} has a '.'; this file is separated by semicolons, so its amounts are written with a "
                f"decimal comma and no thousands separators, such as 1512,30")
    hint = ""
    if re.fullmatch(r"-?[0-9]+,[0-9]{3,}", value):
        hint = f" (it has {len(value.split(',')[1])} decimals)"
    elif value.strip() != value:
        hint = " (remove the spaces)"
    elif re.search(r"[€$]|EUR", value):
        hint = " (without a currency sign)"
    return (f"{show(value)} is not an amount in euros with a decimal comma and at most two decimals, such as "
            f"1512,30 (the file is separated by semicolons){hint}")


def _span(valid_from: date, valid_to: date | None) -> str:
    return f"{valid_from.isoformat()}..{valid_to.isoformat() if valid_to else 'open'}"


# Reading CSV as a stream ------------------------------------------------------------------------

def _not_utf8(line: bytes, start: int, why: str = "") -> str:
    """The message for a line that is not UTF-8 from byte `start` (0-based) on; `why`: what makes
    that a problem (said before the advice)."""
    byte = line[start]
    guess = ""
    if byte >= 0x80:  # what the byte means in Windows-1252 (a superset of Latin-1's letters)
        try:
            guess = f", {bytes([byte]).decode('cp1252')!r} in Windows-1252/Latin-1"
        except UnicodeDecodeError:
            pass
    return f"is not valid UTF-8 (byte {start + 1} of the line is 0x{byte:02X}{guess}){why}; save the file as UTF-8"


def _not_cp1252(line: bytes, start: int) -> str:
    """The message for a line of a Windows-1252 file with a byte that Windows-1252 does not define."""
    return (f"is neither UTF-8 nor Windows-1252: byte {start + 1} of the line is 0x{line[start]:02X}, which is "
            f"not a character in Windows-1252; save the file as UTF-8")


_HIGH = re.compile(rb"[\x80-\xff]")


def _non_ascii_line(f: Any, before: int) -> int:
    """The line (1-based) of the first byte that is not ASCII among the first `before` bytes of the
    binary file `f`, 0 when there is none; the file's position is kept. Read only when a file turns
    out not to be UTF-8, so that reading a UTF-8 file costs nothing for it."""
    here = f.tell()
    try:
        f.seek(0)
        lines, left = 0, before
        while left > 0:
            chunk = f.read(min(left, 1 << 20))
            if not chunk:
                break
            left -= len(chunk)
            if (m := _HIGH.search(chunk)) is not None:
                return lines + chunk.count(b"\n", 0, m.start()) + 1
            lines += chunk.count(b"\n")
        return 0
    finally:
        f.seek(here)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _lines(f: Any, name: str, out: Problems, bad: set[int], rough: set[int] | None = None,
           dialect: dict[str, Any] | None = None) -> Iterator[str]:
    """Decoded physical lines of a binary file; problems of encoding and length are reported and
    their lines remembered in `bad` (the records touching them are skipped). `rough`: the lines
    longer than MAX_FIELD characters or with a control character, a tab or a line break before
    their end; the cells of a record on one line that is not rough are short and hold none of
    these, so they need not be checked one by one.

    The encoding is the file's, as Excel saves it (INTERFACE.md §1, v2): UTF-8, after a UTF-8 byte
    order mark when there is one (skipped); Windows-1252 from the first line that is not valid
    UTF-8 on, provided no line before it held anything but ASCII (which reads the same in both),
    and then for the rest of the file. `dialect` gets "bom": True and "encoding": "cp1252" when
    the file was read so. A file that mixes the two encodings, or a byte Windows-1252 does not
    define, is reported on its line."""
    n = 0
    readline = f.readline
    codec = "utf-8"
    bom = False
    switched = 0  # the line from which on the file is read as Windows-1252
    while True:
        raw = readline(MAX_LINE_BYTES)
        if not raw:
            return
        n += 1
        if len(raw) >= MAX_LINE_BYTES and not raw.endswith(b"\n"):
            # no line of the format comes near this: stop reading the file here (a 20 GB file
            # without a line break would otherwise be read to its end before it is refused)
            out.add(name, n, "-", f"field is longer than {MAX_FIELD} characters (the line is longer than "
                                  f"{MAX_LINE_BYTES // (1 << 20)} MiB; the rest of the file was not read)")
            bad.add(n)
            yield "\n"
            return
        if n == 1 and (raw.startswith(UTF16_BOMS) or raw.count(b"\x00") * 3 >= len(raw.rstrip(b"\r\n")) > 0):
            how = "it starts with a UTF-16 byte order mark" if raw.startswith(UTF16_BOMS) else \
                "every other byte of the first line is a NUL byte"
            out.add(name, 1, "-", f"is not UTF-8 but UTF-16 ({how}); save the file as UTF-8")
            bad.add(n)
            yield "\n"
            return  # nothing of a UTF-16 file can be read as UTF-8
        if n == 1 and raw.startswith(BOM):  # as Excel's "CSV UTF-8" writes it
            bom = True
            if dialect is not None:
                dialect["bom"] = True
            raw = raw[len(BOM):]
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError as e:
            problem = ""
            if codec == "cp1252":
                problem = _not_cp1252(raw, e.start)
            elif bom:
                problem = _not_utf8(raw, e.start, " although the file starts with a UTF-8 byte order mark")
            elif earlier := _non_ascii_line(f, f.tell() - len(raw)):
                problem = _not_utf8(raw, e.start, f" while line {earlier} is UTF-8 text: the file mixes two encodings")
            else:  # ASCII so far: a Windows-1252 file
                codec, switched = "cp1252", n
                if dialect is not None:
                    dialect["encoding"] = "cp1252"
                try:
                    text = raw.decode(codec)
                except UnicodeDecodeError as undefined:
                    problem = _not_cp1252(raw, undefined.start)
            if problem:
                out.add(name, n, "-", problem)
                bad.add(n)
                text = raw.decode(codec, "replace")
        else:
            if switched and not raw.isascii() and _is_utf8(raw):
                out.add(name, n, "-", f"is UTF-8 text while line {switched} is Windows-1252: the file mixes two "
                                      f"encodings; save it as UTF-8")
                bad.add(n)
        if rough is not None and (len(text) > MAX_FIELD or not (inner := text.rstrip("\r\n")).isprintable()
                                  and _ROUGH.search(inner)):  # isprintable: no control character, in C
            rough.add(n)
        yield text


def _separator(first: str) -> str:
    """The file's separator, from its first line: ';' when that line splits into several cells by
    semicolons and into one by commas (a header as Dutch Excel writes it), else ','."""
    if ";" not in first:
        return ","
    try:
        by_semicolon = next(csv.reader([first], delimiter=";", strict=True))
        by_comma = next(csv.reader([first], strict=True))
    except (csv.Error, StopIteration):
        return ","
    return ";" if len(by_semicolon) > 1 and len(by_comma) == 1 else ","


def _read_csv(path: Path, name: str, columns: tuple[str, ...], out: Problems,
              state: dict[str, bool], position: Callable[[int], None] | None = None,
              dialect: dict[str, Any] | None = None,
              optional: tuple[str, ...] = ()) -> Iterator[tuple[int, dict[str, str], bool]]:
    """Yield (line, {column: cell}, plain) for each well-formed row; plain: the row is one line
    that is not rough (see _lines), so no cell holds a tab or a line break. Sets state['complete']
    to whether the file was read to its end with a usable header and no row was dropped (so that
    every key of the file is known and references to it can be checked). `position(bytes read)`
    is called every PROGRESS_EVERY rows. `dialect`: as _lines fills it, and "separator": ";" for
    a semicolon-separated file (decided from the header line, see _separator), set before the
    first row is yielded. `optional`: columns the header may leave out; their cells are then
    empty."""
    state["complete"] = False
    dropped = False
    bad: set[int] = set()
    rough: set[int] = set()
    rows = 0
    count = out.count
    with open(path, "rb") as f:
        lines = _lines(f, name, out, bad, rough, dialect)
        first = next(lines, None)
        separator = "," if first is None else _separator(first)
        if separator == ";" and dialect is not None:
            dialect["separator"] = ";"
        other = ";" if separator == "," else ","
        reader = csv.reader(lines if first is None else chain((first,), lines), delimiter=separator, strict=True)
        last = 0
        header: list[str] | None = None
        width = 0
        while True:
            if count[name] >= MAX_PROBLEMS_PER_FILE:
                out.stopped[name] = last + 1
                return
            start = last + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                last = reader.line_num
                if not (bad and any(i in bad for i in range(start, last + 1))):
                    out.add(name, start, "-", _csv_error(e))
                if header is None:
                    return
                dropped = True
                continue
            last = reader.line_num
            if bad and any(i in bad for i in range(start, last + 1)):
                if header is None:
                    return
                dropped = True
                continue
            if header is None:
                if not row or row == [""]:
                    out.add(name, start, "-", f"the line is blank; the first line must be the header row: "
                                              f"{','.join(columns)}")
                    return
                header = row
                if not _check_header(name, header, columns, out, optional):
                    return
                index = [(i, c) for i, c in enumerate(header) if c in columns or c in optional]
                absent = {c: "" for c in optional if c not in header}  # a left-out optional column: empty cells
                width = len(header)
                # every column a known one and none left out: the cells are dict(zip(header, row))
                known = len(index) == width and not absent
                continue
            if len(row) != width:
                if not row or row == [""]:
                    continue  # a blank line
                cells = f"{len(row)} cell{'s' * (len(row) != 1)}"
                hint = ""
                if len(row) == 1 and row[0].count(other) + 1 == width:
                    hint = (f" (the row is separated by {_SEPARATORS[other]}, the header by {_SEPARATORS[separator]}: "
                            f"use one separator in the whole file)")
                out.add(name, start, "-", f"the row has {cells}, the header has {len(header)}{hint}")
                dropped = True
                continue
            if plain := start == last and start not in rough:
                pass  # the common case: a record on one line that is short and has no control character
            elif long := [c for i, c in index if len(row[i]) > MAX_FIELD]:
                for c in long:
                    out.add(name, start, c, f"field is longer than {MAX_FIELD} characters")
                dropped = True
                continue
            elif control := [(c, m) for i, c in index if (m := _CONTROL.search(row[i]))]:
                for c, m in control:
                    out.add(name, start, c, f"contains the {_character(m.group())} U+{ord(m.group()):04X} at "
                                            f"character {m.start() + 1}; a cell holds printable text only")
                dropped = True
                continue
            yield start, dict(zip(header, row)) if known else {**{c: row[i] for i, c in index}, **absent}, plain
            rows += 1
            if position is not None and not rows % PROGRESS_EVERY:
                position(f.tell())
        if header is None:
            out.add(name, 1, "-", f"the file is empty; expected a header row: {','.join(columns)}")
            return
    state["complete"] = not dropped


_SEPARATORS = {",": "commas", ";": "semicolons"}


def _csv_error(e: csv.Error) -> str:
    """The csv module's complaint, with what it usually means in an export."""
    text = str(e)
    if "new-line character seen in unquoted field" in text:
        return ("malformed CSV: a carriage return (CR) that does not end a line in an unquoted field; lines must "
                "end with LF or CR LF (a file saved with old Mac line endings?)")
    if "unexpected end of data" in text:
        return f"malformed CSV: a quoted field is not closed before the end of the file ({text})"
    return f"malformed CSV: {text}"


def _check_header(name: str, header: list[str], columns: tuple[str, ...], out: Problems,
                  optional: tuple[str, ...] = ()) -> bool:
    """Report header problems; False when the rows cannot be read by this header. Every one of
    `columns` must be there, any of `optional` may."""
    expected = ",".join(columns + optional)
    if len(header) == 1 and ";" in header[0]:  # one quoted cell: unquoted, semicolons separate (_separator)
        out.add(name, 1, "-", f"the header is one quoted cell holding semicolons; expected the columns "
                              f"{','.join(columns)}, separated by commas (or semicolons)")
        return False
    every = columns + optional
    if not set(header) & set(every):  # not a file of the format (a copy of another file?): quote none of it
        out.add(name, 1, "-", f"the first line names none of the columns of {name}: it is not a file of the "
                              f"exchange format; expected the header {expected}")
        return False
    ok = True
    seen: set[str] = set()
    for c in header:
        if c in seen:
            out.add(name, 1, c or "-", f"column {show(c)} appears more than once in the header")
            ok = False
        seen.add(c)
    for c in header:
        if c not in every:
            hint = ""
            if c.strip() in every and c.strip() != c:
                hint = f" (remove the spaces around {c.strip()})"
            elif c == "":
                hint = " (an empty column name: a trailing comma?)"
            else:
                close = difflib.get_close_matches(c, every, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
            out.add(name, 1, c or "-", f"unknown column {show(c)}{hint}; expected: {expected}")
    for c in columns:
        if c not in seen:
            out.add(name, 1, c, "missing column in the header")
            ok = False
    return ok


# One row ----------------------------------------------------------------------------------------

class Row:
    """The cells of one CSV row with typed accessors that report what is wrong per column."""

    __slots__ = ("file", "line", "cells", "out", "ok", "bad_columns", "plain", "comma")

    def __init__(self, file: str, line: int, cells: dict[str, str], out: Problems, plain: bool = False,
                 comma: bool = False):
        """plain: no cell holds a tab or a line break (known from the line, see _read_csv); comma:
        the file is separated by semicolons, so its amounts have a decimal comma (1512,30)."""
        self.file, self.line, self.cells, self.out, self.ok = file, line, cells, out, True
        self.bad_columns: set[str] = set()
        self.plain = plain
        self.comma = comma

    def bad(self, column: str, message: str) -> None:
        self.out.add(self.file, self.line, column, message)
        self.ok = False
        self.bad_columns.add(column)

    def raw(self, col: str) -> str | None:
        value = self.cells[col]
        return None if value.strip() == "" else value

    def text(self, col: str, required: bool = True, limit: int = MAX_NAME) -> str | None:
        value = self.cells[col]  # as raw(col), without the call: this runs for every cell
        if value.strip() == "":
            if required:
                self.bad(col, "is required")
            return None
        if not self.plain and _BREAK.search(value):  # a name with a line break forges rows in tables
            self.bad(col, f"{show(value)} contains a line break or a tab; a name or text is one line")
            return None
        if len(value) > limit:
            self.bad(col, f"is {len(value)} characters long; at most {limit} are accepted")
            return None
        return value

    def ident(self, col: str, required: bool = True) -> str | None:
        """A key or reference: non-empty, without surrounding spaces."""
        value = self.cells[col]
        stripped = value.strip()
        if stripped == "":
            if required:
                self.bad(col, "is required")
            return None
        if value != stripped:
            self.bad(col, f"{show(value)} has leading or trailing spaces")
            return None
        if not self.plain and _BREAK.search(value):
            self.bad(col, f"{show(value)} contains a line break or a tab; a key or reference is one line of text")
            return None
        if len(value) > MAX_ID:
            self.bad(col, f"is {len(value)} characters long; a key or reference has at most {MAX_ID}")
            return None
        return value

    def identifier(self, col: str, value: str | None) -> str | None:
        """`value`, read from the identifier column `col` (InputFile.identifiers); when it is digits only
        (but for surrounding spaces) it is noted, to be refused if it is a BSN once every BSN of
        the dataset is known (_check_identifiers)."""
        if value is not None and (digits := value.strip()).isdigit():
            self.out.digits.append((self.file, self.line, col, digits))
        return value

    def code(self, col: str, required: bool = True) -> str | None:
        value = self.cells[col]  # as text(col, required), without the call
        if value.strip() == "":
            if required:
                self.bad(col, "is required")
            return None
        if not _CODE.fullmatch(value):
            self.bad(col, f"{show(value)} is not a 4-digit CBS municipality code (such as 0193)")
            return None
        return value

    def slug(self, col: str) -> str | None:
        value = self.text(col)
        if value is not None and not _SLUG.fullmatch(value):
            self.bad(col, f"{show(value)} is not a region slug of lowercase letters, digits and hyphens")
            return None
        return value

    def date(self, col: str, required: bool = True) -> date | None:
        value = self.cells[col]
        day = _DATES.get(value)
        if day is not None:  # a valid date seen before
            return day
        if value.strip() == "":  # as text(col, required)
            if required:
                self.bad(col, "is required")
            return None
        if not _DATE.fullmatch(value):
            self.bad(col, f"{show(value)} is not a date YYYY-MM-DD{_date_hint(value)}")
            return None
        try:
            day = parse_date(value)
        except ValueError:
            self.bad(col, f"{show(value)} is not a date that exists")
            return None
        if not FIRST_DAY <= day <= LAST_DAY:
            self.bad(col, f"{value} lies outside the dates accepted, {FIRST_DAY} to {LAST_DAY}"
                          + ("; leave an open end empty" if day > LAST_DAY else ""))
            return None
        if len(_DATES) < MAX_DATES:
            _DATES[value] = day
        return day

    def cents(self, col: str, required: bool = True) -> int | None:
        value = self.text(col, required)
        if value is None:
            return None
        if self.comma:  # 1512,30: the amount of a semicolon-separated file
            if not _COMMA_AMOUNT.fullmatch(value):
                self.bad(col, _comma_amount_problem(value))
                return None
        elif not _AMOUNT.fullmatch(value):
            self.bad(col, f"{show(value)} is not an amount in euros with a '.' and at most two decimals"
                          f"{_amount_hint(value)}")
            return None
        if value.startswith("-"):
            self.bad(col, f"{show(value)} is negative; amounts must not be negative")
            return None
        cents = parse_euros(value.replace(",", ".") if self.comma else value)
        if cents > MAX_CENTS:
            self.bad(col, f"{show(value)} is larger than the largest amount accepted, "
                          f"{MAX_CENTS // 100}{',' if self.comma else '.'}{MAX_CENTS % 100:02d}")
            return None
        return cents

    def choice(self, col: str, options: Iterable[str], required: bool = True) -> str | None:
        value = self.text(col, required)
        options = tuple(options)
        if value is not None and value not in options:
            self.bad(col, f"{show(value)} is not one of {', '.join(options)}")
            return None
        return value

    def interval(self, lo: str = "valid_from", hi: str = "valid_to") -> tuple[date | None, date | None]:
        a, b = self.date(lo), self.date(hi, required=False)
        if a and b and b < a:
            self.bad(hi, f"{b.isoformat()} lies before {lo} {a.isoformat()}")
        return a, b


# The tables -------------------------------------------------------------------------------------

def _municipality(r: Row) -> Municipality | None:
    code, name = r.code("code"), r.text("name")
    iban_raw = r.text("iban")
    iban = None
    if iban_raw is not None:
        try:
            import schwifty
            iban = schwifty.IBAN(iban_raw).compact.upper()
        except Exception as e:  # schwifty raises subclasses of ValueError
            reason = str(e).rstrip(".") or e.__class__.__name__
            r.bad("iban", f"{show(iban_raw)} is not a valid IBAN: {reason[0].lower() + reason[1:]}")
    street, postcode, city = r.text("street"), r.text("postcode"), r.text("city")
    oin = r.text("oin", required=False)
    if oin is None:  # optional in version 1 of the interface: snapshots stored then keep None
        r.bad("oin", "is required (INTERFACE.md v2): the municipality's OIN of 20 digits, which its "
                     "e-invoices name it by (NLCIUS BR-NL-1 and BR-NL-10)")
    elif not _OIN.fullmatch(oin):
        r.bad("oin", f"{show(oin)} is not an OIN of 20 digits")
    if not r.ok:
        return None
    return Municipality(code, name, iban, street, postcode, city, oin)  # type: ignore[arg-type]


def _region(r: Row) -> Region | None:
    region, name, cg, cutover = r.slug("region"), r.text("name"), r.code("centrumgemeente"), r.date("cutover")
    return Region(region, name, cg, cutover) if r.ok else None  # type: ignore[arg-type]


def _member(r: Row) -> RegionMember | None:
    region, code = r.ident("region"), r.code("municipality")
    a, b = r.interval()
    return RegionMember(region, code, a, b) if r.ok else None  # type: ignore[arg-type]


def _product(r: Row) -> Product | None:
    product, name = r.ident("product"), r.text("name")
    domain = r.choice("domain", DOMAINS)
    flag = r.choice("bw_definition", BOOLEANS)
    unit = r.choice("unit", UNITS)
    category = r.choice("iwmo_category", IWMO_CATEGORIES_WMO if domain == "WMO" else IWMO_CATEGORIES,
                        required=False)
    code = None
    if "iwmo_product_code" in r.cells and (code := r.ident("iwmo_product_code", required=False)) is not None:
        if not _IWMO_PRODUCT_CODE.fullmatch(code):
            r.bad("iwmo_product_code", f"{show(code)} is not an iWmo product code (1 to 5 letters or digits)")
    taakveld = r.text("taakveld", required=False)
    if taakveld is not None and not _TAAKVELD.fullmatch(taakveld):
        r.bad("taakveld", f"{show(taakveld)} is not an Iv3 taakveld such as 6.81a")
    bw = BOOLEANS.get(flag or "")
    if bw and domain in ("MO", "WMO"):
        r.bad("bw_definition", f"a {domain} product cannot have the BW definition; "
                               f"bw_definition true is only allowed for domain BW")
    return Product(product, name, domain, bw, unit, category, code, taakveld) if r.ok else None  # type: ignore[arg-type]


def _tariff(r: Row) -> Tariff | None:
    product, region = r.ident("product"), r.ident("region")
    a, b = r.interval()
    price = r.cents("price")
    return Tariff(product, region, a, b, price) if r.ok else None  # type: ignore[arg-type]


def _client(r: Row) -> Client | None:
    client = r.identifier("client", r.ident("client"))
    value = r.raw("bsn")
    if value is None:
        r.bad("bsn", "is required")
    elif not _BSN.fullmatch(value):
        r.bad("bsn", f"{_who(client)}: bsn must be exactly 9 digits")
    elif not _valid_bsn(value):
        r.bad("bsn", f"{_who(client)}: bsn fails the 11-proef")
    return Client(client, value) if r.ok else None  # type: ignore[arg-type]


def _who(client: str | None) -> str:
    return f"client {show(client)}" if client else "this client"


def _valid_bsn(nine_digits: str) -> bool:
    """`stdnum.nl.bsn.is_valid` for a value of exactly nine ASCII digits: not all zeros and the
    11-proef (stdnum's `checksum`) holds. is_valid first cleans and pads the value and checks its
    digits and length, which such a value needs not; that took most of the time of reading a client."""
    return _bsn.checksum(nine_digits) == 0 and nine_digits != "000000000"


def _registration(r: Row) -> Registration | None:
    client = r.identifier("client", r.ident("client"))
    kind = r.choice("kind", BRP_KINDS)
    code = r.code("municipality", required=False)
    if r.raw("municipality") is None and kind is not None and kind != "abroad":
        r.bad("municipality", f"is required for kind {kind} (only kind abroad may leave it empty)")
    a, b = r.interval()
    return Registration(client, code, kind, a, b, r.line) if r.ok else None  # type: ignore[arg-type]


def _application(r: Row) -> Application | None:
    client, region, code, day = (r.identifier("client", r.ident("client")), r.ident("region"), r.code("municipality"),
                                 r.date("date"))
    return Application(client, region, code, day, r.line) if r.ok else None  # type: ignore[arg-type]


def _placement(r: Row) -> Placement | None:
    pid, client = r.identifier("placement", r.ident("placement")), r.identifier("client", r.ident("client"))
    product, region = r.ident("product"), r.ident("region")
    provider, location = r.identifier("provider", r.text("provider")), r.code("location")
    start, end = r.interval("start", "end")
    financing = r.choice("financing", FINANCING)
    contractor = r.code("contractor", required=False) if "contractor" in r.cells else None  # empty: none
    toewijzing = None
    if "toewijzing" in r.cells and (toewijzing := r.ident("toewijzing", required=False)) is not None:
        if not _TOEWIJZING.fullmatch(toewijzing):
            r.bad("toewijzing", f"{show(toewijzing)} is not a toewijzing number (iWmo ToewijzingNummer: 1 to 9 digits)")
    if not r.ok:
        return None
    return Placement(pid, client, product, region, provider, location, start, end, financing,  # type: ignore[arg-type]
                     contractor, toewijzing)


def _notification(r: Row) -> Notification | None:
    pid, code, day = r.identifier("placement", r.ident("placement")), r.code("municipality"), r.date("notified_on")
    return Notification(pid, code, day, r.line) if r.ok else None  # type: ignore[arg-type]


def _declaration(r: Row) -> Declaration | None:
    pid, month_raw = r.identifier("placement", r.ident("placement")), r.text("month")
    month = None
    if month_raw is not None:
        try:
            if not _MONTH.fullmatch(month_raw):
                raise ValueError(month_raw)
            month = str(Month.parse(month_raw))
        except ValueError:
            r.bad("month", f"{show(month_raw)} is not a month YYYY-MM")
    amount = r.cents("amount")
    return Declaration(pid, month, amount) if r.ok else None  # type: ignore[arg-type]


def _budget(r: Row) -> Budget | None:
    code, year_raw = r.code("municipality"), r.text("year")
    year = None
    if year_raw is not None:
        if _YEAR.fullmatch(year_raw) and 1900 <= int(year_raw) <= 2999:
            year = int(year_raw)
        else:
            r.bad("year", f"{show(year_raw)} is not a year such as 2024")
    historic, objective = r.cents("historic", required=False), r.cents("objective", required=False)
    return Budget(code, year, historic, objective) if r.ok else None  # type: ignore[arg-type]


def _dispute(r: Row) -> Dispute | None:
    did, pid = r.identifier("dispute", r.ident("dispute")), r.identifier("placement", r.ident("placement"))
    by, on, subject = r.code("raised_by"), r.date("raised_on"), r.text("subject", limit=MAX_FIELD)
    return Dispute(did, pid, by, on, subject) if r.ok else None  # type: ignore[arg-type]


def _ruling(r: Row) -> Ruling | None:
    rid = r.identifier("ruling", r.ident("ruling"))
    did = r.identifier("dispute", r.ident("dispute", required=False))
    pid, payer = r.identifier("placement", r.ident("placement")), r.code("payer")
    valid_from, decided_on, reference = r.date("valid_from"), r.date("decided_on"), r.text("reference")
    return Ruling(rid, did, pid, payer, valid_from, decided_on, reference) if r.ok else None  # type: ignore[arg-type]


# The input files --------------------------------------------------------------------------------

#: The version of the canonical form (see `canonical_tables`) that the newest declaration uses: a
#: table or a field added to the exchange format is declared with the next version (`since`).
CANONICAL_VERSION = 4  # 2: placements.contractor; 3: disputes.csv, rulings.csv;
# 4: placements.toewijzing, products.iwmo_product_code (settlement.iwmo), products.taakveld


@dataclass(frozen=True)
class InputFile:
    """One input file of the exchange format (INTERFACE.md §1), declared once: the loader reads,
    checks and hashes it, the store keeps it (`table`) and the synthetic generator writes its
    header from this.

    `columns`: the header's columns in their documented order, each required in the header (a cell
    may still be empty: the parser decides); `optional_columns`: columns a header may leave out
    (their cells then read as empty), for columns added to a file after it was first published.
    `parser`: the Row -> record function (None when the row is wrong: it reported why). `key`:
    the column that identifies a record (its raw values are what references are checked against;
    the Dataset holds such a table as a dict by it); None for a table whose records are identified
    by their line (`line` field) or by their values. `required`: the file must be present.
    `identifiers`: (column, what it is) of the identifiers a user makes up (pseudonyms, record ids,
    free names), stored, printed by `explain` and exported as they are, so none may be a BSN (see
    Row.identifier; not: municipality codes, region slugs, product codes, the dataset's fixed
    lists). `amounts`: it has amounts in euros (with a decimal comma when separated by
    semicolons). `frame`: what the agreements are checked against (when such a file has problems,
    the agreements' references are not checked) and what a process completing a month reads
    (store.read_dataset(frame=True)).

    The canonical form (`canonical_tables`): `record` is the frozen list of the fact's fields that
    make a record's canonical list, in that order, since the table appeared (version `since`);
    `later`: (field, version) of the fields added afterwards, which enter a record's canonical form
    only when not None. A table with `since` > 1 enters the input hash only when it has records.
    Every field of `fact` is in exactly one of the two (checked when the module loads)."""

    file: str
    attr: str                       # the Dataset attribute, and the table's name in the canonical form
    fact: type                      # the record's dataclass (settlement.facts)
    table: str                      # the database table (settlement.db), one row per record
    columns: tuple[str, ...]
    parser: Callable[["Row"], Any]
    key: str | None = None
    required: bool = True
    record: tuple[str, ...] = ()
    later: tuple[tuple[str, int], ...] = ()
    since: int = 1
    optional_columns: tuple[str, ...] = ()
    identifiers: tuple[tuple[str, str], ...] = ()
    amounts: bool = False
    frame: bool = False

    @property
    def all_columns(self) -> tuple[str, ...]:
        return self.columns + self.optional_columns


def _input(file: str, attr: str, fact: type, table: str, columns: str, parser: Callable[["Row"], Any],
           **kw: Any) -> InputFile:
    """An InputFile whose canonical record is every field of `fact` (canonical form v1)."""
    kw.setdefault("record", tuple(f.name for f in fields(fact)))
    return InputFile(file, attr, fact, table, tuple(columns.split(",")), parser, **kw)


#: Every input file, in the order they are read (and documented, INTERFACE.md §1).
_PSEUDONYM, _PLACEMENT = ("client", "client pseudonym"), ("placement", "placement id")
INPUTS: tuple[InputFile, ...] = (
    _input("municipalities.csv", "municipalities", Municipality, "municipality",
           "code,name,iban,street,postcode,city,oin", _municipality, key="code", frame=True),
    _input("regions.csv", "regions", Region, "region", "region,name,centrumgemeente,cutover", _region, key="region",
           frame=True),
    _input("region_members.csv", "members", RegionMember, "region_member", "region,municipality,valid_from,valid_to",
           _member, frame=True),
    _input("products.csv", "products", Product, "product", "product,name,domain,bw_definition,unit,iwmo_category",
           _product, key="product", frame=True, optional_columns=("iwmo_product_code", "taakveld"),
           record=("product", "name", "domain", "bw_definition", "unit", "iwmo_category"),
           later=(("iwmo_product_code", 4), ("taakveld", 4))),
    _input("tariffs.csv", "tariffs", Tariff, "tariff", "product,region,valid_from,valid_to,price", _tariff,
           amounts=True),
    _input("clients.csv", "clients", Client, "client", "client,bsn", _client, key="client", identifiers=(_PSEUDONYM,)),
    _input("brp.csv", "registrations", Registration, "brp", "client,municipality,kind,valid_from,valid_to",
           _registration, identifiers=(_PSEUDONYM,)),
    _input("applications.csv", "applications", Application, "application", "client,region,municipality,date",
           _application, identifiers=(_PSEUDONYM,)),
    _input("placements.csv", "placements", Placement, "placement",
           "placement,client,product,region,provider,location,start,end,financing", _placement, key="placement",
           identifiers=(_PSEUDONYM, _PLACEMENT, ("provider", "provider")), optional_columns=("contractor", "toewijzing"),
           record=("placement", "client", "product", "region", "provider", "location", "start", "end", "financing"),
           later=(("contractor", 2), ("toewijzing", 4))),
    _input("notifications.csv", "notifications", Notification, "notification", "placement,municipality,notified_on",
           _notification, required=False, identifiers=(_PLACEMENT,)),
    _input("declarations.csv", "declarations", Declaration, "declaration", "placement,month,amount", _declaration,
           required=False, identifiers=(_PLACEMENT,), amounts=True),
    _input("budgets.csv", "budgets", Budget, "budget", "municipality,year,historic,objective", _budget,
           required=False, amounts=True, frame=True),  # frame: a budget pool settles its month from them
    _input("disputes.csv", "disputes", Dispute, "dispute", "dispute,placement,raised_by,raised_on,subject", _dispute,
           key="dispute", required=False, since=3, identifiers=(("dispute", "dispute id"), _PLACEMENT)),
    _input("rulings.csv", "rulings", Ruling, "ruling", "ruling,dispute,placement,payer,valid_from,decided_on,reference",
           _ruling, key="ruling", required=False, since=3,
           identifiers=(("ruling", "ruling id"), ("dispute", "dispute id"), _PLACEMENT)),
)


def check_inputs(inputs: Iterable[InputFile]) -> None:
    """Raise ValueError when declarations contradict each other or their facts: a file or table
    twice, a fact field in neither or both of `record` and `later`, a version out of order."""
    inputs = list(inputs)
    for what, values in (("file", [i.file for i in inputs]), ("attribute", [i.attr for i in inputs])):
        if len(set(values)) != len(values):
            raise ValueError(f"an input {what} is declared twice: {values}")
    for i in inputs:
        names = [f.name for f in fields(i.fact)]
        later = [n for n, _ in i.later]
        if sorted(i.record + tuple(later)) != sorted(names) or len(set(later)) != len(later):
            raise ValueError(f"{i.file}: the fields of {i.fact.__name__} ({', '.join(names)}) must each be in "
                             f"`record` or `later` once")
        if not 1 <= i.since <= CANONICAL_VERSION or any(not i.since < v <= CANONICAL_VERSION for _, v in i.later):
            raise ValueError(f"{i.file}: versions must lie in 1..{CANONICAL_VERSION}, a later field's after its table's")
        if i.key is not None and (i.key not in i.columns or i.key not in i.record):
            raise ValueError(f"{i.file}: the key {i.key} must be a required column and a field of the record")
        if set(i.columns) & set(i.optional_columns):
            raise ValueError(f"{i.file}: a column is both required and optional")


check_inputs(INPUTS)

#: file -> (columns, required): the declarations' columns, for who reads the format's file list
FILES: dict[str, tuple[tuple[str, ...], bool]] = {i.file: (i.all_columns, i.required) for i in INPUTS}
#: file -> (row parser, key column): the declarations' parsers
PARSERS: dict[str, tuple[Callable[[Row], Any], str | None]] = {i.file: (i.parser, i.key) for i in INPUTS}
#: (file, column) -> what it is: the declared identifiers (InputFile.identifiers)
IDENTIFIERS: dict[tuple[str, str], str] = {(i.file, c): what for i in INPUTS for c, what in i.identifiers}
#: the files the agreements are checked against (InputFile.frame)
MASTER_FILES = tuple(i.file for i in INPUTS if i.frame)
#: the files with amounts in euros: in a semicolon-separated one they have a decimal comma
AMOUNT_FILES = tuple(i.file for i in INPUTS if i.amounts)


# Fast paths: the common row of the two largest files at a fraction of the cost. Each returns the
# record the parser above would return for a `plain` row (see _read_csv: no cell holds a tab, a
# line break or a control character) when that parser would find nothing wrong with it, and None
# whenever it is not sure: the parser then reads the row and reports what is wrong. They take
# only values whose check is exact here: keys without surrounding spaces, codes that are four
# digits, dates already parsed (_DATES), an empty cell for "none"; an identifier of digits only
# (perhaps a BSN, see Row.identifier) is left to the parser.

_shared = sys.intern  # one string object for each of the many repeated cells (codes, kinds, clients, ...)


def _ident_ok(value: str) -> bool:
    """Row.ident would return `value` itself, without a problem (the row being plain)."""
    return value != "" and len(value) <= MAX_ID and value == value.strip()


def _fast_registration(cells: dict[str, str], line: int) -> Registration | None:
    client, code, kind = cells["client"], cells["municipality"], cells["kind"]
    start, end = _DATES.get(cells["valid_from"]), cells["valid_to"]
    until = _DATES.get(end) if end else None
    if (start is None or (end and (until is None or until < start)) or kind not in BRP_KINDS
            or not _ident_ok(client) or client.isdigit()):
        return None
    if code:
        if not _CODE.fullmatch(code):
            return None
    elif kind != "abroad":  # no municipality is only allowed abroad
        return None
    return Registration(_shared(client), _shared(code) if code else None, _shared(kind), start, until, line)


def _fast_placement(cells: dict[str, str], line: int) -> Placement | None:
    pid, client, product, region = cells["placement"], cells["client"], cells["product"], cells["region"]
    provider, location, financing = cells["provider"], cells["location"], cells["financing"]
    start, end = _DATES.get(cells["start"]), cells["end"]
    until = _DATES.get(end) if end else None
    if cells.get("contractor") or cells.get("toewijzing"):
        return None  # a contractor or a toewijzing named: the parser checks it
    if (start is None or (end and (until is None or until < start)) or financing not in FINANCING
            or not (_ident_ok(pid) and _ident_ok(client) and _ident_ok(product) and _ident_ok(region))
            or (name := provider.strip()) == "" or len(provider) > MAX_NAME or not _CODE.fullmatch(location)
            or pid.isdigit() or client.isdigit() or name.isdigit()):
        return None
    return Placement(pid, _shared(client), _shared(product), _shared(region), _shared(provider), _shared(location),
                     start, until, _shared(financing))


#: file -> its fast path: only where one pays. Measured at 40,000 clients (/tmp/synth40k, the
#: rows' parse alone, CPU time, best of 5): brp.csv 766 -> 521 ms and placements.csv 664 -> 475 ms
#: (1.5x and 1.4x, about 4 and 3 % of load_dir); clients.csv 390 -> 327 ms and applications.csv
#: 274 -> 219 ms saved about 1 % each (a client's time is its BSN's 11-proef, either way), so they
#: went. A file whose declaration gains a column (or another fact class) is read without its fast
#: path (load_dir) until the fast path reads that column too: each names the optional columns it
#: knows (it hands a row that fills one to the parser) and the fact it makes.
FAST_PARSERS: dict[str, Callable[[dict[str, str], int], Any]] = {
    "brp.csv": _fast_registration,
    "placements.csv": _fast_placement,
}
_FAST_KNOWS: dict[str, tuple[tuple[str, ...], type]] = {  # (optional columns it knows, fact it makes)
    "brp.csv": ((), Registration),
    "placements.csv": (("contractor", "toewijzing"), Placement),
}


def _fast_parser(spec: "InputFile") -> Callable[[dict[str, str], int], Any] | None:
    fast = FAST_PARSERS.get(spec.file)
    columns, fact = _FAST_KNOWS.get(spec.file, ((), None))
    if fast is None or spec.fact is not fact or not set(spec.optional_columns) <= set(columns):
        return None
    return fast


@dataclass
class _Table:
    rows: list[tuple[int, Any]]     # (line, record) of the rows that parsed
    known: set[str]                 # raw key values of every row (also the ones with a bad cell)
    complete: bool                  # every row was read: references to `known` can be checked


# Cross-checks -----------------------------------------------------------------------------------

class _Checker:
    def __init__(self, tables: dict[str, _Table], out: Problems):
        self.t, self.out = tables, out

    def ref(self, file: str, line: int, column: str, value: str | None, target: str, what: str) -> None:
        """A reference to a key of another file (skipped when that file could not be read whole)."""
        table = self.t[target]
        if value is None or not table.complete:
            return
        if value not in table.known:
            self.out.add(file, line, column, f"unknown {what} {show(value)} (not in {target})")

    def refs(self, file: str, rows: list[tuple[int, Any]], column: str, field: str, target: str, what: str) -> None:
        """`ref` for the field of every row; the rows are looked at one by one only when some value
        is not known."""
        table = self.t[target]
        if not table.complete:
            return
        known = table.known
        values = set(map(attrgetter(field), map(itemgetter(1), rows)))
        values.discard(None)
        if values <= known:
            return
        for line, rec in rows:
            value = getattr(rec, field)
            if value is not None and value not in known:
                self.ref(file, line, column, value, target, what)

    def duplicates(self, file: str, column: str, rows: list[tuple[int, Any]], key: Callable[[Any], Any],
                   what: str) -> None:
        """Every record whose key(record) an earlier line has already; the rows are looked at one by
        one only when there is one."""
        keys = list(map(key, map(itemgetter(1), rows)))
        if len(set(keys)) == len(keys):
            return
        first: dict[Any, int] = {}
        for (line, _), k in zip(rows, keys):
            if k in first:
                self.out.add(file, line, column, f"duplicate {what} (first on line {first[k]})")
            else:
                first[k] = line

    def overlaps(self, file: str, column: str, rows: list[tuple[int, Any]], group: Callable[[Any], Any],
                 span: Callable[[Any], tuple[date, date | None]], message: Callable[[Any, int, Any], str]) -> None:
        """Per group, intervals must not overlap: the later line is reported, naming the earlier."""
        groups: dict[Any, list[tuple[date, int, date, Any]]] = defaultdict(list)
        for line, rec in rows:
            lo, hi = span(rec)
            groups[group(rec)].append((lo, line, hi or FAR_FUTURE, rec))
        for items in groups.values():
            if len(items) < 2:
                continue
            items.sort()  # by (start, line): a line is one record's, so the sort never compares further
            reach: tuple[date, int, Any] | None = None  # the interval reaching furthest so far
            for lo, line, hi, rec in items:
                if reach is not None and lo <= reach[0]:
                    (later, later_rec), (earlier, earlier_rec) = sorted(
                        [(line, rec), (reach[1], reach[2])], key=lambda t: t[0], reverse=True)
                    self.out.add(file, later, column, message(later_rec, earlier, earlier_rec))
                if reach is None or hi > reach[0]:
                    reach = (hi, line, rec)


def _bsn_problem(what: str, value: str, bsns: dict[str, tuple[int | None, str]],
                 line: int | None = None) -> str | None:
    """The message when `value` (an identifier: `what`) is a BSN of the dataset (`bsns`: bsn ->
    (line of clients.csv or None, client)) or nine digits passing the 11-proef; None when it is
    not. The number itself is never in the message. `line`: the value's own line of clients.csv."""
    if len(value) != 9 or not _BSN.fullmatch(value):
        return None
    owner = bsns.get(value)
    if owner is not None:
        where = "clients.csv" if owner[0] is None else f"line {owner[0]} of clients.csv"
        if owner[1] != value:
            how = f"is the BSN of client {show(owner[1])} ({where})"
        else:  # a client whose pseudonym is its BSN
            how = "is this client's own BSN" if owner[0] == line else f"is the client's own BSN ({where})"
    elif _valid_bsn(value):
        how = "looks like a BSN (nine digits passing the 11-proef)"
    else:
        return None
    return f"this {what} {how}; pseudonyms and other identifiers must not be BSNs (the number is not shown)"


def _check_identifiers(tables: dict[str, _Table], out: Problems) -> None:
    """No declared identifier (InputFile.identifiers) is a BSN (see _bsn_problem): the values of digits only that
    the parsers noted (Row.identifier; the fast paths leave such rows to them), now that every BSN
    of clients.csv is known."""
    if not out.digits:
        return
    names = {(i.file, c): what for i in INPUTS for c, what in i.identifiers}  # as IDENTIFIERS
    bsns: dict[str, tuple[int | None, str]] = {}
    for line, c in tables["clients.csv"].rows:
        bsns.setdefault(c.bsn, (line, c.client))
    for file, line, column, value in out.digits:
        problem = _bsn_problem(names[(file, column)], value, bsns, line if file == "clients.csv" else None)
        if problem is not None:
            out.add(file, line, column, problem)


def _cross_check(tables: dict[str, _Table], out: Problems) -> None:
    c = _Checker(tables, out)
    T = tables
    _check_identifiers(tables, out)

    # keys
    c.duplicates("municipalities.csv", "code", T["municipalities.csv"].rows, attrgetter("code"), "municipality code")
    c.duplicates("regions.csv", "region", T["regions.csv"].rows, attrgetter("region"), "region")
    c.duplicates("products.csv", "product", T["products.csv"].rows, attrgetter("product"), "product")
    c.duplicates("clients.csv", "client", T["clients.csv"].rows, attrgetter("client"), "client")
    first_bsn: dict[str, tuple[int, str]] = {}
    bsns = [x.bsn for _, x in T["clients.csv"].rows]
    for line, x in T["clients.csv"].rows if len(set(bsns)) < len(bsns) else ():
        if x.bsn in first_bsn and first_bsn[x.bsn][1] != x.client:
            other_line, other = first_bsn[x.bsn]
            out.add("clients.csv", line, "bsn", f"client {show(x.client)}: bsn is the same as that of client "
                                               f"{show(other)} on line {other_line}")
        first_bsn.setdefault(x.bsn, (line, x.client))
    c.duplicates("placements.csv", "placement", T["placements.csv"].rows, attrgetter("placement"), "placement")
    c.duplicates("notifications.csv", "-", T["notifications.csv"].rows,
                 attrgetter("placement", "municipality", "notified_on"), "notification")
    c.duplicates("declarations.csv", "month", T["declarations.csv"].rows, attrgetter("placement", "month"),
                 "declaration for this placement and month")
    c.duplicates("budgets.csv", "year", T["budgets.csv"].rows, attrgetter("municipality", "year"),
                 "budget for this municipality and year")

    # references
    M, R, P, C, PL = "municipalities.csv", "regions.csv", "products.csv", "clients.csv", "placements.csv"
    # (file, column, target, what); the problems are sorted when reported, so the order of the checks is free
    for file, column, target, what in (
            ("regions.csv", "centrumgemeente", M, "municipality code"),
            ("region_members.csv", "region", R, "region"),
            ("region_members.csv", "municipality", M, "municipality code"),
            ("tariffs.csv", "product", P, "product"),
            ("tariffs.csv", "region", R, "region"),
            ("brp.csv", "client", C, "client"),
            ("brp.csv", "municipality", M, "municipality code"),
            ("applications.csv", "client", C, "client"),
            ("applications.csv", "region", R, "region"),
            ("applications.csv", "municipality", M, "municipality code"),
            (PL, "client", C, "client"),
            (PL, "product", P, "product"),
            (PL, "region", R, "region"),
            (PL, "location", M, "municipality code"),
            (PL, "contractor", M, "municipality code"),
            ("notifications.csv", "placement", PL, "placement"),
            ("notifications.csv", "municipality", M, "municipality code"),
            ("disputes.csv", "placement", PL, "placement"),
            ("disputes.csv", "raised_by", M, "municipality code"),
            ("rulings.csv", "dispute", "disputes.csv", "dispute"),
            ("rulings.csv", "placement", PL, "placement"),
            ("rulings.csv", "payer", M, "municipality code")):
        c.refs(file, T[file].rows, column, column, target, what)
    # RULES.md §4.0: a ruling on a dispute rules on that dispute's placement; two rulings of one
    # placement from one day would both decide it
    disputes = {d.dispute: d for _, d in T["disputes.csv"].rows}
    from_day: dict[tuple[str, date], int] = {}
    for line, u in T["rulings.csv"].rows:
        d = disputes.get(u.dispute) if u.dispute is not None else None
        if d is not None and d.placement != u.placement:
            out.add("rulings.csv", line, "placement", f"ruling {show(u.ruling)} is on dispute {show(u.dispute)}, "
                                                      f"which is about placement {show(d.placement)}, not {show(u.placement)}")
        first = from_day.setdefault((u.placement, u.valid_from), line)
        if first != line:
            out.add("rulings.csv", line, "valid_from", f"placement {show(u.placement)} already has a ruling valid from "
                                                       f"{u.valid_from.isoformat()} (line {first}): two rulings may not "
                                                       f"decide one placement on one day")
    placements = {p.placement: p for _, p in T["placements.csv"].rows} if T["declarations.csv"].rows else {}
    for line, d in T["declarations.csv"].rows:
        c.ref("declarations.csv", line, "placement", d.placement, PL, "placement")
        p = placements.get(d.placement)
        if p is not None:
            month = Month.parse(d.month)
            if not (p.start <= month.last and (p.end is None or p.end >= month.first)):
                out.add("declarations.csv", line, "month", f"{d.month} lies outside placement {show(p.placement)} "
                                                           f"({_span(p.start, p.end)})")
    for line, b in T["budgets.csv"].rows:
        c.ref("budgets.csv", line, "municipality", b.municipality, M, "municipality code")

    # intervals
    interval = attrgetter("valid_from", "valid_to")
    c.overlaps("region_members.csv", "valid_from", T["region_members.csv"].rows, attrgetter("municipality"), interval,
               lambda m, l, e: f"membership of {m.municipality} overlaps its membership of region {show(e.region)} "
                               f"on line {l} ({_span(e.valid_from, e.valid_to)})")
    c.overlaps("tariffs.csv", "valid_from", T["tariffs.csv"].rows, attrgetter("product", "region"), interval,
               lambda t, l, e: f"tariff of {show(t.product)} in {show(t.region)} overlaps the tariff on line {l} "
                               f"({_span(e.valid_from, e.valid_to)})")
    c.overlaps("brp.csv", "valid_from", T["brp.csv"].rows, attrgetter("client"), interval,
               lambda b, l, e: f"registration of client {show(b.client)} overlaps the registration on line {l} "
                               f"({_span(e.valid_from, e.valid_to)})")
    c.overlaps(PL, "start", T["placements.csv"].rows, attrgetter("client", "product", "region"),
               attrgetter("start", "end"),
               lambda p, l, e: f"placement {show(p.placement)} overlaps placement {show(e.placement)} on line {l} "
                               f"({_span(e.start, e.end)}) of the same client, product and region")

    # v2 (RULES.md §2): the centrumgemeente need not be a member of its region (Assen kept the
    # historic clients and budget of all nine municipalities of the former Assen region [002])


# Agreements -------------------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[\s*agreement\s*\]\]\s*(?:#.*)?$")


def _block_lines(lines: list[str]) -> list[int]:
    """1-based lines of the `[[agreement]]` headers, in order."""
    return [i + 1 for i, text in enumerate(lines) if _HEADER.match(text)]


def _field_line(lines: list[str], start: int, end: int, field: str) -> int:
    """The line of `field = ...` (or `[agreement.field]`, `field.x = ...`) in lines start..end-1."""
    name = re.escape(field)
    pattern = re.compile(rf'^\s*(?:(?:"{name}"|\'{name}\'|{name})\s*[=.]|\[\s*agreement\s*\.\s*"?{name}"?\s*\])')
    for i in range(start, min(end, len(lines) + 1)):
        if pattern.match(lines[i - 1]):
            return i
    return start


def _decode_toml(data: bytes, out: Problems) -> str | None:
    if data.startswith(BOM):
        out.add(AGREEMENTS, 1, "-", "the file starts with a byte order mark (BOM); save it as UTF-8 without BOM")
        data = data[len(BOM):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        begin = data.rfind(b"\n", 0, e.start) + 1
        out.add(AGREEMENTS, line, "-", _not_utf8(data[begin:e.start + 1], e.start - begin))
        return None


def _deep_line(lines: list[str]) -> int:
    """The line where brackets first nest deeper than MAX_TOML_DEPTH (strings not considered)."""
    depth = 0
    for i, text in enumerate(lines, 1):
        for ch in text:
            depth += ch in "[{"
            depth -= ch in "]}"
            if depth > MAX_TOML_DEPTH:
                return i
    return 1


_TOML_TOKEN = re.compile(r'"""|\'\'\'|"|\'|#|\\.|\.|\n|[0-9_]{%d,}' % (MAX_TOML_DIGITS + 1))


def _toml_bounds(text: str) -> tuple[int, str] | None:
    """(line, problem) when `text` has a line whose dotted keys or numbers are beyond what the parser
    can take in well under a second, else None; checked before parsing. A scan over the tokens that
    matter (quotes, comments, escapes, dots, newlines, long digit runs): strings and comments are
    skipped, so a dot or digit inside them does not count."""
    line, dots, quote = 1, 0, None
    comment = False
    for m in _TOML_TOKEN.finditer(text):
        tok = m.group()
        if tok == "\n":
            line, dots, comment = line + 1, 0, False
            if quote in ('"', "'"):
                quote = None  # a one-line string does not span lines (the parser reports it)
            continue
        if comment:
            continue
        if quote is not None:
            # in a basic string a backslash escapes (the token holds both); in a literal one it does not
            if tok == quote or (quote == "'" and tok == "\\'"):
                quote = None
            continue
        if tok in ('"""', "'''", '"', "'"):
            quote = tok
        elif tok == "#":
            comment = True
        elif tok == ".":
            dots += 1
            if dots > MAX_TOML_DOTS:
                return line, (f"invalid TOML: more than {MAX_TOML_DOTS} dots on one line (a dotted key "
                              f"nested too deeply)")
        elif tok[0] in "0123456789_":
            return line, f"invalid TOML: a number of more than {MAX_TOML_DIGITS} digits"
    return None


def _character(ch: str) -> str:
    """What kind of forbidden character `ch` (a match of _CONTROL) is, in a message."""
    code = ord(ch)
    if code < 0x20 or 0x7f <= code <= 0x9f:
        return "control character"
    if code in (0x2028, 0x2029):
        return "line separator" if code == 0x2028 else "paragraph separator"
    if 0xfdd0 <= code <= 0xfdef or code & 0xfffe == 0xfffe:
        return "non-character"
    return "bidirectional control"


def _bad_string(value: Any) -> str | None:
    """A problem with a string anywhere in a TOML value: a character that a CSV cell may not hold
    (_CONTROL), or a line break or tab; else None."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if m := _CONTROL.search(v) or _BREAK.search(v):
                what = "line break or tab" if m.group() in "\t\n\r" else _character(m.group())
                return f"contains the {what} U+{ord(m.group()):04X} at character {m.start() + 1}; text is printable and one line"
            if len(v) > MAX_NAME:
                return f"holds a text of {len(v)} characters; at most {MAX_NAME} are accepted"
        elif isinstance(v, date) and not FIRST_DAY <= date(v.year, v.month, v.day) <= LAST_DAY:  # a datetime too
            return f"{v} lies outside the dates accepted, {FIRST_DAY} to {LAST_DAY}"
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return None


def _depth(value: Any) -> int:
    """How deeply arrays and tables nest in a TOML value (iteratively: no recursion to exhaust)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list)):
            deepest = max(deepest, d + 1)
            stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def _not_finite(value: Any) -> str | None:
    """'nan' or 'inf' when a TOML value holds such a float anywhere inside, else None."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, float) and not math.isfinite(v):
            return "nan" if math.isnan(v) else "inf"
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return None


def _parse_agreements(text: str, ds: Dataset | None, out: Problems) -> list[Agreement]:
    """Parse and check agreements; with `ds` None only the file's structure, ids and kinds (the
    dataset is too broken to check references against)."""
    lines = text.split("\n")  # TOML counts lines by LF only (splitlines would also split at U+2028, ...)
    if lines and lines[-1] == "":
        lines.pop()
    bounded = _toml_bounds(text)
    if bounded is not None:
        out.add(AGREEMENTS, bounded[0], "-", bounded[1])
        return []
    try:
        doc = tomllib.loads(text)
    except RecursionError:
        out.add(AGREEMENTS, _deep_line(lines), "-", f"invalid TOML: arrays or tables are nested too deeply "
                                                   f"(more than {MAX_TOML_DEPTH} levels)")
        return []
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = _TOML_POS.search(msg)
        base = _TOML_POS.sub("", msg) if m else msg
        base = base[:1].lower() + base[1:]
        if m and m.group(1):
            out.add(AGREEMENTS, int(m.group(1)), "-", f"invalid TOML: {base} (column {m.group(2)})")
        else:
            out.add(AGREEMENTS, max(len(lines), 1), "-", f"invalid TOML: {base} at the end of the file")
        return []
    if _depth(doc) > MAX_TOML_DEPTH:  # nothing below may recurse into (repr, comparisons) such values
        out.add(AGREEMENTS, _deep_line(lines), "-", f"invalid TOML: arrays or tables are nested too deeply "
                                                   f"(more than {MAX_TOML_DEPTH} levels)")
        return []
    for key in sorted(set(doc) - {"agreement"}):
        out.add(AGREEMENTS, _field_line(lines, 1, len(lines) + 1, key), key,
                f"unknown top-level key {show(key)}; every agreement is an [[agreement]] table")
    raws = doc.get("agreement", [])
    if not isinstance(raws, list):
        out.add(AGREEMENTS, _field_line(lines, 1, len(lines) + 1, "agreement"), "-",
                "agreements must be [[agreement]] tables (an array of tables), not a single table or value")
        return []
    headers = _block_lines(lines)
    if len(headers) != len(raws):  # written as an inline array: no header lines to point at
        headers = [_field_line(lines, 1, len(lines) + 1, "agreement")] * len(raws)
    bounds = list(zip(headers, headers[1:] + [len(lines) + 1]))

    result: list[Agreement] = []
    first_id: dict[str, int] = {}
    for (start, end), raw in zip(bounds, raws):
        reported = []

        def problem(field: str, message: str, start: int = start, end: int = end, reported: list = reported) -> None:
            reported.append(field)
            line = _field_line(lines, start, end, field) if field not in ("-", "") else start
            if field and field != "-" and not _COLUMN.fullmatch(field):
                message = f"{show(field)} {message}"  # not a plain name: the column reads '-'
            out.add(AGREEMENTS, line, field or "-", message)

        if not isinstance(raw, dict):
            problem("-", "every agreement must be a table")
            continue
        aid, kind = raw.get("id"), raw.get("kind")
        ok = True
        if not isinstance(aid, str) or not aid.strip():
            problem("id", "is required: a non-empty string" if aid is None else
                    f"must be a non-empty string, not {show(aid) if _NINE_DIGITS.search(str(aid)) else repr(aid)}")
            ok = False
        elif len(aid) > MAX_ID:
            problem("id", f"is {len(aid)} characters long; an agreement id has at most {MAX_ID}")
            ok = False
        elif len(aid) == 9 and (bsn_problem := _bsn_problem(
                "agreement id", aid, {} if ds is None else {c.bsn: (None, c.client) for c in ds.clients.values()}
        )) is not None:
            problem("id", bsn_problem)
            ok = False
        elif aid in first_id:
            problem("id", f"duplicate agreement id {show(aid)} (first on line {first_id[aid]})")
            ok = False
        else:
            first_id[aid] = start
        if kind is None:
            problem("kind", f"is required: one of {', '.join(sorted(KINDS))}")
            continue
        if not isinstance(kind, str) or kind not in KINDS:
            problem("kind", f"unknown kind {show(kind)}; known kinds: {', '.join(sorted(KINDS))}")
            continue
        if ds is None:
            continue
        garbled = [(f, bad) for f in sorted(raw) if f not in reported and (bad := _bad_string(raw[f])) is not None]
        for field, message in garbled:
            problem(field, message)
        if garbled:
            continue
        odd = [(f, bad) for f in sorted(raw) if (bad := _not_finite(raw[f])) is not None]
        for field, value in odd:
            problem(field, f"must be a finite number, not {value}")
        if odd:
            continue
        try:
            agreement = KINDS[kind].parse(raw if ok else {**raw, "id": ""}, ds, problem)
        except Exception as e:  # a malformed value the kind did not foresee
            problem("-", f"the agreement cannot be read: {e.__class__.__name__}: {e}")
            continue
        if agreement is None and not reported:
            problem("-", "the agreement is not valid")
        if agreement is not None and ok and not reported:
            result.append(agreement)
    return sorted(result, key=lambda a: a.id)


def parse_agreements_text(text: str, ds: Dataset) -> list[Agreement]:
    """The agreements of an `agreements.toml` text, validated against `ds` (raises LoadError)."""
    out = Problems()
    agreements = _parse_agreements(text, ds, out)
    if out:
        raise LoadError(out.formatted())
    return agreements


# Canonical form and hashes ----------------------------------------------------------------------

#: The Dataset attributes of the input tables, as declared (INPUTS).
TABLES = tuple(i.attr for i in INPUTS)


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


def canonical_tables(ds: Dataset, agreements: Iterable[Agreement | dict[str, Any]] | None = None,
                     inputs: Iterable[InputFile] | None = None) -> dict[str, Any]:
    """{'input': {table: sorted records}, 'agreements': [canonical agreements sorted by id]}: what
    a snapshot's identity (`input_hash`, `agreements_hash`) is the hash of.

    The canonical form is versioned per table and per field (InputFile.since, .later), so that the
    exchange format can grow without changing the hash of any snapshot that does not use what was
    added. Version 1, frozen: every table of version 1, empty or not, as the list of its records,
    a record being the list of the values of its declared `record` fields (dates ISO, cents as
    ints, booleans, None). Added later:
      - a table enters only when it holds records: data without it hash as before;
      - a field enters a record only when its value is not None, as one trailing object
        {field: value, ...} of the later fields the record has; a record without any is the list
        of version 1, so data that do not use the field hash as before.
    A table's records are sorted by their JSON text, so row order, column order and quoting in the
    files do not matter. Built from Dataset fields only: a Dataset read back from the database
    gives the same result. `agreements`: Agreement objects or their canonical dicts (default:
    `ds.agreements`). `inputs`: the declarations (default: INPUTS).
    """
    tables: dict[str, list[Any]] = {}
    for spec in INPUTS if inputs is None else inputs:
        value = getattr(ds, spec.attr, None) or ()
        records = list(value.values() if isinstance(value, dict) else value)
        if spec.since > 1 and not records:
            continue
        rows = []
        for r in records:
            row = [_plain(getattr(r, n)) for n in spec.record]
            extra = {n: _plain(v) for n, _ in spec.later if (v := getattr(r, n)) is not None}
            rows.append(row + [extra] if extra else row)
        tables[spec.attr] = sorted(rows, key=_dumps)
    if agreements is None:
        agreements = ds.agreements
    canon = [a.canonical() if isinstance(a, Agreement) else a for a in agreements]
    canon.sort(key=lambda a: str(a.get("id")))
    return {"input": tables, "agreements": canon}


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def hash_of(obj: Any) -> str:
    """'sha256:' + hex digest of the canonical JSON of `obj`."""
    return "sha256:" + hashlib.sha256(_dumps(obj).encode("utf-8")).hexdigest()


def dataset_hashes(ds: Dataset, agreements: Iterable[Agreement | dict[str, Any]] | None = None) -> tuple[str, str]:
    """(input_hash, agreements_hash) of a dataset and its agreements: `hash_of` the two parts of
    `canonical_tables` (the versioned canonical form of the declared INPUTS), the input computed
    without building them (`_input_hash`)."""
    return _input_hash(ds), _agreements_hash(ds, agreements)


def _agreements_hash(ds: Dataset, agreements: Iterable[Agreement | dict[str, Any]] | None) -> str:
    if agreements is None:
        agreements = ds.agreements
    canon = [a.canonical() if isinstance(a, Agreement) else a for a in agreements]
    canon.sort(key=lambda a: str(a.get("id")))  # as canonical_tables
    return hash_of(canon)


class _IsoDates(dict):
    """date -> its ISO text, filled as asked: the `default` of the record encoder. A date seen
    before costs a dictionary look-up in C (a dataset holds a few thousand dates, a million times);
    anything else that JSON cannot encode is refused as json.dumps refuses it."""

    def __missing__(self, value: Any) -> str:
        if isinstance(value, date):  # what `_plain` turns into text (a datetime too, with its time)
            self[value] = text = value.isoformat()
            return text
        raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def _record_texts(records: Iterable[tuple[Any, ...]]) -> Iterator[str]:
    """The JSON text of each record's values, exactly as `_dumps` of its `_plain` list: dates become
    their ISO text through the encoder's `default`, everything else is encoded in C. One C encoder
    for all (json.dumps makes one per call, half its cost) and no Python call per record."""
    dates = _IsoDates()
    try:
        from json.encoder import c_make_encoder, encode_basestring_ascii
        if c_make_encoder is None:  # pragma: no cover - an interpreter without the _json accelerator
            raise ImportError
    except ImportError:  # pragma: no cover
        return map(json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=dates.__getitem__).encode,
                   records)
    # the arguments JSONEncoder.iterencode gives it for the settings of _dumps (markers None: records
    # hold scalars only, nothing can be circular); it returns the text in a list of one or more parts
    chunks = c_make_encoder(None, dates.__getitem__, encode_basestring_ascii, None, ":", ",", True, False, True)
    return map("".join, map(chunks, records, repeat(0)))


def _later_values(record: tuple[str, ...], later: tuple[tuple[str, int], ...]) -> Callable[[Any], tuple[Any, ...]]:
    """record -> its canonical values (see canonical_tables): those of `record`, then, when any
    later field is not None, the object of those that are not."""
    values = attrgetter(*record) if len(record) > 1 else (lambda r, c=record[0]: (getattr(r, c),))
    names = [n for n, _ in later]

    def canonical(r: Any) -> tuple[Any, ...]:
        extra = {n: v for n in names if (v := getattr(r, n)) is not None}
        return (*values(r), extra) if extra else values(r)
    return canonical


def _input_hash(ds: Dataset, after_table: Callable[[int], None] | None = None,
                inputs: Iterable[InputFile] | None = None) -> str:
    """`hash_of(canonical_tables(ds)["input"])`, streamed: each record is encoded once (its text is
    its sort key and its part of the document), and the document `_dumps` would write, `{"table":
    [record,...],...}` with the tables in key order, is fed to the hash table by table.
    `after_table(n)`: called after the n-th table."""
    specs = sorted(INPUTS if inputs is None else inputs, key=attrgetter("attr"))  # as json.dumps(sort_keys=True)
    digest = hashlib.sha256()
    digest.update(b"{")
    first = True
    for i, spec in enumerate(specs):
        value = getattr(ds, spec.attr, None) or ()
        records = list(value.values() if isinstance(value, dict) else value)
        if records or spec.since == 1:  # a table added after version 1 only when it has records
            texts: list[str] = []
            if records:
                values = (_later_values(spec.record, spec.later) if spec.later else attrgetter(*spec.record)
                          if len(spec.record) > 1 else (lambda r, c=spec.record[0]: (getattr(r, c),)))
                texts = sorted(_record_texts(map(values, records)))
            digest.update(f"{'' if first else ','}{_dumps(spec.attr)}:[".encode())
            digest.update(",".join(texts).encode())
            digest.update(b"]")
            first = False
        if after_table is not None:
            after_table(i + 1)
    digest.update(b"}")
    return "sha256:" + digest.hexdigest()


# The directory ----------------------------------------------------------------------------------

def _not_plain_file(file: Path) -> str | None:
    """Why `file` of a dataset cannot be read as one of its files (a symbolic link, even a dangling
    one, or anything but a regular file), or None when it is a regular file or absent. A link
    could make the loader read (and a refusal quote) a file outside the dataset: /etc/passwd, or
    /proc/self/environ with the BSN key in it."""
    try:
        mode = file.lstat().st_mode
    except FileNotFoundError:
        return None
    except OSError as e:
        return f"cannot be read: {e.strerror or e}"
    if stat.S_ISLNK(mode):
        return "is a symbolic link; a dataset holds its files themselves (copy the file into the folder)"
    if not stat.S_ISREG(mode):
        what = "a directory" if stat.S_ISDIR(mode) else "a named pipe" if stat.S_ISFIFO(mode) else \
            "a device or socket"
        return f"is not a regular file but {what}"
    return None


def load_dir(path: Path | str, progress: Progress | None = None) -> tuple[Dataset, list[Agreement]]:
    """Read and validate a dataset directory; raise LoadError listing every problem. `progress`:
    see `Progress` (phases READING and VALIDATING). Each CSV file may be plain or as Dutch Excel
    saves it (INTERFACE.md §1, v2), with the same facts: `dialects_of(ds)` names the files that
    were not plain."""
    path = Path(path)
    if not path.is_dir():
        raise LoadError([f"{path}:0: -: is not a directory"])
    out = Problems()

    inputs = INPUTS
    known_names = {i.file for i in inputs} | {AGREEMENTS}
    try:
        entries = sorted(path.iterdir())
    except OSError as e:
        raise LoadError([f"{show(str(path))}:0: -: cannot be read: {e.strerror or e}"]) from None
    for p in entries:
        if p.name not in known_names and p.suffix.lower() in (".csv", ".toml"):
            close = difflib.get_close_matches(p.name.lower(), sorted(known_names), n=1, cutoff=0.8)
            if close and not (path / close[0]).exists():
                out.add(show(p.name), 0, "-", f"is not a file of the exchange format; did you mean {close[0]}?")

    total = _csv_bytes(path, inputs) if progress is not None else 0
    read = 0  # bytes of the files before this one

    def position(at: int) -> None:
        progress(READING, min(read + at, total), total)  # type: ignore[misc]

    tables: dict[str, _Table] = {}
    dialects: dict[str, str] = {}
    for spec in inputs:
        name, columns, optional, parse, key = spec.file, spec.columns, spec.optional_columns, spec.parser, spec.key
        file = path / name
        table = _Table([], set(), False)
        tables[name] = table
        if (odd := _not_plain_file(file)) is not None:
            out.add(name, 0, "-", odd)
            continue
        if not file.is_file():
            if spec.required:
                out.add(name, 0, "-", "the file is missing")
            else:
                table.complete = True  # absent optional file: an empty table
            continue
        state: dict[str, bool] = {}
        dialect: dict[str, Any] = {}
        bad_key = False  # a key cell itself was malformed: what it was meant to be is unknown
        # a fast path knows the columns of its file when it was written: none added since
        fast = _fast_parser(spec)
        try:
            for line, cells, plain in _read_csv(file, name, columns, out, state, position if progress else None,
                                                dialect, optional):
                if key is not None:
                    table.known.add(cells[key])
                record = fast(cells, line) if plain and fast is not None else None
                if record is None:  # not the common case: the parser checks every cell and says what is wrong
                    row = Row(name, line, cells, out, plain, "separator" in dialect)
                    record = parse(row)
                    bad_key = bad_key or key in row.bad_columns
                if record is not None:
                    table.rows.append((line, record))
        except OSError as e:
            out.add(name, 0, "-", f"cannot be read: {e.strerror or e}")
        # references to this file are checked only when every one of its keys is known
        table.complete = state.get("complete", False) and not bad_key
        if dialect:
            dialects[name] = _describe(spec, dialect)
        if progress is not None:
            read = min(read + _size(file), total)
            progress(READING, read, total)
    if progress is not None and read < total:  # a file changed while it was read
        progress(READING, total, total)

    steps = 3 + len(inputs)  # the cross-checks, the dataset, the agreements, then the hash of each table

    def step(done: int) -> None:
        if progress is not None:
            progress(VALIDATING, done, steps)

    step(0)
    _cross_check(tables, out)
    step(1)

    ds = Dataset(**{spec.attr: [r for _, r in tables[spec.file].rows] if spec.key is None else
                    {getattr(r, spec.key): r for _, r in tables[spec.file].rows} for spec in inputs})
    step(2)

    agreements: list[Agreement] = []
    toml_path = path / AGREEMENTS
    if (odd := _not_plain_file(toml_path)) is not None:
        out.add(AGREEMENTS, 0, "-", odd)
    elif not toml_path.is_file():
        out.add(AGREEMENTS, 0, "-", "the file is missing (an empty file means no agreements)")
    elif toml_path.stat().st_size > MAX_TOML_BYTES:
        out.add(AGREEMENTS, 0, "-", f"the file is larger than {MAX_TOML_BYTES >> 10} KB (a region's agreements take a few KB)")
    else:
        try:
            text = _decode_toml(toml_path.read_bytes(), out)
        except OSError as e:
            out.add(AGREEMENTS, 0, "-", f"cannot be read: {e.strerror or e}")
            text = None
        if text is not None:
            # agreements refer to municipalities, regions, memberships and products: when those
            # files have problems, check the agreements' structure only (no cascade of problems)
            broken = any(out.count[i.file] for i in inputs if i.frame)
            agreements = _parse_agreements(text, None if broken else ds, out)

    if out:
        raise LoadError(out.formatted())
    step(3)
    ds.agreements = [a.canonical() for a in agreements]
    ds.input_hash = _input_hash(ds, lambda n: step(3 + n), inputs)
    ds.agreements_hash = _agreements_hash(ds, agreements)
    ds.dialects = dialects  # type: ignore[attr-defined]  # how the files were read: no fact, not in the hash
    return ds, agreements


def dialects_of(ds: Dataset) -> dict[str, str]:
    """{file: how it was read} for each CSV file of the dataset that `load_dir` read in a dialect
    of Dutch Excel (INTERFACE.md §1, v2), such as 'Excel CSV (semicolons, decimal commas,
    Windows-1252)'; empty when every file was plain CSV (or the dataset did not come from load_dir)."""
    return dict(getattr(ds, "dialects", {}))


def _describe(spec: InputFile, dialect: dict[str, Any]) -> str:
    parts = []
    if dialect.get("separator") == ";":
        parts.append("semicolons, decimal commas" if spec.amounts else "semicolons")
    if dialect.get("encoding") == "cp1252":
        parts.append("Windows-1252")
    elif dialect.get("bom"):
        parts.append("UTF-8 with byte order mark")
    return f"Excel CSV ({', '.join(parts)})"


def _size(file: Path) -> int:
    try:
        return file.stat().st_size if file.is_file() else 0
    except OSError:
        return 0


def _csv_bytes(path: Path, inputs: Iterable[InputFile]) -> int:
    """The bytes of the dataset's CSV files: what READING counts to."""
    return sum(_size(path / i.file) for i in inputs)
