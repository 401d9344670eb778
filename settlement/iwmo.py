"""iWmo declarations in: WMO323 (declaratie, message code 484) and WMO325 (declaratie-antwoord, 485)
of iWmo release 3.2 turned into `declarations.csv` (INTERFACE.md §1), `settle import-iwmo`.

Three parts, the first two pure (bytes and facts in, records out):

- `parse` reads one message with the standard library's expat parser, refusing a DOCTYPE and any
  entity declaration (nothing is expanded or fetched, as defusedxml would have it), and checks the
  structure the importer relies on against the iWmo 3.2 message definitions (BerichtCode,
  BerichtVersie 3, BerichtSubversie 2, the elements and the data types of the basisschema it reads);
  a message that breaks them is a `MessageError` naming its line.
- `convert` matches each prestatie to a placement (by its toewijzing number, else by BSN, iWmo
  product code and period; never guessed), applies the WMO325 answers (a prestatie an answer lists
  is rejected, IV087/OP303), checks credits against the prestaties they credit (IV091, OP360) and
  computes per placement and month the net of the prestaties not rejected: debits minus credits, the
  month being that of the product period (OP367), not of the declaration. A month whose prestaties
  were all credited is an explicit 0.00. What it takes is kept in a ledger of prestaties
  (`iwmo/prestaties.csv` in the dataset, no BSN in it), so that a later correction message, alone,
  is applied as the difference it is to the month it corrects.
- `import_files` and the ledger's reading and writing are the file I/O around them.

A BSN is checked (9 digits, the 11-proef) and never written into a message, the report or the ledger.
"""

from __future__ import annotations

import csv
import io
import os
import re
import xml.parsers.expat
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Iterable

from stdnum.nl import bsn as _bsn

from .facts import Dataset, Declaration, Placement
from .money import format_cents

NS_BASE = "http://www.istandaarden.nl/iwmo/3_2/basisschema/schema"
NS = {"WMO323": "http://www.istandaarden.nl/iwmo/3_2/wmo323/schema",
      "WMO325": "http://www.istandaarden.nl/iwmo/3_2/wmo325/schema"}
CODES = {"WMO323": "484", "WMO325": "485"}
MAX_BYTES = 50 << 20  # one message; iWmo itself limits a message to a few MB

UNITS = ("01", "04", "14", "16", "82", "83", "84")  # LDT_Eenheid (WJ756); 83: euro's
CATEGORIES = tuple(f"{n:02d}" for n in range(1, 19))  # LDT_ProductCategorie (WMO020)
ACCEPTED = {"0200", "8001"}  # WJ001: no remark on this class; the declaration fully granted

LEDGER = Path("iwmo") / "prestaties.csv"
LEDGER_COLUMNS = ("provider", "message", "declaration", "reference", "previous_reference", "placement", "month",
                  "amount", "status", "codes", "file")
DECLARED, ACCEPTED_STATUS, REJECTED = "declared", "accepted", "rejected"


class MessageError(Exception):
    """A message the importer cannot read: `line` (0: the file as a whole) and one sentence."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message


# -- the messages --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Prestatie:
    """One prestatie of a WMO323. `amount`: signed cents, a debit (D) positive, a credit (C) negative."""
    line: int
    client: int                 # the client's position in the message (1, 2, ...): what a report may name
    bsn: str = field(repr=False)
    reference: str
    previous: str | None        # VorigReferentieNummer: the prestatie a credit credits
    toewijzing: int
    category: str
    code: str
    start: date
    end: date
    volume: int
    unit: str
    tariff: int | None
    amount: int


@dataclass(frozen=True)
class Declaratie:
    """A WMO323: the provider's (AGB code) declaration to a municipality."""
    file: str
    provider: str
    municipality: str
    message: str                # BerichtIdentificatie/Identificatie: what its WMO325 answers
    number: str                 # DeclaratieNummer
    period: tuple[date, date]
    total: int                  # TotaalIngediendBedrag, signed
    total_line: int
    prestaties: tuple[Prestatie, ...]


@dataclass(frozen=True)
class Afwijzing:
    """A prestatie a WMO325 lists: rejected, with its return codes."""
    line: int
    reference: str
    codes: tuple[str, ...]


