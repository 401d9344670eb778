"""The facts a settlement reads: immutable values, one class per record kind of INTERFACE.md §1.

A `Dataset` is one loaded snapshot, held in memory with the indexes the rules need, so that a run
reads each table once and evaluates everything in memory.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .periods import covers


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    iban: str
    street: str
    postcode: str
    city: str
    oin: str | None = None


@dataclass(frozen=True)
class Region:
    region: str
    name: str
    centrumgemeente: str
    cutover: date


@dataclass(frozen=True)
class RegionMember:
    region: str
    municipality: str
    valid_from: date
    valid_to: date | None


#: The Iv3 taakveld (BBV) a municipality books a product's costs on when products.csv names none:
#: 6.81a beschermd wonen, 6.81b maatschappelijke opvang, 6.71 maatwerkdienstverlening 18+ (Wmo).
TAAKVELD_BY_DOMAIN = {"BW": "6.81a", "MO": "6.81b", "WMO": "6.71"}


def taakveld(domain: str, own: str | None = None) -> str | None:
    """A product's taakveld: its own, else its domain's."""
    return own or TAAKVELD_BY_DOMAIN.get(domain)


@dataclass(frozen=True)
class Product:
    product: str
    name: str
    domain: str  # BW, MO, WMO
    bw_definition: bool
    unit: str  # day, month
    iwmo_category: str | None = None
    # the product code a provider declares it with in iWmo (WMO323 ProductCode, at most 5 characters);
    # None: not declared through iWmo. Since canonical form 4 (settlement.iwmo)
    iwmo_product_code: str | None = None
    taakveld: str | None = None  # the Iv3 taakveld a municipality books it on; None: the domain's (TAAKVELD)


@dataclass(frozen=True)
class Tariff:
    product: str
    region: str
    valid_from: date
    valid_to: date | None
    price: int  # cents per unit


@dataclass(frozen=True)
class Client:
    client: str
    bsn: str = field(repr=False)  # never in a repr, so never in a message (settlement.bsn)


@dataclass(frozen=True)
class Registration:
    """One BRP interval (brp.csv)."""

    client: str
    municipality: str | None
    kind: str  # woonadres, institution, briefadres, abroad
    valid_from: date
    valid_to: date | None
    line: int = 0  # the record's line in brp.csv: its id in traces

    @property
    def ref(self) -> dict[str, Any]:
        return {"record": f"brp.csv:{self.line}", "kind": self.kind, "municipality": self.municipality,
                "valid_from": self.valid_from.isoformat(),
                "valid_to": self.valid_to.isoformat() if self.valid_to else None}


@dataclass(frozen=True)
class Application:
    client: str
    region: str
    municipality: str
    date: date
    line: int = 0

    @property
    def ref(self) -> dict[str, Any]:
        return {"record": f"applications.csv:{self.line}", "region": self.region,
                "municipality": self.municipality, "date": self.date.isoformat()}


@dataclass(frozen=True)
class Placement:
    placement: str
    client: str
    product: str
    region: str
    provider: str
    location: str
    start: date
    end: date | None
    financing: str
    # v2: the municipality that contracted and pays the provider, the creditor of the placement's
    # lines (RULES.md §2); None: the care region's centrumgemeente
    contractor: str | None = None
    # the municipality's toewijzing number (iWmo ToewijzingNummer) by which a provider's declaration
    # (WMO323) names the placement; None: none known. Since canonical form 4 (settlement.iwmo)
    toewijzing: str | None = None

    @property
    def ref(self) -> dict[str, Any]:
        out = {"record": f"placement {self.placement}", "product": self.product, "region": self.region,
               "start": self.start.isoformat(), "end": self.end.isoformat() if self.end else None}
        if self.contractor is not None:  # only when given: the records of earlier runs stay as they were
            out["contractor"] = self.contractor
        return out


@dataclass(frozen=True)
class Notification:
    placement: str
    municipality: str
    notified_on: date
    line: int = 0


@dataclass(frozen=True)
class Dispute:
    """A dispute laid before the geschillencommissie about who pays a placement (disputes.csv,
    INTERFACE.md v2): `raised_by` contests it from `raised_on` [000 §7.3; 003 §4.4]."""

    dispute: str
    placement: str
    raised_by: str
    raised_on: date
    subject: str


@dataclass(frozen=True)
class Ruling:
    """A ruling of the geschillencommissie (rulings.csv, RULES.md §4.0): from `valid_from` the
    `payer` pays the placement's new-status lines; `dispute`: the dispute it rules on, if named."""

    ruling: str
    dispute: str | None
    placement: str
    payer: str
    valid_from: date
    decided_on: date
    reference: str

    @property
    def ref(self) -> dict[str, Any]:
        return {"record": f"ruling {self.ruling}", "placement": self.placement, "payer": self.payer,
                "valid_from": self.valid_from.isoformat(), "decided_on": self.decided_on.isoformat(),
                "reference": self.reference}


