"""RULES.md §3 and §4, rule by rule, with the figures worked out by hand.

World (tests/builders.py): region noord (centrumgemeente 0106; members 0106, 1680, 1730) and zuid
(centrumgemeente 0114; members 0114, 0109), both with cutover 2023-01-01. Default tariffs:
BW-INTRA 100.00/day, BEGELEID 1500.00/month, THUIS 100.00/month, MO 50.00/day.
Month lengths used: 2023-03 and 2023-07 have 31 days, 2023-04 has 30.
"""

import pytest

from settlement import trace
from settlement.engine import SettlementError
from tests.builders import lines_of, only, settle, world

FOREVER = ("2000-01-01", None)


def lives_in(code, until=None):
    return [("woonadres", code, "2000-01-01", until)]


# ===== §3 cost lines: days and amounts ======================================================

def test_one_day_placement_counts_one_day():
    w = world().tariff("BW-INTRA", "noord", [("2020-01-01", None, 12345)])
    w.client("C1", brp=lives_in("1730")).placement("P1", "C1", "BW-INTRA", "noord", "2023-03-15", "2023-03-15")
    line = only(settle(w, "2023-03"))
    assert line.days == 1                       # start = end: both inclusive
    assert line.amount == 12345 * 1             # € 123.45 x 1 day


def test_whole_month_day_unit():
    w = world().tariff("BW-INTRA", "noord", [("2020-01-01", None, 12345)])
    w.client("C1", brp=lives_in("1730")).placement("P1", "C1", "BW-INTRA", "noord", "2023-02-20")
    line = only(settle(w, "2023-03"))
    assert (line.days, line.amount) == (31, 12345 * 31)   # € 123.45 x 31 days = € 3826.95


def test_placement_starting_and_ending_mid_month():
    w = world().tariff("BW-INTRA", "noord", [("2020-01-01", None, 12345)])
    w.client("C1", brp=lives_in("1730")).placement("P1", "C1", "BW-INTRA", "noord", "2023-03-10", "2023-03-20")
    line = only(settle(w, "2023-03"))
    assert line.days == 11                      # 10..20 inclusive
    assert line.amount == 12345 * 11            # € 123.45 x 11 = € 1357.95


def test_tariff_is_that_of_the_care_region():
    # client lives in zuid, care in noord: noord's € 100.00, not zuid's € 90.00
    w = world().tariff("BW-INTRA", "zuid", [("2020-01-01", None, 9000)])
    w.client("C1", brp=lives_in("0109")).placement("P1", "C1", "BW-INTRA", "noord", "2023-03-01", "2023-03-02")
    assert only(settle(w, "2023-03")).amount == 10000 * 2


def test_placement_outside_the_month_yields_no_line():
    w = world()
    w.client("C1", brp=lives_in("1730")).placement("P1", "C1", "BW-INTRA", "noord", "2023-03-10", "2023-03-31")
    assert settle(w, "2023-04").lines == []
    assert settle(w, "2023-02").lines == []


def test_month_unit_whole_and_partial_month():
    w = world()
    w.client("C1", brp=lives_in("1730")).client("C2", brp=lives_in("1730"))
    w.placement("P1", "C1", "BEGELEID", "noord", "2023-01-01")
    w.placement("P2", "C2", "BEGELEID", "noord", "2023-03-22")  # 22..31 = 10 days
    r = settle(w, "2023-03")
    assert only(r, "P1").amount == 150000                     # € 1500.00 x 31/31
    assert only(r, "P2").days == 10
    assert only(r, "P2").amount == 48387                      # 150000 x 10 / 31 = 48387.096... -> 48387
    assert settle(w, "2023-04").lines[0].amount == 150000     # 30 of 30 days: a whole month price


def test_tariff_change_mid_month_day_unit():
    w = world().tariff("BW-INTRA", "noord", [("2020-01-01", "2023-03-10", 10000), ("2023-03-11", None, 12000)])
    w.client("C1", brp=lives_in("1730")).placement("P1", "C1", "BW-INTRA", "noord", "2023-02-01")
    line = only(settle(w, "2023-03"))
    assert line.days == 31
    assert line.amount == 10000 * 10 + 12000 * 21 == 352000   # € 100 x 10 days + € 120 x 21 days


