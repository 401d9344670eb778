"""Statements and invoices as PDF: what a reader sees (pdftotext), what a machine reads (the
embedded SI-UBL XML, the PDF/A-3b claim), and that the same input gives the same bytes.

The figures are hand-made: Kampen (0166) pays in March 2024, to Zwolle (0193, centrumgemeente of
IJssel-Vecht): woonplaats 3.100,00, reentry 1.234,56, vangnet 987,65, registration 450,00, a
correction -50,00 and a pool share of 15.968,59 (61.000 of 191.000 = 31,94% of 50.000,00), total
21.690,80; to Emmen 2.000,00 (flag late_notification) and to Leiden 4.123,45 (flag
no_interregional_agreement), both outside its region. Payable 27.814,25.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
import zlib
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from settlement import nl
from settlement.documents.model import (
    Party,
    PoolShare,
    Position,
    Receivable,
    Statement,
    StatementLine,
)
from settlement.documents.render import (
    MONO_MM,
    _ids,
    creditor_summary,
    render_all,
    render_invoice_pdf,
    render_statement_pdf,
    statement_context,
    templates_dir,
)
from settlement.documents.ubl import invoice_xml
from tests.builders import ADDITIONAL, CREDIT_NOTE, INVOICE, KAMPEN, POOL, ZWOLLE

pytestmark = pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("pdfinfo") and shutil.which("pdfdetach")),
    reason="needs poppler-utils (pdftotext, pdfinfo, pdfdetach)",
)

EMMEN = Party("0114", "Gemeente Emmen", "Raadhuisplein 1", "7811 AP", "Emmen", "NL02RABO0123456789")
LEIDEN = Party("0546", "Gemeente Leiden", "Stadhuisplein 1", "2311 EJ", "Leiden", "NL44RABO0123456789")
HASH = "sha256:" + "ab" * 32

# BSNs of Kampen's clients: on Kampen's own statement, never on Zwolle's (bsn None there)
BSN = {"C0001": "123456782", "C0002": "111222333", "C0003": "234567891", "C0004": "345678912",
       "C0005": "456789123", "C0006": "567891234"}


def line(client, placement, basis, days, amount, *, payer="0166", creditor="0193",
         region="ijssel-vecht", flags=(), cross=False, correction=False, status="new",
         product=("BW-INTRA", "Beschermd wonen intramuraal"), pool=None, bsn=None):
    return StatementLine(
        client=client, bsn=bsn, placement=placement, product=product[0], product_name=product[1],
        region=region, days=days, amount=amount, status=status, basis=basis, payer=payer,
        pool=pool, creditor=creditor, flags=flags, cross_region=cross, correction=correction)


def kampen_lines(with_bsn: bool) -> tuple[StatementLine, ...]:
    def b(client):
        return BSN[client] if with_bsn else None
    return (
        line("C0001", "P0001", "woonplaats", 31, 310000, bsn=b("C0001")),
        line("C0002", "P0002", "reentry", 10, 123456, bsn=b("C0002")),
        line("C0003", "P0003", "vangnet", 31, 98765, flags=("vangnet",), bsn=b("C0003"),
             product=("BW-AMB", "Beschermd wonen ambulant")),
        line("C0004", "P0004", "registration", 15, 45000, bsn=b("C0004"), product=("WMO-TP", "Thuis Plus")),
        line("C0005", "P0005", "woonplaats", 20, 200000, creditor="0114", region="zuidoost-drenthe",
             flags=("late_notification",), cross=True, bsn=b("C0005")),
        line("C0006", "P0006", "woonplaats", 31, 412345, creditor="0546", region="leiden",
             flags=("no_interregional_agreement",), cross=True, bsn=b("C0006")),
        line("C0001", "P0001", "woonplaats", 0, -5000, correction=True, bsn=b("C0001")),
    )


KAMPEN_STATEMENT = Statement(
    municipality=KAMPEN, month="2024-03", period_from=date(2024, 3, 1), period_to=date(2024, 3, 31),
    document_date=date(2024, 4, 5), engine_version="0.1.0", input_hash=HASH,
    lines=kampen_lines(with_bsn=True), creditor_lines=(),
    pool_shares=(PoolShare(POOL, "ijssel-vecht", "0193", 5000000, "61000", "191000", 1596859),),
    positions=(Position(EMMEN, 0, 200000), Position(LEIDEN, 0, 412345), Position(ZWOLLE, 0, 2169080)),
    payable=2781425, receivable=0,
)

# Zwolle, centrumgemeente: historic 2.500,00 + MO 1.500,00 + late notification 500,00 + its own pool
# share 34.031,41 (130.000 of 191.000) = 38.531,41; creditor of Kampen's lines and of the pool.
# As creditor: 10 lines, 216 days, 60.222,21 = its own 3 lines (67 days, 4.500,00) + the pool's 2
# (62 days, 50.000,00) + Kampen's 5 (87 days, 5.722,21, the correction of -50,00 with 0 days
# included). It receives from Kampen 5.722,21 + Kampen's pool share 15.968,59 = 21.690,80: invoice
# 0193-2024-00001 of 21.740,80 (1.234,56 + 3.100,00 + 987,65 + 450,00 + 15.968,59) and credit
# note 0193-2024-00031 of -50,00.
ZWOLLE_LINES = (
    line("C0100", "P0100", "historic", 31, 250000, payer="0193", status="historic", bsn="789123456"),
    line("C0101", "P0101", "mo", 31, 150000, payer="0193", status="n/a", bsn="891234567",
         product=("MO-NO", "Nachtopvang")),
    line("C0102", "P0102", "late_notification", 5, 50000, payer="0193", flags=("late_notification",),
         bsn="912345678"),
)
ZWOLLE_STATEMENT = Statement(
    municipality=ZWOLLE, month="2024-03", period_from=date(2024, 3, 1), period_to=date(2024, 3, 31),
    document_date=date(2024, 4, 5), engine_version="0.1.0", input_hash=HASH,
    lines=ZWOLLE_LINES,
    creditor_lines=tuple(ln for ln in kampen_lines(with_bsn=False) if ln.creditor == "0193")
    + tuple(replace(ln, bsn=None) for ln in ZWOLLE_LINES)
    + (line("C0200", "P0200", "pool", 31, 3000000, payer=None, pool=POOL, status="historic"),
       line("C0201", "P0201", "pool", 31, 2000000, payer=None, pool=POOL, status="historic")),
    pool_shares=(PoolShare(POOL, "ijssel-vecht", "0193", 5000000, "130000", "191000", 3403141),),
    positions=(Position(KAMPEN, 2169080, 0),),
    payable=3853141, receivable=2169080,
    receivables=(
        Receivable(KAMPEN, "0193-2024-00001", "reentry", None, 1, 10, 123456, False),
        Receivable(KAMPEN, "0193-2024-00001", "woonplaats", None, 1, 31, 310000, False),
        Receivable(KAMPEN, "0193-2024-00001", "vangnet", None, 1, 31, 98765, False),
        Receivable(KAMPEN, "0193-2024-00001", "registration", None, 1, 15, 45000, False),
        Receivable(KAMPEN, "0193-2024-00001", "pool", POOL, None, None, 1596859, False),
        Receivable(KAMPEN, "0193-2024-00031", "woonplaats", None, 1, 0, -5000, True),
    ),
)

LONG_STATEMENT = replace(
    KAMPEN_STATEMENT,
    lines=tuple(line(f"C{i:04d}", f"P{i:04d}", "woonplaats", 31, 10000 + i) for i in range(200)),
    pool_shares=(), positions=(Position(ZWOLLE, 0, 2019900),), payable=2019900,  # 200 × 100,00 + 199,00 = 20.199,00
)

# --- helpers --------------------------------------------------------------------------------


def pdftext(path: Path, page: int | None = None, layout: bool = False) -> str:
    """The PDF's text with every run of whitespace as one space (lines wrap where they like)."""
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else [])
    if page:
        args += ["-f", str(page), "-l", str(page)]
    out = subprocess.run([*args, str(path), "-"], check=True, capture_output=True, text=True).stdout
    return re.sub(r"\s+", " ", out)


