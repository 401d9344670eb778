"""`settle verify`: prove a final month's stored evidence intact and reproduce it from its
snapshot, reporting the two separately.

**Integrity** (must always hold; exit status 1 when it does not), for each finalised run of the
month (the final run, then its finalised corrections), in order:
1. the snapshot's stored facts still hash to the input and agreements hashes the run recorded,
   and each client's keyed hash (`bsn_hmac`) is HMAC-SHA256 of its BSN (decrypted, so covered by
   the input hash) under the key its ciphertext names: `settle rekey` rewrites both with the new
   key and the month keeps verifying, and without a key no keyed hash can be made that passes;
2. the stored lines, traces and pool shares still hash to the run's lines hash, and the receipt
   recomputed from the run's columns (and the wording versions it recorded) to its receipt hash;
3. the run's stored invoices and credit notes are what finalisation gives them: the parties and
   amount its stored lines and pool shares give, the kind the sign gives, the invoice it corrects
   (a correction's: the first invoice of those parties finalised before for the month; a final
   run's: none), the run's month and year, the run's finalisation date (UTC) as issue date, each
   number spelling its creditor, year and sequence, a creditor's numbers in the order of its
   debtors; since migration 0012 they hash to the seal the final receipt holds
   (`run.invoices_hash`), a run finalised before has none and is said so; and the export rebuilt
   from the stored lines, pool shares, invoices and run columns (`settlement-export/2`, or for a
   run written before format 2 the `settlement-export/1` it recorded) hashes to the recorded
   export hash.
Then, for the creditors of the month in its year, the invoice numbers 1 up to each counter are
all stored and none beyond it (RULES.md §8: gapless, never reused). With `receipts` (`--receipt`,
hashes printed at finalisation and kept elsewhere) each must be the receipt hash of one of the
month's finalised runs: a database altered and re-sealed consistently is found only so. Every
finding is one sentence naming the run, the invoice (or client) and the field.

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

import hmac
import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable

from sqlalchemy.engine import Engine as SAEngine

from . import bsn, db, export, receipt, store
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


def _utc_date(value: datetime) -> date:
    """The UTC date of a stored instant (SQLite hands back naive UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).date()


def _invoice_findings(run: Any, lines: list[Line], pools: list[Any], codes: list[str], stored: list[Any],
                      originals: dict[tuple[str, str], str]) -> list[str]:
    """Every way a finalised run's stored invoices and credit notes differ from what finalisation
    gives them (RULES.md §8; `service.finalize`), one sentence each naming the invoice and the
    field: the parties and amount its stored lines and pool shares give, the kind its sign gives,
    the invoice it corrects (`originals`: (creditor, debtor) -> the number of the first invoice
    finalised before for the month; a final run's correct none), the month and year of the run,
    the run's finalisation date as issue date, a number that spells its creditor, year and seq,
    and per creditor numbers in the order of the debtors (finalisation numbers them so)."""
    out: list[str] = []
    result = MonthResult(Month.parse(run.month), lines, pools)
    totals_and_invoices(result, codes)
    given = {(c, d): v for c, d, v in result.invoices}
    year, issued = int(run.month[:4]), _utc_date(run.finalized_at)
    creditors, debtors = {c for c, _ in given}, {d for _, d in given}
    for i in stored:
        who = f"invoice {i.number} ({i.creditor} to {i.debtor})"
        spelled = store.invoice_number(i.creditor, i.year, i.seq)
        if i.number != spelled:
            out.append(f"{who}: its number does not spell its creditor, year and sequence ({spelled}); it was altered "
                       f"after finalisation")
        if i.month != run.month:
            out.append(f"{who}: month stored {i.month}, but run {run.id} settles {run.month}")
        if i.year != year:
            out.append(f"{who}: year stored {i.year}, but run {run.id} settles {run.month}")
        owed = given.get((i.creditor, i.debtor))
        if owed is None:
            field = ("debtor" if i.creditor in creditors else "creditor" if i.debtor in debtors
                     else "creditor and debtor")
            value = {"debtor": i.debtor, "creditor": i.creditor}.get(field, f"{i.creditor} and {i.debtor}")
            out.append(f"{who}: {field} {value}, but the stored lines and pool shares give no invoice of {i.creditor} "
                       f"to {i.debtor} ({format_cents(i.amount)} stored)")
        elif i.amount != owed:
            out.append(f"invoice {i.number} ({i.creditor} to {i.debtor}): amount stored {format_cents(i.amount)}, the "
                       f"stored lines and pool shares give {format_cents(owed)}")
        kind = "credit_note" if (i.amount if owed is None else owed) < 0 else "invoice"
        if i.kind != kind:
            out.append(f"{who}: kind stored {i.kind}, but an amount of "
                       f"{format_cents(i.amount if owed is None else owed)} makes it {kind}")
        expected = originals.get((i.creditor, i.debtor)) if run.kind == "correction" else None
        if i.corrects != expected:
            if run.kind != "correction":
                why = "an invoice of a final run corrects none"
            elif expected is None:
                why = f"no invoice of {i.creditor} to {i.debtor} was finalised before for {run.month}, so it corrects none"
            else:
                why = f"it corrects {expected}"
            out.append(f"{who}: corrects stored {i.corrects or 'nothing'}, but {why}")
        if i.issue_date != issued:
            out.append(f"{who}: issue date stored {i.issue_date}, but the run was finalised on {issued}")
    by_creditor: dict[str, list[Any]] = {}
    for i in stored:
        by_creditor.setdefault(i.creditor, []).append(i)
    for creditor, mine in sorted(by_creditor.items()):
        seqs = sorted(i.seq for i in mine)
        for i, seq in zip(sorted(mine, key=lambda i: i.debtor), seqs):
            if i.seq != seq:
                out.append(f"invoice {i.number} ({i.creditor} to {i.debtor}): number out of order: finalisation "
                           f"numbers a creditor's invoices in the order of their debtors, which gives it "
                           f"{store.invoice_number(creditor, i.year, seq)}")
    parties = {(i.creditor, i.debtor) for i in stored}
    for (c, d), v in sorted(given.items()):
        if (c, d) not in parties:
            out.append(f"the stored lines and pool shares give an invoice {c} to {d} of {format_cents(v)}, which is "
                       f"not stored")
    return out


