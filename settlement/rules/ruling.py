"""RULES.md §4.0 (v2): a ruling of the geschillencommissie decides; an open dispute flags.

From its `valid_from` a ruling (`rulings.csv`) decides the payer of every new-status line of its
placement before §4.4-§4.5 (basis `ruling`). The rules still ran: their steps stay in the trace
beside this one, so the dossier shows what the rules said and what the committee decided. A
ruling does not change the status (§4.2), and pool and interregional agreements apply to the
ruled line as to any other. Of two rulings of one placement, the one valid from the later day
decides from that day on (the loader refuses two valid from one day).

A dispute (`disputes.csv`) raised on or before the month's last day and not yet ruled on by then
gives every line of its placement the flag `contested`; it changes no amount and no payer. A
dispute is ruled on by a ruling that names it, or, naming none, by a ruling of its placement
decided on or after the day it was raised. [Regiovisie Zuidoost-Drenthe §7.3; Regiovisie
IJssel-Vecht §4.4]

A placement without a ruling or a dispute gets no step of either: the traces of every month
settled before these files existed stay as they were.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from ..facts import Dataset, Dispute, Placement, Ruling
from ..periods import ONE_DAY
from .base import Share, Step

RULE = "ruling"
REFERENCE = "rules/ruling"  # settlement.references
DISPUTE_RULE = "dispute"
DISPUTE_REFERENCE = "rules/dispute"
VERSION = "1"  # of these rules, on their steps: raise it when what they decide or record changes
CONTESTED = "contested"


def _before(share: Share, day: date) -> Share | None:
    """The part of a share's days before `day`, or None when nothing is left."""
    ranges = tuple((lo, min(hi, day - ONE_DAY)) for lo, hi in share.ranges if lo < day)
    return replace(share, ranges=ranges) if ranges else None


def apply(ds: Dataset, p: Placement, status: str, lo: date, hi: date, shares: list[Share]) -> tuple[list[Share], Step | None]:
    """The shares of the days lo..hi after the rulings of the placement, and the step (None when
    the placement has no ruling)."""
    rulings = ds.rulings_by_placement.get(p.placement)
    if not rulings:
        return shares, None
    read = [u.ref for u in rulings]
    if status != "new":
        return shares, Step(RULE, REFERENCE, False, read, why=("ruling_not_new", {"status": status}))
    segments: list[tuple[date, date, Ruling]] = []
    for i, u in enumerate(rulings):
        start = max(lo, u.valid_from)
        end = hi if i + 1 == len(rulings) else min(hi, rulings[i + 1].valid_from - ONE_DAY)
        if start <= end:
            segments.append((start, end, u))
    if not segments:
        first = rulings[0]
        return shares, Step(RULE, REFERENCE, False, read,
                            why=("ruling_not_yet", {"ruling": first.ruling, "valid_from": first.valid_from.isoformat()}))
    ruled_from = segments[0][0]
    kept = [s for s in (_before(s, ruled_from) for s in shares) if s is not None]
    by_payer: dict[str, list[tuple[date, date]]] = {}
    for a, b, u in segments:
        by_payer.setdefault(u.payer, []).append((a, b))
    ruled = [Share(payer, "ruling", tuple(ranges)) for payer, ranges in sorted(by_payer.items())]
    last = segments[-1][2]
    outcome = {"basis": "ruling", "payer": last.payer, "ruling": last.ruling, "from": ruled_from.isoformat(),
               "rulings": [u.ruling for _, _, u in segments]}
    return kept + ruled, Step(RULE, REFERENCE, True, read, outcome=outcome,
                              why=("ruling_decides", {"ruling": last.ruling, "payer": last.payer,
                                                      "valid_from": last.valid_from.isoformat(),
                                                      "reference": last.reference}))


def in_force(ds: Dataset, placement: str, day: date) -> Ruling | None:
    """The ruling that decides the placement on `day`: of those valid from then or before, the
    latest."""
    held = [u for u in ds.rulings_by_placement.get(placement, ()) if u.valid_from <= day]
    return held[-1] if held else None


def ruled_on(d: Dispute, rulings: list[Ruling], day: date) -> Ruling | None:
    """The ruling that ruled on dispute `d` by `day`, if any."""
    for u in rulings:
        if u.decided_on <= day and (u.dispute == d.dispute or (u.dispute is None and u.decided_on >= d.raised_on)):
            return u
    return None


def open_disputes(ds: Dataset, placement: str, day: date) -> list[Dispute]:
    """The placement's disputes raised on or before `day` and not ruled on by then."""
    rulings = ds.rulings_by_placement.get(placement, [])
    return [d for d in ds.disputes_by_placement.get(placement, ())
            if d.raised_on <= day and ruled_on(d, rulings, day) is None]


def contest(ds: Dataset, p: Placement, last_day: date, shares: list[Share]) -> tuple[list[Share], Step | None]:
    """The shares flagged `contested` when a dispute of the placement is open on the month's last
    day, and the step (None when the placement has no dispute)."""
    disputes = ds.disputes_by_placement.get(p.placement)
    if not disputes:
        return shares, None
    read = [{"record": f"dispute {d.dispute}", "placement": d.placement, "raised_by": d.raised_by,
             "raised_on": d.raised_on.isoformat()} for d in disputes]
    open_ = open_disputes(ds, p.placement, last_day)
    if not open_:
        return shares, Step(DISPUTE_RULE, DISPUTE_REFERENCE, False, read,
                            why=("dispute_not_open", {"disputes": ", ".join(d.dispute for d in disputes),
                                                      "day": last_day.isoformat()}))
    flagged = [replace(s, flags=s.flags | {CONTESTED}) for s in shares]
    return flagged, Step(DISPUTE_RULE, DISPUTE_REFERENCE, True, read,
                         outcome={"flag": CONTESTED, "disputes": [d.dispute for d in open_]},
                         why=("dispute_open", {"disputes": ", ".join(d.dispute for d in open_),
                                               "raised_by": ", ".join(sorted({d.raised_by for d in open_})),
                                               "day": last_day.isoformat()}))
