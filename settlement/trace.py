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

`read` checks the format and upgrades a stored `settlement-trace/1` to the same in-memory form,
the way Alembic upgrades a schema; `write` gives the stored text (canonical JSON); `evidence`
is what `settle verify` compares.
"""

from __future__ import annotations

import json
from typing import Any

from . import RULES_VERSION, references
from .phrases import say

FORMAT = "settlement-trace/2"
FORMAT_V1 = "settlement-trace/1"
FORMATS = (FORMAT_V1, FORMAT)

SPLIT_METHOD = "largest remainder over days, ties to the earlier day range"

_ENCODE = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode
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

    __slots__ = ("_json", "_decided", "_plain")

    def json(self) -> str:
        try:
            return self._json
        except AttributeError:
            self._json = _ENCODE(self)
            return self._json


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
    if kind in ("placement", "product", "region", "region_members", "agreement") and rest:
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
    return out


def read(stored: str | dict[str, Any]) -> dict[str, Any]:
    """A stored trace (its text, or the parsed JSON) in the in-memory form of format 2."""
    t = json.loads(stored) if isinstance(stored, str) else stored
    fmt = t.get("format") if isinstance(t, dict) else None
    if fmt == FORMAT:
        return t
    if fmt == FORMAT_V1:
        return upgrade_v1(t)
    raise TraceFormatError(f"a trace of format {fmt!r} is not one this engine reads ({', '.join(FORMATS)})")


_NOT_EVIDENCE_STEP = ("reference", "version")


def evidence(t: dict[str, Any]) -> dict[str, Any]:
    """What `settle verify` compares of a (read) trace: the decision, and per step its id,
    outcome, reason code and parameters, records read and whether it decided; split, pool and
    correction by their figures. Not compared: citations, rule versions, wording."""
    out: dict[str, Any] = {k: v for k, v in t.items() if k not in ("format", "steps", "split", "pool", "correction")}
    out["steps"] = [{k: v for k, v in s.items() if k not in _NOT_EVIDENCE_STEP} for s in t.get("steps", [])]
    if "split" in t:
        out["split"] = {k: v for k, v in t["split"].items() if k != "method"}
    if "pool" in t:
        out["pool"] = {k: v for k, v in t["pool"].items() if k != "arithmetic"}
    if "correction" in t:
        # the rule and the reason are words (stored before the codes) or codes (`why`): not compared
        out["correction"] = {k: v for k, v in t["correction"].items() if k not in ("rule", "reason", "why")}
        out["correction"]["reversed"] = bool(t["correction"].get("reason") or t["correction"].get("why"))
    return out
