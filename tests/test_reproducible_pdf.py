"""Two renders of the same document give the same bytes whatever the wall clock says, also where
WeasyPrint subsets the fonts with fontTools (no HarfBuzz subsetter, as after a `pip install` on a
system without Debian's libharfbuzz-subset0): fontTools stamps a subset's `head.modified` with the
current time unless SOURCE_DATE_EPOCH is set, so the renderer sets it from the document's date.

WeasyPrint 70 chooses in `weasyprint.pdf.fonts.Font.subset`: HarfBuzz when the module-level
`harfbuzz_subset` library was found (and HarfBuzz is 4.1.0 or newer), else fontTools. The tests
set `harfbuzz_subset` to None, so fontTools subsets on every machine, and count its calls; the
wall clock is `time.time`, which fontTools reads (fontTools.misc.timeTools.timestampNow). Where
the HarfBuzz subsetter is installed (CI installs it), the same holds on its path.
"""

from __future__ import annotations

import os
import time
from contextlib import nullcontext
from datetime import date

import pytest
from weasyprint.pdf import fonts as weasy_fonts

from settlement.documents import render
from tests.builders import CREDIT_NOTE, INVOICE

JAN_2030, JUL_2031 = 1_893_456_000.0, 1_941_000_000.0  # two wall-clock times, far apart


@pytest.fixture
def fonttools(monkeypatch):
    """fontTools subsets every font; returns the list its calls are counted in."""
    calls = []
    original = weasy_fonts.Font._fonttools_subset

    def counted(self, *args, **kwargs):
        calls.append(self.family)
        return original(self, *args, **kwargs)
    monkeypatch.setattr(weasy_fonts, "harfbuzz_subset", None)
    monkeypatch.setattr(weasy_fonts.Font, "_fonttools_subset", counted)
    return calls


def at(wall_clock: float, make):
    """make(), the wall clock (time.time) at `wall_clock` meanwhile."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(time, "time", lambda: wall_clock)
        return make()


def test_the_epoch_is_midnight_utc_of_the_documents_date():
    # 2024-04-05: 19,818 days after 1970-01-01 (54 years, 13 of them leap years: 54 x 365 + 13 = 19,723,
    # then 31 + 29 + 31 + 4 = 95 days of 2024), x 86,400 s = 1,712,275,200
    assert render.epoch(date(2024, 4, 5)) == 1_712_275_200
    assert INVOICE.issue_date == date(2024, 4, 5)


@pytest.mark.parametrize("doc", [INVOICE, CREDIT_NOTE], ids=["invoice", "credit note"])
def test_two_renders_at_different_times_with_fonttools_give_the_same_bytes(fonttools, doc):
    first = at(JAN_2030, lambda: render.render_invoice_pdf(doc))
    assert fonttools, "fontTools subset no font"
    assert at(JUL_2031, lambda: render.render_invoice_pdf(doc)) == first


def test_a_statement_too(fonttools):
    from tests.test_render import KAMPEN_STATEMENT
    first = at(JAN_2030, lambda: render.render_statement_pdf(KAMPEN_STATEMENT))
    assert at(JUL_2031, lambda: render.render_statement_pdf(KAMPEN_STATEMENT)) == first


def test_without_the_epoch_the_fonttools_path_stamps_the_wall_clock(monkeypatch, fonttools):
    """What the tests above guard against: the renderer's SOURCE_DATE_EPOCH taken away, the same
    document rendered at two times differs."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.setattr(render, "source_date_epoch", lambda day: nullcontext())
    assert at(JAN_2030, lambda: render.render_invoice_pdf(INVOICE)) != at(JUL_2031, lambda: render.render_invoice_pdf(INVOICE))


def test_the_environment_is_as_it_was_after_a_render(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    seen = []
    original = weasy_fonts.Font.subset

    def spy(self, *args, **kwargs):
        seen.append(os.environ.get("SOURCE_DATE_EPOCH"))
        return original(self, *args, **kwargs)
    monkeypatch.setattr(weasy_fonts.Font, "subset", spy)
    render.render_invoice_pdf(INVOICE)
    assert seen and set(seen) == {"1712275200"}  # 2024-04-05, the issue date, while it rendered
    assert "SOURCE_DATE_EPOCH" not in os.environ
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "42")
    render.render_invoice_pdf(INVOICE)
    assert os.environ["SOURCE_DATE_EPOCH"] == "42"


@pytest.mark.skipif(weasy_fonts.harfbuzz_subset is None, reason="needs Debian's libharfbuzz-subset0 (CI installs it)")
def test_two_renders_at_different_times_with_harfbuzz_give_the_same_bytes(monkeypatch):
    calls = []
    original = weasy_fonts.Font._harfbuzz_subset

    def counted(self, *args, **kwargs):
        calls.append(self.family)
        return original(self, *args, **kwargs)
    monkeypatch.setattr(weasy_fonts.Font, "_harfbuzz_subset", counted)
    first = at(JAN_2030, lambda: render.render_invoice_pdf(INVOICE))
    assert calls, "HarfBuzz subset no font"
    assert at(JUL_2031, lambda: render.render_invoice_pdf(INVOICE)) == first
