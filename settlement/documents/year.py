"""The year statement (jaaroverzicht) of a municipality: what it bore in a year, for the
verantwoording to the council and the Rijk [000 §13, §14.2]; `settle statements --year YYYY`.

Per municipality, from the final runs and finalised corrections of the year's months (corrections
are differences: they simply add up):
- the costs it bore by basis (its own lines, in the order and words of `settlement.nl`) and its
  shares per pool agreement; together what it paid, which is the sum of its month statements'
  "kosten voor uw gemeente";
- per month what it bore, the final run and the corrections apart, and what its invoices say it
  pays to and receives from other municipalities;
- the invoices and credit notes it received (as debtor) and sent (as creditor), with their totals;
- its budgets against the costs it bore, as the budget monitor counts them (`settlement.budget`:
  `month_costs` and `Row`; RULES.md §9), from the current snapshot's budgets and pool agreements,
  as `settle budget` does.

Months of the year without a final run are named on the document ("niet definitief") and never
counted as zero silently; a correction still waiting to be finalised is named too. Clients appear
only as counts (distinct clients per basis), never with a BSN or a pseudonym.

Reading: one query per table (runs, lines without traces, pool shares, invoices, the snapshot's
frame, budgets), whatever the number of months or lines. The document's dates come from the latest
finalisation of the year's runs, never from the clock, so two renders give the same bytes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timezone
from fractions import Fraction

from sqlalchemy.engine import Connection

from .. import budget as b
from .. import nl, store
from ..errors import UserError
from ..periods import Month, months_between
from .model import Party


@dataclass(frozen=True)
class BasisCost:
    basis: str
    clients: int  # distinct clients with a line of this basis in the year
    lines: int
    days: int
    amount: int  # cents


@dataclass(frozen=True)
class PoolCost:
    agreement: str
    name: str  # the agreement's name, else its id
    region: str
    creditor: Party
    months: int  # months with a share
    amount: int  # cents, the year's shares (corrections included)


@dataclass(frozen=True)
class MonthCost:
    month: str
    final: bool
    regular: int  # the final run's lines and shares, cents (0 when not final)
    corrections: int  # the finalised corrections' differences
    payable_to_others: int  # the invoices (and credit notes) it received for the month
    receivable: int  # the invoices (and credit notes) it sent for the month

    @property
    def total(self) -> int:
        return self.regular + self.corrections


@dataclass(frozen=True)
class InvoiceEntry:
    number: str
    kind: str  # invoice, credit_note
    month: str
    counterparty: Party
    amount: int  # cents; negative for a credit note
    corrects: str | None
    issue_date: date


@dataclass(frozen=True)
class YearStatement:
    municipality: Party
    year: int
    document_date: date
    final_months: tuple[str, ...]
    missing: tuple[str, ...]  # months of the year without a final run
    pending: tuple[str, ...]  # months with a correction waiting to be finalised (not counted)
    bases: tuple[BasisCost, ...]
    pools: tuple[PoolCost, ...]
    months: tuple[MonthCost, ...]
    received: tuple[InvoiceEntry, ...]
    sent: tuple[InvoiceEntry, ...]
    budget: b.Row
    has_budget: bool
    creditor_budget: int  # a budget pool's B(M) this municipality bore as its creditor (in the budget's costs)
    engine_version: str
    snapshot: int

    @property
    def payable(self) -> int:
        return sum(c.amount for c in self.bases) + sum(p.amount for p in self.pools)


def _utc_date(stamp) -> date:
    if stamp.tzinfo is None:
        return stamp.date()
    return stamp.astimezone(timezone.utc).date()


def build_year(conn: Connection, year: int, municipalities: Collection[str] | None = None) -> list[YearStatement]:
    """The year statements of every municipality of the current snapshot (or only of the codes
    `municipalities`), by code.

    Raises errors.UserError when nothing is loaded, a municipality is unknown, or no month of
    the year is final."""
    snapshot = store.current_snapshot(conn)
    if snapshot is None:
        raise UserError("no data loaded yet: run `settle load DIR` first", 2)
    all_months = [str(m) for m in months_between(Month(year, 1), Month(year, 12))]
    runs = [r for r in store.read_runs(conn) if r.month in all_months]
    finals = {r.month for r in runs if r.kind == "final" and r.finalized_at is not None}
    if not finals:
        raise UserError(f"no month of {year} is final, so there is no year statement: finalise a month first "
                        f"(`settle finalize --month {year}-MM`)", 2)
    ds, agreements = store.read_dataset(conn, snapshot, frame=True)
    unknown = sorted(set(municipalities or ()) - set(ds.municipalities))
    if unknown:
        raise UserError(f"unknown municipality {unknown[0]!r}: the current snapshot has no municipality with "
                        f"that code", 2)
    used = [r for r in runs if r.finalized_at is not None and r.month in finals]  # by month, then id
    ids: list[int] = [r.id for r in used]  # type: ignore[misc]
    lines_of = store.read_run_lines(conn, ids)
    pools_of = store.read_run_pools(conn, ids)
    budgets = {(x.municipality, x.year): x for x in store.read_budgets(conn, snapshot.id)}
    id_set = set(ids)
    invoices = [i for i in store.read_invoices_of_months(conn, sorted(finals)) if i.run_id in id_set]

    latest = max(used, key=lambda r: (r.finalized_at, r.id))  # type: ignore[arg-type, return-value]
    document_date = _utc_date(latest.finalized_at)
    missing = tuple(m for m in all_months if m not in finals)
    pending = tuple(sorted({r.month for r in runs if r.kind == "correction" and r.finalized_at is None}))
    parties = {c: Party(m.code, m.name, m.street, m.postcode, m.city, m.iban, m.oin)
               for c, m in ds.municipalities.items()}

    def party(code: str) -> Party:
        return parties.get(code) or Party(code, code, "", "", "", "")

    pool_agreements = {a.id: a for a in agreements if a.kind == "pool"}
    pool_clients = {a.id: a.clients for a in pool_agreements.values()}  # type: ignore[attr-defined]

    # What each municipality bore: per basis, per pool, per month (the final run and corrections apart).
    basis_acc: dict[str, dict[str, list]] = defaultdict(dict)  # code -> basis -> [clients, lines, days, amount]
    pool_acc: dict[str, dict[str, list]] = defaultdict(dict)  # code -> agreement -> [months, amount, creditor]
    month_acc: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])  # (code, month) -> [regular, corr]
    pool_region: dict[str, str] = {}
    for r in used:
        kind = 1 if r.kind == "correction" else 0
        for line in lines_of[r.id]:  # type: ignore[index]
            if line.payer is None:
                if line.pool is not None:
                    pool_region.setdefault(line.pool, line.region)
                continue
            acc = basis_acc[line.payer].setdefault(line.basis, [set(), 0, 0, 0])
            acc[0].add(line.client)
            acc[1] += 1
            acc[2] += line.days
            acc[3] += line.amount
            month_acc[(line.payer, r.month)][kind] += line.amount
        for p in pools_of[r.id]:  # type: ignore[index]
            for code, share in p.shares.items():
                acc = pool_acc[code].setdefault(p.agreement, [set(), 0, p.creditor])
                if share != 0:
                    acc[0].add(r.month)
                acc[1] += share
                month_acc[(code, r.month)][kind] += share

    # Against the budgets: the budget monitor's own counting, month by month.
    year_costs: dict[str, b.Costs] = defaultdict(b.Costs)
    creditor_budget: dict[str, int] = defaultdict(int)
    for m in sorted(finals):
        ms_lines = [l for r in used if r.month == m for l in lines_of[r.id]]  # type: ignore[index]
        ms_pools = [p for r in used if r.month == m for p in pools_of[r.id]]  # type: ignore[index]
        for code, c in b.month_costs(b.MonthData(m, ms_lines, ms_pools), pool_clients).items():
            year_costs[code].add(c)
        for p in ms_pools:
            creditor_budget[p.creditor] += getattr(p, "budget", 0) or 0

    paid: dict[tuple[str, str], int] = defaultdict(int)
    received_of: dict[tuple[str, str], int] = defaultdict(int)
    for inv in invoices:
        paid[(inv.debtor, inv.month)] += inv.amount
        received_of[(inv.creditor, inv.month)] += inv.amount

    def entry(inv, other: str) -> InvoiceEntry:
        return InvoiceEntry(inv.number, inv.kind, inv.month, party(other), inv.amount, inv.corrects, inv.issue_date)

    codes = sorted(set(municipalities) if municipalities is not None else ds.municipalities)
    out = []
    for code in codes:
        bases = tuple(BasisCost(basis, len(a[0]), a[1], a[2], a[3]) for basis, a in
                      sorted(basis_acc[code].items(), key=lambda kv: (nl.basis_order(kv[0]), kv[0])))
        pools = []
        for agreement, (months_with, amount, creditor) in sorted(pool_acc[code].items()):
            if not months_with and amount == 0:
                continue
            a = pool_agreements.get(agreement)
            region = (a.pool_region() if a is not None else None) or pool_region.get(agreement, "")
            pools.append(PoolCost(agreement, getattr(a, "name", None) or agreement, region, party(creditor),
                                  len(months_with), amount))
        months = tuple(MonthCost(m, m in finals, *(month_acc[(code, m)] if m in finals else (0, 0)),
                                 paid[(code, m)], received_of[(code, m)]) for m in all_months)
        bud = budgets.get((code, year))
        row = b.Row(code, party(code).name, bud.historic if bud else None, bud.objective if bud else None,
                    year_costs.get(code, b.Costs()))
        out.append(YearStatement(
            municipality=party(code), year=year, document_date=document_date,
            final_months=tuple(sorted(finals)), missing=missing, pending=pending, bases=bases,
            pools=tuple(pools), months=months,
            received=tuple(entry(i, i.creditor) for i in invoices if i.debtor == code),
            sent=tuple(entry(i, i.debtor) for i in invoices if i.creditor == code),
            budget=row, has_budget=bud is not None, creditor_budget=creditor_budget.get(code, 0),
            engine_version=latest.engine_version, snapshot=snapshot.id))  # type: ignore[arg-type]
    for ys in out:
        by_months = sum(m.total for m in ys.months)
        if by_months != ys.payable:
            raise ValueError(f"year statement {ys.municipality.code} {year}: the months add up to {by_months} "
                             f"cents, the bases and pool shares to {ys.payable}")
    return out


# ---------------------------------------------------------------------------------------------
# The document


def months_nl(months: tuple[str, ...] | list[str]) -> str:
    """['2024-03', '2024-04', ..., '2024-12'] -> 'maart t/m december 2024'; runs of consecutive
    months as a range, the others by name: 'januari 2024, maart t/m mei 2024'."""
    runs: list[list[Month]] = []
    for m in (Month.parse(x) for x in months):
        if runs and runs[-1][-1].next() == m:
            runs[-1].append(m)
        else:
            runs.append([m])
    parts = []
    for r in runs:
        if len(r) == 1:
            parts.append(nl.month_nl(r[0]))
        elif r[0].year == r[-1].year:
            parts.append(f"{nl.MONTHS[r[0].month - 1]} t/m {nl.month_nl(r[-1])}")
        else:
            parts.append(f"{nl.month_nl(r[0])} t/m {nl.month_nl(r[-1])}")
    return ", ".join(parts)


def _percent(share: Fraction | None) -> str:
    """The share used as the budget monitor's PDF shows it: '24,5 %'; '—' without a budget."""
    from ..monitor import percent
    p = percent(share, comma=True)
    return "—" if p is None else f"{p} %"