def pages(path: Path) -> int:
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", out, re.MULTILINE).group(1))


def pdf_objects(data: bytes) -> bytes:
    """The PDF's object streams, inflated, to look for dictionary entries."""
    chunks = []
    for m in re.finditer(rb"stream\r?\n", data):
        end = data.find(b"endstream", m.end())
        try:
            chunks.append(zlib.decompress(data[m.end():end]))
        except zlib.error:
            pass
    return b"\n".join(chunks)


def euro_to_cents(text: str) -> int:
    m = re.fullmatch(r"(-?)€ ([\d.]+),(\d\d)", text)
    cents = int(m.group(2).replace(".", "")) * 100 + int(m.group(3))
    return -cents if m.group(1) else cents


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pdf")
    docs = {
        "kampen": render_statement_pdf(KAMPEN_STATEMENT),
        "zwolle": render_statement_pdf(ZWOLLE_STATEMENT),
        "long": render_statement_pdf(LONG_STATEMENT),
        "invoice": render_invoice_pdf(INVOICE),
        "credit": render_invoice_pdf(CREDIT_NOTE),
        "additional": render_invoice_pdf(ADDITIONAL),
    }
    paths = {}
    for name, data in docs.items():
        paths[name] = out / f"{name}.pdf"
        paths[name].write_bytes(data)
    return paths


