"""The month's documents as values: statements (afrekeningen) and invoices (facturen).

`build_month` reads only the month's finalised runs (the final run and finalised corrections),
their stored invoices, and the snapshots those runs were computed from; never the clock and never
the current snapshot. So the documents of a month are the same every time they are built, until
a correction of that month is finalised; an invoice's document depends on its own run only and
never changes at all. Each table is read with one query, whatever the number of lines.

Disputes (RULES.md v2 §4.0): a `contested` line carries the numbers of the disputes of its
placement that are open at the end of the month in its run's snapshot, and is billed on an
invoice line of its own; the statement of the municipality that raised a dispute open at the end
of the month lists it with what the placement's lines of the month amount to. Both are
`settlement.disputes.build` on the disputes and rulings of the runs' snapshots, read once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import fields as dataclass_fields, replace
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from .. import bsn, db, disputes as disputes_mod, export, loader, nl, spreadsheet, store
from ..agreements import PoolResult
from ..engine import BASES, Line
from ..facts import Dataset, taakveld
from ..rules.ruling import CONTESTED
from ..periods import Month, covers
from .model import (Invoice, InvoiceLine, OpenDispute, Party, PoolShare, Position, Receivable, Statement,
                    StatementLine)
from ..errors import UserError

PAYMENT_DAYS = 30


def reference(month: str, debtor: str) -> str:
    """The buyer reference (kenmerk) of an invoice."""
    return f"BW-MO {month} {debtor}"


class _Facts:
    """What the documents read from the runs' snapshots: one query per table for all of them.

    The frame of each snapshot (municipalities, regions, members, products) is a `Dataset`, so
    that its agreements are read as the engine read them (`loader.parse_agreements_text`)."""

    def __init__(self, conn: Connection, snapshot_ids: list[int]):
        self.conn, self.snapshot_ids = conn, snapshot_ids
        frames = _frames(conn, snapshot_ids)
        self.parties: dict[int, dict[str, Party]] = {
            sid: {m.code: Party(m.code, m.name, m.street, m.postcode, m.city, m.iban, m.oin)
                  for m in ds.municipalities.values()} for sid, ds in frames.items()}
        self.bsn: dict[tuple[int, str], str] = {}  # filled by read_bsns: only the BSNs shown are decrypted
        self.product_names: dict[tuple[int, str], str] = {
            (sid, p.product): p.name for sid, ds in frames.items() for p in ds.products.values()}
        self.taakvelden: dict[tuple[int, str], str | None] = {
            (sid, p.product): taakveld(p.domain, p.taakveld) for sid, ds in frames.items() for p in ds.products.values()}
        self.members: dict[tuple[int, str], list[tuple[str, date, date | None]]] = defaultdict(list)
        for sid, ds in frames.items():
            for m in ds.members:
                self.members[(sid, m.municipality)].append((m.region, m.valid_from, m.valid_to))
        t = db.Snapshot.__table__
        self.pool_regions: dict[int, dict[str, str]] = {}
        self.agreements: dict[int, dict[str, Any]] = {}  # snapshot -> id -> the parsed agreement
        for sid, toml_text in conn.execute(select(t.c.id, t.c.agreements_toml).where(t.c.id.in_(snapshot_ids))):
            agreements = loader.parse_agreements_text(toml_text or "", frames[sid])
            self.pool_regions[sid] = {a.id: region for a in agreements if (region := a.pool_region()) is not None}
            self.agreements[sid] = {a.id: a for a in agreements}

    def agreement_name(self, snapshot_id: int, agreement: str | None) -> str | None:
        """The agreement's words for statements (INTERFACE.md v2 `name`), None without them."""
        return getattr(self.agreements.get(snapshot_id, {}).get(agreement or ""), "name", None)

    def read_bsns(self, keys: bsn.Keyring, wanted: set[tuple[int, str]]) -> None:
        self.bsn = store.client_bsns(self.conn, self.snapshot_ids, keys, wanted)

    def is_member(self, snapshot_id: int, municipality: str, region: str, day: date) -> bool:
        return any(r == region and covers(lo, hi, day) for r, lo, hi in self.members.get((snapshot_id, municipality), ()))

    def sheet_context(self, snapshot_ids: list[int]) -> spreadsheet.Context:
        """The names and taakvelden a spreadsheet shows beside the codes; a later snapshot's words win."""
        names: dict[str, str] = {}
        products: dict[str, tuple[str, str | None]] = {}
        agreements: dict[str, str] = {}
        for sid in snapshot_ids:
            names.update({c: p.name for c, p in self.parties[sid].items()})
            products.update({code: (name, self.taakvelden[(s, code)])
                             for (s, code), name in self.product_names.items() if s == sid})
            agreements.update({a.id: a.name for a in self.agreements.get(sid, {}).values() if getattr(a, "name", None)})
        return spreadsheet.Context(names, products, agreements)


