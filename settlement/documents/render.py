"""Render statements (afrekeningen) and invoices (facturen) as PDF with WeasyPrint.

- Every document is PDF/A-3b; an invoice carries its SI-UBL 2.0 XML (`ubl.invoice_xml`) as an
  associated file with relationship /Alternative.
- Reproducible: the same Statement or Invoice gives the same bytes. The dates in the Info
  dictionary and the XMP metadata come from the model (`dcterms.created`/`modified` in the HTML),
  the attachment's dates from the issue date, and the file identifier /ID is WeasyPrint's hash of
  the content. Nothing reads the clock and nothing is random. The one clock outside our hands:
  where HarfBuzz's subsetter (Debian's libharfbuzz-subset0) is missing, WeasyPrint subsets the
  fonts with fontTools, which stamps each subset's `head.modified` with the current time unless
  SOURCE_DATE_EPOCH is set; so `pdf` sets it, while it renders, to midnight UTC of the document's
  own date (`day`: the date the document shows, the run's finalisation date for a final month's
  statements and invoices, for a draft's dossier the date the draft was computed), and restores
  the variable as it was.
- `render_all` renders many documents with a process pool, one worker per core, each with the
  cyclic garbage collector tuned for WeasyPrint (`start_worker`).
"""

from __future__ import annotations

import gc
import io
import multiprocessing
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from datetime import date, datetime, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jinja2

from settlement import outputs
from settlement import nl
from settlement.documents.model import Invoice, PoolShare, Statement, StatementLine
from settlement.documents.ubl import invoice_xml

PDF_VARIANT = "pdf/a-3b"
STYLESHEET = "documents.css"
UA_STYLESHEET = "documents-ua.css"  # statements, invoices, dossiers: the user-agent defaults they use (`pdf`)


def templates_dir() -> Path:
    """`templates/` beside the package in a checkout; `settlement/templates` when installed."""
    checkout = Path(__file__).resolve().parent.parent.parent / "templates"
    if (checkout / "statement.html").exists():
        return checkout
    return Path(str(resources.files("settlement") / "templates"))


# ---------------------------------------------------------------------------------------------
# Per-process resources: built once, reused for every document a process renders.


@lru_cache(maxsize=1)
def jinja() -> jinja2.Environment:
    """The Jinja environment of every document (statements, invoices, dossiers), with the Dutch filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        euro=nl.euro,
        date_nl=nl.date_nl,
        month_nl=nl.month_nl,
        number_nl=nl.number_nl,
        iban=nl.iban_nl,
        basis_label=nl.basis_label,
        basis_explanation=nl.basis_explanation,
    )
    env.globals["nl"] = nl  # the templates' few words of the vocabulary (nl.CORRECTION, ...)
    return env


@lru_cache(maxsize=1)
def _weasy():
    """(weasyprint module, FontConfiguration, the stylesheet), imported and parsed once."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    css = weasyprint.CSS(filename=str(templates_dir() / STYLESHEET), font_config=fonts)
    return weasyprint, fonts, css


@lru_cache(maxsize=1)
def _lean_html():
    """weasyprint.HTML with templates/documents-ua.css as its user-agent stylesheet instead of
    WeasyPrint's full HTML5 sheet (which WeasyPrint 62-70 returns from `HTML._ua_stylesheets`):
    the same PDF bytes for a statement, an invoice or a dossier (tested), 10-15 % less CPU. Where a
    WeasyPrint has no such method, the plain class (its own sheet, the same documents)."""
    weasyprint, fonts, _ = _weasy()
    if not hasattr(weasyprint.HTML, "_ua_stylesheets"):
        return weasyprint.HTML
    ua = weasyprint.CSS(filename=str(templates_dir() / UA_STYLESHEET), font_config=fonts)

    class LeanHTML(weasyprint.HTML):
        def _ua_stylesheets(self, forms=False):
            return [ua]
    return LeanHTML


def _dedupe_associated_files(document, pdf_document) -> None:
    """WeasyPrint 70 lists an attachment twice in the catalog's /AF (once from the name tree, once
    as a file specification); keep each reference once."""
    af = pdf_document.catalog.get("AF")
    if af:
        unique = list(dict.fromkeys(af))
        af.clear()
        af.extend(unique)


SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"


def epoch(day: date) -> int:
    """Midnight UTC of `day`, in seconds since 1970-01-01 (SOURCE_DATE_EPOCH's unit)."""
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())


