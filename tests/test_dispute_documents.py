"""Disputes on the documents (RULES.md v2 §4.0; INTERFACE.md v2 `disputes.csv`, `rulings.csv`,
flag `contested`): statements and invoices mark every contested line "betwist" with its dispute's
number, the UBL line's Note carries the mark, and the statement of the municipality that raised a
dispute lists it while it is open, with what is at stake in the month.

The data (tests/test_loader.base_data, figures by hand): BW-INTRA in ijssel-vecht (centrumgemeente
Zwolle 0193) EUR 105.50 a day from 2024-01-01; every placement below is new (its chain starts after
the cutover 2023-01-01) and paid by the municipality of the client's woonadres (woonplaatsbeginsel):

  P1  C1  from 2023-03-01, woonadres before the institution: 0166 Kampen
  P6  C4  from 2023-05-01, woonadres 0109 Coevorden
  P7  C5  from 2024-03-11, woonadres 0109 Coevorden (added here: a second line on Coevorden's invoice)

  D1  about P6, raised by Coevorden 0109 on 2024-03-10, never ruled on: open at the end of March
  D2  about P1, raised by Dalfsen 0148 (neither P1's payer nor its creditor) on 2024-02-20, ruled on
      by U2 (payer 0166, valid from 2024-03-01, decided 2024-03-20): open at the end of February,
      ruled on by the end of March

February 2024 (29 days): P1 29 x 105.50 = 3,059.50, contested (D2); P6 3,059.50, not contested
(D1 is raised in March). March 2024 (31 days): P1 31 x 105.50 = 3,270.50 (basis ruling, not
contested: D2 is ruled on 20 March); P6 3,270.50, contested (D1); P7 21 days (11..31 March) x
105.50 = 2,215.50, not contested.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from xml.etree.ElementTree import fromstring

import pytest
from click.testing import CliRunner
from sqlalchemy import event

from settlement import db, nl
from settlement.cli import main
from settlement.documents.build import build_month
from settlement.documents.render import invoice_html, render_statement_pdf, statement_html
from settlement.documents.ubl import invoice_xml
from tests.test_loader import BSNS, base_data, write

C5_BSN = "100000022"
NS = {"inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
      "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
      "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}


def ok(db_url: str, *args: str) -> str:
    r = CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def _rows(header, *rows):
    return [header.split(","), *[list(r) for r in rows]]


@pytest.fixture
def months(tmp_path, monkeypatch, db_url):
    """February and March 2024 settled and final; the documents of each, built."""
    monkeypatch.setenv("SETTLEMENT_NOW", "2024-04-15T12:00:00+00:00")
    data, toml = base_data()
    data["clients.csv"].append(["C5", C5_BSN])
    data["brp.csv"].append(["C5", "0109", "woonadres", "1990-01-01", ""])
    data["placements.csv"].append(["P7", "C5", "BW-INTRA", "ijssel-vecht", "Zorggroep A", "0193", "2024-03-11", "", "ZIN"])
    data["disputes.csv"] = _rows("dispute,placement,raised_by,raised_on,subject",
                                 ("D1", "P6", "0109", "2024-03-10", "woonplaats van C4 vóór de plaatsing"),
                                 ("D2", "P1", "0148", "2024-02-20", "woonadres vóór de instelling"))
    data["rulings.csv"] = _rows("ruling,dispute,placement,payer,valid_from,decided_on,reference",
                                ("U2", "D2", "P1", "0166", "2024-03-01", "2024-03-20", "GC 2024/3"))
    ok(db_url, "init")
    ok(db_url, "load", str(write(tmp_path / "data", data, toml)))
    exports = {}
    for m in ("2024-02", "2024-03"):
        ok(db_url, "run", "--month", m)
        exports[m] = json.loads(ok(db_url, "export", "--month", m))
        ok(db_url, "finalize", "--month", m)
    engine = db.make_engine(db_url)
    queries: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda conn, cur, stmt, *a: queries.append(stmt))
    docs = {}
    try:
        with engine.connect() as conn:
            for m in exports:
                queries.clear()
                docs[m] = build_month(conn, m)
                # the disputes and rulings are read once per build, whatever the number of lines
                tables = Counter(t for q in queries for t in re.findall(r"\bFROM\s+\"?(\w+)", q))
                assert tables[db.DisputeRow.__tablename__] == 1 and tables[db.RulingRow.__tablename__] == 1, tables
    finally:
        engine.dispose()
    return exports, docs


def statement(docs, month, code):
    return next(s for s in docs[month][0] if s.municipality.code == code)


def invoice(docs, month, creditor, debtor):
    [inv] = [i for i in docs[month][1] if (i.creditor.code, i.debtor.code) == (creditor, debtor)]
    return inv


def rows(html: str) -> list[str]:
    return re.findall(r"<tr[^>]*>.*?</tr>", html, re.S)


def rows_with(html: str, text: str) -> list[str]:
    return [r for r in rows(html) if text in r]


def ids(row: str) -> list[str]:
    """The identifiers of a cost table's row (pseudonym, BSN, placement, product: one cell, padded)."""
    return [word for cell in re.findall(r'<td class="ids">([^<]*)</td>', row) for word in cell.split()]


