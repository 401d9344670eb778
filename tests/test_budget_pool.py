"""RULES.md §5.3, budget pools: a pool with `budget = "historic"` shares the month's RESULT, the
pooled costs C minus the month's part B(M) of the creditor's historic budget B(Y). Figures worked
out by hand (tests/builders.py: a historic BW client in noord, its lines declared in cents).

The pool: weights 0106 2, 1680 5, 1730 3 (sum 10), creditor 0106 (noord's centrumgemeente).
B(2023) = 1,200,005 cents: 1,200,005 / 12 = 100,000 5/12, so each month gets 100,000 and the 5
cents left go, all remainders equal, to the five earliest months: January-May 100,001, June-
December 100,000; together 5 x 100,001 + 7 x 100,000 = 1,200,005.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from settlement import export
from settlement.agreements.pool import Pool
from settlement.loader import LoadError, parse_agreements_text
from settlement.periods import Month
from tests.builders import settle, world

B_2023 = 1_200_005
WEIGHTS = (("0106", Fraction(2)), ("1680", Fraction(5)), ("1730", Fraction(3)))


def budget_pool(**kw):
    fields = dict(id="ijv", region="noord", valid_from=date(2023, 1, 1), valid_to=date(2023, 12, 31),
                  clients="historic", domains=("BW",), weights=WEIGHTS, creditor="0106", budget="historic",
                  name="Solidariteit historisch budget", year_budgets=((2023, B_2023),))
    fields.update(kw)
    return Pool(**fields)


def historic(declared: dict[str, int]):
    w = world()
    w.client("H1", brp=[("woonadres", "1730", "2000-01-01", None)])
    w.placement("PH1", "H1", "BW-INTRA", "noord", "2022-06-01")
    for month, cents in declared.items():
        w.declaration("PH1", month, cents)
    return w.budget("0106", 2023, B_2023)


def test_the_twelve_month_parts_add_up_to_the_year_budget_ties_to_the_earlier_months():
    p = budget_pool()
    parts = [p.month_budget(Month(2023, m)) for m in range(1, 13)]
    assert parts == [100_001] * 5 + [100_000] * 7
    assert sum(parts) == B_2023


def test_a_deficit_month_shares_costs_minus_the_month_budget():
    # March: C = 300,002, B(M) = 100,001, T = 200,001; exact shares 40,000.2 / 100,000.5 / 60,000.3:
    # floors 200,000, the one cent left to the largest remainder (1680's .5)
    r = settle(historic({"2023-03": 300_002}), "2023-03", [budget_pool()])
    [p] = r.pools
    assert (p.costs, p.budget, p.total) == (300_002, 100_001, 200_001)
    assert p.shares == {"0106": 40_000, "1680": 100_001, "1730": 60_000}
    assert r.invoices == [("0106", "1680", 100_001), ("0106", "1730", 60_000)]
    assert r.totals["0106"] == (40_000, 160_001) and r.totals["1680"] == (100_001, 0)
    # conservation with a budget: lines 300,002 = payables 200,001 + month budget 100,001
    assert sum(pay for pay, _ in r.totals.values()) + p.budget == 300_002
    block = r.lines[0].trace["pool"]
    assert (block["costs"], block["budget_year"], block["budget_month"], block["total"]) == \
        ("3000.02", "12000.05", "1000.01", "2000.01")
    assert block["budget"] == "historic" and block["key"] == {"0106": "2", "1680": "5", "1730": "3"}


def test_a_surplus_month_is_shared_back_with_its_sign_and_billed_as_credit_notes():
    # June: C = 40,000, B(M) = 100,000, T = -60,000 -> -12,000 / -30,000 / -18,000
    r = settle(historic({"2023-06": 40_000}), "2023-06", [budget_pool()])
    [p] = r.pools
    assert (p.costs, p.budget, p.total) == (40_000, 100_000, -60_000)
    assert p.shares == {"0106": -12_000, "1680": -30_000, "1730": -18_000}
    assert r.invoices == [("0106", "1680", -30_000), ("0106", "1730", -18_000)]  # the creditor owes: credit notes
    assert r.totals["1680"] == (-30_000, 0) and r.totals["0106"] == (-12_000, -48_000)
    doc = export.build("2023-06", "x", "y", r.lines, r.pools, sorted(r.totals), run=export.run_head(1, "draft", False, None))
    assert doc["pools"][0]["costs"] == "400.00" and doc["pools"][0]["budget"] == "1000.00"
    assert doc["pools"][0]["total"] == "-600.00" and doc["pools"][0]["shares"]["1680"] == "-300.00"


def test_a_month_without_pooled_lines_shares_its_whole_budget_back_and_outside_the_pool_nothing():
    w = world().budget("0106", 2023, B_2023)  # no client at all
    r = settle(w, "2023-08", [budget_pool()])
    [p] = r.pools
    assert (p.costs, p.budget, p.total) == (0, 100_000, -100_000)
    assert p.shares == {"0106": -20_000, "1680": -50_000, "1730": -30_000}
    assert settle(w, "2024-01", [budget_pool()]).pools == []  # the pool ended 2023-12-31


def test_a_pool_without_budget_settles_its_costs_as_before_and_keeps_its_canonical_form():
    r = settle(historic({"2023-03": 300_002}), "2023-03", [budget_pool(budget=None, name=None, year_budgets=())])
    [p] = r.pools
    assert (p.costs, p.budget, p.total) == (300_002, 0, 300_002)
    assert "budget_month" not in r.lines[0].trace["pool"]
    canon = budget_pool(budget=None, name=None, year_budgets=()).canonical()
    assert "budget" not in canon and "name" not in canon  # the agreements hash of earlier snapshots stays
    assert budget_pool().canonical()["budget"] == "historic"


TOML = '''[[agreement]]
id = "ijv"
kind = "pool"
name = "Solidariteit historisch budget"
region = "noord"
valid_from = 2023-01-01
valid_to = {valid_to}
clients = "historic"
budget = "historic"
[agreement.weights]
"0106" = 2
"1680" = 5
"1730" = 3
'''


def test_a_budget_pool_reads_its_year_budgets_from_the_creditor_and_refuses_a_missing_year():
    ds = world().budget("0106", 2023, B_2023).budget("1680", 2024, 999).build()
    [p] = parse_agreements_text(TOML.format(valid_to="2023-12-31"), ds)
    assert (p.budget, p.name, p.year_budgets) == ("historic", "Solidariteit historisch budget", ((2023, B_2023),))
    with pytest.raises(LoadError) as e:
        parse_agreements_text(TOML.format(valid_to="2024-12-31"), ds)
    assert "agreements.toml:9: budget: budgets.csv has no historic budget of the creditor 0106 for 2024" in str(e.value)
    with pytest.raises(LoadError) as e:
        parse_agreements_text(TOML.replace("valid_to = {valid_to}\n", ""), ds)
    assert "agreements.toml:1: valid_to: a budget pool needs an end date" in str(e.value)
    with pytest.raises(LoadError) as e:
        parse_agreements_text(TOML.format(valid_to="2023-12-31").replace('budget = "historic"', 'budget = "objective"'), ds)
    assert "budget: must be 'historic', not 'objective'" in str(e.value)


def test_a_correction_of_a_budget_pool_month_carries_the_difference_of_costs_and_of_budget():
    """March finalised with C = 300,002 and B(2023) = 1,200,005 (B(M) 100,001, T 200,001). Then the
    declaration becomes 360,002 and the Rijk's budget 1,200,017: 1,200,017 / 12 = 100,001 5/12, so
    January-May get 100,002, and March's B(M) is 100,002; T = 360,002 - 100,002 = 260,000, shares
    52,000 / 130,000 / 78,000. The correction: costs +60,000, budget +1, total +59,999, shares
    +12,000 / +29,999 / +18,000 against 40,000 / 100,001 / 60,000; conservation holds on the
    differences: lines +60,000 = payables +59,999 + budget +1."""
    from types import SimpleNamespace
    from datetime import datetime, timezone
    from settlement.correction import correction
    first = settle(historic({"2023-03": 300_002}), "2023-03", [budget_pool()])
    w = world()
    w.client("H1", brp=[("woonadres", "1730", "2000-01-01", None)])
    w.placement("PH1", "H1", "BW-INTRA", "noord", "2022-06-01").declaration("PH1", "2023-03", 360_002)
    w.budget("0106", 2023, 1_200_017)
    again = settle(w, "2023-03", [budget_pool(year_budgets=((2023, 1_200_017),))])
    assert (again.pools[0].budget, again.pools[0].total) == (100_002, 260_000)
    final = SimpleNamespace(id=1, kind="final", finalized_at=datetime(2023, 4, 2, tzinfo=timezone.utc))
    corr = correction(again, [(final, first.lines, first.pools)], sorted(again.totals))
    [p] = corr.pools
    assert (p.costs, p.budget, p.total) == (60_000, 1, 59_999)
    assert p.shares == {"0106": 12_000, "1680": 29_999, "1730": 18_000}
    assert [l.amount for l in corr.lines] == [60_000]
    assert corr.invoices == [("0106", "1680", 29_999), ("0106", "1730", 18_000)]
