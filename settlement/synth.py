"""A deterministic synthetic dataset with the national shape (INTERFACE.md §1), fast.

``settle synth --clients N --out DIR [--seed S]`` (or ``python -m settlement.synth``) writes a
dataset of N clients over all 342 Dutch municipalities of 1 January 2025 in 43 BW-regions, for
benchmarks and for tests at scale. Same N and seed: byte-identical files. Every client is drawn
from its own random generator (seeded by the seed and the client's number), so the first K clients
of a dataset of N are the same as those of a dataset of K, and rows are written as they are made
(CSV streams; memory does not grow with N). No self-check runs here: the generator is correct by
construction (below), and `tests/test_synth.py` loads and settles its output.

It ships in the package, unlike the demo data's generator (tests/demo_generator.py, a test
oracle): `settle synth` and `settle bench` (settlement.bench) are commands for users, who make
their own dataset of national shape with it, and need it installed.

What is real and what is invented
---------------------------------
- ``MUNICIPALITIES``: the 342 municipalities of 1 January 2025 with their 4-digit CBS gemeentecode,
  written from knowledge (12 provinces: 10+18+12+25+6+51+26+44+50+13+56+31 = 342; the module
  asserts the count and that codes are unique). Inhabitants are rounded approximations (about
  2023/2024), good enough as weights, not statistics. Addresses, postcodes, IBANs (BNG Bank, check
  digits computed mod 97) and OINs (every municipality has one) are synthetic.
- ``REGIONS``: 43 BW-regions whose centrumgemeenten are the 43 centrumgemeenten beschermd wonen as
  best recalled (Alkmaar, Almelo, Almere, Amersfoort, Amsterdam, Apeldoorn, Arnhem, Assen, Bergen op
  Zoom, Breda, Den Helder, Deventer, Doetinchem, Dordrecht, Ede, Eindhoven, Emmen, Enschede, Gouda,
  Groningen, Haarlem, Heerlen, Helmond, 's-Gravenhage, 's-Hertogenbosch, Hilversum, Hoorn, Leeuwarden,
  Leiden, Lelystad, Maastricht, Nijmegen, Oss, Purmerend, Roosendaal, Rotterdam, Schiedam, Tilburg,
  Utrecht, Venlo, Vlissingen, Zaanstad, Zwolle). Members follow province and proximity; a few are
  plausible rather than official (Noord-Veluwe with Apeldoorn, Rivierenland with Nijmegen, Midden-
  Limburg with Venlo, Westelijke Mijnstreek with Heerlen, the Food Valley municipalities of Utrecht
  with Ede). Every membership runs from 2015-01-01, open: the 2025 boundaries applied backwards.
- Cutover 2023-01-01, except five regions with 2024-01-01 (the cutover is data).
- Agreements: historic pools weighted by inhabitants in four regions, and four interregional groups
  (EAGLE as in the seeds; Twente, West-Brabant and Limburg invented) with notifications on time,
  late and never.
- Clients, BSNs, histories, placements, tariffs and budgets are invented. BSNs pass the 11-proef
  and are unique: an affine permutation of the 8-digit prefixes over the whole 9-digit space, the
  ninth digit computed (prefixes whose check digit would be 10 are skipped). They may coincide with
  real numbers; the data are synthetic and pseudonymous, never use them for anything else.

The shape of a client
---------------------
A home municipality drawn by inhabitants; a BRP history from a woonadres (moves, institution stays
before and during care, briefadressen, periods abroad, unregistered gaps; never overlapping); then
one path: beschermd wonen (52 %: intramural, nearby or begeleid wonen; stays lognormal with a median
of 36 months, step-downs to begeleid wonen on the next day, re-entries within a year, returns after
more than a year), opvang (34 %: night shelter or 24-hour shelter, weeks to months, repeated,
some continuing into BW) or Thuis Plus (14 %, WMO, moves during the stay split the month). About
7.5 % of placements are cross-region (care region other than the region of the last woonadres
before the start). Applications precede each new episode (rarely none: vangnet at the
centrumgemeente). Tariffs cover every (product, region) from 2015 on, with yearly prices and a
mid-month change in three regions. Placements start 2016-01-01 or later and end by 2024-12-31 or
stay open, so every month 2023-01..2024-12 settles.
"""

from __future__ import annotations

import bisect
import csv
import math
import random
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from . import outputs
from .loader import INPUTS

DEFAULT_SEED = 2025
DEFAULT_CLIENTS = 40_000

# --------------------------------------------------------------------------- municipalities