def sheet_context(conn: Connection, snapshot_ids: list[int]) -> spreadsheet.Context:
    """The spreadsheet's context of the snapshots (`_Facts.sheet_context`)."""
    return _Facts(conn, snapshot_ids).sheet_context(snapshot_ids)


def _frames(conn: Connection, snapshot_ids: list[int]) -> dict[int, Dataset]:
    """The frame of each snapshot as a Dataset (the other tables empty), one query per table."""
    kwargs: dict[int, dict[str, Any]] = {sid: {} for sid in snapshot_ids}
    for spec in loader.INPUTS:
        records: dict[int, list[Any]] = defaultdict(list)
        if spec.frame:
            t = db.metadata.tables[spec.table]
            names = [f.name for f in dataclass_fields(spec.fact) if f.init]
            for r in conn.execute(select(t.c.snapshot_id, *(t.c[n] for n in names))
                                  .where(t.c.snapshot_id.in_(snapshot_ids))):
                records[r[0]].append(spec.fact(*r[1:]))
        for sid in snapshot_ids:
            kwargs[sid][spec.attr] = ({getattr(x, spec.key): x for x in records[sid]} if spec.key is not None
                                      else records[sid])
    return {sid: Dataset(**kw) for sid, kw in kwargs.items()}


def build_month(conn: Connection, month: str) -> tuple[list[Statement], list[Invoice]]:
    """The statements (one per municipality of the month's latest finalised snapshot) and the
    invoices (one per stored invoice or credit note, by number) of a finalised month.

    Raises errors.UserError when the month has no finalised run.
    """

    m = Month.parse(month)
    runs = [r for r in store.month_runs(conn, month) if r.finalized_at is not None]
    if not runs:
        raise UserError(f"{month} has no final run, so there are no documents: "
                        f"run `settle finalize --month {month}` first")
    keys = bsn.keyring("`settle statements` (the paying municipality's statement shows its clients' BSNs)")
    ids: list[int] = [r.id for r in runs]  # type: ignore[misc]
    lines_of = store.read_run_lines(conn, ids)
    pools_of = store.read_run_pools(conn, ids)
    invoices = store.read_invoices(conn, month)
    facts = _Facts(conn, sorted({r.snapshot_id for r in runs}))
    latest = runs[-1]
    disputes_of = store.read_disputes_of(conn, facts.snapshot_ids)
    open_of = {sid: _open_disputes(ds, rs, m.last) for sid, (ds, rs) in disputes_of.items()}

    def contested_by(snapshot_id: int, line: Line) -> tuple[str, ...]:
        """The open disputes that make a contested line contested; () for a line without the flag."""
        return open_of[snapshot_id].get(line.placement, ()) if CONTESTED in line.flags else ()

    document_date = latest.finalized_at.astimezone(timezone.utc).date()  # type: ignore[union-attr]

    parties: dict[str, Party] = {}
    for r in runs:  # the latest snapshot's details win
        parties.update(facts.parties[r.snapshot_id])
    codes = sorted(facts.parties[latest.snapshot_id])

    # Every line once as a StatementLine without BSN; the BSN is added for the payer's own statement.
    entries: list[tuple[int, Line, StatementLine]] = []
    for r in runs:  # the final run's lines, then each finalised correction's
        correction = r.kind == "correction"
        for line in sorted(lines_of[r.id], key=lambda l: (l.sort_key, l.creditor)):  # type: ignore[index]
            cross = line.payer is not None and not facts.is_member(r.snapshot_id, line.payer, line.region, m.first)
            entries.append((r.snapshot_id, line, StatementLine(
                client=line.client, bsn=None, placement=line.placement, product=line.product,
                product_name=facts.product_names.get((r.snapshot_id, line.product), line.product),
                region=line.region, days=line.days, amount=line.amount, status=line.status, basis=line.basis,
                payer=line.payer, pool=line.pool, creditor=line.creditor, flags=tuple(sorted(line.flags)),
                cross_region=cross, correction=correction, disputes=contested_by(r.snapshot_id, line))))
    facts.read_bsns(keys, {(snapshot_id, line.client) for snapshot_id, line, _ in entries if line.payer is not None})
    paid_by: dict[str, list[StatementLine]] = defaultdict(list)
    owed_to: dict[str, list[StatementLine]] = defaultdict(list)
    for snapshot_id, line, sl in entries:
        if line.payer is not None:
            paid_by[line.payer].append(replace(sl, bsn=facts.bsn.get((snapshot_id, line.client))))
        owed_to[line.creditor].append(sl)

    shares_of: dict[str, list[PoolShare]] = defaultdict(list)
    for r in runs:
        correction = r.kind == "correction"
        for p in pools_of[r.id]:  # type: ignore[index]
            region = facts.pool_regions.get(r.snapshot_id, {}).get(p.agreement) or _pool_region(p, lines_of[r.id])  # type: ignore[index]
            weights = dict(p.weights)
            weight_sum = str(sum(weights.values(), Fraction(0)))
            agreement = facts.agreements.get(r.snapshot_id, {}).get(p.agreement)
            budget = getattr(agreement, "budget", None)
            extra: dict[str, Any] = {"name": getattr(agreement, "name", None)}
            if budget is not None:  # a budget pool (RULES.md §5.3): C, B(M) and B(Y) beside T
                extra.update(budget=budget, costs=p.costs, budget_month=p.budget,
                             budget_year=agreement.year_budget(m.year))  # type: ignore[union-attr]
            for code, share in sorted(p.shares.items()):
                if correction and share == 0:
                    continue
                shares_of[code].append(PoolShare(p.agreement, region, p.creditor, p.total, str(weights[code]),
                                                  weight_sum, share, correction, **extra))

    # Per run, what each invoice bills (the lines per basis with their days, the pool shares), once:
    # the invoices' lines and the creditors' summaries of what they receive.
    billed = {r.id: _billed(lines_of[r.id], pools_of[r.id], lambda l, sid=r.snapshot_id: contested_by(sid, l))  # type: ignore[misc]
              for r in runs}
    invoice_of = {(inv.run_id, inv.creditor, inv.debtor): inv for inv in invoices}
    receivables_of: dict[str, list[tuple[str, int, int, Receivable]]] = defaultdict(list)
    for i, r in enumerate(runs):
        for (creditor, debtor), rows in sorted(billed[r.id].items()):  # type: ignore[index]
            inv = invoice_of.get((r.id, creditor, debtor))
            total = sum(row[4] for row in rows)
            if total != (inv.amount if inv else 0):
                raise ValueError(f"run {r.id}: what {debtor} owes {creditor} sums to {total} cents, "
                                 f"its invoice says {inv.amount if inv else 'nothing (no invoice)'}")
            for j, (basis, pool, count, days, amount, contested) in enumerate(rows):
                receivables_of[creditor].append((debtor, i, j, Receivable(
                    debtor=parties[debtor], invoice=inv.number if inv else None, basis=basis, pool=pool,
                    lines=count, days=days, amount=amount, correction=r.kind == "correction", disputes=contested)))

    receivable_from: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    payable_to: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for inv in invoices:
        receivable_from[inv.creditor][inv.debtor] += inv.amount
        payable_to[inv.debtor][inv.creditor] += inv.amount

    names: dict[str, str] = {}  # the named agreements of the month's runs; the latest snapshot's words win
    for r in runs:
        names.update({a.id: a.name for a in facts.agreements.get(r.snapshot_id, {}).values()
                      if getattr(a, "name", None)})
    agreement_names = tuple(sorted(names.items()))

    # The disputes open at the end of the month in the latest snapshot, with the month's amounts of
    # their placements (the final run and its finalised corrections): on the raiser's statement.
    raised: dict[str, list[OpenDispute]] = defaultdict(list)
    latest_disputes, latest_rulings = disputes_of[latest.snapshot_id]
    for state in disputes_mod.build(latest_disputes, latest_rulings, runs, lines_of, m.last):
        d = state.dispute
        if state.ruling is None and d.raised_on <= m.last:
            raised[d.raised_by].append(OpenDispute(d.dispute, d.placement, state.client, d.subject, d.raised_on,
                                                   state.total))
    # Each statement's specification (an xlsx in its PDF): the month's finalised runs as the export
    # has them, the municipality's own rows only (spreadsheet.specifications).
    parts = [spreadsheet.Part(export.build(month, r.engine_version, r.input_hash, lines_of[r.id],  # type: ignore[index]
                                           pools_of[r.id], sorted(facts.parties[r.snapshot_id]),  # type: ignore[index]
                                           export.head_of(r), [i for i in invoices if i.run_id == r.id]),
                              r.id, r.kind, True)  # type: ignore[arg-type]
             for r in runs]
    specs = spreadsheet.specifications(parts, facts.sheet_context([r.snapshot_id for r in runs]), codes)
    created = datetime(document_date.year, document_date.month, document_date.day)

    statements = []
    for code in codes:
        counterparties = sorted(set(receivable_from[code]) | set(payable_to[code]))
        positions = tuple(Position(parties[c], receivable_from[code].get(c, 0), payable_to[code].get(c, 0))
                          for c in counterparties)
        own = tuple(paid_by.get(code, ()))
        shares = tuple(shares_of.get(code, ()))
        statements.append(Statement(
            municipality=parties[code], month=month, period_from=m.first, period_to=m.last,
            document_date=document_date, engine_version=latest.engine_version, input_hash=latest.input_hash,
            lines=own, creditor_lines=tuple(owed_to.get(code, ())), pool_shares=shares, positions=positions,
            payable=sum(l.amount for l in own) + sum(s.share for s in shares),
            receivable=sum(receivable_from[code].values()),
            receivables=tuple(row for *_, row in sorted(receivables_of.get(code, ()), key=lambda x: x[:3])),
            agreement_names=agreement_names,
            open_disputes=tuple(sorted(raised.get(code, ()), key=lambda o: o.dispute)),
            specification=spreadsheet.Book(nl.specification_title(month, parties[code].name),
                                           f"settlement {latest.engine_version}", created, specs[code])))

    run_by_id = {r.id: r for r in runs}

    def carried_out(run: Any, creditor: str, debtor: str) -> tuple[tuple[str, str, date], ...]:
        """The rulings a correction's invoice between `creditor` and `debtor` carries out: those in
        force in the month for a placement of its lines that the correction settles on basis ruling
        (the new payer's line, and the old payer's credit for the same placement)."""
        if run.kind != "correction":
            return ()
        ruled = {l.placement for l in lines_of[run.id] if l.basis == "ruling"}
        mine = {l.placement for l in lines_of[run.id] if l.creditor == creditor and l.payer == debtor} & ruled
        found = {(u.ruling, u.reference, u.decided_on) for u in disputes_of[run.snapshot_id][1]
                 if u.placement in mine and u.valid_from <= m.last}
        return tuple(sorted(found))

    documents = []
    for inv in sorted(invoices, key=lambda i: (i.creditor, i.year, i.seq)):
        run = run_by_id[inv.run_id]
        inv_lines = [InvoiceLine(nl.invoice_description(basis, pool, facts.agreement_name(run.snapshot_id, pool)),
                                 basis, 1 if count is None else count, amount, contested)
                     for basis, pool, count, _, amount, contested in billed[inv.run_id].get((inv.creditor, inv.debtor), ())]
        if sum(l.amount for l in inv_lines) != inv.amount:
            raise ValueError(f"invoice {inv.number}: its lines sum to {sum(l.amount for l in inv_lines)} cents, "
                             f"the stored amount is {inv.amount}")
        snapshot_parties = facts.parties[run.snapshot_id]
        documents.append(Invoice(
            number=inv.number, kind=inv.kind, corrects=inv.corrects,
            creditor=snapshot_parties.get(inv.creditor, parties.get(inv.creditor)),  # type: ignore[arg-type]
            debtor=snapshot_parties.get(inv.debtor, parties.get(inv.debtor)),  # type: ignore[arg-type]
            issue_date=inv.issue_date, due_date=inv.issue_date + timedelta(days=PAYMENT_DAYS), month=month,
            period_from=m.first, period_to=m.last, reference=reference(month, inv.debtor),
            lines=tuple(inv_lines), total=inv.amount, rulings=carried_out(run, inv.creditor, inv.debtor)))
    return statements, documents


