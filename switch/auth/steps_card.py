"""Card steps: lookup and check digit, status, expiry, service code, CVV/iCVV, PIN, EMV cryptogram."""

from __future__ import annotations

from switch.auth.context import AuthContext, Services, log
from switch.auth.emv import IccDataError, arc_for, arqc_inputs
from switch.auth.journal import request_digest
from switch.auth.policy import PIN_TYPES
from switch.issuer.pan import luhn_ok
from switch.issuer.secrets import ibm_validation_data, parse_track2


def card_lookup(ctx: AuthContext, s: Services) -> None:
    """14 for a bad check digit, an unknown BIN or a card the issuer does not know; routes remote BINs."""
    req = ctx.request
    if req.get("35"):
        ctx.track2 = parse_track2(req["35"])
        if ctx.track2 is None:
            return ctx.decline("30", "unreadable track 2")
    pan = req.get("2") or (ctx.track2.pan if ctx.track2 else "")
    if ctx.track2 and ctx.track2.pan != pan:
        return ctx.decline("30", "PAN in field 2 differs from track 2")
    ctx.pan = pan
    if not luhn_ok(pan):
        return ctx.decline("14", "bad check digit")
    routed = s.store.route_bin(pan)
    if routed is None:
        return ctx.decline("14", "no issuer for this BIN")
    ctx.issuer, ctx.product = routed
    if ctx.issuer.kind == "remote":
        ctx.remote = True
        return None
    card = s.store.find_card(pan)
    if card is None:
        return ctx.decline("14", "unknown card")
    ctx.card = card
    return None


def card_status(ctx: AuthContext, s: Services) -> None:
    """41 lost, 43 stolen (N20), 75 PIN-locked (B5), 62 blocked (B6), 54 expired."""
    card = ctx.card
    if card is None:
        return None
    if card.status == "lost":
        return ctx.decline("41", "card reported lost (N20)")
    if card.status == "stolen":
        return ctx.decline("43", "card reported stolen (N20)")
    if card.pin_locked:
        return ctx.decline("75", "PIN tries exceeded, card blocked until support unblocks it (B5)")
    if card.status == "blocked":
        return ctx.decline("62", f"card blocked (B6): {card.status_reason or 'by the issuer'}")
    if card.status == "expired":
        return ctx.decline("54", "card expired")
    if card.status != "active":
        return ctx.decline("62", f"card {card.status}")
    return None


def expiry(ctx: AuthContext, s: Services) -> None:
    """54 when the card's expiry month has passed or the presented expiry does not match the card's."""
    card = ctx.card
    if card is None:
        return None
    presented = ctx.track2.expiry if ctx.track2 else ctx.request.get("14")
    if presented and presented != card.expiry:
        return ctx.decline("54", "expiry date does not match the card")
    now = ctx.now
    if card.expiry < f"{now.year % 100:02d}{now.month:02d}":  # YYMM, as strftime("%y%m") but cheaper
        return ctx.decline("54", "card expired")
    return None


def service_code(ctx: AuthContext, s: Services) -> None:
    """Track 2 service code restrictions (ISO 7813 digit 3): 2 = goods and services only (no cash),
    3 = ATM only, 5 = goods and services only with PIN. Refused with 57 (not permitted to cardholder)."""
    if ctx.card is None or ctx.track2 is None or ctx.chip:
        return None
    digit3 = ctx.track2.service_code[2:3]
    if digit3 in ("2", "5") and ctx.txn_type == "01":
        return ctx.decline("57", "service code allows goods and services only")
    if digit3 == "3" and ctx.terminal and ctx.terminal.kind != "atm":
        return ctx.decline("57", "service code allows ATM use only")
    return None


def cvv(ctx: AuthContext, s: Services) -> None:
    """82 when the CVV in track 2 (iCVV, service code 999, for chip-read track 2 equivalent) is wrong."""
    if ctx.card is None or ctx.track2 is None:
        return None
    t2 = ctx.track2
    sc = "999" if ctx.chip else t2.service_code
    rc = s.hsm.verify_cvv(cvk=ctx.issuer.cvk, pan=ctx.pan, expiry_yymm=t2.expiry, service_code=sc, cvv=t2.cvv)
    if rc != "00":
        return ctx.decline("82", f"{'iCVV' if ctx.chip else 'CVV'} verification failed ({rc})")
    return None


