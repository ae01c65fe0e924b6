"""An emulated EMV chip / contactless card that answers command APDUs with its own EMV keys.

Supported commands: SELECT (PPSE and the application AID), GET PROCESSING OPTIONS, READ RECORD, GENERATE AC
(first: ARQC; second: TC or AAC) and EXTERNAL AUTHENTICATE (ARPC method 1 with the ARC). Cryptograms are
computed with pyemv:
  - visa: CVN 10 (ICC MK derivation option A, no session key, Visa padding, ARPC method 1);
  - mastercard: CVN 16 (option A, Mastercard session key over ATC || 00 00 || UN, EMV padding, ARPC method 1
    under the ICC master key).
Card data elements are the usual ones; the CDOLs ask for exactly the data that enter the cryptogram.
"""

from __future__ import annotations

import calendar
import threading
import warnings
from typing import Any

from cryptography.utils import CryptographyDeprecationWarning
from pyemv import tlv
from pyemv.cvn import MasterCardCVN16, VisaCVN10

AIDS = {"visa": "A0000000031010", "mastercard": "A0000000041010"}
LABELS = {"visa": b"VISA DEBIT", "mastercard": b"MASTERCARD"}
PPSE = b"2PAY.SYS.DDF01"
# CDOL1: amount, other amount, country, TVR, currency, date, type, UN (29 bytes) - the ARQC inputs.
CDOL1 = bytes.fromhex("9F02069F03069F1A0295055F2A029A039C019F3704")
CDOL2 = bytes.fromhex("8A02") + CDOL1           # ARC first, then the same terminal data
CDOL1_LEN = 6 + 6 + 2 + 5 + 2 + 3 + 1 + 4
AIP = bytes.fromhex("1C00")                      # cardholder verification, terminal risk mgmt, issuer auth
AIP_CONTACTLESS = bytes.fromhex("1C80")          # and EMV mode contactless
CVM_ONLINE_PIN = bytes.fromhex("0000000000000000" "4203" "1F03")  # enciphered PIN online, else no CVM
SW_OK, SW_UNSUPPORTED, SW_NOT_FOUND, SW_CONDITIONS, SW_AUTH_FAILED = b"\x90\x00", b"\x6D\x00", b"\x6A\x82", \
    b"\x69\x85", b"\x63\x00"

# ATC per PAN for the life of the process, so consecutive sessions of one card never reuse a counter.
_ATC: dict[str, int] = {}
_ATC_LOCK = threading.Lock()


def next_atc(pan: str) -> int:
    with _ATC_LOCK:
        _ATC[pan] = (_ATC.get(pan, 0) + 1) & 0xFFFF
        return _ATC[pan]


def bcd(digits: str, length: int | None = None) -> bytes:
    if len(digits) % 2:
        digits += "F"
    raw = bytes.fromhex(digits)
    return raw.rjust(length, b"\x00") if length else raw


def expiry_date(yymm: str) -> bytes:
    last = calendar.monthrange(2000 + int(yymm[:2]), int(yymm[2:]))[1]
    return bytes.fromhex(f"{yymm}{last:02d}")


