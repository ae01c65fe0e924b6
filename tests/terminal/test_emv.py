"""Chip and contactless: the emulated card's ARQC checks out with pyemv on the issuer side, and the card
verifies the ARPC (method 1 with the ARC) before giving a TC."""

from __future__ import annotations

from datetime import datetime

import pytest
from pyemv import kd, tlv
from pyemv.ac import PaddingType, generate_ac, generate_arpc_1

from terminal_agent.emv_card import EmvCard
from terminal_agent.emv_kernel import ChipSession

pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")


def issuer_side(card, tags: dict[str, bytes]) -> bytes:
    """Recompute the ARQC as the HSM does (KQ mode 1): option A ICC MK, scheme session key, padding."""
    mk = kd.derive_icc_mk_a(bytes.fromhex(card.mk_ac), card.pan, card.psn)
    data = b"".join(tags[t] for t in ("9F02", "9F03", "9F1A", "95", "5F2A", "9A", "9C", "9F37", "82", "9F36"))
    if card.scheme == "visa":
        sk, pad, cvr = mk, PaddingType.VISA, tags["9F10"][3:7]
    else:
        sk, pad = kd.derive_common_sk(mk, tags["9F36"] + b"\x00\x00" + tags["9F37"]), PaddingType.EMV
        cvr = tags["9F10"][2:8]
    # ARPC method 1: Visa CVN 10 and M/Chip 4 CVN 16 both compute it under the ICC master key (pyemv).
    return mk, generate_ac(sk, data + cvr, pad)


@pytest.mark.parametrize("which,contactless", [("visa", False), ("mastercard", False), ("visa", True)])
def test_arqc_verifies_and_arpc_gives_tc(request, which, contactless):
    card = request.getfixturevalue(which)
    session = ChipSession(EmvCard.for_card(card, contactless=contactless), contactless=contactless)
    data = session.start(amount=1234, currency="682", country="682", txn_type="00", now=datetime(2026, 11, 26))
    assert data.pan == card.pan and data.track2_equivalent.startswith(card.pan + "=" + card.expiry)
    tags = tlv.decode(bytes.fromhex(data.field55()))
    assert tags["9F02"] == bytes.fromhex("000000001234") and tags["9A"] == bytes.fromhex("261126")
    arpc_key, arqc = issuer_side(card, tags)
    assert arqc == tags["9F26"]
    arpc = generate_arpc_1(arpc_key, arqc, b"00")
    outcome = session.complete("00", tlv.encode({"91": arpc + b"00"}).hex())
    assert outcome.issuer_authenticated is True and outcome.card_approved


def test_wrong_arpc_makes_the_card_decline(visa):
    session = ChipSession(EmvCard.for_card(visa))
    session.start(amount=500, currency="682", country="682", txn_type="00")
    outcome = session.complete("00", tlv.encode({"91": bytes(8) + b"00"}).hex())
    assert outcome.issuer_authenticated is False and not outcome.card_approved


def test_decline_gives_aac_and_atc_increases(visa):
    atcs = []
    for _ in range(2):
        session = ChipSession(EmvCard.for_card(visa))
        data = session.start(amount=500, currency="682", country="682", txn_type="00")
        atcs.append(int.from_bytes(data.tags["9F36"], "big"))
        assert not session.complete("51", None).card_approved
    assert atcs[1] == atcs[0] + 1


def test_no_arpc_follows_card_default_action(visa):
    session = ChipSession(EmvCard.for_card(visa))
    session.start(amount=500, currency="682", country="682", txn_type="00")
    outcome = session.complete("00", None)
    assert outcome.issuer_authenticated is None and outcome.card_approved
    strict = EmvCard.for_card(visa)
    strict.require_issuer_auth = True
    session = ChipSession(strict)
    session.start(amount=500, currency="682", country="682", txn_type="00")
    assert not session.complete("00", None).card_approved
