"""Back office: batch close reconciliation (0500), settlement runs, payouts (N8, N9), periodic fees (N4),
dormancy (N16)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import func, select, update

from switch.ledger import TransferFlags, id_from
from switch.wallets import chart
from switch.wallets import tables as W
from switch.wallets.calendar import load_calendar
from switch.wallets.chart import Kind
from switch.wallets.currency import currency
from switch.wallets.merchant_ops import MerchantOps
from switch.wallets.outcome import OK, Outcome

F = TransferFlags
_SALES = ("purchase", "cash", "capture")


@dataclass(frozen=True)
class Reconciliation:
    """0500 batch close: the terminal's totals against the ledger's. Sales = debits to cardholders
    (purchases, completions, cash; ISO fields 76/88), refunds = credits (fields 74/86)."""
    tid: str
    batch_id: str
    in_balance: bool
    sales_count: int
    sales_amount: int
    refunds_count: int
    refunds_amount: int

    def as_dict(self) -> dict:
        return asdict(self)


class BackOffice(MerchantOps):
    # -- batch close ----------------------------------------------------------------------------------
    def close_batch(self, tid: str, batch_id: str, *, sales_count: int, sales_amount: int,
                    refunds_count: int, refunds_amount: int) -> Reconciliation:
        """Compare the terminal's totals with the open (not yet closed) events of `tid`; when they agree
        the events are closed under `batch_id` (answer in balance), else nothing changes (out of balance)."""
        c = W.events.c
        with self.engine.begin() as conn:
            open_ = (c.tid == tid, c.batch_id.is_(None), c.outcome == OK)
            sales = conn.execute(select(func.count(), func.coalesce(func.sum(c.amount), 0)).where(
                *open_, c.kind.in_(_SALES), c.state == "booked")).one()
            refunds = conn.execute(select(func.count(), func.coalesce(func.sum(c.amount), 0)).where(
                *open_, c.kind == "refund", c.state == "booked")).one()  # a reversed refund is not counted
            ours = (int(sales[0]), int(sales[1]), int(refunds[0]), int(refunds[1]))
            agree = ours == (sales_count, sales_amount, refunds_count, refunds_amount)
            if agree:
                conn.execute(update(W.events).where(*open_, c.state != "held").values(batch_id=batch_id))
        return Reconciliation(tid, batch_id, agree, *ours)

    # -- settlement -----------------------------------------------------------------------------------
    def run_settlement(self, day: dt.date, mid: str | None = None) -> list[Outcome]:
        """Settle every merchant wallet (or one merchant's) with unsettled funds; id = settlement date."""
        out = []
        for m in self.merchants() if mid is None else [self.merchant(mid)]:
            if m is None:
                continue
            for w in self.merchant_wallets(m.mid):
                if w["unsettled"] > 0:
                    out.append(self.settle(m.mid, w["currency"], f"S{day:%Y%m%d}"))
        return out

    # -- payouts --------------------------------------------------------------------------------------
    def schedule_payouts(self, day: dt.date, mid: str | None = None) -> list[dict]:
        """Reserve each active merchant's available funds for a payout due `payout_delay_days` business
        days later (N9: at most 10) on the merchant's calendar. Suspended merchants get none (N8)."""
        out = []
        for m in self.merchants() if mid is None else [self.merchant(mid)]:
            if m is None or not m.active:
                continue
            contract = self.contract(m)
            calendar = load_calendar(m.calendar or contract.calendar)
            delay = min(m.payout_delay_days if m.payout_delay_days >= 0 else contract.payout_delay_days, 10)
            due = calendar.add_business_days(day, delay) if delay else calendar.add_business_days(day, 0)
            for w in self.merchant_wallets(m.mid):
                if w["available"] > 0:
                    out.append(self._schedule(m.mid, w["currency"], day, due))
        return [p for p in out if p]

    def _schedule(self, mid: str, cur: str, day: dt.date, due: dt.date) -> dict | None:
        pid = f"P{day:%Y%m%d}:{mid}:{cur}"
        tid = id_from("payout", pid)
        hold = self._t(tid, chart.merchant_account_id(mid, cur, "available"), chart.system_account_id(cur, "settlement"),
                       2**62, cur, Kind.PAYOUT, F.PENDING | F.BALANCING_DEBIT)
        record: dict = {}

        def store(conn, results, booked) -> None:
            if results[0] != "ok" or booked[tid].amount == 0:
                return
            record.update(id=pid, mid=mid, currency=cur, amount=booked[tid].amount, transfer_id=tid,
                          scheduled_on=day, due_on=due, status="scheduled", paid_on=None)
            conn.execute(W.payouts.insert(), [record])

        self.ledger.create_transfers([hold], hook=store)
        return _iso(record) if record else None

    def execute_payouts(self, day: dt.date) -> list[dict]:
        """Pay every scheduled or held payout due by `day`; a suspended merchant's stay held (N8)."""
        c = W.payouts.c
        with self.engine.connect().execution_options(sqlite_readonly=True) as conn, conn.begin():
            due = [dict(r._mapping) for r in conn.execute(select(W.payouts).where(
                c.status.in_(("scheduled", "held")), c.due_on <= day).order_by(c.due_on, c.id))]
        out = []
        for p in due:
            m = self.merchant(p["mid"])
            if m is None or not m.active:
                self._payout_status(p["id"], "held")
                out.append(_iso({**p, "status": "held"}))
                continue
            post = self._t(id_from("payout-post", p["id"]), 0, 0, p["amount"], p["currency"], 0,
                           F.POST_PENDING_TRANSFER, pending_id=p["transfer_id"])

            def paid(conn, results, booked, pid=p["id"]) -> None:
                if results[0] in ("ok", "exists"):
                    conn.execute(update(W.payouts).where(W.payouts.c.id == pid).values(status="paid", paid_on=day))

            r = self.ledger.create_transfers([post], hook=paid)[0]
            out.append(_iso({**p, "status": "paid" if r in ("ok", "exists") else f"failed:{r}", "paid_on": day}))
        return out

    def cancel_payout(self, pid: str, day: dt.date) -> dict:
        """N10: a payout order may be cancelled until the end of the business day before its execution
        day; the reserved funds return to the available wallet, with no fee."""
        c = W.payouts.c
        with self.engine.connect().execution_options(sqlite_readonly=True) as conn, conn.begin():
            row = conn.execute(select(W.payouts).where(c.id == pid)).first()
        if row is None:
            return {"id": pid, "status": "not_found"}
        p = dict(row._mapping)
        m = self.merchant(p["mid"])
        calendar = load_calendar((m.calendar if m else "") or (self.contract(m).calendar if m else "SA"))
        last_day = p["due_on"] - dt.timedelta(days=1)
        while not calendar.is_business_day(last_day) and last_day > p["scheduled_on"]:
            last_day -= dt.timedelta(days=1)
        if p["status"] not in ("scheduled", "held") or day > last_day:
            return _iso({**p, "status": p["status"], "refused": "too late to cancel (N10)"})
        void = self._t(id_from("payout-cancel", pid), 0, 0, 0, p["currency"], 0, F.VOID_PENDING_TRANSFER,
                       pending_id=p["transfer_id"])

        def cancelled(conn, results, booked) -> None:
            if results[0] in ("ok", "exists"):
                conn.execute(update(W.payouts).where(c.id == pid).values(status="cancelled"))

        r = self.ledger.create_transfers([void], hook=cancelled)[0]
        return _iso({**p, "status": "cancelled" if r in ("ok", "exists") else f"failed:{r}"})

    def _payout_status(self, pid: str, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(W.payouts).where(W.payouts.c.id == pid).values(status=status))

    def payouts(self, mid: str | None = None) -> list[dict]:
        q = select(W.payouts).order_by(W.payouts.c.scheduled_on, W.payouts.c.id)
        if mid:
            q = q.where(W.payouts.c.mid == mid)
        with self.engine.connect().execution_options(sqlite_readonly=True) as conn, conn.begin():
            return [_iso(dict(r._mapping)) for r in conn.execute(q)]

    # -- periodic fees --------------------------------------------------------------------------------
    def charge_periodic_fees(self, day: dt.date) -> list[Outcome]:
        """N4: maintenance instalments due on 1 Jan (Q1) and 1 Apr (Q2); POS fee per device on each
        billing date, the 26th (N5). Each charge has its own key, so running daily charges each once."""
        out = []
        for m in self.merchants():
            if m.status in ("closed", "written_off"):
                continue
            contract, cur = self.contract(m), m.currency
            for half, start in (("Q1", dt.date(day.year, 1, 1)), ("Q2", dt.date(day.year, 4, 1))):
                fee = contract.maintenance_instalment(cur)
                if half == "Q2":
                    fee = contract.annual_maintenance_fee.get(currency(cur).alpha, 0) - fee
                if fee and start <= day and (m.opened_on is None or m.opened_on <= start):
                    out.append(self.charge_fee(f"fee:maintenance:{m.mid}:{day.year}{half}", m.mid, cur, fee,
                                               Kind.MAINTENANCE_FEE, f"annual maintenance fee {day.year} {half} instalment (N4)"))
            billing = dt.date(day.year, day.month, 26)
            fee = contract.pos_fee(cur, m.pos_devices)
            if fee and billing <= day and (m.opened_on is None or m.opened_on <= billing):
                out.append(self.charge_fee(f"fee:pos:{m.mid}:{billing:%Y-%m}", m.mid, cur, fee, Kind.POS_FEE,
                                           f"POS subscription {m.pos_devices} device(s), cycle ending {billing} (N4, N5)"))
        return [o for o in out if not o.duplicate]

    # -- dormancy -------------------------------------------------------------------------------------
    def dormancy_run(self, day: dt.date) -> list[dict]:
        """N16: notice after `notice_days` (150) without a payment, write-off after `write_off_days` (180)."""
        actions = []
        for m in self.merchants():
            if m.status in ("closed", "written_off"):
                continue
            contract = self.contract(m)
            last = self._last_payment(m.mid) or m.opened_on
            if last is None:
                continue
            idle = (day - last).days
            if idle >= contract.write_off_days:
                self.set_merchant_status(m.mid, "written_off", f"no payment for {idle} days (N16)")
                actions.append({"mid": m.mid, "action": "write_off", "idle_days": idle})
            elif idle >= contract.notice_days and m.dormancy_notice_on is None:
                self._set_notice(m.mid, day)
                actions.append({"mid": m.mid, "action": "notice", "idle_days": idle,
                                "write_off_on": (last + dt.timedelta(days=contract.write_off_days)).isoformat()})
            elif idle < contract.notice_days and m.dormancy_notice_on is not None:
                self._set_notice(m.mid, None)
        return actions

    def _last_payment(self, mid: str) -> dt.date | None:
        c = W.events.c
        with self.engine.connect().execution_options(sqlite_readonly=True) as conn, conn.begin():
            ns = conn.execute(select(func.max(c.created_ns)).where(c.mid == mid, c.outcome == OK,
                                                                   c.kind.in_(_SALES))).scalar()
        return None if ns is None else dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).date()

    def _set_notice(self, mid: str, day: dt.date | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(W.merchants).where(W.merchants.c.mid == mid).values(dormancy_notice_on=day))


def _iso(d: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in d.items()}
