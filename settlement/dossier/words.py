"""The dossier's Dutch sentences: readable records and reasons with names instead of codes.

The vocabulary (rule titles, bases, flags, dates, euros) is the one of `settlement.nl`.

The reasons themselves come from the one phrasebook (`settlement.phrases`, `say("nl", ...)`);
here they only get municipality and region *names* beside the codes the trace stores, so that a
committee member reads "Assen (0106)" where the trace says "0106".
"""

from __future__ import annotations

from typing import Any

from ..agreements import KINDS
from ..facts import Dataset
from ..nl import RULE_TITLES, brp_kind_nl, date_nl, domain_nl, euro, month_nl, period_nl
from ..phrases import say

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
    """The Dutch title of a step's rule; an agreement step is titled by its kind (Agreement.title_nl)
    and id, a step under a rule name of a kind's own by the kind (Agreement.step_titles_nl)."""
    if rule in RULE_TITLES:
        return RULE_TITLES[rule]
    own = next((k.step_titles_nl[rule] for _, k in sorted(KINDS.items()) if rule in k.step_titles_nl), None)
    if own is not None:
        return own
    a = agreements.get(rule)
    if a is not None:
        title = f"{KINDS[a['kind']].title_nl if a['kind'] in KINDS else 'Afspraak'} ‘{rule}’"
        return f"{a['name']} ({title})" if a.get("name") else title
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


def record_nl(r: dict[str, Any], names: Names) -> tuple[str, str]:
    """A record a rule read, as (identifier, what it says in Dutch); the record is a typed key
    (settlement.trace)."""
    from ..trace import record_label, record_type
    key = r.get("record") or {}
    rec, what = record_label(key), record_type(key)
    if what == "brp.csv":
        kind = brp_kind_nl(r.get("kind"))
        where = f" in {names.municipality(r['municipality'])}" if r.get("municipality") else ""
        return rec, f"BRP: {kind}{where}, {period_nl(r.get('valid_from'), r.get('valid_to'))}"
    if what == "applications.csv":
        return rec, (f"aanmelding in {names.municipality(r.get('municipality'))}, zorgregio "
                     f"{names.region(r.get('region'))}, op {date_nl(r.get('date'))}")
    if what == "placement":
        return rec, (f"plaatsing {names.product(r.get('product', ''))} in zorgregio {names.region(r.get('region'))}, "
                     f"{period_nl(r.get('start'), r.get('end'))}")
    if what == "declaration":
        return rec, f"declaratie (werkelijk bedrag): {euro(r['amount'])}"
    if what == "tariff":
        return rec, f"tarief {euro(r['price'])}, geldig {period_nl(r.get('valid_from'), r.get('valid_to'))}"
    if what == "product":
        return rec, f"domein {r.get('domain')} ({domain_nl(r.get('domain'))})"
    if what == "region_members":
        if "valid_from" in r:
            return rec, (f"lid van regio {names.region(r.get('region'))}, "
                         f"{period_nl(r.get('valid_from'), r.get('valid_to'))}")
        return rec, f"lid van regio {names.region(r.get('region'))} op de startdatum"
    if what == "region":
        return rec, f"centrumgemeente {names.municipality(r.get('centrumgemeente'))}"
    if what == "agreement":
        kind = KINDS[r["kind"]].title_nl if r.get("kind") in KINDS else r.get("kind")
        return rec, f"{kind}, geldig {period_nl(r.get('valid_from'), r.get('valid_to'))}"
    if what == "notifications.csv":
        return rec, f"melding aan {names.municipality(r.get('municipality'))} op {date_nl(r.get('notified_on'))}"
    if what == "ruling":
        return rec, (f"uitspraak {r.get('reference')}, beslist op {date_nl(r.get('decided_on'))}: "
                     f"{names.municipality(r.get('payer'))} betaalt vanaf {date_nl(r.get('valid_from'))}")
    if what == "dispute":
        return rec, (f"geschil aangespannen door {names.municipality(r.get('raised_by'))} op "
                     f"{date_nl(r.get('raised_on'))}")
    rest = ", ".join(f"{k} = {v}" for k, v in r.items() if k != "record" and v is not None)
    return rec, rest
