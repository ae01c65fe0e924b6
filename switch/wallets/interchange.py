"""Off-us interchange with remote issuers: what each owes us for its cardholders' sales here (its
interchange receivable) and what we owe it for the refunds they got (its interchange payable), and the
scheme's settlement that clears both through the settlement bank account."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from switch.ledger import AMOUNT_MAX, TransferFlags, id_from
from switch.wallets import chart
from switch.wallets.backoffice import BackOffice
from switch.wallets.chart import Kind
from switch.wallets.currency import all_currencies, currency
from switch.wallets.outcome import Outcome
from switch.wallets.service import LINKED

F = TransferFlags


class Interchange(BackOffice):
    def interchange_positions(self, issuers: Iterable[str]) -> list[dict]:
        """[{"issuer", "currency", "receivable", "payable", "net"}] in minor units, for every issuer and
        currency with an interchange account; net > 0: the issuer owes us."""
        wanted = [(i, c.numeric) for i in issuers for c in all_currencies()]
        ids = [x for i, cur in wanted for x in (chart.interchange_account_id(i, cur), chart.interchange_payable_id(i, cur))]
        found = {a.id: a for a in self.ledger.lookup_accounts(ids)}
        out = []
        for issuer, cur in wanted:
            rec = found.get(chart.interchange_account_id(issuer, cur))
            pay = found.get(chart.interchange_payable_id(issuer, cur))
            if rec is None and pay is None:
                continue
            owed = rec.debits_posted - rec.credits_posted if rec else 0
            owing = pay.credits_posted - pay.debits_posted if pay else 0
            out.append({"issuer": issuer, "currency": cur, "receivable": owed, "payable": owing, "net": owed - owing})
        return out

    def settle_interchange(self, issuer_ref: str, cur: str, day: dt.date) -> Outcome:
        """The scheme's settlement with `issuer_ref` for `day`: what it owes us arrives at the settlement
        bank account, what we owe it leaves from there, and both its accounts end at zero (balancing
        transfers: whatever is booked when this runs). Idempotent by issuer, currency and day."""
        cur = currency(cur).numeric
        key = f"interchange:{issuer_ref}:{cur}:{day:%Y%m%d}"
        self._ensure([chart.interchange_account(issuer_ref, cur), chart.interchange_payable(issuer_ref, cur),
                      *chart.system_accounts(cur)])
        bank = chart.system_account_id(cur, "settlement")
        received, paid = id_from(key, "received"), id_from(key, "paid")
        transfers = [
            self._t(received, bank, chart.interchange_account_id(issuer_ref, cur), AMOUNT_MAX, cur, Kind.SETTLEMENT,
                    LINKED | F.BALANCING_CREDIT),
            self._t(paid, chart.interchange_payable_id(issuer_ref, cur), bank, AMOUNT_MAX, cur, Kind.SETTLEMENT,
                    F.BALANCING_DEBIT),
        ]

        def amounts(_conn, ctx: dict) -> None:
            booked = ctx["booked"]
            ctx["row"]["amount"] = booked[received].amount
            ctx["row"]["detail"] = {"issuer": issuer_ref, "received": booked[received].amount,
                                    "paid": booked[paid].amount}

        return self._book(key, "interchange", transfers, {"currency": cur, "transfer_id": received}, on_ok=amounts)