# --- Dutch wording ----------------------------------------------------------------------------


def test_dutch_dates_months_and_numbers():
    assert nl.date_nl(date(2024, 3, 1)) == "1 maart 2024"
    assert nl.month_nl("2024-03") == "maart 2024"
    assert nl.month_nl("2023-12") == "december 2023"
    assert nl.range_nl(date(2024, 3, 1), date(2024, 3, 31)) == "1 t/m 31 maart 2024"
    assert nl.range_nl(date(2024, 2, 15), date(2024, 3, 14)) == "15 februari t/m 14 maart 2024"
    assert nl.euro(123456) == "€ 1.234,56"
    assert nl.euro(-5000) == "-€ 50,00"
    assert nl.percent_nl("61000", "191000") == "31,94%"   # 31,9372...
    assert nl.percent_nl("1", "8") == "12,50%"            # 12,5 exactly
    assert nl.weight_nl("130000") == "130.000"
    assert nl.weight_nl("1234.5") == "1.234,5"
    assert nl.weight_nl("2469/2") == "1.234,5"  # a Fraction as str()
    assert nl.weight_nl("1/3") == "1/3"
    assert nl.iban_nl("NL91ABNA0417164300") == "NL91 ABNA 0417 1643 00"


def test_every_basis_and_flag_has_dutch_words():
    bases = ["mo", "historic", "pool", "reentry", "woonplaats", "woonplaats_before_institution",
             "vangnet", "registration", "late_notification"]
    assert set(bases) <= set(nl.BASIS) and all(nl.BASIS[b].legend for b in bases)
    assert nl.basis_explanation("woonplaats") == "woonplaatsbeginsel: woonadres op de dag vóór de start"
    assert nl.basis_explanation("woonplaats_before_institution") == "woonadres vóór de instelling"
    assert nl.basis_explanation("reentry") == "herinstroom binnen 12 maanden"
    assert nl.basis_explanation("vangnet") == "vangnet: geen woonadres"
    assert nl.basis_explanation("registration") == "Wmo: inschrijving per dag"
    assert nl.basis_explanation("historic") == "historische cliënt (centrumgemeente)"
    assert nl.basis_explanation("pool") == "solidariteitspool"
    assert nl.basis_explanation("mo") == "maatschappelijke opvang (centrumgemeente)"
    assert nl.basis_explanation("late_notification") == "te late melding (kosten voor de zorgregio)"
    assert set(nl.FLAGS) == {"vangnet", "late_notification", "no_interregional_agreement", "contested"}  # v2: contested
    assert nl.basis_explanation("ruling") == "uitspraak van de geschillencommissie" and nl.BASIS["ruling"].legend


def test_templates_are_found_in_the_checkout():
    assert (templates_dir() / "statement.html").exists()
    assert (templates_dir() / "invoice.html").exists()
    assert (templates_dir() / "documents.css").exists()


# --- statements -------------------------------------------------------------------------------


