"""The one place of Dutch domain wording: what the documents (statements, invoices) and the
dossier call the bases, flags, statuses, rules, BRP kinds and domains, and how they write months,
dates, periods, euros, numbers and weights.

Everything a municipality or a committee reads is worded here, so that a statement and a dossier
cannot call one thing two names by accident, and the templates stay free of Dutch literals that
must agree with these (and with the tests). Where the documents and the dossier word one thing at
two lengths, the table holds both (a short label and a long explanation). The sentences of the
traces' reasons are the phrasebook's (`settlement.phrases`); the Dutch words of an agreement kind
are the kind's own (`settlement.agreements`: `title_nl`, `terms_nl`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import TYPE_CHECKING, Iterable

from .money import parse_euros, round_half_away
from .periods import WINDOW

if TYPE_CHECKING:
    from .documents.model import Invoice

# ---------------------------------------------------------------------------------------------
# Months, dates and periods

MONTHS = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)
MONTHS_SHORT = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")


def _day(value: str | date) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def date_nl(value: str | date | None) -> str:
    """date(2024, 3, 1) or '2024-03-01' -> '1 maart 2024'; None -> '-'."""
    if value is None:
        return "-"
    d = _day(value)
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def date_short_nl(d: date) -> str:
    """date(2024, 3, 1) -> '1 mrt 2024' (the timeline's labels)."""
    return f"{d.day} {MONTHS_SHORT[d.month - 1]} {d.year}"


def month_nl(month: object) -> str:
    """'2024-03' (or a Month) -> 'maart 2024'."""
    year, mon = str(month).split("-")
    return f"{MONTHS[int(mon) - 1]} {int(year)}"


def range_nl(lo: str | date, hi: str | date) -> str:
    """A closed range of days in few words: '1 t/m 31 maart 2024', '28 juni t/m 3 juli 2023',
    '1 maart 2024' for one day."""
    a, b = _day(lo), _day(hi)
    if a == b:
        return date_nl(a)
    if (a.year, a.month) == (b.year, b.month):
        return f"{a.day} t/m {date_nl(b)}"
    if a.year == b.year:
        return f"{a.day} {MONTHS[a.month - 1]} t/m {date_nl(b)}"
    return f"{date_nl(a)} t/m {date_nl(b)}"


def period_nl(lo: str | None, hi: str | None) -> str:
    """A period of validity with full dates, open or closed: '-', 'vanaf 1 januari 2023',
    '1 januari 2023 t/m 31 december 2025'."""
    if lo is None:
        return "-"
    if hi is None:
        return f"vanaf {date_nl(lo)}"
    if lo == hi:
        return date_nl(lo)
    return f"{date_nl(lo)} t/m {date_nl(hi)}"


# ---------------------------------------------------------------------------------------------
# Money and numbers


def euro(amount: int | str) -> str:
    """Cents (123456) or an amount in euros as the traces write it ('1234.56') -> '€ 1.234,56'."""
    cents = parse_euros(amount) if isinstance(amount, str) else amount
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}€ {whole:,}".replace(",", ".") + f",{rest:02d}"


def number_nl(n: int) -> str:
    """12345 -> '12.345'."""
    return f"{n:,}".replace(",", ".")


def cents_nl(value: Fraction | int) -> str:
    """An exact amount of cents in words a reader can check: '199.199 cent', '217.763 22/31 cent',
    '-12 1/2 cent'."""
    value = Fraction(value)
    sign = "-" if value < 0 else ""
    whole, rest = divmod(abs(value.numerator), value.denominator)
    text = number_nl(whole)
    if rest:
        text = f"{text} {rest}/{value.denominator}" if whole else f"{rest}/{value.denominator}"
    return f"{sign}{text} cent"


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


def iban_nl(iban: str) -> str:
    """'NL91ABNA0417164300' -> 'NL91 ABNA 0417 1643 00' (the printed form)."""
    compact = iban.replace(" ", "")
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


# ---------------------------------------------------------------------------------------------
# Bases (RULES.md §4, §5)


@dataclass(frozen=True)
class Basis:
    label: str        # heads a group (statement, dossier)
    explanation: str  # which rule, in a few words (statement groups, UBL notes)
    legend: str       # a sentence for a legend (statement, dossier)
    invoice: str      # an invoice line's description