# province: lines of "code name|inhabitants" (approximate); 342 municipalities on 2025-01-01
_MUNICIPALITY_TEXT = {
    "GR": """0014 Groningen|243000
0037 Stadskanaal|32000
0047 Veendam|28000
0765 Pekela|12000
1895 Oldambt|39000
1950 Westerwolde|26000
1952 Midden-Groningen|61000
1966 Het Hogeland|48000
1969 Westerkwartier|65000
1979 Eemsdelta|46000""",
    "FR": """0080 Leeuwarden|127000
0059 Achtkarspelen|28000
0060 Ameland|3800
0072 Harlingen|16000
0074 Heerenveen|52000
0085 Ooststellingwerf|26000
0086 Opsterland|30000
0088 Schiermonnikoog|950
0090 Smallingerland|57000
0093 Terschelling|4900
0096 Vlieland|1200
0098 Weststellingwerf|26000
0737 Tytsjerksteradiel|32000
1891 Dantumadiel|19000
1900 Súdwest-Fryslân|92000
1940 De Fryske Marren|53000
1949 Waadhoeke|47000
1970 Noardeast-Fryslân|45000""",
    "DR": """0106 Assen|69000
0109 Coevorden|35500
0114 Emmen|108000
0118 Hoogeveen|56000
0119 Meppel|35000
1680 Aa en Hunze|26000
1681 Borger-Odoorn|26000
1690 De Wolden|24700
1699 Noordenveld|33000
1701 Westerveld|20000
1730 Tynaarlo|35000
1731 Midden-Drenthe|34000""",
    "OV": """0141 Almelo|74000
0147 Borne|24000
0148 Dalfsen|29000
0150 Deventer|103000
0153 Enschede|161000
0158 Haaksbergen|24500
0160 Hardenberg|62000
0163 Hellendoorn|36000
0164 Hengelo|82000
0166 Kampen|55000
0168 Losser|22700
0173 Oldenzaal|32000
0175 Ommen|18500
0177 Raalte|38000
0180 Staphorst|17800
0183 Tubbergen|21500
0189 Wierden|25000
0193 Zwolle|132000
1700 Twenterand|34000
1708 Steenwijkerland|45000
1735 Hof van Twente|35000
1742 Rijssen-Holten|39000
1773 Olst-Wijhe|18500
1774 Dinkelland|26500
1896 Zwartewaterland|23000""",
    "FL": """0034 Almere|222000
0050 Zeewolde|24000
0171 Noordoostpolder|49000
0184 Urk|22000
0303 Dronten|43000
0995 Lelystad|82000""",
    "GE": """0197 Aalten|27500
0200 Apeldoorn|167000
0202 Arnhem|166000
0203 Barneveld|61000
0209 Beuningen|26500
0213 Brummen|21000
0214 Buren|28000
0216 Culemborg|29500
0221 Doesburg|11500
0222 Doetinchem|59000
0225 Druten|19500
0226 Duiven|25500
0228 Ede|121000
0230 Elburg|23800
0232 Epe|33500
0233 Ermelo|27500
0243 Harderwijk|49500
0244 Hattem|12500
0246 Heerde|19000
0252 Heumen|16500
0262 Lochem|34000
0263 Maasdriel|25500
0267 Nijkerk|45000
0268 Nijmegen|184000
0269 Oldebroek|24500
0273 Putten|25000
0274 Renkum|31500
0275 Rheden|44000
0277 Rozendaal|1600
0279 Scherpenzeel|10300
0281 Tiel|42500
0285 Voorst|25000
0289 Wageningen|41000
0293 Westervoort|15000
0294 Winterswijk|29500
0296 Wijchen|41500
0297 Zaltbommel|30500
0299 Zevenaar|45000
0301 Zutphen|48500
0302 Nunspeet|29000
0668 West Maas en Waal|20000
1509 Oude IJsselstreek|40000
1586 Oost Gelre|30000
1705 Lingewaard|48000
1734 Overbetuwe|49000
1740 Neder-Betuwe|25000
1859 Berkelland|44000
1876 Bronckhorst|37000
1945 Berg en Dal|35500
1955 Montferland|36500
1960 West Betuwe|52000""",
    "UT": """0307 Amersfoort|160000
0308 Baarn|25000
0310 De Bilt|43500
0312 Bunnik|15500
0313 Bunschoten|22500
0317 Eemnes|9500
0321 Houten|50500
0327 Leusden|30500
0331 Lopik|14800
0335 Montfoort|14000
0339 Renswoude|5700
0340 Rhenen|20500
0342 Soest|47500
0344 Utrecht|368000
0345 Veenendaal|68000
0351 Woudenberg|14000
0352 Wijk bij Duurstede|24000
0353 IJsselstein|34500
0355 Zeist|66000
0356 Nieuwegein|64000
0589 Oudewater|10500
0632 Woerden|53000
0736 De Ronde Venen|45000
1581 Utrechtse Heuvelrug|50500
1904 Stichtse Vecht|65500
1961 Vijfheerenlanden|58500""",
    "NH": """0358 Aalsmeer|33000
0361 Alkmaar|110000
0362 Amstelveen|92000
0363 Amsterdam|931000
0373 Bergen (NH.)|30000
0375 Beverwijk|42000
0376 Blaricum|12000
0377 Bloemendaal|24000
0383 Castricum|36500
0384 Diemen|32000
0385 Edam-Volendam|37000
0388 Enkhuizen|18500
0392 Haarlem|163000
0394 Haarlemmermeer|160000
0396 Heemskerk|39500
0397 Heemstede|27500
0399 Heiloo|24500
0400 Den Helder|56500
0402 Hilversum|92000
0405 Hoorn|74000
0406 Huizen|41500
0415 Landsmeer|11800
0417 Laren|11500
0420 Medemblik|47000
0431 Oostzaan|10000
0432 Opmeer|12000
0437 Ouder-Amstel|14500
0439 Purmerend|93000
0441 Schagen|47500
0448 Texel|13700
0450 Uitgeest|13800
0451 Uithoorn|31000
0453 Velsen|69000
0473 Zandvoort|17000
0479 Zaanstad|158000
0498 Drechterland|20500
0532 Stede Broec|22000
0852 Waterland|17500
0880 Wormerland|16500
1598 Koggenland|24000
1696 Wijdemeren|24500
1911 Hollands Kroon|49500
1942 Gooise Meren|59500
1980 Dijk en Waard|90000""",
    "ZH": """0482 Alblasserdam|20500
0484 Alphen aan den Rijn|115000
0489 Barendrecht|50000
0502 Capelle aan den IJssel|68000
0503 Delft|105000
0505 Dordrecht|121000
0512 Gorinchem|38000
0513 Gouda|75000
0518 's-Gravenhage|560000
0523 Hardinxveld-Giessendam|18500
0531 Hendrik-Ido-Ambacht|32000
0534 Hillegom|23000
0537 Katwijk|67000
0542 Krimpen aan den IJssel|29500
0546 Leiden|127000
0547 Leiderdorp|28000
0553 Lisse|23500
0556 Maassluis|34000
0569 Nieuwkoop|29500
0575 Noordwijk|44500
0579 Oegstgeest|26000
0590 Papendrecht|32500
0597 Ridderkerk|47500
0599 Rotterdam|664000
0603 Rijswijk|58000
0606 Schiedam|80000
0610 Sliedrecht|26000
0613 Albrandswaard|26500
0622 Vlaardingen|75000
0626 Voorschoten|26000
0627 Waddinxveen|32000
0629 Wassenaar|27000
0637 Zoetermeer|127000
0638 Zoeterwoude|9500
0642 Zwijndrecht|45500
1525 Teylingen|38000
1621 Lansingerland|65000
1783 Westland|113000
1842 Midden-Delfland|20000
1884 Kaag en Braassem|28500
1892 Zuidplas|45000
1901 Bodegraven-Reeuwijk|36000
1916 Leidschendam-Voorburg|78000
1924 Goeree-Overflakkee|52000
1926 Pijnacker-Nootdorp|57000
1930 Nissewaard|86000
1931 Krimpenerwaard|57000
1963 Hoeksche Waard|89000
1978 Molenlanden|45000
1992 Voorne aan Zee|71000""",
    "ZE": """0654 Borsele|23000
0664 Goes|39500
0677 Hulst|27500
0678 Kapelle|13000
0687 Middelburg|49500
0703 Reimerswaal|23000
0715 Terneuzen|55000
0716 Tholen|26500
0717 Veere|22000
0718 Vlissingen|45000
1676 Schouwen-Duiveland|34500
1695 Noord-Beveland|7700
1714 Sluis|23500""",
    "NB": """0743 Asten|17000
0744 Baarle-Nassau|7000
0748 Bergen op Zoom|69000
0753 Best|31000
0755 Boekel|11000
0757 Boxtel|33000
0758 Breda|186000
0762 Deurne|33000
0766 Dongen|27000
0770 Eersel|19500
0772 Eindhoven|243000
0777 Etten-Leur|45000
0779 Geertruidenberg|22000
0784 Gilze en Rijen|27000
0785 Goirle|24000
0794 Helmond|94000
0796 's-Hertogenbosch|159000
0797 Heusden|45000
0798 Hilvarenbeek|16000
0809 Loon op Zand|23500
0820 Nuenen, Gerwen en Nederwetten|23500
0823 Oirschot|19500
0824 Oisterwijk|33000
0826 Oosterhout|57000
0828 Oss|94000
0840 Rucphen|22500
0845 Sint-Michielsgestel|30000
0847 Someren|19500
0848 Son en Breugel|17500
0851 Steenbergen|25500
0855 Tilburg|226000
0858 Valkenswaard|31500
0861 Veldhoven|46000
0865 Vught|27000
0866 Waalre|17500
0867 Waalwijk|49500
0873 Woensdrecht|22500
0879 Zundert|22000
1652 Gemert-Bakel|31000
1655 Halderberge|30500
1658 Heeze-Leende|16500
1659 Laarbeek|23000
1667 Reusel-De Mierden|13500
1674 Roosendaal|78000
1706 Cranendonck|21000
1709 Moerdijk|37500
1719 Drimmelen|27500
1721 Bernheze|32500
1723 Alphen-Chaam|10500
1724 Bergeijk|19000
1728 Bladel|21000
1771 Geldrop-Mierlo|40000
1948 Meierijstad|83000
1959 Altena|57000
1982 Land van Cuijk|92000
1991 Maashorst|61000""",
    "LI": """0882 Landgraaf|37500
0888 Beek|15700
0889 Beesel|13500
0893 Bergen (L.)|13200
0899 Brunssum|27500
0907 Gennep|17500
0917 Heerlen|87000
0928 Kerkrade|45500
0935 Maastricht|123000
0938 Meerssen|18700
0944 Mook en Middelaar|7900
0946 Nederweert|17300
0957 Roermond|59000
0965 Simpelveld|10500
0971 Stein|24800
0981 Vaals|10000
0983 Venlo|103000
0984 Venray|44500
0986 Voerendaal|12400
0988 Weert|51000
0994 Valkenburg aan de Geul|16300
1507 Horst aan de Maas|43000
1640 Leudal|36500
1641 Maasgouw|23800
1669 Roerdalen|21000
1711 Echt-Susteren|31800
1729 Gulpen-Wittem|14000
1883 Sittard-Geleen|91000
1894 Peel en Maas|44500
1903 Eijsden-Margraten|25500
1954 Beekdaelen|36000""",
}

