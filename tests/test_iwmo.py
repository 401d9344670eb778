"""iWmo declarations in (`settle import-iwmo`, settlement.iwmo): hand-written WMO323 and WMO325
messages of the iWmo 3.2 structure, imported into a small dataset, the amounts worked out by hand.

The dataset is tests.test_build.SMALL (region noord, centrumgemeente Assen 0106) with an iWmo
product code per product (BW-INTRA 15B01, category 15; MO 16A01, category 16) and placement P1
(client C1, BW-INTRA from 2024-02-01) carrying toewijzing 1001; P2 (client C2, BW-INTRA from
2024-03-11) has no toewijzing number and is found by BSN, product code and period. The provider
has AGB code 12345678 and sends its declarations to 0106. Amounts in a message are eurocents
(IV024): 13000 is 130.00.
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from settlement import iwmo
from settlement.cli import main
from settlement.loader import LoadError, load_dir
from tests.test_build import SMALL

BSN = {"C1": "999994943", "C2": "999999242", "C3": "999992302"}
BAD_BSN = "123456789"  # 9x1+8x2+7x3+6x4+5x5+4x6+3x7+2x8-1x9 = 147 = 13x11 + 4: fails the 11-proef
B, M = "http://www.istandaarden.nl/iwmo/3_2/basisschema/schema", "http://www.istandaarden.nl/iwmo/3_2/wmo323/schema"
A = "http://www.istandaarden.nl/iwmo/3_2/wmo325/schema"


def dataset(tmp_path, declarations: str | None = None):
    d = tmp_path / "data"
    d.mkdir(parents=True)
    for name, text in SMALL.items():
        if name == "products.csv":
            text = ("product,name,domain,bw_definition,unit,iwmo_category,iwmo_product_code\n"
                    "BW-INTRA,Beschermd wonen intramuraal,BW,true,day,15,15B01\n"
                    "THUIS,Thuis Plus,WMO,false,month,02,\n"
                    "MO,Nachtopvang,MO,false,day,16,16A01\n")
        if name == "placements.csv":
            rows = text.splitlines()
            text = "\n".join([rows[0] + ",toewijzing"] + [r + (",1001" if r.startswith("P1,") else ",")
                                                           for r in rows[1:]]) + "\n"
        (d / name).write_text(text, encoding="utf-8")
    if declarations is not None:
        (d / "declarations.csv").write_text(declarations, encoding="utf-8")
    return d


def prestatie(ref, client, start, end, volume, tariff, dc="D", prev=None, toewijzing=1001, code="15B01",
              category="15", unit="14", amount=None):
    return {"ref": ref, "client": client, "prev": prev, "toewijzing": toewijzing, "category": category, "code": code,
            "start": start, "end": end, "volume": volume, "unit": unit, "tariff": tariff,
            "amount": volume * tariff if amount is None else amount, "dc": dc}


def _prestatie_xml(p, ns, codes=None):
    prev = f"\n<iwmo:VorigReferentieNummer>{p['prev']}</iwmo:VorigReferentieNummer>" if p["prev"] else ""
    ret = ("\n<{0}:RetourCodes>" + "".join(f"<{{0}}:RetourCode>{c}</{{0}}:RetourCode>" for c in codes)
           + "</{0}:RetourCodes>").format(ns) if codes else ""
    return f"""<{ns}:Prestatie>