# The order in which the groups of a statement and a municipality's dossier appear (RULES.md §4:
# new clients first, then the centrumgemeente's own bases, then agreement outcomes).
BASIS_ORDER = (
    "woonplaats",
    "woonplaats_before_institution",
    "reentry",
    "vangnet",
    "registration",
    "ruling",
    "historic",
    "mo",
    "late_notification",
    "pool",
)

POOL_SHARE = "Aandeel solidariteitspool {agreement}"
POOL_SHARE_NAMED = "Aandeel {name}"

# A budget pool (RULES.md §5.3) on a statement and in the dossier: what C, B(Y), B(M) and T are.
BUDGET_POOL = {
    "costs": "Kosten van de pool (C)",
    "budget_year": "Historisch budget {year} van {creditor} (B(J))",
    "budget_month": "Maanddeel van het budget in {month} (B(M))",
    "total": "Resultaat te verdelen (T = C − B(M))",
    "deficit": "tekort: de gemeenten betalen het naar de verdeelsleutel",
    "surplus": "overschot: het wordt naar de verdeelsleutel aan de gemeenten teruggegeven",
    "month_rule": "B(M) is een twaalfde van B(J), op de cent verdeeld over de twaalf maanden "
                  "(grootste-restmethode, resterende centen naar de eerdere maanden)",
}

BASIS = {
    "woonplaats": Basis(
        "Nieuwe cliënten: woonplaats",
        "woonplaatsbeginsel: woonadres op de dag vóór de start",
        "De gemeente waar de cliënt op de dag vóór de start van de plaatsing een woonadres had, betaalt "
        "(woonplaatsbeginsel).",
        "Nieuwe cliënten: woonplaatsbeginsel",
    ),
    "woonplaats_before_institution": Basis(
        "Nieuwe cliënten: woonplaats vóór de instelling",
        "woonadres vóór de instelling",
        "De cliënt stond vóór de start ingeschreven op het adres van een instelling; de gemeente van het "
        "woonadres vóór die instelling betaalt.",
        "Woonadres vóór instelling",
    ),
    "reentry": Basis(
        "Herinstroom",
        "herinstroom binnen 12 maanden",
        "De cliënt had minder dan twaalf maanden vóór de start beschermd wonen; de gemeente die dat toen "
        "betaalde, betaalt opnieuw.",
        "Herinstroom binnen 12 maanden",
    ),
    "vangnet": Basis(
        "Vangnet",
        "vangnet: geen woonadres",
        "Er was geen woonadres te vinden; de gemeente van de melding (of de centrumgemeente) betaalt. Deze "
        "kosten komen in aanmerking voor het landelijk vangnet.",
        "Vangnet",
    ),
    "registration": Basis(
        "Wmo-ondersteuning",
        "Wmo: inschrijving per dag",
        "Lichtere Wmo-ondersteuning: per dag betaalt de gemeente waar de cliënt die dag een woonadres had.",
        "Wmo-inschrijving per dag",
    ),
    "historic": Basis(
        "Historische cliënten",
        "historische cliënt (centrumgemeente)",
        "De cliënt was al in zorg vóór de overgangsdatum van de regio; de centrumgemeente betaalt uit het "
        "historische budget.",
        "Historische cliënten",
    ),
    "mo": Basis(
        "Maatschappelijke opvang",
        "maatschappelijke opvang (centrumgemeente)",
        "Maatschappelijke opvang blijft landelijk toegankelijk; de centrumgemeente van de zorgregio betaalt.",
        "Maatschappelijke opvang",
    ),
    "ruling": Basis(
        "Uitspraak geschillencommissie",
        "uitspraak van de geschillencommissie",
        "De geschillencommissie heeft in een uitspraak beslist welke gemeente betaalt; die uitspraak gaat vanaf "
        "de datum waarop zij geldt vóór de regels van het woonplaatsbeginsel (RULES.md §4.0).",
        "Uitspraak geschillencommissie",
    ),
    "late_notification": Basis(
        "Te late melding",
        "te late melding (kosten voor de zorgregio)",
        "De zorgregio heeft de plaatsing te laat gemeld; de dagen tot de melding komen voor rekening van de "
        "centrumgemeente van de zorgregio.",
        "Te late melding",
    ),
    "pool": Basis(
        "Solidariteitspool",
        "solidariteitspool",
        "Kosten die de gemeenten van de regio volgens een solidariteitsafspraak samen dragen; het totaal wordt "
        "verdeeld naar de verdeelsleutel.",
        POOL_SHARE,
    ),
}


def basis_label(basis: str) -> str:
    b = BASIS.get(basis)
    return b.label if b else basis


