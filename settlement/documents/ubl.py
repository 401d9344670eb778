"""The e-invoice: SI-UBL 2.0 (NLCIUS, the Dutch CIUS of EN 16931) as a UBL 2.1 Invoice or
CreditNote, embedded in every invoice PDF.

Municipalities do not charge VAT to each other for this settlement: every amount is in VAT
category O ("niet onderworpen aan BTW"), with a TaxTotal of 0.00. A credit note is a CreditNote
(type code 381) whose amounts are positive: the document type carries the sign. A line with a
negative amount is expressed as quantity -1 at a positive price (EN 16931 BR-27: the item price
is never negative).

The Dutch rules (NLCIUS, SI-UBL 2.0 validation artefact 2.0.3.x) it keeps, beside EN 16931's:
both parties carry their OIN (schemeID 0190) as electronic address, party identifier and legal
entity identifier (BR-NL-1, BR-NL-10; BR-CO-26), both addresses street, city and postcode
(BR-NL-3, BR-NL-4), a buyer reference (BR-NL-2), payment means 58 with an IBAN (BR-NL-12, BR-61)
and none of what NLCIUS does not recommend: no name on the payment means code (BR-NL-29) or on
the payee account (BR-NL-30), no issue date of a preceding invoice (BR-NL-24), no tax exemption
reason code (BR-NL-35), no empty element. A credit note or an additional invoice that corrects an
invoice names it (BillingReference, by number); a credit note without a preceding invoice (a
final month's negative pool share) has none, which NLCIUS allows (BR-NL-9 asks it of type 384
only). A municipality without an OIN exists only in snapshots loaded before INTERFACE.md v2 made it
required: its party is written without identifiers, and `settle statements` says which invoices
those are (they fail BR-NL-1 or BR-NL-10; nothing is invented).

The XML is built with ElementTree from prefixed names (the default namespace for the document,
`cac:` and `cbc:` for the components) so that nothing depends on ElementTree's global namespace
registry, and the output is the same bytes for the same invoice.
"""

from __future__ import annotations

from datetime import date
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from settlement import nl
from settlement.documents.model import Invoice, Party
from settlement.money import format_cents

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:nen.nl:nlcius:v1.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
OIN_SCHEME = "0190"  # ISO 6523 ICD and EAS code of the OIN
PAYMENT_MEANS_SEPA = "58"  # UNCL 4461: SEPA credit transfer
CURRENCY = "EUR"
TAX_CATEGORY = "O"
TAX_EXEMPTION_REASON = "Niet onderworpen aan BTW"


def _amount(cents: int) -> str:
    return format_cents(cents)


def _cbc(parent: Element, tag: str, text: str, **attrs: str) -> Element:
    el = SubElement(parent, f"cbc:{tag}", attrs)
    el.text = text
    return el


def _cac(parent: Element, name: str) -> Element:
    return SubElement(parent, f"cac:{name}")


def _money(parent: Element, name: str, cents: int) -> Element:
    return _cbc(parent, name, _amount(cents), currencyID=CURRENCY)


def _date(d: date) -> str:
    return d.isoformat()