def test_statement_shows_municipality_period_figures_and_flags(rendered):
    path = rendered["kampen"]
    n = pages(path)
    text = pdftext(path)
    assert "Gemeente Kampen" in text and "0166" in text
    assert "Afrekening maart 2024" in text
    assert "1 t/m 31 maart 2024" in text and "5 april 2024" in text
    for figure in ("€ 3.100,00", "€ 1.234,56", "€ 987,65", "€ 450,00", "€ 2.000,00", "€ 4.123,45",
                   "-€ 50,00", "€ 15.968,59", "€ 50.000,00", "€ 21.690,80", "€ 27.814,25",
                   "€ 6.123,45",  # the two lines outside the region
                   "€ 9.223,45",  # woonplaats: 3.100,00 + 2.000,00 + 4.123,45
                   "31,94%", "61.000", "191.000"):
        assert figure in text, figure
    for flag in ("vangnet", "late_notification", "no_interregional_agreement"):
        assert nl.flag_explanation(flag) in text, flag
    for basis in ("woonplaats", "reentry", "vangnet", "registration"):
        assert nl.basis_explanation(basis) in text, basis
    assert nl.CROSS_REGION[1] in text and nl.CORRECTION[1] in text
    assert "Plaatsingen buiten de eigen regio" in text and "Correcties" in text
    assert "Saldo per gemeente" in text and "Gemeente Emmen" in text and "Gemeente Leiden" in text
    assert "pagina 1 van " + str(n) in text
    assert f"pagina {n} van {n}" in text
    assert "BSN" in text and BSN["C0001"] in text  # Kampen pays for these clients itself
    assert "plaatsingen waarvan u crediteur bent" not in text  # not a centrumgemeente here


def test_line_row_shows_identifiers_product_code_and_region_with_its_creditor(rendered):
    """Per line: pseudonym, BSN, placement and product code in one monospaced cell, padded into
    columns; the zorgregio with its centrumgemeente (the creditor) and the line's tags in the next;
    the product's name in the legend 'Producten'. Every line still names all of them."""
    text = pdftext(rendered["kampen"], layout=True)
    assert "Cliënt BSN Plaatsing Product Zorgregio (crediteur), kenmerken Dagen Bedrag" in text
    assert "C0001 123456782 P0001 BW-INTRA ijssel-vecht (Zwolle) 31 € 3.100,00" in text
    assert "C0005 456789123 P0005 BW-INTRA zuidoost-drenthe (Emmen) 20 € 2.000,00 late melding buiten regio" in text
    assert "C0006 567891234 P0006 BW-INTRA leiden (Leiden) 31 € 4.123,45 geen afspraak buiten regio" in text
    assert "C0003 234567891 P0003 BW-AMB ijssel-vecht (Zwolle) 31 € 987,65 vangnet" in text
    assert "C0004 345678912 P0004 WMO-TP ijssel-vecht (Zwolle) 15 € 450,00" in text
    # the correction: its basis and the tag under the region
    assert ("Cliënt BSN Plaatsing Product Zorgregio (crediteur), grondslag, kenmerken Dagen Bedrag "
            "C0001 123456782 P0001 BW-INTRA ijssel-vecht (Zwolle) 0 -€ 50,00 Nieuwe cliënten: woonplaats correctie") in text
    legend = text[text.index("Producten"):]
    assert ("Producten BW-AMB Beschermd wonen ambulant BW-INTRA Beschermd wonen intramuraal "
            "WMO-TP Thuis Plus") in legend  # the statement's three products, by code
    assert "Beschermd wonen intramuraal" not in text[:text.index("Producten")]  # names only there
    assert "Nachtopvang" not in text  # Zwolle's product, not on Kampen's statement


def test_identifiers_are_padded_into_columns():
    rows = [{"client": "C1", "bsn": "123456782", "placement": "P1-22", "product": "BW-INTRA"},
            {"client": "C0036908", "bsn": None, "placement": "P2", "product": "MO"}]
    ids = _ids(rows, show_bsn=True)
    assert ids["head"] == "Cliënt    BSN        Plaatsing  Product"
    assert rows[0]["ids"] == "C1        123456782  P1-22      BW-INTRA"
    assert rows[1]["ids"] == "C0036908             P2         MO"
    assert ids["width"] == f"{40 * MONO_MM + 3:.1f}mm" == "66.7mm"  # 8 + 9 + 9 + 8 characters, 3 gaps of 2
    ids = _ids(rows, show_bsn=False)
    assert ids["head"] == "Cliënt    Plaatsing  Product" and rows[1]["ids"] == "C0036908  P2         MO"


