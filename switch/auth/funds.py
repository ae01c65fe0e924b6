"""What the pipeline asks of the ledger, as one small protocol; `WalletsFunds` maps it onto
switch.wallets (the ledger helper's card-event layer).

Every booking call is idempotent by `key` (terminal:STAN:field 7:MTI class), so a request answered twice
- by two switch processes, or retried after a crash - is booked once. Outcomes are plain strings:
ok, insufficient_funds (51), not_found (25), exists (already booked: the stored answer stands),
settled (a reversal after settlement: book a refund instead), error.
"""

from __future__ import annotations

from typing import Protocol


class Funds(Protocol):
    def purchase(self, key: str, *, account: str, mid: str, tid: str, currency: str, amount: int) -> str: ...

    def cash(self, key: str, *, account: str, mid: str, tid: str, currency: str, amount: int) -> str: ...

    def offus(self, key: str, *, issuer: str, mid: str, tid: str, currency: str, amount: int,
              cash: bool = False) -> str:
        """A sale a remote issuer approved: its interchange receivable pays the merchant (off-us)."""
        ...

    def offus_refund(self, key: str, *, issuer: str, mid: str, tid: str, currency: str, amount: int) -> str:
        """A refund a remote issuer approved: the merchant pays it, owed to that issuer (off-us)."""
        ...

    def hold(self, key: str, *, account: str, mid: str, tid: str, currency: str, amount: int,
             timeout: int) -> str: ...

    def capture(self, key: str, *, original_key: str, amount: int, tid: str | None = None) -> str: ...

    def reverse(self, key: str, *, original_key: str, amount: int, tid: str | None = None) -> str: ...

    def refund(self, key: str, *, account: str, mid: str, tid: str, currency: str, amount: int,
               original_key: str | None = None) -> str: ...

    def transfer(self, key: str, *, account: str, to_account: str, tid: str, currency: str, amount: int) -> str: ...

    def balance(self, account: str) -> tuple[int, int]:
        """(ledger balance, available balance) in minor units."""
        ...

    def open_card_account(self, card_ref: str, currency: str, opening_balance: int) -> str: ...
