"""`Funds` on the ledger helper's card-event layer (switch.wallets): one place maps its outcomes to the
strings the booking steps understand, so the steps stay independent of the wallet API's details."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine


def _wallets_class():
    try:
        from switch.wallets import Wallets  # the assembled service, once exported

        return Wallets
    except ImportError:
        from switch.wallets.merchant_ops import MerchantOps

        return MerchantOps


def _status(outcome: Any) -> str:
    status = getattr(outcome, "status", outcome)
    if getattr(outcome, "duplicate", False) and status == "ok":
        return "exists"
    return str(status)


class WalletsFunds:
    def __init__(self, engine: Engine, config: dict | None = None, wallets: Any = None) -> None:
        self.w = wallets or _wallets_class()(engine, contracts_path=(config or {}).get("contracts"))

    @staticmethod
    def _acct(account: str | int) -> int:
        return int(account)

    def purchase(self, key, *, account, mid, tid, currency, amount):
        return _status(self.w.purchase(key, self._acct(account), mid, currency, amount, tid=tid))

    def cash(self, key, *, account, mid, tid, currency, amount):
        return _status(self.w.cash_withdrawal(key, self._acct(account), mid, currency, amount, tid=tid))

    def offus(self, key, *, issuer, mid, tid, currency, amount, cash=False):
        # A sale approved by a remote issuer: its interchange receivable pays the merchant (off-us acquiring).
        return _status(self.w.acquire_offus(key, issuer, mid, currency, amount, tid=tid,
                                            kind="cash" if cash else "purchase"))

    def offus_refund(self, key, *, issuer, mid, tid, currency, amount):
        return _status(self.w.refund_offus(key, issuer, mid, currency, amount, tid=tid))

    def hold(self, key, *, account, mid, tid, currency, amount, timeout):
        return _status(self.w.authorize_hold(key, self._acct(account), mid, currency, amount, timeout=timeout,
                                             tid=tid))

    def capture(self, key, *, original_key, amount, tid=None):
        # tid ties the completion to the terminal's batch (0500 reconciliation counts it as a sale)
        return _status(self.w.capture(key, original_key, amount, tid=tid))

    def reverse(self, key, *, original_key, amount, tid=None):
        # The wallet layer voids a hold, or takes a booked sale back from the merchant - before settlement
        # from the unsettled wallet, after it from the available wallet and receivable (N7).
        return _status(self.w.void(key, original_key, amount, tid=tid))

    def refund(self, key, *, account, mid, tid, currency, amount, original_key=None):
        return _status(self.w.refund(key, self._acct(account), mid, currency, amount, tid=tid))

    def transfer(self, key, *, account, to_account, tid, currency, amount):
        return _status(self.w.card_transfer(key, self._acct(account), self._acct(to_account), currency, amount,
                                            tid=tid))

    def balance(self, account):
        found = self.w.card_balance(self._acct(account))
        return found if found is not None else (0, 0)

    def open_card_account(self, card_ref, currency, opening_balance):
        return str(self.w.open_card_account(card_ref, currency, opening_balance))
