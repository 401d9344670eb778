"""The engine: a month of placements in, cost lines with payer, basis and trace out.

Pure: it reads a `Dataset` held in memory and returns values; the database, files and rendering
stay at the edges. To find why a client's cost lands where it does, read `Engine._allocate`:
it consults the rules of RULES.md §4 in order, then the agreements of §5.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from . import RULES_VERSION, __version__
from . import trace as _trace
from .agreements import KINDS, Agreement, Case, PoolResult
from .facts import Dataset, Placement
from .money import format_cents, largest_remainder
from .periods import Month
from .rules import amount, historic, mo, reentry, registration, ruling, status, vangnet, woonplaats
from .rules.base import InputError, Share, Step, shared_step

TRACE_FORMAT = _trace.FORMAT
BASES = ("mo", "historic", "pool", "reentry", "woonplaats", "woonplaats_before_institution", "vangnet",
         "registration", "late_notification", "ruling")
FLAGS = ("vangnet", "late_notification", "no_interregional_agreement", "contested")


class SettlementError(Exception):
    """The input cannot be settled: every problem, each naming its records."""

    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


class InvariantError(Exception):
    """A money invariant failed: a bug, never an input problem."""


@dataclass
class Line:
    placement: str
    client: str
    product: str
    region: str
    days: int
    amount: int
    status: str
    basis: str
    payer: str | None
    pool: str | None
    creditor: str
    flags: tuple[str, ...]
    trace: dict[str, Any] | None  # None when only its text came back from a worker process
    text: str | None = None  # the trace's canonical text, when already made (settlement.receipt)
    chunk: bytes | None = None  # what the lines hash takes of the line, when already made (idem)
    parts: Any = None  # the trace parts its text names (key -> text), when only its text came back

    @property
    def sort_key(self) -> tuple[str, str, str]:
        return (self.placement, self.payer or "", self.basis)

    def trace_dict(self) -> dict[str, Any]:
        if self.trace is None:
            assert self.text is not None
            self.trace = _trace.read(self.text, self.parts)
        return self.trace


@dataclass
class MonthResult:
    month: Month
    lines: list[Line]
    pools: list[PoolResult]
    invoices: list[tuple[str, str, int]] = field(default_factory=list)  # (creditor, debtor, cents)
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)  # code -> (payable, receivable)
    # the trace parts (key -> text, settlement.trace.write_shared) of the lines whose stored text
    # is already made (`Line.text`, by a worker process); the others' are added when stored
    parts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The payer of a new BW placement, fixed once at its start (RULES.md §4.4)."""

    payer: str
    basis: str
    flags: frozenset[str]
    steps: tuple[Step, ...]