def test_tariff_change_mid_month_month_unit_rounds_once():
    w = world().tariff("BEGELEID", "noord", [("2020-01-01", "2023-03-10", 150000), ("2023-03-11", None, 180000)])
    w.client("C1", brp=lives_in("1730")).placement("P1", "C1", "BEGELEID", "noord", "2023-02-01")
    line = only(settle(w, "2023-03"))
    # (150000 x 10 + 180000 x 21) / 31 = 5280000 / 31 = 170322.58... -> 170323
    assert line.amount == 170323
    # rounding each interval separately would give 48387 (48387.10) + 121935 (121935.48) = 170322: wrong
    assert line.amount != 48387 + 121935


def test_tariff_change_with_mid_month_start():
    w = world().tariff("BEGELEID", "noord", [("2020-01-01", "2023-03-10", 150000), ("2023-03-11", None, 180000)])
    w.client("C1", brp=lives_in("1730")).placement("P1", "C1", "BEGELEID", "noord", "2023-03-05")
    line = only(settle(w, "2023-03"))
    assert line.days == 27                      # 5..31
    # (150000 x 6 [5..10] + 180000 x 21 [11..31]) / 31 = 4680000 / 31 = 150967.74... -> 150968
    assert line.amount == 150968


@pytest.mark.parametrize("price, cents", [
    (100005, 10001),   # 100005 x 3 / 30 = 300015 / 30 = 10000.5 exactly -> 10001 (half away; half-even gives 10000)
    (100004, 10000),   # 300012 / 30 = 10000.4 -> 10000
    (100006, 10001),   # 300018 / 30 = 10000.6 -> 10001
    (150015, 15002),   # 450045 / 30 = 15001.5 exactly -> 15002 (half-even would also give 15002)
])
def test_rounding_at_exactly_half_a_cent(price, cents):
    # April has 30 days; a month-unit product for the 3 days 28..30 April: price x 3 / 30
    w = world().tariff("BEGELEID", "noord", [("2020-01-01", None, price)])
    w.client("C1", brp=lives_in("1730")).placement("P1", "C1", "BEGELEID", "noord", "2023-04-28")
    line = only(settle(w, "2023-04"))
    assert line.days == 3
    assert line.amount == cents


def test_declaration_replaces_the_computed_amount():
    w = world()
    w.client("C1", brp=lives_in("1730")).placement("P1", "C1", "BW-INTRA", "noord", "2023-02-01")
    w.declaration("P1", "2023-03", 77777)
    line = only(settle(w, "2023-03"))
    assert (line.days, line.amount) == (31, 77777)              # not 10000 x 31 = 310000
    assert only(settle(w, "2023-04")).amount == 10000 * 30      # April: no declaration, € 100 x 30


def test_declaration_without_a_tariff_is_enough():
    w = world().tariff("BW-INTRA", "noord", [])
    w.client("C1", brp=lives_in("1730")).placement("P1", "C1", "BW-INTRA", "noord", "2023-02-01")
    w.declaration("P1", "2023-03", 5000)
    assert only(settle(w, "2023-03")).amount == 5000


def test_missing_tariff_is_an_error_naming_placement_and_month():
    w = world().tariff("BW-INTRA", "noord", [])
    w.client("C1", brp=lives_in("1730")).placement("P7", "C1", "BW-INTRA", "noord", "2023-02-01")
    with pytest.raises(SettlementError) as e:
        settle(w, "2023-03")
    assert len(e.value.problems) == 1
    assert "P7" in e.value.problems[0] and "2023-03" in e.value.problems[0]


def test_tariff_ending_mid_month_is_an_error_not_a_partial_line():
    w = world().tariff("BW-INTRA", "noord", [("2020-01-01", "2023-03-15", 10000)])
    w.client("C1", brp=lives_in("1730")).placement("P7", "C1", "BW-INTRA", "noord", "2023-02-01")
    with pytest.raises(SettlementError) as e:
        settle(w, "2023-03")
    assert "P7" in e.value.problems[0] and "2023-03" in e.value.problems[0]
    assert only(settle(w, "2023-02")).amount == 10000 * 28      # February is fully covered