<{ns}:ProductReferentie><iwmo:ReferentieNummer>{p['ref']}</iwmo:ReferentieNummer>{prev}</{ns}:ProductReferentie>
<{ns}:ToewijzingNummer>{p['toewijzing']}</{ns}:ToewijzingNummer>
<{ns}:ProductCategorie>{p['category']}</{ns}:ProductCategorie>
<{ns}:ProductCode>{p['code']}</{ns}:ProductCode>
<{ns}:ProductPeriode><iwmo:Begindatum>{p['start']}</iwmo:Begindatum><iwmo:Einddatum>{p['end']}</iwmo:Einddatum></{ns}:ProductPeriode>
<{ns}:GeleverdVolume>{p['volume']}</{ns}:GeleverdVolume>
<{ns}:Eenheid>{p['unit']}</{ns}:Eenheid>
<{ns}:ProductTarief>{p['tariff']}</{ns}:ProductTarief>
<{ns}:IngediendBedrag><iwmo:Bedrag>{p['amount']}</iwmo:Bedrag><iwmo:DebetCredit>{p['dc']}</iwmo:DebetCredit></{ns}:IngediendBedrag>{ret}
</{ns}:Prestatie>"""


def _clients(prestaties, ns, codes=None):
    out = []
    for client in dict.fromkeys(p["client"] for p in prestaties):
        bsn = BSN.get(client, client)
        body = "\n".join(_prestatie_xml(p, ns, codes and codes[p["ref"]]) for p in prestaties if p["client"] == client)
        ret = f"\n<{ns}:RetourCodes><{ns}:RetourCode>0200</{ns}:RetourCode></{ns}:RetourCodes>" if codes else ""
        out.append(f"<{ns}:Client>\n<{ns}:Bsn>{bsn}</{ns}:Bsn>\n<{ns}:Prestaties>\n{body}\n</{ns}:Prestaties>{ret}\n"
                   f"</{ns}:Client>")
    return "\n".join(out)


def wmo323(number, period, prestaties, message=None, total=None):
    """A WMO323 of provider 12345678 to 0106; `total`: the TotaalIngediendBedrag in signed cents
    (default: the debits minus the credits)."""
    if total is None:
        total = sum(p["amount"] * (1 if p["dc"] == "D" else -1) for p in prestaties)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<wmo323:Bericht xmlns:iwmo="{B}" xmlns:wmo323="{M}">
<wmo323:Header>
<wmo323:BerichtCode>484</wmo323:BerichtCode>
<wmo323:BerichtVersie>3</wmo323:BerichtVersie>
<wmo323:BerichtSubversie>2</wmo323:BerichtSubversie>
<wmo323:Afzender>12345678</wmo323:Afzender>
<wmo323:Ontvanger>0106</wmo323:Ontvanger>
<wmo323:BerichtIdentificatie><iwmo:Identificatie>{message or 'M' + number}</iwmo:Identificatie><iwmo:Dagtekening>{period[1]}</iwmo:Dagtekening></wmo323:BerichtIdentificatie>
<wmo323:XsdVersie><iwmo:BasisschemaXsdVersie>1.0.0</iwmo:BasisschemaXsdVersie><iwmo:BerichtXsdVersie>1.0.0</iwmo:BerichtXsdVersie></wmo323:XsdVersie>
</wmo323:Header>
<wmo323:Declaratie>
<wmo323:DeclaratieNummer>{number}</wmo323:DeclaratieNummer>
<wmo323:DeclaratiePeriode><iwmo:Begindatum>{period[0]}</iwmo:Begindatum><iwmo:Einddatum>{period[1]}</iwmo:Einddatum></wmo323:DeclaratiePeriode>
<wmo323:DeclaratieDagtekening>{period[1]}</wmo323:DeclaratieDagtekening>
<wmo323:TotaalIngediendBedrag><iwmo:TotaalBedrag>{abs(total)}</iwmo:TotaalBedrag><iwmo:DebetCredit>{'C' if total < 0 else 'D'}</iwmo:DebetCredit></wmo323:TotaalIngediendBedrag>
<wmo323:Clienten>
{_clients(prestaties, 'wmo323')}
</wmo323:Clienten>
</wmo323:Declaratie>
</wmo323:Bericht>
"""


def wmo325(number, granted, rejected, answer_codes=("0200",), header_codes=("0200",), submitted=None):
    """The answer of 0106 to declaration `number` (message M<number>); `rejected`: (prestatie,
    return codes) of the prestaties it rejects."""
    codes = {p["ref"]: c for p, c in rejected}
    clients = (f"<wmo325:Clienten>\n{_clients([p for p, _ in rejected], 'wmo325', codes)}\n</wmo325:Clienten>\n"
               if rejected else "")
    ret = "".join(f"<wmo325:RetourCode>{c}</wmo325:RetourCode>" for c in answer_codes)
    hret = "".join(f"<wmo325:RetourCode>{c}</wmo325:RetourCode>" for c in header_codes)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<wmo325:Bericht xmlns:iwmo="{B}" xmlns:wmo325="{A}">
