"""Money the merchant gives back or owes: refund, chargeback, fees, clawback; and settlement."""

from __future__ import annotations

from sqlalchemy import Connection, func, select, update

from switch.ledger import AMOUNT_MAX, TransferFlags, id_from
from switch.wallets import chart
from switch.wallets import tables as W
from switch.wallets.chart import Kind
from switch.wallets.currency import currency
from switch.wallets.outcome import INVALID, MERCHANT_UNKNOWN, NOT_FOUND, OK, Outcome
from switch.wallets.reversal import Reversals
from switch.wallets.service import LINKED, Guard

F = TransferFlags
_SALES = ("purchase", "cash", "capture")


class MerchantOps(Reversals):
    def refund(self, key: str, card_account: int, mid: str, cur: str, amount: int, *, tid: str | None = None) -> Outcome:
        """Refund to the card from the merchant's available wallet; a shortfall becomes receivable (N7)."""
        cur = currency(cur).numeric
        row = {"mid": mid, "tid": tid, "currency": cur, "card_account": card_account, "amount": amount}
        if amount <= 0:
            return self._book(key, "refund", [], row, status=INVALID)
        _, refused = self._merchant_check(key, "refund", mid, row)
        if refused:
            return refused
        self.ensure_merchant_wallet(mid, cur)
        transfers = self._from_merchant(key, mid, cur, amount, card_account, Kind.REFUND)
        return self._book(key, "refund", transfers, {**row, "transfer_id": transfers[0].id})

    def refund_offus(self, key: str, issuer_ref: str, mid: str, cur: str, amount: int, *,
                     tid: str | None = None) -> Outcome:
        """Off-us refund a remote issuer approved: the merchant pays as for any refund (wallet first, then
        receivable, N7), and what it pays is owed to that issuer (its interchange payable)."""
        self._ensure([chart.interchange_payable(issuer_ref, cur)])  # created on first use, then known in memory
        return self.refund(key, chart.interchange_payable_id(issuer_ref, cur), mid, cur, amount, tid=tid)

    def chargeback(self, key: str, original_key: str, amount: int | None = None) -> Outcome:
        """N13: on chargeback the merchant repays the full amount at once (wallet first, then receivable)."""
        return self._retrying(lambda: self._chargeback(key, original_key, amount))

    def _chargeback(self, key: str, original_key: str, amount: int | None) -> Outcome:
        orig = self.event_row(original_key)
        row = {"original_key": original_key, "amount": amount or 0}
        if orig is None or orig.outcome != OK or orig.kind not in _SALES:
            return self._book(key, "chargeback", [], row, status=NOT_FOUND)
        amt = orig.amount if amount is None else amount
        row.update(mid=orig.mid, currency=orig.currency, card_account=orig.card_account, amount=amt)
        if orig.state != "booked" or not 0 < amt <= orig.amount:
            return self._book(key, "chargeback", [], row, status=INVALID)
        transfers = self._from_merchant(key, orig.mid, orig.currency, amt, orig.card_account, Kind.CHARGEBACK,
                                        via="chargebacks")
        return self._book(key, "chargeback", transfers, {**row, "transfer_id": transfers[0].id},
                          guard=Guard.of(orig, ("booked",), {"state": "charged_back"}))

    def charge_fee(self, key: str, mid: str, cur: str, amount: int, kind: int = Kind.OTHER_FEE,
                   note: str = "") -> Outcome:
        """A merchant fee (N4, N17, N18) from the wallet; what the wallet lacks becomes receivable."""
        cur = currency(cur).numeric
        row = {"mid": mid, "currency": cur, "amount": amount, "fee": amount, "detail": {"note": note}}
        if self.merchant(mid) is None:
            return self._book(key, "fee", [], row, status=MERCHANT_UNKNOWN)
        if amount <= 0:
            return self._book(key, "fee", [], row, status=INVALID)
        self.ensure_merchant_wallet(mid, cur)
        transfers = self._from_merchant(key, mid, cur, amount, chart.system_account_id(cur, "fee_income"), kind)
        return self._book(key, "fee", transfers, {**row, "transfer_id": transfers[0].id})

    def clawback(self, key: str, mid: str, cur: str, amount: int, reason: str) -> Outcome:
        """N14: take back a duplicated or mistaken deposit; money already paid out becomes receivable, due in 7 days."""
        cur = currency(cur).numeric
        row = {"mid": mid, "currency": cur, "amount": amount, "detail": {"note": reason, "repay_within_days": 7}}
        if self.merchant(mid) is None:
            return self._book(key, "clawback", [], row, status=MERCHANT_UNKNOWN)
        if amount <= 0:
            return self._book(key, "clawback", [], row, status=INVALID)
        self.ensure_merchant_wallet(mid, cur)
        transfers = self._from_merchant(key, mid, cur, amount, chart.system_account_id(cur, "settlement"), Kind.CLAWBACK)
        return self._book(key, "clawback", transfers, {**row, "transfer_id": transfers[0].id})

    def settle(self, mid: str, cur: str, settlement_id: str) -> Outcome:
        """Move the merchant's settled-able funds (posted in unsettled, fees already taken) to available.

        The merchant's debt (receivable) is recovered first from these credits (N7, N13). Idempotent by
        settlement_id. Marks the settled events with settlement_id.
        """
        cur = currency(cur).numeric
        key = f"settle:{mid}:{cur}:{settlement_id}"
        self.ensure_merchant_wallet(mid, cur)
        control = chart.system_account_id(cur, "control")
        unsettled = chart.merchant_account_id(mid, cur, "unsettled")
        receivable = chart.merchant_account_id(mid, cur, "receivable")
        available = chart.merchant_account_id(mid, cur, "available")
        main = id_from(key, "main")
        transfers = [
            self._t(main, unsettled, control, AMOUNT_MAX, cur, Kind.SETTLEMENT, LINKED | F.BALANCING_DEBIT),
            self._t(id_from(key, "recover"), control, receivable, AMOUNT_MAX, cur, Kind.RECOVERY,
                    LINKED | F.BALANCING_DEBIT | F.BALANCING_CREDIT),
            self._t(id_from(key, "credit"), control, available, AMOUNT_MAX, cur, Kind.SETTLEMENT, F.BALANCING_DEBIT),
        ]
        box: dict = {}

        def mark(conn: Connection, ctx: dict) -> None:
            booked = ctx["booked"]
            box["amount"] = booked[main].amount
            box["recovered"] = booked[transfers[1].id].amount
            box["gross"], box["fees"] = _mark_settled(conn, mid, cur, settlement_id)
            ctx["row"]["detail"] = {k: box[k] for k in ("gross", "fees", "recovered")}
            ctx["row"]["amount"] = box["amount"]

        row = {"mid": mid, "currency": cur, "transfer_id": main, "settlement_id": settlement_id}
        return self._book(key, "settlement", transfers, row, on_ok=mark)


def _mark_settled(conn: Connection, mid: str, cur: str, settlement_id: str) -> tuple[int, int]:
    c = W.events.c
    where = (c.mid == mid, c.currency == cur, c.settlement_id.is_(None), c.outcome == OK, c.state != "held",
             c.kind != "settlement")
    gross, fees = conn.execute(select(func.coalesce(func.sum(c.amount), 0), func.coalesce(func.sum(c.fee), 0))
                               .where(*where, c.kind.in_(_SALES), c.state == "booked")).one()
    conn.execute(update(W.events).where(*where).values(settlement_id=settlement_id))
    return int(gross), int(fees)