@dataclass(frozen=True)
class Antwoord:
    """A WMO325: the municipality's answer to one WMO323."""
    file: str
    municipality: str
    provider: str
    answers: str                # DeclaratieIdentificatie/Identificatie: the WMO323's BerichtIdentificatie
    number: str | None          # DeclaratieNummer; None when the answer has only a Header
    codes: tuple[str, ...]      # the Header's and the DeclaratieAntwoord's codes
    granted: int | None         # TotaalToegekendBedrag, signed
    rejected: tuple[Afwijzing, ...]

    @property
    def whole(self) -> bool:
        """The declaration as a whole was rejected (IV087: 0001 in the Header, or a rejection of the
        DeclaratieAntwoord such as 9333, or no DeclaratieAntwoord at all)."""
        return self.number is None or any(c not in ACCEPTED for c in self.codes)


@dataclass
class _Node:
    ns: str
    name: str
    line: int
    text: str = ""
    children: list["_Node"] = field(default_factory=list)

    def all(self, name: str) -> list["_Node"]:
        return [c for c in self.children if c.name == name]

    def one(self, name: str, optional: bool = False) -> "_Node | None":
        found = self.all(name)
        if len(found) > 1:
            raise MessageError(found[1].line, f"{self.name} has more than one {name}")
        if not found:
            if optional:
                return None
            raise MessageError(self.line, f"{self.name} has no {name}")
        return found[0]

    def get(self, name: str) -> "_Node":
        node = self.one(name)
        assert node is not None
        return node

    def value(self, name: str, pattern: str, what: str, optional: bool = False) -> str | None:
        node = self.one(name, optional)
        if node is None:
            return None
        text = node.text.strip()
        if not re.fullmatch(pattern, text):
            shown = text if len(text) <= 20 and not re.search(r"[0-9]{9}", text) else "(not shown)"
            raise MessageError(node.line, f"{name} {shown!r} is not {what}")
        return text


def _tree(data: bytes) -> _Node:
    """The element tree of a message, each element with its line; no DTD, no entities."""
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[_Node] = []
    root: list[_Node] = []

    def refuse(*_args: object) -> None:
        raise MessageError(parser.CurrentLineNumber, "has a DOCTYPE or an entity declaration, which an iWmo "
                                                     "message never has (refused: nothing is expanded)")

    def start(name: str, _attrs: dict) -> None:
        ns, _, local = name.rpartition(" ")
        node = _Node(ns, local, parser.CurrentLineNumber)
        (stack[-1].children if stack else root).append(node)
        stack.append(node)

    def end(_name: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].text += data

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as e:
        raise MessageError(e.lineno, f"is not well-formed XML: {xml.parsers.expat.ErrorString(e.code)}") from None
    return root[0]


_DIGITS = r"[0-9]+"


def _date(node: _Node, name: str) -> date:
    text = node.value(name, r"[0-9]{4}-[0-9]{2}-[0-9]{2}", "a date YYYY-MM-DD")
    try:
        return date.fromisoformat(text)  # type: ignore[arg-type]
    except ValueError:
        raise MessageError(node.get(name).line, f"{name} {text!r} is not a date") from None


def _period(node: _Node) -> tuple[date, date]:
    start, end = _date(node, "Begindatum"), _date(node, "Einddatum")
    if end < start:
        raise MessageError(node.line, f"{node.name}: Einddatum {end} lies before Begindatum {start}")
    return start, end


def _signed(node: _Node, amount: str, limit: int) -> int:
    value = int(node.value(amount, _DIGITS, "an amount in eurocents"))  # type: ignore[arg-type]
    if value > limit:
        raise MessageError(node.get(amount).line, f"{amount} {value} exceeds its maximum {limit}")
    dc = node.value("DebetCredit", "[CD]", "D or C (COD043)")
    return -value if dc == "C" else value


def _header(root: _Node, kind: str) -> _Node:
    header = root.get("Header")
    header.value("BerichtCode", CODES[kind], f"{CODES[kind]} ({kind})")
    header.value("BerichtVersie", "3", "3 (iWmo release 3.2)")
    header.value("BerichtSubversie", "2", "2 (iWmo release 3.2)")
    return header


def parse(data: bytes) -> Declaratie | Antwoord:
    """One WMO323 or WMO325 message (its bytes); the file name is set by the caller (`replace`)."""
    if len(data) > MAX_BYTES:
        raise MessageError(0, f"is larger than {MAX_BYTES >> 20} MB, more than an iWmo message can be")
    root = _tree(data)
    kind = next((k for k, ns in NS.items() if root.ns == ns), None)
    if root.name != "Bericht" or kind is None:
        raise MessageError(root.line, "is not an iWmo 3.2 WMO323 or WMO325 message (its root element is not "
                                      f"Bericht in the namespace {NS['WMO323']} or {NS['WMO325']})")
    for node in _walk(root):
        if node.ns not in (root.ns, NS_BASE):
            raise MessageError(node.line, f"element {node.name} is in a namespace of no iWmo 3.2 message")
    header = _header(root, kind)
    return _declaratie(root, header) if kind == "WMO323" else _antwoord(header, root)


