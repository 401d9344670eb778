"""Money: integer cents, exact fractions in between, one rounding function.

RULES.md §3 (one rounding function, half away from zero, once per line) and §6 (largest
remainder). Nothing in this package may turn money into a float.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Hashable, Sequence, TypeVar

K = TypeVar("K", bound=Hashable)

_AMOUNT = re.compile(r"(-?)([0-9]+)(?:\.([0-9]{1,2}))?")


def round_half_away(value: Fraction | int) -> int:
    """The one rounding function: exact value in cents -> integer cents, half away from zero."""
    value = Fraction(value)
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    whole, rest = divmod(magnitude.numerator, magnitude.denominator)
    if 2 * rest >= magnitude.denominator:
        whole += 1
    return sign * whole


def parse_euros(text: str) -> int:
    """'1234.5' -> 123450 cents. Raises ValueError for anything that is not a plain amount
    with at most two decimals (no thousands separators, no exponent, no comma)."""
    m = _AMOUNT.fullmatch(text)
    if not m:
        raise ValueError(f"{text!r} is not an amount in euros with at most two decimals")
    sign, whole, frac = m.groups()
    cents = int(whole) * 100 + int((frac or "").ljust(2, "0") or 0)
    return -cents if sign else cents


def format_cents(cents: int) -> str:
    """123450 -> '1234.50' (the export's two-decimal string)."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole}.{rest:02d}"


def largest_remainder(amount: int, weights: Sequence[tuple[K, Fraction | int]]) -> dict[K, int]:
    """Split `amount` cents over `weights` (key, weight) by the largest remainder rule (§6).

    Each part gets floor(A*w/W); the missing cents go one each to the largest fractional
    remainders, ties to the key that sorts first (a municipality code, or a day range's first
    day). A negative amount is split as its absolute value and negated. The parts always sum
    to `amount` and do not depend on the order of `weights`.
    """
    if amount < 0:
        return {k: -v for k, v in largest_remainder(-amount, weights).items()}
    keys = [k for k, _ in weights]
    if len(set(keys)) != len(keys):
        raise ValueError("largest_remainder: duplicate keys")
    total = sum((Fraction(w) for _, w in weights), Fraction(0))
    if any(Fraction(w) < 0 for _, w in weights) or total <= 0:
        raise ValueError("largest_remainder: weights must be non-negative with a positive sum")
    parts: dict[K, int] = {}
    remainders: list[tuple[Fraction, K]] = []
    for key, w in weights:
        exact = Fraction(amount) * Fraction(w) / total
        floor = exact.numerator // exact.denominator
        parts[key] = floor
        remainders.append((exact - floor, key))
    missing = amount - sum(parts.values())
    remainders.sort(key=lambda rk: (-rk[0], rk[1]))
    for _, key in remainders[:missing]:
        parts[key] += 1
    return parts
