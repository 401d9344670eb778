"""Property test: random small valid datasets, one random month, the money invariants of
RULES.md §3, §5.1 and §8 and determinism (§7)."""

from collections import defaultdict
from datetime import date, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.agreements.interregional import Interregional
from settlement.agreements.pool import Pool
from settlement.engine import BASES, FLAGS, Engine
from settlement.money import round_half_away
from settlement.periods import Month
from tests.builders import TARIFF, world

MEMBERS = {"noord": ["0106", "1680", "1730"], "zuid": ["0114", "0109"]}
CODES = MEMBERS["noord"] + MEMBERS["zuid"]
CG = {"noord": "0106", "zuid": "0114"}
UNIT = {"BW-INTRA": "day", "BEGELEID": "month", "THUIS": "month", "MO": "day"}
DAY0 = date(2021, 1, 1)


def day(n):
    return DAY0 + timedelta(days=n)


@st.composite
def brp_history(draw, near=()):
    """Non-overlapping intervals from 2018 on: a few address changes in 2022-2024 (some shortly
    after the days `near`, the placements' starts), sometimes a gap."""
    candidates = st.integers(400, 1450)
    if near:
        candidates = st.one_of(candidates, st.builds(lambda n, k: n + k, st.sampled_from(near), st.integers(-3, 45)))
    changes = sorted(draw(st.sets(candidates, max_size=4)))
    bounds = [date(2018, 1, 1)] + [day(n) for n in changes]
    out = []
    for i, lo in enumerate(bounds):
        hi = bounds[i + 1] - timedelta(days=1) if i + 1 < len(bounds) else None
        kind = draw(st.sampled_from(["woonadres"] * 5 + ["institution"] * 2 + ["briefadres", "abroad", "gap"]))
        if kind != "gap":
            out.append((kind, None if kind == "abroad" else draw(st.sampled_from(CODES)), lo, hi))
    return out or [("woonadres", "1730", date(2018, 1, 1), None)]  # no BRP at all is an input error (§4.6)


@st.composite
def datasets(draw):
    w = world()
    for region in ("noord", "zuid"):  # the cutover is data (RULES.md §2)
        w.region(region, CG[region], MEMBERS[region], draw(st.sampled_from(["2022-01-01", "2023-01-01", "2024-01-01"])))
    placements = []
    for c in range(draw(st.integers(1, 4))):
        client = f"C{c}"
        app_days = draw(st.lists(st.integers(300, 1400), max_size=3, unique=True))
        apps = []
        for n in app_days:
            region = draw(st.sampled_from(["noord", "zuid"]))
            apps.append((region, draw(st.sampled_from(MEMBERS[region])), day(n)))
        ends, starts = set(), []
        for k in range(draw(st.integers(1, 3))):
            pid = f"P{c}{k}"
            starts.append(draw(st.integers(400, 1400)))  # 2022-02 .. 2024-11
            start = day(starts[-1])
            end = None if draw(st.integers(0, 3)) == 0 else start + timedelta(days=draw(st.integers(0, 400)))
            if end in ends:  # two BW placements ending on one day may make reentry ambiguous (an input error)
                end = None
            ends.add(end)
            product, region = draw(st.sampled_from(list(UNIT))), draw(st.sampled_from(["noord", "zuid"]))
            w.placement(pid, client, product, region, start, end)
            placements.append(pid)
            if draw(st.booleans()):
                w.notification(pid, draw(st.sampled_from(CODES)), start + timedelta(days=draw(st.integers(-5, 60))))
            if draw(st.booleans()):
                w.notification(pid, draw(st.sampled_from(CODES)), start + timedelta(days=draw(st.integers(0, 40))))
        w.client(client, brp=draw(brp_history(tuple(starts))), applications=apps)
    for pid in draw(st.lists(st.sampled_from(placements), max_size=2, unique=True)):
        start = w.placements[pid].start
        w.declaration(pid, str(Month(start.year, start.month)), draw(st.integers(0, 500000)))

    agreements = []
    pool_clients = draw(st.sampled_from([None, "historic", "new", "all"]))
    if pool_clients:
        region = draw(st.sampled_from(["noord", "zuid"]))
        weights = draw(st.lists(st.integers(0, 1000), min_size=len(MEMBERS[region]), max_size=len(MEMBERS[region]))
                       .filter(lambda ws: sum(ws) > 0))
        domains = tuple(sorted(draw(st.sets(st.sampled_from(["BW", "MO", "WMO"]), min_size=1))))
        agreements.append(Pool(id="pool", region=region, valid_from=date(2023, 1, 1), valid_to=date(2024, 12, 31),
                               clients=pool_clients, domains=domains, creditor=CG[region],
                               weights=tuple((c, Fraction(x)) for c, x in zip(MEMBERS[region], weights))))
    if pool_clients in (None, "historic") and draw(st.booleans()):  # a new line may follow one agreement only
        agreements.append(Interregional(id="eagle", regions=("noord", "zuid"), valid_from=date(2023, 1, 1),
                                        valid_to=None, notify_within_days=draw(st.integers(0, 30)),
                                        late_notification=draw(st.sampled_from(["shift", "flag"]))))
    some = w.placements[draw(st.sampled_from(placements))]
    on = some.start + timedelta(days=draw(st.integers(-31, 120)))
    month = Month(on.year, on.month)
    return w.build(), agreements, month