@contextmanager
def source_date_epoch(day: date) -> Iterator[None]:
    """SOURCE_DATE_EPOCH = `epoch(day)` while the block runs; then as it was (or unset again).
    The environment is the process's: documents are rendered one at a time per process."""
    previous = os.environ.get(SOURCE_DATE_EPOCH)
    os.environ[SOURCE_DATE_EPOCH] = str(epoch(day))
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(SOURCE_DATE_EPOCH, None)
        else:
            os.environ[SOURCE_DATE_EPOCH] = previous


def pdf(html: str, attachments: Sequence = (), *, day: date, lean: bool = False) -> bytes:
    """HTML (laid out with templates/documents.css) as reproducible PDF/A-3b bytes; `day`: the
    document's date, which a font subset made by fontTools records (module docstring); `lean`:
    with the user-agent stylesheet of statements, invoices and dossiers (`_lean_html`)."""
    weasyprint, fonts, css = _weasy()
    html_class = _lean_html() if lean else weasyprint.HTML
    document = html_class(string=html, base_url=str(templates_dir()) + os.sep)
    with source_date_epoch(day):
        return document.write_pdf(
            stylesheets=[css],
            font_config=fonts,
            pdf_variant=PDF_VARIANT,
            attachments=list(attachments),
            finisher=_dedupe_associated_files,
        )


def _iso(d: date) -> str:
    return d.isoformat()


def _short(name: str) -> str:
    """'Gemeente Zwolle' -> 'Zwolle' for narrow table columns."""
    return name.removeprefix("Gemeente ")


# ---------------------------------------------------------------------------------------------
# Statement


def _basis_key(basis: str) -> tuple[int, str]:
    return (nl.basis_order(basis), basis)


def _line_row(line: StatementLine, names: dict[str, str]) -> dict:
    tags = [nl.flag_tag(f) for f in line.flags]
    if line.cross_region:
        tags.append(nl.CROSS_REGION[0])
    if line.correction:
        tags.append(nl.CORRECTION[0])
    return {
        "client": line.client,
        "bsn": line.bsn,
        "placement": line.placement,
        "product": line.product,
        "product_name": line.product_name,
        "region": line.region,
        "days": line.days,
        "amount": line.amount,
        "basis": line.basis,
        "status": nl.status_nl(line.status),
        "creditor": names.get(line.creditor, line.creditor),
        "tags": tags,
        "disputes": nl.disputes_nl(line.disputes) if line.disputes else None,  # beside the tag `betwist`
    }


# The identifiers of a line row (pseudonym, BSN where shown, placement, product code) share one
# monospaced cell: a table cell costs WeasyPrint about as much to lay out as its text, and a line
# row had nine (docs/PERFORMANCE.md, "Documents, third round"). Each identifier is padded to the
# widest of its table, so they stand in columns under a header padded alike.
MONO_MM = 1233 / 2048 * 7.5 * 25.4 / 72  # DejaVu Sans Mono's advance at 7.5pt, in mm (1.593)
ID_GAP = 2  # spaces between two identifiers
ID_FIELDS = (("client", "Cliënt"), ("bsn", "BSN"), ("placement", "Plaatsing"), ("product", "Product"))
ID_MAX = 64  # characters; the column is no wider than this, a longer row of identifiers wraps


def _ids(rows: list[dict], show_bsn: bool) -> dict:
    """Sets each row's `ids`; returns the identifier cell's header text and its column's width."""
    fields = [(key, label) for key, label in ID_FIELDS if show_bsn or key != "bsn"]
    widths = [max([len(label)] + [len(r[key] or "") for r in rows]) for key, label in fields]

    def join(values: list[str]) -> str:
        return (" " * ID_GAP).join(v.ljust(w) for v, w in zip(values, widths)).rstrip()
    for r in rows:
        r["ids"] = join([r[key] or "" for key, _ in fields])
    chars = min(sum(widths) + ID_GAP * (len(widths) - 1), ID_MAX)
    return {"head": join([label for _, label in fields]), "width": f"{chars * MONO_MM + 3:.1f}mm"}


