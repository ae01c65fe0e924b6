"""What a card event answers: a status the pipeline maps to ISO 8583 field 39."""

from __future__ import annotations

from dataclasses import dataclass, replace

OK = "ok"
INSUFFICIENT_FUNDS = "insufficient_funds"
NOT_FOUND = "not_found"
INVALID = "invalid"
EXPIRED = "expired"
NO_ACCOUNT = "no_account"
MERCHANT_UNKNOWN = "merchant_unknown"
MERCHANT_SUSPENDED = "merchant_suspended"
DUPLICATE_MISMATCH = "duplicate_mismatch"
ERROR = "error"

# A suggestion for the pipeline; it owns the final mapping.
RESPONSE_CODES = {
    OK: "00", INSUFFICIENT_FUNDS: "51", NOT_FOUND: "25", INVALID: "12", EXPIRED: "12", NO_ACCOUNT: "14",
    MERCHANT_UNKNOWN: "03", MERCHANT_SUSPENDED: "05", DUPLICATE_MISMATCH: "94", ERROR: "96",
}

_LEDGER_TO_STATUS = {
    "exceeds_credits": INSUFFICIENT_FUNDS,
    "debit_account_not_found": NO_ACCOUNT,
    "credit_account_not_found": NO_ACCOUNT,
    "accounts_must_have_the_same_ledger": INVALID,
    "pending_transfer_not_found": NOT_FOUND,
    "pending_transfer_not_pending": NOT_FOUND,
    "pending_transfer_already_posted": INVALID,
    "pending_transfer_already_voided": INVALID,
    "pending_transfer_expired": EXPIRED,
    "exceeds_pending_transfer_amount": INVALID,
    "amount_must_not_be_negative": INVALID,
}


@dataclass(frozen=True)
class Outcome:
    """status: one of the constants above; duplicate: this is the stored answer of an earlier request
    with the same key (nothing was booked now). amount/fee: what was booked (minor units)."""
    status: str
    key: str
    kind: str = ""
    amount: int = 0
    fee: int = 0
    duplicate: bool = False
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def response_code(self) -> str:
        return RESPONSE_CODES.get(self.status, "96")

    def as_duplicate(self) -> Outcome:
        return replace(self, duplicate=True)


def status_from_results(results: list) -> tuple[str, str]:
    """The event's status from the ledger's results: the first real failure decides."""
    for r in results:
        if r not in ("ok", "exists", "linked_event_failed"):
            return _LEDGER_TO_STATUS.get(str(r), ERROR), str(r)
    if any(r == "linked_event_failed" for r in results):
        return ERROR, "linked_event_failed"
    return OK, ""
