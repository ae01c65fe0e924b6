"""Issuer simulation: PAN protection (Q2), Luhn, card secrets against published vectors, fixtures shape."""

from __future__ import annotations

import json

import pytest

from switch.issuer.fixtures import CARD_JSON_KEYS, load_fixtures, show
from switch.issuer.pan import PanVault, luhn_digit, luhn_ok, mask_pan
from switch.issuer.secrets import compute_card_secrets, parse_track2

KEY = "BC1016088AC49B2A37BFDF2CCEF73D38"


def test_luhn():
    assert luhn_ok("4761739001010010")
    assert not luhn_ok("4761739001010011")
    assert not luhn_ok("47617390")  # too short
    assert luhn_digit("476173900101001") == "0"


def test_mask_pan_6_4():
    assert mask_pan("4761739001010010") == "476173******0010"
    assert mask_pan("123") == "***"


def test_pan_vault_encrypts_and_hashes():
    """Q2: stored PAN is ciphertext (random nonce), lookup is a keyed hash (not a plain SHA of the PAN)."""
    v = PanVault.from_hex(KEY)
    a, b = v.encrypt("4761739001010010"), v.encrypt("4761739001010010")
    assert a != b and "4761739001010010" not in a
    assert v.decrypt(a) == "4761739001010010"
    assert v.lookup_hash("4761739001010010") == v.lookup_hash("4761739001010010")
    other = PanVault.from_hex("00" * 16)
    assert other.lookup_hash("4761739001010010") != v.lookup_hash("4761739001010010")


def test_cvv_published_vector():
    # Widely published CVV example: CVK 0123456789ABCDEF FEDCBA9876543210, PAN 4123456789012345,
    # expiry 8701, service code 101 -> CVV 561.
    keys = {"cvk": "0123456789ABCDEFFEDCBA9876543210", "pvk": "0123456789ABCDEFFEDCBA9876543210",
            "imk_ac": "0123456789ABCDEFFEDCBA9876543210"}
    sec = compute_card_secrets(keys, "pvv", pan="4123456789012345", pin="1234", expiry="8701", service_code="101")
    assert sec.cvv == "561"
    # psec documented PVV example: same key, PVKI 1, PIN 1234, PAN 4111111111111111 -> checked by format only
    assert sec.pvv and len(sec.pvv) == 4 and sec.pvv.isdigit()


def test_track2_round_trip_and_bad_cvv():
    fx = load_fixtures()
    keys = fx.issuers[0]["keys"]
    good = compute_card_secrets(keys, "pvv", pan="4761739001010010", pin="1234", expiry="2812", service_code="201")
    bad = compute_card_secrets(keys, "pvv", pan="4761739001010010", pin="1234", expiry="2812", service_code="201",
                               bad_cvv=True)
    t = parse_track2(good.track2)
    assert (t.pan, t.expiry, t.service_code, t.cvv) == ("4761739001010010", "2812", "201", good.cvv)
    assert parse_track2(bad.track2).cvv != good.cvv
    assert parse_track2(good.icc_track2).cvv == good.icvv


def test_fixtures_show_shape():
    """DESIGN.md: cards with pan, expiry, pin, track2, cvv, service_code, status, balance, currency;
    terminals with tid, mid, kind, currency, tpk, tmk; merchants list."""
    doc = show(load_fixtures())
    json.dumps(doc)
    assert set(doc) >= {"cards", "terminals", "merchants"}
    for card in doc["cards"]:
        assert set(CARD_JSON_KEYS) <= set(card), card["label"]
        assert card["status"] in ("active", "blocked", "lost", "stolen", "expired")
        assert len(card["expiry"]) == 4 and isinstance(card["balance"], int)
    for term in doc["terminals"]:
        assert {"tid", "mid", "kind", "currency", "tpk", "tmk"} <= set(term)
        assert len(term["tid"]) == 8 and term["kind"] in ("pos", "atm")
        assert len(term["tpk"]) == 32


@pytest.mark.parametrize("rc", ["00", "14", "41", "43", "51", "54", "55", "61", "62", "65", "75", "82", "91"])
def test_a_fixture_card_per_decline_path(rc):
    assert any(c.get("expect") == rc for c in load_fixtures().cards)


def test_bin_routing():
    fx = load_fixtures()
    assert fx.issuer_for("4761739001010010")[0]["id"] == "ACQBANK"
    assert fx.issuer_for("4319400000000018")[0]["kind"] == "remote"
    assert fx.issuer_for("6011000000000012") is None
