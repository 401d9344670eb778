"""RULES.md §5 (agreements) and §8 (invoices, totals, conservation), figures worked out by hand.

Default tariffs (tests/builders.py): BW-INTRA € 100.00/day, BEGELEID € 1500.00/month,
THUIS € 100.00/month, MO € 50.00/day. 2023-03 and 2023-05 have 31 days, 2023-04 has 30.
"""

from datetime import date
from fractions import Fraction

import pytest

from settlement.agreements.interregional import Interregional
from settlement.agreements.pool import Pool
from settlement.engine import SettlementError
from tests.builders import lines_of, only, settle, world


def pool(id="pool", region="noord", weights=(("0106", 2), ("1680", 5), ("1730", 3)), clients="historic",
         domains=("BW",), creditor="0106", valid_from=date(2023, 1, 1), valid_to=date(2025, 12, 31)):
    return Pool(id=id, region=region, valid_from=valid_from, valid_to=valid_to, clients=clients,
                domains=tuple(domains), weights=tuple((c, Fraction(w)) for c, w in weights), creditor=creditor)


def eagle(late="shift", days=14, regions=("noord", "zuid"), valid_from=date(2023, 1, 1), valid_to=None):
    return Interregional(id="eagle", regions=tuple(sorted(regions)), valid_from=valid_from, valid_to=valid_to,
                         notify_within_days=days, late_notification=late)


def historic_world(declared=1001):
    """One historic BW client in noord; its March line is declared at `declared` cents."""
    w = world()
    w.client("H1", brp=[("woonadres", "1730", "2000-01-01", None)])
    w.placement("PH1", "H1", "BW-INTRA", "noord", "2022-06-01").declaration("PH1", "2023-03", declared)
    return w


# ===== §5.1 pool ==============================================================================

def test_historic_line_is_pooled_and_shared_by_largest_remainder():
    r = settle(historic_world(1001), "2023-03", [pool()])
    line = only(r)
    assert (line.status, line.basis, line.payer, line.pool, line.creditor) == ("historic", "pool", None, "pool", "0106")
    assert line.amount == 1001
    [p] = r.pools
    assert (p.agreement, p.creditor, p.total) == ("pool", "0106", 1001)
    # 1001 x 2/10 = 200.2, x 5/10 = 500.5, x 3/10 = 300.3: floors 1000; the spare cent to .5 (1680)
    assert p.shares == {"0106": 200, "1680": 501, "1730": 300}
    # the creditor's own share stays with it: no invoice 0106 -> 0106
    assert r.invoices == [("0106", "1680", 501), ("0106", "1730", 300)]
    assert r.totals["0106"] == (200, 801)             # payable own share, receivable 501 + 300
    assert r.totals["1680"] == (501, 0) and r.totals["1730"] == (300, 0)
    assert r.totals["0114"] == (0, 0)
    assert sum(p for p, _ in r.totals.values()) == 1001   # conservation


def test_pool_remainders_that_tie_go_to_the_lower_code():
    # 310000 (€ 100 x 31 days) over 1:1:1 = 103333.33 each; 1 cent missing; tie -> 0106
    w = world()
    w.client("H1", brp=[("woonadres", "1730", "2000-01-01", None)]).placement("PH1", "H1", "BW-INTRA", "noord", "2022-06-01")
    r = settle(w, "2023-03", [pool(weights=(("1730", 1), ("1680", 1), ("0106", 1)))])
    assert r.pools[0].total == 310000
    assert r.pools[0].shares == {"0106": 103334, "1680": 103333, "1730": 103333}
    # two cents missing: 2 over 1:1:1 -> 0.67 each, floors 0; cents to 0106 and 1680
    r = settle(historic_world(2), "2023-03", [pool(weights=(("1730", 1), ("1680", 1), ("0106", 1)))])
    assert r.pools[0].shares == {"0106": 1, "1680": 1, "1730": 0}
    assert r.invoices == [("0106", "1680", 1)]


