"""Spreadsheets for reconciliation (issue 15 §3): `settle export --format xlsx|csv` and the xlsx
specification each statement PDF carries.

A small hand-made dataset, March 2024 (31 days), made final. Tariffs (tests/builders.py):
BW-INTRA EUR 100.00 a day, BEGELEID EUR 1,500.00 a month, MO EUR 50.00 a day. Region `ijssel`
(centrumgemeente Zwolle 0193, members 0193 and Hardenberg 0160) beside `noord` (centrumgemeente
Assen 0106, members 0106, Aa en Hunze 1680, Tynaarlo 1730) and `zuid` (0114, 0109).
BEGELEID is booked on taakveld 6.71 (products.csv's `taakveld`); the others on their domain's:
BW 6.81a, MO 6.81b.

- P1 (K1): BW-INTRA in ijssel from 2024-03-01, woonadres Hardenberg 0160 the day before: basis
  woonplaats, payer 0160, creditor 0193 (the region's centrumgemeente), 31 x 100.00 = 3100.00.
- P2 (K2): MO in ijssel from 2024-03-11: basis mo, payer and creditor 0193, 21 days (11..31) x
  50.00 = 1050.00, status n/a.
- P3 (K3): BEGELEID in noord from 2024-01-01, woonadres Aa en Hunze 1680: woonplaats, payer 1680,
  creditor 0106, a full month: 1500.00.
- P4 (K4): BEGELEID in noord from 2024-03-01 on a briefadres in Tynaarlo 1730, reported there:
  basis vangnet with flag vangnet, payer 1730, creditor 0106, 1500.00.

Invoices (creditor -> debtor, numbered per creditor in debtor order): 0106-2024-00001 0106 -> 1680
1500.00; 0106-2024-00002 0106 -> 1730 1500.00; 0193-2024-00001 0193 -> 0160 3100.00. Zwolle's own
MO line is on no invoice. Totals: 0106 pays 0, receives 1500.00 + 1500.00 = 3000.00; 0160 pays
3100.00; 0193 pays 1050.00 and receives 3100.00 (net +2050.00); 1680 and 1730 pay 1500.00 each;
0109, 0114 nothing.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
from dataclasses import replace
from datetime import timezone
from decimal import Decimal

import openpyxl
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from builders import NOORD_HISTORIC_POOL as POOL, world
from settlement import loader, service, store
from settlement.cli import main
from settlement.demo.run import DATA
from settlement.documents.build import build_month
from settlement.documents.render import render_statement_pdf
from settlement.money import parse_euros
from settlement.periods import Month

MONTH = "2024-03"


def dataset():
    w = world()
    w.region("ijssel", "0193", ["0193", "0160"])
    w.client("K1", brp=[("woonadres", "0160", "2000-01-01", None)], applications=[("ijssel", "0160", "2024-03-01")])
    w.placement("P1", "K1", "BW-INTRA", "ijssel", "2024-03-01")
    w.client("K2", brp=[("woonadres", "0193", "2000-01-01", None)])
    w.placement("P2", "K2", "MO", "ijssel", "2024-03-11")
    w.client("K3", brp=[("woonadres", "1680", "2000-01-01", None)], applications=[("noord", "1680", "2024-01-01")])
    w.placement("P3", "K3", "BEGELEID", "noord", "2024-01-01")
    w.client("K4", brp=[("briefadres", "1730", "2000-01-01", None)], applications=[("noord", "1730", "2024-03-01")])
    w.placement("P4", "K4", "BEGELEID", "noord", "2024-03-01")
    w.products["BEGELEID"] = replace(w.products["BEGELEID"], taakveld="6.71")
    ds = w.build()
    ds.clients = {c: replace(client, bsn=b) for (c, client), b in
                  zip(sorted(ds.clients.items()), ("999990019", "999990020", "999990032", "999990044"))}
    ds.input_hash, ds.agreements_hash = "sha256:formats", "sha256:none"
    return ds


@pytest.fixture
def final(db_url, monkeypatch):
    """March 2024 settled and final."""
    monkeypatch.setenv("SETTLEMENT_WORKERS", "1")
    engine = service.init(db_url)
    store.save_snapshot(engine, dataset(), "", "test")
    service.run_months(engine, [Month(2024, 3)])
    service.finalize(engine, Month(2024, 3))
    yield db_url, engine
    engine.dispose()


def settle(url, *args, code=0):
    r = CliRunner().invoke(main, ["--db", url, *args], catch_exceptions=False)
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output
    return r


def rows(ws):
    """A sheet as (headers, [row as {header: cell}])."""
    cells = list(ws.iter_rows())
    headers = [c.value for c in cells[0]]
    return headers, [dict(zip(headers, row)) for row in cells[1:]]


HEAD = ["Maand", "Run", "Soort run"]
LINE_HEADERS = HEAD + [
    "Plaatsing", "Cliënt (pseudoniem)", "Product", "Productnaam", "Taakveld", "Taakveld (naam)", "Zorgregio",
    "Dagen", "Bedrag", "Status", "Status (woorden)", "Grondslag", "Grondslag (woorden)", "Betaler",
    "Betaler (naam)", "Pool", "Schuldeiser", "Schuldeiser (naam)", "Kenmerken", "Kenmerken (woorden)",
    "Factuurnummer", "Soort factuur", "Soort factuur (woorden)"]

# placement -> (payer, creditor, days, cents, basis, basis in words, taakveld, invoice), from the docstring
LINES = {
    "P1": ("0160", "0193", 31, 31 * 10000, "woonplaats", "Nieuwe cliënten: woonplaats", "6.81a", "0193-2024-00001"),
    "P2": ("0193", "0193", 21, 21 * 5000, "mo", "Maatschappelijke opvang", "6.81b", None),
    "P3": ("1680", "0106", 31, 150000, "woonplaats", "Nieuwe cliënten: woonplaats", "6.71", "0106-2024-00001"),
    "P4": ("1730", "0106", 31, 150000, "vangnet", "Vangnet", "6.71", "0106-2024-00002"),
}
# code -> (payable, receivable) in cents
TOTALS = {"0106": (0, 300000), "0109": (0, 0), "0114": (0, 0), "0160": (310000, 0), "0193": (105000, 310000),
          "1680": (150000, 0), "1730": (150000, 0)}


def test_the_xlsx_has_the_four_sheets_codes_as_text_and_the_exports_amounts(final, tmp_path):
    url, _ = final
    settle(url, "export", "--month", MONTH, "--format", "xlsx", "--out", str(tmp_path / "m.xlsx"))
    doc = json.loads(settle(url, "export", "--month", MONTH).output)
    wb = openpyxl.load_workbook(tmp_path / "m.xlsx")
    assert wb.sheetnames == ["Regels", "Pools", "Facturen", "Totalen"]

    headers, lines = rows(wb["Regels"])
    assert headers == LINE_HEADERS
    by_placement = {r["Plaatsing"].value: r for r in lines}
    assert sorted(by_placement) == sorted(LINES)
    exported = {l["placement"]: l for l in doc["lines"]}
    for placement, (payer, creditor, days, cents, basis, words, taakveld, invoice) in LINES.items():
        r = by_placement[placement]
        assert (r["Betaler"].value, r["Schuldeiser"].value, r["Dagen"].value) == (payer, creditor, days)
        assert r["Betaler"].data_type == r["Schuldeiser"].data_type == "s"  # 0193, 0160, 0106 stay text
        # the amount: a number with two decimals, the export's cents exactly
        assert r["Bedrag"].data_type == "n" and r["Bedrag"].number_format == "#,##0.00"
        assert Decimal(str(r["Bedrag"].value)) * 100 == cents == parse_euros(exported[placement]["amount"])
        assert (r["Grondslag"].value, r["Grondslag (woorden)"].value) == (basis, words)
        assert r["Taakveld"].value == taakveld
        assert r["Factuurnummer"].value == invoice
        assert r["Soort factuur"].value == ("invoice" if invoice else None)
        assert r["Soort factuur (woorden)"].value == ("Factuur" if invoice else None)
        assert (r["Maand"].value, r["Soort run"].value) == (MONTH, "definitief")
    assert by_placement["P1"]["Betaler (naam)"].value == "Hardenberg"
    assert by_placement["P1"]["Schuldeiser (naam)"].value == "Zwolle"
    assert by_placement["P2"]["Taakveld (naam)"].value == "Geëscaleerde zorg 18+: maatschappelijke opvang"
    assert by_placement["P3"]["Taakveld (naam)"].value == "Maatwerkdienstverlening 18+"
    assert (by_placement["P2"]["Status"].value, by_placement["P2"]["Status (woorden)"].value) == ("n/a", "n.v.t.")
    assert (by_placement["P4"]["Kenmerken"].value, by_placement["P4"]["Kenmerken (woorden)"].value) == \
        ("vangnet", "vangnet")
    assert by_placement["P1"]["Kenmerken"].value is None

    headers, pools = rows(wb["Pools"])
    assert headers[:4] == HEAD + ["Afspraak"] and pools == []  # no pool in this dataset

    headers, invoices = rows(wb["Facturen"])
    assert headers == HEAD + ["Factuurnummer", "Soort factuur", "Soort factuur (woorden)", "Corrigeert", "Schuldeiser",
                              "Schuldeiser (naam)", "Debiteur", "Debiteur (naam)", "Bedrag"]
    assert [(r["Factuurnummer"].value, r["Soort factuur (woorden)"].value, r["Schuldeiser"].value,
             r["Debiteur"].value, round(Decimal(str(r["Bedrag"].value)) * 100)) for r in invoices] == [
        ("0106-2024-00001", "Factuur", "0106", "1680", 150000),
        ("0106-2024-00002", "Factuur", "0106", "1730", 150000),
        ("0193-2024-00001", "Factuur", "0193", "0160", 310000)]

    headers, totals = rows(wb["Totalen"])
    assert headers == HEAD + ["Gemeente", "Gemeente (naam)", "Te betalen", "Te ontvangen",
                              "Saldo (te ontvangen − te betalen)"]
    got = {r["Gemeente"].value: tuple(Decimal(str(r[h].value)) * 100 for h in headers[-3:]) for r in totals}
    assert got == {c: (p, r, r - p) for c, (p, r) in TOTALS.items()}
    assert {c: (parse_euros(t["payable"]), parse_euros(t["receivable"])) for c, t in doc["totals"].items()} == TOTALS
    assert all(r["Gemeente"].data_type == "s" for r in totals)
    # what the lines cost is what the municipalities pay: 3100.00 + 1050.00 + 1500.00 + 1500.00 = 7150.00
    assert sum(v[3] for v in LINES.values()) == sum(p for p, _ in TOTALS.values()) == 715000


def test_the_xlsx_is_the_same_bytes_on_a_second_run_and_dated_by_the_run(final, tmp_path):
    url, engine = final
    settle(url, "export", "--month", MONTH, "--format", "xlsx", "--out", str(tmp_path / "a.xlsx"))
    time.sleep(1.1)  # a clock in the workbook would show now
    settle(url, "export", "--month", MONTH, "--format", "xlsx", "--out", str(tmp_path / "b.xlsx"))
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    with engine.connect() as conn:
        run = store.latest_run(conn, MONTH)
    finalised = run.finalized_at.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)
    assert openpyxl.load_workbook(tmp_path / "a.xlsx").properties.created == finalised


def test_the_csv_files_are_the_dutch_excel_dialect(final, tmp_path):
    url, _ = final
    r = settle(url, "export", "--month", MONTH, "--format", "csv", "--out", str(tmp_path / "csv"))
    names = sorted(p.name for p in (tmp_path / "csv").iterdir())
    assert names == [f"export-{MONTH}-{s}.csv" for s in ("facturen", "pools", "regels", "totalen")]
    assert r.output.count("wrote ") == 4
    raw = (tmp_path / "csv" / f"export-{MONTH}-regels.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    text = raw[3:].decode("utf-8")
    assert text.endswith("\r\n") and text.count("\r\n") == text.count("\n") == 1 + 4  # CRLF, header and 4 lines
    table = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert table[0] == LINE_HEADERS
    by_placement = {row[3]: dict(zip(LINE_HEADERS, row)) for row in table[1:]}
    p1 = by_placement["P1"]
    assert p1["Bedrag"] == "3100,00" and p1["Dagen"] == "31"  # decimal comma, whole days
    # a code Excel would read as the number 193, even quoted: written as the text formula ="0193"
    assert (p1["Betaler"], p1["Schuldeiser"], p1["Factuurnummer"]) == ('="0160"', '="0193"', '="0193-2024-00001"')
    assert p1["Taakveld"] == "6.81a" and by_placement["P3"]["Taakveld"] == '="6.71"'  # 6.71 would become a number
    assert (p1["Grondslag"], p1["Grondslag (woorden)"]) == ("woonplaats", "Nieuwe cliënten: woonplaats")
    assert by_placement["P2"]["Bedrag"] == "1050,00" and by_placement["P2"]["Factuurnummer"] == ""
    # the quoted field as the file holds it
    assert ';"=""0193""";' in text
    totals = list(csv.reader(io.StringIO((tmp_path / "csv" / f"export-{MONTH}-totalen.csv").read_bytes()[3:]
                                         .decode("utf-8"), newline=""), delimiter=";"))
    zwolle = next(row for row in totals if row[3] == '="0193"')
    assert zwolle[-3:] == ["1050,00", "3100,00", "2050,00"]


