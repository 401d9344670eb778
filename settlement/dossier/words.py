"""The dossier's Dutch words: rule titles, readable records, reasons with names instead of codes.

The reasons themselves come from the one phrasebook (`settlement.phrases`, `say("nl", ...)`);
here they only get municipality and region *names* beside the codes the trace stores, so that a
committee member reads "Assen (0106)" where the trace says "0106".
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..facts import Dataset
from ..money import format_euro_nl, parse_euros
from ..periods import WINDOW
from ..phrases import nl_date, say

# rule id -> Dutch title. Agreements are steps whose rule is the agreement's id: see `rule_title`.
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
    "no_interregional_agreement": "Betaler buiten de zorgregio zonder interregionale afspraak",
}
KIND_TITLES = {"interregional": "Interregionale werkafspraak", "pool": "Solidariteitspool"}

KIND_NL = {"woonadres": "woonadres", "institution": "instellingsadres", "briefadres": "briefadres",
           "abroad": "buitenland"}
DOMAIN_NL = {"BW": "beschermd wonen", "MO": "maatschappelijke opvang", "WMO": "Wmo-ondersteuning (lichter)"}
STATUS_NL = {"historic": "historisch", "new": "nieuw", "n/a": "n.v.t. (opvang)"}
RUN_KIND_NL = {"final": "definitief", "correction": "correctie", "draft": "concept (nog niet definitief)"}
LATE_NL = {"shift": "verschuiven: de dagen van de start tot de dag vóór de melding betaalt de "
                    "centrumgemeente van de zorgregio",
           "flag": "alleen markeren: de betaler blijft betalen, de regel krijgt het kenmerk 'te late melding'"}
FLAG_NL = {"vangnet": "vangnet", "late_notification": "te late melding",
           "no_interregional_agreement": "geen interregionale afspraak"}

_MUNICIPALITY_PARAMS = ("payer",)
_REGION_PARAMS = ("region", "pool_region", "payer_region")


class Names:
    """Codes to readable names, from the facts of a run's snapshot."""

    def __init__(self, ds: Dataset):
        self.ds = ds

    def municipality(self, code: str | None) -> str:
        if code is None:
            return "-"
        m = self.ds.municipalities.get(code)
        return f"{m.name} ({code})" if m else code

    def municipality_short(self, code: str | None) -> str:
        if code is None:
            return "-"
        m = self.ds.municipalities.get(code)
        return m.name if m else code

    def region(self, region: str | None) -> str:
        if region is None:
            return "geen regio"
        r = self.ds.regions.get(region)
        return r.name if r else region

    def product(self, product: str) -> str:
        p = self.ds.products.get(product)
        return f"{product} – {p.name}" if p else product


def rule_title(rule: str, agreements: dict[str, dict[str, Any]]) -> str:
    """The Dutch title of a step's rule; an agreement step is titled by its kind and id."""
    if rule in RULE_TITLES:
        return RULE_TITLES[rule]
    a = agreements.get(rule)
    if a is not None:
        return f"{KIND_TITLES.get(a['kind'], 'Afspraak')} ‘{rule}’"
    return f"Afspraak ‘{rule}’"


