"""Agreement kind `pool`: municipalities of a region carry costs together (RULES.md §5.1).

IJssel-Vecht: the eight municipalities carry the historic clients' costs together for the first
three years (2023-2025) by a distribution key [Regiovisie IJssel-Vecht §4.1.2]. Each month the
pool's total is split over the weights by the largest remainder rule; every member's share is
payable to the creditor (default the region's centrumgemeente), whose own share stays with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable

from ..money import format_cents, largest_remainder
from ..periods import Month, overlap
from ..rules.base import Share, Step
from ..trace import POOL_ARITHMETIC
from .base import Agreement, Case, PoolResult, as_date, as_region, check_unknown, need

CLIENTS = ("historic", "new", "all")
DOMAINS = ("BW", "MO", "WMO")
VERSION = "1"  # of the pool kind, on its steps: raise it when what it decides or records changes


@dataclass(frozen=True)
class Pool(Agreement):
    kind = "pool"
    reference = "agreements/pool"  # settlement.references
    fields = frozenset({"region", "valid_from", "valid_to", "clients", "domains", "weights", "creditor"})

    id: str
    region: str
    valid_from: date
    valid_to: date | None
    clients: str
    domains: tuple[str, ...]
    weights: tuple[tuple[str, Fraction], ...]
    creditor: str

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
        if None in (region, valid_from, clients, creditor) or not weights or not domains:
            return None
        return cls(id=raw["id"], region=region, valid_from=valid_from, valid_to=valid_to,  # type: ignore[arg-type]
                   clients=clients, domains=tuple(sorted(domains)), weights=tuple(weights), creditor=creditor)

    def canonical(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "region": self.region,
                "valid_from": self.valid_from.isoformat(),
                "valid_to": self.valid_to.isoformat() if self.valid_to else None,
                "clients": self.clients, "domains": list(self.domains),
                "weights": {c: str(w) for c, w in self.weights}, "creditor": self.creditor}

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

    def settle(self, month: Month, pooled_amounts: list[int]) -> PoolResult:
        total = sum(pooled_amounts)
        shares = largest_remainder(total, list(self.weights))
        return PoolResult(self.id, self.creditor, total, self.weights, dict(sorted(shares.items())))

    @staticmethod
    def describe(result: PoolResult) -> dict[str, Any]:
        weight_sum = sum(w for _, w in result.weights)
        return {"total": format_cents(result.total), "key": {c: str(w) for c, w in result.weights},
                "weight_sum": str(weight_sum), "creditor": result.creditor,
                "shares": {c: format_cents(v) for c, v in result.shares.items()},
                "arithmetic": POOL_ARITHMETIC}