def test_pool_total_is_the_sum_of_its_lines_split_once():
    # two historic lines: 1001 + 2002 = 3003; 3003 x 2/10 = 600.6, x 5/10 = 1501.5, x 3/10 = 900.9
    # floors 600 + 1501 + 900 = 3001; 2 cents to the largest remainders .9 (1730) and .6 (0106)
    w = historic_world(1001)
    w.client("H2", brp=[("woonadres", "0109", "2000-01-01", None)])
    w.placement("PH2", "H2", "BEGELEID", "noord", "2022-01-01").declaration("PH2", "2023-03", 2002)
    r = settle(w, "2023-03", [pool()])
    assert [l.pool for l in r.lines] == ["pool", "pool"]
    assert r.pools[0].total == 3003
    assert r.pools[0].shares == {"0106": 601, "1680": 1501, "1730": 901}
    # splitting each line separately would give 200+501+300 and 400+1001+601 = 601, 1502, 901: not the rule
    assert r.invoices == [("0106", "1680", 1501), ("0106", "1730", 901)]


def test_pool_takes_only_the_lines_it_matches():
    w = historic_world(1001)
    w.client("N1", brp=[("woonadres", "1680", "2000-01-01", None)])
    w.placement("PN1", "N1", "BW-INTRA", "noord", "2023-03-01", "2023-03-02")   # new: 2 x 10000
    w.placement("PM1", "N1", "MO", "noord", "2023-03-01", "2023-03-01")          # MO: not a BW domain
    w.client("H3", brp=[("woonadres", "1730", "2000-01-01", None)])
    w.placement("PT1", "H3", "THUIS", "noord", "2022-01-01")                    # historic WMO: domain not pooled
    w.placement("PZ1", "H3", "BW-INTRA", "zuid", "2022-01-01", "2023-03-01")    # historic, zuid: other region
    r = settle(w, "2023-03", [pool()])
    got = {l.placement: (l.basis, l.payer, l.pool) for l in r.lines}
    assert got == {"PH1": ("pool", None, "pool"), "PN1": ("woonplaats", "1680", None),
                   "PM1": ("mo", "0106", None), "PT1": ("historic", "0106", None), "PZ1": ("historic", "0114", None)}
    assert r.pools[0].total == 1001
    # 1680 owes 0106 its new line (20000) and its pool share (501) on one invoice
    assert ("0106", "1680", 20000 + 501) in r.invoices
    assert sum(l.amount for l in r.lines) == sum(p for p, _ in r.totals.values())


def test_pool_outside_its_validity_does_not_pool():
    w = world()
    w.client("H1", brp=[("woonadres", "1730", "2000-01-01", None)]).placement("PH1", "H1", "BW-INTRA", "noord", "2022-06-01")
    r = settle(w, "2026-01", [pool()])            # valid until 2025-12-31
    assert (only(r).basis, only(r).payer) == ("historic", "0106")
    assert r.pools == []


def test_pool_with_domains_and_all_clients():
    w = world()
    w.client("C1", brp=[("woonadres", "1730", "2000-01-01", None)])
    w.placement("PM", "C1", "MO", "noord", "2023-03-01", "2023-03-02")            # 2 x 5000 = 10000
    w.placement("PT", "C1", "THUIS", "noord", "2023-03-01")                       # new WMO: 10000
    r = settle(w, "2023-03", [pool(clients="all", domains=("MO", "WMO"), weights=(("0106", 1), ("1730", 1)))])
    assert {l.placement: l.basis for l in r.lines} == {"PM": "pool", "PT": "pool"}
    assert r.pools[0].total == 20000 and r.pools[0].shares == {"0106": 10000, "1730": 10000}