def _short(name: str) -> str:
    return name.removeprefix("Gemeente ")


def _invoice_rows(entries: tuple[InvoiceEntry, ...]) -> dict:
    rows = [{"number": e.number, "kind": nl.invoice_title(e.kind).lower(), "month": nl.month_nl(e.month),
             "counterparty": f"{e.counterparty.name} ({e.counterparty.code})", "amount": e.amount,
             "corrects": e.corrects or "", "issue_date": nl.date_nl(e.issue_date)} for e in entries]
    invoices = [e for e in entries if e.kind == "invoice"]
    credits = [e for e in entries if e.kind == "credit_note"]
    return {"rows": rows, "invoices": len(invoices), "invoices_total": sum(e.amount for e in invoices),
            "credits": len(credits), "credits_total": sum(e.amount for e in credits),
            "total": sum(e.amount for e in entries)}


def year_context(ys: YearStatement) -> dict:
    """Everything the year statement's template shows, computed here so the template only lays out."""
    muni = ys.municipality
    bases = [{"label": nl.basis_label(c.basis), "explanation": nl.basis_explanation(c.basis), "clients": c.clients,
              "lines": c.lines, "days": c.days, "amount": c.amount} for c in ys.bases]
    pools = [{"name": p.name, "agreement": p.agreement if p.name != p.agreement else "", "region": p.region,
              "creditor": f"{_short(p.creditor.name)} ({p.creditor.code})",
              "months": p.months, "amount": p.amount} for p in ys.pools]
    months: list[dict] = []  # a final month a row; consecutive months not final one row together
    for m in ys.months:
        if m.final:
            months.append({"name": nl.month_nl(m.month), "final": True, "regular": m.regular,
                           "corrections": m.corrections, "total": m.total,
                           "payable_to_others": m.payable_to_others, "receivable": m.receivable})
        elif months and not months[-1]["final"]:
            months[-1]["months"].append(m.month)
        else:
            months.append({"final": False, "months": [m.month]})
    for row in months:
        if not row["final"]:
            row["name"] = months_nl(row["months"])
    finals = [m for m in ys.months if m.final]
    r = ys.budget
    budget = {
        "historic_budget": r.historic_budget, "objective_budget": r.objective_budget,
        "historic": r.costs.historic, "new": r.costs.new, "vangnet": r.costs.vangnet,
        "pooled_all": r.costs.pooled_all, "mo": r.costs.mo,
        "historic_result": r.historic_result if r.historic_budget is not None else None,
        "objective_result": r.objective_result if r.objective_budget is not None else None,
        "historic_used": _percent(r.historic_used), "objective_used": _percent(r.objective_used),
    }
    not_final = months_nl(ys.missing)
    notes = [f"Niet definitief: {not_final}. De kosten van die maanden ontbreken in dit overzicht; ze zijn niet "
             f"als nul geteld." if ys.missing else f"Alle maanden van {ys.year} zijn definitief."]
    if ys.pending:
        notes.append(f"Voor {months_nl(ys.pending)} wacht een correctie op vaststelling; die is niet meegeteld.")
    status = (f"definitief: {months_nl(ys.final_months)}; niet definitief: {not_final}" if ys.missing
              else "alle maanden definitief")
    title = f"Jaaroverzicht {ys.year} – {muni.name}"
    return {
        "title": title,
        "author": "settlement " + ys.engine_version,
        "description": f"Jaaroverzicht beschermd wonen en maatschappelijke opvang, {muni.name} ({muni.code}), "
        f"{ys.year}",
        "created": ys.document_date.isoformat(),
        "body_class": "statement year",
        "running_title": f"Jaaroverzicht {ys.year} · {muni.name} ({muni.code})"
        + (f" · niet definitief: {not_final}" if ys.missing else ""),
        "ys": ys, "muni": muni, "year": ys.year,
        "document_date": nl.date_nl(ys.document_date),
        "status": status, "notes": notes, "complete": not ys.missing,
        "bases": bases, "bases_total": sum(c.amount for c in ys.bases),
        "pools": pools, "pools_total": sum(p.amount for p in ys.pools),
        "payable": ys.payable,
        "months": months,
        "months_total": {k: sum(getattr(m, k) for m in finals)
                         for k in ("regular", "corrections", "total", "payable_to_others", "receivable")},
        "received": _invoice_rows(ys.received), "sent": _invoice_rows(ys.sent),
        "budget": budget, "has_budget": ys.has_budget, "creditor_budget": ys.creditor_budget,
        "snapshot": ys.snapshot,
    }


