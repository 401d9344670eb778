"""The catalogue of legal and agreement sources a rule rests on (after poc-machine-law's
`legal_basis`): a trace names a source by its KEY only, and `explain`, the dossier and the
documents render it at read time (`text`), so that a corrected citation or a new wording never
changes a stored trace (docs/TRACE.md, "References").

Each entry: `sources`, the documents it cites, each with `document`, `section` (article or
paragraph), `lid` (sub-clause, where there is one), `url` (where one exists) and `valid_from`
(the first day the source holds, where known); and `text`, the citation as one line of prose
(Dutch, as the documents cite it). VERSION changes whenever a text or a source changes; a run's
receipt records the version it was rendered with, outside the lines hash.
"""

from __future__ import annotations

from typing import Any

VERSION = "1"

_RULES = "RULES.md"
_WV = "wetsvoorstel 36288"
_WV_URL = "https://zoek.officielebekendmakingen.nl/kst-36288-2.html"
_WMO = "Wet maatschappelijke ondersteuning 2015"
_WMO_URL = "https://wetten.overheid.nl/BWBR0035362/"
_ZOD = "Regiovisie Zuidoost-Drenthe"
_IJV = "Regiovisie IJssel-Vecht"
_LEIDEN = "Leidse Regio, bouwstenen"


def _src(document: str, section: str | None = None, lid: str | None = None, url: str | None = None,
         valid_from: str | None = None) -> dict[str, Any]:
    return {"document": document, "section": section, "lid": lid, "url": url, "valid_from": valid_from}


CATALOGUE: dict[str, dict[str, Any]] = {
    "rules/ruling": {
        "sources": [_src(_RULES, "§4.0"), _src(_ZOD, "§7.3"), _src(_IJV, "§4.4")],
        "text": "RULES.md §4.0 (uitspraak van de geschillencommissie); Regiovisie Zuidoost-Drenthe §7.3; Regiovisie IJssel-Vecht §4.4"},
    "rules/dispute": {
        "sources": [_src(_RULES, "§4.0"), _src(_ZOD, "§7", "§7.3"), _src(_IJV, "§4.4")],
        "text": "RULES.md §4.0 (geschil aanhangig); Regiovisie Zuidoost-Drenthe §7 en §7.3; Regiovisie IJssel-Vecht §4.4"},
    "rules/amount": {
        "sources": [_src(_RULES, "§3")],
        "text": "RULES.md §3 (kosten per plaatsing-maand; tarief, declaratie, afronding)"},
    "rules/mo": {
        "sources": [_src(_RULES, "§4.1"), _src(_WV, "art. 1.2.1 sub b Wmo 2015", url=_WV_URL),
                    _src(_LEIDEN, "bouwsteen 5d")],
        "text": "RULES.md §4.1; wetsvoorstel 36288 (wijzigt alleen art. 1.2.1 sub b Wmo 2015); Leidse Regio bouwsteen 5d"},
    "rules/status": {
        "sources": [_src(_RULES, "§4.2"), _src(_ZOD, "§14.2"), _src(_IJV, "voetnoot 5")],
        "text": "RULES.md §4.2; Regiovisie Zuidoost-Drenthe §14.2; Regiovisie IJssel-Vecht voetnoot 5"},
    "rules/historic": {
        "sources": [_src(_RULES, "§4.3"), _src(_IJV, "§4.1.2"), _src(_ZOD, "§5.3")],
        "text": "RULES.md §4.3; Regiovisie IJssel-Vecht §4.1.2; Regiovisie Zuidoost-Drenthe §5.3"},
    "rules/reentry": {
        "sources": [_src(_WV, "art. 1.2.1a", "lid 1 sub a", _WV_URL), _src(_RULES, "§4.4 regel 1")],
        "text": "wetsvoorstel 36288, art. 1.2.1a lid 1 sub a; RULES.md §4.4 regel 1"},
    "rules/woonplaats": {
        "sources": [_src(_WV, "art. 1.2.1a", "lid 1", _WV_URL), _src(_RULES, "§4.4 regel 2")],
        "text": "wetsvoorstel 36288, art. 1.2.1a lid 1 (woonplaatsbeginsel); RULES.md §4.4 regel 2"},
    "rules/woonplaats_before_institution": {
        "sources": [_src(_WV, "art. 1.2.1a", url=_WV_URL), _src(_RULES, "§4.4 regel 3")],
        "text": ("wetsvoorstel 36288, art. 1.2.1a; RULES.md §4.4 regel 3 "
                 "(adres direct voorafgaand aan het verblijf, als in de Jeugdwet)")},
    "rules/vangnet": {
        "sources": [_src(_RULES, "§4.4 regel 4"), _src(_ZOD, "§5.2"), _src(_LEIDEN, "bouwsteen 5e")],
        "text": "RULES.md §4.4 regel 4; Regiovisie Zuidoost-Drenthe §5.2; Leidse Regio bouwsteen 5e (landelijk vangnet)"},
    "rules/registration": {
        "sources": [_src(_WMO, "art. 1.2.1", url=_WMO_URL, valid_from="2015-01-01"), _src(_RULES, "§4.5"),
                    _src(_ZOD, "§5.3")],
        "text": "Wmo 2015 art. 1.2.1 (woonplaats van de cliënt); RULES.md §4.5; Regiovisie Zuidoost-Drenthe §5.3"},
    "agreements/pool": {
        "sources": [_src(_RULES, "§5.1"), _src(_IJV, "§4.1.2")],
        "text": "RULES.md §5.1; Regiovisie IJssel-Vecht §4.1.2 (solidariteit historisch budget)"},
    "agreements/interregional": {
        "sources": [_src(_RULES, "§5.2"), _src(_ZOD, "§4.2"), _src(_ZOD, "§6.3")],
        "text": "RULES.md §5.2; Regiovisie Zuidoost-Drenthe §4.2 en §6.3 (EAGLE-werkafspraken)"},
    "agreements/no_interregional_agreement": {
        "sources": [_src(_RULES, "§5.2", "laatste alinea")],
        "text": "RULES.md §5.2 (laatste alinea): geen interregionale afspraak; de wet geldt"},
}


