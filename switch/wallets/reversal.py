"""Reversals (0400/0420): void a hold, take a booked sale back from the merchant (N7), or a refund back
from the card."""

from __future__ import annotations

from switch.ledger import PendingStatus, TransferFlags, id_from
from switch.wallets import chart
from switch.wallets.card import CardEvents
from switch.wallets.chart import Kind
from switch.wallets.outcome import INVALID, NOT_FOUND, OK, Outcome
from switch.wallets.service import LINKED, Guard

F = TransferFlags
_SALES = ("purchase", "cash", "capture")


class Reversals(CardEvents):
    def void(self, key: str, original_key: str, amount: int | None = None, *, tid: str | None = None) -> Outcome:
        """Reverse the event `original_key` in full (amount None) or in part; idempotent by `key`.

        A hold is voided (a partial reversal re-holds the rest); a booked purchase, cash withdrawal or
        completion is paid back to the card with its fee: from the unsettled wallet before settlement,
        afterwards from the available wallet with any shortfall to the receivable (N7). An off-us sale
        (`acquire_offus`) is the same event whose "card" is the issuer's interchange receivable: that is
        what the reversal credits. A refund is taken back from the card and given to the merchant. A second
        reversal of an already reversed event answers ok without booking.
        """
        return self._retrying(lambda: self._void(key, original_key, amount, tid))

    def _void(self, key: str, original_key: str, amount: int | None, tid: str | None) -> Outcome:
        orig = self.event_row(original_key)
        row = {"tid": tid, "original_key": original_key, "amount": amount or 0}
        if orig is None or orig.outcome != OK:
            return self._book(key, "reversal", [], row, status=NOT_FOUND)
        row.update(mid=orig.mid, currency=orig.currency, card_account=orig.card_account)
        if orig.state in ("voided", "reversed"):
            return self._book(key, "reversal", [], {**row, "detail": {"note": "already reversed"}}, status=OK)
        amt = orig.amount if amount is None else amount
        if not 0 < amt <= orig.amount:
            return self._book(key, "reversal", [], row, status=INVALID)
        row["amount"] = amt
        if orig.kind == "hold" and orig.state == "held":
            return self._void_hold(key, orig, amt, row)
        if orig.kind in _SALES and orig.state == "booked":
            return self._reverse_sale(key, orig, amt, row)
        if orig.kind == "card_transfer" and orig.state == "booked" and amt == orig.amount:
            return self._reverse_card_transfer(key, orig, row)
        if orig.kind == "refund" and orig.state == "booked":
            return self._reverse_refund(key, orig, amt, row)
        return self._book(key, "reversal", [], row, status=INVALID)

    def _void_hold(self, key: str, orig, amt: int, row: dict) -> Outcome:
        self.ledger.expire_pending()  # a hold past its timeout counts as released even if not yet swept
        if self.ledger.pending_status(orig.transfer_id) == PendingStatus.EXPIRED:
            # The hold timed out and its funds are already released: the reversal has nothing left to do.
            return self._book(key, "reversal", [], {**row, "detail": {"note": "hold expired"}}, status=OK,
                              guard=Guard.of(orig, ("held",), {"state": "expired"}))
        void = self._t(id_from(key, "main"), 0, 0, 0, orig.currency, 0, F.VOID_PENDING_TRANSFER,
                       pending_id=orig.transfer_id)
        if amt == orig.amount:
            return self._book(key, "reversal", [void], {**row, "transfer_id": void.id},
                              guard=Guard.of(orig, ("held",), {"state": "voided"}))
        # Partial reversal of a hold: release it and hold the rest under a new pending transfer.
        pending = self.ledger.lookup_transfers([orig.transfer_id])[0]
        rehold = self._t(id_from(key, "rehold"), pending.debit_account_id, pending.credit_account_id,
                         orig.amount - amt, orig.currency, Kind.HOLD, F.PENDING, timeout=pending.timeout)
        void.flags |= LINKED
        return self._book(key, "reversal", [void, rehold], {**row, "transfer_id": void.id},
                          guard=Guard.of(orig, ("held",), {"amount": orig.amount - amt, "transfer_id": rehold.id}))

    def _reverse_sale(self, key: str, orig, amt: int, row: dict) -> Outcome:
        cur, mid = orig.currency, orig.mid
        remaining = orig.amount - amt
        fee_back = orig.fee - (self.contract(self.merchant(mid)).mdr_fee(remaining, cur) if remaining else 0)
        fee_back = max(0, min(fee_back, orig.fee))
        card, fee_income = orig.card_account, chart.system_account_id(cur, "fee_income")
        values = {"state": "reversed"} if remaining == 0 else {"amount": remaining, "fee": orig.fee - fee_back}
        row = {**row, "fee": fee_back, "transfer_id": id_from(key, "main")}
        if orig.settlement_id is None:
            unsettled = chart.merchant_account_id(mid, cur, "unsettled")
            transfers = [self._t(id_from(key, "main"), unsettled, card, amt - fee_back, cur, Kind.REVERSAL, LINKED)]
            if fee_back:
                transfers[0].flags |= LINKED
                transfers.append(self._t(id_from(key, "fee"), fee_income, card, fee_back, cur, Kind.FEE_RETURN))
            transfers[-1].flags &= ~LINKED
            return self._book(key, "reversal", transfers, row,
                              guard=Guard.of(orig, ("booked",), values, unsettled_only=True))
        # Settled already: the merchant pays from its wallet, shortfall to receivable (N7).
        transfers = self._from_merchant(key, mid, cur, amt - fee_back, card, Kind.REVERSAL)
        if fee_back:
            transfers[-1].flags |= LINKED
            transfers.append(self._t(id_from(key, "fee"), fee_income, card, fee_back, cur, Kind.FEE_RETURN))
        row["transfer_id"] = transfers[0].id
        return self._book(key, "reversal", transfers, row, guard=Guard.of(orig, ("booked",), values))

    def _reverse_refund(self, key: str, orig, amt: int, row: dict) -> Outcome:
        """A refund taken back (a terminal's void): the card (off-us, the issuer's interchange payable) pays
        `amt` back to the merchant through the control account: first against its receivable (whatever
        the merchant owes, as settlement recovers it, N7), the rest to its available wallet. Linked: all
        or nothing; 51 when the card has spent the refund already (B3)."""
        cur, mid = orig.currency, orig.mid
        control = chart.system_account_id(cur, "control")
        transfers = [
            self._t(id_from(key, "main"), orig.card_account, control, amt, cur, Kind.REVERSAL, LINKED),
            self._t(id_from(key, "debt"), control, chart.merchant_account_id(mid, cur, "receivable"), amt, cur,
                    Kind.REVERSAL, LINKED | F.BALANCING_CREDIT),
            self._t(id_from(key, "wallet"), control, chart.merchant_account_id(mid, cur, "available"), amt, cur,
                    Kind.REVERSAL, F.BALANCING_DEBIT),
        ]
        values = {"state": "reversed"} if amt == orig.amount else {"amount": orig.amount - amt}
        return self._book(key, "reversal", transfers, {**row, "transfer_id": transfers[0].id},
                          guard=Guard.of(orig, ("booked",), values))

    def _reverse_card_transfer(self, key: str, orig, row: dict) -> Outcome:
        import json
        to_account = json.loads(orig.detail)["to_account"]
        cur = orig.currency
        transfers = [self._t(id_from(key, "main"), to_account, orig.card_account, orig.amount, cur, Kind.REVERSAL)]
        if orig.fee:
            transfers[0].flags |= LINKED
            transfers.append(self._t(id_from(key, "fee"), chart.system_account_id(cur, "fee_income"),
                                     orig.card_account, orig.fee, cur, Kind.FEE_RETURN))
        return self._book(key, "reversal", transfers, {**row, "fee": orig.fee, "transfer_id": transfers[0].id},
                          guard=Guard.of(orig, ("booked",), {"state": "reversed"}))

    def _from_merchant(self, key: str, mid: str, cur: str, amount: int, to_account: int, kind: int,
                       via: str = "control") -> list:
        """TigerBeetle's balancing recipe through a zero-balance control account (N7, N13, N14):
        control pays `amount` to `to_account`; the merchant's available wallet refills control with what it
        has, and the receivable (the merchant's debt) with the rest. All linked: all or nothing."""
        control = chart.system_account_id(cur, via)
        available = chart.merchant_account_id(mid, cur, "available")
        receivable = chart.merchant_account_id(mid, cur, "receivable")
        return [
            self._t(id_from(key, "pay"), control, to_account, amount, cur, kind, LINKED),
            self._t(id_from(key, "wallet"), available, control, amount, cur, kind,
                    LINKED | F.BALANCING_DEBIT | F.BALANCING_CREDIT),
            self._t(id_from(key, "debt"), receivable, control, amount, cur, kind, F.BALANCING_CREDIT),
        ]
