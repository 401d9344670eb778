"""Deterministic generator of the bundled demonstration dataset (INTERFACE.md §1).

Regenerate the bundled data, from the repository's root::

    python3 -m tests.demo_generator settlement/demo/data

``python3 -m tests.demo_generator [DIR [CLIENTS]]`` writes the dataset to DIR (default: the
package's ``settlement/demo/data``). The output depends only on the seed: rows are sorted, lines end
in ``\\n`` and nothing reads a clock, so two runs give byte-identical files;
``tests/test_demo.py`` checks that the bundled files are what this writes, byte for byte.

It lives with the tests, not in the package: ``settle demo`` reads only the bundled files
(settlement/demo/run.py), and the generator's other half, ``expected_outcomes``, is a test oracle
(an independent reading of RULES.md §4-5 that the tests hold the engine to). It therefore keeps its
own literal 365 days and does not import the engine's constants.

What is real and what is invented
---------------------------------
- Regions, members and CBS codes follow the seeds (000-004). Membership dates are data: the former
  Assen region (Assen centrumgemeente for nine municipalities, seed 002) splits on 2021-01-01; its
  south-west members De Wolden, Hoogeveen, Meppel and Westerveld then form ``zuid-west-drenthe``
  (members by elimination, as seed 002 does not list them), while Tynaarlo joins
  Noord- en Midden-Drenthe "vanaf 2021" and so stays with Assen. Het Hogeland and Westerkwartier
  exist since 2019-01-01 (municipal mergers), so their membership starts then. Groningen and
  Leeuwarden have a few illustrative members only (the seeds list none). The Leidse Regio has the
  five members named in seed 004 and a later cutover (2024-01-01) than the others (2023-01-01),
  to show that the cutover is data.
- Zuid-West-Drenthe's centrumgemeente is Assen (seed 002: centrumgemeente of all nine), although
  Assen is no member of Zuid-West: its historic clients there stay Assen's.
- budgets.csv, 2021-2032: Emmen, Coevorden and Borger-Odoorn are REAL, copied figure by figure
  from seed 000 Bijlage II "Verdeling budgetten" (Emmen's historic budget falls from 13.691.613
  euros in 2021 to 0 in 2029). All other figures are INVENTED (marked so at _HISTORIC_2023):
  historic budgets of the other centrumgemeenten are sized to the demo's volumes and follow the
  national "centrumgemeente macrobudget" path of the same Bijlage; objective budgets are the
  national "objectief verdeeld macrobudget" times an approximate share of inhabitants.
- The IJssel-Vecht pool is a budget pool over domain BW only (seed 003 §4.1.2: "huidige cliënten
  beschermd wonen", "middels het historisch budget gefinancierd"): the members share the costs
  minus Zwolle's historic budget. Its key, approximate inhabitants, is an assumption (the seed
  names none).
- The Leidse Regio pool ("1 gebied, 1 opgave, 1 aanpak", seed 004 §6) shares the new clients
  beschermd wonen of the five from the region's cutover 2024-01-01, without a budget. The seed
  names neither key nor budget (its "verdeelmodel" is still to be made): inhabitants and no budget
  are assumptions (see LEI_POOL_ID).
- The one dispute and ruling (disputes.csv, rulings.csv: Kampen contests C0021's vangnet payer,
  the committee rules Zwolle pays from 2024-02-01) are INVENTED (see DISPUTE, RULING).
- Volumes are invented (see N_BULK_*): enough clients for the budget monitor to mean something
  against the real budgets; Borger-Odoorn's new clients exceed its objective budget in 2023 and
  2024 (seed 003 §4.1.1: "de eerste jaren niet toereikend").
- IBANs (BNG Bank, mod-97 check digits computed here), OINs, addresses, tariffs, clients, BSNs
  (11-proef numbers from 999990000-999999999, the range used for test persons), providers'
  locations and all histories are invented. Town hall addresses are given where known, otherwise
  "Raadhuisplein 1".

Which client exercises what
---------------------------
Clients C0001-C0044 are hand-made scenarios, one rule or flag of RULES.md each (``SCENARIOS``
maps each to a one-line description; ``expected_outcomes()`` gives the status, basis, payer and
flags the generator's own self-check expects for each scenario placement). The clients C0045
up to C0300 are random but valid: one placement each (sometimes an intramural stay followed
directly by begeleid wonen), a BRP history covering the day before the start, applications in
the home region, notifications for most EAGLE cross-region placements (some late, some never). After them come
the bulk clients C0301.. (``_bulk_clients``): historic clients in Zuidoost-Drenthe and IJssel-Vecht
and new intramural clients of Borger-Odoorn in 2023 and 2024.

In short: historic clients in every region (C0001-C0009; pooled in IJssel-Vecht C0001, C0002,
C0033; C0005 is WMO, outside the BW budget pool), MO (C0010-C0012, C0043), woonplaats (C0013-C0015), reentry (C0016-C0018, C0037,
C0044), woonplaats_before_institution (C0019, C0020), vangnet (C0021-C0025), WMO registration
splits (C0026-C0028), EAGLE on time / late / never (C0029-C0031), no_interregional_agreement
(C0017, C0032), 365/366-day chain boundaries (C0033-C0038), the Leidse Regio cutover
(C0039-C0041; its pool takes the new BW clients C0025 and C0040 from 2024), Thuis Plus never a
reentry source (C0042), a dispute and a ruling (C0021).
"""

from __future__ import annotations

import csv
import random
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "settlement" / "demo" / "data"
DEFAULT_SEED = 2023
N_CLIENTS = 300
HORIZON = date(2024, 12, 31)  # the last day the demonstration covers
FAR = date(9999, 12, 31)
ONE = timedelta(days=1)

SCENARIOS: dict[str, str] = {
    "C0001": "historic BW-INTRA in IJssel-Vecht since 2020 -> pooled 2023-2025 (basis pool); "
             "crosses the mid-month tariff change of 2024-07-16; declaration for 2023-03",
    "C0002": "historic BEGELEID (PGB) in IJssel-Vecht ending 2023-06-15 -> pooled; 15/30 days of a "
             "month price ends on half a cent",
    "C0003": "historic BW-NABIJ in Zuidoost-Drenthe (Coevorden resident) -> Emmen pays (basis historic)",
    "C0004": "historic THUIS-PLUS (WMO) in Zuidoost-Drenthe -> stays with Emmen (basis historic)",
    "C0005": "historic THUIS-PLUS in IJssel-Vecht -> Zwolle (basis historic): the budget pool covers "
             "domain BW only",
    "C0006": "historic BW-INTRA in Noord-Midden-Drenthe, Tynaarlo resident -> Assen (basis historic)",
    "C0007": "historic BW-NABIJ in Zuid-West-Drenthe ending 2024-05-17 -> Assen (basis historic): Assen "
             "is the centrumgemeente of Zuid-West's historic clients although no member (seed 002)",
    "C0008": "historic BW-INTRA in Groningen, Westerkwartier resident -> Groningen (basis historic)",
    "C0009": "historic BEGELEID in Leeuwarden region, Smallingerland resident -> Leeuwarden (historic)",
    "C0010": "MO-NACHT in Emmen 2023-02-10..2023-03-20 (mid-month both ends) -> Emmen (basis mo, n/a)",
    "C0011": "MO-24 in Zwolle 2022-11-01..2023-04-30 across the cutover -> Zwolle (basis mo, n/a)",
    "C0012": "MO-24 in Leiden from 2024-01-05 after years abroad -> Leiden (basis mo, n/a)",
    "C0013": "new BW-INTRA in a Zwolle facility, woonadres Dalfsen the day before -> Dalfsen "
             "(woonplaats); through the 2024-07-16 tariff change; declaration for 2023-05",
    "C0014": "new BW-NABIJ in Assen 2023-09-16..2024-02-10, woonadres Tynaarlo -> Tynaarlo (woonplaats)",
    "C0015": "new BEGELEID (PGB) in Zuid-West-Drenthe from 2024-04-16, Meppel -> Meppel (woonplaats); "
             "15/30 days at 1500.15 per month ends on half a cent",
    "C0016": "reentry across EAGLE regions: BW-NABIJ in Groningen (payer Groningen) ended 2023-08-31, "
             "moved to Assen, BW-INTRA in Noord-Midden-Drenthe 2023-11-01 -> Groningen (reentry), "
             "notified on time",
    "C0017": "reentry after a pooled historic IJssel-Vecht placement ended 2023-03-31: BEGELEID in "
             "Zuid-West-Drenthe 2023-08-01 -> Zwolle (reentry), flag no_interregional_agreement",
    "C0018": "reentry inside a new IJssel-Vecht chain: BW-NABIJ (Kampen) ended 2023-05-31, now living "
             "in Zwolle, BW-INTRA 2023-10-01 -> Kampen (reentry)",
    "C0019": "woonplaats_before_institution: woonadres Hardenberg, institution Zwolle, institution "
             "Kampen, then BW-INTRA in Ommen 2023-06-01 -> Hardenberg",
    "C0020": "woonplaats_before_institution over 3 institution registrations (Groningen, Emmen, "
             "Midden-Drenthe) after woonadres Borger-Odoorn; BW-INTRA in Assen 2023-11-15 -> "
             "Borger-Odoorn, EAGLE notified on time",
    "C0021": "vangnet: briefadres Zwolle the day before BW-NABIJ, application in Kampen -> Kampen, "
             "flag vangnet; Kampen contests it on 2024-03-12 (flag contested), ruled on 2024-05-21: Zwolle "
             "pays from 2024-02-01 (basis ruling)",
    "C0022": "vangnet: abroad the day before BW-INTRA in Leeuwarden, no application -> Leeuwarden, "
             "flag vangnet",
    "C0023": "vangnet: not registered (gap) the day before BW-NABIJ in Groningen, application in "
             "Westerkwartier -> Westerkwartier, flag vangnet",
    "C0024": "vangnet: institution registration preceded by a gap (walk-back finds no woonadres), no "
             "application -> Emmen, flag vangnet",
    "C0025": "vangnet in the Leidse Regio 2024: briefadres Leiderdorp, application in Oegstgeest -> "
             "the rules say Oegstgeest (vangnet), the Leidse Regio pool takes it, flag vangnet kept",
    "C0026": "new THUIS-PLUS (WMO) in Zuidoost-Drenthe, moves Coevorden -> Emmen on 2023-06-16: "
             "June split 15/15 days (basis registration)",
    "C0027": "new THUIS-PLUS in IJssel-Vecht, no woonadres on 2023-09-11 between Kampen and Zwolle: "
             "that day vangnet (application Kampen); declaration for 2023-09",
    "C0028": "new THUIS-PLUS in the Leidse Regio from 2024-02-01, moves Leiden -> Leiderdorp on "
             "2024-06-16 (registration split)",
    "C0029": "EAGLE on time: Coevorden resident in BW-INTRA in Groningen from 2023-05-08, notified "
             "2023-05-15 -> Coevorden, no flag; declaration for 2023-06",
    "C0030": "EAGLE late (shift): Assen resident in BW-NABIJ in Leeuwarden from 2023-06-05, notified "
             "2023-07-10 -> Leeuwarden pays 06-05..07-09 (late_notification), Assen the rest; "
             "declaration for 2023-07",
    "C0031": "EAGLE never notified: Heerenveen resident in BW-INTRA in Emmen 2024-02-12..2024-09-30 "
             "-> every day Emmen (late_notification)",
    "C0032": "IJssel-Vecht -> Zuidoost-Drenthe (no EAGLE party): Ommen resident in BW-INTRA in Emmen "
             "from 2023-07-01 -> Ommen, flag no_interregional_agreement",
    "C0033": "chain boundary: application 2022-03-10, BW-NABIJ 2023-03-10 (365 days) -> same chain, "
             "historic, pooled",
    "C0034": "chain boundary: application 2022-03-10, BW-NABIJ 2023-03-11 (366 days) -> new chain, "
             "Staphorst (woonplaats)",
    "C0035": "chain boundary: placement ended 2022-06-30, BW-INTRA 2023-07-01 (366 days) -> new, no "
             "reentry, Het Hogeland (woonplaats)",
    "C0036": "chain boundary: placement ended 2022-06-30, BW-INTRA 2023-06-30 (365 days) -> historic, "
             "Groningen",
    "C0037": "reentry boundary: BW-NABIJ (Kampen) ended 2023-02-28, BW-INTRA 2024-02-28 (365 days) "
             "-> Kampen (reentry) although living in Zwolle",
    "C0038": "reentry boundary: BW-NABIJ (Kampen) ended 2023-02-28, BW-INTRA 2024-02-29 (366 days) "
             "-> new chain, Zwolle (woonplaats)",
    "C0039": "Leidse Regio historic in 2023 (cutover 2024-01-01): BW-INTRA from 2023-05-01 -> Leiden "
             "(historic) in 2023 and 2024",
    "C0040": "Leidse Regio new from 2024: BW-NABIJ from 2024-02-01, Oegstgeest resident -> the rules say "
             "Oegstgeest (woonplaats), the Leidse Regio pool (new clients BW) takes it",
    "C0041": "Leidse Regio: application 2023-03-01 (before its cutover), BEGELEID 2024-02-15 -> "
             "historic chain, Leiden (the same dates in IJssel-Vecht would be new)",
    "C0042": "Thuis Plus is no reentry source: THUIS-PLUS (Coevorden) ended 2023-04-30, BW-NABIJ "
             "2023-06-01 after moving -> Borger-Odoorn (woonplaats)",
    "C0043": "MO does not make a client historic: MO-24 in 2022, BW-NABIJ 2023-02-01 -> new, "
             "Coevorden (woonplaats)",
    "C0044": "step-down: new BW-INTRA in Hoogeveen 2023-01-18..2023-07-14 (De Wolden), BEGELEID from "
             "2023-07-15 after moving to Meppel -> De Wolden (reentry, 1 day)",
}

