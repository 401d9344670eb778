"""The database schema (SQLModel) and how to reach it. SQLite by default, PostgreSQL in production.

Every fact row belongs to a snapshot: loads are append-only, so a run can always be traced back
to the exact data it was computed from. Runs, lines and pool shares are written once: a draft is
replaced as a whole, finalisation only sets a run's kind and finalized_at, and a final run, its
lines, pool shares and invoices are never changed or deleted.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
import weakref
from datetime import date, datetime
from pathlib import Path
from typing import Optional

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, LargeBinary, MetaData, Text, UniqueConstraint, event, text
from sqlalchemy.engine import Engine as SAEngine
from sqlmodel import Field, SQLModel, create_engine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata

DEFAULT_URL = "sqlite:///settlement.db"


ACCEPTED_URLS = ("sqlite:///FILE, a bare file path (an SQLite file), or postgresql://USER@HOST/DATABASE "
                 "(also written postgresql+psycopg:// or postgres://)")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


def database_url(explicit: str | None = None) -> str:
    """The SQLAlchemy URL of `--db` (or SETTLEMENT_DB, or the default): sqlite:///FILE as given,
    a bare path as an SQLite file, postgresql://, postgres:// (the alias many hosts print) and
    postgresql+psycopg:// as PostgreSQL through psycopg 3. Anything else (mysql://, http://, a
    mistyped sqlite:/file) is refused with one sentence naming the accepted forms (exit 2)."""
    url = explicit or os.environ.get("SETTLEMENT_DB") or DEFAULT_URL
    for alias in ("postgresql://", "postgres://"):
        if url.startswith(alias):
            return "postgresql+psycopg://" + url[len(alias):]
    if url.startswith(("postgresql+psycopg://", "sqlite:///")):
        return url
    scheme = _SCHEME.match(url)
    if scheme and (len(scheme.group(1)) > 1 or "://" in url):  # one letter without //: a Windows drive (C:\...)
        from .errors import Refused
        raise Refused(f"the database URL {shown(url)!r} (--db or SETTLEMENT_DB) is not one settle can open: "
                      f"give {ACCEPTED_URLS}")
    return f"sqlite:///{Path(url)}"  # a bare path means an SQLite file


_SECRET_PARAM = re.compile(r"([?&](?:password|passwd|pass|sslpassword|pwd)=)[^&#]*", re.IGNORECASE)


def shown(url: "str | SAEngine") -> str:
    """A database URL as messages may show it: the password (user:password@, or a password= query
    parameter, as libpq also accepts) replaced by ***. Every message naming a database uses this."""
    text = url.url.render_as_string(hide_password=False) if isinstance(url, SAEngine) else str(url)
    text = re.sub(r"(://[^:/@?#]*:)[^@/?#]*@", r"\1***@", text)
    return _SECRET_PARAM.sub(r"\1***", text)


def scrub(message: str, url: "str | SAEngine") -> str:
    """`message` (a driver's error text) with any password of `url` in it masked as ***."""
    from sqlalchemy.engine import make_url
    try:
        parsed = url.url if isinstance(url, SAEngine) else make_url(str(url))
    except Exception:
        return message
    secrets = [parsed.password or ""] + [str(v) for k, v in parsed.query.items()
                                        if _SECRET_PARAM.match(f"?{k}=")]
    for secret in secrets:
        if len(secret) >= 3:
            message = message.replace(secret, "***")
    return message


@contextmanager
def reading(engine: SAEngine):
    """A connection whose reads are one consistent snapshot of the database: on PostgreSQL a
    REPEATABLE READ transaction, so an export or the documents read while `run` rewrites a draft
    (or `finalize` numbers a correction) see the run whole or not at all, never lines without their
    pools. SQLite lets one writer in at a time and a read sees each statement's committed state."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            with conn.begin():
                yield conn
    else:
        with engine.connect() as conn:
            yield conn


_ENGINES: "weakref.WeakSet[SAEngine]" = weakref.WeakSet()


def make_engine(url: str) -> SAEngine:
    engine = create_engine(url)
    _ENGINES.add(engine)
    if url.startswith("sqlite"):
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
    return engine


def close_all() -> None:
    """Close every pooled connection (before a process ends without tearing itself down)."""
    for engine in list(_ENGINES):
        engine.dispose()


def cents_column() -> Column:
    return Column(BigInteger, nullable=False)


class Snapshot(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    input_hash: str = Field(max_length=80)
    agreements_hash: str = Field(max_length=80)
    agreements_toml: str = Field(sa_column=Column(Text, nullable=False))
    source: str = Field(sa_column=Column(Text, nullable=False))
    seq: int = Field(index=True)
    loaded_at: datetime
    __table_args__ = (UniqueConstraint("input_hash", "agreements_hash"),)


class MunicipalityRow(SQLModel, table=True):
    __tablename__ = "municipality"
    snapshot_id: int = Field(foreign_key="snapshot.id", primary_key=True)
    code: str = Field(primary_key=True, max_length=4)
    name: str
    iban: str = Field(max_length=34)
    street: str
    postcode: str
    city: str
    oin: Optional[str] = None


class RegionRow(SQLModel, table=True):
    __tablename__ = "region"
    snapshot_id: int = Field(foreign_key="snapshot.id", primary_key=True)
    region: str = Field(primary_key=True)
    name: str
    centrumgemeente: str = Field(max_length=4)
    cutover: date


class RegionMemberRow(SQLModel, table=True):
    __tablename__ = "region_member"
    id: Optional[int] = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id", index=True)
    region: str
    municipality: str = Field(max_length=4)
    valid_from: date
    valid_to: Optional[date] = None


class ProductRow(SQLModel, table=True):
    __tablename__ = "product"
    snapshot_id: int = Field(foreign_key="snapshot.id", primary_key=True)
    product: str = Field(primary_key=True)
    name: str
    domain: str = Field(max_length=3)
    bw_definition: bool
    unit: str = Field(max_length=5)
    iwmo_category: Optional[str] = None
    iwmo_product_code: Optional[str] = Field(default=None, max_length=5)  # since 0009
    taakveld: Optional[str] = None


class TariffRow(SQLModel, table=True):
    __tablename__ = "tariff"
    id: Optional[int] = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id", index=True)
    product: str
    region: str
    valid_from: date
    valid_to: Optional[date] = None
    price: int = Field(sa_column=cents_column())


class ClientRow(SQLModel, table=True):
    """A client: never the BSN in plain text (settlement.bsn). `bsn_hmac` is its keyed hash, for
    matching (one BSN per snapshot; look-ups), `bsn_enc` the BSN encrypted, for the documents that
    must show it. `settle rekey` is the one writer that changes stored fact rows: it re-encrypts and
    re-hashes them with a new key, and the BSNs themselves (so the snapshot's input hash) stay."""

    __tablename__ = "client"
    snapshot_id: int = Field(foreign_key="snapshot.id", primary_key=True)
    client: str = Field(primary_key=True)
    bsn_hmac: str = Field(max_length=64)
    bsn_enc: str = Field(max_length=120)
    __table_args__ = (Index("uq_client_bsn_hmac", "bsn_hmac", "snapshot_id", unique=True),)


class BrpRow(SQLModel, table=True):
    __tablename__ = "brp"
    id: Optional[int] = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id")
    client: str
    municipality: Optional[str] = Field(default=None, max_length=4)
    kind: str = Field(max_length=12)
    valid_from: date
    valid_to: Optional[date] = None
    line: int
    __table_args__ = (Index("ix_brp_snapshot_id_client", "snapshot_id", "client"),)  # a client's rows (explain)


class ApplicationRow(SQLModel, table=True):
    __tablename__ = "application"
    id: Optional[int] = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id")
    client: str
    region: str
    municipality: str = Field(max_length=4)
    date: date
    line: int
    __table_args__ = (Index("ix_application_snapshot_id_client", "snapshot_id", "client"),)


class PlacementRow(SQLModel, table=True):
    __tablename__ = "placement"
    snapshot_id: int = Field(foreign_key="snapshot.id", primary_key=True)
    placement: str = Field(primary_key=True)
    client: str
    product: str
    region: str
    provider: str
    location: str = Field(max_length=4)
    start: date
    end: Optional[date] = None
    financing: str = Field(max_length=3)
    contractor: Optional[str] = Field(default=None, max_length=4)  # since 0007
    toewijzing: Optional[str] = Field(default=None, max_length=9)  # since 0009
    __table_args__ = (Index("ix_placement_snapshot_id_client", "snapshot_id", "client"),)


class DisputeRow(SQLModel, table=True):
    """disputes.csv (INTERFACE.md v2). Since 0008."""

    __tablename__ = "dispute"
    snapshot_id: int = Field(foreign_key="snapshot.id", primary_key=True)
    dispute: str = Field(primary_key=True)
    placement: str
    raised_by: str = Field(max_length=4)
    raised_on: date
    subject: str = Field(sa_column=Column(Text, nullable=False))


class RulingRow(SQLModel, table=True):
    """rulings.csv (INTERFACE.md v2, RULES.md §4.0). Since 0008."""

    __tablename__ = "ruling"
    snapshot_id: int = Field(foreign_key="snapshot.id", primary_key=True)
    ruling: str = Field(primary_key=True)
    dispute: Optional[str] = None
    placement: str
    payer: str = Field(max_length=4)
    valid_from: date
    decided_on: date
    reference: str = Field(sa_column=Column(Text, nullable=False))


class NotificationRow(SQLModel, table=True):
    __tablename__ = "notification"
    id: Optional[int] = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id")
    placement: str
    municipality: str = Field(max_length=4)
    notified_on: date
    line: int
    __table_args__ = (Index("ix_notification_snapshot_id_placement", "snapshot_id", "placement"),)


class DeclarationRow(SQLModel, table=True):
    __tablename__ = "declaration"
    snapshot_id: int = Field(foreign_key="snapshot.id", primary_key=True)
    placement: str = Field(primary_key=True)
    month: str = Field(primary_key=True, max_length=7)
    amount: int = Field(sa_column=cents_column())


class BudgetRow(SQLModel, table=True):
    __tablename__ = "budget"
    snapshot_id: int = Field(foreign_key="snapshot.id", primary_key=True)
    municipality: str = Field(primary_key=True, max_length=4)
    year: int = Field(primary_key=True)
    historic: Optional[int] = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    objective: Optional[int] = Field(default=None, sa_column=Column(BigInteger, nullable=True))


RUN_KINDS = ("draft", "final", "correction")


class Run(SQLModel, table=True):
    """One settlement of one month.

    kind `draft`: recomputed in place by every `settle run` until finalised; `final`: the month's
    finalised run, never changed again; `correction`: the difference against everything
    finalised before for the month (`parent` is the final run it corrects). A run is final
    exactly when `finalized_at` is set (a draft correction has none); its UTC date is the issue
    date of the run's invoices and the date of the month's documents.
    """

    id: Optional[int] = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id", index=True)
    month: str = Field(max_length=7, index=True)
    kind: str = Field(max_length=10)
    engine_version: str
    rules_version: str
    input_hash: str
    agreements_hash: str
    export_hash: str
    calculated_at: datetime
    finalized_at: Optional[datetime] = None
    parent: Optional[int] = Field(default=None, foreign_key="run.id")
    lines_hash: Optional[str] = Field(default=None, max_length=80)  # see settlement.receipt
    receipt: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    receipt_hash: Optional[str] = Field(default=None, max_length=80)
    # the seal of the run's invoices and credit notes, set at finalisation and held by the final
    # receipt (settlement.receipt.invoices_hash); None for a run finalised before 0012, or not final
    invoices_hash: Optional[str] = Field(default=None, max_length=80)
    # the checks on run exist on PostgreSQL only (SQLite cannot add them without copying `run`,
    # which other tables reference; see migrations 0002 and 0004); the index on both
    __table_args__ = (CheckConstraint("kind IN ('draft', 'final', 'correction')", name="kind"),
                      CheckConstraint("(kind = 'correction') = (parent IS NOT NULL)", name="parent"),
                      Index("uq_run_month_final", "month", unique=True, sqlite_where=text("kind = 'final'"),
                            postgresql_where=text("kind = 'final'")))


class LineRow(SQLModel, table=True):
    __tablename__ = "line"
    id: Optional[int] = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id")
    seq: int
    placement: str
    client: str
    product: str
    region: str
    days: int
    amount: int = Field(sa_column=cents_column())
    status: str = Field(max_length=8)
    basis: str = Field(max_length=32)
    payer: Optional[str] = Field(default=None, max_length=4)
    pool: Optional[str] = None
    creditor: str = Field(max_length=4)
    flags: str
    trace: str = Field(sa_column=Column(Text, nullable=False))
    __table_args__ = (UniqueConstraint("run_id", "seq"), Index("ix_line_run_id_client", "run_id", "client"),
                      Index("ix_line_run_id_placement", "run_id", "placement"),
                      CheckConstraint("(payer IS NULL) <> (pool IS NULL)", name="payer_or_pool"),
                      CheckConstraint("(basis = 'pool') = (pool IS NOT NULL)", name="pool_basis"))


class PoolShareRow(SQLModel, table=True):
    __tablename__ = "pool_share"
    run_id: int = Field(foreign_key="run.id", primary_key=True)
    agreement: str = Field(primary_key=True)
    municipality: str = Field(primary_key=True, max_length=4)
    creditor: str = Field(max_length=4)
    total: int = Field(sa_column=cents_column())  # T, the month's total the shares split
    weight: str
    share: int = Field(sa_column=cents_column())
    # B(M) of a budget pool (RULES.md §5.3; costs = total + budget), 0 for a pool of costs. Since 0007.
    budget: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))


