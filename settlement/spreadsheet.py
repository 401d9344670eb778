"""Spreadsheets for reconciliation: the export of a month (`settle export --format xlsx|csv`) and
a statement's specification (the xlsx each statement PDF carries), as four sheets.

- `lines` (Regels): every line, with its product's Iv3 taakveld, the basis and the flags as codes
  and in Dutch words, the payer's and creditor's names, and the invoice that bills it;
- `pools` (Pools): one row per municipality's share in a pool, with the pool's costs, budget part
  and result and the invoice that bills the share;
- `invoices` (Facturen): each invoice and credit note, number and kind;
- `totals` (Totalen): what each municipality pays and receives, and the balance.

Every sheet starts with the month and the run (id, kind in words), so that the final run and its
finalised corrections (differences) can stand in one sheet, as in a statement's specification.

The sheets are made from export documents (`settlement.export.build`, one per run), so a sheet's
figures are the export's: amounts in integer cents, parsed from its exact two-decimal strings.
Only `to_xlsx` turns cents into euros, at the file's boundary and without a float: the cell gets
Decimal(cents) scaled by 10^-2, which XlsxWriter writes as its exact decimal text (`84197.04`;
a float would be written `84197.03999999999`); a reader reads it as the double nearest to the
amount, as it would read a number typed into Excel.

Two renders of the same book give the same bytes: XlsxWriter's in-memory mode stamps every member
of the zip with 1980-01-01, and the workbook's creation date is the book's (`created`: from the
run, never the clock).

The CSV files are the Dutch Excel dialect: UTF-8 with a byte order mark, semicolons, CRLF, amounts
with a decimal comma and no thousands separator (`1234,56`), days as whole numbers. Excel opening
a CSV reads a cell that looks like a number as a number whether or not it is quoted ("0193"
becomes 193; quotes only delimit a cell), so a text cell that Excel would read as a number or
date (a municipality code 0193, a taakveld 6.71, an invoice number 0193-2024-00001) is written as
the formula `="0193"`, which Excel and LibreOffice show as the text 0193 and write back as 0193.
A text cell that starts with = + - @ and is not such a number is prefixed with an apostrophe, so
that no name in a dataset becomes a formula. Who reads the figures with a program reads the JSON
export (or the xlsx, whose text cells are text).
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable

from . import nl
from .money import format_cents, parse_euros

TEXT, INT, MONEY = "text", "int", "money"


@dataclass(frozen=True)
class Sheet:
    key: str  # lines, pools, invoices, totals (nl.SHEETS)
    columns: tuple[tuple[str, str], ...]  # (column key: nl.COLUMNS, kind: TEXT, INT or MONEY)
    rows: tuple[tuple[Any, ...], ...]  # a cell: str (TEXT), int (INT; MONEY in cents) or None (empty)


@dataclass(frozen=True)
class Book:
    title: str
    author: str
    created: datetime  # the workbook's creation date: from the run, never the clock
    sheets: tuple[Sheet, ...]


@dataclass(frozen=True)
class Context:
    """What the sheets show beside the export's codes."""
    names: dict[str, str] = field(default_factory=dict)  # municipality code -> name
    products: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # product -> (name, taakveld)
    agreements: dict[str, str] = field(default_factory=dict)  # agreement id -> its name, where it has one


@dataclass(frozen=True)
class Part:
    """One run's export document with the run it is of."""
    doc: dict[str, Any]
    run: int
    kind: str  # draft, final, correction
    final: bool