def expected_amount(ds, pid, month):
    """§3 with the builder's constant tariffs, or the declaration."""
    p = ds.placements[pid]
    lo, hi = max(p.start, month.first), min(p.end or month.last, month.last)
    days = (hi - lo).days + 1
    declared = ds.declaration_by_key.get((pid, str(month)))
    if declared:
        return days, declared.amount
    price = TARIFF[p.product]
    return days, price * days if UNIT[p.product] == "day" else round_half_away(Fraction(price * days, month.days))


@settings(max_examples=60, deadline=None)
@given(datasets())
def test_settlement_invariants(case):
    ds, agreements, month = case
    r = Engine(ds, agreements).settle(month)

    assert sum(l.amount for l in r.lines) == sum(p for p, _ in r.totals.values())       # conservation §8
    for pool in r.pools:
        assert sum(pool.shares.values()) == pool.total                                   # §5.1
        assert pool.total == sum(l.amount for l in r.lines if l.pool == pool.agreement)
    assert [l.sort_key for l in r.lines] == sorted(l.sort_key for l in r.lines)
    per_placement = defaultdict(lambda: [0, 0])
    for l in r.lines:
        assert (l.payer is None) != (l.pool is None)
        assert l.amount >= 0 and l.days > 0
        assert l.basis in BASES and set(l.flags) <= set(FLAGS) and list(l.flags) == sorted(set(l.flags))
        assert (l.status == "n/a") == (ds.products[l.product].domain == "MO")
        if l.basis == "mo":
            assert l.status == "n/a" and l.payer == CG[l.region]
        if l.basis == "historic":
            assert l.status == "historic" and l.payer == CG[l.region]
        if l.basis in ("vangnet",):
            assert "vangnet" in l.flags
        if l.basis == "late_notification":
            assert l.payer == CG[l.region] and "late_notification" in l.flags
        assert l.creditor == CG[l.region]
        per_placement[l.placement][0] += l.days
        per_placement[l.placement][1] += l.amount
    overlapping = {pid for pid, p in ds.placements.items()
                   if p.start <= month.last and (p.end is None or p.end >= month.first)}
    assert set(per_placement) == overlapping
    for pid, (days, cents) in per_placement.items():
        assert (days, cents) == expected_amount(ds, pid, month)   # splits add up to the unsplit line

    again = Engine(ds, agreements).settle(month)                                        # deterministic
    assert again.lines == r.lines and again.pools == r.pools
    assert again.invoices == r.invoices and again.totals == r.totals
