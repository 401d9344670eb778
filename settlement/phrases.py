"""The words of the traces, in English (messages, `settle explain`) and Dutch (documents, dossiers).

A rule records *why* as a phrase code with parameters; the trace keeps only the code and the
parameters (settlement.trace), and `settle explain` renders them in English, a Dutch document in
Dutch, when they are read. One place for the wording, so that the two languages cannot drift
apart, and a new wording changes no stored trace. VERSION changes with any wording; a run's
receipt records it, outside the lines hash.
"""

from __future__ import annotations

VERSION = "1"

from typing import Any, Callable

from .nl import date_nl as nl_date
from .periods import WINDOW

Phrase = Callable[[dict[str, Any]], str]

KIND_NL = {"woonadres": "een woonadres", "institution": "een instellingsadres", "briefadres": "een briefadres",
           "abroad": "een registratie in het buitenland", None: "geen BRP-registratie"}
KIND_EN = {"woonadres": "a woonadres", "institution": "an institution address", "briefadres": "a briefadres",
           "abroad": "a period abroad", None: "no BRP registration"}


def _how_en(p: dict[str, Any]) -> str:
    return say("en", p["how"]["code"], p["how"]["params"])


def _how_nl(p: dict[str, Any]) -> str:
    return say("nl", p["how"]["code"], p["how"]["params"])


EN: dict[str, Phrase] = {
    "mo_not_domain": lambda p: f"product {p['product']} is of domain {p['domain']}, not MO",
    "mo_applies": lambda p: "opvang: the centrumgemeente of the care region pays",
    "status": lambda p: (f"the chain of activity in {p['region']} starts {p['first']}, "
                         f"{'before' if p['status'] == 'historic' else 'on or after'} the cutover {p['cutover']}"),
    "historic_not_new": lambda p: "the placement's chain is new, not historic",
    "historic_applies": lambda p: "historic client: the centrumgemeente of the care region pays",
    "reentry_none": lambda p: (f"no earlier BW placement of this client ended 1 to {WINDOW.days} days before the "
                               f"start {p['start']}"),
    "reentry_applies": lambda p: (f"earlier BW placement {p['earlier']} ended {p['end']}, {p['days']} days before "
                                  f"the start; " + _how_en(p)),
    "responsible_historic": lambda p: f"{p['placement']} was historic in {p['region']}: its centrumgemeente {p['payer']} is responsible",
    "responsible_pooled": lambda p: f"{p['placement']} was pooled by {p['agreement']}: its centrumgemeente {p['payer']} is responsible",
    "responsible_payer": lambda p: f"{p['placement']} was paid by {p['payer']} (basis {p['basis']})",
    "responsible_ruling": lambda p: (f"{p['placement']} was decided by ruling {p['ruling']} of the "
                                     f"geschillencommissie: {p['payer']} is responsible"),
    "ruling_decides": lambda p: (f"ruling {p['ruling']} of the geschillencommissie ({p['reference']}) decides from "
                                 f"{p['valid_from']}: {p['payer']} pays"),
    "ruling_not_yet": lambda p: f"ruling {p['ruling']} holds only from {p['valid_from']}, after this month",
    "ruling_not_new": lambda p: f"a ruling decides new-status lines only; this line is {p['status']}",
    "dispute_open": lambda p: (f"dispute {p['disputes']} raised by {p['raised_by']} is not ruled on by {p['day']}: "
                               f"the line is contested"),
    "dispute_not_open": lambda p: f"dispute {p['disputes']} was not open on {p['day']} (not yet raised, or ruled on)",
    "woonplaats_none": lambda p: f"on {p['day']}, the day before the start, the client had {KIND_EN[p['kind']]}, not a woonadres",
    "woonplaats_applies": lambda p: f"woonadres in {p['payer']} on {p['day']}, the day before the start",
    "institution_none": lambda p: f"on {p['day']} the client had {KIND_EN[p['kind']]}, not an institution address",
    "institution_walk_fails": lambda p: (f"walking back through {p['walked']} institution registration(s) reaches "
                                         f"{KIND_EN[p['kind']]} on {p['day']}, not a woonadres"),
    "institution_applies": lambda p: (f"institution address(es) back to {p['since']}; the woonadres just before them "
                                      f"was in {p['payer']}"),
    "vangnet_application": lambda p: (f"no woonadres {'on ' + p['day'] if p.get('day') else 'before the start'}; "
                                      f"the governing application was made in {p['payer']}"),
    "vangnet_centrumgemeente": lambda p: (f"no woonadres {'on ' + p['day'] if p.get('day') else 'before the start'} "
                                          f"and no application in {p['region']}; the centrumgemeente pays"),
    "registration_applies": lambda p: "each day is paid by the municipality of that day's woonadres",
    "not_reached": lambda p: f"not evaluated: rule {p['decided']} comes first and decided",
    "registration_not_bw": lambda p: f"product {p['product']} has the BW definition: the woonplaats rules decide",
    "woonplaats_not_wmo": lambda p: f"product {p['product']} lacks the BW definition: §4.5 decides day by day",
    "pool_other_region": lambda p: f"the care region is {p['region']}, the pool is of {p['pool_region']}",
    "pool_not_valid": lambda p: f"the pool is not valid in {p['month']}",
    "pool_other_domain": lambda p: f"domain {p['domain']} is not among the pool's domains {p['domains']}",
    "pool_other_status": lambda p: f"the line's status is {p['status']}; the pool carries {p['clients']} clients only",
    "pool_applies": lambda p: f"{p['status']} {p['domain']} line of {p['region']} in {p['month']}: carried by the pool",
    "ir_not_new_bw": lambda p: "only new placements of a BW product are covered",
    "ir_not_valid": lambda p: f"the agreement is not valid on the start {p['start']}",
    "ir_not_party": lambda p: f"the care region {p['region']} is not a party",
    "ir_payer_not_party": lambda p: (f"the payer {p['payer']} belongs to {p['payer_region'] or 'no region'} on "
                                     f"{p['start']}, not to another party region"),
    "ir_on_time": lambda p: f"{p['payer']} was notified on {p['notified_on']}, within the deadline {p['deadline']}",
    "ir_never": lambda p: f"{p['payer']} was never notified (deadline {p['deadline']})",
    "ir_late": lambda p: f"{p['payer']} was notified on {p['notified_on']}, after the deadline {p['deadline']}",
    "no_agreement": lambda p: (f"the payer {p['payer']} lies outside the care region {p['region']} and no interregional "
                               f"agreement covers the placement; it is still charged to the payer"),
    # a correction line (settlement.correction): its rule, and why an earlier amount is reversed
    "correction": lambda p: ("correction = amount now computed - sum of the amounts finalised before for this "
                             "(placement, payer, basis) and month"),
    "correction_reversed": lambda p: ("this payer and basis no longer arise for the placement in this month: "
                                      "the amount finalised before is reversed"
                                      + ("" if p["cost_line"] else "; the placement has no cost line in this month any more")),
}

