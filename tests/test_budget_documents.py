"""The documents of a budget pool (RULES.md §5.3): statements, invoices and credit notes, the
dossier, and agreement names (INTERFACE.md v2), through the command line on a small hand-written
dataset. Figures worked out by hand, as in tests/test_budget_pool.py:

Region noord (centrumgemeente and creditor Assen 0106; members 0106, 1680, 1730), one historic
client of 1730 in a BW placement of noord; the pool "noord-historisch" shares the result of the
historic clients' costs, weights 0106 2, 1680 5, 1730 3 (sum 10). B(2023) of Assen = 12.000,05
(1,200,005 cents): January-May 100,001 cents a month, June-December 100,000.

- March, a deficit: C = 3.000,02, B(M) = 1.000,01, T = 2.000,01; shares 400,00 / 1.000,01 /
  600,00 (1680 gets the one cent left, its remainder .5 the largest). Invoices 0106 -> 1680
  1.000,01 and 0106 -> 1730 600,00.
- June, a surplus: C = 400,00, B(M) = 1.000,00, T = -600,00; shares -120,00 / -300,00 / -180,00.
  Assen owes the others: credit notes 0106 -> 1680 -300,00 and 0106 -> 1730 -180,00, correcting no
  invoice; Assen's receivable is -480,00.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine

from settlement.cli import main
from settlement.documents.build import build_month
from settlement.documents.render import statement_context, statement_html
from settlement.documents.ubl import NS_CAC, NS_CBC, NS_CREDIT_NOTE, invoice_xml
from settlement.loader import parse_agreements_text
from tests.builders import world

NAME = "Solidariteit historisch budget Noord"

FILES = {
    "municipalities.csv": """code,name,iban,street,postcode,city,oin
