"""The budget monitor (RULES.md §9): per municipality, per region and per year, what it bore
against the budgets it received, and a projection to the last year of the budgets.

Pure: facts in (the snapshot's budgets, regions and members, the pool agreements' `clients`, and
per final month its lines and pool shares: the final run plus its finalised corrections, whose
lines and shares are differences and simply add up), figures out. The reading edge and the
documents are `settlement.monitor`.

What a municipality bore in a year, in integer cents (settlement.money):
- **historic costs**: its lines with status `historic` (it is their payer) plus its shares of the
  pools over historic clients (`clients = "historic"`). For a budget pool (RULES.md §5.3, a pool
  result that carries its month's budget part B(M)) the creditor moreover bears B(M): it paid
  the pooled lines C, its members paid it their shares of C - B(M); so the creditor bore its own
  share + B(M), and the year's historic costs of all municipalities still add up to the lines.
- **new costs**: its lines with status `new` (every basis) plus its shares of pools over new
  clients; **of which vangnet**: its lines flagged `vangnet` (a pooled line's vangnet flag is
  not counted: the pool, not a payer, carries it).
- **pooled, all clients**: its shares of pools with `clients = "all"`: such a pool mixes historic
  and new clients, so its shares are shown in a column of their own and counted against neither
  budget (the documents say so).
- **MO costs**: its lines with basis `mo`, against no budget.
- **result** per budget: budget - costs (negative: costs above the budget); **share used**:
  costs / budget as an exact fraction, shown in percent to one decimal with the house rounding
  (None when the budget is zero or absent).

A region's figures are the sum of its municipalities' rows: every municipality that is a member
on any day of the year (`region_members.csv` validity; a member that moved in the year counts in
both regions), plus the region's centrumgemeente when it is no member (RULES.md §2, v2: Assen for
Zuid-West, which kept the historic clients and budget); its budget is the sum of its rows' budgets
(Bijlage II's "Regionaal budget"). A municipality counted in two regions makes the regions' totals
add up to more than the national total.

Months of the year without a final run are named (`missing`), never counted as zero silently.

The projection (RULES.md §9, last paragraph), per region, from the month after the last final
month L to December of the last year that has budgets, kept apart from the settled figures:
- the base is the last twelve final months (fewer when fewer are final) of the region's
  municipalities: per status (historic, new) the costs borne and the **client-months** (each
  client's days in the month / days of the month, from the lines paid by the region's
  municipalities or pooled in a pool whose key names one of them);
- cost per client-month = costs / client-months of the base, per status;
- clients now = the client-months of L per status;
- every month a share 1/36 of the clients leaves (an average stay of 36 months [003 §4.1]); for
  historic clients as RULES.md §9 says, and for new clients too (else they would never leave);
- new clients arrive at the rate of the base: the clients with new-status days in a month and
  none in the month before, per month of the base; historic clients do not arrive;
- each projected month costs clients x cost per client-month; a year's projection is the exact
  sum of its projected months, rounded once. MO costs and pool agreements' end dates are not
  projected.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from .agreements import PoolResult
from .engine import Line
from .facts import Budget, Region, RegionMember
from .money import round_half_away
from .periods import Month, months_between, overlap

AVERAGE_STAY_MONTHS = 36  # [003 §4.1]: the average stay the projection's leave rate implies
BASE_MONTHS = 12  # the projection's base: the last twelve final months


@dataclass(frozen=True)
class MonthData:
    """A final month as the monitor takes it: the lines and pool results of its final run and its
    finalised corrections (differences), together."""

    month: str
    lines: Sequence[Line]
    pools: Sequence[PoolResult]


@dataclass
class Costs:
    """What one municipality (or region) bore, in cents."""

    historic: int = 0
    new: int = 0
    vangnet: int = 0  # of new
    pooled_all: int = 0  # shares of pools over all clients: counted against neither budget
    mo: int = 0

    def add(self, other: "Costs") -> None:
        self.historic += other.historic
        self.new += other.new
        self.vangnet += other.vangnet
        self.pooled_all += other.pooled_all
        self.mo += other.mo


def share_used(costs: int, budget: int | None) -> Fraction | None:
    """costs / budget, exact; None without a (positive) budget."""
    if not budget or budget <= 0:
        return None
    return Fraction(costs, budget)


def percent_tenths(share: Fraction | None) -> int | None:
    """A share as tenths of a percent with the house rounding: Fraction(1, 3) -> 333 (33.3 %)."""
    return None if share is None else round_half_away(share * 1000)


@dataclass
class Row:
    """One municipality's (or a region's total) year."""

    code: str
    name: str
    historic_budget: int | None
    objective_budget: int | None
    costs: Costs
    role: str = "member"  # member, centrumgemeente (no member), total

    @property
    def historic_result(self) -> int:
        return (self.historic_budget or 0) - self.costs.historic

    @property
    def objective_result(self) -> int:
        return (self.objective_budget or 0) - self.costs.new

    @property
    def historic_used(self) -> Fraction | None:
        return share_used(self.costs.historic, self.historic_budget)

    @property
    def objective_used(self) -> Fraction | None:
        return share_used(self.costs.new, self.objective_budget)


@dataclass
class ProjectedYear:
    year: int
    months: int  # projected months of the year
    historic: int  # cents, rounded once per year
    new: int


@dataclass
class Projection:
    """A region's projection; `years` empty when nothing is final or no budget year lies ahead."""

    last_final: str | None
    base: list[str]  # the months of the base
    cost_per_client_month: dict[str, Fraction]  # status -> cents
    clients_now: dict[str, Fraction]  # status -> client-months of the last final month
    arrivals_per_month: Fraction  # new clients
    years: list[ProjectedYear]
    leave_rate: Fraction = Fraction(1, AVERAGE_STAY_MONTHS)