NL: dict[str, Phrase] = {
    "mo_not_domain": lambda p: f"product {p['product']} valt onder domein {p['domain']}, niet onder maatschappelijke opvang",
    "mo_applies": lambda p: "maatschappelijke opvang: de centrumgemeente van de zorgregio betaalt",
    "status": lambda p: (f"de keten van aanmeldingen en plaatsingen in {p['region']} begint op {nl_date(p['first'])}, "
                         f"{'vóór' if p['status'] == 'historic' else 'op of na'} de overgangsdatum {nl_date(p['cutover'])}; "
                         f"de cliënt is daarom {'historisch' if p['status'] == 'historic' else 'nieuw'}"),
    "historic_not_new": lambda p: "de keten van de plaatsing is nieuw, niet historisch",
    "historic_applies": lambda p: "historische cliënt: de centrumgemeente van de zorgregio betaalt",
    "reentry_none": lambda p: (f"geen eerdere BW-plaatsing van deze cliënt eindigde 1 tot {WINDOW.days} dagen vóór de start "
                               f"op {nl_date(p['start'])}"),
    "reentry_applies": lambda p: (f"eerdere BW-plaatsing {p['earlier']} eindigde op {nl_date(p['end'])}, {p['days']} dagen "
                                  f"vóór de start; " + _how_nl(p)),
    "responsible_historic": lambda p: (f"{p['placement']} was historisch in {p['region']}: de centrumgemeente "
                                       f"{p['payer']} is verantwoordelijk"),
    "responsible_pooled": lambda p: (f"{p['placement']} viel onder de pool {p['agreement']}: de centrumgemeente "
                                     f"{p['payer']} is verantwoordelijk"),
    "responsible_payer": lambda p: f"{p['placement']} werd betaald door {p['payer']} (grondslag {p['basis']})",
    "responsible_ruling": lambda p: (f"over {p['placement']} besliste de geschillencommissie in uitspraak "
                                     f"{p['ruling']}: {p['payer']} is verantwoordelijk"),
    "ruling_decides": lambda p: (f"uitspraak {p['ruling']} van de geschillencommissie ({p['reference']}) beslist vanaf "
                                 f"{nl_date(p['valid_from'])}: {p['payer']} betaalt"),
    "ruling_not_yet": lambda p: f"uitspraak {p['ruling']} geldt pas vanaf {nl_date(p['valid_from'])}, na deze maand",
    "ruling_not_new": lambda p: f"een uitspraak beslist alleen over regels van nieuwe cliënten; deze regel is {p['status']}",
    "dispute_open": lambda p: (f"geschil {p['disputes']}, aangespannen door {p['raised_by']}, is op {nl_date(p['day'])} "
                               f"nog niet beslist: de regel is betwist"),
    "dispute_not_open": lambda p: (f"geschil {p['disputes']} was op {nl_date(p['day'])} niet aanhangig (nog niet "
                                   f"aangespannen, of beslist)"),
    "woonplaats_none": lambda p: (f"op {nl_date(p['day'])}, de dag vóór de start, had de cliënt {KIND_NL[p['kind']]}, "
                                  f"geen woonadres"),
    "woonplaats_applies": lambda p: f"woonadres in {p['payer']} op {nl_date(p['day'])}, de dag vóór de start",
    "institution_none": lambda p: f"op {nl_date(p['day'])} had de cliënt {KIND_NL[p['kind']]}, geen instellingsadres",
    "institution_walk_fails": lambda p: (f"terug door {p['walked']} instellingsadres(sen) komt men op {nl_date(p['day'])} "
                                         f"uit bij {KIND_NL[p['kind']]}, niet bij een woonadres"),
    "institution_applies": lambda p: (f"instellingsadres(sen) terug tot {nl_date(p['since'])}; het woonadres direct "
                                      f"daarvoor lag in {p['payer']}"),
    "vangnet_application": lambda p: (f"geen woonadres {'op ' + nl_date(p['day']) if p.get('day') else 'vóór de start'}; "
                                      f"de bepalende aanmelding is gedaan in {p['payer']}"),
    "vangnet_centrumgemeente": lambda p: (f"geen woonadres {'op ' + nl_date(p['day']) if p.get('day') else 'vóór de start'} "
                                          f"en geen aanmelding in {p['region']}; de centrumgemeente betaalt"),
    "registration_applies": lambda p: "elke dag betaalt de gemeente van het woonadres op die dag",
    "not_reached": lambda p: f"niet beoordeeld: regel {p['decided']} gaat voor en besliste",
    "registration_not_bw": lambda p: (f"product {p['product']} valt onder de BW-definitie: de woonplaatsregels "
                                      f"beslissen"),
    "woonplaats_not_wmo": lambda p: (f"product {p['product']} valt niet onder de BW-definitie: de inschrijving per dag "
                                     f"beslist (§4.5)"),
    "pool_other_region": lambda p: f"de zorgregio is {p['region']}, de pool hoort bij {p['pool_region']}",
    "pool_not_valid": lambda p: f"de pool geldt niet in {p['month']}",
    "pool_other_domain": lambda p: f"domein {p['domain']} hoort niet bij de domeinen van de pool ({p['domains']})",
    "pool_other_status": lambda p: (f"de regel is {'historisch' if p['status'] == 'historic' else p['status']}; "
                                    f"de pool draagt alleen {p['clients']} cliënten"),
    "pool_applies": lambda p: f"regel van {p['region']} in {p['month']}: gedragen door de pool",
    "ir_not_new_bw": lambda p: "alleen nieuwe plaatsingen van een BW-product vallen eronder",
    "ir_not_valid": lambda p: f"de afspraak geldt niet op de startdatum {nl_date(p['start'])}",
    "ir_not_party": lambda p: f"de zorgregio {p['region']} is geen partij",
    "ir_payer_not_party": lambda p: (f"de betaler {p['payer']} hoort op {nl_date(p['start'])} bij "
                                     f"{p['payer_region'] or 'geen regio'}, niet bij een andere partijregio"),
    "ir_on_time": lambda p: (f"{p['payer']} is gemeld op {nl_date(p['notified_on'])}, binnen de termijn "
                             f"(uiterlijk {nl_date(p['deadline'])})"),
    "ir_never": lambda p: f"{p['payer']} is nooit gemeld (termijn tot en met {nl_date(p['deadline'])})",
    "ir_late": lambda p: (f"{p['payer']} is gemeld op {nl_date(p['notified_on'])}, na de termijn "
                          f"(uiterlijk {nl_date(p['deadline'])})"),
    "no_agreement": lambda p: (f"de betaler {p['payer']} ligt buiten de zorgregio {p['region']} en geen interregionale "
                               f"afspraak dekt de plaatsing; de kosten gaan toch naar de betaler (de wet)"),
    "correction": lambda p: ("correctie = het bedrag dat nu volgt − de som van de bedragen die eerder voor deze "
                             "(plaatsing, betaler, grondslag) en maand definitief zijn afgerekend"),
    "correction_reversed": lambda p: ("Deze betaler en grondslag komen voor deze plaatsing in deze maand niet meer voor: het "
                                      "eerder definitief afgerekende bedrag wordt teruggedraaid."
                                      + ("" if p["cost_line"] else " De plaatsing heeft in deze maand geen kosten meer.")),
}