def _groups(lines: Iterable[StatementLine], names: dict[str, str]) -> list[dict]:
    by_basis: dict[str, list[StatementLine]] = defaultdict(list)
    for line in lines:
        by_basis[line.basis].append(line)
    groups = []
    for basis in sorted(by_basis, key=_basis_key):
        group = by_basis[basis]
        groups.append({
            "basis": basis,
            "label": nl.basis_label(basis),
            "explanation": nl.basis_explanation(basis),
            "rows": (rows := [_line_row(line, names) for line in group]),
            "ids": _ids(rows, any(line.bsn for line in group)),
            "count": len(group),
            "days": sum(line.days for line in group),
            "amount": sum(line.amount for line in group),
        })
    return groups


def statement_context(st: Statement) -> dict:
    """Everything the statement template shows, computed here so the template only lays out."""
    muni = st.municipality
    names = {p.counterparty.code: _short(p.counterparty.name) for p in st.positions}
    names[muni.code] = _short(muni.name)

    regular = [line for line in st.lines if not line.correction]
    corrections = [line for line in st.lines if line.correction]
    shares = [s for s in st.pool_shares if not s.correction]
    share_corrections = [s for s in st.pool_shares if s.correction]

    groups = _groups(regular, names)
    summary = [
        {"label": g["label"], "explanation": g["explanation"], "count": g["count"],
         "days": g["days"], "amount": g["amount"]}
        for g in groups
    ]
    if shares:
        summary.append({"label": nl.basis_label("pool"), "explanation": "uw aandeel in de pool",
                        "count": len(shares), "days": None, "amount": sum(s.share for s in shares)})
    if corrections or share_corrections:
        summary.append({
            "label": "Correcties", "explanation": "verschil met eerder afgerekende bedragen",
            "count": len(corrections) + len(share_corrections),
            "days": sum(line.days for line in corrections),
            "amount": sum(line.amount for line in corrections) + sum(s.share for s in share_corrections),
        })
    summary_total = sum(row["amount"] for row in summary)
    if summary_total != st.payable:
        raise ValueError(
            f"statement {muni.code} {st.month}: lines and pool shares add up to {summary_total} "
            f"cents, the statement's payable is {st.payable}")

    def pool_row(s) -> dict:
        return {
            "agreement": s.agreement, "name": s.name, "region": s.region,
            "creditor": names.get(s.creditor, s.creditor), "total": s.total,
            "weight": nl.weight_nl(s.weight), "weight_sum": nl.weight_nl(s.weight_sum),
            "percent": nl.percent_nl(s.weight, s.weight_sum), "share": s.share,
            "budget": budget_pool_block(s, muni.code, names, st.month) if s.budget is not None else None,
        }

    cross: dict[tuple[str, str], dict] = {}
    for line in st.lines:
        if line.cross_region:
            row = cross.setdefault((line.region, line.creditor), {
                "region": line.region, "creditor": names.get(line.creditor, line.creditor),
                "count": 0, "days": 0, "amount": 0})
            row["count"] += 1
            row["days"] += line.days
            row["amount"] += line.amount
    cross_rows = [cross[k] for k in sorted(cross)]

    positions = [{
        "name": p.counterparty.name, "code": p.counterparty.code,
        "receivable": p.receivable, "payable": p.payable, "net": p.net,
    } for p in st.positions]

    creditor = creditor_summary(st)
    pool_rows = [pool_row(s) for s in shares]
    share_correction_rows = [pool_row(s) for s in share_corrections]

    bases = ({line.basis for line in st.lines} | {line.basis for line in st.creditor_lines}
             | {r.basis for r in st.receivables})
    if st.pool_shares:
        bases.add("pool")
    flags = sorted({f for line in st.lines for f in line.flags})
    legend_flags = [(nl.flag_tag(f), nl.flag_explanation(f)) for f in flags]
    if cross_rows:
        legend_flags.append(nl.CROSS_REGION)
    if corrections or share_corrections:
        legend_flags.append(nl.CORRECTION)

    open_disputes = [{"dispute": o.dispute, "placement": o.placement, "client": o.client or "–", "subject": o.subject,
                      "raised_on": nl.date_nl(o.raised_on), "at_stake": o.at_stake} for o in st.open_disputes]
    if (open_disputes or any(r.disputes for r in st.receivables)) and "contested" not in flags:
        legend_flags.append((nl.flag_tag("contested"), nl.flag_explanation("contested")))

    total_payable_to_others = sum(p.payable for p in st.positions)
    title = f"Afrekening {nl.month_nl(st.month)} – {muni.name}"
    return {
        "title": title,
        "author": "settlement " + st.engine_version,
        "description": f"Afrekening beschermd wonen en maatschappelijke opvang, {muni.name} ({muni.code}), "
        f"{nl.month_nl(st.month)}",
        "created": _iso(st.document_date),
        "body_class": "statement",
        "running_title": f"Afrekening {nl.month_nl(st.month)} · {muni.name} ({muni.code})",
        "st": st,
        "muni": muni,
        "month": nl.month_nl(st.month),
        "period": nl.range_nl(st.period_from, st.period_to),
        "document_date": nl.date_nl(st.document_date),
        "specification": specification_filename(st) if st.specification is not None else None,
        "summary": summary,
        "summary_total": summary_total,
        "groups": groups,
        "pools": pool_rows,
        "budget_pools": [r["budget"] for r in pool_rows if r["budget"] is not None],
        "budget_corrections": [r["budget"] for r in share_correction_rows if r["budget"] is not None],
        "pool_total": sum(s.share for s in shares),
        "cross": cross_rows,
        "cross_total": {k: sum(r[k] for r in cross_rows) for k in ("count", "days", "amount")},
        "corrections": (correction_rows := [_line_row(line, names) for line in corrections]),
        "corrections_ids": _ids(correction_rows, any(line.bsn for line in corrections)),
        "share_corrections": share_correction_rows,
        "corrections_days": sum(line.days for line in corrections),
        "corrections_lines_total": sum(line.amount for line in corrections),
        "share_corrections_total": sum(s.share for s in share_corrections),
        "positions": positions,
        "positions_total": {
            "receivable": sum(p.receivable for p in st.positions),
            "payable": total_payable_to_others,
            "net": sum(p.net for p in st.positions),
        },
        "payable_to_others": total_payable_to_others,
        "creditor": creditor,
        "legend_bases": [(nl.basis_label(b), nl.basis_legend(b, nl.basis_explanation(b)))
                         for b in sorted(bases, key=_basis_key)],
        "legend_products": sorted({(line.product, line.product_name) for line in st.lines}),
        "legend_flags": legend_flags,
        "open_disputes": open_disputes,
        "open_disputes_total": sum(o.at_stake for o in st.open_disputes),
        "open_words": {k: v.format(month=nl.month_nl(st.month), last=nl.date_nl(st.period_to))
                       for k, v in nl.OPEN_DISPUTES.items()},
    }


