"""The dossier of one dispute before the geschillencommissie (`settle explain --dispute D`): the
placement's dossier (`gather` and `build.dossier_context`, the one reading path) over every settled
month of the disputed placement, with the dispute's own parts before it: the question, who raised
it and when, the course of events, per month the line(s) with the deciding rule and the rejected
alternatives, the money at stake per municipality (`settlement.disputes`, the figures of `settle
disputes`), the agreements involved with the source of each term in the regional documents (or
that it has none), and after a ruling the ruling, its reference and the corrections and documents
it caused (RULES.md v2 §4.0; INTERFACE.md v2 `disputes.csv`, `rulings.csv`).

A ruling counts as ruling on the dispute as soon as the snapshot holds it (whatever the clock
says), so that the same runs give the same document. Without `with_bsn` no BSN is read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine as SAEngine

from .. import nl, store
from ..agreements.base import kind_of_step
from ..disputes import DisputeState
from ..disputes import gather as gather_disputes
from ..errors import UserError
from ..facts import Dispute, Ruling
from ..money import format_cents
from ..nl import date_nl, euro, month_nl
from ..periods import Month, months_between
from .. import references
from ..phrases import source_nl
from .gather import Selection, gather
from .words import Names, reason_nl, rule_title

Progress = Callable[[str, int, int], None]
FORMAT = "settlement-dispute-dossier/1"
# steps that never decide a payer: not alternatives to the deciding rule
NOT_ALTERNATIVES = ("amount", "status", "dispute")


@dataclass
class DisputeSelection:
    dispute: Dispute
    rulings: list[Ruling]  # every ruling of the placement, by valid_from
    ruling: Ruling | None  # the one that ruled on this dispute
    stake: DisputeState  # the money at stake, as `settle disputes` computes it
    sel: Selection  # the placement's dossier over its settled months
    unsettled: list[Month]  # months of the placement, within the settled period, without a run
    before: Month | None  # the first month with a run in the database, when the placement started earlier
    invoices: dict[int, list[Any]] = field(default_factory=dict)  # correction run id -> its documents


def gather_dispute(engine: SAEngine, dispute: str, with_bsn: bool = False,
                   progress: Progress | None = None) -> DisputeSelection:
    """Dispute `dispute` of the current snapshot with the dossier of its placement over every month
    of the placement that has a run. Raises errors.UserError (exit 2) for a dispute the snapshot
    does not know or a placement of which no month has been run."""
    with engine.connect() as conn:
        snapshot = store.current_snapshot(conn)
        if snapshot is None:
            raise UserError("no data loaded: run `settle load DIR` first", status=2)
        disputes, rulings = store.read_disputes(conn, snapshot.id)
        d = next((x for x in disputes if x.dispute == dispute), None)
        if d is None:
            known = ", ".join(x.dispute for x in disputes) or "none"
            raise UserError(f"unknown dispute {dispute!r}: disputes.csv of snapshot {snapshot.id} does not contain it "
                            f"(known: {known})", status=2)
        state = next(s for s in gather_disputes(conn, date.max) if s.dispute.dispute == dispute)
        owner = store.client_of_placement(conn, snapshot.id, d.placement)
        ds, _ = store.read_dataset(conn, snapshot, clients={owner} if owner else set())
        run_months = sorted({r.month for r in store.read_runs(conn)})
    p = ds.placements.get(d.placement)
    if p is None or not run_months:
        raise UserError(f"dispute {dispute} is about placement {d.placement}, of which no month has been run: "
                        f"run `settle run --month YYYY-MM` first", status=2)
    first_run, last_run = Month.parse(run_months[0]), Month.parse(run_months[-1])
    start = Month(p.start.year, p.start.month)
    end = Month(p.end.year, p.end.month) if p.end else last_run
    span = [m for m in months_between(start, end) if m >= first_run and (p.end is not None or m <= last_run)]
    settled = [m for m in span if str(m) in set(run_months)]
    if not settled:
        raise UserError(f"dispute {dispute} is about placement {d.placement}, of which no month has been run: "
                        f"run `settle run --month {start}` first", status=2)
    sel = gather(engine, "placement", d.placement, settled, mode="dossier", with_bsn=with_bsn, progress=progress)
    corrections = {r.id for r in sel.runs if r.kind == "correction"}
    with engine.connect() as conn:
        invoices: dict[int, list[Any]] = {}
        for inv in store.read_invoices_of_months(conn, [str(m) for m in settled]):
            if inv.run_id in corrections:
                invoices.setdefault(inv.run_id, []).append(inv)
    return DisputeSelection(d, sorted((u for u in rulings if u.placement == d.placement), key=lambda u: u.valid_from),
                            state.ruling, state, sel, [m for m in span if m not in settled],
                            first_run if start < first_run else None, invoices)


# ---------------------------------------------------------------------------------------------
# In words


def _term_value(kind: Any, name: str, value: Any, names: Names) -> str:
    if value is None:
        return "onbepaald" if name == "valid_to" else "geen"
    words = kind.term_nl(name, value)
    if words is not None:
        return words
    if name in ("valid_from", "valid_to"):
        return date_nl(value)
    if name == "region":
        return names.region(value)
    if name == "regions":
        return ", ".join(names.region(r) for r in value)
    if name == "creditor":
        return names.municipality(value)
    if name == "weights":
        return ", ".join(f"{names.municipality(c)} {nl.weight_nl(w)}" for c, w in sorted(value.items()))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def agreements_involved(dsel: DisputeSelection, names: Names) -> list[dict[str, Any]]:
    """Every agreement a line of the placement was weighed against: whether it applied (in which
    months) or why not, the kind's sources, and per term its source in the regional documents, or
    that it has none (`Agreement.term_sources`)."""
    sel = dsel.sel
    seen: dict[str, dict[str, Any]] = {}
    for md in sel.months:
        for e in md.entries:
            for s in e.line.trace.get("steps", []):
                kind = kind_of_step(s, sel.agreements)
                if kind is None:
                    continue
                a = seen.setdefault(s["rule"], {"kind": kind, "applied": [], "reasons": {}})
                if s.get("applies"):
                    if month_nl(md.month) not in a["applied"]:
                        a["applied"].append(month_nl(md.month))
                else:
                    a["reasons"].setdefault(reason_nl(s, names, sel.agreements) or "", []).append(month_nl(md.month))
    out = []
    for rule, a in sorted(seen.items()):
        kind, agreement = a["kind"], sel.agreements.get(rule)
        terms = []
        order = list(kind.term_sources)
        for term, value in sorted((agreement or {}).items(), key=lambda kv: (
                order.index(kv[0]) if kv[0] in order else len(order), kv[0])):
            if term in ("id", "kind", "name"):
                continue
            src = kind.term_sources.get(term)
            terms.append({"label": nl.AGREEMENT_TERMS.get(term, term), "value": _term_value(kind, term, value, names),
                          "source": src or nl.NO_SOURCE, "sourced": src is not None})
        outcome = []
        if a["applied"]:
            outcome.append(f"van toepassing in {', '.join(a['applied'])}")
        for reason, months in a["reasons"].items():
            outcome.append(f"niet van toepassing in {_months_nl(months)}" + (f": {reason}" if reason else ""))
        out.append({"title": rule_title(rule, sel.agreements), "id": rule,
                    "name": (agreement or {}).get("name"), "outcome": outcome, "terms": terms,
                    "sources": [source_nl(x) for x in references.sources(kind.reference)]})
    return out


def _months_nl(months: list[str]) -> str:
    return months[0] if len(months) == 1 else f"{months[0]} t/m {months[-1]}" if len(months) > 2 else \
        " en ".join(months)


def _month_state(md) -> str:
    if md.runs[0].finalized_at is None:
        return nl.MONTH_STATE["draft"]
    return nl.MONTH_STATE["corrected" if len(md.runs) > 1 else "final"]


def month_rows(dsel: DisputeSelection, ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """Per month of the placement its line(s) as the placement's dossier built them (number, link,
    payer, amount), the deciding rule, what else applied beside it (the rules' own outcome beside a
    ruling) and the rejected alternatives; months without a run named."""
    rows = []
    for md, m in zip(dsel.sel.months, ctx["months"]):
        lines = []
        for line in m["lines"]:
            decision = line["decision"]
            reversed_ = bool(line["correction_block"] and line["correction_block"]["reason"])
            if reversed_:
                decided = ("teruggedraaid: deze betaler en grondslag volgen er niet meer uit"
                           + (f" (eerder: {decision['title']})" if decision else ""))
            else:
                decided = decision["title"] if decision else "-"
            lines.append({"number": line["number"], "anchor": line["anchor"], "payer": line["payer_short"],
                          "amount": line["amount"], "tags": line["tags"], "decided": decided,
                          "also": [] if reversed_ or not decision else
                          [a["title"] + (f" ({a['reason']})" if a["reason"] else "") for a in decision["also"]],
                          "rejected": [s["title"] for s in line["steps"]
                                       if s["css"] == "rejected" and s["rule"] not in NOT_ALTERNATIVES]})
        rows.append({"month": str(md.month), "label": month_nl(md.month), "state": _month_state(md),
                     "lines": lines, "anchor": m["anchor"]})
    for mo in dsel.unsettled:
        rows.append({"month": str(mo), "label": month_nl(mo), "state": nl.MONTH_STATE["none"], "lines": [],
                     "anchor": None})
    return sorted(rows, key=lambda r: r["month"])


def stake_table(dsel: DisputeSelection, names: Names) -> dict[str, Any]:
    """The money at stake (`settle disputes`): per month from the month the dispute was raised and
    per municipality, as settled (final months with their corrections), and the totals."""
    s = dsel.stake
    payers = sorted({k for v in s.by_month.values() for k in v})
    label = {k: (names.municipality(k) if not k.startswith("pool ") else f"pool {k[5:]}") for k in payers}
    rows = [{"month": month_nl(m), "cells": [euro(s.by_month[m].get(k, 0)) for k in payers],
             "total": euro(sum(s.by_month[m].values())),
             "state": nl.MONTH_STATE["draft"] if m in s.not_final else nl.MONTH_STATE["final"]} for m in s.months]
    totals = [euro(sum(s.by_month[m].get(k, 0) for m in s.months)) for k in payers]
    raised = Month(s.dispute.raised_on.year, s.dispute.raised_on.month)
    return {"payers": [label[k] for k in payers], "rows": rows, "totals": totals, "total": euro(s.total),
            "from": month_nl(raised),
            "per_payer": [(label[k], euro(sum(s.by_month[m].get(k, 0) for m in s.months))) for k in payers]}


def corrections(dsel: DisputeSelection, names: Names, ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """The correction runs of the placement's months in the dossier, with the placement's lines in
    them and the documents (credit notes, invoices, with numbers) each run produced."""
    out = []
    numbers = {line["anchor"]: line for m in ctx["months"] for line in m["lines"]}
    from .build import line_anchor
    for md in dsel.sel.months:
        for run in md.runs:
            if run.kind != "correction":
                continue
            lines = [e for e in md.entries if e.run.id == run.id]
            debtors = {e.line.payer for e in lines}
            docs = [{"number": i.number, "kind": nl.invoice_title(i.kind), "creditor": names.municipality(i.creditor),
                     "debtor": names.municipality(i.debtor), "amount": euro(i.amount),
                     "corrects": i.corrects, "date": date_nl(i.issue_date),
                     "placement_part": euro(sum(e.line.amount for e in lines if e.line.payer == i.debtor
                                                and e.line.creditor == i.creditor))}
                    for i in dsel.invoices.get(run.id, []) if i.debtor in debtors]
            out.append({"month": month_nl(md.month), "run": run.id, "parent": run.parent,
                        "finalized": date_nl(run.finalized_at.date()) if run.finalized_at else None,
                        "day": run.finalized_at.date() if run.finalized_at else None,
                        "ruled": any(e.line.basis == "ruling" for e in lines),
                        "lines": [{"number": numbers[line_anchor(e)]["number"], "anchor": line_anchor(e),
                                   "payer": names.municipality(e.line.payer) if e.line.payer else f"pool {e.line.pool}",
                                   "basis": nl.basis_label(e.line.basis), "days": e.line.days,
                                   "amount": euro(e.line.amount)} for e in lines],
                        "documents": docs})
        if md.pending is not None:
            out.append({"month": month_nl(md.month), "run": md.pending.id, "parent": md.pending.parent,
                        "finalized": None, "ruled": False, "lines": [], "documents": [], "pending": True})
    return out


def chronology(dsel: DisputeSelection, names: Names, fixes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The course of events, by date: the placement, the dispute, the months made final, the
    ruling(s), the corrections with their documents."""
    d, p = dsel.dispute, dsel.sel.ds.placements[dsel.dispute.placement]
    events: list[tuple[date, int, int, str]] = [(p.start, 0, 0, f"Start van plaatsing {p.placement} ({names.product(p.product)})")]
    if p.end:
        events.append((p.end, 9, 0, f"Einde van plaatsing {p.placement}"))
    events.append((d.raised_on, 1, 0, f"{names.municipality(d.raised_by)} legt geschil {d.dispute} voor aan de "
                                   f"geschillencommissie: {d.subject}"))
    for md in dsel.sel.months:
        for run in md.runs:
            if run.kind == "final" and run.finalized_at:
                events.append((run.finalized_at.date(), 5, run.id, f"Afrekening van {month_nl(md.month)} definitief (run {run.id})"))
    for u in dsel.rulings:
        on = f" op geschil {u.dispute}" if u.dispute else ""
        events.append((u.decided_on, 3, 0, f"Uitspraak {u.ruling}{on} ({u.reference}): {names.municipality(u.payer)} "
                                        f"betaalt vanaf {date_nl(u.valid_from)}"))
        events.append((u.valid_from, 4, 0, f"Vanaf deze dag geldt uitspraak {u.ruling} (beslist op {date_nl(u.decided_on)})"))
    for f in fixes:
        if f.get("day"):
            docs = "; ".join(f"{x['kind'].lower()} {x['number']} aan {x['debtor']}" for x in f["documents"])
            events.append((f["day"], 5, f["run"],
                           f"Correctie van {f['month']} vastgesteld (run {f['run']})" + (f": {docs}" if docs else "")))
    return [(date_nl(day), text) for day, _, _, text in sorted(events, key=lambda x: x[:3])]  # runs in their order