def named_params(params: dict[str, Any], names: Names, agreements: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The phrase parameters with names beside codes (municipalities, regions, the deciding rule)."""
    out = dict(params)
    for key in _MUNICIPALITY_PARAMS:
        if isinstance(out.get(key), str):
            out[key] = names.municipality(out[key])
    for key in _REGION_PARAMS:
        if key in out and (out[key] is None or isinstance(out[key], str)):
            out[key] = names.region(out[key]) if out[key] is not None else None
    if isinstance(out.get("month"), str) and len(out["month"]) == 7:
        from ..documents.texts import month_nl
        out["month"] = month_nl(out["month"])
    if isinstance(out.get("decided"), str):
        out["decided"] = f"‘{rule_title(out['decided'], agreements)}’"
    if isinstance(out.get("how"), dict):
        out["how"] = {"code": out["how"]["code"], "params": named_params(out["how"]["params"], names, agreements)}
    return out


def reason_nl(step: dict[str, Any], names: Names, agreements: dict[str, dict[str, Any]]) -> str | None:
    """The Dutch reason of a trace step: `phrases.say("nl", code, params)` with names."""
    why = step.get("why")
    if not why:
        return None
    return say("nl", why["code"], named_params(why["params"], names, agreements))


def period_nl(lo: str | None, hi: str | None) -> str:
    if lo is None:
        return "-"
    if hi is None:
        return f"vanaf {nl_date(lo)}"
    if lo == hi:
        return nl_date(lo)
    return f"{nl_date(lo)} t/m {nl_date(hi)}"


def range_nl(lo: str, hi: str) -> str:
    """A day range in few words: '1 t/m 9 juli 2023', '28 juni t/m 3 juli 2023'."""
    from datetime import date
    from ..phrases import MONTHS_NL
    a, b = date.fromisoformat(lo), date.fromisoformat(hi)
    if a == b:
        return nl_date(a)
    if (a.year, a.month) == (b.year, b.month):
        return f"{a.day} t/m {nl_date(b)}"
    if a.year == b.year:
        return f"{a.day} {MONTHS_NL[a.month - 1]} t/m {nl_date(b)}"
    return f"{nl_date(a)} t/m {nl_date(b)}"


def euro(text: str | int) -> str:
    """'1991.99' or 199199 -> '€ 1.991,99'."""
    return format_euro_nl(parse_euros(text) if isinstance(text, str) else text)


def cents_nl(value: Fraction | int) -> str:
    """An exact amount of cents in words a reader can check: '199.199 cent', '217.763 22/31 cent',
    '-12 1/2 cent'."""
    value = Fraction(value)
    sign = "-" if value < 0 else ""
    whole, rest = divmod(abs(value.numerator), value.denominator)
    text = f"{whole:,}".replace(",", ".")
    if rest:
        text = f"{text} {rest}/{value.denominator}" if whole else f"{rest}/{value.denominator}"
    return f"{sign}{text} cent"


def weight_nl(text: str) -> str:
    from ..documents.texts import weight_nl as w
    return w(text)


def record_nl(r: dict[str, Any], names: Names) -> tuple[str, str]:
    """A record a rule read, as (identifier, what it says in Dutch); the record is a typed key
    (settlement.trace)."""
    from ..trace import record_label, record_type
    key = r.get("record") or {}
    rec, what = record_label(key), record_type(key)
    if what == "brp.csv":
        kind = KIND_NL.get(r.get("kind"), r.get("kind"))
        where = f" in {names.municipality(r['municipality'])}" if r.get("municipality") else ""
        return rec, f"BRP: {kind}{where}, {period_nl(r.get('valid_from'), r.get('valid_to'))}"
    if what == "applications.csv":
        return rec, (f"aanmelding in {names.municipality(r.get('municipality'))}, zorgregio "
                     f"{names.region(r.get('region'))}, op {nl_date(r.get('date'))}")
    if what == "placement":
        return rec, (f"plaatsing {names.product(r.get('product', ''))} in zorgregio {names.region(r.get('region'))}, "
                     f"{period_nl(r.get('start'), r.get('end'))}")
    if what == "declaration":
        return rec, f"declaratie (werkelijk bedrag): {euro(r['amount'])}"
    if what == "tariff":
        return rec, f"tarief {euro(r['price'])}, geldig {period_nl(r.get('valid_from'), r.get('valid_to'))}"
    if what == "product":
        return rec, f"domein {r.get('domain')} ({DOMAIN_NL.get(r.get('domain'), r.get('domain'))})"
    if what == "region_members":
        if "valid_from" in r:
            return rec, (f"lid van regio {names.region(r.get('region'))}, "
                         f"{period_nl(r.get('valid_from'), r.get('valid_to'))}")
        return rec, f"lid van regio {names.region(r.get('region'))} op de startdatum"
    if what == "region":
        return rec, f"centrumgemeente {names.municipality(r.get('centrumgemeente'))}"
    if what == "agreement":
        kind = KIND_TITLES.get(r.get("kind"), r.get("kind"))
        return rec, f"{kind}, geldig {period_nl(r.get('valid_from'), r.get('valid_to'))}"
    if what == "notifications.csv":
        return rec, f"melding aan {names.municipality(r.get('municipality'))} op {nl_date(r.get('notified_on'))}"
    rest = ", ".join(f"{k} = {v}" for k, v in r.items() if k != "record" and v is not None)
    return rec, rest
