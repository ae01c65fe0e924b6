"""Build the ISO 8583 request of a scenario step, as a terminal would, so it works against any host.

PIN blocks: ISO 9564 format 0 (psec) enciphered under the terminal's clear test TPK. Chip data: a Visa
CVN 10 ARQC (pyemv) from the card's issuer master key, in field 55 as BER-TLV. Card data never leaves
this module except inside the request dict; reports mask it through the wire layer's dump().
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psec.pinblock

from terminal_agent.crypto import tdes_encrypt
from terminal_agent.scenario.loader import parse_amount
from terminal_agent.scenario.model import Card, Terminal

PROCESSING = {"purchase": "000000", "preauth": "000000", "cash": "010000", "refund": "200000",
              "balance": "310000", "transfer": "400000", "completion": "000000"}
MTI = {"purchase": "0200", "cash": "0200", "refund": "0200", "balance": "0200", "transfer": "0200",
       "preauth": "0100", "completion": "0220", "echo": "0800", "sign_on": "0800", "batch_close": "0500"}
ENTRY_MODE = {"manual": "01", "magstripe": "90", "chip": "05", "contactless": "07", "fallback": "80"}
# ISO 4217 minor-unit exponents that are not 2 (IQD, BHD, KWD, JOD, LYD, OMR, TND have 3; JPY, KRW 0).
_EXPONENT = {"368": 3, "048": 3, "414": 3, "400": 3, "434": 3, "512": 3, "788": 3, "392": 0, "410": 0}
DEBIT_KINDS = ("purchase", "cash", "completion")


class BuildError(Exception):
    """The step cannot be turned into a message (missing key, unknown original, bad amount)."""


def exponent(currency: str) -> int:
    return _EXPONENT.get(currency, 2)


@dataclass
class BuildContext:
    """What a step's message depends on besides its own parameters."""

    terminal: Terminal
    cards: dict[str, Card]
    next_stan: Any  # callable() -> int
    records: dict[str, tuple[dict, dict | None]] = field(default_factory=dict)  # step id -> (req, resp)
    totals: dict[str, int] = field(default_factory=dict)  # batch totals of approved steps so far
    atc: dict[str, int] = field(default_factory=dict)  # per card, for chip data
    now: Any = None  # callable() -> datetime (UTC); tests fix it


def _clock(ctx: BuildContext) -> datetime:
    return ctx.now() if ctx.now else datetime.now(UTC)


def pin_block(pin: str, pan: str, tpk_hex: str) -> str:
    """ISO-0 PIN block enciphered under the clear TPK, uppercase hex (field 52)."""
    clear = psec.pinblock.encode_pinblock_iso_0(pin, pan)
    return tdes_encrypt(bytes.fromhex(tpk_hex), clear).hex().upper()


def chip_data(card: Card, amount: int, currency: str, country: str, txn_type: str, when: datetime,
              atc: int, good: bool = True) -> str:
    """Field 55 with an ARQC (pyemv: Visa CVN 10 or Mastercard CVN 16 from the issuer master key),
    uppercase hex. good=False spoils the cryptogram (the 05 path)."""
    import pyemv.cvn
    import pyemv.tlv

    if not card.imk_ac:
        raise BuildError(f"card {card.name!r} has no imk_ac: cannot build an ARQC (use arqc: none)")
    tags = {
        "9F02": bytes.fromhex(f"{amount:012d}"), "9F03": bytes(6), "9F1A": bytes.fromhex(country.zfill(4)),
        "95": bytes(5), "5F2A": bytes.fromhex(currency.zfill(4)), "9A": bytes.fromhex(when.strftime("%y%m%d")),
        "9C": bytes.fromhex(txn_type), "9F37": os.urandom(4), "82": bytes.fromhex("1800"),
        "9F36": atc.to_bytes(2, "big"),
    }
    mk = bytes.fromhex(card.imk_ac)
    if card.scheme == "mastercard":
        cvr = bytes.fromhex("A00003220000")  # CVN 16: IAD = KDI, CVN, CVR(6), DAC(2), counters(8)
        iad = bytes.fromhex("0110") + cvr + bytes(10)
        cls, aid = pyemv.cvn.MasterCardCVN16, "A0000000041010"
    else:
        cvr = bytes.fromhex("03A00000")  # CVN 10: IAD = length, DKI, CVN, CVR(4)
        iad = bytes.fromhex("06010A") + cvr
        cls, aid = pyemv.cvn.VisaCVN10, "A0000000031010"
    args = [tags[t] for t in ("9F02", "9F03", "9F1A", "95", "5F2A", "9A", "9C", "9F37", "82", "9F36")]
    with warnings.catch_warnings():  # pyemv reaches TripleDES through the deprecated path
        warnings.simplefilter("ignore")
        arqc = cls(mk, mk, mk, card.pan, card.psn).generate_ac(*args, cvr)
    if not good:
        arqc = arqc[:-1] + bytes([arqc[-1] ^ 0xFF])
    tlv = {"9F26": arqc, "9F27": b"\x80", "9F10": iad, **tags,
           "5F34": bytes.fromhex(card.psn.zfill(2)[-2:]), "84": bytes.fromhex(aid)}
    return pyemv.tlv.encode(tlv).hex().upper()