# first two postcode digits per province (synthetic town-hall postcodes)
_POSTCODE_BASE = {"GR": 97, "FR": 89, "DR": 94, "OV": 80, "FL": 13, "GE": 68, "UT": 35, "NH": 10, "ZH": 25,
                  "ZE": 43, "NB": 50, "LI": 62}


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    province: str
    inhabitants: int


def _parse_municipalities() -> list[Municipality]:
    out = []
    for province, text in _MUNICIPALITY_TEXT.items():
        for line in text.splitlines():
            head, inhabitants = line.split("|")
            code, name = head.split(" ", 1)
            out.append(Municipality(code, name, province, int(inhabitants)))
    return sorted(out, key=lambda m: m.code)


MUNICIPALITIES: list[Municipality] = _parse_municipalities()
MUNICIPALITY = {m.code: m for m in MUNICIPALITIES}

# --------------------------------------------------------------------------- regions

# slug: (name, centrumgemeente, cluster, cutover year, members). The cluster groups neighbouring
# regions: cross-region placements mostly stay inside it.
REGIONS: dict[str, tuple[str, str, str, int, tuple[str, ...]]] = {
    "groningen": ("Groningen", "0014", "north", 2023,
                  ("0014", "0037", "0047", "0765", "1895", "1950", "1952", "1966", "1969", "1979")),
    "fryslan": ("Fryslân", "0080", "north", 2023,
                ("0080", "0059", "0060", "0072", "0074", "0085", "0086", "0088", "0090", "0093", "0096",
                 "0098", "0737", "1891", "1900", "1940", "1949", "1970")),
    "noord-midden-drenthe": ("Noord- en Midden-Drenthe", "0106", "north", 2023,
                             ("0106", "1680", "1731", "1699", "1730", "0118", "0119", "1690", "1701")),
    "zuidoost-drenthe": ("Zuidoost-Drenthe", "0114", "north", 2023, ("0114", "0109", "1681")),
    "ijssel-vecht": ("IJssel-Vecht", "0193", "east", 2023,
                     ("0193", "0148", "0160", "0166", "0175", "0180", "1708", "1896")),
    "salland": ("Salland", "0150", "east", 2023, ("0150", "1773", "0177")),
    "west-twente": ("West-Twente", "0141", "east", 2023, ("0141", "0163", "1700", "0189", "1742", "0183")),
    "twente": ("Twente", "0153", "east", 2023, ("0153", "0164", "0147", "0158", "1735", "0168", "0173", "1774")),
    "almere": ("Almere", "0034", "centre", 2023, ("0034", "0050")),
    "flevoland": ("Flevoland", "0995", "east", 2023, ("0995", "0303", "0171", "0184")),
    "midden-ijssel-oost-veluwe": ("Midden-IJssel/Oost-Veluwe en Noord-Veluwe", "0200", "east", 2023,
                                  ("0200", "0213", "0232", "0246", "0244", "0262", "0285", "0301", "0243",
                                   "0230", "0233", "0302", "0269", "0273")),
    "food-valley": ("Food Valley", "0228", "centre", 2023,
                    ("0228", "0203", "0267", "0279", "0289", "0345", "0340", "0339")),
    "centraal-gelderland": ("Centraal Gelderland", "0202", "centre", 2023,
                            ("0202", "0221", "0226", "1705", "1734", "0274", "0275", "0277", "0293", "0299")),
    "achterhoek": ("Achterhoek", "0222", "east", 2023,
                   ("0222", "0197", "1859", "1876", "1955", "1586", "1509", "0294")),
    "rijk-van-nijmegen": ("Rijk van Nijmegen en Rivierenland", "0268", "centre", 2023,
                          ("0268", "1945", "0209", "0225", "0252", "0296", "0944", "0281", "0214", "0216",
                           "0263", "1740", "1960", "0668", "0297")),
    "utrecht": ("Utrecht", "0344", "centre", 2023,
                ("0344", "0312", "0310", "0321", "0353", "0331", "0335", "0356", "0589", "1904", "1581",
                 "0352", "0632", "0355", "0736", "1961")),
    "eemland": ("Eemland", "0307", "centre", 2023, ("0307", "0308", "0313", "0317", "0327", "0342", "0351")),
    "amsterdam-amstelland": ("Amsterdam-Amstelland", "0363", "northwest", 2023,
                             ("0363", "0358", "0362", "0384", "0437", "0451")),
    "kennemerland": ("Kennemerland", "0392", "northwest", 2024,
                     ("0392", "0377", "0394", "0397", "0473", "0375", "0396", "0453")),
    "noord-kennemerland": ("Noord-Kennemerland", "0361", "northwest", 2023,
                           ("0361", "0373", "0383", "1980", "0399", "0450")),
    "kop-van-noord-holland": ("Kop van Noord-Holland", "0400", "northwest", 2023, ("0400", "0441", "1911", "0448")),
    "west-friesland": ("West-Friesland", "0405", "northwest", 2023,
                       ("0405", "0388", "0498", "0532", "1598", "0420", "0432")),
    "gooi-en-vechtstreek": ("Gooi en Vechtstreek", "0402", "centre", 2024,
                            ("0402", "0376", "1942", "0406", "0417", "1696")),
    "zaanstreek": ("Zaanstreek", "0479", "northwest", 2023, ("0479", "0880", "0431")),
    "waterland": ("Waterland", "0439", "northwest", 2023, ("0439", "0385", "0415", "0852")),
    "haaglanden": ("Haaglanden", "0518", "southwest", 2023,
                   ("0518", "0503", "1916", "1842", "1926", "0603", "0629", "1783", "0637")),
    "holland-rijnland": ("Holland Rijnland", "0546", "southwest", 2024,
                         ("0546", "0484", "0534", "1884", "0537", "0547", "0553", "0569", "0575", "0579", "1525",
                          "0626", "0638")),
    "midden-holland": ("Midden-Holland", "0513", "southwest", 2023, ("0513", "1901", "1931", "0627", "1892")),
    "rijnmond": ("Rijnmond", "0599", "southwest", 2023,
                 ("0599", "0613", "0489", "0502", "0542", "1621", "0597", "1930", "1992", "1924", "1963")),
    "nieuwe-waterweg-noord": ("Nieuwe Waterweg Noord", "0606", "southwest", 2023, ("0606", "0622", "0556")),
    "zuid-holland-zuid": ("Zuid-Holland Zuid", "0505", "southwest", 2023,
                          ("0505", "0482", "0523", "0531", "1978", "0590", "0610", "0642", "0512")),
    "zeeland": ("Zeeland", "0718", "southwest", 2023,
                ("0718", "0654", "0664", "0677", "0678", "0687", "0703", "0715", "0716", "0717", "1676", "1695",
                 "1714")),
    "west-brabant-west": ("West-Brabant-West", "0748", "south", 2023, ("0748", "0851", "0873")),
    "roosendaal": ("Roosendaal en omstreken", "1674", "south", 2023, ("1674", "1655", "1709", "0840")),
    "west-brabant-oost": ("West-Brabant-Oost", "0758", "south", 2023,
                          ("0758", "1723", "0744", "1719", "0777", "0779", "0784", "0826", "0879", "1959")),
    "hart-van-brabant": ("Hart van Brabant", "0855", "south", 2023,
                         ("0855", "0766", "0785", "0798", "0809", "0824", "0867", "0797")),
    "meierij": ("'s-Hertogenbosch en Meierij", "0796", "south", 2023, ("0796", "0757", "0845", "0865", "1948")),
    "noordoost-brabant": ("Noordoost-Brabant", "0828", "south", 2024, ("0828", "1721", "1991", "1982", "0755")),
    "zuidoost-brabant": ("Zuidoost-Brabant", "0772", "south", 2023,
                         ("0772", "0753", "1724", "1728", "1706", "0770", "1771", "1658", "0820", "0823", "1667",
                          "0848", "0858", "0861", "0866")),
    "peelland": ("Peelland", "0794", "south", 2023, ("0794", "0743", "0762", "1652", "1659", "0847")),
    "noord-midden-limburg": ("Noord- en Midden-Limburg", "0983", "south", 2023,
                             ("0983", "0889", "0893", "0907", "1507", "1894", "0984", "0957", "1640", "1641",
                              "1669", "0946", "0988", "1711")),
    "parkstad-westelijke-mijnstreek": ("Parkstad en Westelijke Mijnstreek", "0917", "south", 2023,
                                       ("0917", "0899", "0928", "0882", "0965", "0986", "1954", "1883", "0971",
                                        "0888")),
    "maastricht-heuvelland": ("Maastricht-Heuvelland", "0935", "south", 2024,
                              ("0935", "0938", "0994", "1903", "1729", "0981")),
}