def _walk(node: _Node) -> Iterable[_Node]:
    """Every element below `node`, iteratively: a hostile nesting depth cannot exhaust the stack."""
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        todo.extend(reversed(n.children))


def _declaratie(root: _Node, header: _Node) -> Declaratie:
    provider = header.value("Afzender", "[0-9]{8}", "an AGB code of 8 digits")
    municipality = header.value("Ontvanger", "[0-9]{4}", "a municipality code of 4 digits")
    message = header.get("BerichtIdentificatie").value("Identificatie", r".{0,11}\S.{0,11}", "a message identification")
    d = root.get("Declaratie")
    number = d.value("DeclaratieNummer", "[a-zA-Z0-9]{1,12}", "a declaration number (1 to 12 letters or digits)")
    period = _period(d.get("DeclaratiePeriode"))
    total_node = d.get("TotaalIngediendBedrag")
    total = _signed(total_node, "TotaalBedrag", 999_999_999_999)
    prestaties = []
    for n, client in enumerate(d.get("Clienten").all("Client"), 1):
        bsn = (client.get("Bsn").text or "").strip()
        found = client.get("Prestaties").all("Prestatie")
        if not found:
            raise MessageError(client.line, "Client has no Prestatie")
        for p in found:
            prestaties.append(_prestatie(p, n, bsn))
    if not prestaties:
        raise MessageError(d.line, "Declaratie has no Client")
    return Declaratie("", provider, municipality, message, number, period, total, total_node.line,  # type: ignore[arg-type]
                      tuple(prestaties))


def _prestatie(p: _Node, client: int, bsn: str) -> Prestatie:
    ref = p.get("ProductReferentie")
    reference = ref.value("ReferentieNummer", r".{0,19}\S.{0,19}", "a reference number (1 to 20 characters)")
    previous = ref.value("VorigReferentieNummer", r".{0,19}\S.{0,19}", "a reference number (1 to 20 characters)",
                         optional=True)
    toewijzing = int(p.value("ToewijzingNummer", "[0-9]{1,9}", "a toewijzing number (1 to 9 digits)"))  # type: ignore[arg-type]
    category = p.value("ProductCategorie", "|".join(CATEGORIES), "a product category 01 to 18 (WMO020)")
    code = p.value("ProductCode", r"\S{1,5}", "a product code (1 to 5 characters)")
    start, end = _period(p.get("ProductPeriode"))
    volume = int(p.value("GeleverdVolume", _DIGITS, "a volume (a whole number)"))  # type: ignore[arg-type]
    unit = p.value("Eenheid", "|".join(UNITS), "a unit of WJ756 (01, 04, 14, 16, 82, 83, 84)")
    tariff_text = p.value("ProductTarief", _DIGITS, "a tariff in eurocents", optional=True)
    amount = _signed(p.get("IngediendBedrag"), "Bedrag", 99_999_999)
    return Prestatie(p.line, client, bsn, reference, previous, toewijzing, category, code, start, end,  # type: ignore[arg-type]
                     volume, unit, int(tariff_text) if tariff_text is not None else None, amount)


def _antwoord(header: _Node, root: _Node) -> Antwoord:
    municipality = header.value("Afzender", "[0-9]{4}", "a municipality code of 4 digits")
    provider = header.value("Ontvanger", "[0-9]{8}", "an AGB code of 8 digits")
    answers = header.get("DeclaratieIdentificatie").value("Identificatie", r".{0,11}\S.{0,11}",
                                                          "a message identification")
    codes = _codes(header)
    answer = root.one("DeclaratieAntwoord", optional=True)
    if answer is None:
        return Antwoord("", municipality, provider, answers, None, codes, None, ())  # type: ignore[arg-type]
    number = answer.value("DeclaratieNummer", "[a-zA-Z0-9]{1,12}", "a declaration number (1 to 12 letters or digits)")
    granted = _signed(answer.get("TotaalToegekendBedrag"), "TotaalBedrag", 999_999_999_999)
    rejected = []
    clients = answer.one("Clienten", optional=True)
    for client in clients.all("Client") if clients is not None else ():
        for p in client.get("Prestaties").all("Prestatie"):
            reference = p.get("ProductReferentie").value("ReferentieNummer", r".{0,19}\S.{0,19}",
                                                         "a reference number (1 to 20 characters)")
            rejected.append(Afwijzing(p.line, reference, _codes(p)))  # type: ignore[arg-type]
    return Antwoord("", municipality, provider, answers, number, codes + _codes(answer), granted,  # type: ignore[arg-type]
                    tuple(rejected))