class Engine:
    def __init__(self, ds: Dataset, agreements: list[Agreement]):
        self.ds = ds
        self.agreements = sorted(agreements, key=lambda a: a.id)
        self._status: dict[str, tuple[str, Step]] = {}
        self._decisions: dict[str, Decision] = {}

    # -- §4.2 ------------------------------------------------------------------------------
    def status_of(self, p: Placement) -> tuple[str, Step]:
        if p.placement not in self._status:
            self._status.update(status.evaluate_client_region(self.ds, p.client, p.region))
        return self._status[p.placement]

    # -- §4.4, fixed once per placement at its start -----------------------------------------
    def decide_woonplaats(self, p: Placement) -> Decision:
        if p.placement in self._decisions:
            return self._decisions[p.placement]
        steps: list[Step] = []
        chain = (
            ("reentry", reentry.REFERENCE, lambda: reentry.evaluate(self.ds, p, self.responsible_for)),
            ("woonplaats", woonplaats.WOONPLAATS_REF, lambda: woonplaats.evaluate_woonplaats(self.ds, p)),
            ("woonplaats_before_institution", woonplaats.BEFORE_INSTITUTION_REF,
             lambda: woonplaats.evaluate_before_institution(self.ds, p)),
            ("vangnet", vangnet.REFERENCE, lambda: vangnet.evaluate(self.ds, p)),
        )
        decided: tuple[str, str] | None = None
        for basis, reference, rule in chain:
            if decided is not None:
                steps.append(shared_step(basis, reference, False, (), "not_reached", {"decided": decided[1]}))
                continue
            payer, step = rule()
            steps.append(step)
            if payer is not None:
                decided = (payer, basis)
        assert decided is not None  # vangnet always decides
        flags = frozenset({"vangnet"}) if decided[1] == "vangnet" else frozenset()
        d = Decision(decided[0], decided[1], flags, tuple(steps))
        self._decisions[p.placement] = d
        return d

    def responsible_for(self, q: Placement) -> tuple[str, tuple[str, dict[str, Any]]]:
        """The municipality responsible for an earlier BW placement (for reentry): its payer, or
        its care region's centrumgemeente when it was historic or pooled."""
        cg = self.ds.regions[q.region].centrumgemeente
        st, _ = self.status_of(q)
        if st == "historic":
            return cg, ("responsible_historic", {"placement": q.placement, "region": q.region, "payer": cg})
        assert q.end is not None
        ruled = ruling.in_force(self.ds, q.placement, q.end)  # §4.0: a ruling decided its payer
        if ruled is not None:
            return ruled.payer, ("responsible_ruling", {"placement": q.placement, "ruling": ruled.ruling,
                                                        "payer": ruled.payer})
        end_month = Month(q.end.year, q.end.month)
        case = Case(self.ds, q, self.ds.products[q.product], end_month, st, q.end, q.end)
        for a in self.agreements:
            if a.pools(case):
                return cg, ("responsible_pooled", {"placement": q.placement, "agreement": a.id, "payer": cg})
        d = self.decide_woonplaats(q)
        return d.payer, ("responsible_payer", {"placement": q.placement, "payer": d.payer, "basis": d.basis})

    # -- one placement-month -----------------------------------------------------------------
    def _allocate(self, p: Placement, month: Month, amt: amount.Amount) -> tuple[str, list[Share], list[Step]]:
        ds = self.ds
        product = ds.products[p.product]
        steps: list[Step] = [amt.step]
        whole = ((amt.lo, amt.hi),)

        payer, step = mo.evaluate(ds, p, product)  # §4.1
        steps.append(step)
        if payer is not None:
            st = "n/a"
            shares = [Share(payer, "mo", whole)]
        else:
            st, step = self.status_of(p)  # §4.2
            steps.append(step)
            payer, step = historic.evaluate(ds, p, st)  # §4.3
            steps.append(step)
            if payer is not None:
                shares = [Share(payer, "historic", whole)]
            elif product.bw_definition:  # §4.4
                d = self.decide_woonplaats(p)
                steps.extend(d.steps)
                steps.append(shared_step(registration.RULE, registration.REFERENCE, False, (),
                                         "registration_not_bw", {"product": p.product}))
                shares = [Share(d.payer, d.basis, whole, d.flags)]
            else:  # §4.5
                steps.append(shared_step("woonplaats", woonplaats.WOONPLAATS_REF, False, (),
                                         "woonplaats_not_wmo", {"product": p.product}))
                shares, reg_steps = registration.evaluate(ds, p, amt.lo, amt.hi)
                steps.extend(reg_steps)
        shares, step = ruling.apply(ds, p, st, amt.lo, amt.hi, shares)  # §4.0, once the rules have spoken
        if step is not None:
            steps.append(step)

        case = Case(ds, p, product, month, st, amt.lo, amt.hi)  # §5
        claims: list[tuple[Agreement, Step]] = []
        for a in self.agreements:
            step = a.evaluate(case, shares)
            steps.append(step)
            if step.applies:
                claims.append((a, step))
        if len(claims) > 1:
            raise InputError(f"placement {p.placement} in {month} is claimed by agreements "
                             f"{' and '.join(a.id for a, _ in claims)}; one line may follow one agreement only")
        if claims:
            shares = claims[0][0].apply(case, shares, claims[0][1])
        claimed_kinds = {a.kind for a, _ in claims}
        for kind in sorted(KINDS):
            if kind not in claimed_kinds:
                shares, step = KINDS[kind].unclaimed(case, shares, self.agreements)
                if step is not None:
                    steps.append(step)
        shares, step = ruling.contest(ds, p, month.last, shares)  # §4.0: an open dispute flags every line
        if step is not None:
            steps.append(step)
        return st, shares, steps

    def _lines(self, p: Placement, month: Month) -> list[Line]:
        amt = amount.compute(self.ds, p, month)  # §3
        if amt is None:
            return []
        st, shares, steps = self._allocate(p, month, amt)
        # RULES.md §2: the creditor contracted and paid the provider: the placement's contractor, else
        # the care region's centrumgemeente
        creditor = p.contractor or self.ds.regions[p.region].centrumgemeente
        if len(shares) == 1:
            parts = {0: amt.cents}
        else:  # §3: split in proportion to days, largest remainder, ties to the earlier day range
            keyed = sorted(range(len(shares)), key=lambda i: (shares[i].first_day, i))
            rank = {i: n for n, i in enumerate(keyed)}
            parts = largest_remainder(amt.cents, [(rank[i], shares[i].days) for i in range(len(shares))])
            parts = {i: parts[rank[i]] for i in range(len(shares))}
        trace_steps = [s.as_dict() for s in steps]
        split = None if len(shares) == 1 else {
            "total": format_cents(amt.cents), "method": _trace.SPLIT_METHOD,
            "parts": [{"payer": s.payer, "basis": s.basis, "days": s.days, "amount": format_cents(parts[i]),
                       "ranges": [[a.isoformat(), b.isoformat()] for a, b in s.ranges]}
                      for i, s in enumerate(shares)]}
        out = []
        for i, s in enumerate(shares):
            flags = tuple(sorted(s.flags))
            trace: dict[str, Any] = {
                "format": TRACE_FORMAT, "period": str(month), "placement": p.placement, "client": p.client,
                "decision": {f"payer<{month}>": s.payer, f"basis<{month}>": s.basis, "status": st, "pool": s.pool,
                             "creditor": creditor, "days": s.days, "amount": format_cents(parts[i]),
                             "flags": list(flags)},
                "steps": _trace.line_steps(s.basis, trace_steps)}
            if split:
                trace["split"] = split
            out.append(Line(p.placement, p.client, p.product, p.region, s.days, parts[i], st, s.basis,
                            s.payer, s.pool, creditor, flags, trace))
        return out

    # -- a month -----------------------------------------------------------------------------
    def settle(self, month: Month) -> MonthResult:
        lines, problems = self.lines_of(month, self.ds.placements.values())
        if problems:
            raise SettlementError(problems)
        return self.complete(month, lines)

    def lines_of(self, month: Month, placements: Iterable[Placement]) -> tuple[list[Line], list[str]]:
        """The lines of `placements` in `month` (sorted), and the problems that stop them. A month
        can be settled in parts (settlement.workers): each placement's lines depend on the data
        only, never on the other placements' lines."""
        lines: list[Line] = []
        problems: list[str] = []
        for p in sorted(placements, key=lambda p: p.placement):
            if p.start > month.last or (p.end is not None and p.end < month.first):
                continue
            try:
                lines.extend(self._lines(p, month))
            except InputError as e:
                problems.append(str(e))
        lines.sort(key=lambda l: l.sort_key)
        return lines, problems

    def complete(self, month: Month, lines: list[Line], parts: dict[str, str] | None = None) -> MonthResult:
        """The month from all its lines in order: the pools (§5.1), invoices and totals (§8), and
        the invariants checked. `parts`: the trace parts of the lines whose text is made."""

        pooled: dict[str, list[Line]] = defaultdict(list)
        for line in lines:
            if line.pool is not None:
                pooled[line.pool].append(line)
        pools: list[PoolResult] = []
        for a in self.agreements:
            result = a.settle(month, [l.amount for l in pooled.get(a.id, ())])
            if result is None:
                continue
            pools.append(result)
            if a.id in pooled:
                block = _trace.StepDict({"agreement": a.id, **a.describe(result, month)})  # one for all its lines
                for line in pooled[a.id]:
                    line.trace_dict()["pool"] = block
                    line.text = line.chunk = None  # made again with the pool
        result = MonthResult(month, lines, pools, parts=parts if parts is not None else {})
        totals_and_invoices(result, sorted(self.ds.municipalities))
        check_invariants(result)
        return result