REGION_OF: dict[str, str] = {code: slug for slug, r in REGIONS.items() for code in r[4]}
CENTRUM: dict[str, str] = {slug: r[1] for slug, r in REGIONS.items()}
MEMBERS_FROM = date(2015, 1, 1)

# historic pools (weights: inhabitants) and interregional groups (disjoint)
POOLS: dict[str, tuple[str, tuple[str, ...]]] = {  # id: (region, domains)
    "ijv-solidariteit-historisch": ("ijssel-vecht", ("BW", "WMO")),
    "achterhoek-solidariteit": ("achterhoek", ("BW", "WMO")),
    "midden-holland-solidariteit": ("midden-holland", ("BW",)),
    "zeeland-solidariteit": ("zeeland", ("BW",)),
}
POOL_VALID = ("2023-01-01", "2025-12-31")
GROUPS: dict[str, tuple[tuple[str, ...], int, str]] = {  # id: (regions, notify_within_days, late_notification)
    "eagle": (("zuidoost-drenthe", "noord-midden-drenthe", "groningen", "fryslan"), 14, "shift"),
    "twente-samen": (("west-twente", "twente"), 14, "flag"),
    "west-brabant": (("west-brabant-west", "roosendaal", "west-brabant-oost"), 14, "shift"),
    "limburg-bw": (("noord-midden-limburg", "parkstad-westelijke-mijnstreek", "maastricht-heuvelland"), 28, "flag"),
}
GROUP_OF: dict[str, str] = {r: g for g, (regions, _, _) in GROUPS.items() for r in regions}


def _check_master_data() -> None:
    codes = [m.code for m in MUNICIPALITIES]
    assert len(codes) == 342 and len(set(codes)) == 342, "342 unique municipality codes"
    assert len(REGIONS) == 43, "43 BW-regions"
    listed = [c for r in REGIONS.values() for c in r[4]]
    assert len(listed) == len(set(listed)) == 342 and set(listed) == set(codes), "every municipality in one region"
    for slug, (_, cg, _, _, members) in REGIONS.items():
        assert members[0] == cg, f"{slug}: the centrumgemeente is listed first"
    assert len({r[1] for r in REGIONS.values()}) == 43


_check_master_data()

# --------------------------------------------------------------------------- products and tariffs

# product, name, domain, bw_definition, unit, iwmo_category, base price (cents per unit, 2015-2022)
PRODUCTS: tuple[tuple[str, str, str, str, str, str, int], ...] = (
    ("BEGELEID", "Begeleid wonen", "BW", "true", "month", "15", 138000),
    ("BW-INTRA", "Beschermd wonen intramuraal", "BW", "true", "day", "15", 12850),
    ("BW-NABIJ", "Beschermd wonen nabij (extramuraal)", "BW", "true", "day", "15", 7200),
    ("MO-24", "24-uursopvang", "MO", "false", "day", "16", 8100),
    ("MO-NACHT", "Nachtopvang", "MO", "false", "day", "16", 4950),
    ("THUIS-PLUS", "Thuis Plus", "WMO", "false", "month", "18", 69500),
)
TARIFF_FROM = date(2015, 1, 1)
MID_MONTH_REGIONS = ("ijssel-vecht", "rijnmond", "zuidoost-brabant")  # BW-INTRA changes on 2024-07-16

