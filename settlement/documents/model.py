"""What a statement or an invoice shows: plain immutable values, built from a final run by
`documents.build` and rendered by `documents.render`. Amounts in integer cents; no BSN unless
the receiving municipality pays for that client itself (never for pooled lines)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..spreadsheet import Book


@dataclass(frozen=True)
class Party:
    code: str
    name: str
    street: str
    postcode: str
    city: str
    iban: str
    oin: str | None = None


@dataclass(frozen=True)
class StatementLine:
    client: str  # pseudonym
    bsn: str | None  # only on the documents of the municipality that pays for this client itself
    placement: str
    product: str
    product_name: str
    region: str  # care region
    days: int
    amount: int  # cents; negative for a correction that lowers an earlier amount
    status: str  # historic / new / n/a
    basis: str
    payer: str | None
    pool: str | None
    creditor: str
    flags: tuple[str, ...]
    cross_region: bool  # the payer is not a member of the care region on the month's first day
    correction: bool  # a line of a correction run (a difference against what was finalised before)
    # the open disputes (disputes.csv `dispute`) that make a `contested` line contested, sorted
    disputes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PoolShare:
    agreement: str
    region: str
    creditor: str
    total: int  # the pool's total for the month, cents
    weight: str  # this municipality's weight (exact, as text)
    weight_sum: str
    share: int  # cents; negative when the pool shares a surplus back (the creditor owes it)
    correction: bool = False
    name: str | None = None  # the agreement's words for statements (INTERFACE.md v2), if it has them
    # a budget pool (RULES.md §5.3): `total` is T = costs - budget_month; None/0 for a pool of costs
    budget: str | None = None  # "historic"
    costs: int = 0  # C, cents (in a correction: its difference)
    budget_month: int = 0  # B(M), cents (in a correction: its difference)
    budget_year: int | None = None  # B(Y) of the month's year from the run's snapshot, cents

    @property
    def label(self) -> str:
        """The pool in words: its name, else its id."""
        return self.name or self.agreement


@dataclass(frozen=True)
class Position:
    """The net position of the statement's municipality against one counterparty."""

    counterparty: Party
    receivable: int  # what the counterparty owes this municipality, cents
    payable: int  # what this municipality owes the counterparty, cents

    @property
    def net(self) -> int:
        return self.receivable - self.payable


@dataclass(frozen=True)
class Receivable:
    """What one debtor owes the statement's municipality as creditor (the centrumgemeente that
    contracted the placements), for one basis in one invoice: the invoice's line with the days
    added. The rows of one invoice add up to its amount, all rows to the statement's receivable.
    Counts only: no client, no placement, no BSN."""

    debtor: Party
    invoice: str | None  # the invoice or credit note number; None when the run's rows of this debtor net to zero
    basis: str  # a basis of RULES.md; "pool" for the debtor's share in a pool of this creditor
    pool: str | None  # the agreement of a pool share
    lines: int | None  # cost lines; None for a pool share
    days: int | None  # days of those lines (differences in a correction); None for a pool share
    amount: int  # cents; negative in a credit note
    correction: bool  # a row of a finalised correction run
    disputes: tuple[str, ...] = ()  # the open disputes of these lines when they are contested (a row of their own)


@dataclass(frozen=True)
class OpenDispute:
    """A dispute the statement's municipality raised (disputes.csv) that is not ruled on at the end
    of the month, with what the placement's lines of the month amount to (`disputes.build`)."""

    dispute: str
    placement: str
    client: str | None  # pseudonym (never a BSN); None when the placement has no line this month
    subject: str
    raised_on: date
    at_stake: int  # cents: the placement's lines of the month as settled (final run and corrections)


@dataclass(frozen=True)
class Statement:
    """Afrekening: everything one municipality bears and receives in one month."""

    municipality: Party
    month: str  # YYYY-MM
    period_from: date
    period_to: date
    document_date: date  # taken from the run, never from the clock
    engine_version: str
    input_hash: str
    lines: tuple[StatementLine, ...]  # lines this municipality pays (payer == code), sorted
    # the lines of its own placements as creditor (centrumgemeente), no BSN; shown only as totals (each
    # is on the paying municipality's statement, and in an invoice)
    creditor_lines: tuple[StatementLine, ...]
    pool_shares: tuple[PoolShare, ...]
    positions: tuple[Position, ...]  # sorted by counterparty code
    payable: int
    receivable: int
    # what the other municipalities owe it, per debtor, invoice and basis (sorted by debtor code, then
    # the final run before its corrections, then invoice order); they add up to `receivable`
    receivables: tuple[Receivable, ...] = ()
    # (agreement id, name) of the named agreements of the month's runs: the words shown instead of the id
    agreement_names: tuple[tuple[str, str], ...] = ()
    # the disputes this municipality raised that are open at the end of the month, by dispute number
    open_disputes: tuple[OpenDispute, ...] = ()
    # its specification, the xlsx embedded in the PDF: the month's finalised runs, this municipality's
    # rows only (settlement.spreadsheet.specifications); None: the PDF has no attachment
    specification: Book | None = None


@dataclass(frozen=True)
class InvoiceLine:
    description: str  # Dutch, e.g. "Nieuwe cliënten, woonplaatsbeginsel (12 regels)"
    basis: str  # a basis of RULES.md, or "pool" with the agreement in `description`
    quantity: int  # number of cost lines (or 1 for a pool share)
    amount: int  # cents
    disputes: tuple[str, ...] = ()  # contested cost lines (a line of their own): their open disputes


@dataclass(frozen=True)
class Invoice:
    number: str  # <creditor code>-<year>-<00001>
    kind: str  # "invoice" or "credit_note"
    corrects: str | None  # the invoice number a credit note or additional invoice corrects
    creditor: Party
    debtor: Party
    issue_date: date  # from the run's finalisation, never from the clock
    due_date: date  # issue_date + 30 days
    month: str
    period_from: date
    period_to: date
    reference: str  # the buyer reference / kenmerk
    lines: tuple[InvoiceLine, ...]
    total: int  # cents; negative for a credit note
    #: the rulings of the geschillencommissie that this correction carries out: (ruling, reference, decided on)
    rulings: tuple[tuple[str, str, date], ...] = ()
