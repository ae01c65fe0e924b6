"""ISO 8583 requests as a real POS or ATM lays them out (pyiso8583 dicts, every value a str).

Financial and authorisation requests carry 2 3 4 7 11 12 13 14 22 23 25 35 41 42 49 52 55 (+53/62 for
DUKPT). Processing codes: purchase 00, cash 01 (ATM), refund 20, balance 31; pre-authorisation is an 0100
(condition code 06) and its completion an 0220 that names it in field 90. Reversals are 0400, repeated as
0420, with field 90 = original MTI, STAN, transmission time and two 11-digit zero institution ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from terminal_agent.profile import TerminalProfile

PROCESSING = {"purchase": "000000", "cash": "010000", "refund": "200000", "balance": "310000",
              "preauth": "000000", "completion": "000000"}
EMV_TYPE = {"purchase": "00", "cash": "01", "refund": "20", "balance": "31", "preauth": "00", "completion": "00"}
MTI = {"purchase": "0200", "cash": "0200", "refund": "0200", "balance": "0200", "preauth": "0100",
       "completion": "0220"}
DEBITS = ("purchase", "cash", "completion")
CREDITS = ("refund",)
ENTRY_MODE = {"swipe": "02", "chip": "05", "contactless": "07", "manual": "01", "fallback": "80"}


@dataclass
class CardFields:
    """Card data for one request, as read. Never logged: it holds track 2."""

    entry: str                     # swipe, chip, contactless, manual
    pan: str
    expiry: str                    # YYMM
    track2: str | None = None      # field 35 (track 2 or chip track 2 equivalent)
    psn: str | None = None         # field 23, chip only
    icc: str | None = None         # field 55 hex

    def __repr__(self) -> str:
        return f"CardFields(entry={self.entry!r})"


def now_fields(now: datetime | None = None) -> dict[str, str]:
    """Field 7 (UTC MMDDhhmmss) and 12/13 (local time and date at the terminal)."""
    utc = (now or datetime.now(UTC)).astimezone(UTC)
    local = utc.astimezone()
    return {"7": utc.strftime("%m%d%H%M%S"), "12": local.strftime("%H%M%S"), "13": local.strftime("%m%d")}


def amount12(minor: int) -> str:
    if minor < 0 or minor > 999_999_999_999:
        raise ValueError("amount out of range")
    return f"{minor:012d}"


def base(profile: TerminalProfile, mti: str, stan: str, now: datetime | None = None) -> dict[str, str]:
    msg = {"t": mti, **now_fields(now), "11": stan, "41": profile.tid, "42": profile.mid}
    return msg


def financial(profile: TerminalProfile, kind: str, stan: str, amount: int, card: CardFields,
              pin_fields: dict[str, str] | None = None, now: datetime | None = None,
              original: dict[str, str] | None = None) -> dict[str, str]:
    """0200 / 0100 / 0220 for `kind` (purchase, cash, refund, balance, preauth, completion)."""
    if kind not in MTI:
        raise ValueError(f"unknown transaction kind {kind!r}")
    msg = base(profile, MTI[kind], stan, now)
    pin_capability = "1" if profile.can("pin") else "2"
    msg.update({
        "2": card.pan, "3": PROCESSING[kind], "4": amount12(amount), "14": card.expiry,
        "22": ENTRY_MODE[card.entry] + pin_capability,
        "25": "06" if kind in ("preauth", "completion") else ("02" if profile.kind == "atm" else "00"),
        "49": profile.currency,
    })
    if card.track2:
        msg["35"] = card.track2
    if card.psn is not None and card.entry in ("chip", "contactless"):
        msg["23"] = card.psn.zfill(3)
    if card.icc:
        msg["55"] = card.icc
    if pin_fields:
        msg.update(pin_fields)
    if kind == "completion" and original:
        # The 0220 names the pre-authorisation it completes; 37/38 echo what the host gave the 0110.
        msg["90"] = original_data(original)
        for f in ("37", "38"):
            if original.get(f):
                msg[f] = original[f]
    return msg


def original_data(original: dict[str, str]) -> str:
    """Field 90: original MTI(4) STAN(6) transmission date-time(10) acquirer id(11) forwarder id(11)."""
    return f"{original['t']}{original['11']}{original['7']}{'0' * 11}{'0' * 11}"


def reversal(profile: TerminalProfile, original: dict[str, str], stan: str, now: datetime | None = None,
             reason: str | None = None) -> dict[str, str]:
    """0400 for `original`: same card, amount and codes; no track, PIN block or ICC data."""
    msg = base(profile, "0400", stan, now)
    for f in ("2", "3", "4", "14", "22", "23", "25", "37", "38", "49"):
        if original.get(f):
            msg[f] = original[f]
    msg["90"] = original_data(original)
    if reason:
        msg["39"] = reason  # why the terminal reverses: 68 no answer in time, 05 card declined after approval
    return msg


def network(profile: TerminalProfile, code: str, stan: str, now: datetime | None = None) -> dict[str, str]:
    """0800 with field 70: 001 sign-on, 002 sign-off, 101 key change, 301 echo."""
    msg = base(profile, "0800", stan, now)
    msg["70"] = code
    return msg


@dataclass
class BatchTotals:
    debit_count: int = 0
    debit_amount: int = 0
    credit_count: int = 0
    credit_amount: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def totals(journal: list[dict]) -> BatchTotals:
    """Reconciliation totals of the open batch: approved, not reversed, debits and credits apart."""
    t = BatchTotals()
    for e in journal:
        if e.get("rc") != "00" or e.get("reversed"):
            continue
        if e["kind"] in DEBITS:
            t.debit_count += 1
            t.debit_amount += int(e["amount"])
        elif e["kind"] in CREDITS:
            t.credit_count += 1
            t.credit_amount += int(e["amount"])
    return t


def batch_close(profile: TerminalProfile, stan: str, batch: int, t: BatchTotals,
                now: datetime | None = None) -> dict[str, str]:
    """0500: reconciliation request with the open batch's totals."""
    msg = base(profile, "0500", stan, now)
    msg.update({
        "3": "920000", "49": profile.currency, "60": f"{batch:06d}",
        "74": f"{t.credit_count:010d}", "76": f"{t.debit_count:010d}",
        "86": f"{t.credit_amount:016d}", "88": f"{t.debit_amount:016d}",
        # 63: debits count(3) amount(12), credits count(3) amount(12), as many POS hosts expect it
        "63": f"{t.debit_count % 1000:03d}{t.debit_amount:012d}{t.credit_count % 1000:03d}{t.credit_amount:012d}",
    })
    return msg