def _amount(p: dict, currency: str, key_major: str = "amount", key_minor: str = "amount_minor") -> int | None:
    try:
        if p.get(key_minor) is not None:
            return int(str(p[key_minor]))
        if p.get(key_major) is not None:
            return parse_amount(p[key_major], exponent(currency))
    except ValueError as exc:
        raise BuildError(str(exc)) from None
    return None


def _base(mti: str, ctx: BuildContext, now: datetime) -> dict[str, str]:
    t = ctx.terminal
    msg = {"t": mti, "7": now.strftime("%m%d%H%M%S"), "11": f"{ctx.next_stan():06d}",
           "12": now.strftime("%H%M%S"), "13": now.strftime("%m%d"), "41": t.tid.ljust(8)[:8],
           "42": t.mid.ljust(15)[:15]}
    msg.update(t.extra)
    return msg


def _track2(card: Card, chip: bool = False) -> str:
    if chip and card.icc_track2:
        return card.icc_track2.replace("D", "=").replace("d", "=")
    if card.track2:
        return card.track2.replace("D", "=").replace("d", "=")
    return f"{card.pan}={card.expiry}{card.service_code}0000{card.cvv or '000'}0"


def build(kind: str, p: dict, ctx: BuildContext) -> dict[str, str]:
    """The request for one step (after ${} substitution). `p` is the step's parameter mapping."""
    p = p or {}
    now = _clock(ctx)
    if kind in ("echo", "sign_on"):
        msg = _base("0800", ctx, now)
        msg["70"] = "301" if kind == "echo" else "001"
    elif kind in ("reversal", "completion"):
        msg = _follow_up(kind, p, ctx, now)
    elif kind == "batch_close":
        msg = _batch(p, ctx, now)
    elif kind == "raw":
        if p.get("defaults", True):
            msg = _base(str(p["mti"]), ctx, now)
        else:
            msg = {"t": str(p["mti"])}
    else:
        msg = _card_txn(kind, p, ctx, now)
    for k, v in (p.get("fields") or {}).items():
        if v is None:
            msg.pop(str(k), None)
        else:
            msg[str(k)] = str(v)
    return msg


def _card_txn(kind: str, p: dict, ctx: BuildContext, now: datetime) -> dict[str, str]:
    t = ctx.terminal
    card = ctx.cards.get(str(p["card"]))
    if card is None:
        raise BuildError(f"unknown card {p['card']!r}")
    currency = str(p.get("currency") or t.currency)
    amount = _amount(p, currency) or 0
    msg = _base(MTI[kind], ctx, now)
    entry = str(p.get("entry") or card.entry)
    # Debit cards with a PIN on file enter it by default; refunds are usually keyed by the merchant.
    pin = p.get("pin", bool(card.pin) and kind != "refund")
    pin_value = card.pin if pin is True else (None if pin in (False, None) else str(pin))
    if pin is True and not card.pin:
        raise BuildError(f"card {card.name!r} has no pin: give pin: DIGITS or pin: false")
    msg.update({"2": card.pan, "3": PROCESSING[kind], "4": f"{amount:012d}", "14": card.expiry,
                "22": ENTRY_MODE[entry] + ("1" if pin_value else "2"), "25": "00", "49": currency})
    if entry != "manual":
        msg["35"] = _track2(card, chip=entry in ("chip", "contactless"))
    if entry in ("chip", "contactless"):
        msg["23"] = card.psn.zfill(3)[-3:]
        arqc = str(p.get("arqc") or ("good" if card.imk_ac else "none"))
        if arqc != "none":
            ctx.atc[card.name] = ctx.atc.get(card.name, int.from_bytes(os.urandom(1), "big")) + 1
            msg["55"] = chip_data(card, amount, currency, t.country, PROCESSING[kind][:2], now,
                                  ctx.atc[card.name], good=arqc == "good")
    if pin_value:
        if not t.tpk:
            raise BuildError(f"terminal {t.tid} has no tpk: cannot build a PIN block")
        msg["52"] = pin_block(pin_value, card.pan, t.tpk)
    if kind == "transfer" and p.get("to_card"):
        dest = ctx.cards.get(str(p["to_card"]))
        if dest is None:
            raise BuildError(f"unknown card {p['to_card']!r}")
        msg["103"] = dest.pan
    return msg


