"""A small fluent builder for in-memory `Dataset`s, and helpers to settle a month in tests.

Defaults (see RULES.md §2):
- region `noord`: centrumgemeente 0106, members 0106, 1680, 1730; cutover 2023-01-01
- region `zuid`:  centrumgemeente 0114, members 0114, 0109;       cutover 2023-01-01
- products BW-INTRA (BW, bw_definition, day), BEGELEID (BW, bw_definition, month),
  THUIS (WMO, no bw_definition, month), MO (MO, no bw_definition, day)
- tariffs in both regions from 2020-01-01, open: `TARIFF` below (cents per unit)

Dates may be given as `date` or as 'YYYY-MM-DD' strings.
"""

from __future__ import annotations

from datetime import date
from typing import Iterable

from settlement.engine import Engine, MonthResult
from settlement.facts import (Application, Budget, Client, Dataset, Declaration, Dispute, Municipality, Notification,
                              Placement, Product, Region, RegionMember, Registration, Ruling, Tariff)
from settlement.periods import Month

CUTOVER = date(2023, 1, 1)
TARIFF = {"BW-INTRA": 10000, "BEGELEID": 150000, "THUIS": 10000, "MO": 5000}  # cents per day / month
NAMES = {"0106": "Assen", "1680": "Aa en Hunze", "1730": "Tynaarlo", "0114": "Emmen", "0109": "Coevorden",
         "0193": "Zwolle", "0160": "Hardenberg"}


