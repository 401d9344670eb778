"""JSON text of the stored forms, made by orjson (a C encoder, several times faster than the
standard library's for the traces of a national month) and byte for byte what the standard
library's encoders wrote before it (`tests/test_jsontext.py` compares them on generated values):

- `canonical(value)`: `json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))`;
- `compact(value)`: the same without sorting the keys.

Both are used only on values made of dicts with string keys, lists, tuples, strings, integers
within 64 bits, booleans and None; orjson refuses anything else (the standard library would have
refused it too, except integers beyond 64 bits, which no stored form holds: amounts are cents).
"""

from __future__ import annotations

from typing import Any

import orjson

_SORTED = orjson.OPT_SORT_KEYS
_dumps = orjson.dumps


def canonical(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text (non-ASCII characters as they are)."""
    return _dumps(value, option=_SORTED).decode("utf-8")


def compact(value: Any) -> str:
    """Keys in their order, no spaces, UTF-8 text."""
    return _dumps(value).decode("utf-8")


def compact_bytes(value: Any) -> bytes:
    """`compact(value)` encoded in UTF-8, without making the text."""
    return _dumps(value)


def indented(value: Any) -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False)`: keys in their order, two-space indent."""
    return _dumps(value, option=orjson.OPT_INDENT_2).decode("utf-8")