def _numbering_findings(counters: dict[tuple[str, int], int],
                        given: dict[tuple[str, int], list[tuple[int, str]]]) -> list[str]:
    """Per (creditor, year) the numbers given must be 1 to its counter's last, each once: numbers
    are gapless and never reused (RULES.md §8), and nothing deletes an invoice."""
    out: list[str] = []
    for (creditor, year) in sorted(set(counters) | set(given)):
        last = counters.get((creditor, year), 0)
        numbers = given.get((creditor, year), [])
        for seq, number in numbers:
            if seq > last:
                out.append(f"invoice counter of {creditor} for {year} stands at {last}, but invoice {number} is "
                           f"stored: the counter was set back, or the number altered, after finalisation")
        held = {seq for seq, _ in numbers if 1 <= seq <= last}
        missing = last - len(held)  # counted, never enumerated: a counter set to 10**12 costs nothing
        listed = 0
        for seq in range(1, last + 1):
            if listed >= min(missing, LISTED):
                break
            if seq not in held:
                listed += 1
                out.append(f"invoice counter of {creditor} for {year} stands at {last}, but invoice "
                           f"{store.invoice_number(creditor, year, seq)} is not stored: a number given was deleted "
                           f"or altered after finalisation")
        if missing > LISTED:
            out.append(f"invoice counter of {creditor} for {year}: {missing - LISTED} more numbers up to {last} "
                       f"are not stored")
    return out


def _bsn_findings(snapshot_id: int, rows: list[tuple[str, str, str]], ds: Any) -> list[str]:
    """The clients whose keyed hash (`bsn_hmac`) is not HMAC-SHA256 of their BSN (decrypted,
    and so covered by the input hash) under the key that encrypted it (the key id in `bsn_enc`).
    `settle rekey` rewrites both with one key, so a rotated database verifies; without the key
    nobody can make a keyed hash that passes (settlement.bsn)."""
    keys = bsn.keyring("`settle verify` (it checks the keyed hashes of the snapshot's BSNs)")
    out: list[str] = []
    wrong = 0
    for client, mac, token in rows:
        key, c = keys.key_of(token), ds.clients.get(client)
        if key is None or c is None:  # pragma: no cover - reading the dataset decrypted every BSN
            continue
        if not hmac.compare_digest(key.digest(c.bsn), mac):
            wrong += 1
            if wrong <= LISTED:
                out.append(f"snapshot {snapshot_id}: the keyed hash (bsn_hmac) of client {client} is not that of its "
                           f"BSN under the key that encrypted it; it was altered after loading")
    if wrong > LISTED:
        out.append(f"snapshot {snapshot_id}: {wrong - LISTED} more clients' keyed hashes (bsn_hmac) are not those "
                   f"of their BSNs")
    return out


RECEIPT = re.compile(r"^sha256:[0-9a-f]{64}$")