def test_refusals_of_csv_and_the_json_default(final, tmp_path):
    url, _ = final
    r = settle(url, "export", "--month", MONTH, "--format", "csv", code=2)
    assert r.output.strip().count("\n") == 0 and "--out DIR" in r.output
    (tmp_path / "f").write_text("x")
    r = settle(url, "export", "--month", MONTH, "--format", "csv", "--out", str(tmp_path / "f"), code=2)
    assert "is a file" in r.output and (tmp_path / "f").read_text() == "x"
    r = settle(url, "export", "--month", MONTH, "--format", "xlsx", "--out", str(tmp_path), code=2)
    assert "is a folder" in r.output
    # json stays the default, the same bytes as the export the run's hash records
    default = settle(url, "export", "--month", MONTH).output
    assert settle(url, "export", "--month", MONTH, "--format", "json").output == default
    assert default == service.export_month(service.open_db(url), Month(2024, 3))


def _specification(pdf: bytes):
    attachments = PdfReader(io.BytesIO(pdf)).attachments
    return attachments, {name: openpyxl.load_workbook(io.BytesIO(data[0])) for name, data in attachments.items()}


def _cells(wb) -> set:
    return {c.value for ws in wb for row in ws.iter_rows() for c in row if c.value is not None}


def test_each_statement_carries_its_own_rows_only_and_renders_the_same_bytes(final):
    _, engine = final
    with engine.connect() as conn:
        statements, _ = build_month(conn, MONTH)
    by_code = {st.municipality.code: st for st in statements}
    pdfs = {code: render_statement_pdf(by_code[code]) for code in ("0106", "0193", "1730")}

    attachments, books = _specification(pdfs["1730"])
    assert list(attachments) == ["specificatie-2024-03-1730.xlsx"]
    # the printed pages say it is there (a controller need not find the viewer's attachment panel)
    from settlement.documents.render import statement_html
    assert "Bijlage in dit PDF-bestand: de specificatie als spreadsheet, specificatie-2024-03-1730.xlsx" in \
        " ".join(statement_html(by_code["1730"]).split())
    wb = books["specificatie-2024-03-1730.xlsx"]
    assert wb.sheetnames == ["Regels", "Pools", "Facturen", "Totalen"]
    _, lines = rows(wb["Regels"])
    assert [(r["Plaatsing"].value, r["Betaler"].value, Decimal(str(r["Bedrag"].value))) for r in lines] == \
        [("P4", "1730", Decimal("1500"))]
    _, invoices = rows(wb["Facturen"])
    assert [r["Factuurnummer"].value for r in invoices] == ["0106-2024-00002"]
    _, totals = rows(wb["Totalen"])
    assert [(r["Gemeente"].value, Decimal(str(r["Te betalen"].value))) for r in totals] == [("1730", Decimal("1500"))]
    assert not _cells(wb) & {"K1", "K2", "K3", "P1", "P2", "P3"}  # no other municipality's client

    # Assen contracted P3 and P4, but pays neither: its specification has their invoices, not their clients
    _, books = _specification(pdfs["0106"])
    wb = books["specificatie-2024-03-0106.xlsx"]
    assert rows(wb["Regels"])[1] == []
    assert [r["Factuurnummer"].value for r in rows(wb["Facturen"])[1]] == ["0106-2024-00001", "0106-2024-00002"]
    assert not _cells(wb) & {"K1", "K2", "K3", "K4", "P1", "P2", "P3", "P4"}

    # Zwolle: its own MO client, not Hardenberg's K1 (whose placement it contracted)
    _, books = _specification(pdfs["0193"])
    wb = books["specificatie-2024-03-0193.xlsx"]
    assert [r["Plaatsing"].value for r in rows(wb["Regels"])[1]] == ["P2"]
    assert not _cells(wb) & {"K1", "P1", "K3", "K4"}
    assert not any(b in str(_cells(wb)) for b in ("999990019", "999990020"))  # never a BSN

    # a second build and render: the same bytes
    with engine.connect() as conn:
        again, _ = build_month(conn, MONTH)
    assert render_statement_pdf(next(st for st in again if st.municipality.code == "1730")) == pdfs["1730"]