def test_centrumgemeente_statement_summarises_creditor_lines_without_bsn(rendered):
    text = pdftext(rendered["zwolle"], layout=True)
    assert "Als centrumgemeente: plaatsingen waarvan u crediteur bent" in text
    # where the costs of its placements go, and how that adds up to what it receives
    section = text[text.index("Waar de kosten terechtkomen"):]
    for row in ("Kosten van de plaatsingen die uw gemeente heeft gecontracteerd 10 216 € 60.222,21",
                "waarvan voor rekening van uw gemeente zelf (onder ‘Kosten per grondslag’) 3 67 € 4.500,00",
                f"waarvan in solidariteitspool {POOL} 2 62 € 50.000,00",
                "waarvan voor rekening van andere gemeenten 5 87 € 5.722,21",
                f"Aandelen van andere gemeenten in solidariteitspool {POOL} € 15.968,59",
                "Te ontvangen van andere gemeenten (de facturen hieronder) € 21.690,80"):
        assert row in section, row
    # per debtor, invoice and basis, in the invoice's order; the debtor's total is its invoices' total
    for row in ("Kampen (0166) 0193-2024-00001 Herinstroom 1 10 € 1.234,56",
                "Nieuwe cliënten: woonplaats 1 31 € 3.100,00",
                "Vangnet 1 31 € 987,65",
                "Wmo-ondersteuning 1 15 € 450,00",
                "Totaal Kampen 5 87 € 21.690,80",
                "Totaal te ontvangen 5 87 € 21.690,80"):
        assert row in section, row
    # a long label wraps in its cell: its second line follows the figures in the text
    assert re.search(r"Aandeel solidariteitspool ijv-(solidariteit-historisch)? € 15\.968,59", section)
    assert re.search(r"0193-2024-00031 Nieuwe cliënten: woonplaats (\(correctie\) )?1 0 -€ 50,00 (\(correctie\))?",
                     section)
    assert section.index("Herinstroom") < section.index("Vangnet") < section.index("(correctie)")
    assert "€ 38.531,41" in text and "€ 34.031,41" in text and "68,06%" in text
    assert nl.basis_explanation("historic") in text and nl.basis_explanation("mo") in text
    assert nl.basis_explanation("late_notification") in text
    assert nl.flag_explanation("late_notification") in text
    # Kampen's clients are on creditor lines with bsn None: their BSNs never appear
    for bsn in BSN.values():
        assert bsn not in text
    assert "C0001" not in text and "P0001" not in text  # summarised, no pseudonyms either
    assert "789123456" in text  # Zwolle pays for C0100 itself


def test_creditor_summary_that_does_not_reconcile_is_refused():
    wrong = ZWOLLE_STATEMENT.receivables[:-1] + (replace(ZWOLLE_STATEMENT.receivables[-1], amount=-5001),)
    with pytest.raises(ValueError, match="do not reconcile"):
        creditor_summary(replace(ZWOLLE_STATEMENT, receivables=wrong))
    with pytest.raises(ValueError, match="do not reconcile"):  # a line paid by Kampen that no invoice bills
        creditor_summary(replace(ZWOLLE_STATEMENT, creditor_lines=ZWOLLE_STATEMENT.creditor_lines
                                 + (line("C0009", "P0009", "woonplaats", 1, 100),)))
    assert creditor_summary(KAMPEN_STATEMENT) is None  # nobody's creditor: no section


def test_no_bsn_column_when_no_line_has_one(rendered):
    text = pdftext(rendered["long"])
    assert "BSN" not in text.replace("een BSN staat er alleen", "")


def test_long_statement_spans_pages_and_repeats_the_table_header(rendered):
    path = rendered["long"]
    n = pages(path)
    assert n >= 3
    all_text = pdftext(path)
    for i in (0, 57, 199):
        assert f"C{i:04d}" in all_text
    assert "€ 20.199,00" in all_text
    for page in range(2, n + 1):
        text = pdftext(path, page, layout=True)
        if "C0199" in text or page < n:  # every page that continues the table
            assert "Cliënt Plaatsing Product Zorgregio (crediteur), kenmerken Dagen Bedrag" in text, page
        assert f"pagina {page} van {n}" in text


def test_statement_that_does_not_add_up_is_refused():
    with pytest.raises(ValueError, match="payable"):
        statement_context(replace(KAMPEN_STATEMENT, payable=KAMPEN_STATEMENT.payable + 1))


