"""Agreement kind `pool`: municipalities of a region carry costs together (RULES.md §5.1).

IJssel-Vecht: the eight municipalities carry the historic clients' costs together for the first
three years (2023-2025) by a distribution key [Regiovisie IJssel-Vecht §4.1.2]. Each month the
pool's total is split over the weights by the largest remainder rule; every member's share is
payable to the creditor (default the region's centrumgemeente), whose own share stays with it.

A budget pool (`budget = "historic"`, RULES.md §5.3) shares the RESULT instead: the month's total
is T = C - B(M), the pooled costs minus the month's part of the creditor's historic budget B(Y)
(`budgets.csv`), B(Y) split over the twelve months by the largest remainder, ties to the earlier
month. T may be negative (a surplus, shared back, sign kept). The municipalities together bear the
costs of the clients "middels het historisch budget gefinancierd" [Regiovisie IJssel-Vecht
§4.1.2]; the budget itself is the Rijk's, paid to the centrumgemeente [Regiovisie Zuidoost-Drenthe
§14.1, Bijlage II]. A year of the pool without the creditor's budget row is an error of the input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable

from .. import nl
from ..money import format_cents, largest_remainder
from ..periods import Month, overlap
from ..rules.base import Share, Step
from ..trace import POOL_ARITHMETIC
from .base import Agreement, Case, PoolResult, Wording, as_date, as_name, as_region, check_unknown, need

CLIENTS = ("historic", "new", "all")
DOMAINS = ("BW", "MO", "WMO")
BUDGETS = ("historic",)  # the budgets a pool may share the result of (RULES.md §5.3)
CLIENTS_NL = {"historic": "historische cliënten", "new": "nieuwe cliënten", "all": "alle cliënten"}
VERSION = "1"  # of the pool kind, on its steps: raise it when what it decides or records changes


@dataclass(frozen=True)
class Pool(Agreement):
    kind = "pool"
    reference = "agreements/pool"  # settlement.references
    title_nl = "Solidariteitspool"
    fields = frozenset({"region", "valid_from", "valid_to", "clients", "domains", "weights", "creditor", "budget",
                        "name"})
    term_sources = {
        "region": "Regiovisie IJssel-Vecht §4.1.2 (de lokale gemeenten in de regio IJssel-Vecht)",
        "valid_from": "Regiovisie IJssel-Vecht §4.1.2 (de eerste drie jaren na de decentralisatie van 1 januari 2023)",
        "valid_to": "Regiovisie IJssel-Vecht §4.1.2 (de eerste drie jaren; evaluatie in 2025)",
        "clients": "Regiovisie IJssel-Vecht §4.1.2 (huidige cliënten: een indicatie BW vóór 1 januari 2023)",
        "domains": "Regiovisie IJssel-Vecht §4.1.2 (de bekostiging van beschermd wonen)",
        "budget": "Regiovisie IJssel-Vecht §4.1.2 (middels het historisch budget gefinancierd)",
        "weights": None,  # 003 §4.1.2 names a 'huidige verdeelsleutel' but not its figures
        "creditor": None,
    }

    id: str
    region: str
    valid_from: date
    valid_to: date | None
    clients: str
    domains: tuple[str, ...]
    weights: tuple[tuple[str, Fraction], ...]
    creditor: str
    budget: str | None = None  # "historic": a budget pool (RULES.md §5.3)
    name: str | None = None  # the words a statement shows (INTERFACE.md v2)
    year_budgets: tuple[tuple[int, int], ...] = ()  # a budget pool's B(Y) per year, cents (budgets.csv)

    @classmethod
    def term_nl(cls, term: str, value: Any) -> str | None:
        if term == "clients":
            return CLIENTS_NL.get(value)
        if term == "budget" and value == "historic":
            return "historisch budget: de pool verdeelt de kosten min het maanddeel van het budget (RULES.md §5.3)"
        return None

    @classmethod
    def parse(cls, raw: dict[str, Any], ds, problem: Callable[[str, str], None]) -> "Pool | None":
        check_unknown(raw, cls.fields, problem)
        region = as_region(raw, "region", ds, problem)
        valid_from = as_date(raw, "valid_from", problem)
        valid_to = as_date(raw, "valid_to", problem, required=False)
        if valid_from and valid_from.day != 1:
            problem("valid_from", "a pool settles whole months: it must be the first day of a month")
        if valid_to and Month(valid_to.year, valid_to.month).last != valid_to:
            problem("valid_to", "a pool settles whole months: it must be the last day of a month")
        if valid_from and valid_to and valid_to < valid_from:
            problem("valid_to", f"{valid_to} lies before valid_from {valid_from}")
        clients = need(raw, "clients", problem)
        if clients is not None and clients not in CLIENTS:
            problem("clients", f"must be one of {', '.join(CLIENTS)}, not {clients!r}")
        domains = raw.get("domains", ["BW"])
        if not isinstance(domains, list) or not domains or any(d not in DOMAINS for d in domains):
            problem("domains", f"must be a non-empty list out of {', '.join(DOMAINS)}, not {domains!r}")
            domains = []
        weights_raw = need(raw, "weights", problem)
        weights: list[tuple[str, Fraction]] = []
        if weights_raw is not None:
            if not isinstance(weights_raw, dict) or not weights_raw:
                problem("weights", "must be a table of municipality code = weight")
            else:
                for code, w in sorted(weights_raw.items()):
                    if code not in ds.municipalities:
                        problem("weights", f"unknown municipality code {code!r}")
                        continue
                    if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
                        problem("weights", f"weight of {code} must be a non-negative number, not {w!r}")
                        continue
                    if region and valid_from and not any(
                            m.region == region and overlap(m.valid_from, m.valid_to, valid_from, valid_to)
                            for m in ds.members_by_municipality.get(code, ())):
                        problem("weights", f"{code} is not a member of region {region} while the agreement is valid")
                        continue
                    weights.append((code, Fraction(Decimal(repr(w))) if isinstance(w, float) else Fraction(w)))
                if weights and sum(w for _, w in weights) <= 0:
                    problem("weights", "the weights must not all be zero")
        creditor = raw.get("creditor")
        if creditor is None and region:
            creditor = ds.regions[region].centrumgemeente
        elif creditor is not None and (not isinstance(creditor, str) or creditor not in ds.municipalities):
            problem("creditor", f"unknown municipality code {creditor!r}")
            creditor = None
        budget = raw.get("budget")
        if budget is not None and budget not in BUDGETS:
            problem("budget", f"must be {' or '.join(repr(b) for b in BUDGETS)}, not {budget!r}")
            budget = None
        name = as_name(raw, problem)
        year_budgets: list[tuple[int, int]] = []
        if budget is not None and valid_from is not None and valid_to is None and "valid_to" not in raw:
            problem("valid_to", "a budget pool needs an end date: every year it is valid needs the creditor's "
                                "historic budget in budgets.csv (RULES.md §5.3)")
        elif budget is not None and creditor is not None and valid_from is not None and valid_to is not None:
            year_budgets = _year_budgets(ds, creditor, valid_from, valid_to, problem)
        if None in (region, valid_from, clients, creditor) or not weights or not domains:
            return None
        return cls(id=raw["id"], region=region, valid_from=valid_from, valid_to=valid_to,  # type: ignore[arg-type]
                   clients=clients, domains=tuple(sorted(domains)), weights=tuple(weights), creditor=creditor,
                   budget=budget, name=name, year_budgets=tuple(year_budgets))

    def canonical(self) -> dict[str, Any]:
        out = {"id": self.id, "kind": self.kind, "region": self.region,
               "valid_from": self.valid_from.isoformat(),
               "valid_to": self.valid_to.isoformat() if self.valid_to else None,
               "clients": self.clients, "domains": list(self.domains),
               "weights": {c: str(w) for c, w in self.weights}, "creditor": self.creditor}
        # later fields only when set, so that the agreements hash of every earlier snapshot stays
        for later in ("budget", "name"):
            if getattr(self, later) is not None:
                out[later] = getattr(self, later)
        return out

    def month_budget(self, month: Month) -> int:
        """B(M): the month's part of B(Y), the year's budget split over its twelve months with
        equal weights by the largest remainder (ties to the earlier month), so that the twelve
        parts add up exactly to B(Y). 0 for a pool without a budget."""
        if self.budget is None:
            return 0
        year = dict(self.year_budgets)[month.year]  # parse required a budget for every year of the pool
        return largest_remainder(year, [(m, 1) for m in range(1, 13)])[month.month]

    def year_budget(self, year: int) -> int | None:
        return dict(self.year_budgets).get(year)

    def _key(self) -> dict[str, str]:
        return {c: str(w) for c, w in self.weights}

    def evaluate(self, case: Case, shares: list[Share]) -> Step:
        no = self.does_not_apply
        if case.placement.region != self.region:
            return no("pool_other_region", region=case.placement.region, pool_region=self.region)
        if not overlap(self.valid_from, self.valid_to, case.month.first, case.month.last):
            return no("pool_not_valid", month=str(case.month))
        if case.product.domain not in self.domains:
            return no("pool_other_domain", domain=case.product.domain, domains=", ".join(self.domains))
        if self.clients != "all" and case.status != self.clients:
            return no("pool_other_status", status=case.status, clients=self.clients)
        return Step(self.id, self.reference, True, [self.ref],
                    outcome={"basis": "pool", "payer": None, "pool": self.id, "creditor": self.creditor,
                             "key": self._key()},
                    why=("pool_applies", {"status": case.status, "domain": case.product.domain,
                                          "region": self.region, "month": str(case.month)}), kind=self.kind)

    def apply(self, case: Case, shares: list[Share], step: Step) -> list[Share]:
        flags = frozenset().union(*(s.flags for s in shares)) if shares else frozenset()
        return [Share(payer=None, basis="pool", ranges=((case.lo, case.hi),), flags=flags, pool=self.id)]

    def pools(self, case: Case) -> bool:
        return self.evaluate(case, []).applies

    def pool_region(self) -> str | None:
        return self.region

    def settle(self, month: Month, pooled_amounts: list[int]) -> PoolResult | None:
        """The month's pool: T = C (- B(M) for a budget pool) split over the weights. A pool
        without lines in the month settles nothing, unless it is a budget pool valid in the month:
        then T = -B(M), the month's budget shared back."""
        if not pooled_amounts and (self.budget is None or not overlap(self.valid_from, self.valid_to,
                                                                      month.first, month.last)):
            return None
        budget = self.month_budget(month)
        total = sum(pooled_amounts) - budget
        shares = largest_remainder(total, list(self.weights))
        return PoolResult(self.id, self.creditor, total, self.weights, dict(sorted(shares.items())), budget)

    def describe(self, result: PoolResult, month: Month) -> dict[str, Any]:
        """The pool block of a pooled line's trace: the month's total, key and shares; for a budget
        pool also C, B(Y) and B(M) (RULES.md §5.3)."""
        weight_sum = sum(w for _, w in result.weights)
        extra: dict[str, Any] = {}
        if self.budget is not None:
            extra = {"budget": self.budget, "costs": format_cents(result.costs),
                     "budget_year": format_cents(self.year_budget(month.year) or 0),
                     "budget_month": format_cents(result.budget)}
        return {**extra, "total": format_cents(result.total), "key": {c: str(w) for c, w in result.weights},
                "weight_sum": str(weight_sum), "creditor": result.creditor,
                "shares": {c: format_cents(v) for c, v in result.shares.items()},
                "arithmetic": POOL_ARITHMETIC}

    @classmethod
    def explain_nl(cls, step: dict[str, Any], agreement: dict[str, Any] | None, w: Wording) -> dict[str, Any] | None:
        if (step.get("outcome") or {}).get("basis") != "pool":
            return None
        n, a = w.names, agreement or {}
        kind_nl = "budgetpool: verdeelt kosten min historisch budget" if a.get("budget") else "solidariteitspool"
        terms = [
            ("Afspraak", f"{a['name']} ({step['rule']}, {kind_nl})" if a.get("name") else f"{step['rule']} ({kind_nl})"),
            ("Regio", n.region(a.get("region"))),
            ("Geldig", nl.period_nl(a.get("valid_from"), a.get("valid_to"))),
            ("Cliënten", CLIENTS_NL.get(a.get("clients"), a.get("clients"))),  # type: ignore[arg-type]
            ("Domeinen", ", ".join(a.get("domains", []))),
            ("Schuldeiser", n.municipality(a.get("creditor"))),
            ("Verwijzing", w.reference),
        ]
        if a.get("budget"):
            terms.insert(-1, ("Budget", f"het historisch budget van {n.municipality(a.get('creditor'))} "
                                        f"(budgets.csv), per maand een twaalfde (RULES.md §5.3)"))
            effect = ("De regel heeft geen eigen betaler: de kosten van de pool in de maand min het maanddeel van "
                      "het historisch budget worden naar de verdeelsleutel over de gemeenten verdeeld; een "
                      "overschot wordt zo teruggegeven (zie ‘Pool’).")
        else:
            effect = ("De regel heeft geen eigen betaler: het totaal van de pool in de maand wordt naar de "
                      "verdeelsleutel over de gemeenten verdeeld (zie ‘Pool’).")
        return {"kind": "pool", "terms": terms, "facts": [], "effect": effect}


def _year_budgets(ds, creditor: str, valid_from: date, valid_to: date,
                  problem: Callable[[str, str], None]) -> list[tuple[int, int]]:
    """B(Y) of the creditor for every year the budget pool is valid; a missing row or an empty
    `historic` is a problem of the field."""
    rows = {b.year: b.historic for b in ds.budgets if b.municipality == creditor}
    out = []
    for year in range(valid_from.year, valid_to.year + 1):
        value = rows.get(year)
        if value is None:
            problem("budget", f"budgets.csv has no historic budget of the creditor {creditor} for {year}, "
                              f"which a budget pool valid in {year} shares (RULES.md §5.3)")
            continue
        out.append((year, value))
    return out
