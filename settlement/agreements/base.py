"""Agreements (RULES.md §5): data in agreements.toml, one class per kind.

A kind registers itself by subclassing `Agreement` with a `kind` name. The engine asks every
agreement whether it claims a line (`evaluate`); more than one claim is an error, not a silent
first match. A new kind is a new module; nothing else changes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, ClassVar

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
class PoolResult:
    agreement: str
    creditor: str
    total: int
    weights: tuple[tuple[str, Fraction], ...]
    shares: dict[str, int]


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

    id: str
    valid_from: date
    valid_to: date | None

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        KINDS[cls.kind] = cls

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


def check_unknown(raw: dict[str, Any], allowed: frozenset[str], problem: Callable[[str, str], None]) -> None:
    for key in sorted(set(raw) - allowed - {"id", "kind"}):
        problem(key, "is not a field of this kind of agreement")