_RUN = (("month", TEXT), ("run", INT), ("run_kind", TEXT))
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "lines": _RUN + (
        ("placement", TEXT), ("client", TEXT), ("product", TEXT), ("product_name", TEXT), ("taakveld", TEXT),
        ("taakveld_name", TEXT), ("region", TEXT), ("days", INT), ("amount", MONEY), ("status", TEXT),
        ("status_nl", TEXT), ("basis", TEXT), ("basis_nl", TEXT), ("payer", TEXT), ("payer_name", TEXT),
        ("pool", TEXT), ("creditor", TEXT), ("creditor_name", TEXT), ("flags", TEXT), ("flags_nl", TEXT),
        ("invoice", TEXT), ("invoice_kind", TEXT), ("invoice_kind_nl", TEXT)),
    "pools": _RUN + (
        ("agreement", TEXT), ("agreement_name", TEXT), ("taakveld", TEXT), ("taakveld_name", TEXT),
        ("creditor", TEXT), ("creditor_name", TEXT), ("costs", MONEY), ("budget", MONEY), ("total", MONEY),
        ("municipality", TEXT), ("municipality_name", TEXT), ("share", MONEY),
        ("invoice", TEXT), ("invoice_kind", TEXT), ("invoice_kind_nl", TEXT)),
    "invoices": _RUN + (
        ("invoice", TEXT), ("invoice_kind", TEXT), ("invoice_kind_nl", TEXT), ("corrects", TEXT),
        ("creditor", TEXT), ("creditor_name", TEXT), ("debtor", TEXT), ("debtor_name", TEXT), ("amount", MONEY)),
    "totals": _RUN + (
        ("municipality", TEXT), ("municipality_name", TEXT), ("payable", MONEY), ("receivable", MONEY),
        ("net", MONEY)),
}
SHEET_KEYS = tuple(COLUMNS)


def _cents(value: str | None) -> int | None:
    return None if value is None else parse_euros(value)


def _rows(part: Part, ctx: Context) -> dict[str, list[tuple[tuple[str, ...], tuple[Any, ...]]]]:
    """The rows of one run per sheet, each with the municipalities whose specification holds it:
    a line its payer's (a pooled line, which no municipality pays by itself, its creditor's: the
    centrumgemeente that contracted the placement and bears the pool's costs); a pool share the
    share's municipality's and the pool's creditor's; an invoice its creditor's and debtor's; a
    total its municipality's. No line goes to a municipality that is neither responsible for the
    client nor the contractor of a pooled placement."""
    doc, names = part.doc, ctx.names
    head = (doc["month"], part.run, nl.run_kind_nl(part.kind, part.final))
    invoices = {(i["creditor"], i["debtor"]): (i.get("number"), i.get("kind")) for i in doc["invoices"]}

    def billed(creditor: str, debtor: str | None) -> tuple[str | None, str | None, str | None]:
        number, kind = invoices.get((creditor, debtor), (None, None)) if debtor != creditor else (None, None)
        return number, kind, nl.invoice_title(kind) if kind else None

    def product(code: str) -> tuple[str, str | None]:
        return ctx.products.get(code, (code, None))

    out: dict[str, list[tuple[tuple[str, ...], tuple[Any, ...]]]] = {k: [] for k in SHEET_KEYS}
    pool_taakvelden: dict[str, set[str]] = defaultdict(set)
    for l in doc["lines"]:
        name, taakveld = product(l["product"])
        if l["pool"] is not None and taakveld:
            pool_taakvelden[l["pool"]].add(taakveld)
        payer, creditor = l["payer"], l["creditor"]
        out["lines"].append(((payer or creditor,), head + (
            l["placement"], l["client"], l["product"], name, taakveld, nl.taakveld_nl(taakveld), l["region"],
            l["days"], parse_euros(l["amount"]), l["status"], nl.status_nl(l["status"]), l["basis"],
            nl.basis_label(l["basis"]), payer, names.get(payer) if payer else None, l["pool"], creditor,
            names.get(creditor), " ".join(l["flags"]) or None,
            ", ".join(nl.flag_name(f) for f in l["flags"]) or None,
            *(billed(creditor, payer) if payer else (None, None, None)))))
    for p in doc["pools"]:
        taakveld = ", ".join(sorted(pool_taakvelden.get(p["agreement"], ()))) or None
        for code, share in p["shares"].items():
            out["pools"].append(((code, p["creditor"]), head + (
                p["agreement"], ctx.agreements.get(p["agreement"]), taakveld,
                nl.taakveld_nl(taakveld), p["creditor"], names.get(p["creditor"]), _cents(p.get("costs")),
                _cents(p.get("budget")), parse_euros(p["total"]), code, names.get(code), parse_euros(share),
                *billed(p["creditor"], code))))
    for i in doc["invoices"]:
        kind = i.get("kind")
        out["invoices"].append(((i["creditor"], i["debtor"]), head + (
            i.get("number"), kind, nl.invoice_title(kind) if kind else None, i.get("corrects"), i["creditor"],
            names.get(i["creditor"]), i["debtor"], names.get(i["debtor"]), parse_euros(i["amount"]))))
    for code, t in doc["totals"].items():
        payable, receivable = parse_euros(t["payable"]), parse_euros(t["receivable"])
        out["totals"].append(((code,), head + (code, names.get(code), payable, receivable, receivable - payable)))
    return out