def _codes(node: _Node) -> tuple[str, ...]:
    codes = node.get("RetourCodes").all("RetourCode")
    if not codes:
        raise MessageError(node.line, f"{node.name}'s RetourCodes has no RetourCode")
    return tuple(c.text.strip() for c in codes)


# -- the conversion ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    """A prestatie taken: a line of the ledger (no BSN). `amount`: signed cents."""
    provider: str
    message: str
    declaration: str
    reference: str
    previous: str | None
    placement: str
    month: str
    amount: int
    status: str                 # declared (no answer yet), accepted, rejected
    codes: str                  # the return codes of a rejection, separated by spaces
    file: str


@dataclass(frozen=True)
class Refusal:
    file: str
    line: int
    declaration: str | None
    reference: str | None
    message: str

    def __str__(self) -> str:
        where = ", ".join(x for x in (f"declaration {self.declaration}" if self.declaration else "",
                                      f"prestatie {self.reference}" if self.reference else "") if x)
        return f"{self.file}:{self.line}: {where + ': ' if where else ''}{self.message}"


@dataclass
class FileCount:
    kind: str
    what: str = ""
    prestaties: int = 0
    taken: int = 0
    again: int = 0              # already in the ledger, identical
    refused: int = 0
    rejected: int = 0           # WMO325: prestaties it rejects


@dataclass
class Outcome:
    declarations: list[Declaration]
    ledger: list[Line]
    refusals: list[Refusal]
    files: dict[str, FileCount]
    new: list[tuple[str, str]]          # (placement, month) rows added
    changed: list[tuple[str, str]]      # rows whose amount changed (their earlier amount kept in `before`)
    removed: list[tuple[str, str]]      # rows of the import whose every prestatie is now rejected
    replaced: list[tuple[str, str]]     # rows not written by the import that it now writes
    before: dict[tuple[str, str], int]
    unanswered: int                     # prestaties taken that no WMO325 answered yet


def _valid_bsn(value: str) -> bool:
    return bool(re.fullmatch("[0-9]{9}", value)) and _bsn.checksum(value) == 0 and value != "000000000"


def _contractor(ds: Dataset, p: Placement) -> str:
    return p.contractor or ds.regions[p.region].centrumgemeente


