"""`settle disputes`: the disputes laid before the geschillencommissie, open and ruled, with the
money at stake (RULES.md v2 §4.0; INTERFACE.md v2 `disputes.csv`, `rulings.csv`) [Regiovisie
Zuidoost-Drenthe §7.3; Regiovisie IJssel-Vecht §4.4].

Per dispute of the current snapshot: who raised it and when, about which placement (its client by
pseudonym only, never a BSN), and whether it is open or which ruling decided it (payer, valid
from, decided on, reference). The money at stake: the amounts of the placement's lines per payer
in every month from the month the dispute was raised, as settled: a final month by its final run
plus its finalised corrections, a month not yet final by its latest run (named as not final).
Pure but for `gather`, which reads each table once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .facts import Dispute, Ruling
from .money import format_cents
from .periods import Month
from .rules.ruling import ruled_on

FORMAT = "settlement-disputes/1"


@dataclass
class DisputeState:
    dispute: Dispute
    ruling: Ruling | None
    client: str | None
    at_stake: dict[str, int] = field(default_factory=dict)  # payer -> cents
    months: list[str] = field(default_factory=list)  # the months with lines of the placement
    not_final: list[str] = field(default_factory=list)
    by_month: dict[str, dict[str, int]] = field(default_factory=dict)  # month -> payer -> cents, as settled

    @property
    def total(self) -> int:
        return sum(self.at_stake.values())


def build(disputes: list[Dispute], rulings: list[Ruling], runs: list[Any], lines_of: dict[int, list[Any]],
          today: date) -> list[DisputeState]:
    """The state of each dispute on `today`: `runs` every run (by month, then id), `lines_of` the
    lines of the disputed placements per run id."""
    by_month: dict[str, list[Any]] = {}
    for r in runs:
        by_month.setdefault(r.month, []).append(r)
    settled: dict[str, tuple[list[Any], bool]] = {}  # month -> (its runs as settled, final?)
    for month, rs in by_month.items():
        final = [r for r in rs if r.finalized_at is not None]
        settled[month] = (final, True) if final else ([rs[-1]], False)
    out = []
    for d in sorted(disputes, key=lambda d: (d.raised_on, d.dispute)):
        u = ruled_on(d, sorted((x for x in rulings if x.placement == d.placement), key=lambda x: x.valid_from), today)
        state = DisputeState(d, u, None)
        first = str(Month(d.raised_on.year, d.raised_on.month))
        for month in sorted(m for m in settled if m >= first):
            rs, final = settled[month]
            lines = [l for r in rs for l in lines_of.get(r.id, ()) if l.placement == d.placement]
            if not lines:
                continue
            state.months.append(month)
            if not final:
                state.not_final.append(month)
            month_stake = state.by_month.setdefault(month, {})
            for l in lines:
                state.client = l.client
                key = l.payer if l.payer is not None else f"pool {l.pool}"
                state.at_stake[key] = state.at_stake.get(key, 0) + l.amount
                month_stake[key] = month_stake.get(key, 0) + l.amount
            state.by_month[month] = dict(sorted(month_stake.items()))
        state.at_stake = {k: v for k, v in sorted(state.at_stake.items()) if v}
        out.append(state)
    return out


def gather(conn: Any, today: date) -> list[DisputeState]:
    from . import store
    snapshot = store.current_snapshot(conn)
    if snapshot is None:
        return []
    disputes, rulings = store.read_disputes(conn, snapshot.id)
    runs = store.read_runs(conn)
    placements = {d.placement for d in disputes}
    lines_of = store.read_run_lines(conn, [r.id for r in runs], placements=placements) if placements else {}
    return build(disputes, rulings, runs, lines_of, today)


def _plain(s: DisputeState) -> dict[str, Any]:
    d, u = s.dispute, s.ruling
    return {"dispute": d.dispute, "placement": d.placement, "client": s.client, "raised_by": d.raised_by,
            "raised_on": d.raised_on.isoformat(), "subject": d.subject, "status": "ruled" if u else "open",
            "ruling": None if u is None else {"ruling": u.ruling, "payer": u.payer, "valid_from": u.valid_from.isoformat(),
                                              "decided_on": u.decided_on.isoformat(), "reference": u.reference},
            "months": s.months, "months_not_final": s.not_final,
            "at_stake": {k: format_cents(v) for k, v in s.at_stake.items()}, "total": format_cents(s.total)}


def to_json(states: list[DisputeState]) -> str:
    return json.dumps({"format": FORMAT, "disputes": [_plain(s) for s in states]}, sort_keys=True, indent=2,
                      ensure_ascii=False) + "\n"


def to_text(states: list[DisputeState]) -> str:
    if not states:
        return "no disputes in the current snapshot\n"
    out = []
    for s in states:
        d, u = s.dispute, s.ruling
        head = (f"{d.dispute}: placement {d.placement} (client {s.client or '-'}), raised by {d.raised_by} on "
                f"{d.raised_on.isoformat()}: {d.subject}")
        status = ("open" if u is None else
                  f"ruled by {u.ruling} ({u.reference}) on {u.decided_on.isoformat()}: {u.payer} pays from "
                  f"{u.valid_from.isoformat()}")
        stake = ", ".join(f"{k} EUR {format_cents(v)}" for k, v in s.at_stake.items()) or "nothing settled yet"
        months = f"{s.months[0]}..{s.months[-1]}" if s.months else "-"
        extra = f"; not final: {', '.join(s.not_final)}" if s.not_final else ""
        out.append(f"{head}\n  {status}\n  at stake ({months}{extra}): {stake}; total EUR {format_cents(s.total)}")
    return "\n".join(out) + "\n"
