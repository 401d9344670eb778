"""RULES.md §3: the amount of one placement-month.

days = days of the placement inside the month, both ends inclusive. Unit `day`: price x days;
unit `month`: price x days / days-in-month; split by tariff interval when the price changes
inside the month; a declaration for (placement, month) replaces the computed amount. Exact
fractions throughout, rounded once by `money.round_half_away`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from ..facts import Dataset, Placement
from ..money import format_cents, round_half_away
from ..periods import Month, days_between, overlap
from ..trace import DECLARATION, ROUNDING
from .base import InputError, Step

RULE = "amount"
REFERENCE = "rules/amount"  # settlement.references
VERSION = "1"  # of this rule, on its steps: raise it when what the rule decides or records changes


@dataclass(frozen=True)
class Amount:
    lo: date
    hi: date
    days: int
    cents: int
    step: Step


def _exact(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def placement_days(p: Placement, month: Month) -> tuple[date, date] | None:
    return overlap(p.start, p.end, month.first, month.last)


def compute(ds: Dataset, p: Placement, month: Month) -> Amount | None:
    """The amount of placement `p` in `month`, or None when it does not overlap the month."""
    span = placement_days(p, month)
    if span is None:
        return None
    lo, hi = span
    days = days_between(lo, hi)
    product = ds.products[p.product]
    declaration = ds.declaration_by_key.get((p.placement, str(month)))
    read: list[dict[str, Any]] = [p.ref]
    if declaration is not None:
        read.append({"record": f"declaration {p.placement} {month}", "amount": format_cents(declaration.amount)})
        return Amount(lo, hi, days, declaration.amount, Step(
            RULE, REFERENCE, True, read,
            outcome={"days": days, "declaration": format_cents(declaration.amount),
                     "amount": format_cents(declaration.amount),
                     "computation": DECLARATION}))

    intervals: list[dict[str, Any]] = []
    exact = Fraction(0)
    covered = 0
    for t in ds.tariffs_by_key.get((p.product, p.region), ()):
        part = overlap(t.valid_from, t.valid_to, lo, hi)
        if part is None:
            continue
        n = days_between(*part)
        covered += n
        value = Fraction(t.price * n) if product.unit == "day" else Fraction(t.price * n, month.days)
        exact += value
        read.append({"record": f"tariff {t.product}/{t.region}", "valid_from": t.valid_from.isoformat(),
                     "valid_to": t.valid_to.isoformat() if t.valid_to else None, "price": format_cents(t.price)})
        intervals.append({"from": part[0].isoformat(), "to": part[1].isoformat(), "days": n,
                          "price": format_cents(t.price), "exact_cents": _exact(value)})
    if covered != days:
        raise InputError(
            f"placement {p.placement} ({p.product}, region {p.region}) has no valid tariff for "
            f"{days - covered} of its {days} days in {month} and no declaration")
    cents = round_half_away(exact)
    return Amount(lo, hi, days, cents, Step(
        RULE, REFERENCE, True, read,
        outcome={"days": days, "unit": product.unit, "intervals": intervals,
                 "exact_cents": _exact(exact), "rounding": ROUNDING,
                 "amount": format_cents(cents)}))
