"""Messages the runner builds: PIN blocks and ARQCs checked by the project's software HSM, follow-ups
(reversal field 90, completion), batch totals, field overrides."""

from __future__ import annotations

from datetime import UTC, datetime

import psec.pinblock
import pytest

from hsm_emulator import Hsm
from terminal_agent.scenario import fixtures as fx
from terminal_agent.scenario.messages import BuildContext, BuildError, build, count_total, pin_block
from terminal_agent.scenario.model import Card, Terminal
from terminal_agent.scenario.runner import StanCounter

NOW = datetime(2026, 11, 26, 12, 30, 45, tzinfo=UTC)


def ctx_for(terminal: Terminal, **cards: Card) -> BuildContext:
    return BuildContext(terminal=terminal, cards=cards, next_stan=StanCounter(41), now=lambda: NOW)


@pytest.fixture(scope="module")
def hsm():
    return Hsm()


def test_iso0_pin_block_published_layout():
    # ISO 9564-1 format 0: PIN field 041234FFFFFFFFFF xor PAN field 0000111111111111 (worked example).
    assert psec.pinblock.encode_pinblock_iso_0("1234", "4111111111111111").hex().upper() == "041225EEEEEEEEEE"


def test_pin_block_verifies_in_the_hsm_with_the_fixture_card(hsm):
    from switch.issuer.fixtures import load_fixtures
    from switch.issuer.secrets import compute_card_secrets

    fixtures = load_fixtures()
    term, card = fx.terminal("POS00001"), fx.card("good-visa", "visa")
    iss, _prod = fixtures.issuer_for(card.pan)
    keys = iss["keys"]
    pvv = compute_card_secrets(keys, "pvv", pan=card.pan, pin=card.pin, expiry=card.expiry,
                               service_code=card.service_code).pvv
    tpk, _ = hsm.import_clear_key(term.tpk, "TPK")
    pvk, _ = hsm.import_clear_key(keys["pvk"], "PVK")
    good = pin_block(card.pin, card.pan, term.tpk)
    assert hsm.verify_pin_pvv(tpk=tpk, pvk=pvk, pin_block=good, pan=card.pan, pvki=keys["pvki"], pvv=pvv) == "00"
    wrong = pin_block("9999", card.pan, term.tpk)
    assert hsm.verify_pin_pvv(tpk=tpk, pvk=pvk, pin_block=wrong, pan=card.pan, pvki=keys["pvki"], pvv=pvv) == "01"


@pytest.mark.parametrize("label, scheme", [("good-visa", "visa"), ("good-mc", "mastercard")])
def test_arqc_in_field_55_verifies_in_the_hsm(hsm, label, scheme):
    from switch.wire import decode_icc

    term, card = fx.terminal("POS00001"), fx.card(label, "c")
    assert card.scheme == scheme
    mk, _ = hsm.import_clear_key(card.imk_ac, "MK-AC")
    for arqc, want in (("good", "00"), ("bad", "01")):
        msg = build("purchase", {"card": "c", "amount": "12.34", "arqc": arqc}, ctx_for(term, c=card))
        tags = decode_icc(msg["55"])
        cvr = bytes.fromhex(tags["9F10"])[3:7] if scheme == "visa" else bytes.fromhex(tags["9F10"])[2:8]
        data = "".join(tags[t] for t in ("9F02", "9F03", "9F1A", "95", "5F2A", "9A", "9C", "9F37", "82", "9F36"))
        err, _arpc = hsm.verify_arqc(scheme=scheme, mk_ac=mk, pan=card.pan, psn=card.psn, atc=tags["9F36"],
                                     unpredictable_number=tags["9F37"], transaction_data=data + cvr.hex().upper(),
                                     arqc=tags["9F26"], arc="3030")
        assert err == want, arqc
        assert tags["9F02"] == "000000001234" and tags["5F2A"] == "0682" and tags["9A"] == "261126"


