"""Receipts: what a run was computed from and what it produced, fixed by hashes.

Every run stores, when it is written, the hash of its lines (with their traces) and pool shares,
and a receipt: engine and rules version, the hashes of the input snapshot and of the agreements,
the calculation (and finalisation) time, the export hash and the lines hash. The export hash is
that of the run's `settlement-export/2`, which names the run; at finalisation the export changes
(its kind, the invoice numbers) and the final receipt holds the final export's hash, the one
`settle export` of the month gives. The receipt's own hash is printed at finalisation, so a judge
can hold it beside the documents without re-running anything; `settle verify` recomputes all of it.

Since migration 0012 the final receipt also holds `invoices_hash`, the seal of the run's invoices
and credit notes (`invoices_hash`): the receipt hash then fixes every number, amount and issue
date as well. A receipt written before has no such key and is rebuilt as it was.
"""

from __future__ import annotations

import hashlib
import json
from itertools import repeat
from datetime import datetime, timezone
from typing import Any, Iterable

from .agreements import PoolResult
from .engine import Line
from . import jsontext, trace as _trace

FORMAT = "settlement-receipt/1"


def trace_text(trace: dict[str, Any]) -> str:
    """A trace as one text (`settlement.trace.write`: canonical JSON), as runs stored it before
    their steps were stored once per run."""
    return _trace.write(trace)


def stored_traces(result: Any) -> tuple[list[str], dict[str, str]]:
    """The stored form of a month's traces: per line its text with the steps and the pool block
    as part keys (`settlement.trace.write_shared`), and the parts (key -> text) the run stores
    once. A line made in a worker brings its text (`Line.text`) and its parts (`result.parts`)."""
    parts = dict(result.parts)
    texts = [l.text if l.text is not None else _trace.write_shared(l.trace, parts) for l in result.lines]
    return texts, parts


def _sha(chunks: Iterable[str]) -> str:
    h = hashlib.sha256()
    for c in chunks:
        h.update(c.encode("utf-8"))
        h.update(b"\n")
    return "sha256:" + h.hexdigest()


_compact_bytes = jsontext.compact_bytes  # what json.JSONEncoder(ensure_ascii=False, separators=(",", ":")) writes


def line_record(line: Line, trace: str | None = None) -> list[Any]:
    """`trace`: the line's trace text when the caller already has it."""
    return [line.placement, line.client, line.product, line.region, line.days, line.amount, line.status, line.basis,
            line.payer, line.pool, line.creditor, list(line.flags),
            trace if trace is not None else (line.text or trace_text(line.trace))]


def line_chunk(line: Line, trace: str | None = None) -> bytes:
    """What `lines_hash` hashes of one line: its record as compact JSON and a newline, in UTF-8."""
    return _compact_bytes(line_record(line, trace)) + b"\n"


def pool_record(pool: PoolResult) -> list[Any]:
    """What the lines hash takes of a pool; a budget pool's month budget B(M) is appended (only
    then, so that every pool of costs hashes as it always did)."""
    weights = dict(pool.weights)
    record = [pool.agreement, pool.creditor, pool.total,
              [[code, str(weights[code]), share] for code, share in sorted(pool.shares.items())]]
    return record + [pool.budget] if pool.budget else record


def lines_hash(lines: Iterable[Line], pools: Iterable[PoolResult], traces: Iterable[str] | None = None,
               parts: dict[str, str] | None = None) -> str:
    """The hash of a run's content: its lines in order (traces included), its pools, and the trace
    parts its lines name (by key; none for a run stored before parts existed, whose hash is then
    what it always was). `traces`: the lines' trace texts, in the same order, when the caller
    already made them; a line settled in a worker process brings its chunk along (`Line.chunk`)."""
    h = hashlib.sha256()
    for line, trace in zip(lines, traces if traces is not None else repeat(None)):
        h.update(line.chunk or line_chunk(line, trace))
    for pool in sorted(pools, key=lambda p: p.agreement):
        h.update(_compact_bytes(pool_record(pool)) + b"\n")
    for key in sorted(parts or ()):
        h.update(_compact_bytes([key, parts[key]]) + b"\n")  # type: ignore[index]
    return "sha256:" + h.hexdigest()


def invoice_record(invoice: Any) -> list[Any]:
    """What the invoices seal takes of one invoice or credit note (a db.Invoice, or anything with
    its columns): number, creditor, debtor, year, seq, kind, amount in cents, corrects (the number
    of the invoice it corrects, or null), issue date (YYYY-MM-DD) and the settled month."""
    issued = invoice.issue_date
    return [invoice.number, invoice.creditor, invoice.debtor, invoice.year, invoice.seq, invoice.kind,
            invoice.amount, invoice.corrects, issued.isoformat() if hasattr(issued, "isoformat") else str(issued),
            invoice.month]


def invoices_hash(invoices: Iterable[Any]) -> str:
    """The seal of a run's invoices and credit notes: SHA-256 over each one's `invoice_record` as
    compact JSON and a newline (UTF-8), in number order. Set at finalisation (`run.invoices_hash`)
    and held by the final receipt, so that the receipt hash fixes every invoice's number, parties,
    amount, kind, correction and issue date; a run without invoices is sealed too (the hash of
    nothing: none may be added)."""
    return _sha(jsontext.compact(invoice_record(i)) for i in sorted(invoices, key=lambda i: i.number))


def _instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="seconds")


def wording() -> dict[str, str]:
    """The versions of what renders a trace but is not in it: the phrasebook, the catalogue of
    references and the trace format. In the receipt, outside the lines hash, so a new wording
    changes no lines hash."""
    from . import phrases, references
    return {"phrases": phrases.VERSION, "references": references.VERSION, "trace_format": _trace.FORMAT}


def wording_of(receipt_text: str | None) -> dict[str, str] | None:
    """The wording versions a stored receipt records (None: a receipt written before they were)."""
    return json.loads(receipt_text).get("wording") if receipt_text else None


def build(run: Any, content_hash: str, wording: dict[str, str] | None = None) -> dict[str, Any]:
    """The receipt of a run (a Run row or anything with its columns); `wording`: the versions of
    `wording()` it was written with, left out for a receipt written before they were recorded."""
    out = {"format": FORMAT, "month": run.month, "kind": run.kind, "engine_version": run.engine_version,
           "rules_version": run.rules_version, "input_hash": run.input_hash,
           "agreements_hash": run.agreements_hash, "calculated_at": _instant(run.calculated_at),
           "finalized_at": _instant(run.finalized_at), "export_hash": run.export_hash, "lines_hash": content_hash}
    if wording is not None:
        out["wording"] = wording
    sealed = getattr(run, "invoices_hash", None)
    if sealed is not None:  # finalised since 0012: the seal of its invoices (none for older receipts)
        out["invoices_hash"] = sealed
    return out


def text(receipt: dict[str, Any]) -> str:
    return json.dumps(receipt, sort_keys=True, separators=(",", ":"))


def digest(receipt: dict[str, Any]) -> str:
    return _sha([text(receipt)])