def register(key: str, entry: dict[str, Any]) -> None:
    """Add the source of an agreement kind the catalogue does not cite yet (a kind brings its own,
    settlement.agreements); `entry` as the catalogue's: `sources` and `text`."""
    if key in CATALOGUE and CATALOGUE[key] != entry:
        raise ValueError(f"reference {key!r} is already in the catalogue")
    CATALOGUE[key] = {"sources": list(entry.get("sources", [])), "text": entry["text"]}


def text(key: str) -> str:
    """The citation of `key` as one line of prose; a key the catalogue does not know (a trace
    upgraded from a citation no longer in it) is shown as it is."""
    entry = CATALOGUE.get(key)
    return entry["text"] if entry else key


def sources(key: str) -> list[dict[str, Any]]:
    entry = CATALOGUE.get(key)
    return list(entry["sources"]) if entry else []


# The citations traces of format settlement-trace/1 hold, as written by the engine of that format:
# `trace.read` maps them to their keys. Frozen: never edit a text here, add a new one.
V1_TEXTS: dict[str, str] = {
    "RULES.md §3 (kosten per plaatsing-maand; tarief, declaratie, afronding)": "rules/amount",
    "RULES.md §4.1; wetsvoorstel 36288 (wijzigt alleen art. 1.2.1 sub b Wmo 2015); Leidse Regio bouwsteen 5d": "rules/mo",
    "RULES.md §4.2; Regiovisie Zuidoost-Drenthe §14.2; Regiovisie IJssel-Vecht voetnoot 5": "rules/status",
    "RULES.md §4.3; Regiovisie IJssel-Vecht §4.1.2; Regiovisie Zuidoost-Drenthe §5.3": "rules/historic",
    "wetsvoorstel 36288, art. 1.2.1a lid 1 sub a; RULES.md §4.4 regel 1": "rules/reentry",
    "wetsvoorstel 36288, art. 1.2.1a lid 1 (woonplaatsbeginsel); RULES.md §4.4 regel 2": "rules/woonplaats",
    ("wetsvoorstel 36288, art. 1.2.1a; RULES.md §4.4 regel 3 "
     "(adres direct voorafgaand aan het verblijf, als in de Jeugdwet)"): "rules/woonplaats_before_institution",
    "RULES.md §4.4 regel 4; Regiovisie Zuidoost-Drenthe §5.2; Leidse Regio bouwsteen 5e (landelijk vangnet)": "rules/vangnet",
    "Wmo 2015 art. 1.2.1 (woonplaats van de cliënt); RULES.md §4.5; Regiovisie Zuidoost-Drenthe §5.3": "rules/registration",
    "RULES.md §5.1; Regiovisie IJssel-Vecht §4.1.2 (solidariteit historisch budget)": "agreements/pool",
    "RULES.md §5.2; Regiovisie Zuidoost-Drenthe §4.2 en §6.3 (EAGLE-werkafspraken)": "agreements/interregional",
    "RULES.md §5.2 (laatste alinea): geen interregionale afspraak; de wet geldt": "agreements/no_interregional_agreement",
}