class _Matcher:
    """Prestatie -> placement, by toewijzing number or else by BSN, product code and period."""

    def __init__(self, ds: Dataset):
        self.ds = ds
        self.by_toewijzing: dict[int, list[Placement]] = defaultdict(list)
        self.of_client: dict[str, list[Placement]] = defaultdict(list)
        for p in sorted(ds.placements.values(), key=lambda p: p.placement):
            if p.toewijzing is not None:
                self.by_toewijzing[int(p.toewijzing)].append(p)
            self.of_client[p.client].append(p)
        self.clients_of_bsn: dict[str, list[str]] = defaultdict(list)
        for c in sorted(ds.clients.values(), key=lambda c: c.client):
            self.clients_of_bsn[c.bsn].append(c.client)
        self.codes = {pr.iwmo_product_code for pr in ds.products.values() if pr.iwmo_product_code}

    def match(self, d: Declaratie, x: Prestatie) -> Placement | str:
        """The placement, or why there is none (a sentence without the BSN)."""
        clients = self.clients_of_bsn.get(x.bsn, [])
        found = self.by_toewijzing.get(x.toewijzing)
        if found:
            if len(found) > 1:
                return (f"toewijzing {x.toewijzing} is on more than one placement "
                        f"({', '.join(p.placement for p in found)}); not guessed")
            p = found[0]
            if p.client not in clients:
                return (f"toewijzing {x.toewijzing} is placement {p.placement}'s, of client {p.client}, "
                        f"whose BSN is not the BSN of the declaration's client {x.client}")
            product = self.ds.products[p.product]
            if product.iwmo_product_code is not None and product.iwmo_product_code != x.code:
                return (f"ProductCode {x.code} is not the iwmo_product_code {product.iwmo_product_code} of "
                        f"placement {p.placement}'s product {p.product} (toewijzing {x.toewijzing})")
        else:
            if x.code not in self.codes:
                return (f"no placement has toewijzing {x.toewijzing}, and ProductCode {x.code} is no product's "
                        f"iwmo_product_code in products.csv (an unknown product)")
            if not clients:
                return (f"no placement has toewijzing {x.toewijzing}, and the BSN of the declaration's client "
                        f"{x.client} is no client's of clients.csv")
            candidates = [p for c in clients for p in self.of_client[c]
                          if self.ds.products[p.product].iwmo_product_code == x.code
                          and p.start <= x.start and (p.end is None or x.end <= p.end)]
            if not candidates:
                return (f"no placement has toewijzing {x.toewijzing}, and the declaration's client {x.client} has "
                        f"no placement of a product with iwmo_product_code {x.code} over {x.start}..{x.end}")
            if len(candidates) > 1:
                return (f"no placement has toewijzing {x.toewijzing}, and more than one placement matches the "
                        f"client, product code {x.code} and period ({', '.join(p.placement for p in candidates)}); "
                        f"not guessed")
            p = candidates[0]
        product = self.ds.products[p.product]
        if product.iwmo_category is not None and product.iwmo_category != x.category:
            return (f"ProductCategorie {x.category} is not the iwmo_category {product.iwmo_category} of placement "
                    f"{p.placement}'s product {p.product}")
        if x.start < p.start or (p.end is not None and x.end > p.end):
            return (f"the product period {x.start}..{x.end} lies outside placement {p.placement} "
                    f"({p.start}..{p.end or ''})")
        if _contractor(self.ds, p) != d.municipality:
            return (f"the declaration is sent to {d.municipality}, but placement {p.placement} is contracted by "
                    f"{_contractor(self.ds, p)}")
        return p


def _check(x: Prestatie) -> str | None:
    """What makes a prestatie unusable by itself (iWmo 3.2 rules), or None."""
    if not _valid_bsn(x.bsn):
        return (f"the BSN of the declaration's client {x.client} is not a valid BSN (9 digits passing the "
                f"11-proef); not shown")
    if (x.start.year, x.start.month) != (x.end.year, x.end.month):
        return f"the product period {x.start}..{x.end} is not within one calendar month (OP367)"
    if x.unit != "83" and x.tariff is not None and x.volume * x.tariff != abs(x.amount):
        return (f"IngediendBedrag {format_cents(abs(x.amount))} is not GeleverdVolume {x.volume} x ProductTarief "
                f"{format_cents(x.tariff)} = {format_cents(x.volume * x.tariff)} (TR346)")
    if x.amount < 0 and x.previous is None:
        return "a credit (C) without VorigReferentieNummer: it does not say which prestatie it credits (IV091)"
    return None


