"""The pipeline runner: picks the step list for a request, runs it, shapes and journals the answer.

Step lists are data (tuples of functions); each step is `step(ctx, services) -> None` and stops the run by
declining (`ctx.decline(rc, reason)`) or by finishing the answer (`ctx.finished`). Every decline is logged
with its step, reason and masked PAN.
"""

from __future__ import annotations

import itertools
import os
import random
import time
from collections.abc import Callable, Sequence

from switch.auth import steps_card as card
from switch.auth import steps_funds as funds
from switch.auth import steps_message as msg
from switch.auth.context import AuthContext, Services, log
from switch.auth.emv import arc_for, issuer_auth_data
from switch.auth.journal import AnsweredElsewhere

Step = Callable[[AuthContext, Services], None]


def remote_issuer(ctx: AuthContext, s: Services) -> None:
    """Forward a card of a remote issuer's BIN range to its host; 91 on timeout (reversal queued). Its
    approval goes on: the card steps have no card to check, and `book` books the off-us sale in the job."""
    if not ctx.remote:
        return None
    if s.remote is None:
        return ctx.decline("91", "no route to the remote issuer")
    ctx.offus_issuer = ctx.issuer.issuer_id  # journalled with the PAN, for the completion or reversal
    answer = s.remote.forward(ctx)
    ctx.response.update({k: v for k, v in answer.items() if k in ("38", "54", "55")})
    rc = answer.get("39", "96")
    if rc != "00":
        return ctx.decline(rc, answer.get("_reason", "declined by the remote issuer"))
    ctx.state = "approved"
    return None


# The card checks shared by every card-present financial request, in the order of the issue.
CARD_STEPS: tuple[Step, ...] = (card.card_lookup, remote_issuer, card.card_status, card.expiry,
                                card.service_code, card.cvv, card.pin, card.arqc)

PIPELINES: dict[str, tuple[Step, ...]] = {
    "financial": (msg.mandatory_fields, msg.duplicate, msg.terminal_known, msg.merchant_active, msg.mac_valid,
                  msg.type_allowed, msg.merchant_category, msg.amount_valid, *CARD_STEPS, funds.limits,
                  funds.book),
    "completion": (msg.mandatory_fields, msg.duplicate, msg.terminal_known, msg.merchant_active, msg.mac_valid,
                   msg.amount_valid, funds.find_original, funds.complete),
    "reversal": (msg.mandatory_fields, msg.duplicate, msg.terminal_known, msg.mac_valid, funds.find_original,
                 funds.reverse),
}


# Steps that write (or must read what the requests before them wrote): they run in the request's job.
WRITE_STEPS = frozenset({funds.limits, funds.book, funds.find_original, funds.complete, funds.reverse})
UNJOURNALLED = ("30", "94")  # answers not journalled: they would clash with the request that owns the key


APPROVAL_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: read over the phone


def pipeline_for(mti: str) -> Sequence[Step]:
    if mti in ("0400", "0420"):
        return PIPELINES["reversal"]
    if mti == "0220":
        return PIPELINES["completion"]
    return PIPELINES["financial"]


# Steps that never read the store's cached data: the cache may still be synced after them.
STORE_FREE = frozenset({msg.mandatory_fields})

_SPLITS: dict[int, tuple[Sequence[Step], Sequence[Step], Sequence[Step], bool]] = {}


def _split(steps: Sequence[Step]) -> tuple[Sequence[Step], Sequence[Step], bool]:
    """(checks, writes, sync in duplicate): the steps before the first that writes, the rest, and whether
    the duplicate check comes before any step that reads the store's cache. Computed once per step list
    (kept with the list itself, so an id reused by a new list is not taken for it)."""
    known = _SPLITS.get(id(steps))
    if known is None or known[0] is not steps:
        i = next((i for i, step in enumerate(steps) if step in WRITE_STEPS), len(steps))
        before = next((steps[:j] for j, step in enumerate(steps[:i]) if step is msg.duplicate), None)
        known = (steps, steps[:i], steps[i:], before is not None and all(st in STORE_FREE for st in before))
        _SPLITS[id(steps)] = known
    return known[1], known[2], known[3]


class Numbers:
    """RRN (field 37) and approval codes (field 38); a random per-process prefix keeps several switch
    processes on one database from handing out the same RRN."""

    def __init__(self) -> None:
        self._seq = itertools.count(random.SystemRandom().randrange(0, 1000) * 1000)
        self._rand = random.Random(int.from_bytes(os.urandom(8), "big"))
        self._hour_prefix = (-1, "")

    def rrn(self) -> str:
        hour = int(time.time()) // 3600  # UTC hours start at multiples of 3600 s of the epoch
        current = self._hour_prefix  # (hour, YDDDhh): formatted once an hour, swapped as one tuple (threads)
        if current[0] != hour:
            t = time.gmtime(hour * 3600)
            current = self._hour_prefix = (hour, f"{t.tm_year % 10}{t.tm_yday:03d}{t.tm_hour:02d}")
        return f"{current[1]}{next(self._seq) % 1_000_000:06d}"

    def approval(self) -> str:
        return "".join(self._rand.choices(APPROVAL_ALPHABET, k=6))  # one call, not six choice() calls


