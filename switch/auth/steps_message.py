"""Message, terminal and merchant steps: each a small function `step(ctx, services)` that may decline."""

from __future__ import annotations

from switch.auth.context import AuthContext, Services
from switch.auth.policy import NEEDS_AMOUNT


def mandatory_fields(ctx: AuthContext, s: Services) -> None:
    """30 when a field the MTI/processing code needs is missing or malformed."""
    req = ctx.request
    for f in s.policy.mandatory_for(ctx.mti, ctx.txn_type):
        if f == "PAN":
            if not (req.get("2") or req.get("35")):
                return ctx.decline("30", "missing PAN (field 2 or 35)")
        elif not req.get(f):
            return ctx.decline("30", f"missing field {f}")
    if "3" in req and (len(req["3"]) != 6 or not req["3"].isdigit()):
        return ctx.decline("30", "bad processing code")
    if "4" in req and not req["4"].isdigit():
        return ctx.decline("30", "bad amount field")
    if "7" in req and (len(req["7"]) != 10 or not req["7"].isdigit()):
        return ctx.decline("30", "bad transmission time (field 7)")
    if ctx.mti in ("0220", "0400", "0420") and len(req.get("90", "")) < 20:
        return ctx.decline("30", "field 90 too short")
    return None


def duplicate(ctx: AuthContext, s: Services) -> None:
    """The same request again gets the stored answer; the same terminal+STAN with other content gets 94."""
    found = s.journal.check_duplicate(ctx)
    if ctx.sync is not None:  # a journal that does not read the generation: the store reads it
        ctx.sync()
        ctx.sync = None
    if found is None:
        return None
    kind, answer = found
    if kind == "same":
        ctx.stored_answer = answer
        ctx.finished = True
        return None
    return ctx.decline("94", "same terminal and STAN with different content")


def terminal_known(ctx: AuthContext, s: Services) -> None:
    term = s.store.terminal(ctx.tid)
    if term is None:
        return ctx.decline("58", "unknown terminal")
    if term.status != "active":
        return ctx.decline("58", f"terminal {term.status}")
    ctx.terminal = term
    if ctx.request.get("42") and ctx.request["42"].strip() != term.mid:
        return ctx.decline("58", "terminal not registered to this merchant (field 42)")
    return None


def merchant_active(ctx: AuthContext, s: Services) -> None:
    """03 unknown or closed merchant; 05 suspended merchant (N8: the reason is logged for the merchant)."""
    assert ctx.terminal is not None
    merchant = s.store.merchant(ctx.terminal.mid)
    if merchant is None:
        return ctx.decline("03", "unknown merchant")
    ctx.merchant = merchant
    if merchant.status == "suspended":
        return ctx.decline("05", f"merchant suspended (N8): {merchant.status_reason or 'no reason given'}")
    if merchant.status != "active":
        return ctx.decline("03", f"merchant {merchant.status}")
    return None


def mac_valid(ctx: AuthContext, s: Services) -> None:
    """63 when the terminal must MAC its messages and the MAC is missing or wrong (ISO 9797-1 alg 3)."""
    term = ctx.terminal
    if term is None or not term.mac_required:
        return None
    field = "128" if "128" in ctx.request else "64"
    mac = ctx.request.get(field)
    if not mac:
        return ctx.decline("63", "MAC missing")
    from switch.auth.mac import mac_input

    data = mac_input(ctx.request, ctx.listener_dialect, field)
    if s.hsm.verify_mac(tak=term.tak, data=data, mac=mac) != "00":
        return ctx.decline("63", "MAC verification failed")
    return None


def type_allowed(ctx: AuthContext, s: Services) -> None:
    """12 when the terminal kind may not do this transaction type (cash only at ATMs)."""
    assert ctx.terminal is not None
    allowed = s.policy.allowed_types.get(ctx.terminal.kind, [])
    if ctx.txn_type not in allowed:
        return ctx.decline("12", f"type {ctx.txn_type} not allowed at {ctx.terminal.kind}")
    if ctx.mti == "0100" and ctx.txn_type != "00":
        return ctx.decline("12", "pre-authorisation is for purchases only")
    return None


def merchant_category(ctx: AuthContext, s: Services) -> None:
    """57 for a merchant in a blocked category or flagged for prohibited goods (B13)."""
    m = ctx.merchant
    if m is None or ctx.txn_type in ("31", "20"):
        return None
    if m.mcc in s.policy.blocked_mcc:
        return ctx.decline("57", f"blocked MCC {m.mcc} (B13): {s.policy.blocked_mcc[m.mcc]}")
    if any(f in s.policy.blocked_flags for f in m.flags):
        return ctx.decline("57", "merchant flagged for prohibited goods (B13)")
    return None


def amount_valid(ctx: AuthContext, s: Services) -> None:
    """13 for a zero/negative amount or any surcharge (N6: no surcharge for card use, field 28)."""
    fee = ctx.request.get("28", "")
    if fee and fee.lstrip("CDcd").strip("0"):
        return ctx.decline("13", "surcharge not allowed (N6)")
    if ctx.txn_type in NEEDS_AMOUNT and ctx.amount <= 0:
        return ctx.decline("13", "amount must be greater than zero")
    if ctx.terminal and ctx.request.get("49") and ctx.request["49"] != ctx.terminal.currency:
        return ctx.decline("13", f"currency {ctx.request['49']} not accepted by this terminal")
    return None