def pin(ctx: AuthContext, s: Services) -> None:
    """Verify field 52 under the terminal's TPK (or DUKPT key) through the HSM. A wrong PIN counts a
    try: 55, and the third blocks the card: 75 (B5). ATMs always need a PIN."""
    card, term, iss = ctx.card, ctx.terminal, ctx.issuer
    if card is None or term is None or ctx.txn_type not in PIN_TYPES:
        return None
    block = ctx.request.get("52")
    if not block:
        if term.kind == "atm":
            return ctx.decline("55", "PIN required at ATM")
        return None
    if term.bdk:
        # TDES DUKPT: KSN in field 53 (a 16-digit field drops the KSN's leading Fs); AES DUKPT: field 62.
        aes = len(ctx.request.get("62", "")) == 24 and len(block) == 32
        ksn = ctx.request["62"] if aes else ctx.request.get("53", "").rjust(20, "F")
        if not ctx.request.get("62" if aes else "53") or len(ksn) not in (20, 24):
            return ctx.decline("30", "DUKPT terminal sent no key serial number (field 53)")
        if card.pvv:
            rc = s.hsm.verify_dukpt_pin_pvv(bdk=term.bdk, ksn=ksn, pin_block=block, pan=ctx.pan, pvk=iss.pvk,
                                            pvki=iss.pvki, pvv=card.pvv, aes=aes)
        else:
            rc = s.hsm.verify_dukpt_pin_ibm(bdk=term.bdk, ksn=ksn, pin_block=block, pan=ctx.pan, pvk=iss.pvk,
                                            offset=_offset12(card.pin_offset), dec_table=iss.dec_table,
                                            pin_validation_data=ibm_validation_data(ctx.pan),
                                            check_length=len(card.pin_offset), aes=aes)
    elif card.pvv:
        rc = s.hsm.verify_pin_pvv(tpk=term.tpk, pvk=iss.pvk, pin_block=block, pin_block_format=term.pin_format,
                                  pan=ctx.pan, pvki=iss.pvki, pvv=card.pvv)
    else:
        rc = s.hsm.verify_pin_ibm(tpk=term.tpk, pvk=iss.pvk, pin_block=block, pin_block_format=term.pin_format,
                                  pan=ctx.pan, offset=_offset12(card.pin_offset), dec_table=iss.dec_table,
                                  pin_validation_data=ibm_validation_data(ctx.pan),
                                  check_length=len(card.pin_offset))
    if rc == "00":
        if card.pin_tries:
            s.store.pin_ok(card.card_id)
        return None
    # 01 = PIN mismatch; 20 = the block does not decrypt to a valid format-0 block and 24 = it decrypts to
    # a PIN length outside 4-12, which is what a wrong key or a tampered block looks like: all count as a
    # wrong PIN (B5; an attacker cannot tell them apart).
    if rc not in ("01", "20", "24"):
        return ctx.decline("96", f"HSM PIN verification error {rc}")
    # B5: one request, one try, in any process. Keyed by the request's whole content (its keyed digest, PIN
    # block included): only a copy of the same request is not counted again, never another PIN block.
    tries = s.store.pin_failed(card.card_id, ctx.digest or request_digest(s.journal.vault, ctx.request))
    if tries >= 3:
        log.warning("card %s blocked after %d wrong PINs (B5)", ctx.masked_pan, tries)
        return ctx.decline("75", f"wrong PIN, try {tries}: PIN tries exceeded, card blocked (B5)")
    return ctx.decline("55", f"wrong PIN (try {tries} of 3)")


def _offset12(offset: str | None) -> str:
    """payShield takes the IBM offset as 12 characters, F-padded on the right."""
    return (offset or "").ljust(12, "F")


def arqc(ctx: AuthContext, s: Services) -> None:
    """05 when the EMV application cryptogram (field 55) does not verify; keeps the inputs so the answer
    carries an ARPC for the final response code."""
    if ctx.card is None or not ctx.request.get("55"):
        return None
    try:
        inputs = arqc_inputs(ctx.request["55"], ctx.product.scheme)
    except IccDataError as exc:
        return ctx.decline("30", f"ICC data: {exc}")
    rc, arpc = s.hsm.verify_arqc(scheme=ctx.product.scheme, mk_ac=ctx.issuer.imk_ac, pan=ctx.pan,
                                 psn=ctx.request.get("23", ctx.card.psn)[-2:], arc=arc_for("00"), **inputs)
    if rc != "00" or not arpc:
        return ctx.decline("05", f"ARQC verification failed ({rc})")
    ctx.emv = {"inputs": inputs, "arpc": arpc}
    return None
