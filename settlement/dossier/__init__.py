"""The geschillencommissie's dossier: why each euro of a client's month landed where it did.

`gather` reads the runs, the selected lines (with traces), pools and only their clients' facts;
`build.dossier_context` words and computes everything in Dutch; `render_html` and `render_pdf`
lay it out with `templates/dossier.html` in the house style, through the documents' Jinja
environment and reproducible WeasyPrint rendering (`settlement.documents.render`). Without
`with_bsn` no BSN is read into the document.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from ..documents import render as _render
from ..documents.render import jinja, templates_dir
from .build import dossier_context
from .dispute import DisputeSelection, dispute_context, gather_dispute
from .gather import Selection, gather

__all__ = ["gather", "gather_dispute", "render_html", "render_pdf", "render_dispute_html", "render_dispute_pdf",
           "Selection"]

CSS = "dossier.css"
HOUSE_CSS = "documents.css"
Progress = Callable[[str, int, int], None]


def _css(*names: str) -> str:
    return "\n".join((templates_dir() / n).read_text(encoding="utf-8") for n in names)


def pdf(html: str, day: date) -> bytes:
    """A dossier's PDF, laid out with the statements' lean user-agent stylesheet (the same bytes
    as WeasyPrint's own sheet gives: tests/test_dossier.py)."""
    return _render.pdf(html, day=day, lean=True)


def render_html(sel: Selection, with_bsn: bool = False, progress: Progress | None = None) -> str:
    """A self-contained HTML dossier (the house style and the dossier's style inline).
    `progress(phase, done, total)`: see `build.dossier_context`."""
    return jinja().get_template("dossier.html").render(**dossier_context(sel, with_bsn, _css(HOUSE_CSS, CSS), progress))


def render_pdf(sel: Selection, with_bsn: bool = False, progress: Progress | None = None) -> bytes:
    """The dossier as PDF/A-3b; the same run(s) give the same bytes (dates from the runs, no clock).
    `progress`: as `render_html`, then "writing the PDF" 0 and 1 of 1 around the layout."""
    context = dossier_context(sel, with_bsn, _css(CSS), progress)
    html = jinja().get_template("dossier.html").render(**context)
    if progress is not None:
        progress("writing the PDF", 0, 1)
    data = pdf(html, day=date.fromisoformat(context["created"]))  # the runs' date, as the dossier shows
    if progress is not None:
        progress("writing the PDF", 1, 1)
    return data


def render_dispute_html(dsel: DisputeSelection, with_bsn: bool = False, progress: Progress | None = None) -> str:
    """The dossier of one dispute (`templates/dispute.html`: the placement's dossier with the
    dispute's own parts first), self-contained as `render_html`."""
    return jinja().get_template("dispute.html").render(**dispute_context(dsel, with_bsn, _css(HOUSE_CSS, CSS), progress))


def render_dispute_pdf(dsel: DisputeSelection, with_bsn: bool = False, progress: Progress | None = None) -> bytes:
    """The dossier of one dispute as PDF/A-3b, reproducible as `render_pdf`."""
    context = dispute_context(dsel, with_bsn, _css(CSS), progress)
    html = jinja().get_template("dispute.html").render(**context)
    if progress is not None:
        progress("writing the PDF", 0, 1)
    data = pdf(html, day=date.fromisoformat(context["created"]))  # the runs' date, as the dossier shows
    if progress is not None:
        progress("writing the PDF", 1, 1)
    return data