class EmvCard:
    """One card session (from power-on or tap to power-off). Implements IccChannel.transmit()."""

    atr = bytes.fromhex("3B6800000073C84013009000")

    def __init__(self, *, pan: str, expiry: str, service_code: str, discretionary: str, name: str, psn: str,
                 mk_ac: str | None = None, icc_mk_ac: str | None = None, scheme: str = "visa",
                 contactless: bool = False, require_issuer_auth: bool = False) -> None:
        if scheme not in AIDS:
            raise ValueError(f"unsupported card scheme {scheme!r}")
        self.pan, self.expiry, self.psn, self.scheme = pan, expiry, psn, scheme
        self.contactless = contactless
        self.require_issuer_auth = require_issuer_auth
        if not (mk_ac or icc_mk_ac):
            raise ValueError("an EMV card needs its issuer MK-AC or its ICC MK-AC")
        key = bytes.fromhex(mk_ac or icc_mk_ac or "")
        cvn_class = VisaCVN10 if scheme == "visa" else MasterCardCVN16
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            self._cvn = cvn_class(key, key, key, pan, psn)   # only the AC key is used here
        if icc_mk_ac:  # personalised with the card key itself: no derivation from an issuer key
            self._cvn.icc_mk_ac = bytes.fromhex(icc_mk_ac)
        self._track2_eq = bcd(f"{pan}D{expiry}{service_code}{discretionary}")
        self._name = name.encode("ascii", "replace")[:26]
        self._selected = False
        self._atc: bytes | None = None
        self._arqc: bytes | None = None
        self._issuer_auth: bool | None = None
        self.last_cid: int | None = None

    @classmethod
    def for_card(cls, card: Any, contactless: bool = False) -> EmvCard:
        if not (getattr(card, "mk_ac", None) or getattr(card, "icc_mk_ac", None)):
            raise ValueError("this card has no chip keys")
        return cls(pan=card.pan, expiry=card.expiry, service_code=card.service_code,
                   discretionary=getattr(card, "icc_discretionary", None) or card.discretionary, name=card.name,
                   psn=card.psn, mk_ac=card.mk_ac, icc_mk_ac=getattr(card, "icc_mk_ac", None),
                   scheme=card.scheme, contactless=contactless)

    def __repr__(self) -> str:
        return f"EmvCard({self.scheme}, contactless={self.contactless})"

    # --- APDU dispatcher --------------------------------------------------------------------------------
    def transmit(self, apdu: bytes) -> bytes:
        with warnings.catch_warnings():  # pyemv uses cryptography's deprecated TripleDES location
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            return self._transmit(apdu)

    def _transmit(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return b"\x67\x00"
        cla, ins, p1, p2 = apdu[:4]
        data = apdu[5 : 5 + apdu[4]] if len(apdu) > 5 else b""
        if (cla, ins) == (0x00, 0xA4):
            return self._select(data)
        if (cla, ins) == (0x80, 0xA8):
            return self._gpo()
        if (cla, ins) == (0x00, 0xB2):
            return self._read_record(p1, p2)
        if (cla, ins) == (0x80, 0xAE):
            return self._generate_ac(p1, data)
        if (cla, ins) == (0x00, 0x82):
            return self._external_authenticate(data)
        return SW_UNSUPPORTED

    def _select(self, name: bytes) -> bytes:
        aid = bytes.fromhex(AIDS[self.scheme])
        if name == PPSE and self.contactless:
            entry = tlv.encode({"4F": aid, "50": LABELS[self.scheme], "87": b"\x01"})
            fci = tlv.encode({"6F": {"84": PPSE, "A5": {"BF0C": {"61": tlv.decode(entry, flatten=False)}}}})
            return fci + SW_OK
        if name != aid:
            return SW_NOT_FOUND
        self._selected = True
        return tlv.encode({"6F": {"84": aid, "A5": {"50": LABELS[self.scheme], "87": b"\x01"}}}) + SW_OK

    def _gpo(self) -> bytes:
        if not self._selected:
            return SW_CONDITIONS
        aip = AIP_CONTACTLESS if self.contactless else AIP
        return tlv.encode({"77": {"82": aip, "94": bytes.fromhex("08010100")}}) + SW_OK

    def _read_record(self, record: int, p2: int) -> bytes:
        if not self._selected or (record, p2 >> 3) != (1, 1):
            return SW_NOT_FOUND
        rec = {
            "57": self._track2_eq, "5A": bcd(self.pan), "5F24": expiry_date(self.expiry),
            "5F34": bytes.fromhex(self.psn), "5F20": self._name, "8C": CDOL1, "8D": CDOL2,
            "8E": CVM_ONLINE_PIN, "5F28": bytes.fromhex("0368"),
        }
        return tlv.encode({"70": rec}) + SW_OK

    def _cryptogram(self, cdol: bytes, atc: bytes, cvr: bytes) -> bytes:
        amount, other, country, tvr, currency, date, ttype, un = (
            cdol[0:6], cdol[6:12], cdol[12:14], cdol[14:19], cdol[19:21], cdol[21:24], cdol[24:25], cdol[25:29])
        aip = AIP_CONTACTLESS if self.contactless else AIP
        return self._cvn.generate_ac(amount, other, country, tvr, currency, date, ttype, un, aip, atc, cvr)

    def _iad(self, first: bool, cid: int) -> tuple[bytes, bytes]:
        """Issuer application data (9F10) and the CVR it carries, which enters the cryptogram."""
        if self.scheme == "visa":
            # Visa CVR: length 03, byte 2 tells which AC the first/second GENERATE AC returned.
            cvr = bytes([0x03, 0xA0 if first else (0x60 if cid == 0x40 else 0x20), 0x00, 0x00])
            return bytes([0x06, 0x01, 0x0A]) + cvr, cvr
        cvr = bytes([0xA0 if first else (0x50 if cid == 0x40 else 0x40), 0x00, 0x03, 0x22, 0x00, 0x00])
        return bytes([0x01, 0x10]) + cvr + bytes(10), cvr

    def _generate_ac(self, p1: int, data: bytes) -> bytes:
        if not self._selected:
            return SW_CONDITIONS
        requested = p1 & 0xC0
        first = self._arqc is None
        if first:
            if len(data) != CDOL1_LEN:
                return b"\x67\x00"
            self._atc = next_atc(self.pan).to_bytes(2, "big")
            cid = 0x80 if requested == 0x80 else (0x40 if requested == 0x40 else 0x00)
            cdol = data
        else:
            if len(data) != CDOL1_LEN + 2:
                return b"\x67\x00"
            arc, cdol = data[:2], data[2:]
            # A TC only when the issuer approved (ARC 00) and its ARPC, when sent, was right. Without an ARPC
            # the card follows its default action: approve, unless personalised to require issuer auth.
            issuer_ok = self._issuer_auth is True or (self._issuer_auth is None and not self.require_issuer_auth)
            approved = issuer_ok and arc == b"00"
            cid = 0x40 if (requested == 0x40 and approved) else 0x00
        assert self._atc is not None
        iad, cvr = self._iad(first, cid)
        ac = self._cryptogram(cdol, self._atc, cvr)
        if first:
            self._arqc = ac
        self.last_cid = cid
        return tlv.encode({"77": {"9F27": bytes([cid]), "9F36": self._atc, "9F26": ac, "9F10": iad}}) + SW_OK

    def _external_authenticate(self, data: bytes) -> bytes:
        if self._arqc is None or len(data) != 10:
            return SW_CONDITIONS
        arpc, arc = data[:8], data[8:10]
        expected = self._cvn.generate_arpc(self._arqc, arc)
        self._issuer_auth = expected == arpc
        return SW_OK if self._issuer_auth else SW_AUTH_FAILED