<wmo325:Header>
<wmo325:BerichtCode>485</wmo325:BerichtCode>
<wmo325:BerichtVersie>3</wmo325:BerichtVersie>
<wmo325:BerichtSubversie>2</wmo325:BerichtSubversie>
<wmo325:Afzender>0106</wmo325:Afzender>
<wmo325:Ontvanger>12345678</wmo325:Ontvanger>
<wmo325:BerichtIdentificatie><iwmo:Identificatie>A{number}</iwmo:Identificatie><iwmo:Dagtekening>2024-04-10</iwmo:Dagtekening></wmo325:BerichtIdentificatie>
<wmo325:XsdVersie><iwmo:BasisschemaXsdVersie>1.0.0</iwmo:BasisschemaXsdVersie><iwmo:BerichtXsdVersie>1.0.0</iwmo:BerichtXsdVersie></wmo325:XsdVersie>
<wmo325:DeclaratieIdentificatie><iwmo:Identificatie>M{number}</iwmo:Identificatie><iwmo:Dagtekening>2024-03-31</iwmo:Dagtekening></wmo325:DeclaratieIdentificatie>
<wmo325:XsdVersieDeclaratie><iwmo:BasisschemaXsdVersie>1.0.0</iwmo:BasisschemaXsdVersie><iwmo:BerichtXsdVersie>1.0.0</iwmo:BerichtXsdVersie></wmo325:XsdVersieDeclaratie>
<wmo325:RetourCodes>{hret}</wmo325:RetourCodes>
</wmo325:Header>
<wmo325:DeclaratieAntwoord>
<wmo325:DeclaratieNummer>{number}</wmo325:DeclaratieNummer>
<wmo325:TotaalIngediendBedrag><iwmo:TotaalBedrag>{submitted if submitted is not None else granted}</iwmo:TotaalBedrag><iwmo:DebetCredit>D</iwmo:DebetCredit></wmo325:TotaalIngediendBedrag>
<wmo325:TotaalToegekendBedrag><iwmo:TotaalBedrag>{granted}</iwmo:TotaalBedrag><iwmo:DebetCredit>D</iwmo:DebetCredit></wmo325:TotaalToegekendBedrag>
{clients}<wmo325:RetourCodes>{ret}</wmo325:RetourCodes>
</wmo325:DeclaratieAntwoord>
</wmo325:Bericht>
"""


def line_of(text: str, reference: str) -> int:
    """The line of the <...:Prestatie> element holding `reference`, counted in the text."""
    lines = text.splitlines()
    at = next(i for i, l in enumerate(lines) if f"<iwmo:ReferentieNummer>{reference}<" in l)
    return next(i for i in range(at, -1, -1) if lines[i].endswith(":Prestatie>")) + 1


def write(folder, name, text):
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def imports(data, *files, code=0):
    r = CliRunner().invoke(main, ["import-iwmo", *map(str, files), "--into", str(data)], catch_exceptions=False)
    assert r.exit_code == code, r.output
    return r.output


def rows(data) -> dict[tuple[str, str], str]:
    lines = (data / "declarations.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "placement,month,amount"
    return {tuple(l.split(",")[:2]): l.split(",")[2] for l in lines[1:]}


MARCH, APRIL = ("2024-03-01", "2024-03-31"), ("2024-04-01", "2024-04-30")
# P1's March: 29 etmalen at 130.00 = 3,770.00 (RN1)
RN1 = prestatie("RN1", "C1", "2024-03-01", "2024-03-29", 29, 13000)


def test_a_correction_alone_is_a_difference_to_the_month_it_corrects(tmp_path):
    data = dataset(tmp_path)
    msgs = tmp_path / "msgs"
    march = write(msgs, "dn1.xml", wmo323("DN1", MARCH, [RN1]))
    out = imports(data, march)
    assert rows(data) == {("P1", "2024-03"): "3770.00"}
    assert "dn1.xml: WMO323 declaration DN1 (provider 12345678, municipality 0106): 1 prestaties, 1 taken, 0 refused" in out
    # In April's declaration the provider corrects March: RN1 credited (-3,770.00) and declared
    # again as 28 etmalen (RN2: 28 x 130.00 = 3,640.00), and declares April (RN3: 30 x 130.00 =
    # 3,900.00). The message's total: -3,770.00 + 3,640.00 + 3,900.00 = 3,770.00 D.
    correction = [prestatie("RN1C", "C1", "2024-03-01", "2024-03-29", 29, 13000, dc="C", prev="RN1"),
                  prestatie("RN2", "C1", "2024-03-01", "2024-03-28", 28, 13000),
                  prestatie("RN3", "C1", "2024-04-01", "2024-04-30", 30, 13000)]
    april = write(msgs, "dn2.xml", wmo323("DN2", APRIL, correction))
    assert "<iwmo:TotaalBedrag>377000</iwmo:TotaalBedrag><iwmo:DebetCredit>D<" in april.read_text()
    out = imports(data, april)  # the correction alone: its March part is -130.00, a difference
    # March: 3,770.00 - 3,770.00 + 3,640.00 = 3,640.00 (the product period's month, not April's);
    # April: 3,900.00
    assert rows(data) == {("P1", "2024-03"): "3640.00", ("P1", "2024-04"): "3900.00"}
    assert "P1 2024-03: 3770.00 -> 3640.00" in out and "3 prestaties, 3 taken, 0 refused" in out
    # importing both again changes nothing (each prestatie is taken once, by its reference number)
    out = imports(data, march, april)
    assert rows(data) == {("P1", "2024-03"): "3640.00", ("P1", "2024-04"): "3900.00"}
    assert "1 prestaties, 0 taken, 1 imported before, 0 refused" in out and "0 new, 0 changed" in out


def test_a_month_credited_in_full_is_an_explicit_zero(tmp_path):
    data = dataset(tmp_path)
    msgs = tmp_path / "msgs"
    first = write(msgs, "dn1.xml", wmo323("DN1", MARCH, [RN1]))
    # the whole of March credited, nothing declared again: 3,770.00 - 3,770.00 = 0.00
    credit = write(msgs, "dn2.xml", wmo323("DN2", APRIL, [
        prestatie("RN1C", "C1", "2024-03-01", "2024-03-29", 29, 13000, dc="C", prev="RN1")]))
    assert "<iwmo:TotaalBedrag>377000</iwmo:TotaalBedrag><iwmo:DebetCredit>C<" in credit.read_text()
    imports(data, first, credit)
    assert rows(data) == {("P1", "2024-03"): "0.00"}  # a row, not a missing one (the tariff would apply)


def test_a_credit_of_a_prestatie_never_imported_is_refused_not_written_as_the_month(tmp_path):
    data = dataset(tmp_path, "placement,month,amount\nP1,2024-03,3770.00\n")
    text = wmo323("DN2", APRIL, [prestatie("RN1C", "C1", "2024-03-01", "2024-03-29", 29, 13000, dc="C", prev="RN1")])
    out = imports(data, write(tmp_path / "m", "dn2.xml", text))
    assert f"refused: {tmp_path / 'm' / 'dn2.xml'}:{line_of(text, 'RN1C')}: declaration DN2, prestatie RN1C: " \
           "credits prestatie RN1, which was not imported" in out
    assert rows(data) == {("P1", "2024-03"): "3770.00"}  # the row by hand, untouched


def test_a_rejected_prestatie_is_dropped(tmp_path):
    data = dataset(tmp_path)
    # P1 March 3,770.00 (by toewijzing 1001); P2 from 2024-03-11: 21 etmalen x 130.00 = 2,730.00,
    # found by C2's BSN, product code 15B01 and the period (no toewijzing number on P2)
    p2 = prestatie("RN9", "C2", "2024-03-11", "2024-03-31", 21, 13000, toewijzing=2002)
    msgs = tmp_path / "msgs"
    d = write(msgs, "dn1.xml", wmo323("DN1", MARCH, [RN1, p2]))
    imports(data, d)
    assert rows(data) == {("P1", "2024-03"): "3770.00", ("P2", "2024-03"): "2730.00"}  # no answer yet: both count
    # 0106 rejects RN9 (9307: the begin date lies outside the toewijzing) and grants 3,770.00
    answer = write(msgs, "an1.xml", wmo325("DN1", 377000, [(p2, ["9307"])], submitted=650000))
    out = imports(data, d, answer)
    assert rows(data) == {("P1", "2024-03"): "3770.00"}  # P2's only prestatie rejected: its row goes
    assert "an1.xml: WMO325 answer to declaration DN1 (municipality 0106, provider 12345678): 1 prestaties rejected" in out
    assert "1 removed" in out
    ledger = (data / "iwmo" / "prestaties.csv").read_text(encoding="utf-8")
    assert "RN9,,P2,2024-03,2730.00,rejected,9307" in ledger and "RN1,,P1,2024-03,3770.00,accepted," in ledger
    assert not re.search(r"[0-9]{9}", ledger)  # no BSN in the ledger


def test_a_declaration_rejected_as_a_whole_counts_for_nothing(tmp_path):
    data = dataset(tmp_path)
    msgs = tmp_path / "msgs"
    d = write(msgs, "dn1.xml", wmo323("DN1", MARCH, [RN1]))
    answer = write(msgs, "an1.xml", wmo325("DN1", 0, [], answer_codes=("9333",), submitted=377000))
    imports(data, d, answer)
    assert rows(data) == {}


def test_an_unmatched_prestatie_is_reported_with_file_number_and_line_never_guessed(tmp_path):
    data = dataset(tmp_path)
    # C3 has placement P3 of THUIS (no iWmo product code), so a BW prestatie 15B01 of C3 without a
    # known toewijzing matches nothing; product code 99X99 is nobody's.
    unmatched = prestatie("RN5", "C3", "2024-03-01", "2024-03-31", 31, 13000, toewijzing=7777)
    unknown = prestatie("RN6", "C1", "2024-03-01", "2024-03-31", 31, 13000, toewijzing=8888, code="99X99")
    text = wmo323("DN5", MARCH, [RN1, unmatched, unknown])
    f = write(tmp_path / "msgs", "dn5.xml", text)
    out = imports(data, f)
    assert f"refused: {f}:{line_of(text, 'RN5')}: declaration DN5, prestatie RN5: no placement has toewijzing 7777, " \
           "and the declaration's client 2 has no placement of a product with iwmo_product_code 15B01 over " \
           "2024-03-01..2024-03-31" in out
    assert f"refused: {f}:{line_of(text, 'RN6')}: declaration DN5, prestatie RN6: no placement has toewijzing 8888, " \
           "and ProductCode 99X99 is no product's iwmo_product_code in products.csv (an unknown product)" in out
    # RN6 is the second prestatie of client 1 (C1, with RN1), RN5 that of client 2: refusals in line order
    assert line_of(text, "RN6") < line_of(text, "RN5") and out.index("prestatie RN6") < out.index("prestatie RN5")
    assert "3 prestaties, 1 taken, 2 refused" in out and "total: 1 prestaties taken, 2 refused" in out
    assert rows(data) == {("P1", "2024-03"): "3770.00"}


def test_a_bsn_failing_the_11_proef_is_refused_and_never_printed(tmp_path):
    data = dataset(tmp_path)
    bad = prestatie("RN7", BAD_BSN, "2024-03-01", "2024-03-31", 31, 13000)
    text = wmo323("DN7", MARCH, [RN1, bad])
    assert BAD_BSN in text
    f = write(tmp_path / "msgs", "dn7.xml", text)
    out = imports(data, f)
    assert f"{f}:{line_of(text, 'RN7')}: declaration DN7, prestatie RN7: the BSN of the declaration's client 2 is " \
           "not a valid BSN" in out
    assert BAD_BSN not in out and not any(b in out for b in BSN.values())
    assert rows(data) == {("P1", "2024-03"): "3770.00"}


def test_a_wrong_total_refuses_the_declaration(tmp_path):
    data = dataset(tmp_path)
    text = wmo323("DN8", MARCH, [RN1], total=377100)  # 3,771.00 declared in total; the prestatie: 3,770.00
    f = write(tmp_path / "msgs", "dn8.xml", text)
    out = imports(data, f)
    total_line = next(i for i, l in enumerate(text.splitlines(), 1) if "TotaalIngediendBedrag" in l)
    assert f"refused: {f}:{total_line}: declaration DN8: TotaalIngediendBedrag 3771.00 D is not the sum of its " \
           "prestaties, 3770.00 D (debits minus credits); the whole declaration is refused" in out
    assert rows(data) == {}


def test_tr346_the_amount_is_volume_times_tariff(tmp_path):
    data = dataset(tmp_path)
    wrong = prestatie("RN1", "C1", "2024-03-01", "2024-03-29", 29, 13000, amount=380000)  # 29 x 130.00 = 3,770.00
    out = imports(data, write(tmp_path / "m", "d.xml", wmo323("DN1", MARCH, [wrong])))
    assert "IngediendBedrag 3800.00 is not GeleverdVolume 29 x ProductTarief 130.00 = 3770.00 (TR346)" in out


@pytest.mark.parametrize("text, says", [
    ('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "aaaa">]>\n<x>&a;</x>', ":2: refused as a whole: has a DOCTYPE"),
    ("<x>not closed", ":1: refused as a whole: is not well-formed XML"),
    (f'<Bericht xmlns="{M}"><Header><BerichtCode>484</BerichtCode><BerichtVersie>3</BerichtVersie>'
     '<BerichtSubversie>1</BerichtSubversie></Header></Bericht>', ":1: refused as a whole: BerichtSubversie '1' is not 2 (iWmo release 3.2)"),
    ('<Bericht xmlns="urn:other"/>', ":1: refused as a whole: is not an iWmo 3.2 WMO323 or WMO325 message"),
])
def test_a_message_that_is_not_one_is_refused_as_a_whole(tmp_path, text, says):
    data = dataset(tmp_path)
    good = write(tmp_path / "m", "a.xml", wmo323("DN1", MARCH, [RN1]))
    out = imports(data, good, write(tmp_path / "m", "b.xml", text))
    assert f"b.xml{says}" in out
    assert rows(data) == {("P1", "2024-03"): "3770.00"}  # the good message is taken


def test_the_dataset_must_load_and_the_files_exist(tmp_path):
    data = dataset(tmp_path)
    (data / "clients.csv").write_text("client,bsn\nC1,123456789\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["import-iwmo", str(write(tmp_path / "m", "a.xml", "<x/>")), "--into", str(data)])
    assert r.exit_code == 2 and "nothing was stored" in r.output and not (data / "declarations.csv").exists()
    r = CliRunner().invoke(main, ["import-iwmo", str(tmp_path / "none.xml"), "--into", str(dataset(tmp_path / "x"))])
    assert r.exit_code == 2 and "no such file; nothing was written" in r.output


def test_the_loader_reads_the_new_columns(tmp_path):
    ds, _ = load_dir(dataset(tmp_path))
    assert ds.placements["P1"].toewijzing == "1001" and ds.placements["P2"].toewijzing is None
    assert ds.products["BW-INTRA"].iwmo_product_code == "15B01" and ds.products["THUIS"].iwmo_category == "02"
    bad = dataset(tmp_path / "bad")
    products = (bad / "products.csv").read_text().replace("BW,true,day,15,", "BW,true,day,02,")
    (bad / "products.csv").write_text(products.replace("16,16A01", "16,16-A01"))
    (bad / "placements.csv").write_text((bad / "placements.csv").read_text().replace(",1001", ",10x1"))
    with pytest.raises(LoadError) as e:
        load_dir(bad)
    text = "\n".join(e.value.problems)
    assert "products.csv:2: iwmo_category:" in text  # 02 (begeleiding) is a WMO category, not one of a BW product
    assert "products.csv:4: iwmo_product_code: 16-A01 is not an iWmo product code" in text
    assert "placements.csv:2: toewijzing: 10x1 is not a toewijzing number" in text


def test_round_trip_messages_import_load_run_give_the_declared_amounts(db_url, tmp_path):
    data = dataset(tmp_path)
    msgs = tmp_path / "msgs"
    write(msgs, "dn1.xml", wmo323("DN1", MARCH, [RN1]))
    write(msgs, "dn2.xml", wmo323("DN2", APRIL, [
        prestatie("RN1C", "C1", "2024-03-01", "2024-03-29", 29, 13000, dc="C", prev="RN1"),
        prestatie("RN2", "C1", "2024-03-01", "2024-03-28", 28, 13000)]))
    imports(data, msgs)  # the folder: its *.xml
    assert rows(data) == {("P1", "2024-03"): "3640.00"}

    def settle(*args):
        r = CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)
        assert r.exit_code == 0, r.output
        return r.output
    settle("init")
    settle("load", str(data))
    settle("run", "--month", "2024-03")
    export = json.loads(settle("export", "--month", "2024-03"))
    lines = {line["placement"]: line for line in export["lines"]}
    # P1: declared 3,770.00 - 3,770.00 + 3,640.00 = 3,640.00 replaces the tariff's 31 x 100.00 = 3,100.00;
    # P2 (not declared) keeps the tariff: 21 days x 100.00 = 2,100.00 (tests/test_build.py)
    assert lines["P1"]["amount"] == "3640.00" and lines["P2"]["amount"] == "2100.00"
    # the snapshot keeps the toewijzing numbers and product codes: its stored facts give its hash again
    settle("finalize", "--month", "2024-03")
    assert "2024-03 verifies" in settle("verify", "--month", "2024-03")
    blank = dataset(tmp_path / "blank")  # the same facts without P1's toewijzing number: another snapshot
    (blank / "placements.csv").write_text((blank / "placements.csv").read_text().replace(",1001", ","))
    assert load_dir(blank)[0].input_hash != load_dir(dataset(tmp_path / "again"))[0].input_hash


def test_the_conversion_is_pure_and_the_month_is_the_product_periods(tmp_path):
    from settlement.facts import Declaration
    ds, _ = load_dir(dataset(tmp_path))
    # declared in April's declaration (DeclaratiePeriode 2024-04), delivered in March: month 2024-03
    late = iwmo.parse(wmo323("DN3", APRIL, [RN1]).encode())
    assert isinstance(late, iwmo.Declaratie) and late.period[0].month == 4 and late.prestaties[0].start.month == 3
    first = iwmo.convert(ds, [late], [])
    assert first.declarations == [Declaration("P1", "2024-03", 377000)] and first.refusals == []
    # given the ledger of that conversion, a correction alone: 377000 - 377000 + 28 x 13000 = 364000
    fix = iwmo.parse(wmo323("DN4", APRIL, [
        prestatie("RN1C", "C1", "2024-03-01", "2024-03-29", 29, 13000, dc="C", prev="RN1"),
        prestatie("RN2", "C1", "2024-03-01", "2024-03-28", 28, 13000)]).encode())
    assert sum(x.amount for x in fix.prestaties) == -13000  # the message alone: -130.00
    second = iwmo.convert(ds, [fix], [], first.ledger)
    assert second.declarations == [Declaration("P1", "2024-03", 364000)]
    # without that ledger the credit is refused, and the month's other prestatie held back with it:
    # RN2 alone (3,640.00) is not the month's amount either; nothing is guessed
    alone = iwmo.convert(ds, [fix], [])
    assert sorted(r.reference for r in alone.refusals) == ["RN1C", "RN2"] and alone.declarations == []
    assert "held back with credit RN1C" in str(next(r for r in alone.refusals if r.reference == "RN2"))


def test_an_answer_must_answer_an_imported_declaration_and_grant_what_it_does_not_reject(tmp_path):
    data = dataset(tmp_path)
    msgs = tmp_path / "msgs"
    d = write(msgs, "dn1.xml", wmo323("DN1", MARCH, [RN1]))
    stray = write(msgs, "an9.xml", wmo325("DN9", 0, []))  # answers message MDN9: never imported
    # DN1 has one prestatie, 3,770.00, and the answer rejects none: it must grant 3,770.00, not 3,000.00
    wrong = write(msgs, "an1.xml", wmo325("DN1", 300000, [], submitted=377000))
    out = imports(data, d, stray, wrong)
    assert f"{stray}:1: declaration DN9: answers the declaration message MDN9 of provider 12345678, of which no " \
           "prestatie was imported" in out
    assert f"{wrong}:1: declaration DN1: TotaalToegekendBedrag 3000.00 D is not the sum of the prestaties it does " \
           "not reject, 3770.00 D; not applied" in out
    assert rows(data) == {("P1", "2024-03"): "3770.00"}
    assert ",accepted," not in (data / "iwmo" / "prestaties.csv").read_text()  # still without an answer


def test_a_toewijzing_of_another_clients_placement_is_refused(tmp_path):
    data = dataset(tmp_path)
    # toewijzing 1001 is P1's, of C1; the prestatie is of C2
    text = wmo323("DN1", MARCH, [prestatie("RN1", "C2", "2024-03-11", "2024-03-31", 21, 13000)])
    f = write(tmp_path / "m", "d.xml", text)
    out = imports(data, f)
    assert f"{f}:{line_of(text, 'RN1')}: declaration DN1, prestatie RN1: toewijzing 1001 is placement P1's, of " \
           "client C1, whose BSN is not the BSN of the declaration's client 1" in out
    assert rows(data) == {}