def d(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


class DatasetBuilder:
    def __init__(self) -> None:
        self.regions: dict[str, Region] = {}
        self.members: list[RegionMember] = []
        self.products = {
            "BW-INTRA": Product("BW-INTRA", "Beschermd wonen intramuraal", "BW", True, "day"),
            "BEGELEID": Product("BEGELEID", "Beschermd wonen begeleid", "BW", True, "month"),
            "THUIS": Product("THUIS", "Thuis Plus", "WMO", False, "month"),
            "MO": Product("MO", "Maatschappelijke opvang", "MO", False, "day"),
        }
        self.tariffs: dict[tuple[str, str], list[Tariff]] = {}
        self.clients: dict[str, Client] = {}
        self.registrations: list[Registration] = []
        self.applications: list[Application] = []
        self.placements: dict[str, Placement] = {}
        self.notifications: list[Notification] = []
        self.declarations: list[Declaration] = []
        self.budgets: list[Budget] = []
        self.disputes: dict[str, Dispute] = {}
        self.rulings: dict[str, Ruling] = {}
        self.region("noord", "0106", ["0106", "1680", "1730"])
        self.region("zuid", "0114", ["0114", "0109"])

    # -- world ----------------------------------------------------------------------------
    def region(self, region: str, centrumgemeente: str, members: Iterable[str],
               cutover: date | str = CUTOVER, tariffs: bool = True) -> "DatasetBuilder":
        self.regions[region] = Region(region, region.title(), centrumgemeente, d(cutover))
        self.members = [m for m in self.members if m.region != region]  # redefining a region replaces it
        for code in members:
            self.member(region, code)
        if tariffs:
            for product, price in TARIFF.items():
                self.tariff(product, region, [("2020-01-01", None, price)])
        return self

    def member(self, region: str, code: str, valid_from: date | str = "2000-01-01",
               valid_to: date | str | None = None) -> "DatasetBuilder":
        self.members.append(RegionMember(region, code, d(valid_from), d(valid_to)))
        return self

    def move(self, code: str, old: str, new: str, on: date | str) -> "DatasetBuilder":
        """Municipality `code` leaves region `old` the day before `on` and joins `new` on `on`."""
        on = d(on)
        self.members = [m for m in self.members if m.municipality != code]
        self.member(old, code, "2000-01-01", date.fromordinal(on.toordinal() - 1))
        return self.member(new, code, on)

    def tariff(self, product: str, region: str,
               periods: list[tuple[date | str, date | str | None, int]]) -> "DatasetBuilder":
        """Replace the tariffs of (product, region) by [(valid_from, valid_to, cents)]."""
        self.tariffs[(product, region)] = [Tariff(product, region, d(f), d(t), price) for f, t, price in periods]
        return self

    # -- people and care ------------------------------------------------------------------
    def client(self, client: str, brp: Iterable[tuple] = (),
               applications: Iterable[tuple] = ()) -> "DatasetBuilder":
        """brp: [(kind, municipality, from, to)]; applications: [(region, municipality, date)]."""
        self.clients[client] = Client(client, "123456782")
        for kind, municipality, f, t in brp:
            self.registrations.append(
                Registration(client, municipality, kind, d(f), d(t), line=len(self.registrations) + 2))
        for region, municipality, on in applications:
            self.applications.append(
                Application(client, region, municipality, d(on), line=len(self.applications) + 2))
        return self

    def placement(self, placement: str, client: str, product: str, region: str,
                  start: date | str, end: date | str | None = None,
                  contractor: str | None = None) -> "DatasetBuilder":
        self.placements[placement] = Placement(placement, client, product, region, "PROV1",
                                               self.regions[region].centrumgemeente, d(start), d(end), "ZIN",
                                               contractor)
        return self

    def declaration(self, placement: str, month: str, cents: int) -> "DatasetBuilder":
        self.declarations.append(Declaration(placement, month, cents))
        return self

    def notification(self, placement: str, municipality: str, on: date | str) -> "DatasetBuilder":
        self.notifications.append(Notification(placement, municipality, d(on), line=len(self.notifications) + 2))
        return self

    def budget(self, municipality: str, year: int, historic: int | None, objective: int | None = 0) -> "DatasetBuilder":
        """A row of budgets.csv, in cents."""
        self.budgets.append(Budget(municipality, year, historic, objective))
        return self

    def dispute(self, dispute: str, placement: str, raised_by: str, raised_on: date | str,
                subject: str = "wie betaalt") -> "DatasetBuilder":
        self.disputes[dispute] = Dispute(dispute, placement, raised_by, d(raised_on), subject)
        return self

    def ruling(self, ruling: str, placement: str, payer: str, valid_from: date | str, decided_on: date | str,
               dispute: str | None = None, reference: str = "GC 2024/1") -> "DatasetBuilder":
        self.rulings[ruling] = Ruling(ruling, dispute, placement, payer, d(valid_from), d(decided_on), reference)
        return self

    def build(self) -> Dataset:
        codes = {m.municipality for m in self.members} | {r.centrumgemeente for r in self.regions.values()}
        municipalities = {c: Municipality(c, NAMES.get(c, c), "NL00TEST0000000000", "Markt 1", "1234 AB",
                                          NAMES.get(c, c)) for c in sorted(codes)}
        return Dataset(municipalities=municipalities, regions=dict(self.regions), members=list(self.members),
                       products=dict(self.products), tariffs=[t for ts in self.tariffs.values() for t in ts],
                       clients=dict(self.clients), registrations=list(self.registrations),
                       applications=list(self.applications), placements=dict(self.placements),
                       notifications=list(self.notifications), declarations=list(self.declarations),
                       budgets=list(self.budgets), disputes=dict(self.disputes), rulings=dict(self.rulings))


def world() -> DatasetBuilder:
    return DatasetBuilder()


def settle(ds: Dataset | DatasetBuilder, month: str, agreements: Iterable = ()) -> MonthResult:
    """Settle one month and check the money invariants of RULES.md §5.1, §8 on the result."""
    if isinstance(ds, DatasetBuilder):
        ds = ds.build()
    result = Engine(ds, list(agreements)).settle(Month.parse(month))
    check_money(result)
    return result


def check_money(result: MonthResult) -> None:
    lines = result.lines
    # conservation, §8 and §5.3: what budget pools' month budgets carried is borne by no municipality
    assert sum(l.amount for l in lines) == sum(p for p, _ in result.totals.values()) + sum(p.budget for p in result.pools)
    for pool in result.pools:
        assert sum(pool.shares.values()) == pool.total
        assert pool.total + pool.budget == sum(l.amount for l in lines if l.pool == pool.agreement)
    for line in lines:
        assert (line.payer is None) != (line.pool is None)
        assert (line.basis == "pool") == (line.payer is None)
        assert list(line.flags) == sorted(set(line.flags))
    assert [l.sort_key for l in lines] == sorted(l.sort_key for l in lines)
    receivable: dict[str, int] = {}
    for creditor, debtor, cents in result.invoices:
        assert creditor != debtor
        receivable[creditor] = receivable.get(creditor, 0) + cents
    assert {c: r for c, (_, r) in result.totals.items() if r} == receivable


def only(result: MonthResult, placement: str | None = None):
    """The single line (of a placement)."""
    lines = [l for l in result.lines if placement is None or l.placement == placement]
    assert len(lines) == 1, [(l.placement, l.payer, l.basis, l.days, l.amount) for l in lines]
    return lines[0]


def lines_of(result: MonthResult, placement: str) -> dict[tuple[str | None, str], object]:
    """The lines of a placement keyed by (payer, basis)."""
    return {(l.payer, l.basis): l for l in result.lines if l.placement == placement}


# -- documents: one hand-made invoice between Zwolle (0193) and Kampen (0166), shared by the tests
#    of the PDF (test_render) and of its embedded SI-UBL XML (test_ubl).

from dataclasses import replace

from settlement.documents.model import Invoice, InvoiceLine, Party

ZWOLLE = Party("0193", "Gemeente Zwolle", "Grote Kerkplein 15", "8011 PK", "Zwolle",
               "NL91ABNA0417164300", "00000001001234567000")
KAMPEN = Party("0166", "Gemeente Kampen", "Burgemeester Berghuisplein 1", "8261 DD", "Kampen",
               "NL20INGB0001234567", None)
POOL = "ijv-solidariteit-historisch"

# 3.050,00 + 1.234,56 + 987,65 + 450,00 + 15.968,59 = 21.690,80
INVOICE = Invoice(
    number="0193-2024-00017", kind="invoice", corrects=None, creditor=ZWOLLE, debtor=KAMPEN,
    issue_date=date(2024, 4, 5), due_date=date(2024, 5, 5), month="2024-03",
    period_from=date(2024, 3, 1), period_to=date(2024, 3, 31), reference="BW-2024-03-0166",
    lines=(
        InvoiceLine("Nieuwe cliënten, woonplaatsbeginsel (2 regels)", "woonplaats", 2, 305000),
        InvoiceLine("Herinstroom binnen 12 maanden (1 regel)", "reentry", 1, 123456),
        InvoiceLine("Vangnet, geen woonadres (1 regel)", "vangnet", 1, 98765),
        InvoiceLine("Wmo-ondersteuning, inschrijving per dag (1 regel)", "registration", 1, 45000),
        InvoiceLine(f"Solidariteitspool {POOL}", "pool", 1, 1596859),
    ),
    total=2169080,
)
CREDIT_NOTE = replace(
    INVOICE, number="0193-2024-00018", kind="credit_note", corrects="0193-2024-00017",
    issue_date=date(2024, 5, 6), due_date=date(2024, 6, 5),
    lines=(InvoiceLine("Correctie vangnet (1 regel)", "vangnet", 1, -12345),), total=-12345,
)
# An additional invoice with a line that lowers the amount: 200,00 - 50,00 = 150,00
ADDITIONAL = replace(
    INVOICE, number="0193-2024-00019", corrects="0193-2024-00017",
    lines=(InvoiceLine("Correctie woonplaats (1 regel)", "woonplaats", 1, 20000),
           InvoiceLine("Correctie herinstroom (1 regel)", "reentry", 1, -5000)),
    total=15000,
)


#: A pool of the historic BW clients of region noord (the world() above), weights 2:1:1 over
#: Assen (0106), Aa en Hunze (1680) and Tynaarlo (1730), as agreements.toml text.
NOORD_HISTORIC_POOL = """
[[agreement]]
id = "noord-historisch"
name = "Solidariteit Noord historisch"
kind = "pool"
region = "noord"
valid_from = 2023-01-01
clients = "historic"
domains = ["BW"]
[agreement.weights]
"0106" = 2
"1680" = 1
"1730" = 1
"""
