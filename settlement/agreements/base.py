"""Agreements (RULES.md §5): data in agreements.toml, one class per kind.

A kind registers itself by subclassing `Agreement` with a `kind` name. The engine asks every
agreement whether it claims a line (`evaluate`); more than one claim is an error, not a silent
first match. A new kind is a new module; nothing else changes: the kind brings its own words too,
registered with it (the reasons of its steps in `phrases`, its source in `citation`, its Dutch
name in `title_nl` and how the dossier shows its terms in `explain_nl`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from .. import phrases as _phrases
from .. import references as _references
from ..rules.base import Share, Step, version_of

if TYPE_CHECKING:
    from ..facts import Dataset, Placement, Product
    from ..periods import Month

KINDS: dict[str, type["Agreement"]] = {}


@dataclass(frozen=True)
class Case:
    """What an agreement may look at for one placement-month."""

    ds: "Dataset"
    placement: "Placement"
    product: "Product"
    month: "Month"
    status: str
    lo: date
    hi: date


@dataclass(frozen=True)
class Wording:
    """What a kind may use to word one of its steps in the dossier (`Agreement.explain_nl`)."""

    names: Any            # settlement.dossier.words.Names: municipality(code), region(id) as names
    line: Any             # the line explained (settlement.engine.Line), its trace included
    placement: Any        # the line's placement (settlement.facts.Placement), None when unknown
    reference: str        # the step's source as the catalogue cites it


@dataclass(frozen=True)
class PoolResult:
    """A pool's month: its `total` split into `shares` by `weights`. A budget pool (RULES.md §5.3)
    shares the result: total = costs - budget, `budget` the month's part B(M) of the creditor's
    historic budget; a pool that shares costs has budget 0 (total = costs)."""

    agreement: str
    creditor: str
    total: int
    weights: tuple[tuple[str, Fraction], ...]
    shares: dict[str, int]
    budget: int = 0

    @property
    def costs(self) -> int:
        """C: the sum of the pooled lines' amounts."""
        return self.total + self.budget