def basis_explanation(basis: str) -> str:
    b = BASIS.get(basis)
    return b.explanation if b else basis


def basis_legend(basis: str, default: str = "") -> str:
    b = BASIS.get(basis)
    return b.legend if b else default


def basis_order(basis: str) -> int:
    """A basis's place in BASIS_ORDER; one the order does not know comes after every known one."""
    return BASIS_ORDER.index(basis) if basis in BASIS_ORDER else len(BASIS_ORDER)


def pool_share_nl(agreement: str | None, name: str | None = None) -> str:
    """'Aandeel solidariteitspool ijv-solidariteit-historisch': a pool share on an invoice or a
    creditor's summary; 'Aandeel Solidariteit historisch budget IJssel-Vecht' when the agreement
    has a name (INTERFACE.md v2: the words a statement shows)."""
    return POOL_SHARE_NAMED.format(name=name) if name else POOL_SHARE.format(agreement=agreement)


def pool_nl(agreement: str | None, name: str | None = None) -> str:
    """A pool in running text: its name when it has one, else 'solidariteitspool <id>'."""
    return name if name else f"solidariteitspool {agreement}"


def invoice_description(basis: str, pool: str | None = None, name: str | None = None) -> str:
    """The description of an invoice line (a pool share with the agreement's name when it has one)."""
    if basis == "pool":
        return pool_share_nl(pool, name)
    b = BASIS.get(basis)
    return b.invoice if b else basis


# ---------------------------------------------------------------------------------------------
# Flags and marks


@dataclass(frozen=True)
class Flag:
    tag: str          # a tag in a statement's table
    name: str         # the flag in words (dossier)
    explanation: str  # the legend's sentence (statement)


FLAGS = {
    "vangnet": Flag(
        "vangnet",
        "vangnet",
        "Vangnet: er was geen woonadres vóór de start; de kosten zijn toegerekend aan de gemeente van de "
        "melding of de centrumgemeente en komen in aanmerking voor het landelijk vangnet.",
    ),
    "contested": Flag(
        "betwist",
        "betwist",
        "Betwist: over wie deze plaatsing betaalt, liep aan het eind van de maand een geschil bij de "
        "geschillencommissie waarover nog geen uitspraak was gedaan (het nummer van het geschil staat bij de "
        "regel). Tot de uitspraak wordt de regel afgerekend volgens de regels; een uitspraak kan leiden tot een "
        "correctie: een creditnota aan de ene en een factuur aan de andere gemeente.",
    ),
    "late_notification": Flag(
        "late melding",
        "te late melding",
        "Te late melding: de zorgregio heeft de plaatsing niet binnen de afgesproken termijn aan de "
        "betalende gemeente gemeld. Waar de interregionale afspraak dat bepaalt, komen de dagen tot de "
        "melding voor rekening van de centrumgemeente van de zorgregio.",
    ),
    "no_interregional_agreement": Flag(
        "geen afspraak",
        "geen interregionale afspraak",
        "Geen interregionale afspraak: de plaatsing is in een andere regio dan die van de betalende gemeente "
        "en geen werkafspraak tussen de regio's dekt haar; volgens de wet (woonplaatsbeginsel) betaalt de "
        "gemeente toch.",
    ),
}
# (tag, explanation) of the marks that are not flags of a line
CROSS_REGION = (
    "buiten regio",
    "Buiten de regio: de betalende gemeente hoort niet bij de zorgregio van de plaatsing.",
)
CORRECTION = (
    "correctie",
    "Correctie: het verschil met wat eerder voor deze maand definitief is afgerekend; een negatief bedrag "
    "verlaagt het eerdere bedrag.",
)


# A contested line's mark with the numbers of its open disputes (disputes.csv `dispute`), and the
# words of the open disputes on the statement of the municipality that raised them.
DISPUTE_WORD = "geschil"


def disputes_nl(disputes: tuple[str, ...] | list[str]) -> str:
    """'geschil D1' or 'geschillen D1, D2': the numbers of the disputes that contest a line."""
    word = DISPUTE_WORD if len(disputes) == 1 else "geschillen"
    return f"{word} {', '.join(disputes)}"


def contested_tag(disputes: tuple[str, ...] | list[str]) -> str:
    """The tag of a contested line in a statement's table: 'betwist (geschil D1)'."""
    tag = FLAGS["contested"].tag
    return f"{tag} ({disputes_nl(disputes)})" if disputes else tag


