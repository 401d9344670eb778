"""`settle verify`: prove a final month's stored evidence intact and reproduce it from its
snapshot, reporting the two separately.

**Integrity** (must always hold; exit status 1 when it does not), for each finalised run of the
month (the final run, then its finalised corrections), in order:
1. the snapshot's stored facts still hash to the input and agreements hashes the run recorded;
2. the stored lines, traces and pool shares still hash to the run's lines hash, and the receipt
   recomputed from the run's columns (and the wording versions it recorded) to its receipt hash;
3. the run's stored invoices are those its stored lines and pool shares give (creditor, debtor,
   amount), each number spelling its creditor, year and sequence; and the export rebuilt from
   the stored lines, pool shares, invoices and run columns (`settlement-export/2`, or for a run
   written before format 2 the `settlement-export/1` it recorded) hashes to the recorded export
   hash.

**Reproduction**: the current engine recomputes the run from its snapshot (a correction: against
the runs finalised before it) and the EVIDENCE is compared, both sides read through
`settlement.trace.read` (so a stored `settlement-trace/1` trace compares as well): every line's
columns, and of its trace the decision, the step ids, outcomes, reason codes and parameters,
records read and the deciding step (`trace.evidence`); and the pool shares. Wording and citations
are not evidence: a new phrase or a corrected reference changes nothing here. With the run's own
rules version the result must be identical (exit 1 otherwise); when the rules changed since the
run, the differences are listed as "rules changed since this run" (exit status 3), which is not
tampering: the integrity part says whether the stored run is untouched. The rules changed when
the run's rules version did, or when a step's own rule version (each rule module's and agreement
kind's VERSION) differs from the stored step's: those rules are named first ("reentry 1 -> 2").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy.engine import Engine as SAEngine

from . import export, receipt, store
from . import trace as _trace
from .engine import Engine, Line, MonthResult, engine_info, totals_and_invoices
from .loader import dataset_hashes
from .money import format_cents
from .periods import Month
from .errors import UserError

RULES_CHANGED = 3  # the exit status of a month whose evidence the current rules no longer reproduce
LISTED = 20  # differences listed per run when the rules changed


@dataclass
class Report:
    month: str
    checked: list[str] = field(default_factory=list)
    integrity: list[str] = field(default_factory=list)  # failures: the stored run was altered
    differs: list[str] = field(default_factory=list)  # reproduction failed under the run's own rules
    rules_changed: list[str] = field(default_factory=list)  # reproduction differs: the rules changed since

    def fail(self, message: str) -> None:
        """An integrity failure."""
        self.integrity.append(message)

    @property
    def ok(self) -> bool:
        return not (self.integrity or self.differs or self.rules_changed)

    @property
    def integrity_ok(self) -> bool:
        return not self.integrity

    @property
    def reproduction(self) -> str:
        return "differs" if self.differs else ("rules changed" if self.rules_changed else "identical")

    @property
    def difference(self) -> str | None:
        """The first failure: a difference under the run's own rules, else an integrity failure."""
        return next(iter(self.differs + self.integrity + self.rules_changed), None)

    @property
    def status(self) -> int:
        if self.integrity or self.differs:
            return 1
        return RULES_CHANGED if self.rules_changed else 0


_NAMES = ["placement", "client", "product", "region", "days", "amount", "status", "basis", "payer", "pool",
          "creditor", "flags"]


def _line_difference(i: int, a: Line, b: Line) -> str | None:
    ra, rb = receipt.line_record(a, "")[:-1], receipt.line_record(b, "")[:-1]
    for name, x, y in zip(_NAMES, ra, rb):
        if x != y:
            if name == "amount":
                x, y = format_cents(x), format_cents(y)
            return (f"line {i + 1} ({a.placement}, payer {a.payer or '-'}, {a.basis}): {name} stored {x}, "
                    f"recomputed {y}")
    ea, eb = _trace.evidence(a.trace_dict()), _trace.evidence(b.trace_dict())
    if ea != eb:
        return (f"line {i + 1} ({a.placement}, payer {a.payer or '-'}, {a.basis}): the stored trace "
                f"differs from the recomputed one at {_trace_diff(ea, eb)}")
    return None


