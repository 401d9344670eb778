"""`settle status`: where the database stands, from `store.status` (one query per table).

The current snapshot, then per month that has runs its state:

- `draft`: a draft run, nothing final yet;
- `final`: the final run, no correction;
- `corrected`: the final run and finalised correction run(s);
- `final + draft correction`, `corrected + draft correction`: as above, with a draft correction
  waiting for `settle finalize`.

A draft (or draft correction) computed on a snapshot that is no longer the current one is
*stale*: `settle finalize` refuses it, `settle run` of the month makes it again.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from . import db
from .report import table
from .store import StoredState

FORMAT = "settlement-status/1"
STALE = "stale: run the month again"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite gives back naive UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat()


def short_hash(value: str) -> str:
    """`sha256:` and the first 12 hex digits."""
    algorithm, _, digest = value.partition(":")
    return f"{algorithm}:{digest[:12]}" if digest else value[:12]


def month_state(runs: list[db.Run]) -> str:
    """The state of a month from its runs (oldest first)."""
    final = any(r.kind == "final" for r in runs)
    corrected = any(r.kind == "correction" and r.finalized_at is not None for r in runs)
    draft = any(r.finalized_at is None for r in runs)
    if not final:
        return "draft" if draft else "none"
    base = "corrected" if corrected else "final"
    return f"{base} + draft correction" if draft else base


def build(state: StoredState) -> dict[str, Any]:
    """The status as a plain structure (what `--format json` prints, sorted keys)."""
    current = state.snapshot.id if state.snapshot is not None else None
    snapshot = None
    if state.snapshot is not None:
        s = state.snapshot
        snapshot = {"id": s.id, "source": s.source, "loaded_at": _iso(s.loaded_at), "input_hash": s.input_hash,
                    "agreements_hash": s.agreements_hash, "clients": state.clients, "placements": state.placements}
    by_month: dict[str, list[db.Run]] = {}
    for run in state.runs:
        by_month.setdefault(run.month, []).append(run)
    months = []
    for month in sorted(by_month):
        runs = sorted(by_month[month], key=lambda r: r.id)  # type: ignore[arg-type,return-value]
        described = []
        for r in runs:
            notes = state.invoices.get((r.id, "credit_note"), 0)  # type: ignore[arg-type]
            described.append({
                "id": r.id, "kind": r.kind,
                "final": r.finalized_at is not None, "finalized_at": _iso(r.finalized_at),
                "calculated_at": _iso(r.calculated_at), "corrects": r.parent, "snapshot": r.snapshot_id,
                "lines": state.lines.get(r.id, 0),  # type: ignore[arg-type]
                "invoices": state.invoices.get((r.id, "invoice"), 0), "credit_notes": notes})  # type: ignore[arg-type]
        draft = next((r for r in runs if r.finalized_at is None), None)
        months.append({
            "month": month, "state": month_state(runs), "runs": described,
            "draft": draft.id if draft is not None else None,
            "stale": draft is not None and draft.snapshot_id != current,
            "invoices": sum(d["invoices"] for d in described),
            "credit_notes": sum(d["credit_notes"] for d in described)})
    return {"format": FORMAT, "snapshot": snapshot, "snapshots": state.snapshots, "months": months}


def to_json(status: dict[str, Any]) -> str:
    return json.dumps(status, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def to_text(status: dict[str, Any], database: str) -> str:
    s = status["snapshot"]
    out = [f"database: {database}"]
    if s is None:
        out.append("no data loaded yet: `settle load DIR` loads a dataset, "
                   "then `settle run --month YYYY-MM` settles a month")
        return "\n".join(out) + "\n"
    loaded = s["loaded_at"][:19].replace("T", " ") + " UTC" if s["loaded_at"] else "?"
    out.append(f"current snapshot {s['id']} (of {status['snapshots']} loaded): {s['source']}, loaded {loaded}, "
               f"input {short_hash(s['input_hash'])}; {s['clients']} clients, {s['placements']} placements")
    if not status["months"]:
        out.append("no month has been settled yet: `settle run --month YYYY-MM` settles one")
        return "\n".join(out) + "\n"
    rows = []
    for m in status["months"]:
        runs = ", ".join(f"{r['id']}" + ("" if r["final"] else " (draft)") for r in m["runs"])
        lines = " + ".join(str(r["lines"]) for r in m["runs"])
        rows.append([m["month"], m["state"], runs, lines, str(m["invoices"]), str(m["credit_notes"]),
                     STALE if m["stale"] else ""])
    stale = [m["month"] for m in status["months"] if m["stale"]]
    headers = ["month", "state", "runs", "lines", "invoices", "credit notes", "note"]
    if not stale:  # no note to show
        headers, rows = headers[:-1], [r[:-1] for r in rows]
    out += ["", table(headers, rows, {4, 5})]
    counts: dict[str, int] = {}
    for m in status["months"]:
        counts[m["state"]] = counts.get(m["state"], 0) + 1
    out += ["", f"{len(status['months'])} month(s): " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
            ]
    if stale:
        one = len(stale) == 1
        out.append(f"stale: the draft{'' if one else 's'} of {', '.join(stale)} {'was' if one else 'were'} computed "
                   f"on an earlier snapshot; `settle finalize` refuses {'it' if one else 'them'} until `settle run` "
                   f"settles the month{'' if one else 's'} again on the current data")
    if len(status["months"]) and any(len(m["runs"]) > 1 for m in status["months"]):
        out.append("lines: per run, the final run first; a correction's lines are differences")
    return "\n".join(out) + "\n"
