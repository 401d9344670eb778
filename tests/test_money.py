"""RULES.md §3 (one rounding function, half away from zero) and §6 (largest remainder)."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.money import largest_remainder, round_half_away


# -- round_half_away -----------------------------------------------------------------------

@pytest.mark.parametrize("value, cents", [
    (Fraction(1, 2), 1),            # 0.5 -> 1 (away from zero, not to even 0)
    (Fraction(-1, 2), -1),          # -0.5 -> -1
    (Fraction(249, 2), 125),        # 124.5 -> 125 (banker's rounding would give 124)
    (Fraction(-249, 2), -125),
    (Fraction(251, 2), 126),        # 125.5 -> 126
    (Fraction(3, 2), 2),
    (Fraction(5, 2), 3),            # 2.5 -> 3 (not 2)
    (Fraction(-5, 2), -3),
    (Fraction(0), 0),
    (7, 7),                         # integers pass through
    (-7, -7),
])
def test_round_half_away_at_exactly_half(value, cents):
    assert round_half_away(value) == cents


@pytest.mark.parametrize("value, cents", [
    (Fraction(1, 2) - Fraction(1, 10**9), 0),     # just below .5
    (Fraction(1, 2) + Fraction(1, 10**9), 1),     # just above .5
    (Fraction(-1, 2) + Fraction(1, 10**9), 0),    # -0.4999... -> 0
    (Fraction(-1, 2) - Fraction(1, 10**9), -1),
    (Fraction(249, 2) - Fraction(1, 3000), 124),  # 124.4996...
    (Fraction(249, 2) + Fraction(1, 3000), 125),
    (Fraction(1, 3), 0),
    (Fraction(2, 3), 1),
    (Fraction(-2, 3), -1),
    (Fraction(5280000, 31), 170323),              # 170322.58...
])
def test_round_half_away_near_half(value, cents):
    assert round_half_away(value) == cents


@given(st.fractions(max_denominator=1000))
def test_round_half_away_is_nearest_and_symmetric(value):
    r = round_half_away(value)
    assert abs(value - r) <= Fraction(1, 2)
    assert round_half_away(-value) == -r
    if abs(value - r) == Fraction(1, 2):
        assert abs(r) > abs(value)  # a tie went away from zero


def test_round_half_away_returns_int():
    assert type(round_half_away(Fraction(7, 2))) is int


# -- largest_remainder ---------------------------------------------------------------------

def test_spare_cent_to_largest_remainder():
    # 100 over 1:1:1 -> 33.33 each; 1 cent missing; all remainders tie -> lowest key
    assert largest_remainder(100, [("0106", 1), ("1680", 1), ("1730", 1)]) == {"0106": 34, "1680": 33, "1730": 33}
    # 1001 over 2:5:3 -> 200.2, 500.5, 300.3: floors 1000, the spare cent to 500.5 (largest remainder)
    assert largest_remainder(1001, [("0106", 2), ("1680", 5), ("1730", 3)]) == {"0106": 200, "1680": 501, "1730": 300}


def test_two_spare_cents():
    # 101 over 1:1:1:1 -> 25.25 each: floors 100, 1 cent missing -> the lowest key
    assert largest_remainder(101, [("d", 1), ("c", 1), ("b", 1), ("a", 1)]) == {"a": 26, "b": 25, "c": 25, "d": 25}
    # 103 over 1:1:1:1 -> 25.75 each: 3 cents missing -> the three lowest keys
    assert largest_remainder(103, [("d", 1), ("c", 1), ("b", 1), ("a", 1)]) == {"a": 26, "b": 26, "c": 26, "d": 25}


def test_ties_go_to_the_lower_key_not_the_first_listed():
    assert largest_remainder(1, [("1730", 1), ("0106", 1)]) == {"0106": 1, "1730": 0}
    assert largest_remainder(1, [("0106", 1), ("1730", 1)]) == {"0106": 1, "1730": 0}
    # integer keys (the engine's day ranges, ranked by first day)
    assert largest_remainder(5, [(1, 1), (0, 1)]) == {0: 3, 1: 2}


def test_negative_amount_split_as_positive_and_negated():
    # -1001 over 2:5:3 = -(200, 501, 300)
    assert largest_remainder(-1001, [("0106", 2), ("1680", 5), ("1730", 3)]) == {"0106": -200, "1680": -501, "1730": -300}
    assert largest_remainder(-100, [("a", 1), ("b", 1), ("c", 1)]) == {"a": -34, "b": -33, "c": -33}


def test_zero_weights_get_nothing():
    assert largest_remainder(100, [("a", 0), ("b", 1), ("c", 2)]) == {"a": 0, "b": 33, "c": 67}  # 33.33, 66.67
    assert largest_remainder(7, [("a", 0), ("b", 1)]) == {"a": 0, "b": 7}
    assert largest_remainder(0, [("a", 1), ("b", 1)]) == {"a": 0, "b": 0}


def test_fraction_weights():
    # 10 over 1/3 : 2/3 -> 3.33, 6.67 -> 3, 7
    assert largest_remainder(10, [("a", Fraction(1, 3)), ("b", Fraction(2, 3))]) == {"a": 3, "b": 7}


@pytest.mark.parametrize("weights", [[("a", 0), ("b", 0)], [("a", -1), ("b", 2)], []])
def test_invalid_weights_are_refused(weights):
    with pytest.raises(ValueError):
        largest_remainder(100, weights)


def test_duplicate_keys_are_refused():
    with pytest.raises(ValueError):
        largest_remainder(100, [("a", 1), ("a", 2)])


keys = st.sampled_from(["0106", "0109", "0114", "1680", "1730", "0193", "0160"])
weight_lists = st.lists(st.tuples(keys, st.integers(0, 10**6)), min_size=1, max_size=7,
                        unique_by=lambda kw: kw[0]).filter(lambda ws: sum(w for _, w in ws) > 0)


@settings(max_examples=300)
@given(st.integers(-10**9, 10**9), weight_lists, st.randoms(use_true_random=False))
def test_largest_remainder_properties(amount, weights, rnd):
    parts = largest_remainder(amount, weights)
    assert sum(parts.values()) == amount                          # always sums to A
    assert set(parts) == {k for k, _ in weights}
    shuffled = list(weights)
    rnd.shuffle(shuffled)
    assert largest_remainder(amount, shuffled) == parts           # order independence
    total = sum(w for _, w in weights)
    for k, w in weights:
        exact = Fraction(amount * w, total)
        assert abs(parts[k] - exact) < 1                          # each part within a cent of exact
        if w == 0:
            assert parts[k] == 0
    assert largest_remainder(-amount, weights) == {k: -v for k, v in parts.items()}
    # the cents went to the largest remainders, ties to the lower key
    if amount >= 0:
        def rem(kw):
            exact = Fraction(amount * kw[1], total)
            return exact - (exact.numerator // exact.denominator)
        ranked = sorted(weights, key=lambda kw: (-rem(kw), kw[0]))
        missing = amount - sum(Fraction(amount * w, total).__floor__() for _, w in weights)
        for i, (k, w) in enumerate(ranked):
            assert parts[k] == Fraction(amount * w, total).__floor__() + (1 if i < missing else 0)
