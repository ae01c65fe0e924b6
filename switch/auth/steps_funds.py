"""Risk and money steps: limits (N15, B4), funds and booking, reversals, completions, balance."""

from __future__ import annotations

from switch.auth.context import AuthContext, Services, log
from switch.auth.journal import request_key
from switch.auth.policy import LIMIT_CATEGORY, periods
from switch.issuer.secrets import parse_track2

# Ledger/wallet outcomes -> field 39 (switch.wallets.outcome names; the pipeline owns the mapping).
OUTCOME_RC = {"ok": "00", "exists": "00", "insufficient_funds": "51", "exceeds_credits": "51",
              "not_found": "25", "expired": "25", "invalid": "13", "no_account": "14", "merchant_unknown": "03",
              "merchant_suspended": "05", "duplicate_mismatch": "94"}


def limits(ctx: AuthContext, s: Services) -> None:
    """61 over an amount limit, 65 over a count limit, per transaction and per period (B4, N15)."""
    card = ctx.card
    category = LIMIT_CATEGORY.get(ctx.txn_type)
    if card is None or category is None:
        return None
    lim = s.policy.limits_for(card.kyc_level, category, card.limits)
    if "per_txn" in lim and ctx.amount > lim["per_txn"]:
        return ctx.decline("61", f"{category} amount over per-transaction limit")
    keys = periods(ctx.now)
    # Counted now, in the statement that reads the totals (on PostgreSQL its row locks make check-and-count
    # atomic across switch processes); a decline from here on gives it back (give_back).
    taken = (card.card_id, category, list(keys.values()), ctx.amount, 1)
    used = s.store.take_usage(*taken[:4])
    ctx.usage_taken = taken
    for name, period in keys.items():
        amount, count = used.get(period, (0, 0))
        if f"{name}_count" in lim and count + 1 > lim[f"{name}_count"]:
            ctx.decline("65", f"{name} {category} count limit reached")
            return give_back(ctx, s)
        if f"{name}_amount" in lim and amount + ctx.amount > lim[f"{name}_amount"]:
            ctx.decline("61", f"{name} {category} amount limit reached")
            return give_back(ctx, s)
    return None


def give_back(ctx: AuthContext, s: Services) -> None:
    """N15: a request `limits` counted and that ends declined (or answered by another process) comes off
    the counters again."""
    taken, ctx.usage_taken = ctx.usage_taken, None
    if taken is not None:
        s.store.undo_usage(taken)


def book(ctx: AuthContext, s: Services) -> None:
    """Book an approved request in the ledger; 51 when the cardholder account cannot cover it (B3)."""
    _book(ctx, s)
    if ctx.rc is not None:
        give_back(ctx, s)


def _book(ctx: AuthContext, s: Services) -> None:
    card, term = ctx.card, ctx.terminal
    if card is None or term is None:
        return book_offus(ctx, s) if ctx.remote else None  # remote issuer: here only after its approval
    ctx.txn_ref = request_key(ctx)
    common = {"account": card.account_id, "mid": term.mid, "tid": term.tid, "currency": card.currency,
              "amount": ctx.amount}
    t = ctx.txn_type
    if t == "31":
        ledger, available = s.funds.balance(card.account_id)
        ctx.response["54"] = balance_field(card.currency, ledger, available)
        ctx.state = "inquiry"
        return None
    if ctx.mti == "0100":
        outcome = s.funds.hold(ctx.txn_ref, timeout=s.policy.hold_timeout, **common)
        ctx.state = "held"
    elif t == "00":
        outcome = s.funds.purchase(ctx.txn_ref, **common)
    elif t == "01":
        outcome = s.funds.cash(ctx.txn_ref, **common)
    elif t == "20":
        outcome = s.funds.refund(ctx.txn_ref, **common)
    elif t == "40":
        dest = s.store.find_card(ctx.request.get("103", "").strip())
        if dest is None or dest.status != "active" or dest.currency != card.currency:
            return ctx.decline("14", "unknown or inactive destination card")
        outcome = s.funds.transfer(ctx.txn_ref, account=card.account_id, to_account=dest.account_id,
                                   tid=term.tid, currency=card.currency, amount=ctx.amount)
    else:
        return ctx.decline("12", f"unsupported processing code {ctx.proc}")
    rc = OUTCOME_RC.get(outcome, "96")
    if rc != "00":
        return ctx.decline(rc, f"ledger: {outcome}")
    ctx.state = ctx.state or "approved"  # counted by the limits step already (N15)
    return None