0106,Assen,NL81BNGH0285010601,Noordersingel 33,9401 JW,Assen,00000001001234567000
1680,Aa en Hunze,NL18BNGH0285168002,Spoorlaan 6,9461 AA,Gieten,00000001001234568000
1730,Tynaarlo,NL15BNGH0285173003,Kornoeljeweg 1,9481 AA,Vries,00000001001234569000
""",
    "regions.csv": "region,name,centrumgemeente,cutover\nnoord,Noord- en Midden-Drenthe,0106,2023-01-01\n",
    "region_members.csv": "region,municipality,valid_from,valid_to\nnoord,0106,2000-01-01,\n"
                          "noord,1680,2000-01-01,\nnoord,1730,2000-01-01,\n",
    "products.csv": "product,name,domain,bw_definition,unit,iwmo_category\n"
                    "BW-INTRA,Beschermd wonen intramuraal,BW,true,day,15\n",
    "tariffs.csv": "product,region,valid_from,valid_to,price\nBW-INTRA,noord,2020-01-01,,100.00\n",
    "clients.csv": "client,bsn\nH1,999994943\n",
    "brp.csv": "client,municipality,kind,valid_from,valid_to\nH1,1730,woonadres,2000-01-01,\n",
    "applications.csv": "client,region,municipality,date\n",
    "placements.csv": "placement,client,product,region,provider,location,start,end,financing\n"
                      "PH1,H1,BW-INTRA,noord,Stichting Noord,0106,2022-06-01,,ZIN\n",
    "declarations.csv": "placement,month,amount\nPH1,2023-03,3000.02\nPH1,2023-06,400.00\n",
    "notifications.csv": "placement,municipality,notified_on\n",
    "budgets.csv": "municipality,year,historic,objective\n0106,2023,12000.05,0.00\n",
    "agreements.toml": f'''[[agreement]]
id = "noord-historisch"
kind = "pool"
name = "{NAME}"
region = "noord"
valid_from = 2023-01-01
valid_to = 2023-12-31
clients = "historic"
budget = "historic"
[agreement.weights]
"0106" = 2
"1680" = 5
"1730" = 3
''',
}


def settle(db_url: str, *args: str) -> str:
    r = CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def pdftext(path: Path) -> str:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"[ \t]+", " ", text)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """The dataset loaded, March and June 2023 settled and finalised (the clock at 5 July 2023)."""
    root = tmp_path_factory.mktemp("budget-documents")
    data = root / "data"
    data.mkdir()
    for name, text in FILES.items():
        (data / name).write_text(text, encoding="utf-8")
    url = f"sqlite:///{root / 'test.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SETTLEMENT_NOW", "2023-07-05")
        settle(url, "init")
        settle(url, "load", str(data))
        for month in ("2023-03", "2023-06"):
            settle(url, "run", "--month", month)
            settle(url, "finalize", "--month", month)
    return url, root


def documents(url: str, month: str):
    with create_engine(url).connect() as conn:
        statements, invoices = build_month(conn, month)
    return {s.municipality.code: s for s in statements}, invoices


def test_a_deficit_month_statement_shows_c_b_y_b_m_t_the_key_and_the_share_to_pay(db):
    url, _ = db
    statements, invoices = documents(url, "2023-03")
    [share] = statements["1680"].pool_shares
    assert (share.costs, share.budget_year, share.budget_month, share.total, share.share) == \
        (300_002, 1_200_005, 100_001, 200_001, 100_001)
    assert (share.name, share.budget, share.weight, share.weight_sum) == (NAME, "historic", "5", "10")
    [block] = statement_context(statements["1680"])["budget_pools"]
    assert [(r["label"], r["amount"]) for r in block["rows"]] == [
        ("Kosten van de pool (C)", 300_002), ("Historisch budget 2023 van Assen (B(J))", 1_200_005),
        ("Maanddeel van het budget in maart 2023 (B(M))", 100_001), ("Resultaat te verdelen (T = C − B(M))", 200_001),
    ]
    assert (block["share"], block["owed"]) == (100_001, "te betalen aan Assen")
    html = statement_html(statements["1680"])
    for words in ("Historisch budget 2023 van Assen (B(J))", "€ 12.000,05", "Maanddeel van het budget in maart 2023",
                  "€ 1.000,01", "€ 3.000,02", "€ 2.000,01", "tekort", "uw gewicht 5 van 10 (50,00%)",
                  "te betalen aan Assen", f"<td>{NAME}</td>"):
        assert words in html, words
    assert statements["1680"].payable == 100_001
    by_debtor = {i.debtor.code: i for i in invoices}
    assert {c: (i.kind, i.total) for c, i in by_debtor.items()} == {"1680": ("invoice", 100_001),
                                                                  "1730": ("invoice", 60_000)}
    assert [l.description for l in by_debtor["1680"].lines] == [f"Aandeel {NAME}"]
    # the creditor: its own share stays with it, the other members' shares it invoices
    [own] = statement_context(statements["0106"])["budget_pools"]
    assert own["share"] == 40_000 and "blijft bij uw gemeente" in own["owed"]
    assert own["rows"][-1] == {"label": "Aandelen van de andere deelnemers", "amount": 160_001,
                               "note": "u factureert ze (zie ‘Als centrumgemeente’)"}


def test_a_surplus_month_gives_credit_notes_that_correct_no_invoice(db):
    url, root = db
    out = root / "docs-2023-06"
    settle(url, "statements", "--month", "2023-06", "--out", str(out))
    assert sorted(p.name for p in out.glob("*.pdf")) == [
        "afrekening-2023-06-0106.pdf", "afrekening-2023-06-1680.pdf", "afrekening-2023-06-1730.pdf",
        "factuur-0106-2023-00003.pdf", "factuur-0106-2023-00004.pdf"]
    if shutil.which("pdftotext") is None:
        pytest.skip("needs poppler-utils (pdftotext)")
    st = pdftext(out / "afrekening-2023-06-1680.pdf")
    for words in ("Kosten van de pool (C) € 400,00", "Historisch budget 2023 van Assen (B(J)) € 12.000,05",
                  "Maanddeel van het budget in juni 2023 (B(M)) € 1.000,00",
                  "Resultaat te verdelen (T = C − B(M)) -€ 600,00", "overschot",
                  "Uw aandeel -€ 300,00 te ontvangen van Assen (creditnota)",
                  "negatief: u ontvangt dit terug"):
        assert words in st, words
    creditor = pdftext(out / "afrekening-2023-06-0106.pdf")
    assert "Aandelen van de andere deelnemers -€ 480,00" in creditor
    assert "negatief: u betaalt dit terug" in creditor
    assert f"Aandelen van andere gemeenten in {NAME} -€ 480,00" in creditor
    note = pdftext(out / "factuur-0106-2023-00003.pdf")
    for words in ("Creditnota", "Creditnotanummer 0106-2023-00003", "Aa en Hunze",
                  f"Aandeel {NAME}", "Totaal creditnota -€ 300,00", "corrigeert geen eerdere factuur",
                  "Wij betalen € 300,00 binnen 30 dagen"):
        assert words in note, words
    assert "Corrigeert factuur" not in note and "Creditnota op factuur" not in note


def test_the_credit_notes_ubl_is_a_creditnote_381_with_positive_amounts_and_no_billing_reference(db):
    url, _ = db
    _, invoices = documents(url, "2023-06")
    by_debtor = {i.debtor.code: i for i in invoices}
    inv = by_debtor["1680"]
    assert (inv.number, inv.kind, inv.corrects, inv.total) == ("0106-2023-00003", "credit_note", None, -30_000)
    assert by_debtor["1730"].total == -18_000
    root = ET.fromstring(invoice_xml(inv))
    ns = {"cac": NS_CAC, "cbc": NS_CBC}
    assert root.tag == f"{{{NS_CREDIT_NOTE}}}CreditNote"
    assert root.findtext("cbc:CreditNoteTypeCode", namespaces=ns) == "381"
    assert root.find("cac:BillingReference", ns) is None
    assert "Corrigeert" not in root.findtext("cbc:Note", namespaces=ns)
    total = root.find("cac:LegalMonetaryTotal", ns)
    assert [total.findtext(f"cbc:{n}", namespaces=ns) for n in
            ("LineExtensionAmount", "TaxExclusiveAmount", "TaxInclusiveAmount", "PayableAmount")] == ["300.00"] * 4
    [line] = root.findall("cac:CreditNoteLine", ns)
    assert line.findtext("cbc:CreditedQuantity", namespaces=ns) == "1"
    assert line.findtext("cbc:LineExtensionAmount", namespaces=ns) == "300.00"
    assert line.findtext("cac:Price/cbc:PriceAmount", namespaces=ns) == "300.00"
    assert line.findtext("cac:Item/cbc:Name", namespaces=ns) == f"Aandeel {NAME}"
    assert root.findtext("cac:AccountingSupplierParty/cac:Party/cac:PartyName/cbc:Name", namespaces=ns) == "Assen"


def test_the_dossier_shows_the_budget_pool_block_of_a_pooled_line(db):
    url, root = db
    out = root / "dossier-1680.html"
    settle(url, "explain", "--month", "2023-06", "--municipality", "1680", "--format", "html", "--out", str(out))
    html = out.read_text(encoding="utf-8")
    for words in (f"budgetpool {NAME} (noord-historisch)",
                  "<th>Kosten van de pool (C)</th><td>€ 400,00: de som van de regels die de pool in juni 2023 droeg</td>",
                  "<th>Historisch budget 2023 van Assen (0106) (B(J))</th><td>€ 12.000,05</td>",
                  "<th>Maanddeel van het budget in juni 2023 (B(M))</th><td>€ 1.000,00;",
                  "<td>€ 400,00 − € 1.000,00 = -€ 600,00 (overschot",
                  "<th>Verdeelsleutel</th><td>Assen (0106) 2, Aa en Hunze (1680) 5, Tynaarlo (1730) 3 (som 10)</td>",
                  f"{NAME} (Solidariteitspool ‘noord-historisch’)",
                  "Een negatief aandeel betaalt de schuldeiser Assen (0106) aan het lid terug"):
        assert words in html, words


def test_an_interregional_agreement_may_have_a_name_that_leaves_the_canonical_form_alone_without():
    ds = world().region("noord", "0106", ["0106", "1680", "1730"]).build()
    toml = '''[[agreement]]
id = "eagle"
kind = "interregional"
regions = ["noord", "zuid"]
valid_from = 2023-01-01
late_notification = "shift"
'''
    [plain] = parse_agreements_text(toml, ds)
    [named] = parse_agreements_text(toml + 'name = "Werkafspraken EAGLE"\n', ds)
    assert plain.name is None and "name" not in plain.canonical()
    assert named.name == "Werkafspraken EAGLE"
    assert named.canonical() == {**plain.canonical(), "name": "Werkafspraken EAGLE"}


def test_a_correction_of_a_budget_pool_shows_the_differences_without_the_year_budget():
    """The correction of tests/test_budget_pool.py: costs +600,00, B(M) +0,01, T +599,99, 1680's
    share +299,99 (against 1.000,01 finalised before)."""
    from settlement.documents.model import PoolShare
    from settlement.documents.render import budget_pool_block
    s = PoolShare("ijv", "noord", "0106", 59_999, "5", "10", 29_999, correction=True, name=NAME,
                  budget="historic", costs=60_000, budget_month=1, budget_year=1_200_017)
    b = budget_pool_block(s, "1680", {"0106": "Assen"}, "2023-03")
    assert [(r["label"], r["amount"]) for r in b["rows"]] == [
        ("Kosten van de pool (C)", 60_000), ("Maanddeel van het budget in maart 2023 (B(M))", 1),
        ("Resultaat te verdelen (T = C − B(M))", 59_999)]
    assert (b["share"], b["owed"], b["correction"]) == (29_999, "te betalen aan Assen", True)