# --------------------------------------------------------------------------- master data

# code, name, street, postcode, city, approximate inhabitants (2022); every one has an OIN (_municipality_oin)
MUNICIPALITIES: list[tuple[str, str, str, str, str, int]] = [
    ("0193", "Zwolle", "Grote Kerkplein 15", "8011 PK", "Zwolle", 130000),
    ("0148", "Dalfsen", "Raadhuisplein 1", "7721 AA", "Dalfsen", 28900),
    ("0160", "Hardenberg", "Raadhuisplein 1", "7772 AA", "Hardenberg", 61500),
    ("0166", "Kampen", "Burgemeester Berghuisplein 1", "8261 DD", "Kampen", 54800),
    ("0175", "Ommen", "Raadhuisplein 1", "7731 AA", "Ommen", 18100),
    ("0180", "Staphorst", "Raadhuisplein 1", "7951 AA", "Staphorst", 17700),
    ("1708", "Steenwijkerland", "Raadhuisplein 1", "8331 AA", "Steenwijk", 44600),
    ("1896", "Zwartewaterland", "Raadhuisplein 1", "8061 AA", "Hasselt", 23000),
    ("0114", "Emmen", "Raadhuisplein 1", "7811 AP", "Emmen", 107000),
    ("0109", "Coevorden", "Kasteel 1", "7741 GC", "Coevorden", 35400),
    ("1681", "Borger-Odoorn", "Raadhuisplein 1", "7875 AA", "Exloo", 25700),
    ("0106", "Assen", "Noordersingel 33", "9401 JW", "Assen", 68800),
    ("1680", "Aa en Hunze", "Raadhuisplein 1", "9461 AA", "Gieten", 25800),
    ("1731", "Midden-Drenthe", "Raadhuisplein 1", "9411 AA", "Beilen", 33800),
    ("1699", "Noordenveld", "Raadhuisplein 1", "9301 AA", "Roden", 32600),
    ("1730", "Tynaarlo", "Raadhuisplein 1", "9481 AA", "Vries", 34500),
    ("0118", "Hoogeveen", "Raadhuisplein 24", "7901 BW", "Hoogeveen", 55800),
    ("0119", "Meppel", "Raadhuisplein 1", "7941 AA", "Meppel", 34500),
    ("1690", "De Wolden", "Raadhuisplein 1", "7921 AA", "Zuidwolde", 24600),
    ("1701", "Westerveld", "Raadhuisplein 1", "7991 AA", "Dwingeloo", 19900),
    ("0014", "Groningen", "Kreupelstraat 1", "9712 HW", "Groningen", 235000),
    ("1966", "Het Hogeland", "Raadhuisplein 1", "9951 AA", "Winsum", 48000),
    ("1969", "Westerkwartier", "Raadhuisplein 1", "9801 AA", "Zuidhorn", 65000),
    ("0080", "Leeuwarden", "Oldehoofsterkerkhof 2", "8911 DH", "Leeuwarden", 125000),
    ("0090", "Smallingerland", "Raadhuisplein 1", "9201 AA", "Drachten", 56000),
    ("0074", "Heerenveen", "Raadhuisplein 1", "8441 AA", "Heerenveen", 51000),
    ("0546", "Leiden", "Stadhuisplein 1", "2311 EJ", "Leiden", 125000),
    ("0547", "Leiderdorp", "Raadhuisplein 1", "2351 AA", "Leiderdorp", 27800),
    ("0579", "Oegstgeest", "Raadhuisplein 1", "2341 AA", "Oegstgeest", 26000),
    ("0626", "Voorschoten", "Raadhuisplein 1", "2251 AA", "Voorschoten", 25800),
    ("0638", "Zoeterwoude", "Raadhuisplein 1", "2381 AA", "Zoeterwoude", 9300),
]
MUNI = {m[0]: m for m in MUNICIPALITIES}

# slug, name, centrumgemeente, cutover
REGIONS: list[tuple[str, str, str, date]] = [
    ("ijssel-vecht", "IJssel-Vecht", "0193", date(2023, 1, 1)),
    ("zuidoost-drenthe", "Zuidoost-Drenthe", "0114", date(2023, 1, 1)),
    ("noord-midden-drenthe", "Noord- en Midden-Drenthe", "0106", date(2023, 1, 1)),
    # seed 002: Assen was centrumgemeente of all nine; its historic clients in Zuid-West stay Assen's
    # although Assen is no member of Zuid-West (INTERFACE.md v2 allows that)
    ("zuid-west-drenthe", "Zuid-West-Drenthe", "0106", date(2023, 1, 1)),
    ("groningen", "Groningen", "0014", date(2023, 1, 1)),
    ("leeuwarden", "Leeuwarden", "0080", date(2023, 1, 1)),
    ("leidse-regio", "Leidse Regio", "0546", date(2024, 1, 1)),
]
CENTRUM = {r[0]: r[2] for r in REGIONS}
# where a region's intramural places and opvang mostly are: the centrumgemeente, except in Zuid-West
# (its centrumgemeente Assen lies outside it): Hoogeveen, an assumption
FACILITY_TOWN = {**CENTRUM, "zuid-west-drenthe": "0118"}
CUTOVER = {r[0]: r[3] for r in REGIONS}
IJV, ZOD, NMD, ZWD, GRO, LEE, LEI = (r[0] for r in REGIONS)

_SINCE = date(2015, 1, 1)
_SPLIT = date(2021, 1, 1)  # seed 002: the Assen region splits per 1 januari 2021
# region, municipality, valid_from, valid_to
REGION_MEMBERS: list[tuple[str, str, date, date | None]] = (
    [(IJV, c, _SINCE, None) for c in ("0193", "0148", "0160", "0166", "0175", "0180", "1708", "1896")]
    + [(ZOD, c, _SINCE, None) for c in ("0114", "0109", "1681")]
    + [(NMD, c, _SINCE, None) for c in ("0106", "1680", "1731", "1699", "1730")]
    + [(NMD, c, _SINCE, _SPLIT - ONE) for c in ("0118", "0119", "1690", "1701")]
    + [(ZWD, c, _SPLIT, None) for c in ("0118", "0119", "1690", "1701")]
    + [(GRO, "0014", _SINCE, None), (GRO, "1966", date(2019, 1, 1), None),
       (GRO, "1969", date(2019, 1, 1), None)]
    + [(LEE, c, _SINCE, None) for c in ("0080", "0090", "0074")]
    + [(LEI, c, _SINCE, None) for c in ("0546", "0547", "0579", "0626", "0638")]
)

# product, name, domain, bw_definition, unit, iwmo_category
PRODUCTS: list[tuple[str, str, str, bool, str, str]] = [
    ("BW-INTRA", "Beschermd wonen intramuraal", "BW", True, "day", "15"),
    ("BW-NABIJ", "Beschermd wonen nabij (extramuraal)", "BW", True, "day", "15"),
    ("BEGELEID", "Begeleid wonen", "BW", True, "month", "15"),
    ("THUIS-PLUS", "Thuis Plus", "WMO", False, "month", "18"),
    ("MO-NACHT", "Nachtopvang", "MO", False, "day", "16"),
    ("MO-24", "24-uursopvang", "MO", False, "day", "16"),
]
DOMAIN = {p[0]: p[2] for p in PRODUCTS}
BW_DEF = {p[0]: p[3] for p in PRODUCTS}

TARIFF_START = date(2020, 1, 1)
NEW_PRICE = date(2024, 1, 1)
MID_MONTH_CHANGE = date(2024, 7, 16)
# (product, region) -> (price 2020-2023, price from 2024) in euros. Month prices such as 1425.45,
# 1500.15 and 750.45 are multiples of 15 cents with an odd quotient: an odd number of days in a
# 30-day month then gives an amount that ends on exactly half a cent.
_PRICES: dict[str, dict[str, tuple[str, str]]] = {
    "BW-INTRA": {IJV: ("132.40", "139.85"), ZOD: ("128.90", "135.60"), NMD: ("131.25", "137.80"),
                 ZWD: ("129.70", "136.15"), GRO: ("141.30", "148.45"), LEE: ("126.55", "133.20"),
                 LEI: ("152.80", "159.95")},
    "BW-NABIJ": {IJV: ("74.60", "78.35"), ZOD: ("69.80", "73.30"), NMD: ("71.45", "75.05"),
                 ZWD: ("70.90", "74.45"), GRO: ("79.15", "83.10"), LEE: ("66.40", "69.75"),
                 LEI: ("84.70", "88.95")},
    "BEGELEID": {IJV: ("1425.45", "1485.45"), ZOD: ("1352.40", "1420.05"), NMD: ("1389.75", "1459.35"),
                 ZWD: ("1447.65", "1500.15"), GRO: ("1512.30", "1587.90"), LEE: ("1298.55", "1363.50"),
                 LEI: ("1620.45", "1701.45")},
    "THUIS-PLUS": {IJV: ("702.15", "737.25"), ZOD: ("750.45", "788.10"), NMD: ("690.30", "724.80"),
                   ZWD: ("684.90", "719.10"), GRO: ("735.60", "772.35"), LEE: ("655.20", "688.05"),
                   LEI: ("812.40", "852.90")},
    "MO-NACHT": {IJV: ("52.35", "54.95"), ZOD: ("48.60", "51.05"), NMD: ("49.90", "52.40"),
                 ZWD: ("47.75", "50.15"), GRO: ("55.80", "58.60"), LEE: ("46.95", "49.30"),
                 LEI: ("61.25", "64.30")},
    "MO-24": {IJV: ("84.20", "88.40"), ZOD: ("78.65", "82.60"), NMD: ("80.10", "84.10"),
              ZWD: ("77.30", "81.15"), GRO: ("89.45", "93.90"), LEE: ("76.80", "80.65"),
              LEI: ("91.40", "94.95")},
}
# the one tariff that changes in the middle of a month
_MID_MONTH = ("BW-INTRA", IJV, "142.17")