def verify_month(engine: SAEngine, month: Month, progress: Callable[[int, int], None] | None = None,
                 reproduce: bool = True, receipts: Collection[str] = ()) -> Report:
    """Verify the month's finalised runs (module docstring). `progress(done, total)`: called as
    the work proceeds, per phase (reading, then four steps per run; three without `reproduce`).
    `reproduce` False: the integrity part only (`settle statements` checks it before writing a
    document), which never settles the month again. `receipts`: receipt hashes printed at
    finalisation (`settle verify --receipt`), each of which must be that of a finalised run."""
    from .service import correction  # the correction arithmetic lives with the run command

    m = str(month)
    for given in receipts:
        if not RECEIPT.match(given):
            raise UserError(f"--receipt {given!r} is not a receipt hash: give the sha256:<64 hex digits> that "
                            f"`settle finalize --month {m}` printed", status=2)
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
    total = 1 + (4 if reproduce else 3) * len(runs)
    if progress is not None:
        progress(0, total)
    ids = [r.id for r in runs]
    recompute = _Recompute(engine, snapshots, month, placements, settle=reproduce)
    with recompute:  # a worker (forked first) reads and settles part of the month while this process reads
        with db.reading(engine) as conn:  # one consistent view: the counters and the numbers read together
            datasets = recompute.datasets
            stored_pools = store.read_run_pools(conn, ids)  # type: ignore[arg-type]
            stored_parts = store.read_run_parts(conn, ids)  # type: ignore[arg-type]
            # each trace parsed only when a difference is looked for (trace_dict); hashed as stored
            stored_lines = store.read_run_lines(conn, ids, with_trace=True, lazy=stored_parts)  # type: ignore[arg-type]
            stored_invoices = store.read_invoices_of_runs(conn, ids)  # type: ignore[arg-type]
            numbered = [i for inv in stored_invoices.values() for i in inv]
            numbering = store.read_numbering(conn, {i.creditor for i in numbered} | {
                l.creditor for ls in stored_lines.values() for l in ls}, {int(m[:4])} | {i.year for i in numbered})
            hmacs = store.client_hmacs(conn, list(snapshots))
        step()
        labels = {r.id: f"{'final run' if r.kind == 'final' else 'correction run'} {r.id}" for r in runs}
        sealed = {r.receipt_hash: r for r in runs}
        for given in receipts:  # first: an outsider's receipt decides whatever the database says of itself
            if given in sealed:
                report.checked.append(f"{labels[sealed[given].id]}: receipt {given}, the one given with --receipt")
            else:
                held = ", ".join(f"{labels[r.id]}'s receipt is {r.receipt_hash}" for r in runs)
                report.fail(f"the receipt {given} given with --receipt is that of no finalised run of {m} ({held}): "
                            f"the database was altered and re-sealed after finalisation, or the receipt belongs to "
                            f"another month")
        report = _verify_runs(report, runs, snapshots, datasets, stored_lines, stored_pools, stored_parts,
                              stored_invoices, recompute, month, step, correction, reproduce, numbering, hmacs)
    if progress is not None and done < total:  # stopped at a difference: the bar is ended all the same
        progress(total, total)
    return report


def integrity(engine: SAEngine, month: Month) -> Report:
    """The integrity part of `verify_month` alone: what `settle statements` checks first."""
    return verify_month(engine, month, reproduce=False)


