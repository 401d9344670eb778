"""RULES.md §4.4 rule 1: reentry within twelve months stays with the municipality that last
provided beschermd wonen.

Wetsvoorstel 36288, art. 1.2.1a lid 1 sub a: a client who re-enters BW less than twelve months
after earlier BW is the responsibility of the college that last provided it. Here: another BW
placement (domain BW with bw_definition, any region) that ended 1 to 365 days before this start;
the municipality responsible for it is its payer, or its care region's centrumgemeente when it
was historic or pooled.
"""

from __future__ import annotations

from typing import Callable

from ..facts import Dataset, Placement
from ..periods import ONE_DAY, WINDOW
from .base import InputError, Step

RULE = "reentry"
REFERENCE = "rules/reentry"  # settlement.references
VERSION = "1"  # of this rule, on its steps: raise it when what the rule decides or records changes

Responsible = Callable[[Placement], tuple[str, tuple[str, dict]]]


def evaluate(ds: Dataset, p: Placement, responsible: Responsible) -> tuple[str | None, Step]:
    earlier = []
    for q in ds.placements_by_client.get(p.client, ()):
        if q.placement == p.placement or q.end is None:
            continue
        prod = ds.products[q.product]
        if prod.domain != "BW" or not prod.bw_definition:
            continue
        gap = (p.start - q.end).days
        if ONE_DAY.days <= gap <= WINDOW.days:
            earlier.append(q)
    if not earlier:
        return None, Step(RULE, REFERENCE, False, [],
                          why=("reentry_none", {"start": p.start.isoformat()}))
    latest_end = max(q.end for q in earlier)  # type: ignore[type-var]
    last = [q for q in earlier if q.end == latest_end]
    answers = {q.placement: responsible(q) for q in last}
    municipalities = {m for m, _ in answers.values()}  # (municipality, why) per earlier placement
    if len(municipalities) > 1:
        raise InputError(
            f"placement {p.placement}: reentry is claimed by placements "
            f"{', '.join(sorted(answers))}, which both ended {latest_end.isoformat()} but were the "
            f"responsibility of different municipalities ({', '.join(sorted(municipalities))})")
    q = last[0]
    payer, how = answers[q.placement]
    return payer, Step(RULE, REFERENCE, True, [q.ref],
                       outcome={"payer": payer, "basis": "reentry", "earlier_placement": q.placement,
                                "days_since_end": (p.start - latest_end).days, "responsible_as": how[0]},
                       why=("reentry_applies", {"earlier": q.placement, "end": latest_end.isoformat(),
                                                "days": (p.start - latest_end).days,
                                                "how": {"code": how[0], "params": how[1]}}))