def dispute_context(dsel: DisputeSelection, with_bsn: bool, inline_css: str,
                    progress: Progress | None = None) -> dict[str, Any]:
    """The template's values: the placement dossier's (`build.dossier_context`) and the dispute's."""
    from .build import dossier_context
    ctx = dossier_context(dsel.sel, with_bsn, inline_css, progress)
    names = Names(dsel.sel.ds)
    d, u = dsel.dispute, dsel.ruling
    p = dsel.sel.ds.placements[d.placement]
    fixes = corrections(dsel, names, ctx)
    subject = f"geschil {d.dispute} over plaatsing {d.placement}"
    running = f"Dossier geschillencommissie · {subject} · {ctx['period']}"
    if with_bsn:
        running += " · bevat BSN, vertrouwelijk"
    ruling = None
    if u is not None:
        ruling = {"id": u.ruling, "reference": u.reference, "payer": names.municipality(u.payer),
                  "valid_from": date_nl(u.valid_from), "decided_on": date_nl(u.decided_on),
                  "named": u.dispute == d.dispute}
    others = [x for x in dsel.rulings if u is None or x.ruling != u.ruling]
    ctx.update({
        "title": f"Dossier geschillencommissie – {subject} – {ctx['period']}",
        "description": f"Het geschil {d.dispute} over wie plaatsing {d.placement} betaalt: de vraag, de feiten, "
                       f"per maand de regels en hun uitkomst, het bedrag dat op het spel staat"
                       + (", de uitspraak en de correcties die zij gaf." if u else "."),
        "running_title": running,
        "subject": subject, "subject_title": subject[0].upper() + subject[1:],
        "dispute": {"id": d.dispute, "question": d.subject, "raised_by": names.municipality(d.raised_by),
                    "raised_on": date_nl(d.raised_on), "placement": d.placement, "client": p.client,
                    "product": names.product(p.product), "region": names.region(p.region),
                    "period": nl.period_nl(p.start.isoformat(), p.end.isoformat() if p.end else None),
                    "state": nl.DISPUTE_STATE["ruled" if u else "open"]},
        "ruling": ruling,
        "other_rulings": [{"id": x.ruling, "reference": x.reference, "payer": names.municipality(x.payer),
                           "valid_from": date_nl(x.valid_from), "decided_on": date_nl(x.decided_on)} for x in others],
        "chronology": chronology(dsel, names, fixes),
        "month_rows": month_rows(dsel, ctx),
        "before": month_nl(dsel.before) if dsel.before else None,
        "stake": stake_table(dsel, names),
        "agreements_involved": agreements_involved(dsel, names),
        "corrections": fixes,
    })
    ctx["headline"] = [("Geschil", f"{d.dispute}, {nl.DISPUTE_STATE['ruled' if u else 'open']}"),
                       ("Aangespannen door", f"{names.municipality(d.raised_by)}, op {date_nl(d.raised_on)}")] + (
        [("Uitspraak", f"{u.ruling} ({u.reference}), {date_nl(u.decided_on)}: {names.municipality(u.payer)} betaalt "
                       f"vanaf {date_nl(u.valid_from)}")] if u else []) + [
        ("Op het spel", f"{ctx['stake']['total']} (vanaf {ctx['stake']['from']})")] + [
        ("Saldo van de regels" if label.startswith("Bedrag") else label, value)
        for label, value in ctx["headline"]]
    return ctx