class Runner:
    def __init__(self, services: Services) -> None:
        self.s = services
        self.numbers = services.approval_counter or Numbers()

    def run(self, ctx: AuthContext, steps: Sequence[Step] | None = None) -> dict[str, str]:
        steps = steps if steps is not None else pipeline_for(ctx.mti)
        self._steps(ctx, steps)
        if ctx.stored_answer is not None:
            return ctx.stored_answer
        try:
            return self.answer(ctx)
        except AnsweredElsewhere as elsewhere:
            funds.give_back(ctx, self.s)  # no job here: each step committed on its own (N15)
            return elsewhere.answer

    def _steps(self, ctx: AuthContext, steps: Sequence[Step], *, catch: bool = True) -> None:
        step = None
        try:
            s = self.s
            for step in steps:
                step(ctx, s)
                if ctx.rc is not None:  # declined: name the step unless it named another (ctx.done inlined)
                    if ctx.step is None:
                        ctx.step = step.__name__
                    break
                if ctx.finished:
                    break
        except Exception:  # a bug or an outage must not leave the terminal without an answer
            if not catch:
                raise
            log.exception("step %s failed for %s", getattr(step, "__name__", step), ctx.masked_pan)
            ctx.rc, ctx.step, ctx.reason = "96", getattr(step, "__name__", "?"), "system error"

    def prepare(self, ctx: AuthContext) -> tuple[dict[str, str] | None, Callable[..., dict[str, str]] | None]:
        """The checks that only read (message, terminal, card, HSM), on a worker thread. Returns
        (answer, None) when the request is answered without writing, else (None, job): `job(conn)` runs
        the steps that write (limits, booking, reversal) and journals the answer, all in one transaction
        that the caller commits before sending the answer (switch.ledger.committer.Committer)."""
        checks, writes, sync_in_duplicate = _split(pipeline_for(ctx.mti))
        sync = getattr(self.s.store, "sync", None)
        if sync is not None:  # cached terminals, merchants and cards: dropped if any changed since the last request
            if sync_in_duplicate:
                ctx.sync = sync  # the duplicate check reads the generation with its own query
            else:
                sync()
        self._steps(ctx, checks)
        if ctx.stored_answer is not None:
            return ctx.stored_answer, None
        if ctx.rc in UNJOURNALLED or not ctx.tid or not ctx.stan:
            return self.answer(ctx), None
        rest = writes if not ctx.done else ()

        def job(_conn: object = None) -> dict[str, str]:
            if ctx.deadline is not None and time.monotonic() > ctx.deadline:
                # The database is too slow: the terminal would give up before this answer reaches it, so
                # book nothing and answer 91 (issue 10) rather than approve a sale nobody hears about.
                if funds.remote_approved(ctx):
                    funds.undo_remote_approval(ctx, self.s)  # the remote issuer must release its approval
                ctx.rc, ctx.step, ctx.reason = "91", "deadline", "answer budget exceeded (slow database)"
                return self.answer(ctx)
            self._steps(ctx, rest, catch=False)  # an error rolls the whole request back: 96, nothing kept
            return self.answer(ctx)
        return None, job

    def failed(self, ctx: AuthContext, error: BaseException) -> dict[str, str]:
        """The answer when a request's transaction failed: nothing of it was kept. When another process
        answered the same request first, that answer is the one to give."""
        if isinstance(error, AnsweredElsewhere):
            log.info("tid=%s stan=%s answered first by another switch process: its answer stands", ctx.tid,
                     ctx.stan)
            answer = error.answer
            # A remote issuer's approval: a 0420 names the request itself (MTI, STAN, field 7), so when the
            # answer that stands is an approval it would cancel that one. Release only behind a decline.
            release = answer.get("39") != "00"
        else:
            log.error("booking failed for %s tid=%s stan=%s: %r", ctx.masked_pan, ctx.tid, ctx.stan, error)
            answer = {"39": "96", "37": ctx.request.get("37") or self.numbers.rrn()}
            release = True
        if release and funds.remote_approved(ctx):
            self._release_remote(ctx)
        return answer

    def _release_remote(self, ctx: AuthContext) -> None:
        """The remote issuer approved, our transaction (booking, any advice queued in it) was rolled back:
        queue its reversal advice now, in a transaction of its own."""
        try:
            funds.undo_remote_approval(ctx, self.s)
        except Exception:  # the store is down too: the advice cannot be kept, say so loudly
            log.exception("could not queue the reversal advice for %s tid=%s stan=%s", ctx.masked_pan, ctx.tid,
                          ctx.stan)

    def answer(self, ctx: AuthContext) -> dict[str, str]:
        rc = ctx.rc or "00"
        resp = dict(ctx.response)
        resp["39"] = rc
        if "37" not in resp:
            resp["37"] = ctx.request.get("37") or self.numbers.rrn()
        if rc == "00" and "38" not in resp:
            resp["38"] = self.numbers.approval()
        if ctx.emv and "55" not in resp:
            arpc = ctx.emv["arpc"]
            if rc != "00":  # the card must see the final decision: ARPC over this ARC
                got, again = self.s.hsm.verify_arqc(scheme=ctx.product.scheme, mk_ac=ctx.issuer.imk_ac,
                                                    pan=ctx.pan, psn=ctx.request.get("23", ctx.card.psn)[-2:],
                                                    arc=arc_for(rc), **ctx.emv["inputs"])
                arpc = again if got == "00" else None
            if arpc:
                resp["55"] = issuer_auth_data(arpc, rc)
        if rc != "00":
            log.info("decline %s step=%s reason=%s pan=%s tid=%s stan=%s", rc, ctx.step, ctx.reason,
                     ctx.masked_pan, ctx.tid, ctx.stan)
            ctx.state = ctx.state if ctx.state == "noop" else "declined"
        if rc in UNJOURNALLED or not ctx.tid or not ctx.stan:
            return resp  # not journalled: it would clash with the request that owns this key
        return self.s.journal.record(ctx, resp)