def budget_pool_block(s: PoolShare, code: str, names: dict[str, str], month: str) -> dict:
    """The arithmetic of a budget pool on a statement (RULES.md §5.3): C, B(Y), B(M), T, the key
    and the municipality's share, with what the sign means (a negative share is owed by the
    creditor). In a correction the figures are differences against what was finalised before."""
    creditor = names.get(s.creditor, s.creditor)
    words = nl.BUDGET_POOL
    year = month[:4]
    rows = [
        {"label": words["costs"], "amount": s.costs, "note": ""},
        {"label": words["budget_year"].format(year=year, creditor=creditor), "amount": s.budget_year, "note": ""},
        {"label": words["budget_month"].format(month=nl.month_nl(month)), "amount": s.budget_month,
         "note": "" if s.correction else words["month_rule"]},
        {"label": words["total"], "amount": s.total,
         "note": "" if s.correction else (words["surplus"] if s.total < 0 else words["deficit"] if s.total > 0 else "")},
    ]
    if s.correction:  # B(Y) is not a difference: its row would mislead
        rows = [r for i, r in enumerate(rows) if i != 1]
    if s.creditor == code:
        owed = "uw eigen aandeel als schuldeiser: blijft bij uw gemeente, op geen factuur"
        others = s.total - s.share
        rows.append({"label": "Aandelen van de andere deelnemers", "amount": others,
                     "note": ("u betaalt ze terug met creditnota's (zie ‘Als centrumgemeente’)" if others < 0 else
                              "u factureert ze (zie ‘Als centrumgemeente’)" if others > 0 else "")})
    elif s.share < 0:
        owed = f"te ontvangen van {creditor} (creditnota)"
    elif s.share > 0:
        owed = f"te betalen aan {creditor}"
    else:
        owed = ""
    key = (f"uw gewicht {nl.weight_nl(s.weight)} van {nl.weight_nl(s.weight_sum)} "
           f"({nl.percent_nl(s.weight, s.weight_sum)}) van het resultaat")
    return {"label": s.name or s.agreement, "named": s.name is not None, "agreement": s.agreement,
            "creditor": creditor, "correction": s.correction, "rows": rows, "key": key,
            "share": s.share, "owed": owed}