def convert(ds: Dataset, declaraties: Iterable[Declaratie], antwoorden: Iterable[Antwoord],
            ledger: Iterable[Line] = (), problems: Iterable[Refusal] = ()) -> Outcome:
    """The declarations of `ds` with what the messages declare, given the ledger of earlier imports.

    `problems`: messages refused before conversion (unreadable), reported with the rest. Each
    (placement, month) with a prestatie not rejected gets the net of those prestaties; a row the
    import wrote before whose prestaties are now all rejected is removed; every other row of
    `ds.declarations` is kept as it is."""
    declaraties, antwoorden = list(declaraties), list(antwoorden)
    matcher = _Matcher(ds)
    refusals = list(problems)
    files: dict[str, FileCount] = {}
    old = {(ln.provider, ln.reference): ln for ln in ledger}
    lines = dict(old)
    messages = {(ln.provider, ln.declaration): ln.message for ln in old.values()}
    taken_now: set[tuple[str, str]] = set()
    where: dict[tuple[str, str], tuple[str, int]] = {}                # new prestatie -> (file, line)
    known_refs: dict[tuple[str, str], set[str]] = defaultdict(set)   # (provider, message) -> references
    complete: dict[tuple[str, str], bool] = {}                       # every prestatie of it was taken
    for ln in old.values():
        known_refs[(ln.provider, ln.message)].add(ln.reference)

    def refuse(count: FileCount, file: str, line: int, number: str | None, ref: str | None, why: str) -> None:
        refusals.append(Refusal(file, line, number, ref, why))
        count.refused += 1

    for d in sorted(declaraties, key=lambda d: d.file):
        count = files.setdefault(d.file, FileCount("WMO323", f"declaration {d.number} (provider {d.provider}, "
                                                             f"municipality {d.municipality})"))
        count.prestaties = len(d.prestaties)
        net = sum(x.amount for x in d.prestaties)
        if net != d.total:
            refuse(count, d.file, d.total_line, d.number, None,
                   f"TotaalIngediendBedrag {_dc(d.total)} is not the sum of its prestaties, {_dc(net)} (debits "
                   f"minus credits); the whole declaration is refused")
            count.refused = len(d.prestaties)
            continue
        earlier = messages.get((d.provider, d.number))
        if earlier is not None and earlier != d.message:
            refuse(count, d.file, 1, d.number, None,
                   f"declaration number {d.number} of provider {d.provider} was imported before from another "
                   f"message ({earlier}); a declaration number is unique (OP349); the whole declaration is refused")
            count.refused = len(d.prestaties)
            continue
        messages[(d.provider, d.number)] = d.message
        complete[(d.provider, d.message)] = True
        for x in d.prestaties:
            key = (d.provider, x.reference)
            problem = _check(x)
            match = matcher.match(d, x) if problem is None else problem
            if isinstance(match, str):
                complete[(d.provider, d.message)] = False
                refuse(count, d.file, x.line, d.number, x.reference, match)
                continue
            line = Line(d.provider, d.message, d.number, x.reference, x.previous, match.placement,
                        f"{x.start.year:04d}-{x.start.month:02d}", x.amount, DECLARED, "", Path(d.file).name)
            if key in taken_now:
                complete[(d.provider, d.message)] = False
                refuse(count, d.file, x.line, d.number, x.reference,
                       f"reference number {x.reference} appears twice in the messages imported; the second is refused")
                continue
            if key in old:
                before = old[key]
                if (before.message, before.placement, before.month, before.amount) == \
                        (line.message, line.placement, line.month, line.amount):
                    count.again += 1
                    taken_now.add(key)
                    continue
                complete[(d.provider, d.message)] = False
                refuse(count, d.file, x.line, d.number, x.reference,
                       f"reference number {x.reference} was imported before with other content "
                       f"(declaration {before.declaration}, {before.file}); not replaced")
                continue
            lines[key] = line
            where[key] = (d.file, x.line)
            taken_now.add(key)
            known_refs[(d.provider, d.message)].add(x.reference)
            count.taken += 1

    for a in sorted(antwoorden, key=lambda a: a.file):
        count = files.setdefault(a.file, FileCount("WMO325", f"answer to declaration {a.number or '-'} "
                                                             f"(municipality {a.municipality}, provider {a.provider})"))
        refs = known_refs.get((a.provider, a.answers))
        if not refs:
            refuse(count, a.file, 1, a.number, None,
                   f"answers the declaration message {a.answers} of provider {a.provider}, of which no prestatie "
                   f"was imported; import the WMO323 it answers with it")
            continue
        ours = [k for k in ((a.provider, r) for r in sorted(refs))]
        number = lines[ours[0]].declaration
        if a.number is not None and a.number != number:
            refuse(count, a.file, 1, a.number, None,
                   f"answers message {a.answers}, which is declaration {number}, not {a.number}; not applied")
            continue
        listed = {r.reference: r for r in a.rejected}
        if not a.whole and complete.get((a.provider, a.answers)) and a.granted is not None:
            granted = sum(lines[k].amount for k in ours if k[1] not in listed)
            if granted != a.granted:
                refuse(count, a.file, 1, a.number, None,
                       f"TotaalToegekendBedrag {_dc(a.granted)} is not the sum of the prestaties it does not reject, "
                       f"{_dc(granted)}; not applied")
                continue
        for r in a.rejected:
            if (a.provider, r.reference) not in lines and not a.whole:
                refuse(count, a.file, r.line, a.number, r.reference,
                       f"rejects prestatie {r.reference}, which is not a prestatie of declaration {number} that was "
                       f"imported (refused by this import, or unknown)")
        for k in ours:
            if a.whole or k[1] in listed:
                codes = a.codes if a.whole else listed[k[1]].codes
                lines[k] = replace(lines[k], status=REJECTED, codes=" ".join(codes))
                count.rejected += 1
            else:
                lines[k] = replace(lines[k], status=ACCEPTED_STATUS, codes="")

    # credits (IV091): identical to the prestatie they credit, which was not rejected nor credited before
    credited: dict[tuple[str, str], str] = {}
    held: dict[tuple[str, str], str] = {}  # (placement, month) -> the credit whose original is unknown
    for key in sorted(lines, key=lambda k: (k not in old, k)):  # the ledger's credits first: they stand
        ln = lines[key]
        if ln.amount >= 0 or ln.status == REJECTED:
            continue
        file, at = where.get(key, (ln.file, 0))
        count = files.get(file)
        original = lines.get((ln.provider, ln.previous or ""))
        why = None
        if original is None:
            why = (f"credits prestatie {ln.previous}, which was not imported (nor given here); import the "
                   f"declaration it credits first: a credit alone is a difference, not the month's amount")
        elif original.status == REJECTED:
            why = f"credits prestatie {ln.previous}, which was rejected (only a granted prestatie is credited, IV091)"
        elif (original.provider, original.reference) in credited:
            why = (f"credits prestatie {ln.previous}, which prestatie {credited[(original.provider, original.reference)]} "
                   f"credits already (OP360)")
        elif (original.placement, original.month, original.amount) != (ln.placement, ln.month, -ln.amount):
            why = (f"is not identical to the prestatie {ln.previous} it credits (IV091): that one declares "
                   f"{format_cents(original.amount)} for {original.placement} {original.month}")
        if why is None:
            credited[(original.provider, original.reference)] = ln.reference  # type: ignore[union-attr]
            continue
        if key in old:  # pragma: no cover - the ledger holds only credits that were checked so
            continue
        del lines[key]
        if count is not None:
            count.taken -= 1
            count.refused += 1
        refusals.append(Refusal(file, at, ln.declaration, ln.reference, why))
        if original is None:
            held.setdefault((ln.placement, ln.month), ln.reference)

    # a month with a credit of a prestatie never imported is left as it is: its other new prestaties
    # would make an amount of part of the month's prestaties (a credit alone is a difference)
    for key in sorted(k for k in where if k in lines and (lines[k].placement, lines[k].month) in held):
        ln, (file, at) = lines.pop(key), where[key]
        count = files[file]
        count.taken -= 1
        count.refused += 1
        refusals.append(Refusal(file, at, ln.declaration, ln.reference,
                                f"held back with credit {held[(ln.placement, ln.month)]} of the same placement and "
                                f"month ({ln.placement} {ln.month}), whose credited prestatie was not imported"))

    return _rows(ds, old.values(), lines.values(), refusals, files)


