"""What `settle explain` reads: the runs of each month, the selected lines with their traces, the
pool results, and of the facts of the latest run's snapshot those the selected lines' clients
have (with the municipalities, regions, products and agreements): only what the question needs,
with a WHERE on each table, so that one client's month costs the same in a city or in the whole
country. One query per table (per month for the lines); never the clock.

Which runs count (`mode`):
- `dossier` (html, pdf): a final month is its final run plus its finalised corrections, in that
  order (a draft correction waiting to be finalised is named, not shown); a month that is not
  final is its latest (draft) run.
- `latest` (text, json): the month's latest run, whatever its kind, as `settle export` shows it.

A dossier also shows, for a step that depends on the decision of an earlier placement (a reentry's
`depends_on` `decision<P…>`), that decision from a stored line of that placement, whatever month
and run hold it: `Selection.earlier_decision`, read from the store when the dossier first asks,
never recomputed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine as SAEngine

from .. import db, store
from ..agreements import PoolResult
from ..engine import Line
from ..facts import Dataset
from ..periods import Month, months_between
from ..errors import UserError

SUBJECTS = ("client", "placement", "municipality")


@dataclass(frozen=True)
class RunInfo:
    id: int
    month: str
    kind: str
    snapshot_id: int
    engine_version: str
    rules_version: str
    input_hash: str
    agreements_hash: str
    export_hash: str
    calculated_at: datetime
    finalized_at: datetime | None
    parent: int | None
    receipt_hash: str | None = None

    @property
    def date(self) -> date:
        """The run's own date: finalisation, or calculation for a draft (UTC)."""
        return (self.finalized_at or self.calculated_at).date()

    @classmethod
    def of(cls, run: db.Run) -> "RunInfo":
        return cls(run.id, run.month, run.kind, run.snapshot_id, run.engine_version,  # type: ignore[arg-type]
                   run.rules_version, run.input_hash, run.agreements_hash, run.export_hash, _utc(run.calculated_at),
                   _utc(run.finalized_at) if run.finalized_at else None, run.parent,
                   getattr(run, "receipt_hash", None))