def to_json(dsel: DisputeSelection) -> str:
    """A short summary (`--format json`): the dispute, its ruling, the money at stake and the
    documents the ruling's corrections produced. No BSN."""
    d, u, s = dsel.dispute, dsel.ruling, dsel.stake
    docs = [{"number": i.number, "kind": i.kind, "creditor": i.creditor, "debtor": i.debtor,
             "amount": format_cents(i.amount), "corrects": i.corrects, "month": i.month, "run": i.run_id}
            for run_id in sorted(dsel.invoices) for i in dsel.invoices[run_id]]
    doc = {"format": FORMAT, "dispute": d.dispute, "placement": d.placement, "client": s.client or
           dsel.sel.ds.placements[d.placement].client, "raised_by": d.raised_by, "raised_on": d.raised_on.isoformat(),
           "subject": d.subject, "status": "ruled" if u else "open",
           "ruling": None if u is None else {"ruling": u.ruling, "payer": u.payer, "valid_from": u.valid_from.isoformat(),
                                             "decided_on": u.decided_on.isoformat(), "reference": u.reference},
           "months": [str(m.month) for m in dsel.sel.months], "months_not_run": [str(m) for m in dsel.unsettled],
           "at_stake": {k: format_cents(v) for k, v in s.at_stake.items()}, "at_stake_total": format_cents(s.total),
           "at_stake_from": str(Month(d.raised_on.year, d.raised_on.month)),
           "correction_documents": docs}
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def to_text(dsel: DisputeSelection) -> str:
    """A short summary (`--format text`), in English as the other text outputs."""
    doc = json.loads(to_json(dsel))
    u = doc["ruling"]
    out = [f"dispute {doc['dispute']}: placement {doc['placement']} (client {doc['client']}), raised by "
           f"{doc['raised_by']} on {doc['raised_on']}: {doc['subject']}",
           "  open" if u is None else f"  ruled by {u['ruling']} ({u['reference']}) on {u['decided_on']}: "
                                      f"{u['payer']} pays from {u['valid_from']}",
           f"  months settled: {', '.join(doc['months'])}"
           + (f"; not run: {', '.join(doc['months_not_run'])}" if doc["months_not_run"] else ""),
           f"  at stake from {doc['at_stake_from']}: "
           + (", ".join(f"{k} EUR {v}" for k, v in doc["at_stake"].items()) or "nothing")
           + f"; total EUR {doc['at_stake_total']}"]
    for x in doc["correction_documents"]:
        out.append(f"  {x['month']} correction run {x['run']}: {x['kind']} {x['number']} {x['creditor']} -> "
                   f"{x['debtor']} EUR {x['amount']}" + (f" (corrects {x['corrects']})" if x["corrects"] else ""))
    return "\n".join(out) + "\n"