def _rows(ds: Dataset, old: Iterable[Line], lines: Iterable[Line], refusals: list[Refusal],
          files: dict[str, FileCount]) -> Outcome:
    lines = sorted(lines, key=lambda ln: (ln.provider, ln.reference))
    owned_before = {(ln.placement, ln.month) for ln in old if ln.status != REJECTED}
    net: dict[tuple[str, str], int] = defaultdict(int)
    for ln in lines:
        if ln.status != REJECTED:
            net[(ln.placement, ln.month)] += ln.amount
    rows = {(d.placement, d.month): d.amount for d in ds.declarations}
    out = dict(rows)
    new, changed, removed, replaced = [], [], [], []
    for key in sorted(owned_before | set(net)):
        if key in net:
            if key not in rows:
                new.append(key)
            elif rows[key] != net[key]:
                changed.append(key)
            if key in rows and key not in owned_before:
                replaced.append(key)
            out[key] = net[key]
        elif key in out:
            removed.append(key)
            del out[key]
    declarations = [Declaration(p, m, a) for (p, m), a in sorted(out.items())]
    refusals.sort(key=lambda r: (r.file, r.line, r.reference or ""))
    unanswered = sum(1 for ln in lines if ln.status == DECLARED)
    return Outcome(declarations, lines, refusals, dict(sorted(files.items())), new, changed, removed, replaced,
                   rows, unanswered)


def _dc(cents: int) -> str:
    return f"{format_cents(abs(cents))} {'C' if cents < 0 else 'D'}"


