"""A new agreement kind is a new module; nothing else changes (settlement/agreements/base.py).

The kind is defined here, in this file only: `host` (gastgemeente), an agreement by which the
municipality where a placement is located pays for the region's placements of some products
instead of the municipality the woonplaats rules name. It registers itself by subclassing
`Agreement` and brings its own words: its reasons in English and Dutch, its source, its Dutch
title and the rows of its terms in the dossier. A tiny dataset uses it; a month is run, and
`settle explain` (text) and the dossier (HTML, no PDF) show it without any other module knowing it.

By hand, March 2024 (31 days), region noord (centrumgemeente Assen 0106; members 0106, 1680
Aa en Hunze, 1730 Tynaarlo), agreement `gast-noord` of kind host for BW-INTRA:
  P1  C1  BW-INTRA at location 1730, woonadres 1680   host applies: 1730 pays 31 x 100,00 = 3.100,00
  P2  C2  THUIS at location 0106, woonadres 1730      host does not apply (product): 1730 pays 1.550,00
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Callable

import pytest
from click.testing import CliRunner

from settlement import phrases, references
from settlement.agreements import KINDS, Agreement, Case
from settlement.agreements.base import Wording, as_date, as_region, check_unknown, need
from settlement.cli import main
from settlement.periods import overlap
from settlement.rules.base import Share, Step

FILES = {
    "municipalities.csv": """code,name,iban,street,postcode,city,oin
0106,Assen,NL96BNGH0285010622,Noordersingel 33,9401 JW,Assen,00000001001063789000
1680,Aa en Hunze,NL04BNGH0285168060,Raadhuisplein 1,9461 AA,Gieten,00000001016808411000
1730,Tynaarlo,NL20BNGH0285173010,Raadhuisplein 1,9481 AA,Vries,00000001017304908000
""",
    "regions.csv": """region,name,centrumgemeente,cutover
noord,Noord,0106,2023-01-01
""",
    "region_members.csv": """region,municipality,valid_from,valid_to
noord,0106,2015-01-01,
noord,1680,2015-01-01,
noord,1730,2015-01-01,
""",
    "products.csv": """product,name,domain,bw_definition,unit,iwmo_category
BW-INTRA,Beschermd wonen intramuraal,BW,true,day,15
THUIS,Thuis Plus,WMO,false,month,18
""",
    "tariffs.csv": """product,region,valid_from,valid_to,price
BW-INTRA,noord,2015-01-01,,100.00
THUIS,noord,2015-01-01,,1550.00
""",
    "clients.csv": """client,bsn
C1,999994943
C2,999999242
""",
    "brp.csv": """client,municipality,kind,valid_from,valid_to
C1,1680,woonadres,2000-01-01,
C2,1730,woonadres,2000-01-01,
""",
    "applications.csv": """client,region,municipality,date
C1,noord,1680,2024-01-10
C2,noord,1730,2024-01-10
""",
    "placements.csv": """placement,client,product,region,provider,location,start,end,financing
P1,C1,BW-INTRA,noord,Aanbieder,1730,2024-02-01,,ZIN
P2,C2,THUIS,noord,Aanbieder,0106,2024-02-01,,ZIN
""",
    "agreements.toml": """[[agreement]]
id = "gast-noord"
kind = "host"
region = "noord"
valid_from = 2024-01-01
products = ["BW-INTRA"]
""",
}


def define_host_kind() -> type[Agreement]:
    """The new kind, as its own module would define it (registered by being defined)."""

    @dataclass(frozen=True)
    class Host(Agreement):
        """Agreement kind `host`: the placement's location municipality pays (a test's kind)."""

        kind = "host"
        reference = "agreements/host"
        fields = frozenset({"region", "valid_from", "valid_to", "products"})
        title_nl = "Gastgemeente-afspraak"
        citation = {"sources": [{"document": "Testafspraak gastgemeente", "section": "art. 1"}],
                    "text": "Testafspraak gastgemeente, art. 1"}
        phrases = {
            "host_other_region": (lambda p: f"the care region is {p['region']}, not the agreement's",
                                  lambda p: f"de zorgregio is {p['region']}, niet die van de afspraak"),
            "host_not_valid": (lambda p: f"the agreement is not valid in {p['month']}",
                               lambda p: f"de afspraak geldt niet in {p['month']}"),
            "host_other_product": (lambda p: f"product {p['product']} is not covered",
                                   lambda p: f"product {p['product']} valt niet onder de afspraak"),
            "host_applies": (lambda p: f"the location municipality {p['payer']} pays",
                             lambda p: f"de gemeente van de locatie, {p['payer']}, betaalt"),
        }

        id: str
        region: str
        valid_from: date
        valid_to: date | None
        products: tuple[str, ...]

        @classmethod
        def parse(cls, raw: dict[str, Any], ds, problem: Callable[[str, str], None]) -> "Host | None":
            check_unknown(raw, cls.fields, problem)
            region = as_region(raw, "region", ds, problem)
            valid_from = as_date(raw, "valid_from", problem)
            valid_to = as_date(raw, "valid_to", problem, required=False)
            products = need(raw, "products", problem)
            if products is not None and (not isinstance(products, list) or any(p not in ds.products for p in products)):
                problem("products", f"must list known products, not {products!r}")
                products = None
            if region is None or valid_from is None or products is None:
                return None
            return cls(id=raw["id"], region=region, valid_from=valid_from, valid_to=valid_to,
                       products=tuple(sorted(products)))

        def canonical(self) -> dict[str, Any]:
            return {"id": self.id, "kind": self.kind, "region": self.region,
                    "valid_from": self.valid_from.isoformat(),
                    "valid_to": self.valid_to.isoformat() if self.valid_to else None,
                    "products": list(self.products)}

        def evaluate(self, case: Case, shares: list[Share]) -> Step:
            no = self.does_not_apply
            if case.placement.region != self.region:
                return no("host_other_region", region=case.placement.region)
            if not overlap(self.valid_from, self.valid_to, case.month.first, case.month.last):
                return no("host_not_valid", month=str(case.month))
            if case.placement.product not in self.products:
                return no("host_other_product", product=case.placement.product)
            payer = case.placement.location
            return Step(self.id, self.reference, True, [self.ref], outcome={"payer": payer},
                        why=("host_applies", {"payer": payer}), kind=self.kind)

        def apply(self, case: Case, shares: list[Share], step: Step) -> list[Share]:
            return [replace(s, payer=case.placement.location) for s in shares]

        @classmethod
        def explain_nl(cls, step: dict[str, Any], agreement: dict[str, Any] | None, w: Wording) -> dict[str, Any]:
            a = agreement or {}
            return {"kind": cls.kind,
                    "terms": [("Afspraak", f"{step['rule']} (gastgemeente)"), ("Regio", w.names.region(a.get("region"))),
                              ("Producten", ", ".join(a.get("products", []))), ("Verwijzing", w.reference)],
                    "facts": [("Locatie van de plaatsing", w.names.municipality(step["outcome"]["payer"]))],
                    "effect": "De gemeente van de locatie betaalt in plaats van de gemeente van het woonadres."}

    return Host


@pytest.fixture(scope="module")
def host_kind():
    """The kind registered for this module's tests only: afterwards the session knows only the
    project's own kinds again (other tests list the known kinds)."""
    before = (dict(KINDS), dict(phrases.EN), dict(phrases.NL), dict(references.CATALOGUE))
    cls = define_host_kind()
    try:
        yield cls
    finally:
        for book, saved in zip((KINDS, phrases.EN, phrases.NL, references.CATALOGUE), before):
            book.clear()
            book.update(saved)