def test_every_problem_is_reported():
    w = world().tariff("BW-INTRA", "noord", []).tariff("MO", "zuid", [])
    w.client("C1", brp=lives_in("1730"))
    w.placement("P1", "C1", "BW-INTRA", "noord", "2023-02-01").placement("P2", "C1", "MO", "zuid", "2023-02-01")
    with pytest.raises(SettlementError) as e:
        settle(w, "2023-03")
    assert len(e.value.problems) == 2
    assert any("P1" in p for p in e.value.problems) and any("P2" in p for p in e.value.problems)


# ===== §4.1 MO ==============================================================================

def test_mo_goes_to_the_centrumgemeente_of_the_care_region():
    w = world()
    w.client("C1", brp=lives_in("1730")).placement("P1", "C1", "MO", "zuid", "2023-03-01", "2023-03-10")
    line = only(settle(w, "2023-03"))
    assert (line.payer, line.basis, line.status, line.flags) == ("0114", "mo", "n/a", ())
    assert line.creditor == "0114"
    assert line.amount == 5000 * 10             # € 50 x 10 days


def test_mo_before_the_cutover_is_still_mo():
    w = world()
    w.client("C1", brp=lives_in("0109")).placement("P1", "C1", "MO", "noord", "2022-03-01")
    line = only(settle(w, "2023-03"))
    assert (line.payer, line.basis, line.status) == ("0106", "mo", "n/a")


def test_mo_does_not_make_a_client_historic():
    # an MO stay before the cutover is not BW/WMO activity: the BW placement starts a new chain
    w = world()
    w.client("C1", brp=lives_in("1730"))
    w.placement("P0", "C1", "MO", "noord", "2022-10-01", "2023-02-28")
    w.placement("P1", "C1", "BW-INTRA", "noord", "2023-03-01")
    line = only(settle(w, "2023-03"), "P1")
    assert (line.status, line.basis, line.payer) == ("new", "woonplaats", "1730")


# ===== §4.2 status ==========================================================================

def _two_placements(second_start):
    w = world()
    w.client("C1", brp=lives_in("1730"))
    w.placement("P1", "C1", "BW-INTRA", "noord", "2022-01-01", "2022-06-30")
    w.placement("P2", "C1", "BW-INTRA", "noord", second_start)
    return w


def test_gap_of_exactly_365_days_joins_the_historic_chain():
    # 2022-06-30 + 365 days = 2023-06-30: joins the chain that started 2022-01-01 < cutover
    line = only(settle(_two_placements("2023-06-30"), "2023-07"), "P2")
    assert (line.status, line.basis, line.payer) == ("historic", "historic", "0106")


def test_gap_of_366_days_starts_a_new_chain():
    # 2022-06-30 + 366 days = 2023-07-01: a new chain, first day after the cutover
    line = only(settle(_two_placements("2023-07-01"), "2023-07"), "P2")
    assert (line.status, line.basis, line.payer) == ("new", "woonplaats", "1730")  # and no reentry (366 days)


@pytest.mark.parametrize("applied, status", [
    ("2022-11-01", "historic"),  # application before the cutover, placement 120 days later: one chain
    ("2022-03-01", "historic"),  # 2022-03-01 + 365 = 2023-03-01: joins
    ("2022-02-28", "new"),       # 2022-02-28 + 366 = 2023-03-01: too late to join
    ("2022-12-31", "historic"),  # the day before the cutover
    ("2023-01-01", "new"),       # on the cutover: new
])
def test_applications_are_part_of_the_chain(applied, status):
    w = world()
    w.client("C1", brp=lives_in("1730"), applications=[("noord", "1730", applied)])
    w.placement("P1", "C1", "BW-INTRA", "noord", "2023-03-01")
    line = only(settle(w, "2023-03"))
    assert line.status == status
    assert (line.basis, line.payer) == (("historic", "0106") if status == "historic" else ("woonplaats", "1730"))


def test_a_chain_of_applications_carries_history_forward():
    # 2022-06-01 (before cutover) -> 2023-05-01 (334 days later) -> placement 2024-04-01 (336 days later)
    w = world()
    w.client("C1", brp=lives_in("1730"), applications=[("noord", "1730", "2022-06-01"), ("noord", "1730", "2023-05-01")])
    w.placement("P1", "C1", "BW-INTRA", "noord", "2024-04-01")
    assert only(settle(w, "2024-04")).status == "historic"