def line_rows(html: str, placement: str) -> list[str]:
    """The rows of the cost tables (not of the list of open disputes) of `placement`."""
    return [r for r in rows(html) if placement in ids(r)]


def test_the_engine_flags_what_the_documents_mark(months):
    # the flags the documents follow, as settled: contested exactly while a dispute is open at month end
    exports, _ = months
    flags = {(m, l["placement"]): l["flags"] for m, doc in exports.items() for l in doc["lines"]
             if l["placement"] in ("P1", "P6", "P7")}
    assert flags == {("2024-02", "P1"): ["contested"], ("2024-02", "P6"): [],
                     ("2024-03", "P1"): [], ("2024-03", "P6"): ["contested"], ("2024-03", "P7"): []}


def test_a_statement_marks_exactly_the_contested_lines_with_the_dispute_number(months):
    _, docs = months
    coevorden = statement(docs, "2024-03", "0109")
    assert {(l.placement, l.amount, l.disputes) for l in coevorden.lines} == {
        ("P6", 327050, ("D1",)),  # 31 x 105.50
        ("P7", 221550, ()),  # 21 x 105.50
    }
    html = statement_html(coevorden)
    # the cost table's row of P6 (the list of open disputes names P6 too, in a row of its own)
    p6 = [r for r in line_rows(html, "P6") if "C4" in ids(r)]
    assert len(p6) == 1 and ">betwist<" in p6[0] and "geschil D1" in p6[0]
    [p7] = line_rows(html, "P7")
    assert "betwist" not in p7 and "geschil" not in p7
    # the legend says what betwist means: the rules settle the line until the committee rules
    assert nl.flag_explanation("contested") in html
    assert "tot de uitspraak" in nl.flag_explanation("contested").lower()
    assert "correctie" in nl.flag_explanation("contested")
    # February: P6 was not yet contested (D1 was raised on 10 March): no mark, no legend entry
    feb = statement_html(statement(docs, "2024-02", "0109"))
    assert "betwist" not in feb and "geschil D1" not in feb


def test_the_payer_who_did_not_raise_the_dispute_sees_the_mark_and_not_the_list(months):
    _, docs = months
    kampen = statement(docs, "2024-02", "0166")
    assert [(l.placement, l.amount, l.disputes) for l in kampen.lines] == [("P1", 305950, ("D2",))]  # 29 x 105.50
    assert kampen.open_disputes == ()  # Dalfsen raised D2, not Kampen
    html = statement_html(kampen)
    [p1] = line_rows(html, "P1")
    assert ">betwist<" in p1 and "geschil D2" in p1 and BSNS[0] in ids(p1)  # Kampen pays: its client's BSN
    assert nl.OPEN_DISPUTES["title"] not in html
    # March: D2 ruled on 20 March; P1 is settled on the ruling and no longer contested
    march = statement(docs, "2024-03", "0166")
    assert [(l.placement, l.basis, l.amount, l.disputes) for l in march.lines] == [("P1", "ruling", 327050, ())]
    assert "betwist" not in statement_html(march)


