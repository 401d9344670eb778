"""`settle verify`: prove a final month identical to what its snapshot gives, or show the first
difference.

For each finalised run of the month (the final run, then its finalised corrections), in order:
1. the snapshot's stored facts still hash to the input and agreements hashes the run recorded;
2. the engine recomputes the run from its snapshot (a correction: against the runs finalised
   before it) and every line, trace and pool share equals what is stored;
3. the stored lines, traces and pool shares still hash to the run's lines hash, and the receipt
   recomputed from the run's columns to its receipt hash (so a stored row altered afterwards is
   detected even where the recomputation would agree with it);
4. the run's stored invoices are those its stored lines and pool shares give (creditor, debtor,
   amount), each number spelling its creditor, year and sequence; and the export rebuilt from
   the stored lines, pool shares, invoices and run columns (`settlement-export/2`, or for a run
   written before format 2 the `settlement-export/1` it recorded) hashes to the recorded export
   hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy.engine import Engine as SAEngine

from . import export, receipt, store
from .engine import Engine, Line, MonthResult, engine_info, totals_and_invoices
from .loader import dataset_hashes
from .money import format_cents
from .periods import Month


@dataclass
class Report:
    month: str
    ok: bool = True
    checked: list[str] = field(default_factory=list)
    difference: str | None = None

    def fail(self, message: str) -> None:
        if self.ok:
            self.ok, self.difference = False, message


def _first_difference(stored: list[Line], again: list[Line]) -> str | None:
    for i, (a, b) in enumerate(zip(stored, again)):
        ra, rb = receipt.line_record(a), receipt.line_record(b)
        if ra != rb:
            names = ["placement", "client", "product", "region", "days", "amount", "status", "basis", "payer",
                     "pool", "creditor", "flags", "trace"]
            for name, x, y in zip(names, ra, rb):
                if x != y:
                    if name == "amount":
                        x, y = format_cents(x), format_cents(y)
                    if name == "trace":
                        return (f"line {i + 1} ({a.placement}, payer {a.payer or '-'}, {a.basis}): the stored trace "
                                f"differs from the recomputed one at {_trace_diff(a.trace, b.trace)}")
                    return (f"line {i + 1} ({a.placement}, payer {a.payer or '-'}, {a.basis}): {name} stored {x}, "
                            f"recomputed {y}")
    if len(stored) != len(again):
        extra = again[len(stored)] if len(again) > len(stored) else stored[len(again)]
        return (f"{len(stored)} lines stored, {len(again)} recomputed; the first unmatched is "
                f"{extra.placement} ({extra.payer or '-'}, {extra.basis})")
    return None


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
    from .service import UserError, correction  # the correction arithmetic lives with the run command

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
        total = 1 + 4 * len(runs)
        if progress is not None:
            progress(0, total)
        ids = [r.id for r in runs]
        stored_lines = store.read_run_lines(conn, ids, with_trace=True)  # type: ignore[arg-type]
        stored_pools = store.read_run_pools(conn, ids)  # type: ignore[arg-type]
        stored_invoices: dict[int, list[Any]] = {i: [] for i in ids}  # type: ignore[misc]
        for inv in store.read_invoices(conn, m):
            stored_invoices.setdefault(inv.run_id, []).append(inv)
        snapshots = {r.snapshot_id: store.snapshot_by_id(conn, r.snapshot_id) for r in runs}
        datasets = {sid: store.read_dataset(conn, snap, with_bsn=True,  # type: ignore[arg-type]
                                            purpose="`settle verify` (it hashes the snapshot's facts, BSNs included)")
                    for sid, snap in snapshots.items()}
    step()
    current = engine_info()
    earlier: list[tuple[Any, list[Line], list[Any]]] = []
    for run in runs:
        label = f"{'final run' if run.kind == 'final' else 'correction run'} {run.id}"
        lines, pools = stored_lines[run.id], stored_pools[run.id]  # type: ignore[index]
        snap = snapshots[run.snapshot_id]
        ds, agreements = datasets[run.snapshot_id]
        # 1. the snapshot
        input_hash, agreements_hash = dataset_hashes(ds, agreements)
        if (input_hash, agreements_hash) != (run.input_hash, run.agreements_hash):
            which = "facts" if input_hash != run.input_hash else "agreements"
            report.fail(f"{label}: the stored {which} of snapshot {snap.id} no longer hash to what the run "  # type: ignore[union-attr]
                        f"recorded ({run.input_hash if which == 'facts' else run.agreements_hash}); "
                        f"they were altered after loading")
            break
        report.checked.append(f"{label}: snapshot {snap.id} hashes to {run.input_hash} and {run.agreements_hash}")  # type: ignore[union-attr]
        step()
        # 2. recompute from the snapshot (first, as it names the first differing line)
        if run.engine_version != current["engine_version"] or run.rules_version != current["rules_version"]:
            report.checked.append(f"{label}: computed by engine {run.engine_version} (rules {run.rules_version}), "
                                  f"recomputed by {current['engine_version']} (rules {current['rules_version']})")
        codes = sorted(ds.municipalities)
        result: MonthResult | None = Engine(ds, agreements).settle(month)
        if run.kind == "correction":
            result = correction(result, earlier, codes)  # type: ignore[arg-type]
        again_lines = result.lines if result else []
        again_pools = result.pools if result else []
        diff = _first_difference(lines, again_lines)
        if diff is None and receipt.lines_hash([], pools) != receipt.lines_hash([], again_pools):
            diff = "the pool shares differ from the recomputed ones"
        if diff:
            report.fail(f"{label}: {diff}")
        else:
            report.checked.append(f"{label}: {len(lines)} lines and {sum(len(p.shares) for p in pools)} pool shares "
                                  f"recomputed identically from snapshot {snap.id}")  # type: ignore[union-attr]
        step()
        # 3. the stored content and the receipt
        content = receipt.lines_hash(lines, pools)
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
        # 4. the invoices and the export
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
    if progress is not None and done < total:  # stopped at a difference: the bar is ended all the same
        progress(total, total)
    return report