def _differences(stored: list[Line], again: list[Line], limit: int) -> list[str]:
    """The lines whose columns or trace evidence differ (at most `limit`), then a count mismatch."""
    out: list[str] = []
    for i, (a, b) in enumerate(zip(stored, again)):
        d = _line_difference(i, a, b)
        if d:
            out.append(d)
            if len(out) >= limit:
                return out
    if len(stored) != len(again):
        extra = again[len(stored)] if len(again) > len(stored) else stored[len(again)]
        out.append(f"{len(stored)} lines stored, {len(again)} recomputed; the first unmatched is "
                   f"{extra.placement} ({extra.payer or '-'}, {extra.basis})")
    return out


def _changed_versions(stored: list[Line], again: list[Line]) -> list[str]:
    """The rules whose version differs between the stored steps and the recomputed ones, each as
    `id stored -> current` (an agreement's step by its kind's id, `kind:instance`), sorted."""
    changed: set[tuple[str, str, str]] = set()
    for a, b in zip(stored, again):
        now = {_trace.step_id(s): s.get("version") for s in b.trace_dict().get("steps", [])}
        for s in a.trace_dict().get("steps", []):
            sid = _trace.step_id(s)
            if sid in now and now[sid] != s.get("version"):
                changed.add((sid, str(s.get("version")), str(now[sid])))
    return [f"{sid} {old} -> {new}" for sid, old, new in sorted(changed)]


def _trace_diff(a: Any, b: Any, path: str = "trace") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                return _trace_diff(a.get(k), b.get(k), f"{path}.{k}")
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _trace_diff(x, y, f"{path}[{i}]")
        if len(a) != len(b):
            return f"{path} (length {len(a)} stored, {len(b)} recomputed)"
    return f"{path}: stored {json.dumps(a, ensure_ascii=False)}, recomputed {json.dumps(b, ensure_ascii=False)}"


def _invoice_difference(month: str, lines: list[Line], pools: list[Any], codes: list[str],
                        stored: list[Any]) -> str | None:
    """The first difference between a final run's stored invoices and what its stored lines and
    pool shares give (RULES.md §8), or a number that does not spell its creditor, year and seq."""
    result = MonthResult(Month.parse(month), lines, pools)
    totals_and_invoices(result, codes)
    given = {(c, d): v for c, d, v in result.invoices}
    by_parties = {(i.creditor, i.debtor): i for i in stored}
    for i in stored:
        spelled = store.invoice_number(i.creditor, i.year, i.seq)
        if i.number != spelled:
            return (f"invoice {i.number} ({i.creditor} to {i.debtor}): its number does not spell its creditor, "
                    f"year and sequence ({spelled}); it was altered after finalisation")
        if (i.creditor, i.debtor) not in given:
            return (f"invoice {i.number} ({i.creditor} to {i.debtor}, {format_cents(i.amount)}) is stored, but the "
                    f"stored lines and pool shares give no invoice between them")
        if i.amount != given[(i.creditor, i.debtor)]:
            return (f"invoice {i.number} ({i.creditor} to {i.debtor}): amount stored {format_cents(i.amount)}, "
                    f"the stored lines and pool shares give {format_cents(given[(i.creditor, i.debtor)])}")
    for (c, d), v in sorted(given.items()):
        if (c, d) not in by_parties:
            return f"the stored lines and pool shares give an invoice {c} to {d} of {format_cents(v)}, which is not stored"
    return None


def verify_month(engine: SAEngine, month: Month, progress: Callable[[int, int], None] | None = None) -> Report:
    """Verify the month's finalised runs (module docstring). `progress(done, total)`: called as
    the work proceeds, per phase (reading, then four steps per run)."""
    from .service import correction  # the correction arithmetic lives with the run command

    m = str(month)
    report = Report(m)
    done, total = 0, 1

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    with engine.connect() as conn:
        runs = [r for r in store.month_runs(conn, m) if r.finalized_at is not None]
        if not runs:
            raise UserError(f"{m} has no final run to verify: `settle finalize --month {m}` makes one")
        snapshots = {r.snapshot_id: store.snapshot_by_id(conn, r.snapshot_id) for r in runs}
        placements = sum(store.count_placements(conn, snap) for snap in snapshots.values())  # type: ignore[arg-type]
    total = 1 + 4 * len(runs)
    if progress is not None:
        progress(0, total)
    ids = [r.id for r in runs]
    recompute = _Recompute(engine, snapshots, month, placements)
    with recompute:  # a worker (forked first) reads and settles part of the month while this process reads
        with engine.connect() as conn:
            datasets = recompute.datasets
            stored_pools = store.read_run_pools(conn, ids)  # type: ignore[arg-type]
            stored_parts = store.read_run_parts(conn, ids)  # type: ignore[arg-type]
            # each trace parsed only when a difference is looked for (trace_dict)
            stored_lines = store.read_run_lines(conn, ids, with_trace=True, lazy=stored_parts)  # type: ignore[arg-type]
            stored_invoices: dict[int, list[Any]] = {i: [] for i in ids}  # type: ignore[misc]
            for inv in store.read_invoices(conn, m):
                stored_invoices.setdefault(inv.run_id, []).append(inv)
        step()
        report = _verify_runs(report, runs, snapshots, datasets, stored_lines, stored_pools, stored_parts,
                              stored_invoices, recompute, month, step, correction)
    if progress is not None and done < total:  # stopped at a difference: the bar is ended all the same
        progress(total, total)
    return report