def report(outcome: Outcome) -> str:
    """What the import took and refused, per file; no BSN."""
    out = []
    for file, c in outcome.files.items():
        if c.kind == "WMO323":
            parts = [f"{c.prestaties} prestaties", f"{c.taken} taken"]
            if c.again:
                parts.append(f"{c.again} imported before")
            parts.append(f"{c.refused} refused")
        else:
            parts = [f"{c.rejected} prestaties rejected"] + ([f"{c.refused} refused"] if c.refused else [])
        out.append(f"{file}: {c.kind} {c.what}: {', '.join(parts)}")
    for r in outcome.refusals:
        out.append(f"refused: {r}")
    rows = len(outcome.declarations)
    before = outcome.before
    out.append(f"declarations.csv: {rows} row(s): {len(outcome.new)} new, {len(outcome.changed)} changed, "
               f"{len(outcome.removed)} removed (every prestatie rejected)")
    for key in outcome.changed:
        now = next(d.amount for d in outcome.declarations if (d.placement, d.month) == key)
        out.append(f"  {key[0]} {key[1]}: {format_cents(before[key])} -> {format_cents(now)}"
                   + (" (a row not written by an import before: replaced)" if key in outcome.replaced else ""))
    if outcome.unanswered:
        out.append(f"{outcome.unanswered} prestaties taken have no answer (WMO325) yet: they count until one "
                   f"rejects them")
    taken = sum(c.taken for c in outcome.files.values())
    out.append(f"total: {taken} prestaties taken, {len(outcome.refusals)} refused")
    return "\n".join(out) + "\n"


# -- file I/O ------------------------------------------------------------------------------------

def read_messages(paths: Iterable[Path]) -> tuple[list[Declaratie], list[Antwoord], list[Refusal]]:
    """Each file parsed; a file that cannot be read as a message is a refusal (its line) and its
    prestaties are not taken."""
    declaraties, antwoorden, refusals = [], [], []
    for path in sorted(set(paths), key=str):
        name = str(path)
        try:
            data = path.read_bytes()
        except OSError as e:
            refusals.append(Refusal(name, 0, None, None, f"cannot be read: {(e.strerror or str(e)).lower()}"))
            continue
        try:
            message = replace(parse(data), file=name)
        except MessageError as e:
            refusals.append(Refusal(name, e.line, None, None, f"refused as a whole: {e.message}"))
            continue
        (declaraties if isinstance(message, Declaratie) else antwoorden).append(message)  # type: ignore[arg-type]
    return declaraties, antwoorden, refusals


def read_ledger(path: Path) -> list[Line]:
    """The ledger written by earlier imports (none: empty). Raises MessageError naming a bad line."""
    if not path.exists():
        return []
    lines = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != LEDGER_COLUMNS:
            raise MessageError(1, f"the header is not {','.join(LEDGER_COLUMNS)}")
        for row in reader:
            try:
                from .money import parse_euros
                if row["status"] not in (DECLARED, ACCEPTED_STATUS, REJECTED):
                    raise ValueError(row["status"])
                lines.append(Line(row["provider"], row["message"], row["declaration"], row["reference"],
                                  row["previous_reference"] or None, row["placement"], row["month"],
                                  parse_euros(row["amount"]), row["status"], row["codes"], row["file"]))
            except (ValueError, KeyError, TypeError):
                raise MessageError(reader.line_num, "is not a line the import wrote") from None
    return lines


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, path)


def ledger_text(lines: Iterable[Line]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(LEDGER_COLUMNS)
    for ln in lines:
        w.writerow([ln.provider, ln.message, ln.declaration, ln.reference, ln.previous or "", ln.placement, ln.month,
                    format_cents(ln.amount), ln.status, ln.codes, ln.file])
    return buf.getvalue()


def declarations_text(rows: Iterable[Declaration]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["placement", "month", "amount"])
    for d in rows:
        w.writerow([d.placement, d.month, format_cents(d.amount)])
    return buf.getvalue()


def import_files(paths: Iterable[Path], into: Path) -> Outcome:
    """Read the dataset `into` (loader.load_dir: refused as a whole when it does not load) and the
    messages, convert, and write `declarations.csv` and the ledger (each through a temporary file
    renamed into place, the ledger first)."""
    from .errors import Refused
    from .loader import load_dir
    ds, _ = load_dir(into)
    ledger_path = into / LEDGER
    try:
        ledger = read_ledger(ledger_path)
    except MessageError as e:
        raise Refused(f"{ledger_path}:{e.line}: {e.message}; nothing was written") from None
    declaraties, antwoorden, problems = read_messages(paths)
    outcome = convert(ds, declaraties, antwoorden, ledger, problems)
    _write(ledger_path, ledger_text(outcome.ledger))
    _write(into / "declarations.csv", declarations_text(outcome.declarations))
    return outcome