# Remote approvals booked to the merchant at once, by processing code. A pre-authorisation is booked by
# its completion (complete -> _complete_remote), which is also passed on to the issuer.
OFFUS_BOOKED = {"00": "purchase", "01": "cash", "20": "refund"}


def book_offus(ctx: AuthContext, s: Services) -> None:
    """A sale the remote issuer approved: its interchange receivable pays the merchant, minus the MDR fee
    (N3, B11); a refund it approved: the merchant pays it (N7: wallet, then receivable), owed to that
    issuer. Limits are that issuer's business (N15: not counted here). If the booking is refused (e.g. N8
    suspended merchant) the terminal gets the decline and the issuer a reversal advice for its approval."""
    term = ctx.terminal
    kind = OFFUS_BOOKED.get(ctx.txn_type)
    if term is None or kind is None or ctx.mti != "0200":
        return None  # approved by the issuer, nothing to book here (balance, transfer, pre-auth)
    sync = getattr(s.store, "sync", None)
    if sync is not None:  # the forward took up to the issuer's timeout: re-read a merchant suspended since (N8)
        sync()
    ctx.txn_ref = request_key(ctx)
    common = {"issuer": ctx.issuer.issuer_id, "mid": term.mid, "tid": term.tid, "currency": term.currency,
              "amount": ctx.amount}
    if kind == "refund":
        outcome = s.funds.offus_refund(ctx.txn_ref, **common)
    else:
        outcome = s.funds.offus(ctx.txn_ref, cash=kind == "cash", **common)
    rc = OUTCOME_RC.get(outcome, "96")
    if rc != "00":
        undo_remote_approval(ctx, s)
        return ctx.decline(rc, f"ledger: {outcome}; the remote approval is reversed by advice")
    return None


def remote_approved(ctx: AuthContext) -> bool:
    """The remote issuer approved this request (ctx.remote is set by card_lookup; after it, only the
    remote_issuer step declines for that issuer, so any other outcome followed its approval)."""
    return ctx.remote and ctx.step != "remote_issuer"


def undo_remote_approval(ctx: AuthContext, s: Services) -> None:
    """We decline what the remote issuer approved: queue the 0420 advice that releases its approval
    (inside a job: committed with the answer) and drop its approval code and ARPC from our answer."""
    for f in ("38", "54", "55"):
        ctx.response.pop(f, None)
    s.remote.queue_reversal(ctx.issuer.issuer_id, ctx.request)


def balance_field(currency: str, ledger: int, available: int) -> str:
    """Field 54 additional amounts: account type 00, amount type 01 ledger / 02 available, C/D sign."""
    def one(kind: str, v: int) -> str:
        return f"00{kind}{currency}{'C' if v >= 0 else 'D'}{abs(v):012d}"
    return one("01", ledger) + one("02", available)


def find_original(ctx: AuthContext, s: Services) -> None:
    """25 when field 90 names no request from this terminal (reversal or completion)."""
    wanted = ("0100",) if ctx.mti == "0220" else ("0100", "0200", "0220")
    row = s.journal.find_original(ctx.tid, ctx.request.get("90", ""), wanted)
    if row is None:
        return ctx.decline("25", "original transaction not found")
    ctx.original = row
    if row.get("card_id"):
        ctx.card = s.store.card_by_id(row["card_id"])
        ctx.pan = ctx.card.pan if ctx.card else None
    return None