HISTORY_FROM = date(2016, 1, 1)  # the first placement start
HORIZON = date(2024, 12, 31)  # the last day the data cover; later ends are open
SETTLE_FROM = date(2023, 1, 1)

# durations: median days and sigma of the lognormal
DURATION = {
    "BW-INTRA": (1096, 0.8),   # 36 months
    "BW-NABIJ": (1096, 0.8),
    "BEGELEID": (1096, 0.8),
    "STEP-DOWN": (730, 0.8),   # begeleid wonen after an intramural stay: 24 months
    "MO-NACHT": (45, 0.9),
    "MO-24": (110, 0.8),
    "THUIS-PLUS": (420, 0.7),
}
CROSS_REGION = 0.07  # chance that a new episode is placed outside the home region (measured share ~7.5 %)


# --------------------------------------------------------------------------- identifiers


def _iban_number(text: str) -> int:
    return int("".join(str(int(ch, 36)) for ch in text))


def make_iban(bank: str, account: str) -> str:
    """A Dutch IBAN with computed check digits (ISO 13616 mod 97)."""
    check = 98 - _iban_number(bank + account + "NL00") % 97
    return f"NL{check:02d}{bank}{account}"


def iban_valid(iban: str) -> bool:
    return _iban_number(iban[4:] + iban[:4]) % 97 == 1


def bsn_valid(bsn: str) -> bool:
    """The 11-proef of a burgerservicenummer."""
    if len(bsn) != 9 or not bsn.isdigit() or bsn == "000000000":
        return False
    return (sum(int(bsn[i]) * (9 - i) for i in range(8)) - int(bsn[8])) % 11 == 0


_PREFIXES = 10 ** 8


class BsnSequence:
    """Unique BSNs passing the 11-proef from the whole 9-digit space, deterministic per seed.

    The k-th candidate prefix is (a·k + b) mod 10^8 with a coprime to 10: a permutation of all
    8-digit prefixes, so prefixes never repeat; the ninth digit follows from the 11-proef and
    prefixes whose check digit would be 10 (or the all-zero number) are skipped."""

    def __init__(self, seed: int) -> None:
        self.a = (61_728_391 + 20 * (seed % 1_000_000)) % _PREFIXES  # ends in 1: coprime to 10
        self.b = (seed * 7_919 + 12_345) % _PREFIXES
        self.k = 0

    def __next__(self) -> str:
        while True:
            prefix = (self.a * self.k + self.b) % _PREFIXES
            self.k += 1
            if prefix == 0:
                continue
            s = f"{prefix:08d}"
            check = (9 * int(s[0]) + 8 * int(s[1]) + 7 * int(s[2]) + 6 * int(s[3]) + 5 * int(s[4])
                     + 4 * int(s[5]) + 3 * int(s[6]) + 2 * int(s[7])) % 11
            if check < 10:
                return s + str(check)

    def __iter__(self) -> BsnSequence:
        return self


def municipality_iban(code: str) -> str:
    # BNG Bank, a synthetic 10-digit account number: 0285 + CBS code + 2 digits
    return make_iban("BNGH", f"0285{code}{int(code) * 37 % 100:02d}")


def municipality_oin(code: str) -> str:
    """An invented OIN of the form of a Dutch government body's, 00000001 + RSIN + 000, where a
    municipality's RSIN begins with 0: 000000010 + CBS code + 3 digits + an 11-proef check digit +
    000. Every municipality has one (INTERFACE.md v2)."""
    n = int(code) * 13 % 1000
    while True:
        base = f"0{code}{n:03d}"
        for last in range(10):
            if bsn_valid(base + str(last)):
                return f"00000001{base}{last}000"
        n = (n + 1) % 1000


# --------------------------------------------------------------------------- the generator

_ISO: dict[int, str] = {}


def _iso(day: int | None) -> str:
    if day is None:
        return ""
    s = _ISO.get(day)
    if s is None:
        s = _ISO[day] = date.fromordinal(day).isoformat()
    return s


def _euros(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class _Weighted:
    """Draw from a fixed population by weight (bisect over cumulative weights)."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, items: list[Any], weights: list[float]) -> None:
        self.items = items
        self.cum = []
        total = 0.0
        for w in weights:
            total += w
            self.cum.append(total)
        self.total = total

    def draw(self, rng: random.Random) -> Any:
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.total)]


_ALL_MUNIS = _Weighted([m.code for m in MUNICIPALITIES], [m.inhabitants for m in MUNICIPALITIES])
_REGION_MUNIS = {slug: _Weighted(list(r[4]), [MUNICIPALITY[c].inhabitants for c in r[4]])
                 for slug, r in REGIONS.items()}
_REGION_POP = {slug: sum(MUNICIPALITY[c].inhabitants for c in r[4]) for slug, r in REGIONS.items()}
_ALL_REGIONS = _Weighted(sorted(REGIONS), [_REGION_POP[s] for s in sorted(REGIONS)])
_CLUSTER_REGIONS = {
    cluster: _Weighted([s for s in sorted(REGIONS) if REGIONS[s][2] == cluster],
                       [_REGION_POP[s] for s in sorted(REGIONS) if REGIONS[s][2] == cluster])
    for cluster in sorted({r[2] for r in REGIONS.values()})}
_GROUP_REGIONS = {g: _Weighted(list(regions), [_REGION_POP[r] for r in regions])
                  for g, (regions, _, _) in GROUPS.items()}
_CUTOVER = {slug: date(r[3], 1, 1).toordinal() for slug, r in REGIONS.items()}

_NATIONAL = ["Leger des Heils", "Kwintes", "Lister", "RIBW", "Stichting Philadelphia", "Cordaan", "HVO-Querido",
             "Arkin", "Parnassia", "Lentis", "GGZ Centraal", "Dimence", "Tactus", "Iriszorg", "Pameijer",
             "Moviera", "Antes", "Mondriaan", "Vincent van Gogh", "Prisma", "Amarant", "Reinier van Arkel",
             "Impegno", "Zienn", "Cosis", "Limor", "Wender", "De Kern", "Exodus", "Stichting Anton Constandse"]
_PROVIDERS = {}
for _i, _slug in enumerate(sorted(REGIONS)):
    _name = REGIONS[_slug][0]
    _PROVIDERS[_slug] = ("BW", [f"RIBW {_name}"] + [_NATIONAL[(_i * 7 + k * 3) % len(_NATIONAL)] for k in range(3)],
                         "MO", ["Leger des Heils", f"Opvang {_name}"])

#: the files written, with their headers: every input file as declared (loader.INPUTS), its columns
#: in the declared order, which is the order of the cells each row below is written with
FILES = tuple(i.file for i in INPUTS if i.since == 1)  # the generator makes no disputes or rulings
HEADERS = {i.file: i.columns for i in INPUTS}  # the optional columns (placements.contractor) left out


@dataclass
class Summary:
    """What was written: rows per file and the shape of the placements."""

    clients: int
    seed: int
    rows: dict[str, int] = field(default_factory=dict)
    placements_by_product: dict[str, int] = field(default_factory=dict)
    cross_region: int = 0  # placements whose care region differs from the region of the last woonadres
    with_home: int = 0  # placements with a woonadres before the start (the denominator)
    notifications: dict[str, int] = field(default_factory=dict)  # on_time / late / never

    @property
    def cross_region_share(self) -> float:
        return self.cross_region / self.with_home if self.with_home else 0.0

    def text(self) -> str:
        parts = [f"{self.clients} clients (seed {self.seed})"]
        parts += [f"{n} {f[:-4]}" for f, n in self.rows.items() if f in ("placements.csv", "brp.csv",
                                                                        "applications.csv", "notifications.csv")]
        return (", ".join(parts) + f"; cross-region {self.cross_region_share:.1%}; products "
                + ", ".join(f"{p} {n}" for p, n in sorted(self.placements_by_product.items())))


class _Counting:
    """A csv writer that counts its rows."""

    __slots__ = ("rows", "writer")

    def __init__(self, writer: Any) -> None:
        self.writer, self.rows = writer, 0

    def writerow(self, row: Any) -> None:
        self.writer.writerow(row)
        self.rows += 1


class _Brp:
    """One client's BRP history, built forwards in time; registrations never overlap."""

    __slots__ = ("kind", "muni", "next_free", "rows", "start", "woon")

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, int, int | None]] = []
        self.muni = self.kind = None
        self.start: int | None = None
        self.next_free = 0  # the first day a new registration may start
        self.woon: str | None = None  # the municipality of the latest woonadres

    def set(self, day: int, muni: str, kind: str) -> int:
        """From `day` (or the first free day after it) the registration is (muni, kind)."""
        day = max(day, self.next_free)
        if self.start is not None:
            self.rows.append((self.muni, self.kind, self.start, day - 1))  # type: ignore[arg-type]
        self.muni, self.kind, self.start, self.next_free = muni, kind, day, day + 1
        if kind == "woonadres":
            self.woon = muni
        return day

    def unregister(self, day: int) -> None:
        """From `day` on: not registered (a gap)."""
        if self.start is None:
            return
        day = max(day, self.next_free)
        self.rows.append((self.muni, self.kind, self.start, day - 1))  # type: ignore[arg-type]
        self.muni = self.kind = self.start = None
        self.next_free = day + 1

    def close(self) -> None:
        if self.start is not None:
            self.rows.append((self.muni, self.kind, self.start, None))  # type: ignore[arg-type]
            self.start = None