def test_an_application_in_another_region_does_not_count():
    w = world()
    w.client("C1", brp=lives_in("1730"), applications=[("zuid", "0109", "2022-11-01")])
    w.placement("P1", "C1", "BW-INTRA", "noord", "2023-03-01")
    line = only(settle(w, "2023-03"))
    assert (line.status, line.basis, line.payer) == ("new", "woonplaats", "1730")


def test_status_is_per_care_region():
    # historic in zuid (since 2022), new in noord
    w = world()
    w.client("C1", brp=lives_in("1730"))
    w.placement("PZ", "C1", "BW-INTRA", "zuid", "2022-05-01")
    w.placement("PN", "C1", "BW-INTRA", "noord", "2023-03-01")
    r = settle(w, "2023-03")
    assert (only(r, "PZ").status, only(r, "PZ").payer) == ("historic", "0114")
    assert (only(r, "PN").status, only(r, "PN").basis, only(r, "PN").payer) == ("new", "woonplaats", "1730")


def test_a_wmo_placement_is_part_of_the_chain():
    w = world()
    w.client("C1", brp=lives_in("1730"))
    w.placement("P0", "C1", "THUIS", "noord", "2022-05-01", "2022-12-31")
    w.placement("P1", "C1", "BW-INTRA", "noord", "2023-03-01")
    line = only(settle(w, "2023-03"), "P1")
    assert (line.status, line.basis, line.payer) == ("historic", "historic", "0106")


def test_activity_after_an_ongoing_placement_joins_its_chain():
    # P1 runs from 2022-06-01 without an end: every later activity in noord lies within 365 days
    # of the chain's latest day, so P2 (and the application) join P1's historic chain
    w = world()
    w.client("C1", brp=lives_in("1730"), applications=[("noord", "1730", "2023-04-01")])
    w.placement("P1", "C1", "BW-INTRA", "noord", "2022-06-01")
    w.placement("P2", "C1", "THUIS", "noord", "2023-05-01")
    r = settle(w, "2023-05")
    assert (only(r, "P1").status, only(r, "P1").payer) == ("historic", "0106")
    assert (only(r, "P2").status, only(r, "P2").basis, only(r, "P2").payer) == ("historic", "historic", "0106")


def test_cutover_is_data_per_region():
    w = world().region("later", "0193", ["0193"], cutover="2024-01-01")
    w.client("C1", brp=lives_in("1730")).placement("P1", "C1", "BW-INTRA", "later", "2023-06-01")
    line = only(settle(w, "2023-06"))
    assert (line.status, line.basis, line.payer) == ("historic", "historic", "0193")


# ===== §4.3 historic ========================================================================

def test_historic_bw_goes_to_the_centrumgemeente_whatever_the_address():
    w = world()
    w.client("C1", brp=lives_in("0109")).placement("P1", "C1", "BW-INTRA", "noord", "2022-06-01")
    r = settle(w, "2023-03")
    line = only(r)
    assert (line.status, line.basis, line.payer, line.pool, line.creditor, line.flags) == \
        ("historic", "historic", "0106", None, "0106", ())
    assert line.amount == 10000 * 31
    assert r.invoices == []                       # the centrumgemeente pays itself: no invoice
    assert r.totals["0106"] == (310000, 0)


def test_historic_wmo_stays_with_the_centrumgemeente():
    w = world()
    w.client("C1", brp=lives_in("1730")).placement("P1", "C1", "THUIS", "noord", "2022-06-01")
    line = only(settle(w, "2023-03"))
    assert (line.status, line.basis, line.payer, line.amount) == ("historic", "historic", "0106", 10000)


# ===== §4.4 new BW: reentry, woonplaats, before institution, vangnet ========================