def totals_and_invoices(result: MonthResult, municipalities: list[str]) -> None:
    """RULES.md §8: one invoice per (creditor, debtor != creditor); payable and receivable."""
    owed: dict[tuple[str, str], int] = defaultdict(int)
    payable: dict[str, int] = defaultdict(int)
    for line in result.lines:
        if line.payer is not None:
            payable[line.payer] += line.amount
            owed[(line.creditor, line.payer)] += line.amount
    for pool in result.pools:
        for code, share in pool.shares.items():
            payable[code] += share
            owed[(pool.creditor, code)] += share
    result.invoices = sorted((c, d, v) for (c, d), v in owed.items() if c != d and v != 0)
    receivable: dict[str, int] = defaultdict(int)
    for creditor, _, v in result.invoices:
        receivable[creditor] += v
    result.totals = {m: (payable.get(m, 0), receivable.get(m, 0)) for m in municipalities}


def check_invariants(result: MonthResult) -> None:
    """Conservation (RULES.md §8) and the pool invariant (§5.1), checked on every run (and on the
    run read back at finalisation): raises InvariantError, so that nothing is stored."""
    for line in result.lines:
        if (line.payer is None) == (line.pool is None):
            raise InvariantError(f"line {line.sort_key} must have exactly one payer or one pool")
        if (line.basis == "pool") != (line.pool is not None):
            raise InvariantError(f"line {line.sort_key}: basis 'pool' must go with a pool, and only with one")
    for pool in result.pools:
        if sum(pool.shares.values()) != pool.total:
            raise InvariantError(f"pool {pool.agreement}: shares sum to {sum(pool.shares.values())} cents, "
                                 f"the total is {pool.total}")
        if pool.costs != sum(l.amount for l in result.lines if l.pool == pool.agreement):
            raise InvariantError(f"pool {pool.agreement}: total differs from its lines"
                                 + (" (its costs: the total plus the month budget)" if pool.budget else ""))
    # RULES.md §5.3: what the budget pools' budgets carried is borne by no municipality
    line_sum = sum(l.amount for l in result.lines)
    payable_sum = sum(p for p, _ in result.totals.values())
    budget_sum = sum(p.budget for p in result.pools)
    if line_sum != payable_sum + budget_sum:
        raise InvariantError(f"{result.month}: lines sum to {line_sum} cents but payables to {payable_sum}"
                             + (f" and the budget pools' month budgets to {budget_sum}" if budget_sum else ""))


