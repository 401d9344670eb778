"""Dutch wording of the documents: basis and flag explanations, dates, months, percentages.

Everything a municipality reads on a statement or an invoice is worded here, so the templates
stay free of Dutch literals that need to agree with each other (and with the tests).
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import TYPE_CHECKING

from settlement.money import format_euro_nl, round_half_away

if TYPE_CHECKING:
    from settlement.documents.model import Invoice

MONTHS = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)

# The order in which the groups of a statement appear (RULES.md §4: new clients first, then the
# centrumgemeente's own bases, then agreement outcomes).
BASIS_ORDER = (
    "woonplaats",
    "woonplaats_before_institution",
    "reentry",
    "vangnet",
    "registration",
    "historic",
    "mo",
    "late_notification",
    "pool",
)

# basis -> (short label, explanation): the label heads a group, the explanation says which rule.
BASIS = {
    "woonplaats": (
        "Nieuwe cliënten: woonplaats",
        "woonplaatsbeginsel: woonadres op de dag vóór de start",
    ),
    "woonplaats_before_institution": (
        "Nieuwe cliënten: woonplaats vóór de instelling",
        "woonadres vóór de instelling",
    ),
    "reentry": (
        "Herinstroom",
        "herinstroom binnen 12 maanden",
    ),
    "vangnet": (
        "Vangnet",
        "vangnet: geen woonadres",
    ),
    "registration": (
        "Wmo-ondersteuning",
        "Wmo: inschrijving per dag",
    ),
    "historic": (
        "Historische cliënten",
        "historische cliënt (centrumgemeente)",
    ),
    "mo": (
        "Maatschappelijke opvang",
        "maatschappelijke opvang (centrumgemeente)",
    ),
    "late_notification": (
        "Te late melding",
        "te late melding (kosten voor de zorgregio)",
    ),
    "pool": (
        "Solidariteitspool",
        "solidariteitspool",
    ),
}

# A sentence per basis for the legend at the end of a statement (RULES.md §4, §5).
BASIS_LONG = {
    "woonplaats": "De gemeente waar de cliënt op de dag vóór de start van de plaatsing een "
    "woonadres had, betaalt (woonplaatsbeginsel).",
    "woonplaats_before_institution": "De cliënt stond vóór de start ingeschreven op het adres van "
    "een instelling; de gemeente van het woonadres vóór die instelling betaalt.",
    "reentry": "De cliënt had minder dan twaalf maanden vóór de start beschermd wonen; de gemeente "
    "die dat toen betaalde, betaalt opnieuw.",
    "vangnet": "Er was geen woonadres te vinden; de gemeente van de melding (of de "
    "centrumgemeente) betaalt. Deze kosten komen in aanmerking voor het landelijk vangnet.",
    "registration": "Lichtere Wmo-ondersteuning: per dag betaalt de gemeente waar de cliënt die dag "
    "een woonadres had.",
    "historic": "De cliënt was al in zorg vóór de overgangsdatum van de regio; de centrumgemeente "
    "betaalt uit het historische budget.",
    "mo": "Maatschappelijke opvang blijft landelijk toegankelijk; de centrumgemeente van de "
    "zorgregio betaalt.",
    "late_notification": "De zorgregio heeft de plaatsing te laat gemeld; de dagen tot de melding "
    "komen voor rekening van de centrumgemeente van de zorgregio.",
    "pool": "Kosten die de gemeenten van de regio volgens een solidariteitsafspraak samen dragen; "
    "het totaal wordt verdeeld naar de verdeelsleutel.",
}

# flag -> (short tag shown in a table, explanation in words)
FLAGS = {
    "vangnet": (
        "vangnet",
        (
            "Vangnet: er was geen woonadres vóór de start; de kosten zijn toegerekend aan de "
            "gemeente van de melding of de centrumgemeente en komen in aanmerking voor het "
            "landelijk vangnet."
        ),
    ),
    "late_notification": (
        "late melding",
        (
            "Te late melding: de zorgregio heeft de plaatsing niet binnen de afgesproken termijn "
            "aan de betalende gemeente gemeld. Waar de interregionale afspraak dat bepaalt, komen "
            "de dagen tot de melding voor rekening van de centrumgemeente van de zorgregio."
        ),
    ),
    "no_interregional_agreement": (
        "geen afspraak",
        (
            "Geen interregionale afspraak: de plaatsing is in een andere regio dan die van de "
            "betalende gemeente en geen werkafspraak tussen de regio's dekt haar; volgens de wet "
            "(woonplaatsbeginsel) betaalt de gemeente toch."
        ),
    ),
}
CROSS_REGION = (
    "buiten regio",
    "Buiten de regio: de betalende gemeente hoort niet bij de zorgregio van de plaatsing.",
)
CORRECTION = (
    "correctie",
    (
        "Correctie: het verschil met wat eerder voor deze maand definitief is afgerekend; een "
        "negatief bedrag verlaagt het eerdere bedrag."
    ),
)

STATUS = {"historic": "historisch", "new": "nieuw", "n/a": "n.v.t."}


def basis_label(basis: str) -> str:
    return BASIS.get(basis, (basis, basis))[0]


def basis_explanation(basis: str) -> str:
    return BASIS.get(basis, (basis, basis))[1]


def flag_tag(flag: str) -> str:
    return FLAGS.get(flag, (flag.replace("_", " "), ""))[0]


def flag_explanation(flag: str) -> str:
    return FLAGS.get(flag, ("", flag))[1]


def date_nl(d: date) -> str:
    """date(2024, 3, 1) -> '1 maart 2024'."""
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def month_nl(month: str) -> str:
    """'2024-03' -> 'maart 2024'."""
    year, mon = month.split("-")
    return f"{MONTHS[int(mon) - 1]} {int(year)}"


def period_nl(start: date, end: date) -> str:
    """'1 t/m 31 maart 2024', or with both months when they differ."""
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day} t/m {date_nl(end)}"
    if start.year == end.year:
        return f"{start.day} {MONTHS[start.month - 1]} t/m {date_nl(end)}"
    return f"{date_nl(start)} t/m {date_nl(end)}"


def euro(cents: int) -> str:
    """Dutch money format, '€ 1.234,56' (settlement.money.format_euro_nl)."""
    return format_euro_nl(cents)


def number_nl(n: int) -> str:
    """12345 -> '12.345'."""
    return f"{n:,}".replace(",", ".")


def weight_nl(text: str) -> str:
    """An exact weight as text ('130000', '1234.5', '2469/2', '1/3') in Dutch notation:
    '130.000', '1.234,5', '1.234,5', '1/3' (a fraction without a finite decimal stays one)."""
    value = Fraction(text)
    whole, rest = divmod(value.numerator, value.denominator)
    if rest == 0:
        return number_nl(whole)
    decimals, den = 0, value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    if den != 1 or value < 0:
        return f"{value.numerator}/{value.denominator}"
    while (rest * 10**decimals) % value.denominator:
        decimals += 1
    frac = rest * 10**decimals // value.denominator
    return f"{number_nl(whole)},{frac:0{decimals}d}"


def percent_nl(weight: str, weight_sum: str, decimals: int = 2) -> str:
    """'61000', '191000' -> '31,94%' (exact fraction, rounded half away from zero once)."""
    total = Fraction(weight_sum)
    if total == 0:
        return "–"
    scaled = round_half_away(Fraction(weight) / total * 100 * 10**decimals)
    whole, rest = divmod(abs(scaled), 10**decimals)
    sign = "-" if scaled < 0 else ""
    return f"{sign}{whole},{rest:0{decimals}d}%" if decimals else f"{sign}{whole}%"


def invoice_title(kind: str) -> str:
    return "Creditnota" if kind == "credit_note" else "Factuur"


def payment_text(inv: Invoice) -> str:
    """The payment instruction of an invoice, in one sentence."""
    if inv.kind == "credit_note":
        return (
            f"Wij betalen {euro(abs(inv.total))} binnen 30 dagen, uiterlijk {date_nl(inv.due_date)}, "
            f"terug op uw IBAN {iban_nl(inv.debtor.iban)} o.v.v. het nummer van deze creditnota "
            f"{inv.number}."
        )
    return (
        f"Betalen binnen 30 dagen, uiterlijk {date_nl(inv.due_date)}, op IBAN "
        f"{iban_nl(inv.creditor.iban)} o.v.v. het factuurnummer {inv.number}."
    )


def iban_nl(iban: str) -> str:
    """'NL91ABNA0417164300' -> 'NL91 ABNA 0417 1643 00' (the printed form)."""
    compact = iban.replace(" ", "")
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
