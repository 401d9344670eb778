"""The loader: a valid directory loads with a stable hash; every broken rule is reported as
`file:line: column: message` (INTERFACE.md §1)."""

from __future__ import annotations

import copy
import csv
import io
import random
import re
import time
from dataclasses import replace
from unittest import mock
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from schwifty import IBAN
from stdnum.nl import bsn

from settlement import loader as _loader
from settlement.loader import LoadError, canonical_tables, dataset_hashes, hash_of, load_dir, parse_agreements_text

IBANS = [str(IBAN.generate("NL", bank_code="BNGH", account_code=f"02850{n:05d}")) for n in (12345, 54321, 11111,
                                                                                          22222, 33333)]
BSNS = ["111222333", "123456782", "100000009", "100000010"]
assert all(bsn.is_valid(b) for b in BSNS)

Data = dict[str, list[list[str]]]


def base_data() -> tuple[Data, str]:
    """A small valid dataset: 2 regions, 5 municipalities, 3 products, 4 clients."""
    data: Data = {
        "municipalities.csv": [
            ["code", "name", "iban", "street", "postcode", "city", "oin"],
            ["0193", "Zwolle", IBANS[0], "Grote Kerkplein 1", "8011 PK", "Zwolle", "00000001001935094000"],
            ["0166", "Kampen", IBANS[1], "Burgwal 47", "8261 EP", "Kampen", "00000001001234567000"],
            ["0148", "Dalfsen", IBANS[2], "Prinsenstraat 1", "7721 JD", "Dalfsen", "00000001001489240000"],
            ["0114", "Emmen", IBANS[3], "Raadhuisplein 1", "7811 AP", "Emmen", "00000001001144820000"],
            ["0109", "Coevorden", IBANS[4], "Kasteel 1", "7741 GC", "Coevorden", "00000001001094178000"],
        ],
        "regions.csv": [
            ["region", "name", "centrumgemeente", "cutover"],
            ["ijssel-vecht", "IJssel-Vecht", "0193", "2023-01-01"],
            ["zuidoost-drenthe", "Zuidoost-Drenthe", "0114", "2023-01-01"],
        ],
        "region_members.csv": [
            ["region", "municipality", "valid_from", "valid_to"],
            ["ijssel-vecht", "0193", "2015-01-01", ""],
            ["ijssel-vecht", "0166", "2015-01-01", ""],
            ["ijssel-vecht", "0148", "2015-01-01", ""],
            ["zuidoost-drenthe", "0114", "2015-01-01", ""],
            ["zuidoost-drenthe", "0109", "2015-01-01", "2019-12-31"],
            ["ijssel-vecht", "0109", "2020-01-01", ""],
        ],
        "products.csv": [
            ["product", "name", "domain", "bw_definition", "unit", "iwmo_category"],
            ["BW-INTRA", "Beschermd wonen intramuraal", "BW", "true", "day", "15"],
            ["MO-OPVANG", "Maatschappelijke opvang", "MO", "false", "day", "16"],
            ["WMO-THUIS", "Thuis Plus", "WMO", "false", "month", ""],
        ],
        "tariffs.csv": [
            ["product", "region", "valid_from", "valid_to", "price"],
            ["BW-INTRA", "ijssel-vecht", "2022-01-01", "2023-12-31", "100.00"],
            ["BW-INTRA", "ijssel-vecht", "2024-01-01", "", "105.5"],
            ["BW-INTRA", "zuidoost-drenthe", "2022-01-01", "", "98.75"],
            ["MO-OPVANG", "ijssel-vecht", "2022-01-01", "", "80"],
            ["WMO-THUIS", "zuidoost-drenthe", "2022-01-01", "", "1500.00"],
        ],
        "clients.csv": [
            ["client", "bsn"],
            ["C1", BSNS[0]],
            ["C2", BSNS[1]],
            ["C3", BSNS[2]],
            ["C4", BSNS[3]],
        ],
        "brp.csv": [
            ["client", "municipality", "kind", "valid_from", "valid_to"],
            ["C1", "0166", "woonadres", "2000-01-01", "2023-02-28"],
            ["C1", "0193", "institution", "2023-03-01", ""],
            ["C2", "", "abroad", "2010-01-01", "2022-12-31"],
            ["C2", "0114", "briefadres", "2023-01-01", ""],
            ["C3", "0148", "woonadres", "1990-01-01", ""],
            ["C4", "0109", "woonadres", "1990-01-01", ""],
        ],
        "applications.csv": [
            ["client", "region", "municipality", "date"],
            ["C1", "ijssel-vecht", "0166", "2023-02-15"],
            ["C2", "zuidoost-drenthe", "0114", "2023-01-05"],
        ],
        "placements.csv": [
            ["placement", "client", "product", "region", "provider", "location", "start", "end", "financing"],
            ["P1", "C1", "BW-INTRA", "ijssel-vecht", "Zorggroep A", "0193", "2023-03-01", "", "ZIN"],
            ["P2", "C2", "BW-INTRA", "zuidoost-drenthe", "Leger des Heils", "0114", "2023-01-10", "2023-06-30", "PGB"],
            ["P3", "C3", "WMO-THUIS", "zuidoost-drenthe", "Thuis BV", "0114", "2023-02-01", "", "ZIN"],
            ["P4", "C1", "MO-OPVANG", "ijssel-vecht", "Opvang Zwolle", "0193", "2022-01-01", "2022-12-31", "ZIN"],
            # the same client and product in another region, overlapping P2: legitimate
            ["P5", "C2", "BW-INTRA", "ijssel-vecht", "Zorggroep A", "0193", "2023-03-01", "2023-04-30", "ZIN"],
            ["P6", "C4", "BW-INTRA", "ijssel-vecht", "Zorggroep A", "0193", "2023-05-01", "", "ZIN"],
        ],
        "notifications.csv": [
            ["placement", "municipality", "notified_on"],
            ["P2", "0114", "2023-01-12"],
        ],
        "declarations.csv": [
            ["placement", "month", "amount"],
            ["P2", "2023-03", "3000.00"],
        ],
        "budgets.csv": [
            ["municipality", "year", "historic", "objective"],
            ["0193", "2024", "1000000.00", "900000"],
            ["0166", "2024", "", ""],
        ],
    }
    toml = '''# agreements of the test data
[[agreement]]
id = "ijv-solidariteit-historisch"
kind = "pool"
region = "ijssel-vecht"
valid_from = 2023-01-01
valid_to = 2025-12-31
clients = "historic"
domains = ["BW"]
[agreement.weights]
"0193" = 130000
"0166" = 54000
"0148" = 29000

[[agreement]]
id = "eagle"
kind = "interregional"
regions = ["ijssel-vecht", "zuidoost-drenthe"]
valid_from = 2023-01-01
notify_within_days = 14
late_notification = "shift"
'''
    return data, toml