def test_the_lean_user_agent_stylesheet_changes_no_byte(monkeypatch):
    """Statements and invoices are laid out with templates/documents-ua.css as the user-agent
    stylesheet (faster); they come out byte for byte as with WeasyPrint's full HTML5 sheet."""
    import weasyprint
    from settlement.documents import render
    assert render._lean_html() is not weasyprint.HTML  # in use (WeasyPrint has _ua_stylesheets)
    empty = replace(KAMPEN_STATEMENT, lines=(), pool_shares=(), positions=(), payable=0)
    statements = (KAMPEN_STATEMENT, ZWOLLE_STATEMENT, LONG_STATEMENT, empty)
    invoices = (INVOICE, CREDIT_NOTE, ADDITIONAL)
    lean = [render_statement_pdf(s) for s in statements] + [render_invoice_pdf(i) for i in invoices]
    monkeypatch.setattr(render, "_lean_html", lambda: weasyprint.HTML)
    full = [render_statement_pdf(s) for s in statements] + [render_invoice_pdf(i) for i in invoices]
    assert [len(d) for d in lean] == [len(d) for d in full]
    assert lean == full


def test_empty_statement_renders(tmp_path):
    empty = replace(KAMPEN_STATEMENT, lines=(), pool_shares=(), positions=(), payable=0)
    path = tmp_path / "empty.pdf"
    path.write_bytes(render_statement_pdf(empty))
    text = pdftext(path)
    assert "Geen kosten in deze periode" in text and "pagina 1 van 1" in text


# --- invoices ---------------------------------------------------------------------------------


def test_invoice_shows_parties_number_dates_total_and_terms(rendered):
    text = pdftext(rendered["invoice"], layout=True)
    assert "Factuur" in text
    assert "Factuurnummer 0193-2024-00017" in text
    assert "Factuurdatum 5 april 2024" in text
    assert "Kenmerk BW-2024-03-0166" in text
    assert "1 t/m 31 maart 2024" in text
    assert "Gemeente Zwolle" in text and "Gemeente Kampen" in text
    assert "Grote Kerkplein 15" in text and "8261 DD Kampen" in text
    assert "NL91 ABNA 0417 1643 00" in text and "NL20 INGB 0001 2345 67" in text
    assert "Totaal te betalen € 21.690,80" in text
    assert "BTW: niet van toepassing" in text
    assert ("Betalen binnen 30 dagen, uiterlijk 5 mei 2024, op IBAN NL91 ABNA 0417 1643 00 "
            "o.v.v. het factuurnummer 0193-2024-00017.") in text
    for figure in ("€ 3.050,00", "€ 1.234,56", "€ 987,65", "€ 450,00", "€ 15.968,59"):
        assert figure in text
    assert "pagina 1 van 1" in text


def test_credit_note_and_additional_invoice_name_the_invoice_they_correct(rendered):
    credit = pdftext(rendered["credit"])
    assert "Creditnota" in credit and "0193-2024-00018" in credit
    assert "Creditnota op factuur 0193-2024-00017" in credit
    assert "-€ 123,45" in credit and "BTW: niet van toepassing" in credit
    additional = pdftext(rendered["additional"])
    assert "Aanvullende factuur op 0193-2024-00017" in additional
    assert "Factuurnummer 0193-2024-00019" in additional