def contested_invoice_note(disputes: tuple[str, ...] | list[str]) -> str:
    """What an invoice line of contested cost lines says, in the PDF and in the UBL line's Note."""
    return (f"{FLAGS['contested'].tag} ({disputes_nl(disputes)}): afgerekend volgens de regels tot de uitspraak "
            "van de geschillencommissie; een uitspraak kan leiden tot een correctie")


def contested_since_ruled() -> str:
    """The legend of 'betwist' on a correction that carries out the ruling: the line was contested
    at the end of its month, and the ruling named on the document has decided it since."""
    return ("Betwist: aan het eind van de maand liep over wie deze plaatsing betaalt een geschil bij de "
            "geschillencommissie (het nummer staat bij de regel). De uitspraak daarop is hierboven genoemd; deze "
            "correctie voert haar uit.")


OPEN_DISPUTES = {
    "title": "Uw openstaande geschillen",
    "lead": ("Geschillen die uw gemeente bij de geschillencommissie heeft ingediend en waarover op {last} nog geen "
             "uitspraak is gedaan. In geschil: wat de regels van de plaatsing over {month} samen kosten (definitief "
             "afgerekend, met correcties), wie ze ook betaalt."),
    "dispute": "Geschil",
    "placement": "Plaatsing",
    "client": "Cliënt",
    "subject": "Vraag",
    "raised_on": "Ingediend op",
    "at_stake": "In geschil",
    "total": "Totaal in geschil over {month}",
}


def flag_tag(flag: str) -> str:
    f = FLAGS.get(flag)
    return f.tag if f else flag.replace("_", " ")


def flag_name(flag: str) -> str:
    f = FLAGS.get(flag)
    return f.name if f else flag


def flag_explanation(flag: str) -> str:
    f = FLAGS.get(flag)
    return f.explanation if f else flag


# ---------------------------------------------------------------------------------------------
# Statuses, runs, rules, records

# status -> (short: a statement's column, long: the dossier's facts)
STATUS = {"historic": ("historisch", "historisch"), "new": ("nieuw", "nieuw"), "n/a": ("n.v.t.", "n.v.t. (opvang)")}


def status_nl(status: str, long: bool = False) -> str:
    s = STATUS.get(status)
    return (s[1] if long else s[0]) if s else status


RUN_KIND = {"final": "definitief", "correction": "correctie", "draft": "concept (nog niet definitief)"}

# BRP kind -> (in a table or a record, on the timeline)
BRP_KIND = {"woonadres": ("woonadres", "woonadres"), "institution": ("instellingsadres", "instelling"),
            "briefadres": ("briefadres", "briefadres"), "abroad": ("buitenland", "buitenland")}

# domain -> (in words, on the timeline)
DOMAIN = {"BW": ("beschermd wonen", "BW"), "MO": ("maatschappelijke opvang", "opvang"),
          "WMO": ("Wmo-ondersteuning (lichter)", "Wmo")}


def brp_kind_nl(kind: str | None) -> str | None:
    k = BRP_KIND.get(kind)  # type: ignore[arg-type]
    return k[0] if k else kind


def domain_nl(domain: str | None) -> str | None:
    d = DOMAIN.get(domain)  # type: ignore[arg-type]
    return d[0] if d else domain


# rule id -> Dutch title (an agreement's step is titled by its kind: Agreement.title_nl)
RULE_TITLES = {
    "amount": "Bedrag van de plaatsing in de maand",
    "mo": "Maatschappelijke opvang: de centrumgemeente betaalt",
    "status": f"Historisch of nieuw: de keten van {WINDOW.days} dagen",
    "historic": "Historische cliënt: de centrumgemeente betaalt",
    "reentry": f"Herinstroom binnen {WINDOW.days} dagen na eerder beschermd wonen",
    "woonplaats": "Woonplaatsbeginsel: het woonadres op de dag vóór de start",
    "woonplaats_before_institution": "Woonadres vóór het verblijf in een instelling",
    "vangnet": "Vangnet: geen woonadres gevonden",
    "registration": "Wmo-ondersteuning: de inschrijving op elke dag",
    "ruling": "Uitspraak van de geschillencommissie",
    "dispute": "Geschil bij de geschillencommissie",
}


# ---------------------------------------------------------------------------------------------
# Invoices


def invoice_title(kind: str) -> str:
    return "Creditnota" if kind == "credit_note" else "Factuur"