def year_html(ys: YearStatement) -> str:
    from .render import jinja
    return jinja().get_template("year_statement.html").render(**year_context(ys))


def render_year_pdf(ys: YearStatement) -> bytes:
    """The jaaroverzicht of one municipality, as PDF/A-3b bytes (same statement, same bytes)."""
    from .render import pdf
    return pdf(year_html(ys), day=ys.document_date)


def year_filename(ys: YearStatement) -> str:
    from .render import _safe
    return _safe(f"jaaroverzicht-{ys.year}-{ys.municipality.code}.pdf")


def _render_one(ys: YearStatement, path: str) -> str:
    import gc
    from pathlib import Path

    from ..outputs import write_file
    write_file(Path(path), render_year_pdf(ys))
    gc.collect()
    return path


def render_years(statements: list[YearStatement], out_dir, processes: int | None = None,
                 command: str = "settle statements") -> list:
    """Render the year statements into `out_dir` (created if needed) as `jaaroverzicht-<year>-<code>.pdf`,
    with `processes` workers (default: every core). A file of those names that exists and that no
    settle command wrote is never replaced: `command` refuses before anything is rendered
    (settlement.outputs). Returns the written paths, sorted."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor
    from pathlib import Path

    from .. import outputs
    from .render import _weasy, jinja, start_worker
    out = Path(out_dir)
    jobs = [(ys, str(out / year_filename(ys))) for ys in statements]
    outputs.claim(out, [Path(p).name for _, p in jobs], command)
    workers = max(1, min(processes or os.cpu_count() or 1, len(jobs)))
    if workers == 1 or "fork" not in multiprocessing.get_all_start_methods():
        for ys, path in jobs:
            _render_one(ys, path)
    else:
        _weasy()
        jinja()
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=start_worker) as pool:
            for future in [pool.submit(_render_one, ys, path) for ys, path in jobs]:
                future.result()
    return sorted(Path(p) for _, p in jobs)