def _party(parent: Element, role: str, party: Party) -> None:
    p = _cac(_cac(parent, role), "Party")
    if party.oin:
        _cbc(p, "EndpointID", party.oin, schemeID=OIN_SCHEME)
        _cbc(_cac(p, "PartyIdentification"), "ID", party.oin, schemeID=OIN_SCHEME)
    _cbc(_cac(p, "PartyName"), "Name", party.name)
    address = _cac(p, "PostalAddress")
    _cbc(address, "StreetName", party.street)
    _cbc(address, "CityName", party.city)
    _cbc(address, "PostalZone", party.postcode)
    _cbc(_cac(address, "Country"), "IdentificationCode", "NL")
    legal = _cac(p, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", party.name)
    if party.oin:
        _cbc(legal, "CompanyID", party.oin, schemeID=OIN_SCHEME)


def _tax_category(parent: Element, name: str, with_reason: bool) -> None:
    cat = _cac(parent, name)
    _cbc(cat, "ID", TAX_CATEGORY)
    if with_reason:
        _cbc(cat, "TaxExemptionReason", TAX_EXEMPTION_REASON)
    _cbc(_cac(cat, "TaxScheme"), "ID", "VAT")


def invoice_xml(inv: Invoice) -> bytes:
    """The SI-UBL 2.0 XML of one invoice or credit note, UTF-8, deterministic."""
    credit = inv.kind == "credit_note"
    if inv.kind not in ("invoice", "credit_note"):
        raise ValueError(f"invoice {inv.number}: unknown kind {inv.kind!r}")
    if sum(line.amount for line in inv.lines) != inv.total:
        raise ValueError(f"invoice {inv.number}: the lines do not add up to the total {inv.total}")
    sign = -1 if credit else 1  # a CreditNote states the credited amounts as positive numbers
    total = sign * inv.total

    root = Element(
        "CreditNote" if credit else "Invoice",
        {"xmlns": NS_CREDIT_NOTE if credit else NS_INVOICE, "xmlns:cac": NS_CAC, "xmlns:cbc": NS_CBC},
    )
    _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PROFILE_ID)
    _cbc(root, "ID", inv.number)
    _cbc(root, "IssueDate", _date(inv.issue_date))
    if credit:
        _cbc(root, "CreditNoteTypeCode", "381")
    else:
        _cbc(root, "DueDate", _date(inv.due_date))
        _cbc(root, "InvoiceTypeCode", "380")
    note = f"Verrekening beschermd wonen en maatschappelijke opvang, {nl.month_nl(inv.month)}."
    if inv.corrects:
        note += (f" Corrigeert factuur {inv.corrects}." if credit
                 else f" Aanvullende factuur op {inv.corrects}.")
    if inv.rulings:
        note += " " + nl.ruling_carried_out(inv.rulings)
    _cbc(root, "Note", note)
    _cbc(root, "DocumentCurrencyCode", CURRENCY)
    _cbc(root, "BuyerReference", inv.reference)
    period = _cac(root, "InvoicePeriod")
    _cbc(period, "StartDate", _date(inv.period_from))
    _cbc(period, "EndDate", _date(inv.period_to))
    if inv.corrects:  # the invoice's number only: its issue date would be BR-NL-24 (not recommended)
        _cbc(_cac(_cac(root, "BillingReference"), "InvoiceDocumentReference"), "ID", inv.corrects)
    _party(root, "AccountingSupplierParty", inv.creditor)
    _party(root, "AccountingCustomerParty", inv.debtor)

    means = _cac(root, "PaymentMeans")
    _cbc(means, "PaymentMeansCode", PAYMENT_MEANS_SEPA)  # no name: BR-NL-29
    if credit:
        _cbc(means, "PaymentDueDate", _date(inv.due_date))  # BT-9 of a credit note (UBL-CR-412 allows it)
    _cbc(means, "PaymentID", inv.number)
    # the account paid into: the creditor's for an invoice; for a credit note the creditor pays the
    # amount back to the debtor's account, as its payment terms (nl.payment_text) say
    payee = inv.debtor if credit else inv.creditor
    account = _cac(means, "PayeeFinancialAccount")
    _cbc(account, "ID", payee.iban.replace(" ", ""))  # no account name: BR-NL-30
    _cbc(_cac(root, "PaymentTerms"), "Note", nl.payment_text(inv))

    tax = _cac(root, "TaxTotal")
    _money(tax, "TaxAmount", 0)
    sub = _cac(tax, "TaxSubtotal")
    _money(sub, "TaxableAmount", total)
    _money(sub, "TaxAmount", 0)
    _tax_category(sub, "TaxCategory", with_reason=True)

    monetary = _cac(root, "LegalMonetaryTotal")
    for name in ("LineExtensionAmount", "TaxExclusiveAmount", "TaxInclusiveAmount", "PayableAmount"):
        _money(monetary, name, total)

    for i, line in enumerate(inv.lines, start=1):
        amount = sign * line.amount
        el = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
        _cbc(el, "ID", str(i))
        note = f"{nl.basis_explanation(line.basis)}; {line.quantity} kostenregel(s)"
        if line.disputes:  # contested cost lines (RULES.md v2 §4.0): the mark and the disputes' numbers
            note += f"; {nl.contested_invoice_note(line.disputes)}"
        _cbc(el, "Note", note)
        _cbc(el, "CreditedQuantity" if credit else "InvoicedQuantity",
             "-1" if amount < 0 else "1", unitCode="C62")
        _money(el, "LineExtensionAmount", amount)
        item = _cac(el, "Item")
        _cbc(item, "Name", line.description)
        _tax_category(item, "ClassifiedTaxCategory", with_reason=False)
        _money(_cac(el, "Price"), "PriceAmount", abs(amount))

    indent(root, space=" ")
    return tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"