def test_pool_with_another_creditor_invoices_from_that_creditor():
    r = settle(historic_world(1001), "2023-03", [pool(creditor="1680")])
    assert only(r).creditor == "0106"                   # the line's creditor is the care region's
    assert r.pools[0].creditor == "1680"
    assert r.invoices == [("1680", "0106", 200), ("1680", "1730", 300)]
    assert r.totals["1680"] == (501, 500)


def test_two_pools_claiming_one_line_is_an_error():
    with pytest.raises(SettlementError) as e:
        settle(historic_world(), "2023-03", [pool(id="a"), pool(id="b", clients="all")])
    assert "PH1" in e.value.problems[0] and "a" in e.value.problems[0] and "b" in e.value.problems[0]


def test_reentry_to_a_pooled_placement_goes_to_its_centrumgemeente():
    # P1: new BW in noord, pooled by a "new" pool; ended 2023-04-30. P2 in zuid 2023-05-15: reentry -> 0106
    w = world()
    w.client("C1", brp=[("woonadres", "1680", "2000-01-01", "2023-03-31"), ("woonadres", "0109", "2023-04-01", None)])
    w.placement("P1", "C1", "BW-INTRA", "noord", "2023-02-01", "2023-04-30")
    w.placement("P2", "C1", "BW-INTRA", "zuid", "2023-05-15")
    r = settle(w, "2023-05", [pool(clients="new")])
    line = only(r, "P2")
    assert (line.basis, line.payer) == ("reentry", "0106")
    assert line.flags == ("no_interregional_agreement",)


def test_pooled_line_trace_names_pool_total_and_key():
    r = settle(historic_world(1001), "2023-03", [pool()])
    t = only(r).trace["pool"]
    assert t["agreement"] == "pool" and t["total"] == "10.01"
    assert t["key"] == {"0106": "2", "1680": "5", "1730": "3"}
    assert t["shares"] == {"0106": "2.00", "1680": "5.01", "1730": "3.00"}


# ===== §5.2 interregional =====================================================================
# Client lives in 0114 (zuid); BW placement in noord from 2023-03-10: payer 0114 (woonplaats),
# creditor 0106. Deadline: 10 March + 14 days = 24 March.

def cross(product="BW-INTRA", notified=None, to="0114"):
    w = world()
    w.client("C1", brp=[("woonadres", "0114", "2000-01-01", None)])
    w.placement("P1", "C1", product, "noord", "2023-03-10")
    if notified:
        w.notification("P1", to, notified)
    return w


def test_notified_on_time_changes_nothing():
    r = settle(cross(notified="2023-03-24"), "2023-03", [eagle()])   # on the deadline
    line = only(r)
    assert (line.basis, line.payer, line.flags, line.days) == ("woonplaats", "0114", (), 22)
    assert line.amount == 10000 * 22                                  # 10..31 March
    assert r.invoices == [("0106", "0114", 220000)]


def test_late_notification_shifts_days_to_the_centrumgemeente():
    # notified 25 March, one day late: 10..24 March (15 days) -> 0106, 25..31 (7 days) -> 0114
    r = settle(cross(notified="2023-03-25"), "2023-03", [eagle("shift")])
    ls = lines_of(r, "P1")
    assert set(ls) == {("0106", "late_notification"), ("0114", "woonplaats")}
    cg, payer = ls[("0106", "late_notification")], ls[("0114", "woonplaats")]
    assert (cg.days, cg.amount, cg.flags) == (15, 10000 * 15, ("late_notification",))
    assert (payer.days, payer.amount, payer.flags) == (7, 10000 * 7, ("late_notification",))
    assert r.invoices == [("0106", "0114", 70000)]
    assert r.totals["0106"] == (150000, 70000) and r.totals["0114"] == (70000, 0)


