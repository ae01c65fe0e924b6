"""Terminal side of an EMV chip or contactless transaction: a small kernel over an IccChannel.

Flow: SELECT (PPSE first when contactless) -> GET PROCESSING OPTIONS -> READ RECORD -> GENERATE AC (ARQC)
over the CDOL1 data -> field 55 for the request. With the answer: EXTERNAL AUTHENTICATE with the ARPC and
ARC from tag 91 (ARPC method 1: 8-byte ARPC || 2-byte ARC) -> second GENERATE AC (TC if approved and the
issuer proved itself, else AAC). A card that refuses after an online approval makes the terminal reverse.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime

from pyemv import tlv

from terminal_agent.readers.base import IccChannel

AIDS = ("A0000000031010", "A0000000041010")
PPSE = b"2PAY.SYS.DDF01"
# Field 55 of the request, in the order acquirers usually send it.
REQUEST_TAGS = ("9F26", "9F27", "9F10", "9F37", "9F36", "95", "9A", "9C", "9F02", "5F2A", "82", "9F1A", "9F03",
                "9F33", "9F34", "9F35", "84", "5F34")


class ChipError(Exception):
    """The chip session failed (card removed, unexpected status word, missing data)."""


def apdu(cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: bool = True) -> bytes:
    cmd = bytes([cla, ins, p1, p2])
    if data:
        cmd += bytes([len(data)]) + data
    return cmd + (b"\x00" if le else b"")


def parse_dol(dol: bytes) -> list[tuple[str, int]]:
    """A data object list: (tag hex, length) pairs."""
    out, i = [], 0
    while i < len(dol):
        j = i + 1
        if dol[i] & 0x1F == 0x1F:
            while dol[j] & 0x80:
                j += 1
            j += 1
        out.append((dol[i:j].hex().upper(), dol[j]))
        i = j + 1
    return out


def build_dol(dol: bytes, values: dict[str, bytes]) -> bytes:
    """Fill a DOL from terminal values; missing tags are zeros, longer values are cut (EMV Book 3 5.4)."""
    return b"".join(values.get(tag, b"").rjust(length, b"\x00")[-length:] for tag, length in parse_dol(dol))


def bcd_n(value: int | str, length: int) -> bytes:
    return bytes.fromhex(str(value).rjust(length * 2, "0"))


@dataclass
class ChipData:
    pan: str
    expiry: str                  # YYMM
    psn: str
    track2_equivalent: str       # field 35 form: PAN=YYMMSSS...
    tags: dict[str, bytes] = field(default_factory=dict, repr=False)

    def field55(self) -> str:
        return tlv.encode({t: self.tags[t] for t in REQUEST_TAGS if t in self.tags}).hex().upper()


@dataclass
class ChipOutcome:
    issuer_authenticated: bool | None   # None when the answer carried no ARPC
    card_approved: bool                 # second GENERATE AC gave a TC
    cid: int


class ChipSession:
    def __init__(self, channel: IccChannel, *, contactless: bool = False) -> None:
        self.channel, self.contactless = channel, contactless
        self.data: ChipData | None = None
        self._terminal: dict[str, bytes] = {}
        self._cdol2 = b""

    def _send(self, command: bytes) -> bytes:
        r = self.channel.transmit(command)
        if len(r) < 2:
            raise ChipError("no answer from the card")
        return r

    def _ok(self, command: bytes, what: str) -> bytes:
        r = self._send(command)
        if r[-2:] != b"\x90\x00":
            raise ChipError(f"{what} failed: SW {r[-2:].hex().upper()}")
        return r[:-2]

    def _select_application(self) -> bytes:
        candidates = list(AIDS)
        if self.contactless:
            fci = tlv.decode(self._ok(apdu(0x00, 0xA4, 0x04, 0x00, PPSE), "SELECT PPSE"))
            found = fci.get("6F", {}).get("A5", {}).get("BF0C", {}).get("61", {}).get("4F")
            if found:
                candidates = [found.hex().upper()]
        for aid in candidates:
            r = self._send(apdu(0x00, 0xA4, 0x04, 0x00, bytes.fromhex(aid)))
            if r[-2:] == b"\x90\x00":
                return bytes.fromhex(aid)
        raise ChipError("no supported application on the card")

    def start(self, *, amount: int, currency: str, country: str, txn_type: str, terminal_type: str = "22",
              capabilities: str = "E0F8C8", tvr: str = "0000048000", cvm_results: str = "420300",
              now: datetime | None = None, unpredictable: bytes | None = None) -> ChipData:
        """Read the card and ask for an ARQC. Returns the card data and the field 55 tags."""
        now = now or datetime.now()
        aid = self._select_application()
        gpo = tlv.decode(self._ok(apdu(0x80, 0xA8, 0x00, 0x00, b"\x83\x00"), "GET PROCESSING OPTIONS"))
        aip = gpo.get("77", {}).get("82", b"")
        rec = tlv.decode(self._ok(apdu(0x00, 0xB2, 0x01, 0x0C), "READ RECORD")).get("70", {})
        t2 = rec.get("57", b"").hex().upper().rstrip("F")
        pan = rec.get("5A", b"").hex().upper().rstrip("F")
        if not t2 or not pan or "D" not in t2:
            raise ChipError("card record lacks PAN or track 2 equivalent data")
        self._terminal = {
            "9F02": bcd_n(amount, 6), "9F03": bcd_n(0, 6), "9F1A": bcd_n(country, 2), "95": bytes.fromhex(tvr),
            "5F2A": bcd_n(currency, 2), "9A": bytes.fromhex(now.strftime("%y%m%d")), "9C": bcd_n(txn_type, 1),
            "9F37": unpredictable or os.urandom(4), "9F33": bytes.fromhex(capabilities),
            "9F34": bytes.fromhex(cvm_results), "9F35": bytes.fromhex(terminal_type),
        }
        self._cdol2 = rec.get("8D", b"")
        cdol1 = build_dol(rec.get("8C", b""), self._terminal)
        ac = tlv.decode(self._ok(apdu(0x80, 0xAE, 0x80, 0x00, cdol1), "GENERATE AC")).get("77", {})
        if ac.get("9F27", b"\x00")[0] & 0xC0 != 0x80:
            raise ChipError("card declined offline (no ARQC)")
        tags = dict(self._terminal)
        tags.update({"9F26": ac["9F26"], "9F27": ac["9F27"], "9F10": ac.get("9F10", b""), "9F36": ac["9F36"],
                     "82": aip, "84": aid, "5F34": rec.get("5F34", b"\x00")})
        psn = rec.get("5F34", b"\x00").hex()
        self.data = ChipData(pan=pan, expiry=rec.get("5F24", b"").hex()[:4] or t2.split("D")[1][:4], psn=psn,
                             track2_equivalent=t2.replace("D", "="), tags=tags)
        return self.data

    def complete(self, response_code: str | None, field55: str | None) -> ChipOutcome:
        """Finish with the host's answer (None: no answer, the terminal goes 'unable to go online')."""
        issuer_auth: bool | None = None
        arc = (response_code or "Z3").encode("ascii")[:2]   # Z3: unable to go online (EMV Book 4)
        if field55:
            try:
                iad = tlv.decode(bytes.fromhex(field55)).get("91")
            except (ValueError, tlv.DecodeError):
                iad = None
            if iad and len(iad) >= 10:
                r = self._send(apdu(0x00, 0x82, 0x00, 0x00, iad[:10], le=False))
                issuer_auth = r[-2:] == b"\x90\x00"
        values = dict(self._terminal, **{"8A": arc})
        p1 = 0x40 if response_code == "00" else 0x00
        ac = tlv.decode(self._ok(apdu(0x80, 0xAE, p1, 0x00, build_dol(self._cdol2, values)), "GENERATE AC 2"))
        cid = ac.get("77", {}).get("9F27", b"\x00")[0]
        return ChipOutcome(issuer_authenticated=issuer_auth, card_approved=cid & 0xC0 == 0x40, cid=cid)