def test_purchase_fields():
    term = Terminal(tid="POS00001", mid="000000000000001", currency="682", tpk="9464DF9DCE8AA82F38E9627FA8F8FD9B")
    card = Card(name="v", pan="4761739001010010", pin="1234", expiry="2812", track2="4761739001010010=28122011")
    ctx = ctx_for(term, v=card)
    msg = build("purchase", {"card": "v", "amount": "12.34", "entry": "magstripe",
                             "fields": {"25": "08", "14": None}}, ctx)
    assert msg["t"] == "0200" and msg["3"] == "000000" and msg["4"] == "000000001234" and msg["11"] == "000042"
    assert msg["7"] == "1126123045" and msg["41"] == "POS00001" and msg["49"] == "682"
    assert msg["22"] == "901" and msg["35"] == card.track2 and "55" not in msg and len(msg["52"]) == 16
    assert msg["25"] == "08" and "14" not in msg
    no_pin = build("refund", {"card": "v", "amount_minor": "500", "pin": False, "entry": "manual"}, ctx)
    assert no_pin["3"] == "200000" and "52" not in no_pin and no_pin["22"] == "012" and "35" not in no_pin
    assert build("cash", {"card": "v", "amount": "50", "entry": "magstripe"}, ctx)["3"] == "010000"
    # IQD has 3 decimals (ISO 4217)
    assert build("purchase", {"card": "v", "amount": "1.5", "currency": "368", "pin": False, "entry": "manual"},
                 ctx)["4"] == "000000001500"
    with pytest.raises(BuildError, match="no tpk"):
        build("purchase", {"card": "v", "amount": "1", "entry": "magstripe"}, ctx_for(Terminal(), v=card))


def test_reversal_and_completion_name_the_original():
    term = Terminal(tid="POS00001", currency="682")
    card = Card(name="v", pan="4761739001010010", entry="manual")
    ctx = ctx_for(term, v=card)
    sale = build("preauth", {"card": "v", "amount": "10", "pin": False}, ctx)
    ctx.records["pa"] = (sale, {"t": "0110", "39": "00", "37": "633012000001", "38": "AB12CD"})
    rev = build("reversal", {"original": "pa", "amount": "4"}, ctx)
    assert rev["t"] == "0400" and rev["90"] == "0100" + sale["11"] + sale["7"] + "00000000001" + "0" * 11
    assert rev["4"] == "000000001000" and rev["95"][:12] == "000000000600" and len(rev["95"]) == 42
    assert rev["37"] == "633012000001" and rev["38"] == "AB12CD" and rev["11"] != sale["11"]
    assert build("reversal", {"original": "pa", "advice": True}, ctx)["t"] == "0420"
    comp = build("completion", {"original": "pa", "amount": "8"}, ctx)
    assert comp["t"] == "0220" and comp["4"] == "000000000800" and comp["38"] == "AB12CD" and comp["90"][:4] == "0100"
    with pytest.raises(BuildError, match="has not run"):
        build("reversal", {"original": "nope"}, ctx)


def test_batch_close_totals_from_approved_steps():
    ctx = ctx_for(Terminal(currency="682"))
    count_total(ctx, "purchase", {"4": "000000001000", "3": "000000"}, {"39": "00"})
    count_total(ctx, "purchase", {"4": "000000000500", "3": "000000"}, {"39": "51"})  # declined: not counted
    count_total(ctx, "refund", {"4": "000000000200", "3": "200000"}, {"39": "00"})
    count_total(ctx, "reversal", {"4": "000000001000", "3": "000000"}, {"39": "00"})
    msg = build("batch_close", {}, ctx)
    # the reversed sale leaves the batch (76/88 net), 77/89 say what was reversed
    assert msg["t"] == "0500" and msg["76"] == "0000000000" and msg["88"] == "0000000000000000"
    assert msg["74"] == "0000000001" and msg["86"] == "0000000000000200"
    assert msg["77"] == "0000000001" and msg["89"] == "0000000000001000"
    assert msg["97"] == "C0000000000000200"
    count_total(ctx, "purchase", {"4": "000000003000", "3": "000000"}, {"39": "00"})
    count_total(ctx, "reversal", {"4": "000000003000", "3": "000000", "95": "000000002000" + "0" * 30}, {"39": "00"})
    partial = build("batch_close", {}, ctx)
    assert partial["76"] == "0000000001" and partial["88"] == "0000000000002000"
    explicit = build("batch_close", {"totals": {"debits": "3", "debits_amount": "4500"}}, ctx)
    assert explicit["76"] == "0000000003" and explicit["97"] == "D0000000000004500"


def test_echo_sign_on_and_raw():
    ctx = ctx_for(Terminal(tid="T1"))
    assert build("echo", {}, ctx)["70"] == "301" and build("sign_on", {}, ctx)["70"] == "001"
    raw = build("raw", {"mti": "0800", "defaults": False, "fields": {"70": "301", "11": "000009"}}, ctx)
    assert raw == {"t": "0800", "70": "301", "11": "000009"}