def check_invoices(lines: list[Line], pools: list[PoolResult], invoices: list[dict[str, Any]]) -> None:
    """RULES.md §8 at finalisation: every invoice equals what it bills, computed here on its own
    from the lines and pool shares (not from the invoices' arithmetic): the debtor's lines to that
    creditor plus the debtor's shares in that creditor's pools. One invoice per (creditor,
    debtor != creditor) that owes anything, none otherwise; a credit note exactly when negative.

    `invoices`: dicts with creditor, debtor, kind, amount (what finalisation is about to number)."""
    billed: dict[tuple[str, str], int] = defaultdict(int)
    for line in lines:
        if line.payer is not None and line.payer != line.creditor:
            billed[(line.creditor, line.payer)] += line.amount
    for pool in pools:
        for code, share in pool.shares.items():
            if code != pool.creditor:
                billed[(pool.creditor, code)] += share
    seen: set[tuple[str, str]] = set()
    for inv in invoices:
        key = (inv["creditor"], inv["debtor"])
        what = f"the {inv['kind'].replace('_', ' ')} of {format_cents(inv['amount'])} from {key[0]} to {key[1]}"
        if key[0] == key[1]:
            raise InvariantError(f"{what}: a municipality never invoices itself")
        if key in seen:
            raise InvariantError(f"{what}: a second invoice for the same creditor and debtor")
        seen.add(key)
        if inv["amount"] != billed.get(key, 0):
            raise InvariantError(f"{what}: the debtor's lines and pool shares owed to that creditor sum to "
                                 f"{format_cents(billed.get(key, 0))}")
        if inv["amount"] == 0 or (inv["kind"] == "credit_note") != (inv["amount"] < 0):
            raise InvariantError(f"{what}: a credit note must be negative and an invoice positive")
    missing = sorted(k for k, v in billed.items() if v != 0 and k not in seen)
    if missing:
        c, d = missing[0]
        raise InvariantError(f"{d} owes {c} {format_cents(billed[(c, d)])} but there is no invoice for it")


def engine_info() -> dict[str, str]:
    return {"engine_version": __version__, "rules_version": RULES_VERSION}