def write(dirpath: Path, data: Data, toml: str | None, shuffle: random.Random | None = None,
          quote_all: bool = False) -> Path:
    dirpath.mkdir(parents=True, exist_ok=True)
    for name, rows in data.items():
        header, body = rows[0], [list(r) for r in rows[1:]]
        order = list(range(len(header)))
        if shuffle is not None:
            shuffle.shuffle(order)
            shuffle.shuffle(body)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
        w.writerow([header[i] for i in order])
        for r in body:
            w.writerow([r[i] for i in order] if len(r) == len(header) else r)
        (dirpath / name).write_text(buf.getvalue(), encoding="utf-8")
    if toml is not None:
        (dirpath / "agreements.toml").write_text(toml, encoding="utf-8")
    return dirpath


def problems_of(path: Path) -> list[str]:
    with pytest.raises(LoadError) as exc:
        load_dir(path)
    return exc.value.problems


# Valid data -------------------------------------------------------------------------------------

def test_valid_dataset_loads(tmp_path):
    data, toml = base_data()
    ds, agreements = load_dir(write(tmp_path / "d", data, toml))
    assert len(ds.municipalities) == 5 and len(ds.regions) == 2 and len(ds.members) == 6
    assert len(ds.products) == 3 and len(ds.tariffs) == 5 and len(ds.clients) == 4
    assert len(ds.registrations) == 6 and len(ds.applications) == 2 and len(ds.placements) == 6
    assert len(ds.notifications) == 1 and len(ds.declarations) == 1 and len(ds.budgets) == 2
    assert [a.id for a in agreements] == ["eagle", "ijv-solidariteit-historisch"]
    assert ds.municipalities["0193"].iban == IBANS[0]
    assert ds.municipalities["0166"].oin == "00000001001234567000"
    assert ds.municipalities["0193"].oin == "00000001001935094000"
    assert ds.products["BW-INTRA"].bw_definition is True and ds.products["WMO-THUIS"].iwmo_category is None
    assert {t.price for t in ds.tariffs} == {10000, 10550, 9875, 8000, 150000}
    assert ds.declarations[0].amount == 300000 and ds.declarations[0].month == "2023-03"
    assert ds.budgets[0].historic in (100000000, None)
    assert ds.registration_on("C1", ds.placements["P1"].start).kind == "institution"
    assert [r.line for r in ds.brp_by_client["C1"]] == [2, 3]
    assert ds.region_of("0109", ds.placements["P6"].start).region == "ijssel-vecht"
    assert ds.input_hash.startswith("sha256:") and len(ds.input_hash) == 7 + 64
    assert ds.agreements_hash.startswith("sha256:")
    assert ds.agreements == [a.canonical() for a in agreements]
    assert (ds.input_hash, ds.agreements_hash) == dataset_hashes(ds, agreements)
    canon = canonical_tables(ds, agreements)
    assert hash_of(canon["input"]) == ds.input_hash


def test_optional_files_may_be_absent_and_agreements_empty(tmp_path):
    data, _ = base_data()
    for name in ("notifications.csv", "declarations.csv", "budgets.csv"):
        del data[name]
    ds, agreements = load_dir(write(tmp_path / "d", data, ""))
    assert agreements == [] and ds.notifications == [] and ds.declarations == [] and ds.budgets == []


def test_hash_is_independent_of_row_order_columns_and_quoting(tmp_path):
    data, toml = base_data()
    ds1, _ = load_dir(write(tmp_path / "a", data, toml))
    # brp, applications and notifications carry their line as identity: keep their row order there
    shuffled = copy.deepcopy(data)
    rng = random.Random(7)
    for name in shuffled:
        header, body = shuffled[name][0], shuffled[name][1:]
        if name not in ("brp.csv", "applications.csv", "notifications.csv"):
            rng.shuffle(body)
        order = list(range(len(header)))
        rng.shuffle(order)
        shuffled[name] = [[row[i] for i in order] for row in [header] + body]
    _, first, second = toml.split("[[agreement]]")
    toml2 = "[[agreement]]" + second + "\n[[agreement]]" + first.replace("domains", "\n  domains")
    ds2, ag2 = load_dir(write(tmp_path / "b", shuffled, toml2, quote_all=True))
    assert ds2.input_hash == ds1.input_hash
    assert ds2.agreements_hash == ds1.agreements_hash
    changed = copy.deepcopy(data)
    changed["tariffs.csv"][1][4] = "100.01"
    ds3, _ = load_dir(write(tmp_path / "c", changed, toml))
    assert ds3.input_hash != ds1.input_hash and ds3.agreements_hash == ds1.agreements_hash
    toml3 = toml.replace("54000", "54001")
    ds4, _ = load_dir(write(tmp_path / "e", data, toml3))
    assert ds4.input_hash == ds1.input_hash and ds4.agreements_hash != ds1.agreements_hash
    # the line of a registration is part of its identity
    moved = copy.deepcopy(data)
    moved["brp.csv"][1], moved["brp.csv"][2] = moved["brp.csv"][2], moved["brp.csv"][1]
    ds5, _ = load_dir(write(tmp_path / "f", moved, toml))
    assert ds5.input_hash != ds1.input_hash


def test_hash_of_rebuilt_dataset_is_the_same(tmp_path):
    """The database layer rebuilds a Dataset from rows: the same records give the same hashes."""
    from settlement.facts import Dataset
    data, toml = base_data()
    ds, agreements = load_dir(write(tmp_path / "d", data, toml))
    rebuilt = Dataset(
        municipalities=dict(sorted(ds.municipalities.items(), reverse=True)), regions=dict(ds.regions),
        members=list(reversed(ds.members)), products=dict(ds.products), tariffs=list(reversed(ds.tariffs)),
        clients=dict(ds.clients), registrations=list(reversed(ds.registrations)),
        applications=list(ds.applications), placements=dict(ds.placements),
        notifications=list(ds.notifications), declarations=list(ds.declarations), budgets=list(ds.budgets))
    text = (tmp_path / "d" / "agreements.toml").read_text()
    again = parse_agreements_text(text, rebuilt)
    assert dataset_hashes(rebuilt, again) == (ds.input_hash, ds.agreements_hash)
    assert dataset_hashes(rebuilt, ds.agreements) == (ds.input_hash, ds.agreements_hash)