def test_woonplaats_is_the_woonadres_on_the_day_before_the_start():
    w = world()
    w.client("C1", brp=[("woonadres", "1680", "2000-01-01", "2023-03-09"), ("woonadres", "1730", "2023-03-10", None)])
    w.placement("P1", "C1", "BW-INTRA", "noord", "2023-03-10")
    r = settle(w, "2023-03")
    line = only(r)
    assert (line.status, line.basis, line.payer, line.flags, line.creditor) == ("new", "woonplaats", "1680", (), "0106")
    assert line.amount == 10000 * 22                                # 10..31 = 22 days
    assert r.invoices == [("0106", "1680", 220000)]
    assert r.totals["1680"] == (220000, 0) and r.totals["0106"] == (0, 220000)


def test_payer_is_fixed_at_the_start():
    w = world()
    w.client("C1", brp=[("woonadres", "1680", "2000-01-01", "2023-03-15"), ("woonadres", "1730", "2023-03-16", None)])
    w.placement("P1", "C1", "BW-INTRA", "noord", "2023-03-01")
    assert only(settle(w, "2023-04")).payer == "1680"     # the move on 16 March changes nothing


def _reentry_world(first_region, first_start, first_end, second_start):
    """The client lived in 0109 (zuid) until 2023-05-31 and in 1730 (noord) since 2023-06-01."""
    w = world()
    w.client("C1", brp=[("woonadres", "0109", "2000-01-01", "2023-05-31"), ("woonadres", "1730", "2023-06-01", None)])
    w.placement("P1", "C1", "BW-INTRA", first_region, first_start, first_end)
    w.placement("P2", "C1", "BW-INTRA", "noord", second_start)
    return w


def test_reentry_beats_the_current_woonadres():
    # P1 in zuid from 2023-01-10: new, woonplaats 0109 (woonadres on 9 January); ends 2023-05-31.
    # P2 in noord from 2023-06-10, 10 days later; the woonadres on 9 June is 1730.
    r = settle(_reentry_world("zuid", "2023-01-10", "2023-05-31", "2023-06-10"), "2023-06")
    line = only(r, "P2")
    assert (line.status, line.basis, line.payer) == ("new", "reentry", "0109")   # not 1730
    assert line.flags == ("no_interregional_agreement",)                        # 0109 lies in zuid, no agreement
    assert line.amount == 10000 * 21                                            # 10..30 June
    assert r.invoices == [("0106", "0109", 210000)]


@pytest.mark.parametrize("first_end, second_start, reentry", [
    ("2023-06-09", "2023-06-10", True),    # ended 1 day before
    ("2023-03-01", "2024-02-29", True),    # 2023-03-01 + 365 days = 2024-02-29 (leap year)
    ("2023-03-01", "2024-03-01", False),   # 366 days
    ("2023-06-10", "2023-06-10", False),   # ended on the start day: 0 days, not a reentry
    ("2023-06-20", "2023-06-10", False),   # still running at the start
])
def test_reentry_window_is_1_to_365_days(first_end, second_start, reentry):
    line = only(settle(_reentry_world("zuid", "2023-01-10", first_end, second_start), second_start[:7]), "P2")
    assert (line.basis, line.payer) == (("reentry", "0109") if reentry else ("woonplaats", "1730"))


def test_reentry_to_a_historic_placement_goes_to_its_centrumgemeente():
    w = _reentry_world("zuid", "2022-05-01", "2023-04-30", "2023-05-15")  # P1 historic in zuid
    line = only(settle(w, "2023-05"), "P2")
    assert (line.status, line.basis, line.payer) == ("new", "reentry", "0114")
    assert line.flags == ("no_interregional_agreement",)
    assert line.amount == 10000 * 17                                      # 15..31 May


def test_reentry_follows_the_earlier_payer_in_the_same_region():
    w = world()
    w.client("C1", brp=[("woonadres", "1680", "2000-01-01", "2023-03-31"), ("woonadres", "1730", "2023-04-01", None)])
    w.placement("P1", "C1", "BW-INTRA", "noord", "2023-02-01", "2023-05-31")   # woonplaats 1680
    w.placement("P2", "C1", "BEGELEID", "noord", "2023-07-01")                 # 31 days later
    line = only(settle(w, "2023-07"), "P2")
    assert (line.basis, line.payer, line.flags) == ("reentry", "1680", ())
    assert line.amount == 150000                                               # BEGELEID, whole July


