"""The correction arithmetic (settlement.correction) on the demo's March 2024, without a database:
differences per (placement, payer, basis), reversals, and a `correction` block of figures and
codes that reads, renders and compares as the blocks stored with English sentences did."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone

import pytest

from settlement import correction, phrases, trace
from settlement.demo.run import DATA
from settlement.engine import Engine, MonthResult
from settlement.loader import load_dir
from settlement.periods import Month

MONTH = Month(2024, 3)

# the sentences blocks were stored with before the codes (settlement/service.py until the codes)
OLD_RULE = ("correction = amount now computed - sum of the amounts finalised before for this "
            "(placement, payer, basis) and month")
OLD_REASON = ("this payer and basis no longer arise for the placement in this month: "
              "the amount finalised before is reversed")
OLD_NO_LINE = "; the placement has no cost line in this month any more"
NL_REASON = ("Deze betaler en grondslag komen voor deze plaatsing in deze maand niet meer voor: het eerder "
             "definitief afgerekende bedrag wordt teruggedraaid.")


@dataclass
class Run:
    id: int
    kind: str
    finalized_at: datetime | None


FINAL = Run(7, "final", datetime(2024, 4, 2, 9, 30, tzinfo=timezone.utc))


@pytest.fixture(scope="module")
def month() -> MonthResult:
    ds, agreements = load_dir(DATA)
    return Engine(ds, agreements).settle(MONTH)


def codes(result: MonthResult) -> list[str]:
    return sorted({l.payer for l in result.lines if l.payer} | {c for p in result.pools for c in p.shares})


def test_the_same_amounts_give_no_correction(month):
    assert correction.correction(month, [(FINAL, month.lines, month.pools)], codes(month)) is None


def test_a_placement_that_no_longer_arises_is_reversed(month):
    """P00013 (31 days, EUR 4335.35, Dalfsen 0148 to Zwolle 0193) left out of the recomputation:
    one line of -31 days and EUR -4335.35, a credit note of Zwolle to Dalfsen."""
    (p13,) = [l for l in month.lines if l.placement == "P00013"]
    assert (p13.days, p13.amount, p13.payer, p13.creditor) == (31, 433535, "0148", "0193")
    new = MonthResult(MONTH, [l for l in month.lines if l.placement != "P00013"], month.pools)
    corr = correction.correction(new, [(FINAL, month.lines, month.pools)], codes(month))
    assert corr is not None and corr.pools == []
    (line,) = corr.lines
    assert (line.placement, line.payer, line.basis, line.days, line.amount) == ("P00013", "0148", "woonplaats", -31, -433535)
    assert ("0193", "0148", -433535) in corr.invoices
    block = line.trace["correction"]
    assert block["rule"] == "correction" and block["why"] == {"code": "correction_reversed",
                                                             "params": {"cost_line": False}}
    assert (block["earlier_amount"], block["new_amount"], block["amount"], block["days"]) == ("4335.35", "0.00",
                                                                                              "-4335.35", -31)
    assert block["earlier"] == [{"run": 7, "kind": "final", "finalized_at": "2024-04-02T09:30:00+00:00",
                                 "days": 31, "amount": "4335.35"}]
    assert not any(isinstance(v, str) and " " in v for v in block.values())  # no sentence in the trace
    assert line.trace["steps"] == [] and trace.decided_step(line.trace) is None
    assert correction.reason_text(block, "en") == OLD_REASON + OLD_NO_LINE
    assert correction.reason_text(block, "nl") == NL_REASON + " De plaatsing heeft in deze maand geen kosten meer."


def test_a_changed_amount_is_a_difference(month):
    """P00013 at EUR 4000.00 instead of 4335.35: one line of 0 days and EUR -335.35, no reason."""
    new = MonthResult(MONTH, [replace(l, amount=400000) if l.placement == "P00013" else l for l in month.lines],
                      month.pools)
    corr = correction.correction(new, [(FINAL, month.lines, month.pools)], codes(month))
    (line,) = corr.lines
    assert (line.days, line.amount) == (0, -33535)
    block = line.trace["correction"]
    assert "why" not in block and correction.reason_text(block) is None and not correction.reversed_line(block)
    assert correction.rule_text(block, "en") == OLD_RULE


def test_old_and_new_blocks_give_the_same_evidence_and_words(month):
    """A block stored with sentences and the same block with codes: one evidence for `settle
    verify`, one rendering in English and Dutch, one JSON block for `settle explain`."""
    new = MonthResult(MONTH, [l for l in month.lines if l.placement != "P00013"], month.pools)
    (line,) = correction.correction(new, [(FINAL, month.lines, month.pools)], codes(month)).lines
    for cost_line, tail in ((False, OLD_NO_LINE), (True, "")):
        coded = {**line.trace, "correction": {**line.trace["correction"],
                                              "why": {"code": "correction_reversed", "params": {"cost_line": cost_line}}}}
        block = {k: v for k, v in coded["correction"].items() if k != "why"}
        old = {**coded, "correction": {**block, "rule": OLD_RULE, "reason": OLD_REASON + tail}}
        assert trace.evidence(trace.read(trace.write(old))) == trace.evidence(trace.read(trace.write(coded)))
        assert trace.evidence(coded)["correction"]["reversed"] is True
        for lang in ("en", "nl"):
            assert correction.reason_text(old["correction"], lang) == correction.reason_text(coded["correction"], lang)
            assert correction.rule_text(old["correction"], lang) == correction.rule_text(coded["correction"], lang)
        assert correction.rendered(coded["correction"]) == old["correction"]  # explain --format json, as before
    difference = {**line.trace["correction"]}
    del difference["why"]
    old = {**difference, "rule": OLD_RULE}
    assert trace.evidence({"correction": old}) == trace.evidence({"correction": difference})
    assert trace.evidence({"correction": difference})["correction"]["reversed"] is False


def test_both_languages_say_the_correction_phrases():
    for cost_line in (True, False):
        assert phrases.say("en", "correction_reversed", {"cost_line": cost_line}).startswith(OLD_REASON)
        assert phrases.say("nl", "correction_reversed", {"cost_line": cost_line}).startswith(NL_REASON)
    assert phrases.say("en", "correction", {}) == OLD_RULE
    assert phrases.say("nl", "correction", {}).startswith("correctie = het bedrag dat nu volgt")