@dataclass(frozen=True)
class Declaration:
    placement: str
    month: str
    amount: int  # cents


@dataclass(frozen=True)
class Budget:
    municipality: str
    year: int
    historic: int | None
    objective: int | None


@dataclass
class Dataset:
    """One snapshot of facts with the indexes the rules use. Built once per run."""

    municipalities: dict[str, Municipality]
    regions: dict[str, Region]
    members: list[RegionMember]
    products: dict[str, Product]
    tariffs: list[Tariff]
    clients: dict[str, Client]
    registrations: list[Registration]
    applications: list[Application]
    placements: dict[str, Placement]
    notifications: list[Notification] = field(default_factory=list)
    declarations: list[Declaration] = field(default_factory=list)
    budgets: list[Budget] = field(default_factory=list)
    disputes: dict[str, Dispute] = field(default_factory=dict)
    rulings: dict[str, Ruling] = field(default_factory=dict)
    agreements: list[dict[str, Any]] = field(default_factory=list)
    input_hash: str = ""
    agreements_hash: str = ""

    def __post_init__(self) -> None:
        self.brp_by_client: dict[str, list[Registration]] = defaultdict(list)
        for r in sorted(self.registrations, key=lambda r: (r.client, r.valid_from)):
            self.brp_by_client[r.client].append(r)
        self.applications_by_client: dict[str, list[Application]] = defaultdict(list)
        for a in sorted(self.applications, key=lambda a: (a.client, a.date, a.region, a.municipality)):
            self.applications_by_client[a.client].append(a)
        self.placements_by_client: dict[str, list[Placement]] = defaultdict(list)
        for p in sorted(self.placements.values(), key=lambda p: (p.client, p.start, p.placement)):
            self.placements_by_client[p.client].append(p)
        self.tariffs_by_key: dict[tuple[str, str], list[Tariff]] = defaultdict(list)
        for t in sorted(self.tariffs, key=lambda t: (t.product, t.region, t.valid_from)):
            self.tariffs_by_key[(t.product, t.region)].append(t)
        self.members_by_municipality: dict[str, list[RegionMember]] = defaultdict(list)
        for m in sorted(self.members, key=lambda m: (m.municipality, m.valid_from)):
            self.members_by_municipality[m.municipality].append(m)
        self.notifications_by_placement: dict[str, list[Notification]] = defaultdict(list)
        for n in sorted(self.notifications, key=lambda n: (n.placement, n.notified_on, n.municipality)):
            self.notifications_by_placement[n.placement].append(n)
        self.declaration_by_key: dict[tuple[str, str], Declaration] = {
            (d.placement, d.month): d for d in self.declarations}
        self.rulings_by_placement: dict[str, list[Ruling]] = defaultdict(list)
        for u in sorted(self.rulings.values(), key=lambda u: (u.placement, u.valid_from, u.ruling)):
            self.rulings_by_placement[u.placement].append(u)
        self.disputes_by_placement: dict[str, list[Dispute]] = defaultdict(list)
        for d in sorted(self.disputes.values(), key=lambda d: (d.placement, d.raised_on, d.dispute)):
            self.disputes_by_placement[d.placement].append(d)

    def region_of(self, municipality: str, day: date) -> RegionMember | None:
        """The region membership of a municipality on a day (memberships do not overlap)."""
        for m in self.members_by_municipality.get(municipality, ()):
            if covers(m.valid_from, m.valid_to, day):
                return m
        return None

    def registration_on(self, client: str, day: date) -> Registration | None:
        for r in self.brp_by_client.get(client, ()):
            if covers(r.valid_from, r.valid_to, day):
                return r
        return None