def reverse(ctx: AuthContext, s: Services) -> None:
    """Release or give back the original amount (full, or partial via field 95's replacement amount).
    A reversal after settlement is booked as a refund (N7: recovered from the merchant's wallet)."""
    o = ctx.original
    assert o is not None
    ctx.txn_ref = request_key(ctx)
    if o["rc"] != "00" or o["state"] in ("inquiry", "reversed"):
        ctx.state = "noop"
        return None  # nothing was booked or it is already reversed: acknowledge
    if o["state"] == "captured":  # on-us the wallets refuse it too: the sale is the completion's
        return ctx.decline("13", "pre-authorisation completed: reverse the completion")
    amount = _reversal_amount(ctx, o)
    if amount is None:
        return ctx.decline("13", "replacement amount exceeds the original")
    if amount <= 0:
        ctx.state = "noop"
        return None
    if o["card_id"] is None:  # approved by a remote issuer (an on-us approval always has its card)
        return _reverse_remote(ctx, s, amount)
    uncounted = _uncount(ctx, s, o, amount)
    outcome = s.funds.reverse(ctx.txn_ref, original_key=o["txn_ref"], amount=amount, tid=ctx.tid)
    if outcome == "settled":
        card = ctx.card
        outcome = s.funds.refund(ctx.txn_ref + ":refund", account=card.account_id if card else "",
                                 mid=o["mid"], tid=ctx.tid, currency=o["currency"], amount=amount,
                                 original_key=o["txn_ref"])
        ctx.state = "refund"
    rc = OUTCOME_RC.get(outcome, "96")
    if rc != "00":
        if uncounted is not None:  # nothing was reversed: the counters as they were
            s.store.undo_usage(uncounted)
        return ctx.decline(rc, f"ledger: {outcome}")
    _mark_reversed(ctx, s, amount)
    ctx.state = ctx.state or "reversal"
    if o["proc"]:
        ctx.request = {**ctx.request, "3": o["proc"]}  # journalled with the original's processing code
    return None


def _uncount(ctx: AuthContext, s: Services, o: dict, amount: int) -> tuple | None:
    """N15: the reversed amount comes off the original's limit counters before the ledger is touched: the
    order a purchase locks them in (limits, then book), so two switch processes on PostgreSQL never wait
    for each other in a cycle (counters, then accounts, always)."""
    category = LIMIT_CATEGORY.get((o["proc"] or "")[:2])
    if ctx.card is None or category is None:
        return None
    change = (ctx.card.card_id, category, list(periods(ctx.now).values()), -amount, -1)
    s.store.add_usage(*change)
    return change


def _reversal_amount(ctx: AuthContext, o: dict) -> int | None:
    """What this reversal gives back: the rest of the original, or down to field 95's replacement amount;
    None when the replacement exceeds the original."""
    reversed_before = int(o["reversed_amount"] or 0)
    if not ctx.request.get("95"):
        return int(o["amount"]) - reversed_before
    replacement = int(ctx.request["95"][:12] or 0)
    amount = int(o["amount"]) - replacement - reversed_before
    if amount < 0 or replacement > int(o["amount"]):
        return None
    return amount


def _mark_reversed(ctx: AuthContext, s: Services, amount: int) -> None:
    o = ctx.original
    done = int(o["reversed_amount"] or 0) + amount
    s.journal.update_original(o["id"], state="reversed" if done >= int(o["amount"]) else "part_reversed",
                              reversed_amount=done)


def _reverse_remote(ctx: AuthContext, s: Services, amount: int) -> None:
    """The original was approved by a remote issuer: pass the reversal on as an advice, queued and retried
    until that issuer acknowledges it, and take the off-us sale back from the merchant (in full or part,
    N7 after settlement) in the same job; the terminal gets 00 at once. Originals approved but not booked
    here (balance, transfer, pre-authorisation, or journalled before off-us booking) only get the advice."""
    o = ctx.original
    issuer_id, pan = _remote_issuer_of(ctx, s)
    if issuer_id is None:
        return ctx.decline("25", "original approved by a remote issuer that is not known for this card")
    if o["txn_ref"]:
        outcome = s.funds.reverse(ctx.txn_ref, original_key=o["txn_ref"], amount=amount, tid=ctx.tid)
        rc = OUTCOME_RC.get(outcome, "96")
        if rc != "00":
            return ctx.decline(rc, f"ledger: {outcome}")
    s.remote.queue_message(issuer_id, {**ctx.request, "t": "0420", "2": pan})
    _mark_reversed(ctx, s, amount)
    ctx.state = "reversal"
    return None


