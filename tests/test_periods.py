"""Months: the ranges that `settle run --from/--to`, `settle explain --from/--to` and the demo use."""

from settlement.periods import Month, months_between


def test_months_between_includes_both_ends_and_crosses_the_year():
    assert [str(m) for m in months_between(Month(2023, 11), Month(2024, 2))] == \
        ["2023-11", "2023-12", "2024-01", "2024-02"]


def test_months_between_one_month_and_none():
    assert months_between(Month(2024, 3), Month(2024, 3)) == [Month(2024, 3)]
    assert months_between(Month(2024, 4), Month(2024, 3)) == []