def _products_with_taakveld(tmp_path, values):
    """The demo data with a `taakveld` column in products.csv: values[i] for the i-th product."""
    d = tmp_path / "data"
    shutil.copytree(DATA, d)
    with open(d / "products.csv", newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    table[0].append("taakveld")
    for i, row in enumerate(table[1:]):
        row.append(values[i] if i < len(values) else "")
    with open(d / "products.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(table)
    return d, [row[0] for row in table[1:]]


def test_products_csv_may_name_a_taakveld(tmp_path):
    plain, _ = loader.load_dir(DATA)
    empty, _ = loader.load_dir(_products_with_taakveld(tmp_path / "e", [])[0])
    assert empty.input_hash == plain.input_hash  # an empty column: the same snapshot
    folder, products = _products_with_taakveld(tmp_path / "n", ["6.71"])
    named, _ = loader.load_dir(folder)
    assert named.products[products[0]].taakveld == "6.71" and named.input_hash != plain.input_hash
    with pytest.raises(loader.LoadError) as refused:
        loader.load_dir(_products_with_taakveld(tmp_path / "b", ["", "681a"])[0])
    assert refused.value.problems == ["products.csv:3: taakveld: 681a is not an Iv3 taakveld such as 6.81a"]




@pytest.fixture
def pooled(db_url, monkeypatch):
    """One historic client in noord, pooled 2:1:1 (0106, 1680, 1730): KH in BW-INTRA since
    2022-06-01, March 2024 31 x 100.00 = 3100.00 for the pool; shares 2/4 = 1550.00 (Assen, the
    creditor), 1/4 = 775.00 each for 1680 and 1730, invoiced by Assen: 0106-2024-00001 to 1680,
    0106-2024-00002 to 1730."""
    monkeypatch.setenv("SETTLEMENT_WORKERS", "1")
    w = world()
    w.client("KH", brp=[("woonadres", "0106", "2000-01-01", None)], applications=[("noord", "0106", "2022-06-01")])
    w.placement("PH", "KH", "BW-INTRA", "noord", "2022-06-01")
    ds = w.build()
    ds.clients = {"KH": replace(ds.clients["KH"], bsn="999990019")}
    ds.input_hash, ds.agreements_hash = "sha256:pooled", "sha256:pool"
    engine = service.init(db_url)
    store.save_snapshot(engine, ds, POOL, "test")
    service.run_months(engine, [Month(2024, 3)])
    service.finalize(engine, Month(2024, 3))
    yield db_url, engine
    engine.dispose()


def test_a_pool_share_per_row_and_the_pooled_client_only_with_its_creditor(pooled, tmp_path):
    url, engine = pooled
    settle(url, "export", "--month", MONTH, "--format", "xlsx", "--out", str(tmp_path / "m.xlsx"))
    wb = openpyxl.load_workbook(tmp_path / "m.xlsx")
    _, shares = rows(wb["Pools"])
    euro = lambda cell: Decimal(str(cell.value)) if cell.value is not None else None  # noqa: E731
    assert [(r["Afspraak"].value, r["Afspraak (naam)"].value, r["Taakveld"].value, r["Schuldeiser"].value,
             euro(r["Kosten pool"]), euro(r["Budgetdeel"]), euro(r["Resultaat pool"]), r["Gemeente"].value,
             euro(r["Aandeel"]), r["Factuurnummer"].value) for r in shares] == [
        ("noord-historisch", "Solidariteit Noord historisch", "6.81a", "0106", 3100, 0, 3100, "0106", 1550, None),
        ("noord-historisch", "Solidariteit Noord historisch", "6.81a", "0106", 3100, 0, 3100, "1680", 775,
         "0106-2024-00001"),
        ("noord-historisch", "Solidariteit Noord historisch", "6.81a", "0106", 3100, 0, 3100, "1730", 775,
         "0106-2024-00002")]
    (line,) = rows(wb["Regels"])[1]
    assert (line["Plaatsing"].value, line["Betaler"].value, line["Pool"].value, line["Grondslag"].value,
            line["Grondslag (woorden)"].value) == ("PH", None, "noord-historisch", "pool", "Solidariteitspool")

    with engine.connect() as conn:
        statements, _ = build_month(conn, MONTH)
    by_code = {st.municipality.code: st for st in statements}
    _, books = _specification(render_statement_pdf(by_code["1730"]))
    wb = books["specificatie-2024-03-1730.xlsx"]
    assert [(r["Gemeente"].value, euro(r["Aandeel"])) for r in rows(wb["Pools"])[1]] == [("1730", 775)]
    assert rows(wb["Regels"])[1] == [] and not _cells(wb) & {"KH", "PH"}  # the pooled client is Assen's
    _, books = _specification(render_statement_pdf(by_code["0106"]))
    wb = books["specificatie-2024-03-0106.xlsx"]
    assert [r["Plaatsing"].value for r in rows(wb["Regels"])[1]] == ["PH"]
    assert [r["Gemeente"].value for r in rows(wb["Pools"])[1]] == ["0106", "1680", "1730"]


def test_an_xlsx_amount_is_the_exact_decimal_of_its_cents():
    """€ 84.197,04 as a float is 84197.03999999999 in 16 digits; the cell holds 84197.04 itself."""
    import re
    import zipfile
    from datetime import datetime
    from settlement.spreadsheet import COLUMNS, Book, Sheet, to_xlsx
    row = (MONTH, 1, "definitief", "0014", "Groningen", 8_419_704, 1, -8_419_703)  # net = 1 - 8419704 cents
    data = to_xlsx(Book("t", "a", datetime(2024, 4, 1), (Sheet("totals", COLUMNS["totals"], (row,)),)))
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert re.findall(r"<v>(-?[0-9.]+)</v>", xml)[-3:] == ["84197.04", "0.01", "-84197.03"]
    assert [c.value for c in openpyxl.load_workbook(io.BytesIO(data)).active[2]][-3:] == [84197.04, 0.01, -84197.03]


def test_an_xlsx_is_not_written_to_a_terminal(final):
    """Binary on a terminal is refused with one sentence; nothing is written to it."""
    import os
    import pty
    import subprocess
    import sys
    from pathlib import Path
    url, _ = final
    root = Path(__file__).resolve().parent.parent
    master, slave = pty.openpty()
    try:
        p = subprocess.run([sys.executable, str(root / "cli.py"), "--db", url, "export", "--month", MONTH,
                            "--format", "xlsx"], stdout=slave, stderr=subprocess.PIPE, text=True, timeout=120,
                           cwd=root)
    finally:
        os.close(slave)
        os.close(master)
    assert p.returncode == 2
    assert p.stderr.startswith("error: an xlsx is binary and standard output is a terminal") and \
        p.stderr.count("\n") == 1