@dataclass
class YearPoint:
    """One budget year of a region's plot: its budgets and, when any month of it is final, the
    settled costs of its final months."""

    year: int
    historic_budget: int
    objective_budget: int
    final_months: int
    historic: int
    new: int


@dataclass
class RegionMonitor:
    region: str
    name: str
    centrumgemeente: str
    rows: list[Row]
    total: Row
    projection: Projection
    series: list[YearPoint]
    without_budget: list[str]  # codes of rows without a budget row for the year


@dataclass
class Monitor:
    year: int
    regions: list[RegionMonitor]
    final_months: list[str]  # of the year
    missing: list[str]  # months of the year not final
    pending: list[str] = field(default_factory=list)  # months of the year with a draft correction waiting
    budget_years: tuple[int, int] = (0, 0)


class MonitorError(ValueError):
    """The monitor cannot be made for what was asked (an unknown region, a year without budgets)."""


# --------------------------------------------------------------------------------------------
# Membership


def region_codes(region: Region, members: Iterable[RegionMember], year: int) -> dict[str, str]:
    """The municipalities counted for `region` in `year`: code -> role. A member on any day of the
    year is a member; the centrumgemeente is counted too when it is none ("centrumgemeente")."""
    lo, hi = date(year, 1, 1), date(year, 12, 31)
    out = {m.municipality: "member" for m in members
           if m.region == region.region and overlap(m.valid_from, m.valid_to, lo, hi)}
    if region.centrumgemeente not in out:
        out[region.centrumgemeente] = "centrumgemeente"
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------------------------
# One month's costs per municipality


def pool_kind(agreement: str, clients: Mapping[str, str], lines: Iterable[Line]) -> str:
    """historic, new or all: the pool agreement's `clients`; for an agreement the snapshot no
    longer holds, what its pooled lines were (all historic, all new, else all)."""
    if agreement in clients:
        return clients[agreement]
    statuses = {l.status for l in lines if l.pool == agreement}
    return statuses.pop() if len(statuses) == 1 and statuses <= {"historic", "new"} else "all"


def month_costs(data: MonthData, pool_clients: Mapping[str, str]) -> dict[str, Costs]:
    """What each municipality bore in the month (RULES.md §9), from its lines and pool shares."""
    out: dict[str, Costs] = defaultdict(Costs)
    for l in data.lines:
        if l.payer is None:  # pooled: borne through the shares
            continue
        c = out[l.payer]
        if l.basis == "mo":
            c.mo += l.amount
        elif l.status == "historic":
            c.historic += l.amount
        elif l.status == "new":
            c.new += l.amount
            if "vangnet" in l.flags:
                c.vangnet += l.amount
    for p in data.pools:
        kind = pool_kind(p.agreement, pool_clients, data.lines)
        budget = getattr(p, "budget", 0) or 0  # a budget pool's B(M): borne by its creditor
        for code, share in p.shares.items():
            amount = share + (budget if code == p.creditor else 0)
            c = out[code]
            if kind == "historic":
                c.historic += amount
            elif kind == "new":
                c.new += amount
            else:
                c.pooled_all += amount
        if budget and p.creditor not in p.shares:
            out[p.creditor].historic += budget
    return dict(out)


def month_clients(data: MonthData, codes: set[str]) -> dict[str, dict[str, int]]:
    """status -> client -> days in the month, of the lines the municipalities `codes` pay or that
    a pool whose key names one of them carries (corrections add up; clients at zero dropped)."""
    pooled_for = {p.agreement for p in data.pools if any(c in codes for c, _ in p.weights)}
    days: dict[str, dict[str, int]] = {"historic": defaultdict(int), "new": defaultdict(int)}
    for l in data.lines:
        if l.status not in days:
            continue
        if (l.payer in codes) or (l.payer is None and l.pool in pooled_for):
            days[l.status][l.client] += l.days
    return {s: {c: n for c, n in sorted(d.items()) if n > 0} for s, d in days.items()}


# --------------------------------------------------------------------------------------------
# The monitor


def _budget_of(budgets: Mapping[tuple[str, int], Budget], code: str, year: int) -> Budget | None:
    return budgets.get((code, year))