def _verify_runs(report: Report, runs: list[Any], snapshots: dict[int, Any], datasets: dict[int, Any],
                 stored_lines: dict[int, list[Line]], stored_pools: dict[int, list[Any]],
                 stored_parts: dict[int, dict[str, str]], stored_invoices: dict[int, list[Any]],
                 recompute: "_Recompute", month: Month, step: Callable[[], None], correction: Callable[..., Any]
                 ) -> Report:
    m = str(month)
    current = engine_info()
    earlier: list[tuple[Any, list[Line], list[Any]]] = []
    for run in runs:
        label = f"{'final run' if run.kind == 'final' else 'correction run'} {run.id}"
        lines, pools = stored_lines[run.id], stored_pools[run.id]  # type: ignore[index]
        snap = snapshots[run.snapshot_id]
        ds, agreements = datasets[run.snapshot_id]
        # 1. integrity: the snapshot
        input_hash, agreements_hash = dataset_hashes(ds, agreements)
        if (input_hash, agreements_hash) != (run.input_hash, run.agreements_hash):
            which = "facts" if input_hash != run.input_hash else "agreements"
            report.fail(f"{label}: the stored {which} of snapshot {snap.id} no longer hash to what the run "  # type: ignore[union-attr]
                        f"recorded ({run.input_hash if which == 'facts' else run.agreements_hash}); "
                        f"they were altered after loading")
            break
        report.checked.append(f"{label}: snapshot {snap.id} hashes to {run.input_hash} and {run.agreements_hash}")  # type: ignore[union-attr]
        step()
        # 2. reproduction: recompute from the snapshot and compare the evidence
        same_rules = run.rules_version == current["rules_version"]
        if run.engine_version != current["engine_version"] or not same_rules:
            report.checked.append(f"{label}: computed by engine {run.engine_version} (rules {run.rules_version}), "
                                  f"recomputed by {current['engine_version']} (rules {current['rules_version']})")
        codes = sorted(ds.municipalities)
        content = receipt.lines_hash(lines, pools, parts=stored_parts[run.id])  # type: ignore[index]
        settled = recompute.settle(run.snapshot_id)
        result: MonthResult | None = settled
        if run.kind == "correction":
            result = correction(result, earlier, codes)  # type: ignore[arg-type]
        again_lines = result.lines if result else []
        again_pools = result.pools if result else []
        if result is not None and _content_hash(result) == content:
            diffs = []  # the same bytes, traces included: the same evidence, and no step to compare
        else:  # look for what differs, trace by trace (the recomputed traces made in this process)
            if settled is not None and any(l.trace is None for l in settled.lines):
                result = Engine(ds, agreements).settle(month)
                if run.kind == "correction":
                    result = correction(result, earlier, codes)  # type: ignore[arg-type]
                again_lines = result.lines if result else []
                again_pools = result.pools if result else []
            pool_diff = (["the pool shares differ from the recomputed ones"]
                         if receipt.lines_hash([], pools) != receipt.lines_hash([], again_pools) else [])
            diffs = _differences(lines, again_lines, 1 if same_rules else LISTED) + pool_diff
        changed = _changed_versions(lines, again_lines) if diffs else []  # rules with a new version
        if changed and same_rules:  # listed as for a new rules version
            diffs = _differences(lines, again_lines, LISTED) + pool_diff
        if diffs and same_rules and not changed:
            report.differs.append(f"{label}: {diffs[0]}")
        elif diffs:
            report.rules_changed += ([f"{label}: {', '.join(changed)}"] if changed else []) + [f"{label}: {d}" for d in diffs]
        else:
            report.checked.append(f"{label}: {len(lines)} lines and {sum(len(p.shares) for p in pools)} pool shares "
                                  f"recomputed identically from snapshot {snap.id}")  # type: ignore[union-attr]
        step()
        # 3. integrity: the stored content and the receipt
        if run.lines_hash is None:
            report.checked.append(f"{label}: written before receipts existed; its content is checked by recomputation only")
        elif content != run.lines_hash:
            report.fail(f"{label}: the stored lines, traces or pool shares were altered after the run was written "
                        f"(their hash is {content}, the receipt says {run.lines_hash})")
        if run.receipt_hash is not None:
            again = receipt.build(run, run.lines_hash, receipt.wording_of(run.receipt))
            if receipt.digest(again) != run.receipt_hash or receipt.text(again) != run.receipt:
                report.fail(f"{label}: the receipt does not match the run's recorded columns")
            else:
                report.checked.append(f"{label}: receipt {run.receipt_hash}")
        step()
        # 4. integrity: the invoices and the export
        numbered = stored_invoices.get(run.id, [])  # type: ignore[arg-type]
        diff = _invoice_difference(m, lines, pools, codes, numbered)
        if diff:
            report.fail(f"{label}: {diff}")
        else:
            report.checked.append(f"{label}: {len(numbered)} invoice(s) as the stored lines and pool shares give them")
        _, fmt = export.stored(run, lines, pools, codes, numbered)
        if fmt is None:
            report.fail(f"{label}: the export rebuilt from the stored lines, pool shares, invoices (with their "
                        f"numbers) and run columns does not hash to the recorded {run.export_hash}")
        elif fmt == export.FORMAT:
            report.checked.append(f"{label}: export {run.export_hash} ({fmt})")
        else:
            report.checked.append(f"{label}: export {run.export_hash} ({fmt}, written before format 2)")
        step()
        earlier.append((run, lines, pools))
    return report