@pytest.fixture(scope="module")
def settled(host_kind, tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("kinds")
    data = root / "data"
    data.mkdir()
    for name, text in FILES.items():
        (data / name).write_text(text, encoding="utf-8")
    url = f"sqlite:///{root / 'kinds.db'}"
    for args in (["init"], ["load", str(data)], ["run", "--month", "2024-03"]):
        settle(url, *args)
    return url


def settle(url: str, *args: str) -> str:
    r = CliRunner().invoke(main, ["--db", url, *args])
    assert r.exit_code == 0, r.output
    return r.output


def plain(markup: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", re.sub(r"<(style|svg)\b.*?</\1>", " ", markup, flags=re.S))
                    .replace("&#39;", "'").replace("&amp;", "&").split())


def test_the_new_kind_registers_itself_with_its_words(host_kind):
    assert KINDS["host"] is host_kind
    assert phrases.say("nl", "host_applies", {"payer": "1730"}) == "de gemeente van de locatie, 1730, betaalt"
    assert references.text("agreements/host") == "Testafspraak gastgemeente, art. 1"
    with pytest.raises(ValueError, match="already worded"):
        phrases.register("host_applies", lambda p: "other", lambda p: "ander")


def test_the_month_follows_the_new_kind(settled):
    lines = {l["placement"]: l for l in json.loads(settle(settled, "export", "--month", "2024-03"))["lines"]}
    assert (lines["P1"]["payer"], lines["P1"]["basis"], lines["P1"]["amount"]) == ("1730", "woonplaats", "3100.00")
    assert (lines["P2"]["payer"], lines["P2"]["basis"], lines["P2"]["amount"]) == ("1730", "registration", "1550.00")


def test_explain_text_gives_the_kinds_reasons_and_source(settled):
    out = settle(settled, "explain", "--month", "2024-03", "--client", "C1")
    assert "gast-noord [Testafspraak gastgemeente, art. 1]: APPLIES" in out
    assert "why: the location municipality 1730 pays" in out
    assert "paid by 1730" in out
    out = settle(settled, "explain", "--month", "2024-03", "--client", "C2")
    assert "gast-noord [Testafspraak gastgemeente, art. 1]: does not apply" in out
    assert "why: product THUIS is not covered" in out


def test_the_dossier_shows_the_kind_in_its_own_dutch(settled):
    seen = plain(settle(settled, "explain", "--month", "2024-03", "--client", "C1", "--format", "html"))
    assert "Gastgemeente-afspraak ‘gast-noord’" in seen                      # title_nl
    assert "de gemeente van de locatie, Tynaarlo (1730), betaalt" in seen     # its Dutch reason, with names
    for label, value in (("Afspraak", "gast-noord (gastgemeente)"), ("Regio", "Noord"), ("Producten", "BW-INTRA"),
                         ("Verwijzing", "Testafspraak gastgemeente, art. 1"),
                         ("Locatie van de plaatsing", "Tynaarlo (1730)")):
        assert f"{label} {value}" in seen, label                               # terms and facts of explain_nl
    assert "De gemeente van de locatie betaalt in plaats van de gemeente van het woonadres." in seen
    assert "Gastgemeente-afspraak, geldig vanaf 1 januari 2024" in seen       # the record it read
    assert "€ 3.100,00" in seen
    seen = plain(settle(settled, "explain", "--month", "2024-03", "--client", "C2", "--format", "html"))
    assert "product THUIS valt niet onder de afspraak" in seen
