"""The stored forms' JSON text (settlement.jsontext, made by orjson) is byte for byte what the
standard library's encoders wrote before: the lines hash of every stored run depends on it."""

import json

from hypothesis import given, settings, strategies as st

from settlement import jsontext, trace

_STD_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode
_STD_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

# Every character a text cell can hold and those it cannot (control characters, quotes, the
# backslash, non-characters, astral planes); lone surrogates cannot come out of UTF-8 input.
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
_scalar = st.none() | st.booleans() | st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1) | _text
_value = st.recursive(_scalar, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_text, inner, max_size=5),
                      max_leaves=40)


@settings(max_examples=400, deadline=None)
@given(_value)
def test_canonical_is_the_standard_librarys_sorted_compact_text(value):
    assert jsontext.canonical(value) == _STD_CANONICAL(value)


@settings(max_examples=400, deadline=None)
@given(_value)
def test_compact_is_the_standard_librarys_compact_text(value):
    assert jsontext.compact(value) == _STD_COMPACT(value)
    assert jsontext.compact_bytes(value) == _STD_COMPACT(value).encode("utf-8")


def test_the_characters_that_json_escapes_are_escaped_alike():
    every = "".join(chr(c) for c in range(0x3000) if not 0xD800 <= c < 0xE000) + "\U0001F600\U0010FFFF\uFFFE\uFFFF"
    assert jsontext.compact([every]) == _STD_COMPACT([every])
    assert '\\u001f' in jsontext.compact(["\x1f"]) and '\\"' in jsontext.compact(['"'])


def test_a_step_dict_encodes_as_its_plain_dict():
    step = trace.StepDict({"rule": "woonplaats", "outcome": "0193", "read": [{"file": "brp.csv", "line": 12}]})
    assert step.json() == _STD_CANONICAL(dict(step))


@settings(max_examples=400, deadline=None)
@given(_value)
def test_indented_is_the_standard_librarys_indented_text(value):
    assert jsontext.indented(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_the_export_is_the_standard_librarys_text_also_where_orjson_refuses():
    from settlement import export
    doc = {"b": [1, {"x": []}, {}], "a": "é\n", "n": None}
    assert export.dumps(doc) == json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    odd = {"k": {1: "one"}}  # a key json.dumps converts and orjson refuses
    assert export.dumps(odd) == json.dumps(odd, indent=2, ensure_ascii=False) + "\n"