def test_late_shift_month_unit_split_by_largest_remainder():
    # BEGELEID € 1500/month, 22 of 31 days: 150000 x 22/31 = 106451.61... -> 106452
    # 15 : 7 days: 106452 x 15/22 = 72580.909..., x 7/22 = 33871.090...: floors 106451; spare cent -> 72581
    r = settle(cross("BEGELEID", notified="2023-03-25"), "2023-03", [eagle("shift")])
    ls = lines_of(r, "P1")
    assert ls[("0106", "late_notification")].amount == 72581
    assert ls[("0114", "woonplaats")].amount == 33871
    assert 72581 + 33871 == 106452


def test_late_shift_in_the_following_month_only_flags():
    # notified in March: April (30 days) is wholly the payer's, still flagged
    line = only(settle(cross(notified="2023-03-25"), "2023-04", [eagle("shift")]))
    assert (line.basis, line.payer, line.flags, line.amount) == ("woonplaats", "0114", ("late_notification",), 10000 * 30)


def test_late_notification_in_a_later_month_shifts_the_whole_earlier_month():
    # notified 10 April: March 10..31 (22 days) all to 0106; April 1..9 to 0106, 10..30 to 0114
    w = cross(notified="2023-04-10")
    march = only(settle(w, "2023-03", [eagle()]))
    assert (march.basis, march.payer, march.days, march.amount) == ("late_notification", "0106", 22, 220000)
    ls = lines_of(settle(w, "2023-04", [eagle()]), "P1")
    assert (ls[("0106", "late_notification")].days, ls[("0114", "woonplaats")].days) == (9, 21)


def test_late_with_flag_only_flags():
    r = settle(cross(notified="2023-03-25"), "2023-03", [eagle("flag")])
    line = only(r)
    assert (line.basis, line.payer, line.flags, line.amount) == ("woonplaats", "0114", ("late_notification",), 220000)


def test_never_notified_shifts_all_days():
    for month, days in (("2023-03", 22), ("2023-04", 30)):
        line = only(settle(cross(), month, [eagle("shift")]))
        assert (line.basis, line.payer, line.flags) == ("late_notification", "0106", ("late_notification",))
        assert (line.days, line.amount) == (days, 10000 * days)


def test_never_notified_with_flag():
    line = only(settle(cross(), "2023-03", [eagle("flag")]))
    assert (line.basis, line.payer, line.flags) == ("woonplaats", "0114", ("late_notification",))


def test_notification_to_another_municipality_does_not_count():
    line = only(settle(cross(notified="2023-03-11", to="0109"), "2023-03", [eagle("shift")]))
    assert (line.basis, line.payer, line.days) == ("late_notification", "0106", 22)


def test_notify_within_days_is_data():
    # 0 days: the notification must come on the start day
    assert only(settle(cross(notified="2023-03-10"), "2023-03", [eagle(days=0)])).flags == ()
    assert set(lines_of(settle(cross(notified="2023-03-11"), "2023-03", [eagle(days=0)]), "P1")) == \
        {("0106", "late_notification"), ("0114", "woonplaats")}


def test_payer_in_a_non_party_region_is_flagged_but_charged():
    w = world().region("oost", "0193", ["0193", "0160"])
    w.client("C1", brp=[("woonadres", "0160", "2000-01-01", None)])
    w.placement("P1", "C1", "BW-INTRA", "noord", "2023-03-10")
    r = settle(w, "2023-03", [eagle()])
    line = only(r)
    assert (line.basis, line.payer, line.flags, line.amount) == \
        ("woonplaats", "0160", ("no_interregional_agreement",), 220000)
    assert r.invoices == [("0106", "0160", 220000)]


def test_care_region_not_a_party_is_flagged():
    w = world().region("oost", "0193", ["0193", "0160"])
    w.client("C1", brp=[("woonadres", "0114", "2000-01-01", None)])
    w.placement("P1", "C1", "BW-INTRA", "oost", "2023-03-10")
    line = only(settle(w, "2023-03", [eagle()]))
    assert (line.payer, line.flags) == ("0114", ("no_interregional_agreement",))