def complete(ctx: AuthContext, s: Services) -> None:
    """0220 completion of a pre-authorisation: post up to the held amount (13 above it)."""
    o = ctx.original
    assert o is not None
    ctx.txn_ref = request_key(ctx)
    if o["card_id"] is None and o["rc"] == "00":  # approved by a remote issuer (on-us always has its card)
        return _complete_remote(ctx, s)
    if o["rc"] != "00" or o["state"] != "held":
        return ctx.decline("25", f"pre-authorisation not open ({o['state']})")
    if ctx.amount > int(o["amount"]):
        return ctx.decline("13", "completion above the authorised amount")
    outcome = s.funds.capture(ctx.txn_ref, original_key=o["txn_ref"], amount=ctx.amount, tid=ctx.tid)
    rc = OUTCOME_RC.get(outcome, "96")
    if rc != "00":
        return ctx.decline(rc, f"ledger: {outcome}")
    s.journal.update_original(o["id"], state="captured")
    ctx.state = "approved"
    log.info("completion of %s for %d", ctx.masked_pan, ctx.amount)
    return None


def _complete_remote(ctx: AuthContext, s: Services) -> None:
    """0220 completion of a pre-authorisation a remote issuer approved: booked now as the off-us sale it
    is (interchange receivable -> merchant, MDR fee N3/B11, N8 merchant check), and passed on to that
    issuer as a 0220 advice queued in the same job (sent and retried until answered), so its hold becomes
    the final amount. Its reversal voids the booking and sends a 0420, as for any off-us sale."""
    o = ctx.original
    if o["state"] != "approved":
        return ctx.decline("25", f"pre-authorisation not open ({o['state']})")
    if ctx.amount > int(o["amount"]):
        return ctx.decline("13", "completion above the authorised amount")
    issuer_id, pan = _remote_issuer_of(ctx, s)
    term = ctx.terminal
    if issuer_id is None or term is None:
        return ctx.decline("25", "original approved by a remote issuer that is not known for this card")
    outcome = s.funds.offus(ctx.txn_ref, issuer=issuer_id, mid=term.mid, tid=term.tid,
                            currency=o["currency"] or term.currency, amount=ctx.amount)
    rc = OUTCOME_RC.get(outcome, "96")
    if rc != "00":
        return ctx.decline(rc, f"ledger: {outcome}")
    s.remote.queue_message(issuer_id, {**ctx.request, "t": "0220", "2": pan})
    s.journal.update_original(o["id"], state="captured")
    ctx.state = "approved"
    log.info("off-us completion of %s for %d, advice queued to %s", ctx.masked_pan, ctx.amount, issuer_id)
    return None


def _remote_issuer_of(ctx: AuthContext, s: Services) -> tuple[str | None, str]:
    """(issuer id, PAN) of the remote issuer that approved ctx.original, as journalled with it. A PAN in
    the request (field 2 or 35) must be the original's; originals journalled before issuer ids were kept
    are routed by it. (None, PAN) when no remote issuer can be named or no remote route is set up."""
    o = ctx.original
    track2 = parse_track2(ctx.request.get("35", "")) if not ctx.request.get("2") else None
    sent = ctx.request.get("2") or (track2.pan if track2 else "")
    pan = s.journal.original_pan(o) or sent
    if sent and sent != pan:
        return None, sent  # another card than the original's: not passed on
    issuer_id = o.get("issuer_id")
    if issuer_id is None:
        routed = s.store.route_bin(pan) if pan else None
        issuer_id = routed[0].issuer_id if routed is not None and routed[0].kind == "remote" else None
    if issuer_id is None or s.remote is None:
        return None, pan
    ctx.offus_issuer, ctx.pan = issuer_id, pan  # journalled with this request too (its own reversal)
    return issuer_id, pan
