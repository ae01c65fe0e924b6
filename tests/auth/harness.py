"""Test harness for the pipeline: a migrated SQLite database with the shipped fixtures loaded, the real
in-process HSM, and request builders that make PIN blocks, MACs and ARQCs with the clear test keys
(psec / pyemv / cryptography, independent of the switch's own code)."""

from __future__ import annotations

import itertools
import time
import warnings
from datetime import UTC, datetime

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from psec import pinblock
from pyemv import cvn

from switch.issuer.fixtures import card_view, load_fixtures

FX = load_fixtures()
_stan = itertools.count(int(time.time()) % 500000)

def card(label: str) -> dict:
    c = next(c for c in FX.cards if c["label"] == label)
    return card_view(FX, c)


def tdes_ecb(key_hex: str, data: bytes) -> bytes:
    k = bytes.fromhex(key_hex)
    k = k + k[:8] if len(k) == 16 else k
    enc = Cipher(TripleDES(k), modes.ECB()).encryptor()
    return enc.update(data) + enc.finalize()


def pin_block(pin: str, pan: str, tid: str = "POS00001") -> str:
    tpk = FX.keys["terminals"][tid]["tpk"]
    return tdes_ecb(tpk, pinblock.encode_pinblock_iso_0(pin, pan)).hex().upper()


def f7(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%m%d%H%M%S")


def request(label: str | None = None, *, mti: str = "0200", proc: str = "000000", amount: int | None = None,
            tid: str = "POS00001", pin: str | None = "card", track: bool = True, pan: str | None = None,
            chip: bool = False, **fields: str) -> dict[str, str]:
    """A request for fixture card `label`; `pin="card"` uses the card's fixture PIN, None sends none."""
    c = card(label) if label else {"pan": pan, "pin": "1234", "amount": 1000}
    term = next(t for t in FX.terminals if t["tid"] == tid)
    msg = {"t": mti, "3": proc, "4": f"{(amount if amount is not None else c.get('amount', 1000)):012d}",
           "7": f7(), "11": f"{next(_stan) % 1000000:06d}", "12": "120000", "13": "1126",
           "22": "051" if chip else "901", "41": tid, "42": str(term["mid"]), "49": "682"}
    if track and c.get("track2"):
        msg["35"] = c["icc_track2"].replace("D", "=") if chip else c["track2"]
    else:
        msg["2"] = c["pan"]
        msg["14"] = c.get("expiry", "2812")
    if pin:
        msg["52"] = pin_block(c["pin"] if pin == "card" else pin, c["pan"], tid)
    msg.update(fields)
    return msg


def icc_field55(label: str, amount: int, *, tamper: bool = False) -> str:
    """Field 55 with an ARQC computed by pyemv from the card's ICC master key (issuer test IMK)."""
    c = card(label)
    imk = bytes.fromhex(FX.issuers[0]["keys"]["imk_ac"])
    atc, un = bytes.fromhex("0012"), bytes.fromhex("52BF4585")
    tags = {"9F02": f"{amount:012d}", "9F03": "000000000000", "9F1A": "0682", "95": "0000008000",
            "5F2A": "0682", "9A": "261126", "9C": "00", "9F37": un.hex().upper(), "82": "1800",
            "9F36": atc.hex().upper()}
    b = {k: bytes.fromhex(v) for k, v in tags.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyemv uses 2-key TDES through the deprecated module path
        ac, iad = _ac(c, imk, b)
    if tamper:
        ac = bytes([ac[0] ^ 1]) + ac[1:]
    tags["9F26"] = ac.hex().upper()
    tags["9F10"] = iad.hex().upper()
    tags["9F27"] = "80"
    from switch.wire import encode_icc

    return encode_icc(tags)


def _ac(c: dict, imk: bytes, b: dict[str, bytes]) -> tuple[bytes, bytes]:
    args = (b["9F02"], b["9F03"], b["9F1A"], b["95"], b["5F2A"], b["9A"], b["9C"], b["9F37"], b["82"], b["9F36"])
    if c["scheme"] == "visa":
        iad = bytes.fromhex("06010A03A00000")
        return cvn.VisaCVN10(imk, imk, imk, c["pan"], c["psn"]).generate_ac(*args, iad[3:7]), iad
    iad = bytes.fromhex("0110A00003220000000000000000000000FF")
    return cvn.MasterCardCVN16(imk, imk, imk, c["pan"], c["psn"]).generate_ac(*args, iad[2:8]), iad