PROVIDERS: dict[str, dict[str, list[str]]] = {
    IJV: {"BW": ["Tactus", "Leger des Heils", "Stichting Philadelphia", "De Kern"],
          "MO": ["Leger des Heils"]},
    ZOD: {"BW": ["GGZ Drenthe", "Cosis", "Stichting Limor", "Leger des Heils"],
          "MO": ["Leger des Heils", "Wender"]},
    NMD: {"BW": ["GGZ Drenthe", "Cosis", "Stichting Limor"], "MO": ["Leger des Heils"]},
    ZWD: {"BW": ["GGZ Drenthe", "Stichting Philadelphia", "Leger des Heils"], "MO": ["Leger des Heils"]},
    GRO: {"BW": ["Lentis", "Cosis", "Leger des Heils"], "MO": ["Leger des Heils"]},
    LEE: {"BW": ["GGZ Friesland", "Zienn", "Leger des Heils"], "MO": ["Leger des Heils"]},
    LEI: {"BW": ["GGZ Rivierduinen", "Stichting Philadelphia", "Leger des Heils"],
          "MO": ["Leger des Heils"]},
}

POOL_ID = "ijv-solidariteit-historisch"
POOL_VALID = (date(2023, 1, 1), date(2025, 12, 31))
POOL_DOMAINS = ("BW",)  # seed 003 §4.1.2: "huidige cliënten beschermd wonen"
POOL_NAME = "Solidariteit historisch budget IJssel-Vecht"
# The Leidse Regio's own arrangement "1 gebied, 1 opgave, 1 aanpak" [004 §6 Bedrijfsvoering, also
# "Uitgangspunten" and the Inleiding]. What the seed says: until the decentralisation the costs and
# the means are borne by the centrumgemeente Leiden ("Op dit moment worden de financiële middelen en
# kosten gedragen door de centrumgemeente. Na de decentralisatie wijzigt dit."); the five are to
# share the costs that then move to them "eendachtig het uitgangspunt van 1 gebied, 1 opgave, 1
# aanpak". Read here as a pool of the NEW clients (the costs that leave Leiden; the historic ones
# stay Leiden's, RULES.md §4.3, paid from its historic budget), domain BW only: Wmo begeleiding is
# already every municipality's own task (004 Inleiding: "Waar alle gemeenten nu al verantwoordelijk
# zijn voor het bieden van begeleiding ... in het kader van de Wmo"), and opvang stays with the
# centrumgemeente by law (RULES.md §4.1). ASSUMED, as the seed names neither (its "nieuw
# verdeelmodel" is still to be made): the key, approximate inhabitants as for IJssel-Vecht; no
# budget (the seed names no shared budget: each municipality keeps its own objective budget); valid
# from the region's cutover 2024-01-01 without an end; the creditor is the default, Leiden.
LEI_POOL_ID = "leidse-regio-1-gebied"
LEI_POOL_NAME = "Solidariteit nieuwe cliënten Leidse Regio (1 gebied, 1 opgave, 1 aanpak)"
LEI_POOL_FROM = date(2024, 1, 1)
LEI_POOL_CLIENTS = "new"
LEI_POOL_DOMAINS = ("BW",)
EAGLE_ID = "eagle"
EAGLE_NAME = "Werkafspraken EAGLE (Emmen, Assen, Groningen, Leeuwarden)"
EAGLE_REGIONS = (ZOD, NMD, GRO, LEE)
EAGLE_FROM = date(2023, 1, 1)
NOTIFY_WITHIN = 14

# INVENTED (see scenario C0021): dispute (id, raised_by, raised_on, subject) and ruling (id, payer,
# valid_from, decided_on, reference) on C0021's placement
DISPUTE = ("G2024-01", "0166", date(2024, 3, 12),
           "Kampen betwist het vangnet: de cliënt verbleef vóór de plaatsing vier maanden met een briefadres "
           "in Zwolle en woont daar sinds de start")
RULING = ("U2024-01", "0193", date(2024, 2, 1), date(2024, 5, 21),
          "Geschillencommissie BW/MO, uitspraak 2024/1")

BUDGET_YEARS = tuple(range(2021, 2033))  # the ingroeipad of seed 000 Bijlage II: 2021-2032

# REAL: seed 000 (Regiovisie Zuidoost-Drenthe), Bijlage II "Verdeling budgetten", the column
# "Gemeentelijk budget" (Historisch, Objectief) of each municipality's table, whole euros, copied
# figure by figure. Municipality -> year -> (historic, objective).
_SEED_BUDGETS: dict[str, dict[int, tuple[int, int]]] = {
    # Bijlage II, table "Emmen" (the centrumgemeente: historic 13.691.613 in 2021, 0 from 2029)
    "0114": {2021: (13691613, 0), 2022: (13181651, 0), 2023: (11879780, 915682),
             2024: (8872794, 2916350), 2025: (6373395, 4594459), 2026: (4295458, 6004437),
             2027: (2565215, 7189240), 2028: (1127057, 8188057), 2029: (0, 8988782),
             2030: (0, 9071855), 2031: (0, 9154928), 2032: (0, 9238001)},
    # Bijlage II, table "Coevorden" (no historic budget: not a centrumgemeente)
    "0109": {2021: (0, 0), 2022: (0, 0), 2023: (0, 298810), 2024: (0, 951679),
             2025: (0, 1499288), 2026: (0, 1959400), 2027: (0, 2346031), 2028: (0, 2671970),
             2029: (0, 2933267), 2030: (0, 2960376), 2031: (0, 2987485), 2032: (0, 3014593)},
    # Bijlage II, table "Borger-Odoorn"
    "1681": {2021: (0, 0), 2022: (0, 0), 2023: (0, 223567), 2024: (0, 712038),
             2025: (0, 1121754), 2026: (0, 1466006), 2027: (0, 1755280), 2028: (0, 1999145),
             2029: (0, 2194645), 2030: (0, 2214928), 2031: (0, 2235210), 2032: (0, 2255493)},
}
# REAL: seed 000 Bijlage II, table "Macrobudgetten", rows "Centrumgemeente macrobudget" and
# "Objectief verdeeld macrobudget", cents. Used only as the PATH along which the invented budgets
# below move from year to year.
_MACRO_CENTRUM = {2021: 148089900000, 2022: 142574100000, 2023: 128492924155, 2024: 95969051813,
                  2025: 68935298563, 2026: 46460118110, 2027: 27745627375, 2028: 12190362603,
                  2029: 0, 2030: 0, 2031: 0, 2032: 0}
_MACRO_OBJECTIVE = {2021: 0, 2022: 0, 2023: 14144775845, 2024: 46718648187, 2025: 73812101437,
                    2026: 96349681890, 2027: 115064172625, 2028: 130619437397, 2029: 142809800000,
                    2030: 142809800000, 2031: 142809800000, 2032: 142809800000}
_NL_INHABITANTS = 17_800_000  # INVENTED round figure (about the Dutch population of 2022)
# INVENTED: the historic budget 2023 (euros) of the centrumgemeenten the seeds give no table for;
# other years follow the national path above. The seeds give no figure for them, and a real one
# (tens of millions) would dwarf the demo's few hundred clients: each is sized to the demo's
# historic costs of its region in 2023 (about 1.2 times them; Zwolle's about equal, so that the
# IJssel-Vecht budget pool shows months short and months with a surplus). Assen's covers Noord- en
# Midden-Drenthe and Zuid-West-Drenthe (seed 002).
_HISTORIC_2023 = {"0193": 1_440_000, "0106": 1_000_000, "0014": 950_000,
                  "0080": 260_000, "0546": 250_000}
# INVENTED objective budgets: the national objective macrobudget times the share of inhabitants.


# --------------------------------------------------------------------------- small helpers

def _d(text: str) -> date:
    return date.fromisoformat(text)


def _iso(day: date | None) -> str:
    return "" if day is None else day.isoformat()