@pytest.mark.parametrize("product", ["THUIS", "MO"])
def test_a_product_without_bw_definition_is_no_source_of_reentry(product):
    w = world()
    w.client("C1", brp=[("woonadres", "0109", "2000-01-01", "2023-04-30"), ("woonadres", "1730", "2023-05-01", None)])
    w.placement("P1", "C1", product, "zuid", "2023-02-01", "2023-05-31")
    w.placement("P2", "C1", "BW-INTRA", "noord", "2023-06-10")
    line = only(settle(w, "2023-06"), "P2")
    assert (line.basis, line.payer) == ("woonplaats", "1730")


def test_woonplaats_before_institution_walks_back_through_two_institutions():
    w = world()
    w.client("C1", brp=[("woonadres", "1680", "2000-01-01", "2022-12-31"),
                        ("institution", "0114", "2023-01-01", "2023-03-31"),
                        ("institution", "0106", "2023-04-01", None)])
    w.placement("P1", "C1", "BW-INTRA", "noord", "2023-05-01")
    line = only(settle(w, "2023-05"))
    assert (line.status, line.basis, line.payer, line.flags) == ("new", "woonplaats_before_institution", "1680", ())


def test_woonplaats_before_one_institution():
    w = world()
    w.client("C1", brp=[("woonadres", "0109", "2000-01-01", "2023-01-31"), ("institution", "1730", "2023-02-01", None)])
    w.placement("P1", "C1", "BW-INTRA", "zuid", "2023-05-01")
    line = only(settle(w, "2023-05"))
    assert (line.basis, line.payer, line.flags) == ("woonplaats_before_institution", "0109", ())


@pytest.mark.parametrize("before", [
    [("briefadres", "1730", "2000-01-01", "2022-12-31")],          # walk reaches a briefadres
    [("abroad", None, "2000-01-01", "2022-12-31")],                # walk reaches abroad
    [("woonadres", "1730", "2000-01-01", "2022-11-30")],           # walk reaches a gap (December)
    [],                                                            # walk reaches nothing
])
def test_institution_walk_without_woonadres_is_vangnet(before):
    w = world()
    w.client("C1", brp=before + [("institution", "1680", "2023-01-01", "2023-02-28"),
                                 ("institution", "0106", "2023-03-01", None)])
    w.placement("P1", "C1", "BW-INTRA", "noord", "2023-05-01")
    line = only(settle(w, "2023-05"))
    assert (line.basis, line.payer, line.flags) == ("vangnet", "0106", ("vangnet",))   # no application: centrumgemeente


@pytest.mark.parametrize("brp", [
    [("briefadres", "1730", "2000-01-01", None)],
    [("abroad", None, "2000-01-01", None)],
    [("woonadres", "1730", "2000-01-01", "2023-04-29")],           # gap on 30 April, the day before
])
def test_no_woonadres_the_day_before_is_vangnet(brp):
    w = world()
    w.client("C1", brp=brp).placement("P1", "C1", "BW-INTRA", "noord", "2023-05-01")
    line = only(settle(w, "2023-05"))
    assert (line.status, line.basis, line.payer, line.flags) == ("new", "vangnet", "0106", ("vangnet",))
    assert line.amount == 10000 * 31


def test_vangnet_follows_the_governing_application():
    w = world()
    w.client("C1", brp=[("briefadres", "0114", "2000-01-01", None)], applications=[
        ("noord", "1680", "2023-01-15"),
        ("noord", "1730", "2023-02-01"),   # the latest in noord on or before the start: governs
        ("zuid", "0109", "2023-03-01"),    # another region: does not govern
    ])
    w.placement("P1", "C1", "BW-INTRA", "noord", "2023-05-01")
    r = settle(w, "2023-05")
    line = only(r)
    assert (line.basis, line.payer, line.flags) == ("vangnet", "1730", ("vangnet",))
    assert r.invoices == [("0106", "1730", 310000)]


def test_an_application_after_the_start_does_not_govern():
    w = world()
    w.client("C1", brp=[("briefadres", "0114", "2000-01-01", None)],
             applications=[("noord", "1730", "2023-02-01"), ("noord", "1680", "2023-06-01")])
    w.placement("P1", "C1", "BW-INTRA", "noord", "2023-05-01")    # ongoing
    line = only(settle(w, "2023-06"))
    assert (line.basis, line.payer, line.flags) == ("vangnet", "1730", ("vangnet",))