def _utc(value: datetime) -> datetime:
    """Stored instants are UTC; SQLite hands them back naive."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


@dataclass
class Entry:
    """One selected line with the run it belongs to."""

    run: RunInfo
    line: Line

    @property
    def correction(self) -> bool:
        return self.run.kind == "correction" or "correction" in self.line.trace


@dataclass
class MonthData:
    month: Month
    runs: list[RunInfo]
    entries: list[Entry]
    pools: list[tuple[RunInfo, PoolResult]]  # pool results of the runs that the selection shares in
    pending: RunInfo | None = None  # a draft correction of a final month, not part of the dossier


@dataclass(frozen=True)
class Earlier:
    """The stored decision of an earlier placement that a step depends on (`depends_on`
    `decision<P…>`, a reentry): a line of that placement in a stored run, read, not recomputed."""

    placement: str
    run: RunInfo
    line: Line


@dataclass
class Selection:
    subject: str  # client, placement, municipality
    key: str
    months: list[MonthData]
    ds: Dataset  # of the latest run's snapshot: the frame and the facts of the selection's clients only
    agreements: dict[str, dict[str, Any]]  # id -> canonical agreement of that snapshot
    snapshot_id: int
    other_snapshots: list[int] = field(default_factory=list)  # other snapshots behind the runs shown
    bsns: dict[str, str] = field(default_factory=dict)  # client -> BSN, read only when asked for
    source: SAEngine | None = field(default=None, repr=False)  # the dossier's: where earlier decisions are read
    earlier: dict[str, Earlier | None] = field(default_factory=dict)  # placement -> its stored decision, once read

    def earlier_decision(self, placement: str) -> Earlier | None:
        """The stored decision of an earlier placement a step depends on (`depends_on`
        `decision<P…>`), read when the dossier first asks for it (`earlier_decision` below)."""
        if placement not in self.earlier:
            found = None
            if self.source is not None:
                with self.source.connect() as conn:
                    found = earlier_decision(conn, self.ds, placement)
            self.earlier[placement] = found
        return self.earlier[placement]

    @property
    def runs(self) -> list[RunInfo]:
        return [r for m in self.months for r in m.runs]

    @property
    def entries(self) -> list[Entry]:
        return [e for m in self.months for e in m.entries]


def depends_on_placements(steps: list[dict[str, Any]]) -> list[str]:
    """The placements whose decision these steps depend on (`decision<P…>` keys), in order."""
    out = []
    for s in steps:
        for key in s.get("depends_on", ()):
            name, _, rest = key.partition("<")
            if name == "decision" and rest.endswith(">") and rest[:-1] not in out:
                out.append(rest[:-1])
    return out


def _stored_line(conn: Connection, placement: str, months: list[Month]) -> Earlier | None:
    """A line of `placement` in the first of `months` that has one: in its final run (a month not
    final: its latest run)."""
    for m in months:
        runs = store.month_runs(conn, str(m))
        if not runs:
            continue
        run = next((r for r in runs if r.finalized_at is not None), runs[-1])
        lines = [l for l in store.read_run_lines(conn, [run.id], with_trace=True,  # type: ignore[list-item]
                                                 placement=placement)[run.id] if l.placement == placement]
        if lines:
            return Earlier(placement, RunInfo.of(run), lines[0])
    return None


def earlier_decision(conn: Connection, ds: Dataset, placement: str) -> Earlier | None:
    """A stored line of `placement`, whose trace holds its decision: of its last month first (the
    month its responsibility is read in for a reentry, RULES.md §4.4 regel 1), else the month
    before, back to its start. Read from the store, never recomputed; None when no stored run
    holds a line of it (or the data do not know it, or it has not ended)."""
    p = ds.placements.get(placement)
    if p is None or p.end is None:
        return None
    months = months_between(Month(p.start.year, p.start.month), Month(p.end.year, p.end.month))[::-1]
    return _stored_line(conn, placement, months)


def _runs_of_month(conn: Connection, month: Month, mode: str) -> tuple[list[RunInfo], RunInfo | None]:
    runs = [RunInfo.of(r) for r in store.month_runs(conn, str(month))]
    if not runs:
        raise UserError(f"no run for {month}: run `settle run --month {month}` first", status=2)
    if mode == "latest":
        return [runs[-1]], None
    finalised = [r for r in runs if r.finalized_at is not None]
    if not finalised:
        return [runs[-1]], None
    pending = next((r for r in reversed(runs) if r.finalized_at is None), None)
    return finalised, pending


def _selected(subject: str, key: str, line: Line, pool_members: dict[str, set[str]]) -> bool:
    if subject == "client":
        return line.client == key
    if subject == "placement":
        return line.placement == key
    return line.payer == key or (line.pool is not None and key in pool_members.get(line.pool, set()))


def _members(pool: PoolResult) -> set[str]:
    return set(pool.shares) | {c for c, _ in pool.weights}


def gather(engine: SAEngine, subject: str, key: str, months: list[Month], mode: str = "dossier",
           with_bsn: bool = False, progress: Callable[[str, int, int], None] | None = None) -> Selection:
    """The selection of `subject` (client, placement or municipality) `key` over `months`.

    Reads only what the question needs: the selected lines (a WHERE on the line table: the
    client's, the placement's, or those the municipality pays or a pool it shares in carries)
    and of the facts only the frame (municipalities, regions, products, agreements) and the
    facts of the selected lines' clients (`store.read_dataset(clients=...)`): never the whole
    snapshot, so a client's month reads a handful of rows whatever the size of the data.

    The facts are read without BSNs (`Client.bsn` is `bsn.HIDDEN`); `with_bsn` decrypts the BSNs
    of the selection's clients only (that needs SETTLEMENT_BSN_KEY) into `Selection.bsns`.
    `progress(phase, done, total)`: "reading", 0 of months + 1, then one more per month's lines
    and one for the facts.
    Raises errors.UserError for a month without a run or a key the data do not know."""
    assert subject in SUBJECTS and mode in ("dossier", "latest")
    with db.reading(engine) as conn:
        per_month = [(m, *_runs_of_month(conn, m, mode)) for m in months]
        ids = [r.id for _, runs, _ in per_month for r in runs]
        latest = max((r for _, runs, _ in per_month for r in runs), key=lambda r: r.id)
        snapshot = store.snapshot_by_id(conn, latest.snapshot_id)
        assert snapshot is not None
        pools_of = store.read_run_pools(conn, ids)
        lines_of: dict[int, list[Line]] = {}
        steps = len(per_month) + 1  # each month's lines, then the facts
        if progress is not None:
            progress("reading", 0, steps)
        for done, (_, runs, _) in enumerate(per_month, 1):
            run_ids = [r.id for r in runs]
            if subject == "municipality":
                shared = {p.agreement for r in run_ids for p in pools_of[r] if key in _members(p)}
                lines_of.update(store.read_run_lines(conn, run_ids, with_trace=True, payer=key, pools=shared))
            elif subject == "client":
                lines_of.update(store.read_run_lines(conn, run_ids, with_trace=True, client=key))
            else:
                lines_of.update(store.read_run_lines(conn, run_ids, with_trace=True, placement=key))
            if progress is not None:
                progress("reading", done, steps)
        clients = {line.client for lines in lines_of.values() for line in lines}
        if subject == "client":
            clients.add(key)
        elif subject == "placement":
            owner = store.client_of_placement(conn, latest.snapshot_id, key)
            if owner is not None:
                clients.add(owner)
        ds, _ = store.read_dataset(conn, snapshot, clients=clients)  # without BSNs: Client.bsn is bsn.HIDDEN
        if progress is not None:
            progress("reading", steps, steps)
    known = {"client": ds.clients, "placement": ds.placements, "municipality": ds.municipalities}[subject]
    if key not in known:
        word = {"client": "client", "placement": "placement", "municipality": "municipality code"}[subject]
        raise UserError(f"unknown {word} {key!r}: the data of run {latest.id} (snapshot {latest.snapshot_id}) "
                        f"do not contain it", status=2)
    out: list[MonthData] = []
    for month, runs, pending in per_month:
        entries: list[Entry] = []
        pools: list[tuple[RunInfo, PoolResult]] = []
        for run in runs:
            members = {p.agreement: _members(p) for p in pools_of[run.id]}
            for line in lines_of[run.id]:
                if _selected(subject, key, line, members):
                    entries.append(Entry(run, line))
            for p in pools_of[run.id]:
                if (subject == "municipality" and key in p.shares) or any(
                        e.line.pool == p.agreement and e.run.id == run.id for e in entries):
                    pools.append((run, p))
        out.append(MonthData(month, runs, entries, pools, pending))
    others = sorted({r.snapshot_id for _, runs, _ in per_month for r in runs} - {latest.snapshot_id})
    sel = Selection(subject, key, out, ds, {a["id"]: a for a in ds.agreements}, latest.snapshot_id, others)
    if mode == "dossier":  # the dossier shows the earlier decisions a step depends on, read when asked
        sel.source = engine
    if with_bsn:
        from .. import bsn
        clients = {e.line.client for e in sel.entries}
        if subject == "client":
            clients.add(key)
        elif subject == "placement":
            clients.add(ds.placements[key].client)
        keys = bsn.keyring("`settle explain --with-bsn` (it shows the clients' BSNs)")
        with engine.connect() as conn:
            found = store.client_bsns(conn, [latest.snapshot_id], keys, {(latest.snapshot_id, c) for c in clients})
        sel.bsns = {c: v for (_, c), v in found.items()}
    return sel