def _cents(euros: str) -> int:
    whole, _, frac = euros.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def _euros(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def bsn_valid(bsn: str) -> bool:
    """The 11-proef of a burgerservicenummer."""
    if len(bsn) != 9 or not bsn.isdigit() or bsn == "000000000":
        return False
    d = [int(c) for c in bsn]
    return (sum(d[i] * (9 - i) for i in range(8)) - d[8]) % 11 == 0


def _iban_number(text: str) -> int:
    return int("".join(str(int(ch, 36)) for ch in text))


def iban_valid(iban: str) -> bool:
    iban = iban.replace(" ", "")
    return len(iban) == 18 and _iban_number(iban[4:] + iban[:4]) % 97 == 1


def make_iban(bank: str, account: str) -> str:
    """A Dutch IBAN with computed check digits (ISO 13616 mod 97)."""
    check = 98 - _iban_number(bank + account + "NL00") % 97
    return f"NL{check:02d}{bank}{account}"


def _municipality_iban(code: str) -> str:
    # BNG Bank, synthetic 10-digit account number 0285 + CBS code + 2 digits
    return make_iban("BNGH", f"0285{code}{int(code) * 37 % 100:02d}")


def _municipality_oin(code: str) -> str:
    """The OIN of a municipality, INVENTED: no seed gives the real ones. It has the form of a Dutch
    government body's OIN, 00000001 + its RSIN + 000, and a municipality's RSIN begins with 0: so
    000000010 + CBS code + 3 digits + an 11-proef check digit + 000 (20 digits). Plausible, not
    real: a real e-invoice needs the municipality's OIN from the OIN register (Logius)."""
    n = int(code) * 13 % 1000
    while True:
        base = f"0{code}{n:03d}"
        for last in range(10):
            if bsn_valid(base + str(last)):
                return f"00000001{base}{last}000"
        n = (n + 1) % 1000
        n = (n + 1) % 1000


def _months(start: date, end: date):
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        yield y, m
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


# --------------------------------------------------------------------------- the dataset

@dataclass
class Placement:
    pid: str
    client: str
    product: str
    region: str
    provider: str
    location: str
    start: date
    end: date | None
    financing: str


@dataclass
class Registration:
    client: str
    municipality: str  # "" for abroad
    kind: str
    valid_from: date
    valid_to: date | None

    def covers(self, day: date) -> bool:
        return self.valid_from <= day <= (self.valid_to or FAR)


class Dataset:
    def __init__(self, rng: random.Random, n_clients: int = 300) -> None:
        self.rng = rng
        self.n_clients = n_clients
        # test-person BSNs 999990000..999999999 (about 900) suffice for the bundled data; a larger
        # synthetic set (for benchmarks) draws from a wider range
        low = 999990000 if n_clients <= 800 else 999999999 - 12 * n_clients
        pool = [str(n) for n in range(low, 1000000000) if bsn_valid(str(n))]
        rng.shuffle(pool)
        self._bsns = iter(pool)
        self.clients: dict[str, str] = {}
        self.brp: list[Registration] = []
        self.applications: list[tuple[str, str, str, date]] = []
        self.placements: list[Placement] = []
        self.notifications: dict[str, tuple[str, date]] = {}
        self.declarations: dict[tuple[str, str], int] = {}
        self.expected: dict[str, tuple[str, str, str | None, tuple[str, ...]]] = {}
        self.disputes: list[tuple[str, str, str, date, str]] = []
        self.rulings: list[tuple[str, str, str, str, date, date, str]] = []

    # ---- construction
    def client(self, cid: str) -> str:
        assert cid not in self.clients, cid
        self.clients[cid] = next(self._bsns)
        return cid

    def reg(self, client: str, municipality: str, kind: str, valid_from: str | date,
            valid_to: str | date | None = None) -> None:
        vf = _d(valid_from) if isinstance(valid_from, str) else valid_from
        vt = _d(valid_to) if isinstance(valid_to, str) else valid_to
        self.brp.append(Registration(client, municipality, kind, vf, vt))

    def app(self, client: str, region: str, municipality: str, day: str | date) -> None:
        self.applications.append((client, region, municipality,
                                  _d(day) if isinstance(day, str) else day))

    def place(self, client: str, product: str, region: str, provider: str, location: str,
              start: str | date, end: str | date | None = None, financing: str = "ZIN") -> str:
        pid = f"P{len(self.placements) + 1:05d}"
        self.placements.append(Placement(
            pid, client, product, region, provider, location,
            _d(start) if isinstance(start, str) else start,
            _d(end) if isinstance(end, str) else end, financing))
        return pid

    def notify(self, pid: str, municipality: str, day: str | date) -> None:
        self.notifications[pid] = (municipality, _d(day) if isinstance(day, str) else day)

    def declare(self, pid: str, month: str, euros: str) -> None:
        self.declarations[(pid, month)] = _cents(euros)

    def dispute(self, dispute: str, pid: str, raised_by: str, raised_on: date, subject: str) -> None:
        self.disputes.append((dispute, pid, raised_by, raised_on, subject))

    def ruling(self, ruling: str, dispute: str, pid: str, payer: str, valid_from: date, decided_on: date,
               reference: str) -> None:
        self.rulings.append((ruling, dispute, pid, payer, valid_from, decided_on, reference))

    def expect(self, pid: str, status: str, basis: str, payer: str | None,
               flags: tuple[str, ...] = ()) -> None:
        self.expected[pid] = (status, basis, payer, tuple(sorted(flags)))

    # ---- queries (an independent, minimal reading of RULES.md §4-5, used by the self-check)
    def members_on(self, region: str, day: date) -> list[str]:
        return sorted(m for r, m, vf, vt in REGION_MEMBERS
                      if r == region and vf <= day <= (vt or FAR))

    def region_of(self, municipality: str, day: date) -> str | None:
        found = [r for r, m, vf, vt in REGION_MEMBERS
                 if m == municipality and vf <= day <= (vt or FAR)]
        assert len(found) <= 1, (municipality, day, found)
        return found[0] if found else None

    def registration_on(self, client: str, day: date) -> Registration | None:
        found = [g for g in self.brp if g.client == client and g.covers(day)]
        assert len(found) <= 1
        return found[0] if found else None

    def status(self, p: Placement) -> str:
        if DOMAIN[p.product] == "MO":
            return "n/a"
        acts = sorted(
            [(day, day, "") for c, r, _, day in self.applications if c == p.client and r == p.region]
            + [(q.start, q.end or FAR, q.pid) for q in self.placements
               if q.client == p.client and q.region == p.region and DOMAIN[q.product] != "MO"])
        first = latest = None
        for start, end, pid in acts:
            if latest is None or (start - latest).days > 365:
                first, latest = start, end
            else:
                latest = max(latest, end)
            if pid == p.pid:
                return "historic" if first < CUTOVER[p.region] else "new"
        raise AssertionError(p.pid)

    def vangnet_payer(self, p: Placement) -> str:
        apps = sorted(day_m for day_m in ((day, m) for c, r, m, day in self.applications
                                          if c == p.client and r == p.region and day <= p.start))
        return apps[-1][1] if apps else CENTRUM[p.region]

    def bw_payer(self, p: Placement) -> tuple[str, str]:
        """RULES.md §4.4 for a new BW placement: (basis, payer)."""
        earlier = [q for q in self.placements
                   if q.client == p.client and q.pid != p.pid and BW_DEF[q.product]
                   and q.end is not None and 1 <= (p.start - q.end).days <= 365]
        assert len(earlier) <= 1, f"{p.pid}: ambiguous reentry"
        if earlier:
            q = earlier[0]
            return "reentry", (self.bw_payer(q)[1] if self.status(q) == "new" else CENTRUM[q.region])
        g = self.registration_on(p.client, p.start - ONE)
        if g is not None and g.kind == "woonadres":
            return "woonplaats", g.municipality
        if g is not None and g.kind == "institution":
            while g is not None and g.kind == "institution":
                g = self.registration_on(p.client, g.valid_from - ONE)
            if g is not None and g.kind == "woonadres":
                return "woonplaats_before_institution", g.municipality
        return "vangnet", self.vangnet_payer(p)

    def eagle_covers(self, p: Placement, payer: str) -> bool:
        if p.start < EAGLE_FROM or p.region not in EAGLE_REGIONS:
            return False
        other = self.region_of(payer, p.start)
        return other in EAGLE_REGIONS and other != p.region

    def outcome(self, p: Placement) -> tuple[str, str, str | None, tuple[str, ...]]:
        """(status, basis at the start, payer, flags) for the placement's first day."""
        status = self.status(p)
        if status == "n/a":
            return status, "mo", CENTRUM[p.region], ()
        if status == "historic":
            pooled = (p.region == IJV and DOMAIN[p.product] in POOL_DOMAINS
                      and (p.end or FAR) >= POOL_VALID[0])
            return (status, "pool", None, ()) if pooled else (status, "historic", CENTRUM[p.region], ())
        if not BW_DEF[p.product]:
            g = self.registration_on(p.client, p.start)
            if g is not None and g.kind == "woonadres":
                return status, "registration", g.municipality, ()
            return status, "vangnet", self.vangnet_payer(p), ("vangnet",)
        basis, payer = self.bw_payer(p)
        flags = {"vangnet"} if basis == "vangnet" else set()
        if payer not in self.members_on(p.region, p.start):
            if self.eagle_covers(p, payer):
                n = self.notifications.get(p.pid)
                if n is None or n[0] != payer or (n[1] - p.start).days > NOTIFY_WITHIN:
                    flags.add("late_notification")
            else:
                flags.add("no_interregional_agreement")
        if (p.region == LEI and status == LEI_POOL_CLIENTS and DOMAIN[p.product] in LEI_POOL_DOMAINS
                and (p.end or FAR) >= LEI_POOL_FROM):
            # the Leidse Regio pool takes the line; the rules' flags stay on it (RULES.md §5.1)
            return status, "pool", None, tuple(sorted(flags))
        return status, basis, payer, tuple(sorted(flags))


# --------------------------------------------------------------------------- hand-made scenarios

def _scenarios(ds: Dataset) -> None:  # noqa: PLR0915 - one block per scenario, on purpose
    # C0001 historic BW-INTRA in IJssel-Vecht, pooled, crosses the mid-month tariff change
    c = ds.client("C0001")
    ds.reg(c, "0166", "woonadres", "2009-05-01", "2020-06-30")
    ds.reg(c, "0193", "institution", "2020-07-01")
    ds.app(c, IJV, "0166", "2020-05-15")
    p = ds.place(c, "BW-INTRA", IJV, "Stichting Philadelphia", "0193", "2020-07-01")
    ds.expect(p, "historic", "pool", None)
    ds.declare(p, "2023-03", "4012.37")

    # C0002 historic BEGELEID (PGB) ending mid-month, pooled, half a cent
    c = ds.client("C0002")
    ds.reg(c, "1708", "woonadres", "2012-03-01")
    ds.app(c, IJV, "1708", "2021-08-10")
    p = ds.place(c, "BEGELEID", IJV, "De Kern", "1708", "2021-09-01", "2023-06-15", "PGB")
    ds.expect(p, "historic", "pool", None)

    # C0003 historic BW-NABIJ in Zuidoost-Drenthe -> Emmen
    c = ds.client("C0003")
    ds.reg(c, "0109", "woonadres", "2005-09-01", "2021-02-28")
    ds.reg(c, "0114", "woonadres", "2021-03-01")
    ds.app(c, ZOD, "0109", "2021-02-01")
    p = ds.place(c, "BW-NABIJ", ZOD, "GGZ Drenthe", "0114", "2021-03-01")
    ds.expect(p, "historic", "historic", "0114")

    # C0004 historic THUIS-PLUS in Zuidoost-Drenthe -> Emmen
    c = ds.client("C0004")
    ds.reg(c, "1681", "woonadres", "2010-06-15")
    ds.app(c, ZOD, "1681", "2022-04-04")
    p = ds.place(c, "THUIS-PLUS", ZOD, "Cosis", "1681", "2022-05-01")
    ds.expect(p, "historic", "historic", "0114")

    # C0005 historic THUIS-PLUS in IJssel-Vecht -> Zwolle (the budget pool is BW only)
    c = ds.client("C0005")
    ds.reg(c, "0160", "woonadres", "2001-02-01")
    ds.app(c, IJV, "0160", "2022-09-12")
    p = ds.place(c, "THUIS-PLUS", IJV, "Tactus", "0160", "2022-10-01", "2024-03-31")
    ds.expect(p, "historic", "historic", "0193")

    # C0006 historic BW-INTRA in Noord-Midden-Drenthe, Tynaarlo resident -> Assen
    c = ds.client("C0006")
    ds.reg(c, "1730", "woonadres", "2011-04-01", "2021-10-31")
    ds.reg(c, "0106", "institution", "2021-11-01")
    ds.app(c, NMD, "1730", "2021-10-05")
    p = ds.place(c, "BW-INTRA", NMD, "GGZ Drenthe", "0106", "2021-11-01")
    ds.expect(p, "historic", "historic", "0106")

    # C0007 historic BW-NABIJ in Zuid-West-Drenthe ending mid-month -> Assen (seed 002)
    c = ds.client("C0007")
    ds.reg(c, "0119", "woonadres", "2014-08-01", "2022-03-31")
    ds.reg(c, "0118", "woonadres", "2022-04-01")
    ds.app(c, ZWD, "0119", "2022-03-01")
    p = ds.place(c, "BW-NABIJ", ZWD, "Stichting Philadelphia", "0118", "2022-04-01", "2024-05-17")
    ds.expect(p, "historic", "historic", "0106")

    # C0008 historic BW-INTRA in Groningen -> Groningen
    c = ds.client("C0008")
    ds.reg(c, "0014", "woonadres", "2010-01-01", "2018-12-31")
    ds.reg(c, "1969", "woonadres", "2019-01-01", "2022-07-31")
    ds.reg(c, "0014", "institution", "2022-08-01")
    ds.app(c, GRO, "1969", "2022-07-11")
    p = ds.place(c, "BW-INTRA", GRO, "Lentis", "0014", "2022-08-01")
    ds.expect(p, "historic", "historic", "0014")

    # C0009 historic BEGELEID in the Leeuwarden region -> Leeuwarden
    c = ds.client("C0009")
    ds.reg(c, "0090", "woonadres", "2008-11-01")
    ds.app(c, LEE, "0090", "2022-01-17")
    p = ds.place(c, "BEGELEID", LEE, "Zienn", "0090", "2022-02-01")
    ds.expect(p, "historic", "historic", "0080")

    # C0010 MO-NACHT in Emmen, mid-month to mid-month
    c = ds.client("C0010")
    ds.reg(c, "0114", "woonadres", "2003-05-01", "2022-12-31")
    ds.reg(c, "0114", "briefadres", "2023-01-01")
    p = ds.place(c, "MO-NACHT", ZOD, "Leger des Heils", "0114", "2023-02-10", "2023-03-20")
    ds.expect(p, "n/a", "mo", "0114")

    # C0011 MO-24 in Zwolle across the cutover
    c = ds.client("C0011")
    ds.reg(c, "0166", "woonadres", "2006-01-01", "2022-10-15")
    ds.reg(c, "0193", "briefadres", "2022-10-16", "2023-05-31")
    ds.reg(c, "0193", "woonadres", "2023-06-01")
    p = ds.place(c, "MO-24", IJV, "Leger des Heils", "0193", "2022-11-01", "2023-04-30")
    ds.expect(p, "n/a", "mo", "0193")

    # C0012 MO-24 in Leiden after years abroad
    c = ds.client("C0012")
    ds.reg(c, "0579", "woonadres", "2001-03-01", "2019-12-31")
    ds.reg(c, "", "abroad", "2020-01-01", "2023-12-20")
    ds.reg(c, "0546", "briefadres", "2023-12-21")
    p = ds.place(c, "MO-24", LEI, "Leger des Heils", "0546", "2024-01-05", "2024-03-31")
    ds.expect(p, "n/a", "mo", "0546")

    # C0013 new by woonplaats, placed in another municipality; tariff change; declaration
    c = ds.client("C0013")
    ds.reg(c, "0148", "woonadres", "2007-07-01", "2023-03-31")
    ds.reg(c, "0193", "institution", "2023-04-01")
    ds.app(c, IJV, "0148", "2023-03-01")
    p = ds.place(c, "BW-INTRA", IJV, "Tactus", "0193", "2023-04-01")
    ds.expect(p, "new", "woonplaats", "0148")
    ds.declare(p, "2023-05", "3971.20")

    # C0014 new BW-NABIJ starting and ending mid-month
    c = ds.client("C0014")
    ds.reg(c, "1730", "woonadres", "2013-02-01", "2023-09-15")
    ds.reg(c, "0106", "woonadres", "2023-09-16", "2024-02-10")
    ds.reg(c, "1730", "woonadres", "2024-02-11")
    ds.app(c, NMD, "1730", "2023-08-28")
    p = ds.place(c, "BW-NABIJ", NMD, "Cosis", "0106", "2023-09-16", "2024-02-10")
    ds.expect(p, "new", "woonplaats", "1730")

    # C0015 new BEGELEID (PGB) from mid-April 2024 at 1500.15 a month
    c = ds.client("C0015")
    ds.reg(c, "0119", "woonadres", "2016-10-01")
    ds.app(c, ZWD, "0119", "2024-03-25")
    p = ds.place(c, "BEGELEID", ZWD, "Leger des Heils", "0119", "2024-04-16", None, "PGB")
    ds.expect(p, "new", "woonplaats", "0119")

    # C0016 reentry across EAGLE regions, notified on time
    c = ds.client("C0016")
    ds.reg(c, "0014", "woonadres", "2016-06-01", "2023-08-31")
    ds.reg(c, "0106", "woonadres", "2023-09-01", "2023-10-31")
    ds.reg(c, "0106", "institution", "2023-11-01")
    ds.app(c, GRO, "0014", "2023-01-10")
    p = ds.place(c, "BW-NABIJ", GRO, "Lentis", "0014", "2023-02-01", "2023-08-31")
    ds.expect(p, "new", "woonplaats", "0014")
    ds.app(c, NMD, "0106", "2023-10-12")
    p = ds.place(c, "BW-INTRA", NMD, "GGZ Drenthe", "0106", "2023-11-01")
    ds.notify(p, "0014", "2023-11-06")
    ds.expect(p, "new", "reentry", "0014")

    # C0017 reentry after a pooled historic placement, into a region without agreement
    c = ds.client("C0017")
    ds.reg(c, "1896", "woonadres", "2007-03-01", "2021-04-30")
    ds.reg(c, "0193", "institution", "2021-05-01", "2023-03-31")
    ds.reg(c, "0119", "woonadres", "2023-04-01")
    ds.app(c, IJV, "1896", "2021-04-06")
    p = ds.place(c, "BW-INTRA", IJV, "Leger des Heils", "0193", "2021-05-01", "2023-03-31")
    ds.expect(p, "historic", "pool", None)
    ds.app(c, ZWD, "0119", "2023-07-20")
    p = ds.place(c, "BEGELEID", ZWD, "GGZ Drenthe", "0119", "2023-08-01")
    ds.expect(p, "new", "reentry", "0193", ("no_interregional_agreement",))

    # C0018 reentry inside a new IJssel-Vecht chain
    c = ds.client("C0018")
    ds.reg(c, "0166", "woonadres", "2010-09-01", "2023-05-31")
    ds.reg(c, "0193", "woonadres", "2023-06-01", "2023-09-30")
    ds.reg(c, "0193", "institution", "2023-10-01")
    ds.app(c, IJV, "0166", "2023-01-16")
    p = ds.place(c, "BW-NABIJ", IJV, "De Kern", "0166", "2023-02-01", "2023-05-31")
    ds.expect(p, "new", "woonplaats", "0166")
    p = ds.place(c, "BW-INTRA", IJV, "Tactus", "0193", "2023-10-01")
    ds.expect(p, "new", "reentry", "0166")

    # C0019 woonplaats_before_institution over two institution registrations
    c = ds.client("C0019")
    ds.reg(c, "0160", "woonadres", "2003-04-01", "2023-01-31")
    ds.reg(c, "0193", "institution", "2023-02-01", "2023-03-15")
    ds.reg(c, "0166", "institution", "2023-03-16", "2023-05-31")
    ds.reg(c, "0175", "institution", "2023-06-01")
    ds.app(c, IJV, "0160", "2023-05-10")
    p = ds.place(c, "BW-INTRA", IJV, "Stichting Philadelphia", "0175", "2023-06-01")
    ds.expect(p, "new", "woonplaats_before_institution", "0160")

    # C0020 woonplaats_before_institution over three registrations, across EAGLE, on time
    c = ds.client("C0020")
    ds.reg(c, "1681", "woonadres", "2009-12-01", "2023-08-31")
    ds.reg(c, "0014", "institution", "2023-09-01", "2023-09-30")
    ds.reg(c, "0114", "institution", "2023-10-01", "2023-10-20")
    ds.reg(c, "1731", "institution", "2023-10-21", "2023-11-14")
    ds.reg(c, "0106", "institution", "2023-11-15")
    ds.app(c, NMD, "0106", "2023-11-01")
    p = ds.place(c, "BW-INTRA", NMD, "GGZ Drenthe", "0106", "2023-11-15")
    ds.notify(p, "1681", "2023-11-22")
    ds.expect(p, "new", "woonplaats_before_institution", "1681")

    # C0021 vangnet: briefadres, application in Kampen
    c = ds.client("C0021")
    ds.reg(c, "0166", "woonadres", "2004-01-01", "2022-12-31")
    ds.reg(c, "0193", "briefadres", "2023-01-01", "2023-04-30")
    ds.reg(c, "0193", "woonadres", "2023-05-01")
    ds.app(c, IJV, "0166", "2023-04-10")
    p = ds.place(c, "BW-NABIJ", IJV, "Leger des Heils", "0193", "2023-05-01")
    ds.expect(p, "new", "vangnet", "0166", ("vangnet",))
    # ... and Kampen contests it (RULES.md §4.0; seed 000 §7.3, 003 §4.4). The ambiguity is real:
    # rule 4.4.4 makes the municipality of the application pay when the day before the start holds
    # no woonadres, but C0021 had stayed in Zwolle on a briefadres for four months and lives there
    # from the first day of the placement; Kampen holds that the briefadres shows where the client
    # really lived. INVENTED: the dispute, its day, the ruling (Zwolle pays), its day, its reference,
    # and that the committee lets the ruling hold from the first of the month before the dispute
    # was raised (the seeds say nothing about how far back a ruling reaches). Raised in March 2024,
    # decided in May 2024, valid from 2024-02-01: the demo settles February-April on the rules
    # (March and April contested) before the ruling is known, then corrects them (settle demo).
    ds.dispute(DISPUTE[0], p, *DISPUTE[1:])
    ds.ruling(RULING[0], DISPUTE[0], p, *RULING[1:])

    # C0022 vangnet: abroad, no application
    c = ds.client("C0022")
    ds.reg(c, "0080", "woonadres", "1999-05-01", "2021-12-31")
    ds.reg(c, "", "abroad", "2022-01-01", "2023-08-31")
    ds.reg(c, "0080", "institution", "2023-09-01", "2024-06-30")
    ds.reg(c, "0080", "woonadres", "2024-07-01")
    p = ds.place(c, "BW-INTRA", LEE, "GGZ Friesland", "0080", "2023-09-01", "2024-06-30")
    ds.expect(p, "new", "vangnet", "0080", ("vangnet",))

    # C0023 vangnet: a gap, application in Westerkwartier
    c = ds.client("C0023")
    ds.reg(c, "0014", "woonadres", "2012-02-01", "2022-10-31")
    ds.reg(c, "0014", "woonadres", "2023-04-01")
    ds.app(c, GRO, "1969", "2023-03-20")
    p = ds.place(c, "BW-NABIJ", GRO, "Cosis", "0014", "2023-04-01")
    ds.expect(p, "new", "vangnet", "1969", ("vangnet",))

    # C0024 vangnet: institution preceded by a gap, no application
    c = ds.client("C0024")
    ds.reg(c, "0109", "woonadres", "2001-01-01", "2022-12-31")
    ds.reg(c, "0114", "institution", "2023-01-10", "2023-05-31")
    ds.reg(c, "0109", "institution", "2023-06-01")
    p = ds.place(c, "BW-INTRA", ZOD, "Stichting Limor", "0109", "2023-06-01")
    ds.expect(p, "new", "vangnet", "0114", ("vangnet",))

    # C0025 vangnet in the Leidse Regio 2024: briefadres, application in Oegstgeest
    c = ds.client("C0025")
    ds.reg(c, "0547", "woonadres", "2005-05-01", "2023-06-30")
    ds.reg(c, "0547", "briefadres", "2023-07-01")
    ds.app(c, LEI, "0579", "2024-03-01")
    p = ds.place(c, "BEGELEID", LEI, "GGZ Rivierduinen", "0547", "2024-03-18")
    ds.expect(p, "new", "pool", None, ("vangnet",))

    # C0026 WMO registration split: Coevorden -> Emmen on 2023-06-16
    c = ds.client("C0026")
    ds.reg(c, "0109", "woonadres", "2002-08-01", "2023-06-15")
    ds.reg(c, "0114", "woonadres", "2023-06-16")
    ds.app(c, ZOD, "0109", "2023-02-20")
    p = ds.place(c, "THUIS-PLUS", ZOD, "Cosis", "0109", "2023-03-01")
    ds.expect(p, "new", "registration", "0109")

    # C0027 WMO: one day without woonadres -> vangnet day
    c = ds.client("C0027")
    ds.reg(c, "0166", "woonadres", "2011-11-01", "2023-09-10")
    ds.reg(c, "0193", "woonadres", "2023-09-12")
    ds.app(c, IJV, "0166", "2023-04-03")
    p = ds.place(c, "THUIS-PLUS", IJV, "Tactus", "0166", "2023-05-01", "2024-04-30")
    ds.expect(p, "new", "registration", "0166")
    ds.declare(p, "2023-09", "689.97")

    # C0028 WMO in the Leidse Regio 2024: Leiden -> Leiderdorp
    c = ds.client("C0028")
    ds.reg(c, "0546", "woonadres", "2015-03-01", "2024-06-15")
    ds.reg(c, "0547", "woonadres", "2024-06-16")
    ds.app(c, LEI, "0546", "2024-01-22")
    p = ds.place(c, "THUIS-PLUS", LEI, "GGZ Rivierduinen", "0546", "2024-02-01")
    ds.expect(p, "new", "registration", "0546")

    # C0029 EAGLE on time
    c = ds.client("C0029")
    ds.reg(c, "0109", "woonadres", "2006-04-01", "2023-05-07")
    ds.reg(c, "0014", "institution", "2023-05-08", "2024-08-31")
    ds.reg(c, "0109", "woonadres", "2024-09-01")
    ds.app(c, ZOD, "0109", "2023-04-17")
    p = ds.place(c, "BW-INTRA", GRO, "Lentis", "0014", "2023-05-08", "2024-08-31")
    ds.notify(p, "0109", "2023-05-15")
    ds.expect(p, "new", "woonplaats", "0109")
    ds.declare(p, "2023-06", "4380.30")

    # C0030 EAGLE late: shift
    c = ds.client("C0030")
    ds.reg(c, "0106", "woonadres", "2009-01-01", "2023-06-04")
    ds.reg(c, "0080", "woonadres", "2023-06-05")
    ds.app(c, NMD, "0106", "2023-05-10")
    p = ds.place(c, "BW-NABIJ", LEE, "Leger des Heils", "0080", "2023-06-05", "2024-03-31")
    ds.notify(p, "0106", "2023-07-10")
    ds.expect(p, "new", "woonplaats", "0106", ("late_notification",))
    ds.declare(p, "2023-07", "1991.99")

    # C0031 EAGLE never notified
    c = ds.client("C0031")
    ds.reg(c, "0074", "woonadres", "2012-07-01", "2024-02-11")
    ds.reg(c, "0114", "institution", "2024-02-12", "2024-09-30")
    ds.reg(c, "0074", "woonadres", "2024-10-01")
    p = ds.place(c, "BW-INTRA", ZOD, "GGZ Drenthe", "0114", "2024-02-12", "2024-09-30")
    ds.expect(p, "new", "woonplaats", "0074", ("late_notification",))

    # C0032 IJssel-Vecht resident in Zuidoost-Drenthe: no interregional agreement
    c = ds.client("C0032")
    ds.reg(c, "0175", "woonadres", "2000-10-01", "2023-06-30")
    ds.reg(c, "0114", "institution", "2023-07-01")
    p = ds.place(c, "BW-INTRA", ZOD, "Stichting Limor", "0114", "2023-07-01")
    ds.expect(p, "new", "woonplaats", "0175", ("no_interregional_agreement",))

    # C0033 / C0034 application 365 / 366 days before the placement
    for cid, start, outcome in (("C0033", "2023-03-10", ("historic", "pool", None)),
                                ("C0034", "2023-03-11", ("new", "woonplaats", "0180"))):
        c = ds.client(cid)
        ds.reg(c, "0180", "woonadres", "1995-06-01")
        ds.app(c, IJV, "0180", "2022-03-10")
        p = ds.place(c, "BW-NABIJ", IJV, "De Kern", "0180", start)
        ds.expect(p, *outcome)

    # C0035 / C0036 placement ended 366 / 365 days before the next one
    for cid, start, other, outcome in (
            ("C0035", date(2023, 7, 1), "1966", ("new", "woonplaats", "1966")),
            ("C0036", date(2023, 6, 30), "1969", ("historic", "historic", "0014"))):
        c = ds.client(cid)
        ds.reg(c, "0014", "woonadres", "2008-02-01", "2018-12-31")
        ds.reg(c, other, "woonadres", "2019-01-01", "2021-01-03")
        ds.reg(c, "0014", "woonadres", "2021-01-04", "2022-06-30")
        ds.reg(c, other, "woonadres", "2022-07-01", start - ONE)
        ds.reg(c, "0014", "institution", start)
        ds.app(c, GRO, other, "2020-12-07")
        p = ds.place(c, "BW-NABIJ", GRO, "Cosis", "0014", "2021-01-04", "2022-06-30")
        ds.expect(p, "historic", "historic", "0014")
        p = ds.place(c, "BW-INTRA", GRO, "Lentis", "0014", start)
        ds.expect(p, *outcome)

    # C0037 / C0038 earlier BW ended 365 / 366 days before
    for cid, start, outcome in (("C0037", date(2024, 2, 28), ("new", "reentry", "0166")),
                                ("C0038", date(2024, 2, 29), ("new", "woonplaats", "0193"))):
        c = ds.client(cid)
        ds.reg(c, "0166", "woonadres", "2005-01-01", "2023-02-28")
        ds.reg(c, "0193", "woonadres", "2023-03-01", start - ONE)
        ds.reg(c, "0193", "institution", start)
        ds.app(c, IJV, "0166", "2023-01-02")
        p = ds.place(c, "BW-NABIJ", IJV, "De Kern", "0166", "2023-01-09", "2023-02-28")
        ds.expect(p, "new", "woonplaats", "0166")
        p = ds.place(c, "BW-INTRA", IJV, "Tactus", "0193", start)
        ds.expect(p, *outcome)

    # C0039 Leidse Regio: historic in 2023 because its cutover is 2024-01-01
    c = ds.client("C0039")
    ds.reg(c, "0626", "woonadres", "2010-10-01", "2023-04-30")
    ds.reg(c, "0546", "institution", "2023-05-01")
    ds.app(c, LEI, "0626", "2023-04-11")
    p = ds.place(c, "BW-INTRA", LEI, "GGZ Rivierduinen", "0546", "2023-05-01")
    ds.expect(p, "historic", "historic", "0546")

    # C0040 Leidse Regio: new from 2024
    c = ds.client("C0040")
    ds.reg(c, "0579", "woonadres", "2017-01-01", "2024-01-31")
    ds.reg(c, "0546", "woonadres", "2024-02-01")
    ds.app(c, LEI, "0579", "2024-01-15")
    p = ds.place(c, "BW-NABIJ", LEI, "Stichting Philadelphia", "0546", "2024-02-01")
    ds.expect(p, "new", "pool", None)

    # C0041 Leidse Regio: application before its cutover keeps a 2024 placement historic
    c = ds.client("C0041")
    ds.reg(c, "0638", "woonadres", "2004-04-01")
    ds.app(c, LEI, "0638", "2023-03-01")
    p = ds.place(c, "BEGELEID", LEI, "Leger des Heils", "0638", "2024-02-15")
    ds.expect(p, "historic", "historic", "0546")

    # C0042 Thuis Plus is never a source of reentry
    c = ds.client("C0042")
    ds.reg(c, "0109", "woonadres", "2003-03-01", "2023-04-30")
    ds.reg(c, "1681", "woonadres", "2023-05-01")
    ds.app(c, ZOD, "0109", "2023-01-05")
    p = ds.place(c, "THUIS-PLUS", ZOD, "Cosis", "0109", "2023-01-16", "2023-04-30")
    ds.expect(p, "new", "registration", "0109")
    p = ds.place(c, "BW-NABIJ", ZOD, "GGZ Drenthe", "1681", "2023-06-01")
    ds.expect(p, "new", "woonplaats", "1681")

    # C0043 MO is not part of a chain
    c = ds.client("C0043")
    ds.reg(c, "0109", "woonadres", "2000-01-01", "2022-09-15")
    ds.reg(c, "0114", "briefadres", "2022-09-16", "2022-12-31")
    ds.reg(c, "0109", "woonadres", "2023-01-01")
    p = ds.place(c, "MO-24", ZOD, "Wender", "0114", "2022-10-01", "2022-12-31")
    ds.expect(p, "n/a", "mo", "0114")
    ds.app(c, ZOD, "0109", "2023-01-16")
    p = ds.place(c, "BW-NABIJ", ZOD, "Stichting Limor", "0109", "2023-02-01")
    ds.expect(p, "new", "woonplaats", "0109")

    # C0044 step-down: intramural then begeleid wonen the next day
    c = ds.client("C0044")
    ds.reg(c, "1690", "woonadres", "2006-05-01", "2023-01-17")
    ds.reg(c, "0118", "institution", "2023-01-18", "2023-07-14")
    ds.reg(c, "0119", "woonadres", "2023-07-15")
    ds.app(c, ZWD, "1690", "2023-01-09")
    p = ds.place(c, "BW-INTRA", ZWD, "GGZ Drenthe", "0118", "2023-01-18", "2023-07-14")
    ds.expect(p, "new", "woonplaats", "1690")
    p = ds.place(c, "BEGELEID", ZWD, "Stichting Philadelphia", "0119", "2023-07-15", None, "PGB")
    ds.expect(p, "new", "reentry", "1690")


# --------------------------------------------------------------------------- random clients

_REGION_WEIGHTS = {IJV: 30, ZOD: 14, NMD: 16, ZWD: 10, GRO: 16, LEE: 8, LEI: 6}
_PRODUCT_WEIGHTS = {"BW-INTRA": 30, "BW-NABIJ": 24, "BEGELEID": 18, "THUIS-PLUS": 10,
                    "MO-NACHT": 8, "MO-24": 10}
_RANDOM_FIRST = date(2021, 1, 1)
_RANDOM_LAST = date(2024, 11, 30)
_NEW_MUNICIPALITIES = {"1966": date(2019, 1, 1), "1969": date(2019, 1, 1)}


def _day_between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def _random_client(ds: Dataset, cid: str) -> None:
    rng = ds.rng
    c = ds.client(cid)
    care = rng.choices(list(_REGION_WEIGHTS), weights=list(_REGION_WEIGHTS.values()))[0]
    product = rng.choices(list(_PRODUCT_WEIGHTS), weights=list(_PRODUCT_WEIGHTS.values()))[0]
    start = _day_between(rng, _RANDOM_FIRST, _RANDOM_LAST)
    members = ds.members_on(care, start)
    if product == "THUIS-PLUS" or rng.random() < 0.85:
        home = rng.choice(members)
    else:
        other = rng.choice([r for r in CENTRUM if r != care])
        home = rng.choice(ds.members_on(other, start))

    if product == "MO-NACHT":
        length: int | None = rng.randint(3, 56)  # nachtopvang at most 8 weeks [003 §3.2]
    elif product == "MO-24":
        length = rng.randint(14, 240)
    else:
        length = None if rng.random() < 0.4 else rng.randint(30, 900)
    end = None if length is None else start + timedelta(days=length - 1)
    if end is not None and end > HORIZON:
        end = None  # still in care at the end of the demonstration period

    if product in ("BW-INTRA", "MO-NACHT", "MO-24"):
        location = FACILITY_TOWN[care] if rng.random() < 0.6 else rng.choice(members)
    elif product == "THUIS-PLUS":
        location = home
    else:
        location = home if home in members and rng.random() < 0.5 else rng.choice(members)
    domain = "MO" if DOMAIN[product] == "MO" else "BW"
    provider = rng.choice(PROVIDERS[care][domain])
    financing = "PGB" if domain == "BW" and rng.random() < 0.2 else "ZIN"

    first_home = _day_between(rng, date(1990, 1, 1), date(2018, 12, 31))
    if home in _NEW_MUNICIPALITIES:
        first_home = _day_between(rng, _NEW_MUNICIPALITIES[home], date(2020, 8, 31))

    regs: list[tuple[str, str, date, date | None]] = []
    placements: list[tuple[str, str, str, date, date | None, str]] = [
        (product, provider, location, start, end, financing)]
    if domain == "MO":
        brief_from = start - timedelta(days=rng.randint(0, 45))
        regs.append((home, "woonadres", first_home, brief_from - ONE))
        regs.append((location, "briefadres", brief_from, end))
        if end is not None:
            regs.append((home, "woonadres", end + ONE, None))
    elif product == "BW-INTRA":
        regs.append((home, "woonadres", first_home, start - ONE))
        regs.append((location, "institution", start, end))
        if end is not None:
            nxt = end + ONE
            if nxt <= _RANDOM_LAST and rng.random() < 0.3:  # step-down to begeleid wonen
                loc2 = rng.choice(ds.members_on(care, nxt))
                n = None if rng.random() < 0.5 else rng.randint(60, 600)
                end2 = None if n is None or nxt + timedelta(days=n - 1) > HORIZON \
                    else nxt + timedelta(days=n - 1)
                placements.append(("BEGELEID", rng.choice(PROVIDERS[care]["BW"]), loc2, nxt, end2,
                                   "PGB" if rng.random() < 0.2 else "ZIN"))
                regs.append((loc2, "woonadres", nxt, None))
            else:
                regs.append((home, "woonadres", nxt, None))
    elif product in ("BW-NABIJ", "BEGELEID"):
        regs.append((home, "woonadres", first_home, start - ONE))
        regs.append((location, "woonadres", start, None))
    else:  # THUIS-PLUS: support at home, sometimes a move (and sometimes days without woonadres)
        last = (end or HORIZON) - timedelta(days=5)
        move = start + timedelta(days=rng.randint(10, 400))
        if rng.random() < 0.3 and move <= last:
            new_home = rng.choice([m for m in ds.members_on(care, move) if m != home])
            gap = rng.randint(1, 3) if rng.random() < 0.15 else 0
            regs.append((home, "woonadres", first_home, move - ONE))
            regs.append((new_home, "woonadres", move + timedelta(days=gap), None))
        else:
            regs.append((home, "woonadres", first_home, None))

    merged: list[list] = []
    for m, kind, vf, vt in regs:
        if merged and merged[-1][0] == m and merged[-1][1] == kind and merged[-1][3] == vf - ONE:
            merged[-1][3] = vt
        else:
            merged.append([m, kind, vf, vt])
    for m, kind, vf, vt in merged:
        ds.reg(c, m, kind, vf, vt)

    if domain == "BW" and rng.random() < 0.85:
        day = start - timedelta(days=rng.randint(3, 60))
        ds.app(c, ds.region_of(home, day), home, day)
    for prod, prov, loc, s, e, fin in placements:
        ds.place(c, prod, care, prov, loc, s, e, fin)


def _random_notifications(ds: Dataset, first_random_pid: int) -> None:
    """Notify most EAGLE-covered new placements of the random clients on time; some late, some never."""
    rng = ds.rng
    for p in ds.placements[first_random_pid:]:
        if not BW_DEF[p.product] or ds.status(p) != "new":
            continue
        _, payer = ds.bw_payer(p)
        if payer in ds.members_on(p.region, p.start) or not ds.eagle_covers(p, payer):
            continue
        r = rng.random()
        if r < 0.8:
            ds.notify(p.pid, payer, p.start + timedelta(days=rng.randint(0, NOTIFY_WITHIN)))
        elif r < 0.92:
            ds.notify(p.pid, payer, p.start + timedelta(days=rng.randint(NOTIFY_WITHIN + 1, 75)))


# --------------------------------------------------------------------------- bulk clients

# INVENTED volumes, after the random clients (which they leave unchanged): enough clients for the
# budget monitor to mean something against the real budgets of seed 000 Bijlage II.
# - Zuidoost-Drenthe: historic clients in care since 2020-2022, Emmen's (basis historic), part of
#   Emmen's historic budget;
# - Borger-Odoorn: new intramural clients arriving early in 2023 and 2024, more than its objective
#   budget of 2023 (223.567 euros) carries: the worry of seed 003 §4.1.1 that the objective budget
#   is "de eerste jaren niet toereikend";
# - IJssel-Vecht: more historic clients, pooled in the budget pool.
N_BULK_ZOD_HISTORIC = 140
N_BULK_IJV_HISTORIC = 20
BULK_BORGER_ODOORN_NEW = {2023: 7, 2024: 9}
N_BULK = N_BULK_ZOD_HISTORIC + N_BULK_IJV_HISTORIC + sum(BULK_BORGER_ODOORN_NEW.values())


def _bulk_historic(ds: Dataset, cid: str, care: str) -> None:
    rng = ds.rng
    c = ds.client(cid)
    members = ds.members_on(care, date(2022, 1, 1))
    home = rng.choice(members)
    start = _day_between(rng, date(2020, 1, 1), date(2022, 10, 31))
    product = rng.choices(["BW-INTRA", "BW-NABIJ", "BEGELEID"], weights=[5, 3, 2])[0]
    end = None if rng.random() < 0.5 else _day_between(rng, date(2023, 2, 1), date(2024, 11, 30))
    location = FACILITY_TOWN[care] if product == "BW-INTRA" else home
    first_home = _day_between(rng, date(1990, 1, 1), date(2018, 12, 31))
    ds.reg(c, home, "woonadres", first_home, start - ONE)
    if product == "BW-INTRA":
        ds.reg(c, location, "institution", start, end)
        if end is not None:
            ds.reg(c, home, "woonadres", end + ONE)
    else:
        ds.reg(c, home, "woonadres", start)
    ds.app(c, care, home, start - timedelta(days=rng.randint(3, 60)))
    ds.place(c, product, care, rng.choice(PROVIDERS[care]["BW"]), location, start, end,
             "PGB" if product != "BW-INTRA" and rng.random() < 0.2 else "ZIN")


def _bulk_new_borger_odoorn(ds: Dataset, cid: str, year: int) -> None:
    rng = ds.rng
    c = ds.client(cid)
    start = _day_between(rng, date(year, 1, 2), date(year, 3, 31))
    ds.reg(c, "1681", "woonadres", _day_between(rng, date(1990, 1, 1), date(2018, 12, 31)), start - ONE)
    ds.reg(c, "0114", "institution", start)
    ds.app(c, ZOD, "1681", start - timedelta(days=rng.randint(3, 30)))
    ds.place(c, "BW-INTRA", ZOD, rng.choice(PROVIDERS[ZOD]["BW"]), "0114", start)


def _bulk_clients(ds: Dataset, first: int) -> None:
    n = first
    for _ in range(N_BULK_ZOD_HISTORIC):
        _bulk_historic(ds, f"C{n:04d}", ZOD)
        n += 1
    for _ in range(N_BULK_IJV_HISTORIC):
        _bulk_historic(ds, f"C{n:04d}", IJV)
        n += 1
    for year, count in sorted(BULK_BORGER_ODOORN_NEW.items()):
        for _ in range(count):
            _bulk_new_borger_odoorn(ds, f"C{n:04d}", year)
            n += 1


# --------------------------------------------------------------------------- tariffs and budgets

def _tariffs() -> list[tuple[str, str, date, date | None, int]]:
    rows = []
    for product, per_region in _PRICES.items():
        for region, (before, after) in per_region.items():
            rows.append((product, region, TARIFF_START, NEW_PRICE - ONE, _cents(before)))
            if (product, region) == _MID_MONTH[:2]:
                rows.append((product, region, NEW_PRICE, MID_MONTH_CHANGE - ONE, _cents(after)))
                rows.append((product, region, MID_MONTH_CHANGE, None, _cents(_MID_MONTH[2])))
            else:
                rows.append((product, region, NEW_PRICE, None, _cents(after)))
    return rows


def _budgets() -> list[tuple[str, int, int, int]]:
    """(municipality, year, historic, objective) in whole euros: real for the three municipalities
    of seed 000 Bijlage II, invented for all others (see _HISTORIC_2023, _MACRO_*)."""
    rows = []
    for code, *_rest in MUNICIPALITIES:
        inhabitants = MUNI[code][5]
        for year in BUDGET_YEARS:
            if code in _SEED_BUDGETS:
                historic, objective = _SEED_BUDGETS[code][year]
            else:
                h23 = _HISTORIC_2023.get(code, 0)
                historic = (h23 * _MACRO_CENTRUM[year] + _MACRO_CENTRUM[2023] // 2) // _MACRO_CENTRUM[2023]
                objective = (_MACRO_OBJECTIVE[year] * inhabitants // _NL_INHABITANTS + 50) // 100
            rows.append((code, year, historic, objective))
    return rows


def _agreements_toml() -> str:
    weights = "\n".join(f'"{m}" = {MUNI[m][5]}' for m in
                        sorted(m for r, m, _, vt in REGION_MEMBERS if r == IJV and vt is None))
    lei_weights = "\n".join(f'"{m}" = {MUNI[m][5]}' for m in
                            sorted(m for r, m, _, vt in REGION_MEMBERS if r == LEI and vt is None))
    lei_domains = ", ".join(f'"{d}"' for d in LEI_POOL_DOMAINS)
    regions = ", ".join(f'"{r}"' for r in EAGLE_REGIONS)
    domains = ", ".join(f'"{d}"' for d in POOL_DOMAINS)
    return f"""\
# Agreements of the demonstration dataset (written by tests/demo_generator.py).

# IJssel-Vecht: the eight municipalities are solidary for the first three years in the costs of
# the current clients beschermd wonen, "middels het historisch budget gefinancierd" [003, par.
# 4.1.2]: they share the result, the costs minus Zwolle's historic budget. The seed names no key;
# approximate inhabitants are used (an assumption).
[[agreement]]
id = "{POOL_ID}"
name = "{POOL_NAME}"
kind = "pool"
region = "{IJV}"
valid_from = {POOL_VALID[0].isoformat()}
valid_to = {POOL_VALID[1].isoformat()}
clients = "historic"
budget = "historic"
domains = [{domains}]
[agreement.weights]
{weights}

# Leidse Regio: "1 gebied, 1 opgave, 1 aanpak" [004, par. 6]: the five share the costs that the
# decentralisation moves from Leiden to them, the new clients beschermd wonen. The seed names no
# key and no shared budget (its verdeelmodel is still to be made): approximate inhabitants and no
# budget are assumptions.
[[agreement]]
id = "{LEI_POOL_ID}"
name = "{LEI_POOL_NAME}"
kind = "pool"
region = "{LEI}"
valid_from = {LEI_POOL_FROM.isoformat()}
clients = "{LEI_POOL_CLIENTS}"
domains = [{lei_domains}]
[agreement.weights]
{lei_weights}

# EAGLE: working agreements of Emmen, Assen, Groningen and Leeuwarden [000, par. 4.2, 6.3].
[[agreement]]
id = "{EAGLE_ID}"
name = "{EAGLE_NAME}"
kind = "interregional"
regions = [{regions}]
valid_from = {EAGLE_FROM.isoformat()}
notify_within_days = {NOTIFY_WITHIN}
late_notification = "shift"
"""


# --------------------------------------------------------------------------- generation

def build(seed: int = DEFAULT_SEED, clients: int = N_CLIENTS) -> Dataset:
    ds = Dataset(random.Random(seed), clients + N_BULK)
    _scenarios(ds)
    assert sorted(ds.clients) == sorted(SCENARIOS), "SCENARIOS and the scenario code disagree"
    first_random_pid = len(ds.placements)
    for i in range(len(ds.clients) + 1, clients + 1):
        _random_client(ds, f"C{i:04d}")
    _random_notifications(ds, first_random_pid)
    _bulk_clients(ds, clients + 1)
    return ds


def expected_outcomes(seed: int = DEFAULT_SEED) -> dict[str, tuple[str, str, str | None, tuple[str, ...]]]:
    """Placement id -> (status, basis on its first day, payer under RULES.md §4.4, flags)
    for the placements of the SCENARIOS clients."""
    return dict(build(seed).expected)


def _write_csv(path: Path, header: list[str], rows: list[tuple]) -> None:
    body = sorted(tuple("" if v is None else str(v) for v in row) for row in rows)
    assert len(set(body)) == len(body), f"{path.name}: duplicate rows"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(body)


def generate(out_dir: Path, seed: int = DEFAULT_SEED, clients: int = N_CLIENTS) -> None:
    """Write the demonstration dataset (INTERFACE.md §1) into out_dir: the scenario clients plus
    random ones up to `clients` (300 for the bundled data; more for benchmarks)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ds = build(seed, clients)
    tariffs = _tariffs()
    budgets = _budgets()
    _self_check(ds, tariffs, budgets)

    _write_csv(out_dir / "municipalities.csv", ["code", "name", "iban", "street", "postcode", "city", "oin"],
               [(code, name, _municipality_iban(code), street, pc, city, _municipality_oin(code))
                for code, name, street, pc, city, _inh in MUNICIPALITIES])
    _write_csv(out_dir / "regions.csv", ["region", "name", "centrumgemeente", "cutover"],
               [(slug, name, centrum, _iso(cut)) for slug, name, centrum, cut in REGIONS])
    _write_csv(out_dir / "region_members.csv", ["region", "municipality", "valid_from", "valid_to"],
               [(r, m, _iso(vf), _iso(vt)) for r, m, vf, vt in REGION_MEMBERS])
    _write_csv(out_dir / "products.csv", ["product", "name", "domain", "bw_definition", "unit", "iwmo_category"],
               [(p, n, d, "true" if bw else "false", u, cat) for p, n, d, bw, u, cat in PRODUCTS])
    _write_csv(out_dir / "tariffs.csv", ["product", "region", "valid_from", "valid_to", "price"],
               [(p, r, _iso(vf), _iso(vt), _euros(c)) for p, r, vf, vt, c in tariffs])
    _write_csv(out_dir / "clients.csv", ["client", "bsn"], list(ds.clients.items()))
    _write_csv(out_dir / "brp.csv", ["client", "municipality", "kind", "valid_from", "valid_to"],
               [(g.client, g.municipality, g.kind, _iso(g.valid_from), _iso(g.valid_to)) for g in ds.brp])
    _write_csv(out_dir / "applications.csv", ["client", "region", "municipality", "date"],
               [(c, r, m, _iso(day)) for c, r, m, day in ds.applications])
    _write_csv(out_dir / "placements.csv",
               ["placement", "client", "product", "region", "provider", "location", "start", "end", "financing"],
               [(p.pid, p.client, p.product, p.region, p.provider, p.location, _iso(p.start), _iso(p.end),
                 p.financing) for p in ds.placements])
    _write_csv(out_dir / "notifications.csv", ["placement", "municipality", "notified_on"],
               [(pid, m, _iso(day)) for pid, (m, day) in ds.notifications.items()])
    _write_csv(out_dir / "declarations.csv", ["placement", "month", "amount"],
               [(pid, month, _euros(c)) for (pid, month), c in ds.declarations.items()])
    _write_csv(out_dir / "disputes.csv", ["dispute", "placement", "raised_by", "raised_on", "subject"],
               [(d, pid, m, _iso(day), subject) for d, pid, m, day, subject in ds.disputes])
    _write_csv(out_dir / "rulings.csv",
               ["ruling", "dispute", "placement", "payer", "valid_from", "decided_on", "reference"],
               [(u, d, pid, payer, _iso(vf), _iso(dec), ref) for u, d, pid, payer, vf, dec, ref in ds.rulings])
    _write_csv(out_dir / "budgets.csv", ["municipality", "year", "historic", "objective"],
               [(m, y, _euros(h * 100), _euros(o * 100)) for m, y, h, o in budgets])
    (out_dir / "agreements.toml").write_text(_agreements_toml(), encoding="utf-8", newline="\n")


# --------------------------------------------------------------------------- self-check

def _self_check(ds: Dataset, tariffs: list, budgets: list) -> None:  # noqa: C901
    codes = set(MUNI)
    assert len(codes) == len(MUNICIPALITIES)
    for code, *_ in MUNICIPALITIES:
        assert len(code) == 4 and code.isdigit()
        assert iban_valid(_municipality_iban(code)), code
        oin = _municipality_oin(code)
        assert len(oin) == 20 and oin.startswith("000000010") and bsn_valid(oin[8:17]), code
    assert len({_municipality_iban(c) for c in codes}) == len(codes)

    # regions and members
    for slug, _, centrum, cutover in REGIONS:  # Zuid-West's centrumgemeente is Assen, no member
        assert centrum in ds.members_on(slug, cutover) or (slug, centrum) == (ZWD, "0106"), slug
    for r, m, vf, vt in REGION_MEMBERS:
        assert r in CENTRUM and m in codes and (vt is None or vf <= vt)
    for m in codes:  # a municipality is in at most one region on any day
        spans = sorted((vf, vt or FAR) for _, mm, vf, vt in REGION_MEMBERS if mm == m)
        assert spans, m
        assert all(a[1] < b[0] for a, b in zip(spans, spans[1:])), m

    # tariffs: no overlap per (product, region); cover every placement day up to the horizon
    by_key: dict[tuple[str, str], list[tuple[date, date]]] = {}
    for p, r, vf, vt, cents in tariffs:
        assert p in DOMAIN and r in CENTRUM and cents > 0
        by_key.setdefault((p, r), []).append((vf, vt or FAR))
    for spans in by_key.values():
        spans.sort()
        assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))
        assert all(a[1] + ONE == b[0] for a, b in zip(spans, spans[1:]))

    # clients and BSNs
    assert len(ds.clients) == ds.n_clients
    assert len(set(ds.clients.values())) == len(ds.clients)
    assert all(bsn_valid(b) for b in ds.clients.values())

    # BRP
    kinds = {"woonadres", "institution", "briefadres", "abroad"}
    for g in ds.brp:
        assert g.client in ds.clients and g.kind in kinds
        assert (g.municipality == "") == (g.kind == "abroad"), g
        assert g.kind == "abroad" or g.municipality in codes
        assert g.valid_to is None or g.valid_from <= g.valid_to, g
        if g.municipality in _NEW_MUNICIPALITIES:
            assert g.valid_from >= _NEW_MUNICIPALITIES[g.municipality], g
    for c in ds.clients:
        regs = sorted((g.valid_from, g.valid_to or FAR) for g in ds.brp if g.client == c)
        assert regs, f"{c} has no BRP history"
        assert all(a[1] < b[0] for a, b in zip(regs, regs[1:])), f"{c}: overlapping BRP periods"

    # applications
    assert len({(c, r, day) for c, r, _, day in ds.applications}) == len(ds.applications)
    for c, r, m, day in ds.applications:
        assert c in ds.clients and r in CENTRUM and m in ds.members_on(r, day), (c, r, m, day)

    # placements
    assert [p.pid for p in ds.placements] == [f"P{i:05d}" for i in range(1, len(ds.placements) + 1)]
    gap_ok = {"C0023"}  # the intended "not registered" vangnet case
    for p in ds.placements:
        assert p.client in ds.clients and p.product in DOMAIN and p.region in CENTRUM
        assert p.location in ds.members_on(p.region, p.start), p
        assert p.financing in ("ZIN", "PGB")
        assert p.end is None or p.start <= p.end, p
        assert date(2020, 1, 1) <= p.start <= HORIZON and (p.end is None or p.end <= HORIZON), p
        assert p.client in gap_ok or ds.registration_on(p.client, p.start - ONE) is not None, p
        spans = by_key[(p.product, p.region)]
        day = p.start
        last = min(p.end or HORIZON, HORIZON)
        for vf, vt in spans:  # spans are contiguous and sorted: check the union covers [start, last]
            if vf <= day <= vt:
                day = vt + ONE if vt < last else last + ONE
            if day > last:
                break
        assert day > last, f"{p.pid}: no tariff on {day}"
    for c in ds.clients:
        own = sorted((p.start, p.end or FAR) for p in ds.placements if p.client == c)
        assert all(a[1] < b[0] for a, b in zip(own, own[1:])), f"{c}: overlapping placements"
    assert {p.client for p in ds.placements} == set(ds.clients)
    pids = {p.pid: p for p in ds.placements}

    # notifications, declarations
    for pid, (m, day) in ds.notifications.items():
        assert pid in pids and m in codes and day >= pids[pid].start
    for (pid, month), cents in ds.declarations.items():
        p = pids[pid]
        y, mo = map(int, month.split("-"))
        assert (y, mo) in set(_months(p.start, p.end or HORIZON)), (pid, month)
        assert cents > 0

    # disputes and rulings (RULES.md §4.0): about known placements, raised by a municipality, each
    # ruling on its dispute's placement, decided after the dispute was raised, one per placement and day
    disputes = {d: (pid, raised_on) for d, pid, _, raised_on, _ in ds.disputes}
    assert len(disputes) == len(ds.disputes)
    for _, pid, m, _, subject in ds.disputes:
        assert pid in pids and m in codes and subject
    for u, d, pid, payer, vf, dec, ref in ds.rulings:
        assert disputes[d][0] == pid and payer in codes and dec >= disputes[d][1] and ref, u
        assert ds.status(pids[pid]) == "new", u  # a ruling decides new-status lines only
    assert len({(pid, vf) for _, _, pid, _, vf, _, _ in ds.rulings}) == len(ds.rulings)

    # budgets, agreements
    assert {m for m, *_ in budgets} == codes
    assert len({(m, y) for m, y, *_ in budgets}) == len(budgets)
    assert set(_agreements_toml().count(f'"{m}" =') for m in ds.members_on(IJV, POOL_VALID[0])) == {1}

    # the scenarios do what SCENARIOS says (an independent reading of RULES.md §4-5)
    for pid, want in ds.expected.items():
        got = ds.outcome(pids[pid])
        assert got == want, f"{pid} ({pids[pid].client}): expected {want}, got {got}"
    for p in ds.placements:  # and every random placement has a well-defined outcome
        ds.outcome(p)


def _summary(ds: Dataset) -> str:
    counts: dict[tuple[str, str], int] = {}
    for p in ds.placements:
        status, basis, _, flags = ds.outcome(p)
        counts[(status, basis)] = counts.get((status, basis), 0) + 1
        for f in flags:
            counts[("flag", f)] = counts.get(("flag", f), 0) + 1
    return "\n".join(f"  {k[0]:9} {k[1]:30} {v}" for k, v in sorted(counts.items()))


def main(argv: list[str]) -> int:
    """python -m tests.demo_generator [DIR [CLIENTS]]"""
    out = Path(argv[1]) if len(argv) > 1 else DATA_DIR
    clients = int(argv[2]) if len(argv) > 2 else N_CLIENTS
    generate(out, clients=clients)
    for f in sorted(out.iterdir()):
        if f.suffix == ".csv":
            rows = f.read_text(encoding="utf-8").count("\n") - 1
            print(f"{f.name:20} {rows:5} rows")
    print("placements by status and basis on their first day:")
    print(_summary(build(clients=clients)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