def test_application_on_the_start_day_governs():
    w = world()
    w.client("C1", brp=[("briefadres", "0114", "2000-01-01", None)], applications=[("noord", "1680", "2023-05-01")])
    w.placement("P1", "C1", "BW-INTRA", "noord", "2023-05-01")
    assert (only(settle(w, "2023-05")).basis, only(settle(w, "2023-05")).payer) == ("vangnet", "1680")


def test_client_without_brp_is_an_error_for_new_bw():
    w = world()
    w.client("C9").placement("P9", "C9", "BW-INTRA", "noord", "2023-05-01")
    with pytest.raises(SettlementError) as e:
        settle(w, "2023-05")
    assert "P9" in e.value.problems[0] and "C9" in e.value.problems[0]


def test_client_without_brp_is_an_error_for_new_wmo():
    w = world()
    w.client("C9").placement("P9", "C9", "THUIS", "noord", "2023-05-01")
    with pytest.raises(SettlementError) as e:
        settle(w, "2023-05")
    assert "P9" in e.value.problems[0] and "C9" in e.value.problems[0]


# ===== §4.5 WMO by registration =============================================================

def test_wmo_registration_whole_month():
    w = world()
    w.client("C1", brp=lives_in("1730")).placement("P1", "C1", "THUIS", "noord", "2023-05-01")
    line = only(settle(w, "2023-07"))
    assert (line.status, line.basis, line.payer, line.days, line.amount, line.flags) == \
        ("new", "registration", "1730", 31, 10000, ())


def test_wmo_registration_split_mid_month_by_largest_remainder():
    # THUIS € 100.00/month; July: 1680 for 1..15 (15 days), 1730 for 16..31 (16 days)
    w = world()
    w.client("C1", brp=[("woonadres", "1680", "2000-01-01", "2023-07-15"), ("woonadres", "1730", "2023-07-16", None)])
    w.placement("P1", "C1", "THUIS", "noord", "2023-05-01")
    r = settle(w, "2023-07")
    ls = lines_of(r, "P1")
    assert set(ls) == {("1680", "registration"), ("1730", "registration")}
    a, b = ls[("1680", "registration")], ls[("1730", "registration")]
    assert (a.days, b.days) == (15, 16)
    # total 10000 x 31/31 = 10000; 10000 x 15/31 = 4838.709..., 10000 x 16/31 = 5161.290...
    # floors 4838 + 5161 = 9999; the spare cent to the larger remainder (.709): 4839
    assert (a.amount, b.amount) == (4839, 5161)
    assert a.amount + b.amount == 10000
    assert r.invoices == [("0106", "1680", 4839), ("0106", "1730", 5161)]


def test_wmo_split_tie_goes_to_the_earlier_day_range():
    # April (30 days), price € 100.01: total 10001; 1730 for 1..15, 1680 for 16..30: 5000.5 each
    # tie -> the earlier day range (1730), not the lower code (1680)
    w = world().tariff("THUIS", "noord", [("2020-01-01", None, 10001)])
    w.client("C1", brp=[("woonadres", "1730", "2000-01-01", "2023-04-15"), ("woonadres", "1680", "2023-04-16", None)])
    w.placement("P1", "C1", "THUIS", "noord", "2023-03-01")
    ls = lines_of(settle(w, "2023-04"), "P1")
    assert ls[("1730", "registration")].amount == 5001
    assert ls[("1680", "registration")].amount == 5000


def test_wmo_back_and_forth_is_one_line_per_payer():
    # July: 1680 for 1..10 and 21..31 (21 days), 1730 for 11..20 (10 days)
    w = world()
    w.client("C1", brp=[("woonadres", "1680", "2000-01-01", "2023-07-10"), ("woonadres", "1730", "2023-07-11", "2023-07-20"),
                        ("woonadres", "1680", "2023-07-21", None)])
    w.placement("P1", "C1", "THUIS", "noord", "2023-05-01")
    ls = lines_of(settle(w, "2023-07"), "P1")
    assert set(ls) == {("1680", "registration"), ("1730", "registration")}
    # 10000 x 21/31 = 6774.19..., 10000 x 10/31 = 3225.80...: floors 9999, spare cent to .80 -> 3226
    assert (ls[("1680", "registration")].days, ls[("1680", "registration")].amount) == (21, 6774)
    assert (ls[("1730", "registration")].days, ls[("1730", "registration")].amount) == (10, 3226)