def test_bom_and_crlf_and_quoted_cells(tmp_path):
    data, toml = base_data()
    d = write(tmp_path / "d", data, toml)
    text = (d / "clients.csv").read_text()
    (d / "clients.csv").write_bytes(text.replace("\n", "\r\n").encode())
    (d / "regions.csv").write_text('region,name,centrumgemeente,cutover\n'
                                   'ijssel-vecht,"IJssel-Vecht, de regio",0193,2023-01-01\n'
                                   'zuidoost-drenthe,"Zuidoost-""Drenthe""",0114,2023-01-01\n\n')
    ds, _ = load_dir(d)
    assert ds.regions["ijssel-vecht"].name == "IJssel-Vecht, de regio"
    assert ds.regions["zuidoost-drenthe"].name == 'Zuidoost-"Drenthe"'
    assert len(ds.clients) == 4
    # a quoted cell may span lines as CSV, but a name with a line break would forge rows in the
    # tables that show it: refused, on the record's first line
    (d / "regions.csv").write_text('region,name,centrumgemeente,cutover\n'
                                   'ijssel-vecht,"IJssel-Vecht, de regio",0193,2023-01-01\n'
                                   'zuidoost-drenthe,"Zuidoost-\nDrenthe",0114,2023-01-01\n\n')
    assert problems_of(d) == ["regions.csv:3: name: 'Zuidoost-\\nDrenthe' contains a line break or a tab; a name or "
                              "text is one line"]


def test_twenty_thousand_clients_load_quickly(tmp_path):
    data, toml = base_data()
    clients = [["client", "bsn"]]
    brp = [data["brp.csv"][0]] + data["brp.csv"][1:]
    placements = list(data["placements.csv"])
    n, i = 0, 200000000
    while n < 20000:
        i += 1
        if not bsn.is_valid(str(i)):
            continue
        n += 1
        cid = f"X{n:05d}"
        clients.append([cid, str(i)])
        brp.append([cid, "0166", "woonadres", "2000-01-01", "2022-12-31"])
        brp.append([cid, "0193", "institution", "2023-01-01", ""])
        placements.append([f"PX{n:05d}", cid, "BW-INTRA", "ijssel-vecht", "Zorggroep A", "0193", "2023-01-01",
                           "", "ZIN"])
    data["clients.csv"] = data["clients.csv"] + clients[1:]
    data["brp.csv"] = brp
    data["placements.csv"] = placements
    d = write(tmp_path / "d", data, toml)
    t0 = time.perf_counter()
    ds, _ = load_dir(d)
    elapsed = time.perf_counter() - t0
    assert len(ds.clients) == 20004 and len(ds.placements) == 20006
    assert elapsed < 5, f"loading took {elapsed:.1f}s"


# Refusals ---------------------------------------------------------------------------------------

def cell(name: str, row: int, column: str, value: str) -> Callable[[Data], None]:
    """Set a cell: row 1 is the first data row (line 2)."""
    def f(d: Data) -> None:
        d[name][row][d[name][0].index(column)] = value
    return f


def add(name: str, *values: str) -> Callable[[Data], None]:
    def f(d: Data) -> None:
        d[name].append(list(values))
    return f


def drop(name: str) -> Callable[[Data], None]:
    def f(d: Data) -> None:
        del d[name]
    return f


def header(name: str, columns: list[str]) -> Callable[[Data], None]:
    def f(d: Data) -> None:
        d[name][0] = columns
    return f


def both(*fs: Callable[[Data], None]) -> Callable[[Data], None]:
    def f(d: Data) -> None:
        for g in fs:
            g(d)
    return f