def _verify_runs(report: Report, runs: list[Any], snapshots: dict[int, Any], datasets: dict[int, Any],
                 stored_lines: dict[int, list[Line]], stored_pools: dict[int, list[Any]],
                 stored_parts: dict[int, dict[str, str]], stored_invoices: dict[int, list[Any]],
                 recompute: "_Recompute", month: Month, step: Callable[[], None], correction: Callable[..., Any],
                 reproduce: bool = True, numbering: tuple[dict[Any, int], dict[Any, list[Any]]] = ({}, {}),
                 hmacs: dict[int, list[tuple[str, str, str]]] | None = None) -> Report:
    current = engine_info()
    earlier: list[tuple[Any, list[Line], list[Any]]] = []
    originals: dict[tuple[str, str], str] = {}  # (creditor, debtor) -> the invoice a correction corrects
    hashed: set[int] = set()  # the snapshots whose keyed BSN hashes were checked
    for run in runs:
        label = f"{'final run' if run.kind == 'final' else 'correction run'} {run.id}"
        lines, pools = stored_lines[run.id], stored_pools[run.id]  # type: ignore[index]
        snap = snapshots[run.snapshot_id]
        ds, agreements = datasets[run.snapshot_id]
        # 1. integrity: the snapshot, and its clients' keyed BSN hashes
        input_hash, agreements_hash = dataset_hashes(ds, agreements)
        if (input_hash, agreements_hash) != (run.input_hash, run.agreements_hash):
            which = "facts" if input_hash != run.input_hash else "agreements"
            report.fail(f"{label}: the stored {which} of snapshot {snap.id} no longer hash to what the run "  # type: ignore[union-attr]
                        f"recorded ({run.input_hash if which == 'facts' else run.agreements_hash}); "
                        f"they were altered after loading")
            break
        report.checked.append(f"{label}: snapshot {snap.id} hashes to {run.input_hash} and {run.agreements_hash}")  # type: ignore[union-attr]
        if hmacs is not None and run.snapshot_id not in hashed:
            hashed.add(run.snapshot_id)
            wrong = _bsn_findings(run.snapshot_id, hmacs[run.snapshot_id], ds)
            for finding in wrong:
                report.fail(f"{label}: {finding}")
            if not wrong:
                report.checked.append(f"{label}: snapshot {run.snapshot_id}: the keyed hashes of its "
                                      f"{len(hmacs[run.snapshot_id])} BSNs are theirs under the keys that encrypted them")
        step()
        codes = sorted(ds.municipalities)
        content = receipt.lines_hash(lines, pools, parts=stored_parts[run.id])  # type: ignore[index]
        if reproduce:  # 2. reproduction: recompute from the snapshot and compare the evidence
            _reproduce(report, label, run, lines, pools, earlier, codes, current, content, recompute, correction)
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
        # 4. integrity: the invoices (with their seal) and the export
        mine = stored_invoices.get(run.id, [])  # type: ignore[arg-type]
        found = _invoice_findings(run, lines, pools, codes, mine, originals)
        for finding in found:
            report.fail(f"{label}: {finding}")
        if not found:
            report.checked.append(f"{label}: {len(mine)} invoice(s) as the stored lines and pool shares give them")
        if run.invoices_hash is None:
            report.checked.append(f"{label}: finalised before receipts sealed the invoices; its {len(mine)} invoice(s) "
                                  f"are checked against its lines, pool shares, finalisation date and the invoice "
                                  f"counters")
        elif receipt.invoices_hash(mine) != run.invoices_hash:
            report.fail(f"{label}: the stored invoices no longer hash to the seal its receipt holds "
                        f"({run.invoices_hash}): an invoice's number, parties, amount, kind, correction, issue date "
                        f"or month was altered, or one added or deleted, after finalisation")
        else:
            report.checked.append(f"{label}: {len(mine)} invoice(s) sealed by its receipt ({run.invoices_hash})")
        for inv in mine:
            if inv.kind == "invoice":
                originals.setdefault((inv.creditor, inv.debtor), inv.number)
        _, fmt = export.stored(run, lines, pools, codes, mine)
        if fmt is None:
            report.fail(f"{label}: the export rebuilt from the stored lines, pool shares, invoices (with their "
                        f"numbers) and run columns does not hash to the recorded {run.export_hash}")
        elif fmt == export.FORMAT:
            report.checked.append(f"{label}: export {run.export_hash} ({fmt})")
        else:
            report.checked.append(f"{label}: export {run.export_hash} ({fmt}, written before format 2)")
        step()
        earlier.append((run, lines, pools))
    else:  # every run's snapshot intact: the numbers the month's invoices come from
        for finding in _numbering_findings(*numbering):
            report.fail(finding)
    return report


def _reproduce(report: Report, label: str, run: Any, lines: list[Line],
               pools: list[Any], earlier: list[tuple[Any, list[Line], list[Any]]], codes: list[str],
               current: dict[str, str], content: str, recompute: "_Recompute", correction: Callable[..., Any]) -> None:
    """Step 2: the current engine recomputes the run from its snapshot; the evidence is compared."""
    same_rules = run.rules_version == current["rules_version"]
    if run.engine_version != current["engine_version"] or not same_rules:
        report.checked.append(f"{label}: computed by engine {run.engine_version} (rules {run.rules_version}), "
                              f"recomputed by {current['engine_version']} (rules {current['rules_version']})")
    settled = recompute.settle(run.snapshot_id)
    result: MonthResult | None = settled
    if run.kind == "correction":
        result = correction(result, earlier, codes)
    again_lines = result.lines if result else []
    again_pools = result.pools if result else []
    pool_diff: list[str] = []
    if result is not None and _content_hash(result) == content:
        diffs: list[str] = []  # the same bytes, traces included: the same evidence, and no step to compare
    else:  # look for what differs, trace by trace (a line settled in a worker reads its text: trace_dict)
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
                              f"recomputed identically from snapshot {run.snapshot_id}")


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

    def __init__(self, engine: SAEngine, snapshots: dict[int, Any], month: Month, placements: int,
                 settle: bool = True):
        """`settle` False: the datasets only (the integrity part), no worker."""
        from .workers import processes_wanted
        self.engine, self.snapshots, self.month = engine, snapshots, month
        self.datasets: dict[int, Any] = {}
        self.results: dict[int, MonthResult] = {}
        try:
            processes = processes_wanted(placements) if len(snapshots) == 1 and settle else 1
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
