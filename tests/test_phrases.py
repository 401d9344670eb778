"""Every reason a rule records can be said in English and in Dutch."""

from settlement import phrases, trace
from settlement.demo.run import DATA, months
from settlement.engine import Engine
from settlement.loader import load_dir


def test_both_languages_know_the_same_phrases():
    assert set(phrases.EN) == set(phrases.NL)


def test_every_recorded_reason_renders_in_both_languages():
    ds, agreements = load_dir(DATA)
    engine = Engine(ds, agreements)
    codes = set()
    for m in months():
        for line in engine.settle(m).lines:
            for step in line.trace["steps"]:
                if "why" in step:
                    code, params = step["why"]["code"], step["why"]["params"]
                    codes.add(code)
                    if "how" in params:  # reentry names why the earlier placement's municipality is responsible
                        codes.add(params["how"]["code"])
                    assert "reason" not in step  # format 2: rendered at read time, never stored
                    assert phrases.say("en", code, params) == trace.reason(step, "en")
                    assert phrases.say("nl", code, params)
    # the demo exercises nearly every phrase; those it cannot reach are named here
    assert set(phrases.EN) - codes <= {"ir_not_valid", "pool_not_valid", "pool_other_domain", "institution_walk_fails",
                                       "responsible_pooled", "institution_none", "pool_other_status", "ir_not_party",
                                       "correction", "correction_reversed",  # correction lines: tests/test_correction.py
                                       # the demo's ruling is on a new placement without a later one:
                                       "ruling_not_new", "responsible_ruling"}  # tests/test_rulings.py
    assert RULING_CODES - {"ruling_not_new", "responsible_ruling"} <= codes  # its dispute and ruling (C0021)


RULING_CODES = {"ruling_decides", "ruling_not_yet", "ruling_not_new", "responsible_ruling", "dispute_open",
                "dispute_not_open"}


def test_dutch_dates():
    assert phrases.nl_date("2024-03-01") == "1 maart 2024"
    assert phrases.say("nl", "ir_late", {"payer": "0106", "notified_on": "2023-07-10", "deadline": "2023-06-19"}) == (
        "0106 is gemeld op 10 juli 2023, na de termijn (uiterlijk 19 juni 2023)")