def test_the_raisers_statement_lists_its_open_disputes_with_the_amount_at_stake(months):
    _, docs = months
    # March: Coevorden raised D1 about P6; at stake in March: P6's line, 31 x 105.50 = 3,270.50
    coevorden = statement(docs, "2024-03", "0109")
    [d1] = coevorden.open_disputes
    assert (d1.dispute, d1.placement, d1.client, d1.subject, d1.raised_on.isoformat(), d1.at_stake) == (
        "D1", "P6", "C4", "woonplaats van C4 vóór de plaatsing", "2024-03-10", 327050)
    html = statement_html(coevorden)
    words = nl.OPEN_DISPUTES
    assert words["title"] in html
    [row] = [r for r in rows_with(html, ">D1<")]
    assert ">P6<" in row and ">C4<" in row and "10 maart 2024" in row and "3.270,50" in row
    assert "woonplaats van C4 vóór de plaatsing" in row
    # February: Dalfsen raised D2 about P1 (Kampen's resident): open at the end of February; at stake
    # P1's February line, 29 x 105.50 = 3,059.50. Dalfsen neither pays nor contracts P1: the
    # pseudonym and the placement, never the BSN
    dalfsen = statement(docs, "2024-02", "0148")
    assert [(o.dispute, o.placement, o.client, o.at_stake) for o in dalfsen.open_disputes] == [("D2", "P1", "C1", 305950)]
    feb_html = statement_html(dalfsen)
    [row] = rows_with(feb_html, ">D2<")
    assert ">P1<" in row and "3.059,50" in row and "20 februari 2024" in row
    assert BSNS[0] not in feb_html  # C1's BSN
    assert not [l for l in dalfsen.lines if l.placement == "P1"]  # and no line of P1: Kampen pays it
    # March: D2 is ruled on (20 March): no longer listed as open; D1 is Coevorden's, not Dalfsen's
    dalfsen_march = statement(docs, "2024-03", "0148")
    assert dalfsen_march.open_disputes == ()
    assert words["title"] not in statement_html(dalfsen_march)
    # nobody else lists a dispute
    assert [s.municipality.code for s in docs["2024-03"][0] if s.open_disputes] == ["0109"]
    assert [s.municipality.code for s in docs["2024-02"][0] if s.open_disputes] == ["0148"]


def test_the_invoice_bills_the_contested_lines_on_a_line_of_their_own_with_the_mark(months):
    _, docs = months
    inv = invoice(docs, "2024-03", "0193", "0109")
    # P7 2,215.50 (not contested), then P6 3,270.50 contested by D1: 5,486.00 in all
    assert [(l.basis, l.quantity, l.amount, l.disputes) for l in inv.lines] == [
        ("woonplaats", 1, 221550, ()), ("woonplaats", 1, 327050, ("D1",))]
    assert inv.total == 548600
    html = invoice_html(inv)
    plain, contested = [r for r in rows(html) if "2.215,50" in r or "3.270,50" in r]
    assert "2.215,50" in plain and "betwist" not in plain
    assert "3.270,50" in contested and "betwist (geschil D1)" in contested
    assert nl.flag_explanation("contested") in html
    # no client of Coevorden on the invoice: the specification is on the statement
    assert "C4" not in html and BSNS[3] not in html and "P6" not in html
    # the UBL: the contested line's Note carries the mark, the other's does not
    root = fromstring(invoice_xml(inv))
    notes = [line.find("cbc:Note", NS).text for line in root.findall("cac:InvoiceLine", NS)]
    assert len(notes) == 2
    assert "betwist" not in notes[0]
    assert "betwist (geschil D1)" in notes[1] and "1 kostenregel(s)" in notes[1]
    amounts = [line.find("cbc:LineExtensionAmount", NS).text for line in root.findall("cac:InvoiceLine", NS)]
    assert amounts == ["2215.50", "3270.50"]
    # February: nothing of P6 was contested: one line, no mark
    feb = invoice(docs, "2024-02", "0193", "0109")
    assert [(l.quantity, l.amount, l.disputes) for l in feb.lines] == [(1, 305950, ())]
    assert b"betwist" not in invoice_xml(feb)


def test_the_creditors_summary_names_the_contested_row(months):
    # Zwolle contracted P6 and P7: what Coevorden owes it follows the invoice, the contested row
    # marked; no client of Coevorden on Zwolle's statement
    _, docs = months
    zwolle = statement(docs, "2024-03", "0193")
    got = [(r.debtor.code, r.basis, r.lines, r.days, r.amount, r.disputes) for r in zwolle.receivables if r.debtor.code == "0109"]
    assert got == [("0109", "woonplaats", 1, 21, 221550, ()), ("0109", "woonplaats", 1, 31, 327050, ("D1",))]
    html = statement_html(zwolle)
    assert [r for r in rows(html) if "betwist (geschil D1)" in r and "3.270,50" in r]
    assert nl.flag_explanation("contested") in html  # the mark is explained in the legend
    assert ">C4<" not in html and BSNS[3] not in html
    assert not [r for r in rows(html) if "C4" in ids(r)]  # nor in a cost table's identifiers