class TracePart(SQLModel, table=True):
    """A part of the run's line traces, stored once however many lines name it by its key: a
    step, or a pool's arithmetic (settlement.trace.write_shared). Since migration 0006."""

    __tablename__ = "trace_part"
    run_id: int = Field(foreign_key="run.id", primary_key=True)
    key: str = Field(primary_key=True, max_length=17)
    body: str = Field(sa_column=Column(Text, nullable=False))


class TraceBundle(SQLModel, table=True):
    """A run's trace parts as one compressed text (settlement.trace.bundle): the parts' lines,
    each its key and its canonical JSON, sorted by key, compressed with zlib. Since migration
    0011; a run written before holds its parts in `trace_part`."""

    __tablename__ = "trace_bundle"
    run_id: int = Field(foreign_key="run.id", primary_key=True)
    encoding: str = Field(max_length=32)
    parts: int
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Invoice(SQLModel, table=True):
    """An invoice or credit note, numbered at finalisation: <creditor>-<year>-<seq:05d>, gapless
    and never reused per (creditor, year of the settled month)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    number: str = Field(max_length=20, unique=True)
    run_id: int = Field(foreign_key="run.id", index=True)
    creditor: str = Field(max_length=4)
    debtor: str = Field(max_length=4)
    month: str = Field(max_length=7, index=True)
    year: int
    seq: int
    kind: str = Field(max_length=12)  # invoice, credit_note
    amount: int = Field(sa_column=cents_column())  # negative for a credit note
    corrects: Optional[str] = Field(default=None, max_length=20)  # the number of the original invoice
    issue_date: date
    __table_args__ = (UniqueConstraint("creditor", "year", "seq"),
                      CheckConstraint("kind IN ('invoice', 'credit_note')", name="kind"),
                      CheckConstraint("(kind = 'credit_note') = (amount < 0) AND amount <> 0", name="sign"),
                      CheckConstraint("creditor <> debtor", name="parties"),
                      UniqueConstraint("run_id", "creditor", "debtor"))


class InvoiceCounter(SQLModel, table=True):
    """The last invoice number given per (creditor, year); row-locked while numbers are given."""

    __tablename__ = "invoice_counter"
    creditor: str = Field(primary_key=True, max_length=4)
    year: int = Field(primary_key=True)
    last: int