def test_no_agreements_at_all_flags_a_payer_outside_the_care_region():
    line = only(settle(cross(), "2023-03", []))
    assert (line.basis, line.payer, line.flags) == ("woonplaats", "0114", ("no_interregional_agreement",))


def test_agreement_not_yet_valid_on_the_start_is_no_agreement():
    line = only(settle(cross(), "2023-03", [eagle(valid_from=date(2023, 4, 1))]))
    assert (line.payer, line.flags) == ("0114", ("no_interregional_agreement",))


def test_payer_inside_the_care_region_has_no_flag():
    w = world()
    w.client("C1", brp=[("woonadres", "1730", "2000-01-01", None)])
    w.placement("P1", "C1", "BW-INTRA", "noord", "2023-03-10")
    for agreements in ([], [eagle()]):
        line = only(settle(w, "2023-03", agreements))
        assert (line.basis, line.payer, line.flags) == ("woonplaats", "1730", ())


def test_membership_is_taken_on_the_start():
    # 1730 moves from zuid to noord on 2023-06-01; a placement in zuid starting 2023-05-01 paid by 1730
    # is then inside the care region: no flag, no interregional case, in May and after the move
    w = world().move("1730", "zuid", "noord", "2023-06-01")
    w.client("C1", brp=[("woonadres", "1730", "2000-01-01", None)])
    w.placement("P1", "C1", "BW-INTRA", "zuid", "2023-05-01")
    for month in ("2023-05", "2023-07"):
        line = only(settle(w, month, [eagle()]))
        assert (line.payer, line.basis, line.flags) == ("1730", "woonplaats", ())


def test_historic_and_mo_lines_are_not_interregional():
    w = world()
    w.client("C1", brp=[("woonadres", "0114", "2000-01-01", None)])
    w.placement("PH", "C1", "BW-INTRA", "noord", "2022-03-10")
    w.placement("PM", "C1", "MO", "noord", "2023-03-10")
    r = settle(w, "2023-03", [eagle()])
    assert {(l.placement, l.basis, l.payer, l.flags) for l in r.lines} == \
        {("PH", "historic", "0106", ()), ("PM", "mo", "0106", ())}


def test_vangnet_and_late_notification_together():
    # no woonadres; governing application in 0114 (filed in noord): vangnet payer 0114 lies in zuid
    w = world()
    w.client("C1", brp=[("briefadres", "0114", "2000-01-01", None)], applications=[("noord", "0114", "2023-03-01")])
    w.placement("P1", "C1", "BW-INTRA", "noord", "2023-03-10")
    r = settle(w, "2023-03", [eagle("flag")])
    line = only(r)
    assert (line.basis, line.payer, line.flags) == ("vangnet", "0114", ("late_notification", "vangnet"))


# ===== §8 invoices, totals =====================================================================

def test_invoices_per_creditor_and_debtor_and_conservation():
    # 1730 pays a new line in noord (creditor 0106) and in zuid (creditor 0114) plus a pool share in noord
    w = historic_world(1001)
    w.client("N1", brp=[("woonadres", "1730", "2000-01-01", None)])
    w.placement("PN", "N1", "BW-INTRA", "noord", "2023-03-01", "2023-03-03")   # 3 x 10000
    w.client("N2", brp=[("woonadres", "1730", "2000-01-01", None)])
    w.placement("PZ", "N2", "BW-INTRA", "zuid", "2023-03-01", "2023-03-01")    # 1 x 10000
    r = settle(w, "2023-03", [pool()])
    assert r.invoices == [("0106", "1680", 501), ("0106", "1730", 30000 + 300), ("0114", "1730", 10000)]
    assert r.totals["1730"] == (40300, 0)
    assert r.totals["0106"] == (200, 30801) and r.totals["0114"] == (0, 10000)
    assert set(r.totals) == {"0106", "1680", "1730", "0114", "0109"}
    assert sum(l.amount for l in r.lines) == sum(p for p, _ in r.totals.values()) == 1001 + 30000 + 10000