def test_the_raisers_statement_renders_as_pdf(months, tmp_path):
    _, docs = months
    data = render_statement_pdf(statement(docs, "2024-03", "0109"))
    assert data.startswith(b"%PDF")
    (tmp_path / "afrekening-2024-03-0109.pdf").write_bytes(data)


def test_a_correction_of_a_contested_month_keeps_the_mark_on_the_credit_note_and_the_invoice(tmp_path, monkeypatch, db_url):
    """P6 contested by Coevorden (D1, raised 2024-03-10); March 2024 final with Coevorden paying
    (woonplaats, 31 x 105.50 = 3,270.50). Then the ruling U1 (on D1, Kampen 0166 pays from
    2024-02-01, decided 2024-05-15) corrects March: -3,270.50 for Coevorden (a credit note from
    Zwolle) and +3,270.50 for Kampen (basis ruling, an invoice from Zwolle). At the end of March D1
    was still open (decided in May), so both correction lines are contested and both documents
    carry the mark; Coevorden's March statement still lists D1, at stake 3,270.50 - 3,270.50 +
    3,270.50 = 3,270.50 (the final run and its correction)."""
    monkeypatch.setenv("SETTLEMENT_NOW", "2024-07-15T12:00:00+00:00")
    data, toml = base_data()
    data["disputes.csv"] = _rows("dispute,placement,raised_by,raised_on,subject",
                                 ("D1", "P6", "0109", "2024-03-10", "woonplaats van C4 vóór de plaatsing"))
    ok(db_url, "init")
    ok(db_url, "load", str(write(tmp_path / "before", data, toml)))
    ok(db_url, "run", "--month", "2024-03")
    ok(db_url, "finalize", "--month", "2024-03")
    data["rulings.csv"] = _rows("ruling,dispute,placement,payer,valid_from,decided_on,reference",
                                ("U1", "D1", "P6", "0166", "2024-02-01", "2024-05-15", "GC 2024/7"))
    ok(db_url, "load", str(write(tmp_path / "after", data, toml)))
    assert "correction" in ok(db_url, "run", "--month", "2024-03")
    ok(db_url, "finalize", "--month", "2024-03")
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as conn:
            statements, invoices = build_month(conn, "2024-03")
    finally:
        engine.dispose()
    docs = {"2024-03": (statements, invoices)}
    coevorden = statement(docs, "2024-03", "0109")
    assert [(l.placement, l.correction, l.amount, l.disputes) for l in coevorden.lines if l.placement == "P6"] == [
        ("P6", False, 327050, ("D1",)), ("P6", True, -327050, ("D1",))]
    assert [(o.dispute, o.at_stake) for o in coevorden.open_disputes] == [("D1", 327050)]
    kampen = statement(docs, "2024-03", "0166")
    [ruled] = [l for l in kampen.lines if l.placement == "P6"]
    assert (ruled.basis, ruled.correction, ruled.amount, ruled.disputes) == ("ruling", True, 327050, ("D1",))
    [row] = line_rows(statement_html(kampen), "P6")
    assert ">betwist<" in row and "geschil D1" in row and ">correctie<" in row
    [credit] = [i for i in invoices if (i.creditor.code, i.debtor.code, i.kind) == ("0193", "0109", "credit_note")]
    assert [(l.basis, l.quantity, l.amount, l.disputes) for l in credit.lines] == [("woonplaats", 1, -327050, ("D1",))]
    [extra] = [i for i in invoices if (i.creditor.code, i.debtor.code) == ("0193", "0166")
               and any(l.basis == "ruling" for l in i.lines)]
    assert extra.kind == "invoice"
    assert [(l.basis, l.quantity, l.amount, l.disputes) for l in extra.lines] == [("ruling", 1, 327050, ("D1",))]
    for inv in (credit, extra):
        assert "betwist (geschil D1)" in invoice_html(inv)
        assert b"betwist (geschil D1)" in invoice_xml(inv)