class FieldError(Exception):
    """A problem with one field of one agreement: reported as agreements.toml:line: field: message."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class Agreement(ABC):
    kind: ClassVar[str]
    reference: ClassVar[str]
    fields: ClassVar[frozenset[str]]
    #: the kind's name in Dutch: an agreement's step is titled "<title_nl> ‘<id>’" (dossier)
    title_nl: ClassVar[str] = "Afspraak"
    #: Dutch titles of the steps the kind makes under a rule name of its own (`unclaimed`)
    step_titles_nl: ClassVar[dict[str, str]] = {}
    #: the reasons of the kind's steps: phrase code -> (English, Dutch), added to the phrasebook
    phrases: ClassVar[dict[str, tuple[_phrases.Phrase, _phrases.Phrase]]] = {}
    #: the kind's source when the catalogue does not cite `reference` yet (settlement.references)
    citation: ClassVar[dict[str, Any] | None] = None
    #: per term (a field of `canonical`) where the regional documents state it, in Dutch, or None
    #: when they do not (the dossier says so: the term is the region's own choice, not the seeds')
    term_sources: ClassVar[dict[str, str | None]] = {}

    id: str
    valid_from: date
    valid_to: date | None

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        KINDS[cls.kind] = cls
        for code, (en, nl) in cls.phrases.items():
            _phrases.register(code, en, nl)
        if cls.citation is not None:
            _references.register(cls.reference, cls.citation)

    @classmethod
    def term_nl(cls, term: str, value: Any) -> str | None:
        """A term's value in Dutch words where the kind has them (the dossier of a dispute), else None."""
        return None

    @classmethod
    @abstractmethod
    def parse(cls, raw: dict[str, Any], ds: "Dataset", problem: Callable[[str, str], None]) -> "Agreement | None":
        """Validate the raw TOML table against the dataset; report problems by field."""

    @abstractmethod
    def canonical(self) -> dict[str, Any]:
        """The agreement as plain sorted data, for hashing, storage and traces."""

    @abstractmethod
    def evaluate(self, case: Case, shares: list[Share]) -> Step:
        """Whether this agreement claims the line(s) of this case, with the reason."""

    @abstractmethod
    def apply(self, case: Case, shares: list[Share], step: Step) -> list[Share]:
        """The shares after this agreement took the case (only called when it claims it)."""

    @classmethod
    def unclaimed(cls, case: Case, shares: list[Share], agreements: list["Agreement"]) -> tuple[list[Share], Step | None]:
        """Called when no agreement of this kind claimed the case (e.g. to raise a flag)."""
        return shares, None

    def settle(self, month: "Month", pooled_amounts: list[int]) -> PoolResult | None:
        """After all lines: what the agreement does with the month's lines it pooled."""
        return None

    def describe(self, result: PoolResult, month: "Month") -> dict[str, Any]:
        """The trace's `pool` block of each line this agreement pooled in `month` (only called with
        a result of `settle`, so a kind that pools nothing never needs it)."""
        raise NotImplementedError(f"agreement kind {self.kind!r} settles a pool but does not describe it")

    def pools(self, case: Case) -> bool:
        """Whether this agreement takes the case into a pool, so that no single municipality pays
        it (for reentry, RULES.md §4.4: the care region's centrumgemeente is then responsible)."""
        return False

    def pool_region(self) -> str | None:
        """The region whose members share what this agreement pools; None for a kind that pools
        nothing (the documents name a pool share by it)."""
        return None

    @classmethod
    def explain_nl(cls, step: dict[str, Any], agreement: dict[str, Any] | None, w: Wording) -> dict[str, Any] | None:
        """How the dossier shows an applying step of this kind: {"terms": [(label, text)], "facts":
        [(label, text)], "effect": sentence}, in Dutch; `agreement` is the canonical agreement of
        the step (None for a step under a rule name of the kind's own). None: nothing to show."""
        return None

    @classmethod
    def deadline(cls, step: dict[str, Any]) -> tuple[str, str | None] | None:
        """(deadline, notified on) of an applying step of this kind that sets a notification
        deadline, as ISO dates, for the dossier's timeline and table of notifications; else None."""
        return None

    @property
    def ref(self) -> dict[str, Any]:
        return {"record": f"agreement {self.id}", "kind": self.kind, "valid_from": self.valid_from.isoformat(),
                "valid_to": self.valid_to.isoformat() if self.valid_to else None}

    def does_not_apply(self, code: str, **params: Any) -> Step:
        """The step of this agreement not applying, for the reason `code` (a phrase code): shared by
        every line with the same reason, since it reads nothing but the agreement itself (kept
        with the agreement, so it goes when the agreement goes)."""
        key = (code, version_of(self.id, self.kind), *params.items())
        try:
            cache = self.__dict__["_not_applying"]
        except KeyError:
            cache = self.__dict__["_not_applying"] = {}  # frozen: set beside the fields, not one of them
        step = cache.get(key)
        if step is None:
            step = cache[key] = Step(self.id, self.reference, False, [self.ref], why=(code, params), kind=self.kind)
        return step


def kind_of_step(step: dict[str, Any], agreements: dict[str, dict[str, Any]]) -> type[Agreement] | None:
    """The agreement kind that made a trace step (by the step's kind, the agreement it names, or a
    rule name of a kind's own); None for a step of a rule of RULES.md §3-4."""
    kind = step.get("kind") or (agreements.get(step["rule"]) or {}).get("kind")
    if kind in KINDS:
        return KINDS[kind]
    return next((c for _, c in sorted(KINDS.items()) if step["rule"] in c.step_titles_nl), None)


# Field helpers shared by the kinds -------------------------------------------------------------

def need(raw: dict[str, Any], name: str, problem: Callable[[str, str], None]) -> Any:
    if name not in raw:
        problem(name, "is required")
        return None
    return raw[name]


def as_date(raw: dict[str, Any], name: str, problem: Callable[[str, str], None], required: bool = True) -> date | None:
    if name not in raw:
        if required:
            problem(name, "is required")
        return None
    value = raw[name]
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    problem(name, f"must be a TOML date such as 2023-01-01, not {value!r}")
    return None


def as_region(raw: dict[str, Any], name: str, ds: "Dataset", problem: Callable[[str, str], None]) -> str | None:
    value = need(raw, name, problem)
    if value is None:
        return None
    if not isinstance(value, str) or value not in ds.regions:
        problem(name, f"unknown region {value!r}")
        return None
    return value


def as_name(raw: dict[str, Any], problem: Callable[[str, str], None]) -> str | None:
    """An agreement's optional `name` (INTERFACE.md v2: the words a statement shows), or None."""
    name = raw.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        problem("name", f"must be a non-empty text, not {name!r}")
        return None
    return name


def check_unknown(raw: dict[str, Any], allowed: frozenset[str], problem: Callable[[str, str], None]) -> None:
    for key in sorted(set(raw) - allowed - {"id", "kind"}):
        problem(key, "is not a field of this kind of agreement")