class _Generator:
    def __init__(self, out: Path, clients: int, seed: int) -> None:
        self.out, self.n, self.seed = out, clients, seed
        self.summary = Summary(clients, seed, placements_by_product={p[0]: 0 for p in PRODUCTS},
                               notifications={"on_time": 0, "late": 0, "never": 0})
        self.horizon = HORIZON.toordinal()
        self.history_from = HISTORY_FROM.toordinal()
        self.settle_from = SETTLE_FROM.toordinal()
        self.month_starts = [date(y, m, 1).toordinal() for y in (2023, 2024) for m in range(1, 13)]

    # -- master data ------------------------------------------------------------------------
    def master(self, w: dict[str, Any]) -> None:
        for m in MUNICIPALITIES:
            postcode = f"{_POSTCODE_BASE[m.province]}{int(m.code) % 100:02d} AA"
            w["municipalities.csv"].writerow((m.code, m.name, municipality_iban(m.code), "Raadhuisplein 1",
                                              postcode, m.name.split(" (")[0], municipality_oin(m.code)))
        for slug in sorted(REGIONS):
            name, cg, _, year, members = REGIONS[slug]
            w["regions.csv"].writerow((slug, name, cg, f"{year}-01-01"))
            for code in sorted(members):
                w["region_members.csv"].writerow((slug, code, MEMBERS_FROM.isoformat(), ""))
        for product, name, domain, bw, unit, category, _ in PRODUCTS:
            w["products.csv"].writerow((product, name, domain, bw, unit, category))
        for product, _, _, _, _, _, base in PRODUCTS:
            for i, slug in enumerate(sorted(REGIONS)):
                factor = 0.92 + ((i * 37 + len(product) * 11) % 19) / 100  # 0.92 .. 1.10
                p0 = int(base * factor)
                p1 = p0 * 106 // 100
                p2 = p1 * 1045 // 1000
                rows = [("2015-01-01", "2022-12-31", p0), ("2023-01-01", "2023-12-31", p1)]
                if product == "BW-INTRA" and slug in MID_MONTH_REGIONS:
                    rows += [("2024-01-01", "2024-07-15", p2), ("2024-07-16", "", p2 * 1015 // 1000)]
                else:
                    rows.append(("2024-01-01", "", p2))
                for valid_from, valid_to, cents in rows:
                    w["tariffs.csv"].writerow((product, slug, valid_from, valid_to, _euros(cents)))
        # budgets: historic for centrumgemeenten (their region's share), objective by inhabitants
        total = sum(m.inhabitants for m in MUNICIPALITIES)
        macro_historic = {2023: 128492924155, 2024: 95969051813, 2025: 68935298563}
        macro_objective = {2023: 14144775845, 2024: 46718648187, 2025: 73812101437}
        centrum_region = {cg: slug for slug, cg in CENTRUM.items()}
        for m in MUNICIPALITIES:
            for year in (2023, 2024, 2025):
                region = centrum_region.get(m.code)
                historic = macro_historic[year] * _REGION_POP[region] // total if region else 0
                objective = macro_objective[year] * m.inhabitants // total
                w["budgets.csv"].writerow((m.code, year, _euros(historic), _euros(objective)))

    def agreements(self) -> str:
        lines = ["# Agreements of the synthetic national dataset (settlement/synth.py).", ""]
        for aid in sorted(POOLS):
            region, domains = POOLS[aid]
            lines += ["[[agreement]]", f'id = "{aid}"', 'kind = "pool"', f'region = "{region}"',
                      f"valid_from = {POOL_VALID[0]}", f"valid_to = {POOL_VALID[1]}", 'clients = "historic"',
                      "domains = [" + ", ".join(f'"{d}"' for d in domains) + "]", "[agreement.weights]"]
            lines += [f'"{c}" = {MUNICIPALITY[c].inhabitants}' for c in sorted(REGIONS[region][4])]
            lines.append("")
        for gid in sorted(GROUPS):
            regions, days, late = GROUPS[gid]
            lines += ["[[agreement]]", f'id = "{gid}"', 'kind = "interregional"',
                      "regions = [" + ", ".join(f'"{r}"' for r in regions) + "]", "valid_from = 2023-01-01",
                      f"notify_within_days = {days}", f'late_notification = "{late}"', ""]
        return "\n".join(lines)

    # -- one client --------------------------------------------------------------------------
    def client(self, i: int, bsn: str, w: dict[str, Any]) -> None:
        rng = random.Random(self.seed * 1_000_003 + i)
        cid = f"C{i + 1:07d}"
        c = _Client(self, rng, cid)
        w["clients.csv"].writerow((cid, bsn))
        c.live()
        c.brp.close()
        brp_w = w["brp.csv"]
        for muni, kind, start, end in c.brp.rows:
            brp_w.writerow((cid, muni or "", kind, _iso(start), _iso(end)))
        for row in c.applications:
            w["applications.csv"].writerow(row)
        for row in c.placements:
            w["placements.csv"].writerow(row)
        for row in c.notifications:
            w["notifications.csv"].writerow(row)
        for row in c.declarations:
            w["declarations.csv"].writerow(row)

    def run(self) -> Summary:
        outputs.claim(self.out, (*FILES, "agreements.toml"), "settle synth")  # never a file it did not write
        writers = {}
        with ExitStack() as files:
            for name in FILES:
                f = files.enter_context(open(self.out / name, "w", encoding="utf-8", newline=""))
                writers[name] = _Counting(csv.writer(f, lineterminator="\n"))
                writers[name].writer.writerow(HEADERS[name])
            self.master(writers)
            bsns = BsnSequence(self.seed)
            for i in range(self.n):
                self.client(i, next(bsns), writers)
        (self.out / "agreements.toml").write_text(self.agreements(), encoding="utf-8")
        self.summary.rows = {name: writers[name].rows for name in FILES}
        return self.summary


class _Client:
    """The life of one client: a BRP history and one path of care, forwards in time."""

    def __init__(self, gen: _Generator, rng: random.Random, cid: str) -> None:
        self.gen, self.rng, self.cid = gen, rng, cid
        self.brp = _Brp()
        self.applications: list[tuple[str, str, str, str]] = []
        self.placements: list[tuple[str, ...]] = []
        self.notifications: list[tuple[str, str, str]] = []
        self.declarations: list[tuple[str, str, str]] = []
        self.app_days: set[int] = set()
        self.n_placements = 0

    # helpers ---------------------------------------------------------------------------------
    def days(self, key: str) -> int:
        median, sigma = DURATION[key]
        return max(1, int(self.rng.lognormvariate(math.log(median), sigma)))

    def move_muni(self, region: str | None) -> str:
        """A new woonadres: mostly in the same region."""
        if region is not None and self.rng.random() < 0.8:
            return _REGION_MUNIS[region].draw(self.rng)
        return _ALL_MUNIS.draw(self.rng)

    def care_region(self) -> str:
        home = REGION_OF[self.brp.woon]  # type: ignore[index]
        if self.rng.random() >= CROSS_REGION:
            return home
        r = self.rng.random()
        if home in GROUP_OF and r < 0.5:  # a partner region of an interregional agreement
            cluster = _GROUP_REGIONS[GROUP_OF[home]]
        else:
            cluster = _CLUSTER_REGIONS[REGIONS[home][2]] if r < 0.8 else _ALL_REGIONS
        for _ in range(8):
            region = cluster.draw(self.rng)
            if region != home:
                return region
        return home

    def location(self, region: str) -> str:
        return CENTRUM[region] if self.rng.random() < 0.6 else _REGION_MUNIS[region].draw(self.rng)

    def apply(self, region: str, start: int, muni: str, lo: int = 3, hi: int = 60) -> None:
        day = start - self.rng.randint(lo, hi)
        while day in self.app_days:
            day -= 1
        self.app_days.add(day)
        self.applications.append((self.cid, region, muni, _iso(day)))

    def place(self, product: str, region: str, start: int, end: int | None, financing: str = "ZIN",
              location: str | None = None) -> tuple[str, str]:
        self.n_placements += 1
        pid = f"P{self.cid[1:]}-{self.n_placements}"
        location = location or self.location(region)
        providers = _PROVIDERS[region][3 if product.startswith("MO") else 1]
        provider = providers[self.rng.randrange(len(providers))]
        self.placements.append((pid, self.cid, product, region, provider, location, _iso(start), _iso(end),
                                financing))
        s = self.gen.summary
        s.placements_by_product[product] += 1
        if self.brp.woon is not None:
            s.with_home += 1
            s.cross_region += REGION_OF[self.brp.woon] != region
        # a declaration replaces the computed amount of about 1 % of placements for one month
        if self.rng.random() < 0.01 and start <= self.gen.horizon and (end is None or end >= self.gen.settle_from):
            months = [m for m in self.gen.month_starts
                      if m <= (end if end is not None else self.gen.horizon) and _next_month(m) > start]
            if months:
                m = months[self.rng.randrange(len(months))]
                self.declarations.append((pid, _iso(m)[:7], _euros(self.rng.randint(40_000, 650_000))))
        return pid, location

    def notify(self, pid: str, region: str, start: int, bw: bool) -> None:
        """Interregional agreements: the care region notifies the client's home municipality."""
        home = self.brp.woon
        if not bw or home is None or start < _CUTOVER[region]:
            return
        home_region = REGION_OF[home]
        group = GROUP_OF.get(region)
        if group is None or home_region == region or GROUP_OF.get(home_region) != group:
            return
        within = GROUPS[group][1]
        r = self.rng.random()
        n = self.gen.summary.notifications
        if r < 0.7:
            self.notifications.append((pid, home, _iso(start + self.rng.randint(0, within))))
            n["on_time"] += 1
        elif r < 0.9:
            self.notifications.append((pid, home, _iso(start + self.rng.randint(within + 1, within + 60))))
            n["late"] += 1
        else:
            n["never"] += 1

    # the life --------------------------------------------------------------------------------
    def live(self) -> None:
        rng, gen = self.rng, self.gen
        home = _ALL_MUNIS.draw(rng)
        since = date(1990, 1, 1).toordinal() + rng.randint(0, 25 * 365)
        self.brp.set(since, home, "woonadres")
        r = rng.random()
        path = "BW" if r < 0.52 else ("MO" if r < 0.86 else "WMO")
        first = {"BW": gen.history_from, "MO": date(2021, 1, 1).toordinal(),
                 "WMO": date(2019, 1, 1).toordinal()}[path]
        t = first + rng.randint(0, gen.horizon - 15 - first)
        if rng.random() < 0.3 and t - since > 730:  # a move some time before care
            self.brp.set(since + rng.randint(365, t - since - 90), self.move_muni(REGION_OF[home]), "woonadres")
        if rng.random() < 0.04 and t - since > 1200:  # an old application that led nowhere (then)
            self.apply(REGION_OF[self.brp.woon], t, self.brp.woon, 400, 1100)  # type: ignore[arg-type,index]
        while t is not None and t <= gen.horizon:
            if path == "BW":
                t = self.bw(t)
            elif path == "MO":
                t, path = self.mo(t)
            else:
                t, path = self.wmo(t)

    def before(self, t: int, region: str, vangnet_ok: bool = True) -> str | None:
        """The registration on the day before a new episode; returns the municipality the client
        reports in (None: no application)."""
        rng, brp = self.rng, self.brp
        r = rng.random()
        room = t - 1 - brp.next_free  # days available for a change before the start
        if not vangnet_ok or room < 30 or r < 0.78:
            return brp.muni if brp.kind in ("woonadres", "briefadres") else CENTRUM[region]
        if r < 0.88:  # one or two institution stays (clinic, Wlz, prison) right before
            day = t - rng.randint(30, min(400, room))
            clinic = _REGION_MUNIS[REGION_OF[brp.woon]].draw(rng) if brp.woon else CENTRUM[region]
            brp.set(day, clinic, "institution")
            if rng.random() < 0.2 and t - 1 - brp.next_free > 10:
                brp.set(t - rng.randint(5, t - 1 - brp.next_free), CENTRUM[region], "institution")
            return brp.woon or CENTRUM[region]
        if r < 0.93:  # a briefadres
            muni = brp.woon if brp.woon and rng.random() < 0.5 else CENTRUM[REGION_OF[brp.woon or CENTRUM[region]]]
            brp.set(t - rng.randint(20, min(300, room)), muni, "briefadres")
            return muni if rng.random() < 0.8 else None
        if r < 0.96:  # abroad
            brp.set(t - rng.randint(30, min(700, room)), "", "abroad")
            return CENTRUM[region] if rng.random() < 0.6 else None
        brp.unregister(t - rng.randint(10, min(200, room)))  # unregistered (a gap)
        return CENTRUM[region] if rng.random() < 0.6 else None

    def bw(self, t: int, region: str | None = None, product: str | None = None) -> int | None:
        """A beschermd-wonen episode from day t: a stay, step-downs and re-entries. Returns the
        start of a later, unrelated episode, or None."""
        rng, gen, brp = self.rng, self.gen, self.brp
        if region is None:
            region = self.care_region()
        reported = self.before(t, region)
        if reported is not None:
            self.apply(region, t, reported)
        if product is None:
            r = rng.random()
            product = "BW-INTRA" if r < 0.55 else ("BW-NABIJ" if r < 0.80 else "BEGELEID")
        duration_key = product
        first = True
        while t <= gen.horizon:
            end = t + self.days(duration_key) - 1
            ongoing = end > gen.horizon
            financing = "PGB" if product != "BW-INTRA" and rng.random() < 0.15 else "ZIN"
            pid, location = self.place(product, region, t, None if ongoing else end, financing)
            if first:
                self.notify(pid, region, t, True)
            registered = False
            if product == "BW-INTRA" and rng.random() < 0.5:  # registered at the institution
                day = t + rng.randint(0, 30)
                if day <= gen.horizon and (ongoing or day <= end):
                    brp.set(day, location, "institution")
                    registered = True
            if ongoing:
                return None
            if (registered or rng.random() < 0.3) and end + 1 <= gen.horizon:  # a new woonadres after the stay
                brp.set(end + 1, location if rng.random() < 0.5 else self.move_muni(region), "woonadres")
            r = rng.random()
            first = False
            if product == "BW-INTRA" and r < 0.30:  # step-down to begeleid wonen the next day (reentry)
                product, duration_key, t = "BEGELEID", "STEP-DOWN", end + 1
                continue
            if r < 0.45:  # re-entry within a year
                t = end + rng.randint(14, 365)
                product = duration_key = ("BW-INTRA", "BW-NABIJ", "BEGELEID")[rng.randrange(3)]
                if rng.random() < 0.2 and brp.woon is not None:  # back in the home region
                    region = REGION_OF[brp.woon]
                if rng.random() < 0.5 and t - end > 2:
                    self.apply(region, t, brp.woon or CENTRUM[region], 1, min(60, t - end - 1))
                continue
            if r < 0.50:  # back after more than a year: a new episode
                return end + rng.randint(366, 900)
            return None
        return None

    def mo(self, t: int) -> tuple[int | None, str]:
        """Opvang episodes (repeated); some continue into beschermd wonen."""
        rng, gen, brp = self.rng, self.gen, self.brp
        for _ in range(6):
            if t > gen.horizon:
                break
            region = self.care_region()
            room = t - 1 - brp.next_free
            r = rng.random()
            if room > 30 and r < 0.55:
                if r < 0.35:
                    brp.set(t - rng.randint(0, min(120, room)), CENTRUM[region], "briefadres")
                elif r < 0.47:
                    brp.unregister(t - rng.randint(0, min(120, room)))
                else:
                    brp.set(t - rng.randint(30, min(400, room)), "", "abroad")
            product = "MO-NACHT" if rng.random() < 0.45 else "MO-24"
            end = t + self.days(product) - 1
            ongoing = end > gen.horizon
            if rng.random() < 0.5:
                self.apply(region, t, CENTRUM[region], 0, 10)
            self.place(product, region, t, None if ongoing else end, location=CENTRUM[region]
                       if rng.random() < 0.8 else None)
            if ongoing:
                return None, "MO"
            if rng.random() < 0.6 and end + 1 <= gen.horizon:
                brp.set(end + 1, self.move_muni(region), "woonadres")
            if rng.random() < 0.18:  # from the shelter into beschermd wonen
                start = end + rng.randint(1, 60)
                if start <= gen.horizon:
                    return self.bw(start, region=region), "BW"
                return None, "MO"
            t = end + rng.randint(20, 500)
        return None, "MO"

    def wmo(self, t: int) -> tuple[int | None, str]:
        """Thuis Plus: paid day by day by the woonadres municipality; moves split the month."""
        rng, gen, brp = self.rng, self.gen, self.brp
        region = self.care_region()
        reported = self.before(t, region, vangnet_ok=rng.random() < 0.3)
        if reported is not None:
            self.apply(region, t, reported)
        end = t + self.days("THUIS-PLUS") - 1
        ongoing = end > gen.horizon
        self.place("THUIS-PLUS", region, t, None if ongoing else end, "PGB" if rng.random() < 0.1 else "ZIN")
        last = min(end, gen.horizon)
        if rng.random() < 0.35 and last - t > 10:  # a move during the support
            day = t + rng.randint(2, last - t)
            if rng.random() < 0.15:
                brp.unregister(day - rng.randint(1, 3))
            brp.set(day, self.move_muni(REGION_OF[brp.woon] if brp.woon else region), "woonadres")
        if ongoing:
            return None, "WMO"
        if rng.random() < 0.15:
            return end + rng.randint(30, 400), "BW"
        return None, "WMO"


def _next_month(first_day: int) -> int:
    d = date.fromordinal(first_day)
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1).toordinal()


def generate(out: Path | str, clients: int = DEFAULT_CLIENTS, seed: int = DEFAULT_SEED) -> Summary:
    """Write the synthetic dataset of `clients` clients to directory `out`; returns a summary."""
    if clients < 1:
        raise ValueError("clients must be at least 1")
    return _Generator(Path(out), clients, seed).run()


def main(argv: list[str] | None = None) -> int:
    import argparse
    import time
    parser = argparse.ArgumentParser(prog="python -m settlement.synth", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=DEFAULT_CLIENTS)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    summary = generate(args.out, args.clients, args.seed)
    print(f"{args.out}: {summary.text()} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