CASES = [
    # (id, change, expected prefix, part of the message)
    ("missing-file", drop("brp.csv"), "brp.csv:0: -:", "the file is missing"),
    ("missing-column", header("clients.csv", ["client"]), "clients.csv:1: bsn:", "missing column"),
    ("unknown-column", both(header("clients.csv", ["client", "bsn", "extra"]),
                            lambda d: [r.append("x") for r in d["clients.csv"][1:]]),
     "clients.csv:1: extra:", "unknown column"),
    ("duplicate-column", both(header("clients.csv", ["client", "bsn", "client"]),
                              lambda d: [r.append("x") for r in d["clients.csv"][1:]]),
     "clients.csv:1: client:", "appears more than once"),
    ("wrong-cell-count", add("clients.csv", "C9"), "clients.csv:6: -:", "the row has 1 cell, the header has 2"),
    ("required-empty", cell("placements.csv", 1, "provider", ""), "placements.csv:2: provider:", "is required"),
    ("code-format", cell("brp.csv", 1, "municipality", "166"), "brp.csv:2: municipality:",
     "is not a 4-digit CBS municipality code"),
    ("code-unknown-brp", cell("brp.csv", 1, "municipality", "0999"), "brp.csv:2: municipality:",
     "unknown municipality code 0999"),
    ("code-unknown-location", cell("placements.csv", 2, "location", "0998"), "placements.csv:3: location:",
     "unknown municipality code 0998"),
    ("code-unknown-application", cell("applications.csv", 1, "municipality", "0997"),
     "applications.csv:2: municipality:", "unknown municipality code 0997"),
    ("code-unknown-notification", cell("notifications.csv", 1, "municipality", "0996"),
     "notifications.csv:2: municipality:", "unknown municipality code 0996"),
    ("code-unknown-budget", cell("budgets.csv", 2, "municipality", "0995"), "budgets.csv:3: municipality:",
     "unknown municipality code 0995"),
    ("code-unknown-member", both(add("region_members.csv", "ijssel-vecht", "0994", "2015-01-01", "")),
     "region_members.csv:8: municipality:", "unknown municipality code 0994"),
    ("bsn-11-proef", cell("clients.csv", 2, "bsn", "123456789"), "clients.csv:3: bsn:",
     "client C2: bsn fails the 11-proef"),
    ("bsn-not-9-digits", cell("clients.csv", 2, "bsn", "12345678"), "clients.csv:3: bsn:",
     "bsn must be exactly 9 digits"),
    ("bsn-duplicate", cell("clients.csv", 3, "bsn", BSNS[0]), "clients.csv:4: bsn:",
     "client C3: bsn is the same as that of client C1 on line 2"),
    ("iban", cell("municipalities.csv", 2, "iban", "NL91ABNA0417164301"), "municipalities.csv:3: iban:",
     "is not a valid IBAN"),
    ("date-not-exists", cell("brp.csv", 6, "valid_from", "2023-02-31"), "brp.csv:7: valid_from:",
     "2023-02-31 is not a date that exists"),
    ("date-format", cell("applications.csv", 1, "date", "15-02-2023"), "applications.csv:2: date:",
     "is not a date YYYY-MM-DD"),
    ("valid-to-before-from", cell("tariffs.csv", 1, "valid_to", "2021-12-31"), "tariffs.csv:2: valid_to:",
     "2021-12-31 lies before valid_from 2022-01-01"),
    ("end-before-start", cell("placements.csv", 2, "end", "2023-01-09"), "placements.csv:3: end:",
     "lies before start 2023-01-10"),
    ("domain", cell("products.csv", 1, "domain", "GGZ"), "products.csv:2: domain:", "is not one of BW, MO, WMO"),
    ("unit", cell("products.csv", 1, "unit", "week"), "products.csv:2: unit:", "is not one of day, month"),
    ("kind", cell("brp.csv", 1, "kind", "home"), "brp.csv:2: kind:", "is not one of woonadres"),
    ("financing", cell("placements.csv", 1, "financing", "zin"), "placements.csv:2: financing:",
     "is not one of ZIN, PGB"),
    ("bw-definition-value", cell("products.csv", 1, "bw_definition", "yes"), "products.csv:2: bw_definition:",
     "is not one of true, false"),
    ("bw-definition-wmo", cell("products.csv", 3, "bw_definition", "true"), "products.csv:4: bw_definition:",
     "a WMO product cannot have the BW definition"),
    ("bw-definition-mo", cell("products.csv", 2, "bw_definition", "true"), "products.csv:3: bw_definition:",
     "a MO product cannot have the BW definition"),
    ("iwmo-category", cell("products.csv", 1, "iwmo_category", "99"), "products.csv:2: iwmo_category:",
     "is not one of 15, 16, 17, 18"),
    ("price-format", cell("tariffs.csv", 2, "price", "105,50"), "tariffs.csv:3: price:",
     "is not an amount in euros"),
    ("price-three-decimals", cell("tariffs.csv", 2, "price", "105.505"), "tariffs.csv:3: price:",
     "at most two decimals"),
    ("price-negative", cell("tariffs.csv", 2, "price", "-1.00"), "tariffs.csv:3: price:", "negative"),
    ("declaration-amount", cell("declarations.csv", 1, "amount", "1e3"), "declarations.csv:2: amount:",
     "is not an amount in euros"),
    ("declaration-negative", cell("declarations.csv", 1, "amount", "-5"), "declarations.csv:2: amount:",
     "negative"),
    ("declaration-month-format", cell("declarations.csv", 1, "month", "2023-13"), "declarations.csv:2: month:",
     "is not a month YYYY-MM"),
    ("declaration-outside", cell("declarations.csv", 1, "month", "2023-07"), "declarations.csv:2: month:",
     "2023-07 lies outside placement P2 (2023-01-10..2023-06-30)"),
    ("declaration-unknown-placement", cell("declarations.csv", 1, "placement", "P99"),
     "declarations.csv:2: placement:", "unknown placement P99"),
    ("duplicate-municipality", add("municipalities.csv", "0193", "Zwolle 2", IBANS[0], "x", "y", "z",
                                     "00000001000000000000"),
     "municipalities.csv:7: code:", "duplicate municipality code (first on line 2)"),
    ("duplicate-region", add("regions.csv", "ijssel-vecht", "Again", "0193", "2023-01-01"),
     "regions.csv:4: region:", "duplicate region (first on line 2)"),
    ("duplicate-product", add("products.csv", "MO-OPVANG", "Again", "MO", "false", "day", ""),
     "products.csv:5: product:", "duplicate product (first on line 3)"),
    ("duplicate-client", add("clients.csv", "C1", BSNS[0]), "clients.csv:6: client:",
     "duplicate client (first on line 2)"),
    ("duplicate-placement", add("placements.csv", "P3", "C4", "MO-OPVANG", "ijssel-vecht", "X", "0193",
                                "2020-01-01", "2020-12-31", "ZIN"),
     "placements.csv:8: placement:", "duplicate placement (first on line 4)"),
    ("duplicate-declaration", add("declarations.csv", "P2", "2023-03", "1.00"), "declarations.csv:3: month:",
     "duplicate declaration for this placement and month (first on line 2)"),
    ("duplicate-budget", add("budgets.csv", "0193", "2024", "", ""), "budgets.csv:4: year:",
     "duplicate budget for this municipality and year (first on line 2)"),
    ("duplicate-notification", add("notifications.csv", "P2", "0114", "2023-01-12"), "notifications.csv:3: -:",
     "duplicate notification (first on line 2)"),
    ("tariff-overlap", add("tariffs.csv", "BW-INTRA", "ijssel-vecht", "2023-12-01", "2023-12-31", "1.00"),
     "tariffs.csv:7: valid_from:", "overlaps the tariff on line 2 (2022-01-01..2023-12-31)"),
    ("tariff-overlap-open", add("tariffs.csv", "MO-OPVANG", "ijssel-vecht", "2030-01-01", "", "1.00"),
     "tariffs.csv:7: valid_from:", "overlaps the tariff on line 5 (2022-01-01..open)"),
    ("tariff-unknown-product", cell("tariffs.csv", 1, "product", "BW-NONE"), "tariffs.csv:2: product:",
     "unknown product BW-NONE"),
    ("tariff-unknown-region", cell("tariffs.csv", 1, "region", "nowhere"), "tariffs.csv:2: region:",
     "unknown region nowhere"),
    ("member-unknown-region", cell("region_members.csv", 1, "region", "nowhere"), "region_members.csv:2: region:",
     "unknown region nowhere"),
    ("member-overlap", add("region_members.csv", "zuidoost-drenthe", "0166", "2022-01-01", ""),
     "region_members.csv:8: valid_from:", "overlaps its membership of region ijssel-vecht on line 3"),
    ("centrumgemeente-unknown", cell("regions.csv", 2, "centrumgemeente", "0993"),
     "regions.csv:3: centrumgemeente:", "unknown municipality code 0993"),
    # v2 (RULES.md §2): a centrumgemeente that is not a member of its region is no longer refused
    # (Assen keeps the Zuid-West region's historic clients): tests/test_contractor.py
    ("region-slug", add("regions.csv", "Drenthe Noord", "Noord", "0109", "2023-01-01"), "regions.csv:4: region:",
     "is not a region slug"),
    ("brp-unknown-client", cell("brp.csv", 5, "client", "C99"), "brp.csv:6: client:", "unknown client C99"),
    ("brp-overlap", add("brp.csv", "C3", "0193", "woonadres", "2023-01-01", "2023-01-31"),
     "brp.csv:8: valid_from:", "overlaps the registration on line 6 (1990-01-01..open)"),
    ("brp-overlap-earlier-dates-later-line", add("brp.csv", "C1", "0148", "woonadres", "1999-01-01", "2000-01-01"),
     "brp.csv:8: valid_from:", "overlaps the registration on line 2 (2000-01-01..2023-02-28)"),
    ("brp-municipality-required", cell("brp.csv", 4, "municipality", ""), "brp.csv:5: municipality:",
     "is required for kind briefadres"),
    ("application-unknown-region", cell("applications.csv", 2, "region", "nowhere"),
     "applications.csv:3: region:", "unknown region nowhere"),
    ("application-unknown-client", cell("applications.csv", 2, "client", "C77"),
     "applications.csv:3: client:", "unknown client C77"),
    ("placement-unknown-client", cell("placements.csv", 1, "client", "C42"), "placements.csv:2: client:",
     "unknown client C42"),
    ("placement-unknown-product", cell("placements.csv", 1, "product", "NOPE"), "placements.csv:2: product:",
     "unknown product NOPE"),
    ("placement-unknown-region", cell("placements.csv", 1, "region", "nope"), "placements.csv:2: region:",
     "unknown region nope"),
    ("placement-overlap", add("placements.csv", "P7", "C1", "BW-INTRA", "ijssel-vecht", "Zorggroep B", "0166",
                              "2024-01-01", "2024-02-01", "PGB"),
     "placements.csv:8: start:", "placement P7 overlaps placement P1 on line 2 (2023-03-01..open)"),
    ("notification-unknown-placement", cell("notifications.csv", 1, "placement", "P0"),
     "notifications.csv:2: placement:", "unknown placement P0"),
    ("budget-year", cell("budgets.csv", 1, "year", "24"), "budgets.csv:2: year:", "is not a year"),
    ("oin", cell("municipalities.csv", 1, "oin", "123"), "municipalities.csv:2: oin:", "is not an OIN"),
    ("oin-missing", cell("municipalities.csv", 2, "oin", ""), "municipalities.csv:3: oin:",
     "is required (INTERFACE.md v2): the municipality's OIN of 20 digits"),
    ("field-too-long", cell("municipalities.csv", 1, "street", "x" * 1001), "municipalities.csv:2: street:",
     "field is longer than 1000 characters"),
    ("leading-space-id", cell("placements.csv", 1, "client", " C1"), "placements.csv:2: client:",
     "has leading or trailing spaces"),
]