def _pool_region(pool: PoolResult, lines: list[Line]) -> str:
    return next((l.region for l in lines if l.pool == pool.agreement), "")


Billed = tuple[str, str | None, int | None, int | None, int, tuple[str, ...]]


def _open_disputes(disputes: list[Any], rulings: list[Any], last: date) -> dict[str, tuple[str, ...]]:
    """placement -> the numbers of its disputes open on `last` (raised by then, not ruled on)."""
    out: dict[str, list[str]] = defaultdict(list)
    for state in disputes_mod.build(disputes, rulings, [], {}, last):
        if state.ruling is None and state.dispute.raised_on <= last:
            out[state.dispute.placement].append(state.dispute.dispute)
    return {p: tuple(sorted(ids)) for p, ids in out.items()}


def _billed(lines: list[Line], pools: list[PoolResult],
            contested_by: Callable[[Line], tuple[str, ...]] = lambda line: ()) -> dict[tuple[str, str], list[Billed]]:
    """What one run bills per (creditor, debtor != creditor), in the order of the invoice's lines:
    (basis, None, lines, days, amount, ()) per basis of the lines the debtor pays to the creditor,
    each basis's contested lines after it, on a row of their own per set of open disputes
    (basis, None, lines, days, amount, disputes); then ("pool", agreement, None, None, share, ())
    per non-zero share of the debtor in the creditor's pools."""
    sums: dict[tuple[str, str], dict[tuple[str, tuple[str, ...]], list[int]]] = defaultdict(dict)
    for line in lines:
        if line.payer is not None and line.payer != line.creditor:
            acc = sums[(line.creditor, line.payer)].setdefault((line.basis, contested_by(line)), [0, 0, 0])
            acc[0] += 1
            acc[1] += line.days
            acc[2] += line.amount
    order = {b: i for i, b in enumerate(BASES)}
    out: dict[tuple[str, str], list[Billed]] = {
        key: [(b, None, *by_basis[(b, ds)], ds)  # type: ignore[misc]
              for b, ds in sorted(by_basis, key=lambda k: (order.get(k[0], 99), k[0], k[1]))]
        for key, by_basis in sums.items()}
    for p in pools:
        for debtor, share in sorted(p.shares.items()):
            if debtor != p.creditor and share != 0:
                out.setdefault((p.creditor, debtor), []).append(("pool", p.agreement, None, None, share, ()))
    return out