def _tally(lines: Sequence[StatementLine]) -> dict:
    return {"count": len(lines), "days": sum(line.days for line in lines),
            "amount": sum(line.amount for line in lines)}


def _sum(values: Iterable[int | None]) -> int | None:
    """The sum of the figures that exist; None when none does (a pool share has no lines or days)."""
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def creditor_summary(st: Statement) -> dict | None:
    """The section of a centrumgemeente (the creditor of its own placements' lines): where the
    costs of those placements go, and what each other municipality owes it per invoice and basis.
    Totals only, never a client: every line is on the paying municipality's own statement.
    None when the municipality is nobody's creditor this month.

    Raises ValueError when the figures do not reconcile with the statement's receivable."""
    if not st.creditor_lines and not st.receivables:
        return None
    code = st.municipality.code
    own = [line for line in st.creditor_lines if line.payer == code]
    others = [line for line in st.creditor_lines if line.payer is not None and line.payer != code]
    pooled: dict[str, list[StatementLine]] = defaultdict(list)
    for line in st.creditor_lines:
        if line.payer is None:
            pooled[line.pool or ""].append(line)
    pool_shares: dict[str, int] = defaultdict(int)
    for r in st.receivables:
        if r.basis == "pool":
            pool_shares[r.pool or ""] += r.amount

    rows = [dict(_tally(st.creditor_lines), label="Kosten van de plaatsingen die uw gemeente heeft gecontracteerd",
                 kind="head")]
    if own:
        rows.append(dict(_tally(own), label="waarvan voor rekening van uw gemeente zelf (onder ‘Kosten per grondslag’)",
                         kind="part"))
    pool_names = dict(st.agreement_names)
    for pool in sorted(pooled):
        rows.append(dict(_tally(pooled[pool]), label=f"waarvan in {nl.pool_nl(pool, pool_names.get(pool))}", kind="part"))
    if others:
        rows.append(dict(_tally(others), label="waarvan voor rekening van andere gemeenten", kind="part"))
    for pool in sorted(pool_shares):
        rows.append({"label": f"Aandelen van andere gemeenten in {nl.pool_nl(pool, pool_names.get(pool))}", "kind": "plus",
                     "count": None, "days": None, "amount": pool_shares[pool]})
    by_lines = sum(line.amount for line in others) + sum(pool_shares.values())
    by_invoice = sum(r.amount for r in st.receivables)
    if by_lines != st.receivable or by_invoice != st.receivable:
        raise ValueError(
            f"statement {code} {st.month}: the lines paid by others and their pool shares ({by_lines} cents) "
            f"and the receivables by invoice ({by_invoice}) do not reconcile with the receivable {st.receivable}")

    groups: list[dict] = []
    for r in st.receivables:
        if not groups or groups[-1]["code"] != r.debtor.code:
            groups.append({"code": r.debtor.code, "name": _short(r.debtor.name), "rows": []})
        group = groups[-1]
        label = nl.pool_share_nl(r.pool, pool_names.get(r.pool or "")) if r.basis == "pool" else nl.basis_label(r.basis)
        if r.correction:
            label += " (correctie)"
        if r.disputes:
            label += f", {nl.contested_tag(r.disputes)}"
        new_invoice = not group["rows"] or group["rows"][-1]["invoice_key"] != (r.invoice, r.correction)
        group["rows"].append({
            "invoice_key": (r.invoice, r.correction),
            "invoice": (r.invoice or "geen (saldo nul)") if new_invoice else "",
            "label": label, "count": r.lines, "days": r.days, "amount": r.amount,
        })
    for group in groups:
        group["count"] = _sum(row["count"] for row in group["rows"])
        group["days"] = _sum(row["days"] for row in group["rows"])
        group["amount"] = sum(row["amount"] for row in group["rows"])
    return {
        "rows": rows,
        "receivable": st.receivable,
        "groups": groups,
        "total": {"count": _sum(g["count"] for g in groups), "days": _sum(g["days"] for g in groups),
                  "amount": sum(g["amount"] for g in groups)},
    }


