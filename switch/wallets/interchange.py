"""Off-us interchange with remote issuers: what each owes us for its cardholders' sales here (its
interchange receivable) and what we owe it for the refunds they got (its interchange payable), and the
scheme's settlement that clears both through the settlement bank account."""

from __future__ import annotations

import datetime as dt
import json
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
        wanted = {(i, c.numeric): (chart.interchange_account_id(i, c.numeric), chart.interchange_payable_id(i, c.numeric))
                  for i in issuers for c in all_currencies()}
        found = {a.id: a for a in self.ledger.lookup_accounts([x for pair in wanted.values() for x in pair])}
        out = []
        for (issuer, cur), (rec_id, pay_id) in wanted.items():
            rec, pay = found.get(rec_id), found.get(pay_id)
            if rec is None and pay is None:
                continue
            owed = rec.debits_posted - rec.credits_posted if rec else 0
            owing = pay.credits_posted - pay.debits_posted if pay else 0
            out.append({"issuer": issuer, "currency": cur, "receivable": owed, "payable": owing, "net": owed - owing})
        return out

    def settle_interchange(self, issuer_ref: str, cur: str, day: dt.date) -> Outcome:
        """The scheme's settlement with `issuer_ref` for `day`: what it owes us arrives at the settlement
        bank account and what we owe it leaves from there, so both its accounts end at zero. Balancing
        transfers clear whatever is booked when this runs, in either direction (a sale reversed after the
        last settlement left the receivable owing the other way). Idempotent by issuer, currency and day;
        the amounts moved are in `settlement_of`."""
        cur = currency(cur).numeric
        key = _key(issuer_ref, cur, day)
        self._ensure([chart.interchange_account(issuer_ref, cur), chart.interchange_payable(issuer_ref, cur),
                      *chart.system_accounts(cur)])
        bank = chart.system_account_id(cur, "settlement")
        receivable, payable = chart.interchange_account_id(issuer_ref, cur), chart.interchange_payable_id(issuer_ref, cur)
        legs = {  # name -> (debit, credit, balancing flag): each clamps to one side's balance, the others book 0
            "received": (bank, receivable, F.BALANCING_CREDIT), "repaid": (receivable, bank, F.BALANCING_DEBIT),
            "paid": (payable, bank, F.BALANCING_DEBIT), "refunded": (bank, payable, F.BALANCING_CREDIT)}
        ids = {name: id_from(key, name) for name in legs}
        transfers = [self._t(ids[name], dr, cr, AMOUNT_MAX, cur, Kind.SETTLEMENT, LINKED | flag)
                     for name, (dr, cr, flag) in legs.items()]
        transfers[-1].flags &= ~LINKED

        def amounts(_conn, ctx: dict) -> None:
            moved = {name: ctx["booked"][ids[name]].amount for name in legs}
            ctx["row"]["amount"] = moved["received"] - moved["repaid"]
            ctx["row"]["detail"] = {"issuer": issuer_ref, "received": moved["received"] - moved["repaid"],
                                    "paid": moved["paid"] - moved["refunded"]}

        return self._book(key, "interchange", transfers, {"currency": cur, "transfer_id": ids["received"]},
                          on_ok=amounts)

    def settle_interchanges(self, issuers: Iterable[str], day: dt.date) -> list[dict]:
        """Settle every issuer and currency with something to clear (or settled already that day: its
        stored amounts again): [{"issuer", "currency", "date", "received", "paid", "status", "again"}]."""
        out = []
        for pos in self.interchange_positions(issuers):
            issuer, cur = pos["issuer"], pos["currency"]
            if not (pos["receivable"] or pos["payable"] or self.settlement_of(issuer, cur, day)):
                continue  # nothing to clear: the day's key stays free for later bookings
            outcome = self.settle_interchange(issuer, cur, day)
            moved = self.settlement_of(issuer, cur, day) or {}
            out.append({"issuer": issuer, "currency": cur, "date": day.isoformat(), "received": moved.get("received", 0),
                        "paid": moved.get("paid", 0), "status": outcome.status, "again": outcome.duplicate})
        return out

    def settlement_of(self, issuer_ref: str, cur: str, day: dt.date) -> dict | None:
        """{"issuer", "received", "paid"} as booked by `settle_interchange` for that day (net amounts:
        negative when they went the other way), or None."""
        row = self.event_row(_key(issuer_ref, currency(cur).numeric, day))
        if row is None or row.outcome != "ok":
            return None
        return json.loads(row.detail)


def _key(issuer_ref: str, cur: str, day: dt.date) -> str:
    return f"interchange:{issuer_ref}:{cur}:{day:%Y%m%d}"