def sheets(parts: Iterable[Part], ctx: Context) -> tuple[Sheet, ...]:
    """The four sheets of every row of the runs, in the runs' order."""
    rows: dict[str, list[tuple[Any, ...]]] = {k: [] for k in SHEET_KEYS}
    for part in parts:
        for key, owned in _rows(part, ctx).items():
            rows[key].extend(row for _, row in owned)
    return tuple(Sheet(k, COLUMNS[k], tuple(rows[k])) for k in SHEET_KEYS)


def specifications(parts: Iterable[Part], ctx: Context, codes: Iterable[str]) -> dict[str, tuple[Sheet, ...]]:
    """Per municipality of `codes`, the four sheets of its own rows only (see `_rows`)."""
    wanted = set(codes)
    rows: dict[str, dict[str, list[tuple[Any, ...]]]] = {c: {k: [] for k in SHEET_KEYS} for c in wanted}
    for part in parts:
        for key, owned in _rows(part, ctx).items():
            for owners, row in owned:
                for code in dict.fromkeys(owners):
                    if code in wanted:
                        rows[code][key].append(row)
    return {c: tuple(Sheet(k, COLUMNS[k], tuple(rows[c][k])) for k in SHEET_KEYS) for c in sorted(wanted)}


# ---------------------------------------------------------------------------------------------
# xlsx

def euros(cents: int) -> Decimal:
    """The number an xlsx cell holds for an amount: cents / 100, exactly."""
    return Decimal(cents).scaleb(-2)


MONEY_FORMAT = "#,##0.00"
_WIDTH = 50  # the widest column, in characters


def _width(header: str, kind: str, values: Iterable[Any]) -> int:
    if kind == MONEY:
        longest = max((len(nl.euro(v)) for v in values if v is not None), default=0)
    else:
        longest = max((len(str(v)) for v in values if v is not None), default=0)
    return min(_WIDTH, max(len(header), longest) + 2)


def to_xlsx(book: Book) -> bytes:
    """The book as xlsx bytes (XlsxWriter), the same bytes for the same book."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                   "strings_to_urls": False})
    wb.set_properties({"title": book.title, "author": book.author, "created": book.created})
    head = wb.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"})
    money = wb.add_format({"num_format": MONEY_FORMAT})
    text = wb.add_format({"num_format": "@"})
    for sheet in book.sheets:
        ws = wb.add_worksheet(nl.SHEETS[sheet.key][0])
        for c, (key, kind) in enumerate(sheet.columns):
            header = nl.COLUMNS[key]
            ws.write_string(0, c, header, head)
            ws.set_column(c, c, _width(header, kind, (row[c] for row in sheet.rows)))
        for r, row in enumerate(sheet.rows, start=1):
            for c, ((_, kind), value) in enumerate(zip(sheet.columns, row)):
                if value is None:
                    continue
                if kind == MONEY:
                    ws.write_number(r, c, euros(value), money)
                elif kind == INT:
                    ws.write_number(r, c, value)
                else:
                    ws.write_string(r, c, value, text)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(sheet.rows), 1), len(sheet.columns) - 1)
    wb.close()
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# CSV, the Dutch Excel dialect

# a text Excel would read as a number or a date (0193, 6.71, 0193-2024-00001, 1E5)
_NUMBER_LIKE = re.compile(r"[-+]?[0-9][0-9.,:/ eE+-]*")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == MONEY:
        return format_cents(value).replace(".", ",")
    if kind == INT:
        return str(value)
    if _NUMBER_LIKE.fullmatch(value):
        return f'="{value}"'
    if value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(sheet: Sheet) -> bytes:
    """One sheet as a CSV file of the Dutch Excel dialect (see the module's docstring)."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow([nl.COLUMNS[key] for key, _ in sheet.columns])
    for row in sheet.rows:
        w.writerow([csv_cell(kind, value) for (_, kind), value in zip(sheet.columns, row)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def csv_name(stem: str, sheet: Sheet) -> str:
    """'export-2024-03' -> 'export-2024-03-regels.csv'."""
    return f"{stem}-{nl.SHEETS[sheet.key][1]}.csv"
