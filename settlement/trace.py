"""Traces (RULES.md §7, docs/TRACE.md): the only module that writes, reads and upgrades them.

A trace of format `settlement-trace/2` holds evidence only: per step the rule's stable id (`rule`,
and `kind` for an agreement's step: the agreement kind and its instance), the rule's `version`, a
`reference` KEY into `settlement.references`, the records it read as typed keys
(`{"record": {"file": "brp.csv", "line": 12}, ...the values it used}`), its `outcome`, the reason
as a phrase code with parameters (`why`), `decided: true` on exactly the step that decided the
line, and `depends_on` keys in OpenFisca's `name<period>` style (a reentry step depends on
`decision<P00020>`, the decision of the earlier placement). No sentence and no citation prose:
`explain`, the dossier and the documents render them at read time (`reason`, `reference_text`,
`record_label`), so a new wording changes no stored trace.

Steps are stored once per run (`write_shared`): a line's stored trace holds, in place of each
step and of its pool block, a PART KEY (`"#"` and the first 16 hex digits of the SHA-256 of the
part's canonical JSON), and the run holds each part's text once (since schema 0011 all of them in
one compressed row of `trace_bundle`: `bundle`; before, a row each in `trace_part`). The steps
of one placement-month, the agreement steps that did not concern a care region and a pool's
arithmetic are then stored once, however many lines they explain. Content addressing keeps the
stored form independent of how the month was settled (one process or several). A trace stored
with its steps in place (every run before this) reads the same.

`read` checks the format and upgrades a stored `settlement-trace/1` to the same in-memory form,
the way Alembic upgrades a schema, and puts the parts back in their place; `write` gives the
whole trace as one text (canonical JSON); `evidence` is what `settle verify` compares.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from typing import Any, Collection, Mapping

from . import RULES_VERSION, jsontext, references
from .phrases import say

FORMAT = "settlement-trace/2"
FORMAT_V1 = "settlement-trace/1"
FORMATS = (FORMAT_V1, FORMAT)

# The descriptive fields hold codes (`phrases.term` renders them): how a line's amount was
# rounded (or that a declaration replaced it), how a split divides the days, how a pool divides
# its total. An interval's formula is not stored: price, days and unit say it (`formula`).
ROUNDING = "half_away_from_zero"
DECLARATION = "declaration_replaces_amount"
SPLIT_METHOD = "largest_remainder_days"
POOL_ARITHMETIC = "largest_remainder_weights"

# The sentences the engine stored in those fields before they became codes (every
# settlement-trace/1 trace, and the format-2 traces written before): `read` maps them to their
# codes. Frozen: never edit a text here.
PROSE_CODES = {
    "half away from zero, once per line": ROUNDING,
    "declaration replaces the computed amount": DECLARATION,
    "largest remainder over days, ties to the earlier day range": SPLIT_METHOD,
    ("share = floor(total x weight / sum of weights), remaining cents to the largest remainders, ties to the "
     "lower municipality code"): POOL_ARITHMETIC,
}

_ENCODE = jsontext.canonical  # what json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")) writes
_FILES = ("brp.csv", "applications.csv", "notifications.csv")


class TraceFormatError(ValueError):
    """A stored trace of a format this engine does not read."""


# ---------------------------------------------------------------------------------------------
# Steps


class StepDict(dict):
    """A step as it appears in a trace: a plain dict (JSON-shaped) that also carries its own
    canonical JSON text, computed once. One rule evaluation shared by many lines (an agreement
    that does not concern a care region, a placement's §4.4 decision in every month) is built and
    encoded once; `write` joins the texts. Never mutated once built."""

    __slots__ = ("_json", "_decided", "_plain", "_key")

    def json(self) -> str:
        try:
            return self._json
        except AttributeError:
            self._json = _ENCODE(self)
            return self._json

    def key(self) -> str:
        """The step's part key (`part_key` of its text), computed once."""
        try:
            return self._key
        except AttributeError:
            self._key = part_key(self.json())
            return self._key


PART_PREFIX = "#"


def part_key(text: str) -> str:
    """The key under which a part (a step, or a pool block) of canonical JSON `text` is stored
    once per run: `#` and the first 16 hex digits of its SHA-256. A key names its content: the
    lines hash covers both the keys in the lines and the parts' texts."""
    return PART_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def record_key(record: str) -> dict[str, Any]:
    """A record id as the engine names it (`brp.csv:12`, `placement P00020`, `declaration P00020
    2024-03`, `tariff BW-NABIJ/leeuwarden`, ...) as a typed key."""
    for f in _FILES:
        if record.startswith(f + ":"):
            return {"file": f, "line": int(record[len(f) + 1:])}
    kind, _, rest = record.partition(" ")
    if kind == "declaration":
        placement, _, month = rest.partition(" ")
        return {"declaration": placement, "month": month}
    if kind == "tariff":
        product, _, region = rest.rpartition("/")
        return {"tariff": product, "region": region}
    if kind in ("placement", "product", "region", "region_members", "agreement", "ruling", "dispute") and rest:
        return {kind: rest}
    return {"id": record}


def record_type(key: dict[str, Any]) -> str:
    """What a typed key names: a file (`brp.csv`, ...) or `placement`, `declaration`, `tariff`,
    `product`, `region`, `region_members`, `agreement`."""
    if "file" in key:
        return str(key["file"])
    if "declaration" in key:
        return "declaration"
    if "tariff" in key:
        return "tariff"
    return next(iter(key))


def record_label(key: dict[str, Any]) -> str:
    """A typed key as one short label: `brp.csv:12`, `placement P00020`, ..."""
    t = record_type(key)
    if "file" in key:
        return f"{key['file']}:{key['line']}"
    if t == "declaration":
        return f"declaration {key['declaration']} {key['month']}"
    if t == "tariff":
        return f"tariff {key['tariff']}/{key['region']}"
    if t == "id":
        return str(key["id"])
    return f"{t} {key[t]}"


def _read(read: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in read:
        rec = r.get("record")
        if isinstance(rec, str):
            r = {**r, "record": record_key(rec)}
        out.append(r)
    return out


def _depends_on(rule: str, applies: bool, outcome: dict[str, Any] | None) -> list[str] | None:
    if rule == "reentry" and applies and outcome and outcome.get("earlier_placement"):
        return [f"decision<{outcome['earlier_placement']}>"]
    return None


def step(rule: str, kind: str | None, reference: str, applies: bool, read: list[dict[str, Any]],
         outcome: dict[str, Any] | None, why: tuple[str, dict[str, Any]] | None,
         version: str = RULES_VERSION) -> StepDict:
    """One rule evaluation in format 2. `reference`: a key of `settlement.references`; `read`:
    the records as the rule names them (their `record` ids become typed keys)."""
    d = StepDict(rule=rule, version=version, reference=reference, applies=applies, read=_read(read))
    if kind is not None:
        d["kind"] = kind
    if outcome is not None:
        d["outcome"] = outcome
    if why is not None:
        d["why"] = {"code": why[0], "params": why[1]}
    deps = _depends_on(rule, applies, outcome)
    if deps:
        d["depends_on"] = deps
    return d


def step_id(s: dict[str, Any]) -> str:
    """The step's stable id: the rule, or `kind:instance` for an agreement's step."""
    return f"{s['kind']}:{s['rule']}" if s.get("kind") else str(s["rule"])


def deciding(basis: str, steps: list[dict[str, Any]]) -> int | None:
    """The index of the step that decided a line of `basis` (RULES.md §4-§5): for
    `late_notification` the interregional step that shifted the days, for `pool` the agreement
    step that pooled the line, else the step of the rule named by the basis that applied."""
    for i, s in enumerate(steps):
        if not s.get("applies"):
            continue
        o = s.get("outcome") or {}
        if basis == "late_notification":
            late = (s.get("why") or {}).get("code") in ("ir_late", "ir_never")
            if o.get("shifted_to") is not None or (late and o.get("late_notification") == "shift"):
                return i
        elif basis == "pool":
            if o.get("basis") == "pool":
                return i
        elif s["rule"] == basis:
            return i
    return None


def _plain(s: dict[str, Any]) -> dict[str, Any]:
    if not s.get("decided"):
        return s
    plain = getattr(s, "_plain", None) if isinstance(s, StepDict) else None
    if plain is None:
        plain = StepDict({k: v for k, v in s.items() if k != "decided"})
        if isinstance(s, StepDict):
            s._plain = plain
    return plain


def _decided(s: dict[str, Any]) -> dict[str, Any]:
    if isinstance(s, StepDict):
        try:
            return s._decided
        except AttributeError:
            s._decided = StepDict({**s, "decided": True})
            s._decided._plain = s
            return s._decided
    return {**s, "decided": True}


def line_steps(basis: str, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps of one line of `basis`: the placement-month's steps with `decided: true` on
    exactly the deciding one (the others shared, unchanged, by every line)."""
    plain = [_plain(s) for s in steps]
    i = deciding(basis, plain)
    if i is not None:
        plain[i] = _decided(plain[i])
    return plain


def decided_step(trace: dict[str, Any]) -> dict[str, Any] | None:
    """The step of a (read) trace that decided its line, or None (a reversed correction line)."""
    return next((s for s in trace.get("steps", []) if s.get("decided")), None)


def basis_of(trace: dict[str, Any]) -> str | None:
    return next((v for k, v in trace.get("decision", {}).items() if k.startswith("basis<")), None)


# ---------------------------------------------------------------------------------------------
# Rendering at read time


def reason(s: dict[str, Any], lang: str = "en") -> str | None:
    """The step's reason as a sentence of the phrasebook, or None (the amount step)."""
    why = s.get("why")
    return say(lang, why["code"], why["params"]) if why else None


def reference_text(s: dict[str, Any]) -> str:
    """The step's source as the catalogue cites it."""
    return references.text(s["reference"])


def formula(interval: dict[str, Any], unit: str, days_in_month: int) -> str:
    """An amount interval's formula, from its figures: `price x days` for a tariff per day,
    `price x days / days-in-month` for one per month."""
    f = f"{interval['price']} x {interval['days']}"
    return f if unit == "day" else f"{f} / {days_in_month}"


# ---------------------------------------------------------------------------------------------
# Writing and reading


def write(trace: dict[str, Any]) -> str:
    """The stored form of a trace: canonical JSON (sorted keys, no spaces, UTF-8), assembled
    from the steps' own texts (`StepDict.json`), which a step shared by many lines makes once."""
    parts = []
    for key in sorted(trace):
        value = trace[key]
        if key == "steps" and isinstance(value, list):
            text = "[" + ",".join(s.json() if isinstance(s, StepDict) else _ENCODE(s) for s in value) + "]"
        else:
            text = _ENCODE(value)
        parts.append(_ENCODE(key) + ":" + text)
    return "{" + ",".join(parts) + "}"


def _part(value: Any, parts: dict[str, str]) -> str:
    """The key of `value` (a step or a pool block), its text added to `parts`."""
    if isinstance(value, StepDict):
        key, text = value.key(), value.json()
    else:
        text = _ENCODE(value)
        key = part_key(text)
    parts[key] = text
    return key


def write_shared(trace: dict[str, Any], parts: dict[str, str]) -> str:
    """The stored form of a trace whose steps and pool block are stored once per run: the text of
    `write` with each of them replaced by its part key; the parts' texts are added to `parts`
    (key -> text), which the run stores beside its lines (table `trace_part`)."""
    out = {k: v for k, v in trace.items() if k not in ("steps", "pool")}
    out["steps"] = [_part(s, parts) for s in trace.get("steps", [])]
    if "pool" in trace:
        out["pool"] = _part(trace["pool"], parts)
    return _ENCODE(out)


# How a run's parts are stored since schema 0011: one text, a line per part (its 17-character key
# and its canonical JSON, which holds no raw line break), sorted by key, compressed with zlib.
BUNDLE = "zlib:parts/1"
BUNDLE_LEVEL = 3  # a national month: 25 MB of parts to 3.4 MB in 0.13 s (level 6: 2.7 MB in 0.33 s)
_KEY_LENGTH = len(PART_PREFIX) + 16


def bundle(parts: Mapping[str, str]) -> bytes:
    """The stored form of a run's parts (key -> text): one compressed text (`BUNDLE`)."""
    for key in parts:
        if len(key) != _KEY_LENGTH or not key.startswith(PART_PREFIX):  # pragma: no cover - part_key makes them
            raise ValueError(f"not a part key: {key!r}")
    text = "".join([k + parts[k] + "\n" for k in sorted(parts)])
    return zlib.compress(text.encode("utf-8"), BUNDLE_LEVEL)


def unbundle(encoding: str, body: bytes, keys: Collection[str] | None = None) -> dict[str, str]:
    """The parts (key -> text) of a stored bundle: all of them, or only `keys`."""
    if encoding != BUNDLE:
        raise TraceFormatError(f"trace parts stored as {encoding!r}, which this engine does not read")
    try:
        lines = zlib.decompress(body).decode("utf-8").split("\n")
    except (zlib.error, UnicodeDecodeError) as e:
        raise TraceFormatError(f"a stored bundle of trace parts is damaged ({e})") from None
    if lines[-1] != "":
        raise TraceFormatError("a stored bundle of trace parts does not end with a line break")
    lines.pop()
    if keys is None:
        return {line[:_KEY_LENGTH]: line[_KEY_LENGTH:] for line in lines}
    wanted = set(keys)
    return {line[:_KEY_LENGTH]: line[_KEY_LENGTH:] for line in lines if line[:_KEY_LENGTH] in wanted}


class MissingPartError(TraceFormatError):
    """A stored trace names a part that its run does not hold."""


class Parts:
    """The stored parts of one run (key -> text), each parsed once when first asked for, so that
    the lines of a run share their step objects in memory too."""

    def __init__(self, texts: Mapping[str, str]):
        self.texts = texts
        self._parsed: dict[str, Any] = {}

    def __call__(self, key: str) -> Any:
        try:
            return self._parsed[key]
        except KeyError:
            pass
        try:
            text = self.texts[key]
        except KeyError:
            raise MissingPartError(f"a stored trace names part {key}, which its run does not hold") from None
        value = self._parsed[key] = json.loads(text)
        return value


NO_PARTS = Parts({})


def _resolved(t: dict[str, Any], parts: Parts) -> dict[str, Any]:
    steps = t.get("steps")
    pool = t.get("pool")
    if not (isinstance(pool, str) or (steps and any(isinstance(s, str) for s in steps))):
        return t
    out = dict(t)
    if steps:
        out["steps"] = [parts(s) if isinstance(s, str) else s for s in steps]
    if isinstance(pool, str):
        out["pool"] = parts(pool)
    return out


def _upgrade_step_v1(s: dict[str, Any]) -> dict[str, Any]:
    kind = None
    for r in s.get("read", []):
        rec = r.get("record")
        if isinstance(rec, str) and rec == f"agreement {s['rule']}":
            kind = r.get("kind")
    why = s.get("why")
    ref = s.get("reference", "")
    return dict(step(s["rule"], kind, references.V1_TEXTS.get(ref, ref), s["applies"], s.get("read", []),
                     s.get("outcome"), (why["code"], why["params"]) if why else None, version="1"))


def upgrade_v1(t: dict[str, Any]) -> dict[str, Any]:
    """A `settlement-trace/1` trace in format 2: the record ids as typed keys, the citations as
    catalogue keys, the English `reason` dropped (its code and parameters are there), `decided`
    and `depends_on` added. Rules version 1 is the only one format 1 was written with."""
    out = dict(t)
    out["format"] = FORMAT
    steps = [_upgrade_step_v1(s) for s in t.get("steps", [])]
    basis = basis_of(t)
    out["steps"] = line_steps(basis, steps) if basis else steps
    return _codes(out)


def _code(value: Any) -> Any:
    return PROSE_CODES.get(value, value) if isinstance(value, str) else value


def _amount_codes(s: dict[str, Any]) -> dict[str, Any]:
    o = s.get("outcome")
    if not o or not ("computation" in o or o.get("rounding") in PROSE_CODES
                     or any("formula" in iv for iv in o.get("intervals", ()))):
        return s
    o = {k: _code(v) for k, v in o.items()}
    if "intervals" in o:
        o["intervals"] = [{k: v for k, v in iv.items() if k != "formula"} for iv in o["intervals"]]
    return {**s, "outcome": o}


def _codes(t: dict[str, Any]) -> dict[str, Any]:
    """A trace with its descriptive fields as codes: a sentence stored before they were codes
    (`PROSE_CODES`) becomes its code, an interval's `formula` is dropped. A trace written with
    codes is returned as it is (nothing copied)."""
    steps = t.get("steps") or []
    i = next((i for i, s in enumerate(steps) if s.get("rule") == "amount"), None)
    amount = _amount_codes(steps[i]) if i is not None else None
    split, pool = t.get("split"), t.get("pool")
    old_split = split is not None and split.get("method") in PROSE_CODES
    old_pool = pool is not None and pool.get("arithmetic") in PROSE_CODES
    if not (old_split or old_pool or (i is not None and amount is not steps[i])):
        return t
    out = dict(t)
    if i is not None and amount is not steps[i]:
        out["steps"] = [*steps[:i], amount, *steps[i + 1:]]
    if old_split:
        out["split"] = {**split, "method": PROSE_CODES[split["method"]]}
    if old_pool:
        out["pool"] = {**pool, "arithmetic": PROSE_CODES[pool["arithmetic"]]}
    return out


def part_keys(stored: str | dict[str, Any]) -> list[str]:
    """The part keys a stored trace names (none for a trace stored whole)."""
    t = json.loads(stored) if isinstance(stored, str) else stored
    keys = [s for s in t.get("steps", ()) if isinstance(s, str)]
    if isinstance(t.get("pool"), str):
        keys.append(t["pool"])
    return keys


def read(stored: str | dict[str, Any], parts: Parts | Mapping[str, str] | None = None) -> dict[str, Any]:
    """A stored trace (its text, or the parsed JSON) in the in-memory form of format 2, its parts
    (the run's, `Parts` or key -> text) back in their place."""
    t = json.loads(stored) if isinstance(stored, str) else stored
    fmt = t.get("format") if isinstance(t, dict) else None
    if fmt == FORMAT:
        return _codes(_resolved(t, parts if isinstance(parts, Parts) else Parts(parts) if parts else NO_PARTS))
    if fmt == FORMAT_V1:
        return upgrade_v1(t)
    raise TraceFormatError(f"a trace of format {fmt!r} is not one this engine reads ({', '.join(FORMATS)})")


_NOT_EVIDENCE_STEP = ("reference", "version")
_NOT_EVIDENCE_AMOUNT = ("rounding", "computation")  # descriptive: a sentence once, a code now
_NOT_EVIDENCE_INTERVAL = ("formula",)  # descriptive: price, days and unit say it


def _step_evidence(s: dict[str, Any]) -> dict[str, Any]:
    e = {k: v for k, v in s.items() if k not in _NOT_EVIDENCE_STEP}
    if s.get("rule") == "amount" and isinstance(s.get("outcome"), dict):
        o = {k: v for k, v in s["outcome"].items() if k not in _NOT_EVIDENCE_AMOUNT}
        if "intervals" in o:
            o["intervals"] = [{k: v for k, v in iv.items() if k not in _NOT_EVIDENCE_INTERVAL}
                              for iv in o["intervals"]]
        e["outcome"] = o
    return e


def evidence(t: dict[str, Any]) -> dict[str, Any]:
    """What `settle verify` compares of a (read) trace: the decision, and per step its id,
    outcome, reason code and parameters, records read and whether it decided; split, pool and
    correction by their figures. Not compared: citations, rule versions, wording, and the
    descriptive fields (the amount's `rounding` and `computation`, an interval's `formula`, the
    split's `method`, the pool's `arithmetic`), which held sentences before they held codes."""
    out: dict[str, Any] = {k: v for k, v in t.items() if k not in ("format", "steps", "split", "pool", "correction")}
    out["steps"] = [_step_evidence(s) for s in t.get("steps", [])]
    if "split" in t:
        out["split"] = {k: v for k, v in t["split"].items() if k != "method"}
    if "pool" in t:
        out["pool"] = {k: v for k, v in t["pool"].items() if k != "arithmetic"}
    if "correction" in t:
        # the rule and the reason are words (stored before the codes) or codes (`why`): not compared
        out["correction"] = {k: v for k, v in t["correction"].items() if k not in ("rule", "reason", "why")}
        out["correction"]["reversed"] = bool(t["correction"].get("reason") or t["correction"].get("why"))
    return out