def _content_hash(result: MonthResult) -> str:
    """The lines hash of a recomputed month, as `store.write_run` would seal it."""
    texts, parts = receipt.stored_traces(result)
    return receipt.lines_hash(result.lines, result.pools, texts, parts)


class _Recompute:
    """The snapshots' datasets (with their BSNs: the input hash covers them) and the month settled
    on each. For a national month of one snapshot on a machine that forks, a worker process is
    started first: it reads the month's facts itself and settles part of the placements while
    this process reads the snapshot and settles the rest (settlement.workers, the same bytes as
    one process); otherwise the month is settled in this process."""

    def __init__(self, engine: SAEngine, snapshots: dict[int, Any], month: Month, placements: int):
        from .workers import processes_wanted
        self.engine, self.snapshots, self.month = engine, snapshots, month
        self.datasets: dict[int, Any] = {}
        self.results: dict[int, MonthResult] = {}
        try:
            processes = processes_wanted(placements) if len(snapshots) == 1 else 1
        except ValueError as e:
            raise UserError(str(e)) from None
        self.workers: Any = None
        if processes > 1:
            from .workers import Workers
            self.workers = Workers(self._load, processes, one_month=True)

    def _read(self, snapshot: Any) -> Any:
        with self.engine.connect() as conn:
            return store.read_dataset(conn, snapshot, with_bsn=True,
                                      purpose="`settle verify` (it hashes the snapshot's facts, BSNs included)")

    def _load(self, in_worker: bool, whole: bool) -> Engine:
        (sid, snapshot), = self.snapshots.items()
        if in_worker:  # a forked worker: its own connections, no BSN; the whole snapshot, as this
            # process reads it, so that both cut the same placements into the same parts
            self.engine.dispose(close=False)
            with self.engine.connect() as conn:
                return Engine(*store.read_dataset(conn, snapshot))
        self.datasets[sid] = self._read(snapshot)
        return Engine(*self.datasets[sid])

    def __enter__(self) -> "_Recompute":
        if self.workers is not None:
            self.workers.__enter__()
        for sid, snapshot in sorted(self.snapshots.items()):
            if sid not in self.datasets:
                self.datasets[sid] = self._read(snapshot)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.workers is not None:
            self.workers.__exit__(*exc)

    def settle(self, snapshot_id: int) -> MonthResult:
        if snapshot_id not in self.results:
            if self.workers is not None:
                (self.results[snapshot_id],) = list(self.workers.settle([self.month]))
            else:
                self.results[snapshot_id] = Engine(*self.datasets[snapshot_id]).settle(self.month)
        return self.results[snapshot_id]