def statement_html(st: Statement) -> str:
    return jinja().get_template("statement.html").render(**statement_context(st))


def render_statement_pdf(st: Statement) -> bytes:
    """The afrekening of one municipality for one month, as PDF/A-3b bytes, with its specification
    (an xlsx of its own rows) embedded beside the printed pages."""
    return pdf(statement_html(st), specification_attachments(st), day=st.document_date, lean=True)


def specification_filename(st: Statement) -> str:
    return _safe(f"specificatie-{st.month}-{st.municipality.code}.xlsx")


def specification_attachments(st: Statement) -> list:
    """The statement's specification as a PDF/A-3 associated file (relationship /Supplement),
    dated by the document date as the xlsx itself is: the same statement, the same bytes."""
    if st.specification is None:
        return []
    from settlement.spreadsheet import to_xlsx
    weasyprint, _, _ = _weasy()
    stamp = datetime(st.document_date.year, st.document_date.month, st.document_date.day)
    return [weasyprint.Attachment(
        file_obj=io.BytesIO(to_xlsx(st.specification)), name=specification_filename(st),
        description=st.specification.title, created=stamp, modified=stamp, relationship="Supplement")]


# ---------------------------------------------------------------------------------------------
# Invoice


def invoice_context(inv: Invoice) -> dict:
    credit = inv.kind == "credit_note"
    title = nl.invoice_title(inv.kind)
    if credit:
        subtitle = f"Creditnota op factuur {inv.corrects}" if inv.corrects else None
    else:
        subtitle = f"Aanvullende factuur op {inv.corrects}" if inv.corrects else None
    return {
        "title": f"{title} {inv.number}",
        "author": inv.creditor.name,
        "description": f"{title} {inv.number} van {inv.creditor.name} aan {inv.debtor.name}, "
        f"{nl.month_nl(inv.month)}",
        "created": _iso(inv.issue_date),
        "body_class": "invoice",
        "running_title": f"{title} {inv.number} · {inv.creditor.name}",
        "inv": inv,
        "credit": credit,
        "doc_title": title,
        "subtitle": subtitle,
        "month": nl.month_nl(inv.month),
        "period": nl.range_nl(inv.period_from, inv.period_to),
        "issue_date": nl.date_nl(inv.issue_date),
        "due_date": nl.date_nl(inv.due_date),
        "payment": nl.payment_text(inv),
        "ruling_text": nl.ruling_carried_out(inv.rulings) if inv.rulings else None,
        "attachment": attachment_name(inv),
        "parties": [("Van", inv.creditor), ("Aan", inv.debtor)],
        "lines": [{"description": line.description, "basis": line.basis, "quantity": line.quantity,
                   "amount": line.amount, "contested": nl.contested_tag(line.disputes) if line.disputes else None}
                  for line in inv.lines],
        "contested_note": (None if not any(line.disputes for line in inv.lines) else
                           nl.contested_since_ruled() if inv.rulings else nl.flag_explanation("contested")),
    }


def invoice_html(inv: Invoice) -> str:
    return jinja().get_template("invoice.html").render(**invoice_context(inv))


def attachment_name(inv: Invoice) -> str:
    return f"{inv.number}.xml"


def render_invoice_pdf(inv: Invoice) -> bytes:
    """The factuur (or creditnota) as PDF/A-3b bytes with its SI-UBL XML embedded."""
    weasyprint, _, _ = _weasy()
    stamp = datetime(inv.issue_date.year, inv.issue_date.month, inv.issue_date.day)
    attachment = weasyprint.Attachment(
        file_obj=io.BytesIO(invoice_xml(inv)),
        name=attachment_name(inv),
        description=f"E-factuur (SI-UBL 2.0) {inv.number}",
        created=stamp,
        modified=stamp,
        relationship="Alternative",
    )
    return pdf(invoice_html(inv), [attachment], day=inv.issue_date, lean=True)


# ---------------------------------------------------------------------------------------------
# Many documents


_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def statement_filename(st: Statement) -> str:
    return _safe(f"afrekening-{st.month}-{st.municipality.code}.pdf")


def invoice_filename(inv: Invoice) -> str:
    return _safe(f"factuur-{inv.number}.pdf")


def _safe(name: str) -> str:
    if not _SAFE.match(name):
        raise ValueError(f"unsafe document file name {name!r}")
    return name