@pytest.mark.parametrize("change,prefix,part", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refusal(tmp_path, change, prefix, part):
    data, toml = base_data()
    change(data)
    problems = problems_of(write(tmp_path / "d", data, toml))
    assert any(p.startswith(prefix + " ") and part in p for p in problems), problems
    assert len(problems) == 1, problems


def test_semicolon_header_with_comma_rows_gets_a_hint(tmp_path):
    """A header by semicolons makes a semicolon-separated file (INTERFACE.md §1, v2); rows by
    commas under it are refused, saying so (tests/test_excel_dialects.py has the accepted files)."""
    data, toml = base_data()
    d = write(tmp_path / "d", data, toml)
    (d / "clients.csv").write_text("client;bsn\nC1,111222333\nC2;123456782\nC3;100000009\nC4;100000010\n")
    assert problems_of(d) == ["clients.csv:2: -: the row has 1 cell, the header has 2 (the row is separated by "
                              "commas, the header by semicolons: use one separator in the whole file)"]
    (d / "clients.csv").write_text('"client;bsn"\nC1;111222333\n')
    problems = problems_of(d)
    assert any(p.startswith("clients.csv:1: -:") and "semicolons" in p for p in problems), problems


def test_bom_is_skipped(tmp_path):
    data, toml = base_data()
    d = write(tmp_path / "d", data, toml)
    plain, _ = load_dir(d)
    (d / "brp.csv").write_bytes(b"\xef\xbb\xbf" + (d / "brp.csv").read_bytes())
    ds, _ = load_dir(d)
    assert (ds.input_hash, ds.agreements_hash) == (plain.input_hash, plain.agreements_hash)
    assert _loader.dialects_of(ds) == {"brp.csv": "Excel CSV (UTF-8 with byte order mark)"}
    assert _loader.dialects_of(plain) == {}


def test_undecodable_bytes_report_the_line(tmp_path):
    """Not UTF-8 makes a file Windows-1252; a byte that Windows-1252 does not define either (0x81)
    is refused on its line, and so is a file that mixes the two encodings."""
    data, toml = base_data()
    d = write(tmp_path / "d", data, toml)
    original = (d / "municipalities.csv").read_bytes()
    (d / "municipalities.csv").write_bytes(original.replace(b"Kampen,NL", b"K\x81mpen,NL"))
    assert problems_of(d) == ["municipalities.csv:3: -: is neither UTF-8 nor Windows-1252: byte 7 of the line is "
                              "0x81, which is not a character in Windows-1252; save the file as UTF-8"]
    mixed = original.replace(b"Zwolle,NL", "Zwölle,NL".encode()).replace(b"Kampen,NL", "Kämpen,NL".encode("cp1252"))
    (d / "municipalities.csv").write_bytes(mixed)
    problems = problems_of(d)
    assert len(problems) == 1 and problems[0].startswith("municipalities.csv:3: -: is not valid UTF-8"), problems
    assert "while line 2 is UTF-8 text: the file mixes two encodings" in problems[0]
    mixed = original.replace(b"Kampen,NL", "Kämpen,NL".encode("cp1252")).replace(b"Dalfsen,NL", "Dälfsen,NL".encode())
    (d / "municipalities.csv").write_bytes(mixed)
    assert problems_of(d) == ["municipalities.csv:4: -: is UTF-8 text while line 3 is Windows-1252: the file mixes "
                              "two encodings; save it as UTF-8"]


def test_malformed_quotes(tmp_path):
    data, toml = base_data()
    d = write(tmp_path / "d", data, toml)
    with open(d / "clients.csv", "a") as f:
        f.write('C9,"1"23\n')
    problems = problems_of(d)
    assert problems[0].startswith("clients.csv:6: -: malformed CSV"), problems


def test_empty_file(tmp_path):
    data, toml = base_data()
    d = write(tmp_path / "d", data, toml)
    (d / "products.csv").write_text("")
    problems = problems_of(d)
    assert any(p.startswith("products.csv:1: -: the file is empty") for p in problems), problems


def test_misspelled_optional_file_is_reported(tmp_path):
    data, toml = base_data()
    data["declaration.csv"] = data.pop("declarations.csv")
    problems = problems_of(write(tmp_path / "d", data, toml))
    assert problems == ["declaration.csv:0: -: is not a file of the exchange format; did you mean declarations.csv?"]


def test_problems_are_sorted_and_all_reported(tmp_path):
    data, toml = base_data()
    cell("brp.csv", 3, "valid_from", "2023-02-30")(data)
    cell("clients.csv", 1, "bsn", "111222334")(data)
    cell("brp.csv", 1, "kind", "x")(data)
    problems = problems_of(write(tmp_path / "d", data, toml))
    assert [p.split(": ")[0] for p in problems] == ["brp.csv:2", "brp.csv:4", "clients.csv:2"], problems
    assert "111222334" not in "".join(problems)


def test_huge_file_stops_after_100_problems(tmp_path):
    data, toml = base_data()
    d = write(tmp_path / "d", data, toml)
    with open(d / "brp.csv", "a") as f:
        for i in range(200000):
            f.write("C1,0166,nowhere,2000-01-01,\n")
    t0 = time.perf_counter()
    problems = problems_of(d)
    assert time.perf_counter() - t0 < 2
    brp = [p for p in problems if p.startswith("brp.csv:")]
    assert len(brp) == 101, brp[-3:]
    assert "stopped reading after 100 problems" in brp[-1] or "more problems in brp.csv" in brp[-1]


def test_overlong_line_is_not_held(tmp_path):
    data, toml = base_data()
    d = write(tmp_path / "d", data, toml)
    with open(d / "clients.csv", "a") as f:
        f.write("C9," + "9" * (3 << 20) + "\n")
        f.write("C10,123456789\n")
    problems = problems_of(d)
    # no line of the format comes near 1 MiB: reading the file stops there (a file of 20 GB without
    # a line break was read to its end before), so C10's wrong BSN on the next line is not reached
    assert problems == ["clients.csv:6: -: field is longer than 1000 characters (the line is longer than 1 MiB; "
                        "the rest of the file was not read)"], problems


def test_unterminated_quote_is_reported(tmp_path):
    data, toml = base_data()
    d = write(tmp_path / "d", data, toml)
    with open(d / "clients.csv", "a") as f:
        f.write('C9,"12345\n')
        for i in range(100000):
            f.write(f"C{i},111222333\n")
    problems = problems_of(d)
    assert any(p.startswith("clients.csv:6: -: malformed CSV") for p in problems), problems


def test_cells_of_one_line_are_checked_for_tabs_breaks_and_control_characters(tmp_path):
    """Most records are one line without such characters, and their cells are not checked one by
    one; a record with one anywhere is, whether on one line or several."""
    data, toml = base_data()
    data["applications.csv"][1][0] = "C\t1"                     # a tab in a key, on one line
    data["placements.csv"][2][1] = "C\r2"                        # a carriage return, quoted, on one line
    data["placements.csv"][3][4] = "Thuis\x07 BV"                # a control character in text
    data["placements.csv"][4][4] = "Opvang\nZwolle\x1f"          # both, the record on two lines
    data["brp.csv"][1][4] = "2023-02-28\x0b"                     # a vertical tab after a date
    problems = problems_of(write(tmp_path / "d", data, toml, quote_all=True))
    assert problems == [
        "applications.csv:2: client: 'C\\t1' contains a line break or a tab; a key or reference is one line of text",
        "brp.csv:2: valid_to: contains the control character U+000B at character 11; a cell holds printable text only",
        "placements.csv:3: client: 'C\\r2' contains a line break or a tab; a key or reference is one line of text",
        "placements.csv:4: provider: contains the control character U+0007 at character 6; a cell holds printable text only",
        "placements.csv:5: provider: contains the control character U+001F at character 14; a cell holds printable "
        "text only"], problems


def test_not_a_directory(tmp_path):
    with pytest.raises(LoadError) as exc:
        load_dir(tmp_path / "nope")
    assert exc.value.problems[0].endswith(": -: is not a directory")


# Agreements -------------------------------------------------------------------------------------

TOML_CASES = [
    ("syntax", lambda t: t.replace('kind = "interregional"', 'kind = interregional'),
     "agreements.toml:17: -:", "invalid TOML"),
    ("missing", None, "agreements.toml:0: -:", "the file is missing"),
    ("single-table", lambda t: '[agreement]\nid = "x"\nkind = "pool"\n', "agreements.toml:1: -:",
     "must be [[agreement]] tables"),
    ("top-level-key", lambda t: 'version = 1\n' + t, "agreements.toml:1: version:", "unknown top-level key"),
    ("unknown-kind", lambda t: t.replace('kind = "interregional"', 'kind = "solidarity"'),
     "agreements.toml:17: kind:", "unknown kind solidarity"),
    ("no-kind", lambda t: t.replace('kind = "interregional"\n', ''), "agreements.toml:15: kind:", "is required"),
    ("no-id", lambda t: t.replace('id = "eagle"\n', ''), "agreements.toml:15: id:", "is required"),
    ("empty-id", lambda t: t.replace('id = "eagle"', 'id = ""'), "agreements.toml:16: id:",
     "must be a non-empty string"),
    ("duplicate-id", lambda t: t.replace('id = "eagle"', 'id = "ijv-solidariteit-historisch"'),
     "agreements.toml:16: id:", "duplicate agreement id ijv-solidariteit-historisch (first on line 2)"),
    ("field-unknown-region", lambda t: t.replace('region = "ijssel-vecht"', 'region = "nowhere"'),
     "agreements.toml:5: region:", "unknown region 'nowhere'"),
    ("weights-unknown-code", lambda t: t.replace('"0148" = 29000', '"0999" = 29000'),
     "agreements.toml:10: weights:", "unknown municipality code '0999'"),
    ("interregional-field", lambda t: t.replace('late_notification = "shift"', 'late_notification = "later"'),
     "agreements.toml:21: late_notification:", "must be \"shift\" or \"flag\""),
    ("unknown-field", lambda t: t.replace('notify_within_days = 14', 'notify_within = 14'),
     "agreements.toml:20: notify_within:", "is not a field of this kind of agreement"),
    ("bom", lambda t: "\ufeff" + t, "agreements.toml:1: -:", "byte order mark"),
]


@pytest.mark.parametrize("change,prefix,part", [c[1:] for c in TOML_CASES], ids=[c[0] for c in TOML_CASES])
def test_agreement_refusal(tmp_path, change, prefix, part):
    data, toml = base_data()
    new = change(toml) if change else None
    problems = problems_of(write(tmp_path / "d", data, new))
    assert any(p.startswith(prefix + " ") and part in p for p in problems), problems
    assert len(problems) == 1, problems


def test_agreement_with_unhashable_value_is_a_problem_not_a_crash(tmp_path):
    data, toml = base_data()
    new = toml.replace('regions = ["ijssel-vecht", "zuidoost-drenthe"]', 'regions = [["a"], ["b"]]')
    problems = problems_of(write(tmp_path / "d", data, new))
    assert problems and all(p.startswith("agreements.toml:") for p in problems), problems


def test_agreement_weights_line_is_found_in_subtable(tmp_path):
    data, toml = base_data()
    new = toml.replace('"0166" = 54000', '"0166" = -5')
    problems = problems_of(write(tmp_path / "d", data, new))
    assert problems == ["agreements.toml:10: weights: weight of 0166 must be a non-negative number, not -5"]


# The identity of a snapshot -----------------------------------------------------------------------

def as_loaded_before():
    """While active, the loader accepts what it accepted when pinned_data() was frozen: a line break
    in a name (refused since the hardening of 2026-12). Snapshots stored before may hold one, and
    their hashes must not change; the frozen data keep it to pin how the canonical form writes it."""
    return mock.patch.object(_loader, "_BREAK", re.compile(r"(?!)"))


def pinned_data() -> tuple[Data, str]:
    """A small dataset frozen for `test_input_hash_is_pinned` (do not edit it: its hash is pinned).

    Every table, optional cells empty and filled, and values whose order as JSON text differs from
    their order as Python strings: a prefix ("Zorg" / "Zorg A"), non-ASCII letters (JSON escapes
    them: "Cé" sorts before "Cz"), a character outside the BMP (escaped as a surrogate pair),
    quotes, a backslash, a comma and a line break inside cells."""
    data: Data = {
        "municipalities.csv": [
            ["code", "name", "iban", "street", "postcode", "city", "oin"],
            ["0193", "Zwolle", "NL38BNGH0285012345", "Grote Kerkplein 1", "8011 PK", "Zwolle", ""],
            ["0166", "Kampen", "NL34BNGH0285054321", "Burgwal 47", "8261 EP", "Kampen", "00000001001234567000"],
            ["0148", "Dalfsen \"aan de Vecht\"", "NL85BNGH0285011111", "Prinsenstraat 1", "7721 JD", "Dalfsen", ""],
            ["1900", "Súdwest-Fryslân", "NL12BNGH0285022222", "Marktstraat 15", "8601 CG", "Sneek", ""],
            ["0114", "Emmen \U0001F3E0", "NL36BNGH0285033333", "Raadhuisplein 1", "7811 AP", "Emmen\\Noord", ""],
        ],
        "regions.csv": [
            ["region", "name", "centrumgemeente", "cutover"],
            ["ijssel-vecht", "IJssel-Vecht, de regio", "0193", "2023-01-01"],
            ["zuidoost-drenthe", "Zuidoost-\nDrenthe", "0114", "2024-01-01"],
        ],
        "region_members.csv": [
            ["region", "municipality", "valid_from", "valid_to"],
            ["ijssel-vecht", "0193", "2015-01-01", ""],
            ["ijssel-vecht", "0166", "2015-01-01", ""],
            ["ijssel-vecht", "0148", "2015-01-01", "2022-12-31"],
            ["zuidoost-drenthe", "0148", "2023-01-01", ""],
            ["zuidoost-drenthe", "0114", "2015-01-01", ""],
            ["ijssel-vecht", "1900", "2015-01-01", ""],
        ],
        "products.csv": [
            ["product", "name", "domain", "bw_definition", "unit", "iwmo_category"],
            ["BW-INTRA", "Beschermd wonen intramuraal", "BW", "true", "day", "15"],
            ["BW-EXTRA", "Beschermd wonen", "BW", "false", "day", ""],
            ["MO-OPVANG", "Maatschappelijke opvang", "MO", "false", "day", "16"],
            ["WMO-THUIS", "Thuis Plus", "WMO", "false", "month", "18"],
        ],
        "tariffs.csv": [
            ["product", "region", "valid_from", "valid_to", "price"],
            ["BW-INTRA", "ijssel-vecht", "2022-01-01", "2023-12-31", "100.00"],
            ["BW-INTRA", "ijssel-vecht", "2024-01-01", "", "105.5"],
            ["BW-INTRA", "zuidoost-drenthe", "2022-01-01", "", "98.75"],
            ["BW-EXTRA", "ijssel-vecht", "2022-01-01", "", "0"],
            ["MO-OPVANG", "ijssel-vecht", "2022-01-01", "", "80"],
            ["WMO-THUIS", "zuidoost-drenthe", "2022-01-01", "", "1500.00"],
        ],
        "clients.csv": [
            ["client", "bsn"],
            ["C1", "111222333"],
            ["C1 b", "123456782"],
            ["Cé", "100000009"],
            ["Cz", "100000010"],
            ["C\"q\"", "100000022"],
        ],
        "brp.csv": [
            ["client", "municipality", "kind", "valid_from", "valid_to"],
            ["C1", "0166", "woonadres", "2000-01-01", "2023-02-28"],
            ["C1", "0193", "institution", "2023-03-01", ""],
            ["C1 b", "", "abroad", "2010-01-01", "2022-12-31"],
            ["C1 b", "0114", "briefadres", "2023-01-01", ""],
            ["Cé", "1900", "woonadres", "1990-01-01", ""],
            ["Cz", "0148", "woonadres", "1990-01-01", "2023-06-30"],
            ["Cz", "0114", "institution", "2023-07-01", ""],
            ["C\"q\"", "0193", "woonadres", "1995-05-05", ""],
        ],
        "applications.csv": [
            ["client", "region", "municipality", "date"],
            ["C1", "ijssel-vecht", "0166", "2023-02-15"],
            ["C1 b", "zuidoost-drenthe", "0114", "2023-01-05"],
            ["Cz", "zuidoost-drenthe", "0148", "2023-07-01"],
        ],
        "placements.csv": [
            ["placement", "client", "product", "region", "provider", "location", "start", "end", "financing"],
            ["P1", "C1", "BW-INTRA", "ijssel-vecht", "Zorg A", "0193", "2023-03-01", "", "ZIN"],
            ["P10", "C1 b", "BW-INTRA", "zuidoost-drenthe", "Leger des Heils", "0114", "2023-01-10", "2023-06-30",
             "PGB"],
            ["P2", "Cé", "WMO-THUIS", "zuidoost-drenthe", "Zorg", "0114", "2023-02-01", "", "ZIN"],
            ["P3", "C1", "MO-OPVANG", "ijssel-vecht", "Opvang, Zwolle", "0193", "2022-01-01", "2022-12-31", "ZIN"],
            ["P4", "Cz", "BW-INTRA", "zuidoost-drenthe", "Zorg A", "0114", "2023-07-01", "", "ZIN"],
            ["P5", "C\"q\"", "BW-EXTRA", "ijssel-vecht", "Zorg\\B", "1900", "2024-02-29", "2024-02-29", "PGB"],
        ],
        "notifications.csv": [
            ["placement", "municipality", "notified_on"],
            ["P10", "0114", "2023-01-12"],
            ["P4", "0148", "2023-07-20"],
        ],
        "declarations.csv": [
            ["placement", "month", "amount"],
            ["P10", "2023-03", "3000.00"],
            ["P1", "2023-03", "0.01"],
        ],
        "budgets.csv": [
            ["municipality", "year", "historic", "objective"],
            ["0193", "2024", "1000000.00", "900000"],
            ["0166", "2024", "", ""],
            ["0166", "2023", "12.5", ""],
        ],
    }
    toml = '''[[agreement]]
id = "ijv-solidariteit-historisch"
kind = "pool"
region = "ijssel-vecht"
valid_from = 2023-01-01
valid_to = 2025-12-31
clients = "historic"
domains = ["BW"]
[agreement.weights]
"0193" = 130000
"0166" = 54000
"1900" = 2.5

[[agreement]]
id = "eagle"
kind = "interregional"
regions = ["ijssel-vecht", "zuidoost-drenthe"]
valid_from = 2023-01-01
notify_within_days = 14
late_notification = "flag"
'''
    return data, toml


#: the hashes of pinned_data() as the loader computed them before its canonical form was made
#: faster; stored runs and receipts record them, so they must never change
PINNED_INPUT_HASH = "sha256:d50221a4e70d39e2120fc9eaeb6929538fe4c17a8477f257c5901db750fc2fe0"
PINNED_AGREEMENTS_HASH = "sha256:b6280738ec58559b988f21360b908ca3b50b50a1d6229f7d7a9f9f29e0b6b15a"


PLACEHOLDER_OIN = "00000001000000000000"


def with_oins(d: Path) -> tuple[Path, set[str]]:
    """A copy of the dataset directory `d` (written under INTERFACE.md v1, when a municipality's
    OIN was optional) with PLACEHOLDER_OIN in each empty `oin` cell, which v2 loads; and the codes
    of the municipalities that had none."""
    import shutil
    copy = d.with_name(f"{d.name}-oins")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(d, copy)
    path = copy / "municipalities.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    oin = rows[0].index("oin")
    without = {r[0] for r in rows[1:] if r[oin] == ""}
    for r in rows[1:]:
        r[oin] = r[oin] or PLACEHOLDER_OIN
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return copy, without


def load_v1(d: Path):
    """(dataset, agreements) of the dataset directory `d` written under INTERFACE.md v1, as a
    snapshot loaded then holds it: OINs None where the file has none. The loader of v2 refuses such
    data, so `with_oins(d)` is loaded (the loader's hash of it checked against the general
    definition), the placeholders are set back to None, and the dataset's hashes are what `settle
    verify` recomputes from such a snapshot's stored rows (`dataset_hashes`)."""
    copy, without = with_oins(d)
    with as_loaded_before():  # and the line break in a name, refused since
        ds, agreements = load_dir(copy)
    assert (ds.input_hash, ds.agreements_hash) == dataset_hashes(ds, agreements)
    ds.municipalities = {c: replace(m, oin=None) if c in without else m for c, m in ds.municipalities.items()}
    ds.input_hash, ds.agreements_hash = dataset_hashes(ds, agreements)
    return ds, agreements


def test_input_hash_is_pinned(tmp_path):
    """pinned_data() are data of INTERFACE.md v1: four of its municipalities have no OIN, which v2
    refuses (line 2 is the first); stored as a snapshot then, they hash to the pinned values."""
    data, toml = pinned_data()
    d = write(tmp_path / "d", data, toml)
    with pytest.raises(LoadError) as e:
        load_dir(d)
    assert [p.split(" (")[0] for p in e.value.problems] == [
        f"municipalities.csv:{line}: oin: is required" for line in (2, 4, 5, 6)] + [
        "regions.csv:3: name: 'Zuidoost-\\nDrenthe' contains a line break or a tab; a name or text is one line"]
    ds, agreements = load_v1(d)
    assert sorted(c for c, m in ds.municipalities.items() if m.oin is None) == ["0114", "0148", "0193", "1900"]
    # the general definition (what `settle verify` recomputes from stored rows) gives the pinned hashes
    assert dataset_hashes(ds, agreements) == (PINNED_INPUT_HASH, PINNED_AGREEMENTS_HASH)
    assert dataset_hashes(ds, ds.agreements) == (PINNED_INPUT_HASH, PINNED_AGREEMENTS_HASH)
    canon = canonical_tables(ds, agreements)
    assert (hash_of(canon["input"]), hash_of(canon["agreements"])) == (PINNED_INPUT_HASH, PINNED_AGREEMENTS_HASH)


# The fast paths of the large files ------------------------------------------------------------------

_IDS = ["C1", "P-7", "Cé", "C 1", " C1", "C1 ", "", " ", "\u00a0C1", "C1\u2003", "ijssel-vecht", "BW-INTRA",
        "123456782", "123456789", "42"]  # digits only: the parser notes them (a BSN?), the fast path declines
_CODES = ["0193", "1900", "193", "01934", "", " ", "0193 ", "\u0660\u0661\u0669\u0663", "abcd", "０１９３"]
_DAYS = ["2023-01-01", "2024-02-29", "2023-02-29", "2023-02-30", "2023-1-1", "", " ", "2023-01-01 ",
         "01-01-2023", "2022-12-31", "2023-12-31", "\u0662023-01-01"]
_BSNS = ["111222333", "123456782", "123456789", "000000000", "12345678", "1112223330", "", " ", "11122233 ",
         "١١١٢٢٢٣٣٣"]
_FILES = {
    "clients.csv": {"client": _IDS, "bsn": _BSNS},
    "brp.csv": {"client": _IDS, "municipality": _CODES, "kind": ["woonadres", "institution", "briefadres", "abroad",
                                                               "Woonadres", "", "abroad "],
                "valid_from": _DAYS, "valid_to": _DAYS},
    "applications.csv": {"client": _IDS, "region": _IDS, "municipality": _CODES, "date": _DAYS},
    "placements.csv": {"placement": _IDS, "client": _IDS, "product": _IDS, "region": _IDS,
                       "provider": ["Zorg A", " Zorg ", "", "  ", "x", "123456782", " 123456782 "], "location": _CODES,
                       "start": _DAYS, "end": _DAYS, "financing": ["ZIN", "PGB", "zin", "", "ZIN "],
                       "contractor": ["", "", "0114", "114", " "]},
}


@st.composite
def _plain_row(draw):
    name = draw(st.sampled_from(sorted(n for n in _FILES if n in _loader.FAST_PARSERS)))  # the files with one
    return name, {column: draw(st.sampled_from(values)) for column, values in _FILES[name].items()}


@settings(max_examples=3000, deadline=None)
@given(_plain_row(), st.integers(1, 10 ** 6))
def test_a_fast_path_gives_the_parsers_record_or_nothing(case, line):
    """For a plain row (see loader._read_csv) the fast path returns exactly the record the row's
    parser returns when it finds nothing wrong, and otherwise nothing (the parser then reports)."""
    name, cells = case
    parse, _ = _loader.PARSERS[name]
    out = _loader.Problems()
    record = parse(_loader.Row(name, line, dict(cells), out, True))  # first: it may learn the dates
    fast = _loader.FAST_PARSERS[name](dict(cells), line)
    if fast is not None:
        assert not out and fast == record
    assert (record is None) == bool(out)


def test_the_fast_paths_take_the_common_rows(tmp_path):
    """A valid dataset is read through the fast paths (all but rows with a date not seen before)."""
    data, toml = base_data()
    d = write(tmp_path / "d", data, toml)
    load_dir(d)  # learn the dates
    calls = {"fast": 0, "parser": 0}
    fast_parsers = dict(_loader.FAST_PARSERS)

    def counted(f):
        def g(cells, line):
            record = f(cells, line)
            calls["fast" if record is not None else "parser"] += 1
            return record
        return g

    try:
        _loader.FAST_PARSERS.update({name: counted(f) for name, f in fast_parsers.items()})
        ds, _ = load_dir(d)
    finally:
        _loader.FAST_PARSERS.update(fast_parsers)
    assert sorted(_loader.FAST_PARSERS) == ["brp.csv", "placements.csv"]  # those that pay (loader.FAST_PARSERS)
    assert calls == {"fast": len(ds.registrations) + len(ds.placements), "parser": 0}
