"""Agreement kind `interregional`: working agreements between regions on placements across
them (RULES.md §5.2), as Emmen, Assen, Groningen and Leeuwarden (EAGLE) made
[Regiovisie Zuidoost-Drenthe §4.2, §6.3].

It covers a new BW placement whose payer (§4.4) is, on the start, a member of another party
region than the care region. The care region must notify the payer within
`notify_within_days` (default 14: the two weeks iWmo gives to answer a woonplaats question).
Late or never: every line carries `late_notification`; with `shift` the days before the
notification (all days when never notified) stay with the care region's centrumgemeente.

A new BW line whose payer lies outside the care region and that no interregional agreement
covers carries `no_interregional_agreement` and is still charged to the payer (the law).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Callable

from .. import nl
from ..periods import ONE_DAY
from ..periods import covers, overlap
from ..rules.base import Share, Step
from .base import Agreement, Case, Wording, as_date, as_name, check_unknown, need

WOONPLAATS_BASES = ("reentry", "woonplaats", "woonplaats_before_institution", "vangnet")
NO_AGREEMENT_REF = "agreements/no_interregional_agreement"  # settlement.references
VERSION = "1"  # of the interregional kind, on its steps: raise it when what it decides or records changes


LATE_NL = {"shift": "verschuiven: de dagen van de start tot de dag vóór de melding betaalt de "
                    "centrumgemeente van de zorgregio",
           "flag": "alleen markeren: de betaler blijft betalen, de regel krijgt het kenmerk 'te late melding'"}


def _new_bw(case: Case) -> bool:
    return case.status == "new" and case.product.domain == "BW" and case.product.bw_definition


@dataclass(frozen=True)
class Interregional(Agreement):
    kind = "interregional"
    reference = "agreements/interregional"  # settlement.references
    title_nl = "Interregionale werkafspraak"
    step_titles_nl = {"no_interregional_agreement": "Betaler buiten de zorgregio zonder interregionale afspraak"}
    fields = frozenset({"regions", "valid_from", "valid_to", "notify_within_days", "late_notification", "name"})
    term_sources = {
        "regions": "Regiovisie Zuidoost-Drenthe §4.2 (EAGLE: de centrumgemeenten Emmen, Assen, Groningen en "
                   "Leeuwarden) en §6.3",
        "valid_from": "Regiovisie Zuidoost-Drenthe §4.2 (het woonplaatsbeginsel per 1 januari 2023)",
        "valid_to": None,
        "notify_within_days": None,  # 000 §4.2 speaks of 'informele werkafspraken', no term of days
        "late_notification": None,
    }

    id: str
    regions: tuple[str, ...]
    valid_from: date
    valid_to: date | None
    notify_within_days: int
    late_notification: str
    name: str | None = None  # the words a statement shows (INTERFACE.md v2)

    @classmethod
    def parse(cls, raw: dict[str, Any], ds, problem: Callable[[str, str], None]) -> "Interregional | None":
        check_unknown(raw, cls.fields, problem)
        regions = need(raw, "regions", problem)
        ok = True
        if regions is not None:
            if (not isinstance(regions, list) or not all(isinstance(r, str) for r in regions)
                    or len(regions) < 2 or len(set(regions)) != len(regions)):
                problem("regions", "must list at least two different regions")
                ok = False
            else:
                for r in regions:
                    if r not in ds.regions:
                        problem("regions", f"unknown region {r!r}")
                        ok = False
        valid_from = as_date(raw, "valid_from", problem)
        valid_to = as_date(raw, "valid_to", problem, required=False)
        if valid_from and valid_to and valid_to < valid_from:
            problem("valid_to", f"{valid_to} lies before valid_from {valid_from}")
        days = raw.get("notify_within_days", 14)
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 365:
            problem("notify_within_days", f"must be a whole number of days from 0 to 365, not {days!r}")
            ok = False
        late = need(raw, "late_notification", problem)
        if late is not None and late not in ("shift", "flag"):
            problem("late_notification", f"must be \"shift\" or \"flag\", not {late!r}")
            ok = False
        name = as_name(raw, problem)
        ok = ok and (name is not None or "name" not in raw)
        if not ok or regions is None or valid_from is None or late is None:
            return None
        return cls(id=raw["id"], regions=tuple(sorted(regions)), valid_from=valid_from, valid_to=valid_to,
                   notify_within_days=days, late_notification=late, name=name)

    def canonical(self) -> dict[str, Any]:
        out = {"id": self.id, "kind": self.kind, "regions": list(self.regions),
               "valid_from": self.valid_from.isoformat(),
               "valid_to": self.valid_to.isoformat() if self.valid_to else None,
               "notify_within_days": self.notify_within_days, "late_notification": self.late_notification}
        if self.name is not None:  # only when set, so that the agreements hash of every earlier snapshot stays
            out["name"] = self.name
        return out

    def evaluate(self, case: Case, shares: list[Share]) -> Step:
        no = self.does_not_apply
        p = case.placement
        if not _new_bw(case):
            return no("ir_not_new_bw")
        if not covers(self.valid_from, self.valid_to, p.start):
            return no("ir_not_valid", start=p.start.isoformat())
        if p.region not in self.regions:
            return no("ir_not_party", region=p.region)
        payer = shares[0].payer if shares else None
        membership = case.ds.region_of(payer, p.start) if payer else None
        if membership is None or membership.region not in self.regions or membership.region == p.region:
            return no("ir_payer_not_party", payer=payer, payer_region=membership.region if membership else None,
                      start=p.start.isoformat())
        deadline = p.start + timedelta(days=self.notify_within_days)
        notices = [n for n in case.ds.notifications_by_placement.get(p.placement, ()) if n.municipality == payer]
        first = notices[0] if notices else None
        read = [self.ref, {"record": f"region_members {payer}", "region": membership.region,
                           "valid_from": membership.valid_from.isoformat(),
                           "valid_to": membership.valid_to.isoformat() if membership.valid_to else None}]
        if first is not None:
            read.append({"record": f"notifications.csv:{first.line}", "municipality": first.municipality,
                         "notified_on": first.notified_on.isoformat()})
        on_time = first is not None and first.notified_on <= deadline
        outcome: dict[str, Any] = {"payer": payer, "payer_region": membership.region, "deadline": deadline.isoformat(),
                                   "notified_on": first.notified_on.isoformat() if first else None,
                                   "on_time": on_time, "late_notification": self.late_notification}
        code = "ir_on_time" if on_time else ("ir_never" if first is None else "ir_late")
        return Step(self.id, self.reference, True, read, outcome=outcome,
                    why=(code, {"payer": payer, "deadline": deadline.isoformat(),
                                "notified_on": first.notified_on.isoformat() if first else None}), kind=self.kind)

    def apply(self, case: Case, shares: list[Share], step: Step) -> list[Share]:
        assert step.outcome is not None
        if step.outcome["on_time"]:
            return shares
        flagged = [replace(s, flags=s.flags | {"late_notification"}) for s in shares]
        if self.late_notification == "flag":
            return flagged
        notified = step.outcome["notified_on"]
        shift_to = (date.fromisoformat(notified) - ONE_DAY) if notified else None
        shifted = overlap(case.placement.start, shift_to, case.lo, case.hi)
        if shifted is None:
            step.outcome["shifted_days"] = 0
            return flagged
        cg = case.ds.regions[case.placement.region].centrumgemeente
        out = [Share(payer=cg, basis="late_notification", ranges=(shifted,), flags=frozenset({"late_notification"}))]
        rest = overlap(shifted[1] + ONE_DAY, None, case.lo, case.hi)
        if rest is not None:
            out += [replace(s, ranges=(rest,)) for s in flagged]
        step.outcome["shifted_days"] = (shifted[1] - shifted[0]).days + 1
        step.outcome["shifted_to"] = cg
        return sorted(out, key=lambda s: s.first_day)

    @classmethod
    def unclaimed(cls, case: Case, shares: list[Share], agreements: list[Agreement]) -> tuple[list[Share], Step | None]:
        if not _new_bw(case):
            return shares, None
        p = case.placement
        out, read, outside = [], [], []
        for s in shares:
            if s.basis in WOONPLAATS_BASES and s.payer is not None:
                membership = case.ds.region_of(s.payer, p.start)
                if membership is None or membership.region != p.region:
                    outside.append(s.payer)
                    read.append({"record": f"region_members {s.payer}",
                                 "region": membership.region if membership else None})
                    s = replace(s, flags=s.flags | {"no_interregional_agreement"})
            out.append(s)
        if not outside:
            return shares, None
        return out, Step("no_interregional_agreement", NO_AGREEMENT_REF, True, read,
                         outcome={"flag": "no_interregional_agreement", "payer": outside[0]},
                         why=("no_agreement", {"payer": outside[0], "region": p.region}))

    # -- in Dutch, for the dossier ----------------------------------------------------------------
    @classmethod
    def term_nl(cls, term: str, value: Any) -> str | None:
        return LATE_NL.get(value) if term == "late_notification" else None

    @classmethod
    def deadline(cls, step: dict[str, Any]) -> tuple[str, str | None] | None:
        o = step.get("outcome") or {}
        return (o["deadline"], o.get("notified_on")) if "deadline" in o else None

    @classmethod
    def explain_nl(cls, step: dict[str, Any], agreement: dict[str, Any] | None, w: Wording) -> dict[str, Any] | None:
        if step["rule"] == "no_interregional_agreement":
            return {"kind": "none", "terms": [("Verwijzing", w.reference)], "facts": [],
                    "effect": "De wet geldt: de betaler betaalt; de regel krijgt het kenmerk "
                              "‘geen interregionale afspraak’."}
        if (step.get("why") or {}).get("code") not in ("ir_on_time", "ir_late", "ir_never"):
            return None
        n, a, o, line = w.names, agreement or {}, step["outcome"], w.line
        start = w.placement.start.isoformat() if w.placement else None
        terms = [
            ("Afspraak", f"{a['name']} ({step['rule']}, interregionale werkafspraak)" if a.get("name")
                         else f"{step['rule']} (interregionale werkafspraak)"),
            ("Partijen", ", ".join(n.region(r) for r in a.get("regions", []))),
            ("Geldig", nl.period_nl(a.get("valid_from"), a.get("valid_to"))),
            ("Meldtermijn", f"{a.get('notify_within_days', '?')} dagen na de start"),
            ("Bij te late melding", LATE_NL.get(a.get("late_notification", ""), a.get("late_notification", "?"))),
            ("Verwijzing", w.reference),
        ]
        facts = [
            ("Betaler volgens de woonplaatsregels", f"{n.municipality(o['payer'])}, regio "
                                                    f"{n.region(o.get('payer_region'))}"),
            ("Zorgregio van de plaatsing", n.region(line.region)),
            ("Start van de plaatsing", nl.date_nl(start) if start else "-"),
            ("Uiterste meldingsdatum", f"{nl.date_nl(o['deadline'])} (start + {a.get('notify_within_days', '?')} "
                                       f"dagen)"),
        ]
        if o.get("notified_on"):
            late = (date.fromisoformat(o["notified_on"]) - date.fromisoformat(o["deadline"])).days
            facts.append(("Gemeld op", nl.date_nl(o["notified_on"]) + (
                f": {late} dag{'en' if late != 1 else ''} na de termijn" if late > 0 else ": op tijd")))
        else:
            facts.append(("Gemeld op", "nooit gemeld"))
        if o.get("on_time"):
            effect = "Op tijd gemeld: de afspraak verandert niets aan de betaler."
        elif o.get("late_notification") == "flag":
            effect = ("Te laat gemeld; de afspraak markeert de regels alleen ('te late melding'), de betaler "
                      "blijft betalen.")
        elif o.get("shifted_days"):
            shifted = _shifted_range(line)
            effect = (f"Te laat gemeld; verschuiven: in {nl.month_nl(line.trace['period'])} gaan "
                      f"{o['shifted_days']} dag{'en' if o['shifted_days'] != 1 else ''}"
                      f"{' (' + shifted + ')' if shifted else ''} naar {n.municipality(o.get('shifted_to'))} "
                      f"met grondslag ‘te late melding’; de overige dagen blijven bij "
                      f"{n.municipality(o['payer'])}.")
        else:
            effect = (f"Te laat gemeld; verschuiven, maar in {nl.month_nl(line.trace['period'])} valt geen dag "
                      f"vóór de melding: alle dagen blijven bij {n.municipality(o['payer'])} (wel gemarkeerd).")
        return {"kind": "interregional", "terms": terms, "facts": facts, "effect": effect}


def _shifted_range(line: Any) -> str:
    """The days of a line's placement-month that went to the centrumgemeente, in words."""
    split = line.trace.get("split")
    if not split:
        return ""
    for part in split["parts"]:
        if part["basis"] == "late_notification":
            return ", ".join(nl.range_nl(a, b) for a, b in part["ranges"])
    return ""