@pytest.mark.parametrize("name, inv", [("invoice", INVOICE), ("credit", CREDIT_NOTE)])
def test_embedded_xml_matches_the_pdf(rendered, tmp_path, name, inv):
    path = rendered[name]
    listing = subprocess.run(["pdfdetach", "-list", str(path)], check=True, capture_output=True,
                             text=True).stdout
    assert f"{inv.number}.xml" in listing
    xml_path = tmp_path / "e.xml"
    subprocess.run(["pdfdetach", "-save", "1", "-o", str(xml_path), str(path)], check=True)
    data = xml_path.read_bytes()
    assert data == invoice_xml(inv)
    ns = {"cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
          "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
    payable = ET.fromstring(data).find("cac:LegalMonetaryTotal/cbc:PayableAmount", ns).text
    label = "Totaal creditnota" if inv.kind == "credit_note" else "Totaal te betalen"
    shown = re.search(rf"{label} (-?€ [\d.]+,\d\d)", pdftext(path)).group(1)
    # a CreditNote states the credited amount positive; the PDF shows it negative
    assert int(payable.replace(".", "")) == abs(euro_to_cents(shown)) == abs(inv.total)
    objects = pdf_objects(path.read_bytes())
    assert b"/AFRelationship /Alternative" in objects
    assert re.search(rb"/AF \[\d+ 0 R\]", objects)  # the catalog lists the associated file once


def test_pdfa3b_claimed_and_dates_from_the_model(rendered):
    for name in ("invoice", "kampen"):
        meta = subprocess.run(["pdfinfo", "-meta", str(rendered[name])], check=True,
                              capture_output=True, text=True).stdout
        assert 'pdfaid:part="3"' in meta and 'pdfaid:conformance="B"' in meta
        assert "<xmp:CreateDate>2024-04-05</xmp:CreateDate>" in meta
        assert "<xmp:ModifyDate>2024-04-05</xmp:ModifyDate>" in meta
    info = subprocess.run(["pdfinfo", "-isodates", str(rendered["invoice"])], check=True,
                          capture_output=True, text=True).stdout
    assert re.search(r"CreationDate:\s+2024-04-05T00:00:00", info)
    assert re.search(r"ModDate:\s+2024-04-05T00:00:00", info)


# --- reproducible, and many at once -----------------------------------------------------------


def test_same_input_same_bytes(rendered):
    assert render_invoice_pdf(INVOICE) == rendered["invoice"].read_bytes()
    assert render_statement_pdf(KAMPEN_STATEMENT) == rendered["kampen"].read_bytes()


def test_same_bytes_in_a_fresh_process(rendered, tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from pathlib import Path
        from test_render import INVOICE, KAMPEN_STATEMENT
        from settlement.documents.render import render_invoice_pdf, render_statement_pdf
        Path(sys.argv[1], "invoice.pdf").write_bytes(render_invoice_pdf(INVOICE))
        Path(sys.argv[1], "kampen.pdf").write_bytes(render_statement_pdf(KAMPEN_STATEMENT))
    """)
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True,
                   cwd=Path(__file__).parent.parent)
    assert (tmp_path / "invoice.pdf").read_bytes() == rendered["invoice"].read_bytes()
    assert (tmp_path / "kampen.pdf").read_bytes() == rendered["kampen"].read_bytes()


def test_render_all_in_parallel(rendered, tmp_path):
    calls = []
    paths = render_all([KAMPEN_STATEMENT, ZWOLLE_STATEMENT], [INVOICE, CREDIT_NOTE], tmp_path / "out",
                       processes=2, progress=lambda done, total: calls.append((done, total)))
    assert [p.name for p in paths] == [
        "afrekening-2024-03-0166.pdf", "afrekening-2024-03-0193.pdf",
        "factuur-0193-2024-00017.pdf", "factuur-0193-2024-00018.pdf"]
    assert calls[0] == (0, 4) and calls[-1] == (4, 4)
    assert [done for done, _ in calls] == list(range(5))
    # rendered by worker processes, byte for byte what this process renders
    assert paths[0].read_bytes() == rendered["kampen"].read_bytes()
    assert paths[1].read_bytes() == rendered["zwolle"].read_bytes()
    assert paths[2].read_bytes() == rendered["invoice"].read_bytes()
    assert paths[3].read_bytes() == rendered["credit"].read_bytes()
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_render_all_in_one_process_and_refuses_clashing_names(tmp_path):
    paths = render_all([], [ADDITIONAL], tmp_path, processes=1)
    assert [p.name for p in paths] == ["factuur-0193-2024-00019.pdf"]
    with pytest.raises(ValueError, match="same file"):
        render_all([KAMPEN_STATEMENT, KAMPEN_STATEMENT], [], tmp_path, processes=1)


def test_pool_share_correction_is_shown_with_the_corrections(tmp_path):
    fix = PoolShare(POOL, "ijssel-vecht", "0193", -10000, "61000", "191000", -3194, correction=True)
    st = replace(KAMPEN_STATEMENT, pool_shares=KAMPEN_STATEMENT.pool_shares + (fix,),
                 positions=(Position(EMMEN, 0, 200000), Position(LEIDEN, 0, 412345),
                            Position(ZWOLLE, 0, 2165886)),
                 payable=2781425 - 3194)
    path = tmp_path / "fix.pdf"
    path.write_bytes(render_statement_pdf(st))
    text = pdftext(path, layout=True)  # one table row per line
    assert "Totaal correcties op kostenregels 0 -€ 50,00" in text
    assert "Totaal correcties op pool-aandelen -€ 31,94" in text
    assert "Correcties verschil met eerder afgerekende bedragen 2 0 -€ 81,94" in text  # the overview row
    assert "€ 27.782,31" in text


def test_render_all_leaves_the_callers_garbage_collector_as_it_was(tmp_path):
    import gc
    before = (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled())
    render_all([KAMPEN_STATEMENT], [INVOICE], tmp_path, processes=1)
    assert (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()) == before