def monitor(year: int, regions: Mapping[str, Region], members: Sequence[RegionMember], names: Mapping[str, str],
            budgets: Sequence[Budget], pool_clients: Mapping[str, str], months: Mapping[str, MonthData],
            region: str | None = None, pending: Iterable[str] = ()) -> Monitor:
    """The monitor of `year` for every region (or only `region`). `months`: every final month
    (of any year: the plot shows every year run, the projection starts from the last twelve)."""
    if region is not None and region not in regions:
        raise MonitorError(f"unknown region {region!r}; the regions are: {', '.join(sorted(regions))}")
    years = sorted({b.year for b in budgets})
    if year not in years:
        shown = f"{years[0]}-{years[-1]}" if years else "none"
        raise MonitorError(f"the current snapshot has no budgets for {year} (budgets.csv; budget years: {shown})")
    by_key = {(b.municipality, b.year): b for b in budgets}
    final = sorted(months)
    costs_of = {m: month_costs(months[m], pool_clients) for m in final}
    all_months = [str(m) for m in months_between(Month(year, 1), Month(year, 12))]
    year_final = [m for m in all_months if m in months]
    chosen = [regions[region]] if region is not None else [regions[r] for r in sorted(regions)]
    out = []
    for reg in chosen:
        roles = region_codes(reg, members, year)
        rows = []
        for code, role in roles.items():
            c = Costs()
            for m in year_final:
                if code in costs_of[m]:
                    c.add(costs_of[m][code])
            b = _budget_of(by_key, code, year)
            rows.append(Row(code, names.get(code, code), b.historic if b else None, b.objective if b else None, c,
                            role))
        total = Costs()
        for r in rows:
            total.add(r.costs)
        total_row = Row(reg.region, reg.name, sum(r.historic_budget or 0 for r in rows),
                        sum(r.objective_budget or 0 for r in rows), total, "total")
        series = []
        for y in range(years[0], years[-1] + 1):
            codes_y = region_codes(reg, members, y)
            done = [m for m in final if m.startswith(f"{y}-")]
            h = n = 0
            for m in done:
                for code in codes_y:
                    c = costs_of[m].get(code)
                    if c:
                        h += c.historic
                        n += c.new
            series.append(YearPoint(y, sum((by_key[(c, y)].historic or 0) for c in codes_y if (c, y) in by_key),
                                    sum((by_key[(c, y)].objective or 0) for c in codes_y if (c, y) in by_key),
                                    len(done), h, n))
        projection = project(reg, members, months, costs_of, years[-1])
        out.append(RegionMonitor(reg.region, reg.name, reg.centrumgemeente, rows, total_row, projection, series,
                                 [r.code for r in rows if r.historic_budget is None and r.objective_budget is None]))
    return Monitor(year, out, year_final, [m for m in all_months if m not in months],
                   sorted(m for m in set(pending) if m in all_months), (years[0], years[-1]))


def project(reg: Region, members: Sequence[RegionMember], months: Mapping[str, MonthData],
            costs_of: Mapping[str, Mapping[str, Costs]], last_year: int) -> Projection:
    """The region's projection (module docstring), from the last twelve final months."""
    final = sorted(months)
    base = final[-BASE_MONTHS:]
    if not base:
        return Projection(None, [], {}, {}, Fraction(0), [])
    cost = {"historic": 0, "new": 0}
    client_months = {"historic": Fraction(0), "new": Fraction(0)}
    now: dict[str, Fraction] = {}
    arrivals = 0
    for m in base:
        month = Month.parse(m)
        codes = set(region_codes(reg, members, month.year))
        for code in codes:
            c = costs_of[m].get(code)
            if c:
                cost["historic"] += c.historic
                cost["new"] += c.new
        clients = month_clients(months[m], codes)
        for status in client_months:
            client_months[status] += Fraction(sum(clients[status].values()), month.days)
        before = _previous(month)
        earlier = month_clients(months[before], codes)["new"] if before in months else {}
        arrivals += sum(1 for c in clients["new"] if c not in earlier)
        if m == base[-1]:
            now = {s: Fraction(sum(clients[s].values()), month.days) for s in clients}
    per_client = {s: (Fraction(cost[s]) / client_months[s] if client_months[s] else Fraction(0))
                  for s in cost}
    rate = Fraction(arrivals, len(base))
    leave = Fraction(1, AVERAGE_STAY_MONTHS)
    last = Month.parse(base[-1])
    ahead = months_between(last.next(), Month(last_year, 12))
    sums: dict[int, list] = {}
    n_h, n_n = now["historic"], now["new"]
    for m in ahead:
        n_h = n_h * (1 - leave)
        n_n = n_n * (1 - leave) + rate
        s = sums.setdefault(m.year, [0, Fraction(0), Fraction(0)])
        s[0] += 1
        s[1] += n_h * per_client["historic"]
        s[2] += n_n * per_client["new"]
    years = [ProjectedYear(y, n, round_half_away(h), round_half_away(nw)) for y, (n, h, nw) in sorted(sums.items())]
    return Projection(base[-1], base, per_client, now, rate, years, leave)


def _previous(month: Month) -> str:
    return str(Month(month.year - (month.month == 1), (month.month - 2) % 12 + 1))