def test_wmo_day_without_woonadres_is_vangnet():
    # July: woonadres 1680 for 1..10, briefadres from 11 (21 days) -> vangnet, centrumgemeente 0106
    w = world()
    w.client("C1", brp=[("woonadres", "1680", "2000-01-01", "2023-07-10"), ("briefadres", "1730", "2023-07-11", None)])
    w.placement("P1", "C1", "THUIS", "noord", "2023-05-01")
    ls = lines_of(settle(w, "2023-07"), "P1")
    assert set(ls) == {("1680", "registration"), ("0106", "vangnet")}
    reg, vn = ls[("1680", "registration")], ls[("0106", "vangnet")]
    # 10000 x 10/31 = 3225.806..., 10000 x 21/31 = 6774.193...: floors 9999, spare cent to .806 -> 3226
    assert (reg.days, reg.amount, reg.flags) == (10, 3226, ())
    assert (vn.days, vn.amount, vn.flags) == (21, 6774, ("vangnet",))


def test_wmo_vangnet_days_follow_the_governing_application():
    w = world()
    w.client("C1", brp=[("woonadres", "1680", "2000-01-01", "2023-07-10")],   # then a gap
             applications=[("noord", "1730", "2023-04-01")])
    w.placement("P1", "C1", "THUIS", "noord", "2023-05-01")
    ls = lines_of(settle(w, "2023-07"), "P1")
    assert set(ls) == {("1680", "registration"), ("1730", "vangnet")}
    assert ls[("1730", "vangnet")].flags == ("vangnet",)


def test_declaration_on_a_split_line_is_split_by_days():
    # declared € 100.01 for July, 15 days 1680 / 16 days 1730:
    # 10001 x 15/31 = 4839.19..., 10001 x 16/31 = 5161.80...: floors 10000, spare cent to .80 -> 5162
    w = world()
    w.client("C1", brp=[("woonadres", "1680", "2000-01-01", "2023-07-15"), ("woonadres", "1730", "2023-07-16", None)])
    w.placement("P1", "C1", "THUIS", "noord", "2023-05-01").declaration("P1", "2023-07", 10001)
    ls = lines_of(settle(w, "2023-07"), "P1")
    assert (ls[("1680", "registration")].amount, ls[("1730", "registration")].amount) == (4839, 5162)


def test_wmo_in_another_region_is_no_interregional_case():
    # WMO follows the registration; the interregional flag concerns BW only
    w = world()
    w.client("C1", brp=lives_in("0109")).placement("P1", "C1", "THUIS", "noord", "2023-05-01")
    line = only(settle(w, "2023-07"))
    assert (line.basis, line.payer, line.flags) == ("registration", "0109", ())


# ===== §7 traces =============================================================================

def test_trace_records_the_rules_in_order_with_reasons():
    w = world()
    w.client("C1", brp=[("woonadres", "1680", "2000-01-01", "2022-12-31"), ("institution", "0106", "2023-01-01", None)])
    w.placement("P1", "C1", "BW-INTRA", "noord", "2023-05-01")
    line = only(settle(w, "2023-05"))
    steps = line.trace["steps"]
    rules = [s["rule"] for s in steps]
    for earlier, later in [("amount", "mo"), ("mo", "status"), ("status", "historic"), ("historic", "reentry"),
                           ("reentry", "woonplaats"), ("woonplaats", "woonplaats_before_institution")]:
        assert rules.index(earlier) < rules.index(later)
    by_rule = {s["rule"]: s for s in steps}
    assert by_rule["woonplaats_before_institution"]["applies"] is True
    assert by_rule["woonplaats"]["applies"] is False and trace.reason(by_rule["woonplaats"])
    assert by_rule["reentry"]["applies"] is False and trace.reason(by_rule["reentry"])
    assert [s["rule"] for s in steps if s.get("decided")] == ["woonplaats_before_institution"]
    assert line.trace["decision"]["status"] == "new"
