"""RULES.md §4.2: historic or new, by chains of activity per client and care region.

Applications and BW/WMO-domain placements of a client in one care region, sorted by date, form
chains: an activity joins the chain when it starts at most 365 days after the chain's latest day
so far. A chain whose first day lies before the region's cutover is historic, else new.
Source: the seeds' 'nieuwe cliënt' (no application and no BW use in the region in the 365 days
before reporting) [000, §14.2; 003, footnote 5].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..facts import Dataset
from ..periods import FAR_FUTURE, WINDOW
from .base import Step

RULE = "status"
REFERENCE = "rules/status"  # settlement.references
VERSION = "1"  # of this rule, on its steps: raise it when what the rule decides or records changes


@dataclass
class Chain:
    first: date
    last: date
    members: list[dict[str, Any]] = field(default_factory=list)


def chains(ds: Dataset, client: str, region: str) -> list[Chain]:
    acts: list[tuple[date, date, dict[str, Any]]] = []
    for a in ds.applications_by_client.get(client, ()):
        if a.region == region:
            acts.append((a.date, a.date, a.ref))
    for p in ds.placements_by_client.get(client, ()):
        if p.region == region and ds.products[p.product].domain in ("BW", "WMO"):
            acts.append((p.start, p.end or FAR_FUTURE, p.ref))
    acts.sort(key=lambda a: (a[0], a[1], a[2]["record"]))
    out: list[Chain] = []
    for start, end, ref in acts:
        if out and (out[-1].last == FAR_FUTURE or start <= out[-1].last + WINDOW):  # ongoing: all join
            out[-1].last = max(out[-1].last, end)
            out[-1].members.append(ref)
        else:
            out.append(Chain(start, end, [ref]))
    return out


def evaluate_client_region(ds: Dataset, client: str, region_id: str) -> dict[str, tuple[str, Step]]:
    """The status of every BW/WMO-domain placement of `client` in `region_id`, with its trace step."""
    region = ds.regions[region_id]
    out: dict[str, tuple[str, Step]] = {}
    for chain in chains(ds, client, region_id):
        status = "historic" if chain.first < region.cutover else "new"
        step = Step(
            RULE, REFERENCE, True, chain.members,
            outcome={"status": status, "chain_first_day": chain.first.isoformat(),
                     "chain_last_day": None if chain.last == FAR_FUTURE else chain.last.isoformat(),
                     "cutover": region.cutover.isoformat(), "region": region_id},
            why=("status", {"region": region_id, "first": chain.first.isoformat(), "status": status,
                            "cutover": region.cutover.isoformat()}))
        for m in chain.members:
            if m["record"].startswith("placement "):
                out[m["record"][len("placement "):]] = (status, step)
    return out
