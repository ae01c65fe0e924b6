"""Card events the authorisation pipeline books: hold, capture, purchase, cash, off-us sale, transfer,
reversal."""

from __future__ import annotations

from switch.ledger import AMOUNT_MAX, TransferFlags, id_from
from switch.wallets import chart
from switch.wallets.chart import Kind
from switch.wallets.currency import currency
from switch.wallets.outcome import INVALID, MERCHANT_SUSPENDED, MERCHANT_UNKNOWN, NOT_FOUND, OK, Outcome
from switch.wallets.service import LINKED, Guard, Merchant, WalletsCore

F = TransferFlags
DEFAULT_HOLD_TIMEOUT = 7 * 86400  # seconds: a pre-authorisation not completed in 7 days is released
_BOOKED_SALES = ("purchase", "cash", "capture")


class CardEvents(WalletsCore):
    def _merchant_check(self, key: str, kind: str, mid: str, row: dict) -> tuple[Merchant | None, Outcome | None]:
        """(merchant, None) when it may take card payments, else (merchant or None, the stored refusal)."""
        m = self.merchant(mid)
        if m is None:
            return None, self._book(key, kind, [], row, status=MERCHANT_UNKNOWN)
        if not m.active:  # N8: a suspended (or closed, written-off) merchant takes no card payments
            return m, self._book(key, kind, [], {**row, "detail": {"note": m.status_reason or m.status}},
                                 status=MERCHANT_SUSPENDED)
        return m, None

    def purchase(self, key: str, card_account: int, mid: str, cur: str, amount: int, *, tid: str | None = None,
                 kind: str = "purchase") -> Outcome:
        """Debit the card (or, off-us, the issuer's interchange receivable), credit the merchant's unsettled
        wallet; the MDR fee (N3, B11) is taken at once."""
        cur = currency(cur).numeric
        row = {"mid": mid, "tid": tid, "currency": cur, "card_account": card_account, "amount": amount}
        if amount <= 0:
            return self._book(key, kind, [], row, status=INVALID)
        merchant, refused = self._merchant_check(key, kind, mid, row)
        if refused:
            return refused
        self.ensure_merchant_wallet(mid, cur)
        fee = self.contract(merchant).mdr_fee(amount, cur)
        unsettled = chart.merchant_account_id(mid, cur, "unsettled")
        main = id_from(key, "main")
        code = Kind.CASH if kind == "cash" else Kind.PURCHASE
        transfers = [self._t(main, card_account, unsettled, amount, cur, code, LINKED if fee else 0)]
        if fee:
            transfers.append(self._t(id_from(key, "fee"), unsettled, chart.system_account_id(cur, "fee_income"),
                                     fee, cur, Kind.MDR_FEE))
        return self._book(key, kind, transfers, {**row, "fee": fee, "transfer_id": main})

    def cash_withdrawal(self, key: str, card_account: int, mid: str, cur: str, amount: int, *,
                        tid: str | None = None) -> Outcome:
        """ATM cash: the card pays the ATM owner's wallet (its contract's fee applies)."""
        return self.purchase(key, card_account, mid, cur, amount, tid=tid, kind="cash")

    def acquire_offus(self, key: str, issuer_ref: str, mid: str, cur: str, amount: int, *, tid: str | None = None,
                      kind: str = "purchase") -> Outcome:
        """Off-us acquiring: a sale approved by the remote issuer `issuer_ref` (no cardholder account here).
        The interchange receivable of that issuer pays the merchant's unsettled wallet; the rest is the
        purchase path itself (N8 merchant check, MDR fee N3/B11, idempotent on `key`), so `void`, batch
        close, settlement and chargebacks treat it as the sale it is (kind purchase or cash)."""
        self._ensure([chart.interchange_account(issuer_ref, cur)])  # created on first use, then known in memory
        return self.purchase(key, chart.interchange_account_id(issuer_ref, cur), mid, cur, amount, tid=tid,
                             kind=kind)

    def authorize_hold(self, key: str, card_account: int, mid: str, cur: str, amount: int, *,
                       timeout: int = DEFAULT_HOLD_TIMEOUT, tid: str | None = None) -> Outcome:
        """Pre-authorisation: a pending transfer card -> unsettled that expires after `timeout` seconds."""
        cur = currency(cur).numeric
        row = {"mid": mid, "tid": tid, "currency": cur, "card_account": card_account, "amount": amount,
               "state": "held"}
        if amount <= 0:
            return self._book(key, "hold", [], row, status=INVALID)
        _, refused = self._merchant_check(key, "hold", mid, row)
        if refused:
            return refused
        self.ensure_merchant_wallet(mid, cur)
        main = id_from(key, "main")
        t = self._t(main, card_account, chart.merchant_account_id(mid, cur, "unsettled"), amount, cur, Kind.HOLD,
                    F.PENDING, timeout=timeout)
        return self._book(key, "hold", [t], {**row, "transfer_id": main})

    def capture(self, key: str, original_key: str, amount: int | None = None, *, tid: str | None = None) -> Outcome:
        """Completion of a hold, in full (amount None) or in part; the rest of the hold is released."""
        return self._retrying(lambda: self._capture(key, original_key, amount, tid))

    def _capture(self, key: str, original_key: str, amount: int | None, tid: str | None) -> Outcome:
        orig = self.event_row(original_key)
        row = {"tid": tid, "original_key": original_key, "amount": amount or 0}
        if orig is None or orig.kind != "hold" or orig.outcome != OK:
            return self._book(key, "capture", [], row, status=NOT_FOUND)
        amt = orig.amount if amount is None else amount
        cur, mid = orig.currency, orig.mid
        fee = self.contract(self.merchant(mid)).mdr_fee(amt, cur)
        main = id_from(key, "main")
        transfers = [self._t(main, 0, 0, AMOUNT_MAX if amount is None else amt, cur, 0,
                             F.POST_PENDING_TRANSFER | (LINKED if fee else 0), pending_id=orig.transfer_id)]
        if fee:
            transfers.append(self._t(id_from(key, "fee"), chart.merchant_account_id(mid, cur, "unsettled"),
                                     chart.system_account_id(cur, "fee_income"), fee, cur, Kind.MDR_FEE))
        row.update(mid=mid, currency=cur, card_account=orig.card_account, amount=amt, fee=fee, transfer_id=main)
        return self._book(key, "capture", transfers, row,
                          guard=Guard.of(orig, ("held",), {"state": "captured"}))

    def card_transfer(self, key: str, from_account: int, to_account: int, cur: str, amount: int, *,
                      fee: int = 0, tid: str | None = None) -> Outcome:
        """Card-to-card transfer (Q1); the fee, if any, must be covered too or nothing moves (B3)."""
        cur = currency(cur).numeric
        row = {"tid": tid, "currency": cur, "card_account": from_account, "amount": amount, "fee": fee,
               "detail": {"to_account": to_account}}
        if amount <= 0 or fee < 0 or from_account == to_account:
            return self._book(key, "card_transfer", [], row, status=INVALID)
        self._ensure(chart.system_accounts(cur))
        main = id_from(key, "main")
        transfers = [self._t(main, from_account, to_account, amount, cur, Kind.CARD_TRANSFER, LINKED if fee else 0)]
        if fee:
            transfers.append(self._t(id_from(key, "fee"), from_account, chart.system_account_id(cur, "fee_income"),
                                     fee, cur, Kind.OTHER_FEE))
        return self._book(key, "card_transfer", transfers, {**row, "transfer_id": main})

    def fund_card(self, key: str, card_account: int, cur: str, amount: int) -> Outcome:
        """Top up a cardholder account from the issuer's funding account."""
        cur = currency(cur).numeric
        self._ensure(chart.system_accounts(cur))
        main = id_from(key, "main")
        t = self._t(main, chart.system_account_id(cur, "issuer_funding"), card_account, amount, cur, Kind.FUNDING)
        return self._book(key, "funding", [t], {"currency": cur, "card_account": card_account, "amount": amount,
                                                "transfer_id": main})