BOOKS = {"en": EN, "nl": NL}


def register(code: str, en: Phrase, nl: Phrase) -> None:
    """Add the reason `code` of an agreement kind in both languages (settlement.agreements: a kind
    brings its own words); a code may not be worded twice."""
    if (code in EN and EN[code] is not en) or (code in NL and NL[code] is not nl):
        raise ValueError(f"phrase code {code!r} is already worded")
    EN[code], NL[code] = en, nl


def say(lang: str, code: str, params: dict[str, Any]) -> str:
    return BOOKS[lang][code](params)


# The codes of a trace's descriptive fields (settlement.trace: the amount's `rounding` and
# `computation`, the split's `method`, the pool's `arithmetic`), in words.
TERMS: dict[str, dict[str, str]] = {
    "en": {
        "half_away_from_zero": "half away from zero, once per line",
        "declaration_replaces_amount": "declaration replaces the computed amount",
        "largest_remainder_days": "largest remainder over days, ties to the earlier day range",
        "largest_remainder_weights": ("share = floor(total x weight / sum of weights), remaining cents to the "
                                      "largest remainders, ties to the lower municipality code"),
    },
    "nl": {
        "half_away_from_zero": "één keer afgerond (half van nul af) voor de hele regel",
        "declaration_replaces_amount": "de declaratie vervangt het berekende bedrag",
        "largest_remainder_days": ("naar rato van de dagen, de resterende centen naar de grootste resten, bij gelijke "
                                   "rest naar de eerdere dagen"),
        "largest_remainder_weights": ("aandeel = naar beneden afgerond (totaal × gewicht / som van de gewichten), de "
                                      "resterende centen naar de grootste resten, bij gelijke rest naar de laagste "
                                      "gemeentecode"),
    },
}


def term(lang: str, code: str) -> str:
    """A descriptive field's code in words; a code the book does not know is shown as it is."""
    return TERMS[lang].get(code, code)


# The dossier's words for a step's sources (settlement.references) and for the earlier decision a
# step depends on (`depends_on`, settlement.trace).
def source_nl(src: dict[str, Any]) -> str:
    """One source of the catalogue in a line: document, article or paragraph, lid, and since when."""
    text = ", ".join(str(src[k]) for k in ("document", "section", "lid") if src.get(k))
    return text + (f" (geldig vanaf {nl_date(src['valid_from'])})" if src.get("valid_from") else "")


def earlier_nl(placement: str, rule: str, title: str, reason: str | None, run: int, month: str) -> str:
    """The decision of an earlier placement a step rests on, as its stored trace holds it."""
    return (f"Eerdere plaatsing {placement}: {rule} ({title})" + (f": {reason}" if reason else "")
            + f". Uit de opgeslagen trace van run {run} ({month}).")


def earlier_missing_nl(placement: str) -> str:
    return (f"Eerdere plaatsing {placement}: geen opgeslagen run bevat een regel van deze plaatsing; de "
            f"verantwoordelijkheid staat in de reden hierboven.")