def _original(p: dict, ctx: BuildContext) -> tuple[dict, dict | None]:
    ref = str(p["original"])
    if ref not in ctx.records:
        raise BuildError(f"original step {ref!r} has not run (or sent nothing)")
    return ctx.records[ref]


def _follow_up(kind: str, p: dict, ctx: BuildContext, now: datetime) -> dict[str, str]:
    orig_req, orig_resp = _original(p, ctx)
    mti = "0220" if kind == "completion" else ("0420" if p.get("advice") else "0400")
    msg = _base(mti, ctx, now)
    for f in ("2", "3", "4", "14", "22", "23", "49"):
        if f in orig_req:
            msg[f] = orig_req[f]
    for f in ("37", "38"):
        if orig_resp and f in orig_resp:
            msg[f] = orig_resp[f]
    # Field 90 names the original: MTI, STAN, transmission time, acquirer and forwarding institution ids.
    msg["90"] = (orig_req.get("t", "0000") + orig_req.get("11", "0" * 6) + orig_req.get("7", "0" * 10)
                 + ctx.terminal.acquirer.zfill(11)[-11:] + "0" * 11)
    amount = _amount(p, msg.get("49", ctx.terminal.currency))
    if amount is not None:
        if kind == "completion":
            msg["4"] = f"{amount:012d}"
        else:
            # Partial reversal (ISO 8583:1987): 4 keeps the original amount, 95 carries what remains.
            remaining = int(orig_req.get("4", "0")) - amount
            if remaining < 0:
                raise BuildError("reversal amount exceeds the original amount")
            msg["95"] = f"{remaining:012d}" + "0" * 12 + "C00000000" * 2
    return msg


def count_total(ctx: BuildContext, kind: str, request: dict, response: dict | None) -> None:
    """Keep the batch totals of approved requests so `batch_close` can send them (totals: auto)."""
    if not response or response.get("39") != "00":
        return
    amount = int(request.get("4", "0") or 0)
    tot = ctx.totals
    if kind == "batch_close":  # a closed batch starts a new one
        tot.clear()
        return
    if kind in DEBIT_KINDS:
        tot["debits"] = tot.get("debits", 0) + 1
        tot["debits_amount"] = tot.get("debits_amount", 0) + amount
    elif kind == "refund":
        tot["credits"] = tot.get("credits", 0) + 1
        tot["credits_amount"] = tot.get("credits_amount", 0) + amount
    elif kind == "reversal":
        reversed_amount = amount - int((request.get("95") or "0" * 12)[:12]) if "95" in request else amount
        credit = request.get("3", "").startswith("20")
        key = "credit_reversals" if credit else "debit_reversals"
        tot[key] = tot.get(key, 0) + 1
        tot[key + "_amount"] = tot.get(key + "_amount", 0) + reversed_amount
        # A terminal's batch drops what it reversed: 74/76 and 86/88 are net, 75/77 and 87/89 say how much
        # was taken out (what the switch reconciles against: its booked, not reversed, events).
        base = "credits" if credit else "debits"
        if "95" not in request or reversed_amount == amount:
            tot[base] = tot.get(base, 0) - 1
        tot[base + "_amount"] = tot.get(base + "_amount", 0) - reversed_amount


def _batch(p: dict, ctx: BuildContext, now: datetime) -> dict[str, str]:
    msg = _base("0500", ctx, now)
    totals = p.get("totals") or "auto"
    tot = dict(ctx.totals) if totals == "auto" else {k: int(str(v)) for k, v in totals.items()}
    n = {k: tot.get(k, 0) for k in ("credits", "debits", "credit_reversals", "debit_reversals")}
    a = {k: tot.get(k + "_amount", 0) for k in n}
    net = a["debits"] - a["credits"]
    msg.update({
        "3": "920000", "15": now.strftime("%m%d"), "50": ctx.terminal.currency,
        "74": f"{n['credits']:010d}", "75": f"{n['credit_reversals']:010d}",
        "76": f"{n['debits']:010d}", "77": f"{n['debit_reversals']:010d}",
        "86": f"{a['credits']:016d}", "87": f"{a['credit_reversals']:016d}",
        "88": f"{a['debits']:016d}", "89": f"{a['debit_reversals']:016d}",
        "97": ("D" if net >= 0 else "C") + f"{abs(net):016d}",
    })
    return msg