def _render_to(doc: Statement | Invoice, path: str) -> str:
    data = render_statement_pdf(doc) if isinstance(doc, Statement) else render_invoice_pdf(doc)
    from ..outputs import write_file
    write_file(Path(path), data)
    return path


# The cyclic garbage collector while documents are rendered. WeasyPrint allocates millions of small
# container objects per statement (boxes, computed styles, text runs) and keeps most of them alive
# until the document is written; at Python's default threshold (700) the collector runs thousands of
# times per statement, finds next to nothing, and takes about a quarter of the CPU. So: what exists
# before the first document is frozen out of every collection (gc.freeze), the automatic collector
# is nearly idle (a young collection per million new objects, a safety net for a runaway document),
# and one full collection after each document frees that document's reference cycles at once; it
# walks only what the document left behind. Measured in one worker on 84 documents of the national
# month (the 4 largest statements, 40 others, 40 invoices): time in the collector 22-23 s -> 6-7 s,
# CPU 76-78 s -> 51-53 s, resident memory unchanged (315 MB); a threshold of (100_000, 50, 100)
# without the collection after each document saves less (8-10 s in the collector) and nearly
# doubles a worker's memory (595 MB): the garbage of earlier documents waits for a full collection.
GC_THRESHOLD = (1_000_000, 1_000, 1_000)


def start_worker() -> None:
    """Initialise a render worker of `render_all`. What it inherited from the parent at the fork (the
    month's documents, the database layer, WeasyPrint and the parsed stylesheet) lives as long as the
    worker: frozen, no collection walks it (nor writes to its pages, which stay shared with the
    parent)."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def _render_in_worker(doc: Statement | Invoice, path: str) -> str:
    _render_to(doc, path)
    gc.collect()  # this document's reference cycles (everything older is frozen or already freed)
    return path


def render_all(
    statements: Iterable[Statement],
    invoices: Iterable[Invoice],
    out_dir: str | os.PathLike,
    processes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    command: str = "settle statements",
) -> list[Path]:
    """Render every statement and invoice into `out_dir` (created if needed) with a process pool
    of `processes` workers (default: every core); `afrekening-<month>-<code>.pdf` and
    `factuur-<number>.pdf`. Calls `progress(done, total)` after each document (and once with 0
    at the start). Returns the written paths, sorted. A file of those names that exists and that
    no settle command wrote is never replaced: `command` refuses before it renders anything
    (settlement.outputs)."""
    out = Path(out_dir)
    jobs: list[tuple[Statement | Invoice, str]] = []
    for st in statements:
        jobs.append((st, str(out / statement_filename(st))))
    for inv in invoices:
        jobs.append((inv, str(out / invoice_filename(inv))))
    names = [path for _, path in jobs]
    if len(set(names)) != len(names):
        duplicates = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"two documents would be written to the same file: {duplicates[0]}")
    outputs.claim(out, [Path(n).name for n in names], command)
    # The longest documents first, so no worker is left with a big one at the end.
    jobs.sort(key=lambda job: -(len(job[0].lines) + len(getattr(job[0], "receivables", ()))))
    total = len(jobs)
    if progress:
        progress(0, total)
    workers = max(1, min(processes or os.cpu_count() or 1, total))
    done = 0
    if workers == 1:
        # as in a worker, for as long as this call renders; then the caller's collector as it was
        freeze = gc.get_freeze_count() == 0
        threshold = gc.get_threshold()
        if freeze:
            gc.freeze()
        gc.set_threshold(*GC_THRESHOLD)
        try:
            for doc, path in jobs:
                _render_to(doc, path)
                gc.collect()
                done += 1
                if progress:
                    progress(done, total)
        finally:
            gc.set_threshold(*threshold)
            if freeze:
                gc.unfreeze()
    else:
        methods = multiprocessing.get_all_start_methods()
        fork = "fork" in methods
        context = multiprocessing.get_context("fork" if fork else None)
        if fork:  # import WeasyPrint and parse the stylesheets once, here, for every worker
            _weasy()
            _lean_html()
            jinja()
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=start_worker) as pool:
            pending = {pool.submit(_render_in_worker, doc, path) for doc, path in jobs}
            try:
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        future.result()  # re-raise a worker's error here
                        done += 1
                        if progress:
                            progress(done, total)
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
    return sorted(Path(p) for p in names)
