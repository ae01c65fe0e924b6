"""Transaction results, response-code meanings and printed receipts (masked PAN only)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

MEANINGS = {
    "00": "APPROVED", "01": "REFER TO CARD ISSUER", "03": "INVALID MERCHANT", "05": "DO NOT HONOUR",
    "06": "ERROR", "12": "INVALID TRANSACTION", "13": "INVALID AMOUNT", "14": "INVALID CARD NUMBER",
    "15": "NO SUCH ISSUER", "25": "ORIGINAL NOT FOUND", "30": "FORMAT ERROR", "41": "LOST CARD - PICK UP",
    "43": "STOLEN CARD - PICK UP", "51": "INSUFFICIENT FUNDS", "54": "EXPIRED CARD", "55": "INCORRECT PIN",
    "57": "TRANSACTION NOT PERMITTED TO CARDHOLDER", "58": "TRANSACTION NOT PERMITTED TO TERMINAL",
    "61": "EXCEEDS WITHDRAWAL AMOUNT LIMIT", "62": "RESTRICTED CARD", "63": "SECURITY VIOLATION",
    "65": "EXCEEDS WITHDRAWAL FREQUENCY LIMIT", "75": "PIN TRIES EXCEEDED", "82": "CVV INVALID",
    "91": "ISSUER UNAVAILABLE", "94": "DUPLICATE TRANSMISSION", "95": "RECONCILE ERROR", "96": "SYSTEM MALFUNCTION",
}
TITLES = {"purchase": "SALE", "cash": "CASH WITHDRAWAL", "refund": "REFUND", "balance": "BALANCE INQUIRY",
          "preauth": "PRE-AUTHORISATION", "completion": "COMPLETION", "reversal": "REVERSAL", "echo": "ECHO TEST",
          "sign-on": "SIGN-ON", "batch-close": "SETTLEMENT"}


def meaning(code: str | None) -> str:
    if code is None:
        return "NO ANSWER FROM HOST"
    return MEANINGS.get(code, f"DECLINED ({code})")


CURRENCIES = {"682": "SAR", "368": "IQD", "840": "USD", "978": "EUR", "784": "AED", "048": "BHD", "414": "KWD"}


def money(minor: int | None, currency: str = "") -> str:
    if minor is None:
        return ""
    currency = CURRENCIES.get(currency, currency)
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}" + (f" {currency}" if currency else "")


@dataclass
class TxnResult:
    kind: str
    tid: str
    stan: str | None = None
    response_code: str | None = None
    approval_code: str | None = None
    rrn: str | None = None
    amount: int | None = None
    currency: str = ""
    masked_pan: str | None = None
    entry: str | None = None
    approved: bool = False
    message: str = ""
    reversal: str | None = None          # None, "pending", "acknowledged"
    issuer_authenticated: bool | None = None
    card_decision: str | None = None     # TC or AAC from the second GENERATE AC
    balance: int | None = None           # from field 54 (balance inquiry)
    when: str = field(default_factory=lambda: datetime.now().strftime("%Y-%m-%d %H:%M:%S"))
    details: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None and v != {}}

    def receipt(self, merchant: str = "", mid: str = "") -> str:
        w = 40
        lines = [merchant.center(w), f"TID {self.tid.strip()}   MID {mid.strip()}".center(w), self.when.center(w), "",
                 TITLES.get(self.kind, self.kind.upper()).center(w), ""]
        if self.masked_pan:
            lines.append(f"CARD  {self.masked_pan}  {(self.entry or '').upper()}")
        if self.stan:
            lines.append(f"STAN  {self.stan}")
        if self.rrn:
            lines.append(f"RRN   {self.rrn}")
        if self.amount is not None and self.kind not in ("balance",):
            lines.append(f"AMOUNT {money(self.amount, self.currency):>33}")
        if self.balance is not None:
            lines.append(f"BALANCE {money(self.balance, self.currency):>32}")
        for k, v in self.details.items():
            lines.append(f"{k.upper()}: {v}")
        lines.append("")
        if self.approval_code:
            lines.append(f"APPROVAL CODE {self.approval_code}")
        lines.append(f"RESPONSE {self.response_code or '--'}  {self.message or meaning(self.response_code)}")
        if self.card_decision:
            arpc = {None: "ABSENT", True: "OK", False: "FAILED"}[self.issuer_authenticated]
            lines.append(f"CARD {self.card_decision}  ARPC {arpc}")
        if self.reversal:
            lines.append(f"REVERSAL {self.reversal.upper()}")
        lines.append("")
        lines.append(("*** APPROVED ***" if self.approved else "*** NOT APPROVED ***").center(w))
        return "\n".join(lines) + "\n"