def ruling_carried_out(rulings: Iterable[tuple[str, str, date]]) -> str:
    """The sentence an invoice or credit note of a correction carries when it carries out rulings of
    the geschillencommissie (RULES.md §4.0): which, with their reference and date."""
    named = [f"uitspraak {r} ({ref}) van {date_nl(day)}" for r, ref, day in rulings]
    return (f"Deze correctie voert de {' en de '.join(named)} van de geschillencommissie uit: vanaf de datum "
            f"in de uitspraak betaalt de daarin aangewezen gemeente.")


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


# ---------------------------------------------------------------------------------------------
# The dossier of a dispute (settle explain --dispute)

# an agreement's terms (the fields of its canonical form) as the dossier names them
AGREEMENT_TERMS = {
    "region": "Zorgregio", "regions": "Partijen (zorgregio's)", "valid_from": "Geldig vanaf",
    "valid_to": "Geldig tot en met", "clients": "Cliënten", "domains": "Domeinen",
    "weights": "Verdeelsleutel (gewichten)", "creditor": "Schuldeiser", "budget": "Budget",
    "notify_within_days": "Meldtermijn (dagen na de start)", "late_notification": "Bij te late melding",
}
NO_SOURCE = "geen bron in de regionale documenten: een keuze van de regio, vastgelegd in de afspraak"
DISPUTE_STATE = {"open": "aanhangig (nog geen uitspraak)", "ruled": "beslist"}
MONTH_STATE = {"final": "definitief", "corrected": "definitief, gecorrigeerd", "draft": "concept (nog niet definitief)",
               "none": "nog niet afgerekend"}
# Spreadsheets for reconciliation (`settle export --format xlsx|csv`, a statement's specification)

# Iv3 taakveld (BBV) -> its name: where a municipality books the costs (a product's `taakveld`,
# by default its domain's: facts.TAAKVELD_BY_DOMAIN)
TAAKVELD = {
    "6.71": "Maatwerkdienstverlening 18+",
    "6.81a": "Geëscaleerde zorg 18+: beschermd wonen",
    "6.81b": "Geëscaleerde zorg 18+: maatschappelijke opvang",
}


def taakveld_nl(taakveld: str | None) -> str:
    return TAAKVELD.get(taakveld or "", "")


# sheet -> (the xlsx sheet's name, the end of a CSV file's name)
SHEETS = {"lines": ("Regels", "regels"), "pools": ("Pools", "pools"), "invoices": ("Facturen", "facturen"),
          "totals": ("Totalen", "totalen")}

# a column's header; "(woorden)" beside a code is the code in words
COLUMNS = {
    "month": "Maand", "run": "Run", "run_kind": "Soort run",
    "placement": "Plaatsing", "client": "Cliënt (pseudoniem)", "product": "Product", "product_name": "Productnaam",
    "taakveld": "Taakveld", "taakveld_name": "Taakveld (naam)", "region": "Zorgregio", "days": "Dagen",
    "amount": "Bedrag", "status": "Status", "status_nl": "Status (woorden)", "basis": "Grondslag",
    "basis_nl": "Grondslag (woorden)", "payer": "Betaler", "payer_name": "Betaler (naam)", "pool": "Pool",
    "creditor": "Schuldeiser", "creditor_name": "Schuldeiser (naam)", "flags": "Kenmerken",
    "flags_nl": "Kenmerken (woorden)", "invoice": "Factuurnummer", "invoice_kind": "Soort factuur",
    "invoice_kind_nl": "Soort factuur (woorden)",
    "agreement": "Afspraak", "agreement_name": "Afspraak (naam)", "costs": "Kosten pool", "budget": "Budgetdeel",
    "total": "Resultaat pool", "municipality": "Gemeente", "municipality_name": "Gemeente (naam)",
    "share": "Aandeel", "corrects": "Corrigeert", "debtor": "Debiteur", "debtor_name": "Debiteur (naam)",
    "payable": "Te betalen", "receivable": "Te ontvangen", "net": "Saldo (te ontvangen − te betalen)",
}


def specification_title(month: str, name: str | None = None) -> str:
    """'Specificatie afrekening maart 2024' (– Gemeente Zwolle): an xlsx's title."""
    return f"Specificatie afrekening {month_nl(month)}" + (f" – {name}" if name else "")


def run_kind_nl(kind: str, final: bool = True) -> str:
    """A run's kind in words: 'definitief', 'correctie', 'correctie (concept)', 'concept (nog niet definitief)'."""
    if kind == "correction" and not final:
        return f"{RUN_KIND['correction']} (concept)"
    return RUN_KIND.get(kind, kind)
