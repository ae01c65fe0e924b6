"""Remote issuers: a BIN range routed to another ISO 8583 host (dialect and framing per route).

`forward(ctx)` runs on a pipeline worker thread and waits for the reactor to do the network part
(blockingCallFromThread), so per-card ordering holds for remote cards too. A timeout or a lost connection
answers 91 and queues a 0420 reversal advice; `retry_pending()` (a LoopingCall) resends every queued
advice until the issuer answers it. Queued messages are AES-GCM encrypted (they carry the PAN, Q2).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from twisted.internet import defer, task, threads

from switch.auth.context import AuthContext, log, mti_class
from switch.issuer.pan import PanVault, mask_pan
from switch.issuer.tables import auth_log, remote_reversals
from switch.ledger import unit
from switch.wire import ConnectionClosed, IsoClient, RequestTimeout

# Never forwarded as received: the terminal-link MAC and KSN, and the PIN block, which is under the
# terminal's key - it goes out translated to the route's zone PIN key (ZPK), or not at all.
DROP_FIELDS = ("52", "53", "62", "64", "128")
REVERSAL_FIELDS = ("2", "3", "4", "7", "11", "12", "13", "22", "32", "37", "41", "42", "49")


class RemoteIssuers:
    def __init__(self, reactor: Any, engine: Engine, vault: PanVault, retry_interval: float = 5.0,
                 hsm: Any = None) -> None:
        self.reactor = reactor
        self.hsm = hsm
        self.engine = engine
        self.vault = vault
        self._clients: dict[tuple, IsoClient] = {}
        self._retry = task.LoopingCall(self.retry_pending)
        self._retry.clock = reactor
        self.retry_interval = retry_interval

    def start(self) -> None:
        if not self._retry.running:
            self._retry.start(self.retry_interval, now=False).addErrback(
                lambda f: log.error("remote reversal retry stopped: %s", f.getErrorMessage()))

    def stop(self) -> None:
        if self._retry.running:
            self._retry.stop()
        for client in self._clients.values():
            client.close()

    # -- network part (reactor thread) ---------------------------------------------------------------------
    @defer.inlineCallbacks
    def _client(self, route: dict):
        key = (route["host"], int(route["port"]), route.get("dialect", "ascii87"), route.get("framing", "len2"))
        client = self._clients.get(key)
        if client is None or not client.connected:
            client = yield IsoClient.connect(self.reactor, key[0], key[1], dialect=key[2], framing=key[3],
                                             timeout=float(route.get("connect_timeout", 2.0)))
            self._clients[key] = client
        return client

    @defer.inlineCallbacks
    def _send(self, route: dict, msg: dict[str, str]):
        client = yield self._client(route)
        answer = yield client.request(msg, timeout=float(route.get("timeout", 5.0)))
        return answer

    # -- worker-thread part -------------------------------------------------------------------------------
    def forward(self, ctx: AuthContext) -> dict[str, str]:
        route = ctx.issuer.route or {}
        msg = {k: v for k, v in ctx.request.items() if k not in DROP_FIELDS}
        if ctx.request.get("52") and route.get("zpk") and self.hsm is not None:
            block = self._translate_pin(ctx, route["zpk"])
            if block is None:
                return {"39": "96", "_reason": "PIN translation to the issuer zone key failed"}
            msg["52"] = block
        try:
            return threads.blockingCallFromThread(self.reactor, self._send, route, msg)
        except (RequestTimeout, ConnectionClosed, OSError, defer.CancelledError) as exc:
            reason = f"remote issuer {ctx.issuer.issuer_id} unavailable: {type(exc).__name__}"
        except Exception as exc:  # refused connection and friends come as twisted errors
            reason = f"remote issuer {ctx.issuer.issuer_id} unavailable: {type(exc).__name__}"
        self.queue_reversal(ctx.issuer.issuer_id, ctx.request)
        log.warning("%s; reversal queued for %s", reason, mask_pan(ctx.pan))
        return {"39": "91", "_reason": reason}

    def _translate_pin(self, ctx: AuthContext, zpk: str) -> str | None:
        """PIN block from the terminal's TPK (or DUKPT key) to the route's ZPK, inside the HSM (CA / G0)."""
        term = ctx.terminal
        if term is None:
            return None
        if term.bdk:
            ksn = ctx.request.get("53", "").rjust(20, "F")
            rc, block = self.hsm.translate_dukpt_pin(bdk=term.bdk, zpk=zpk, ksn=ksn, pin_block=ctx.request["52"],
                                                     pan=ctx.pan)
        else:
            rc, block = self.hsm.translate_pin_tpk_to_zpk(tpk=term.tpk, zpk=zpk, pin_block=ctx.request["52"],
                                                          pan=ctx.pan)
        return block if rc == "00" else None

    def queue_reversal(self, issuer_id: str, request: dict[str, str]) -> None:
        """A 0420 advice for a request the issuer may have approved without our knowing (timeout)."""
        adv = {k: request[k] for k in REVERSAL_FIELDS if k in request}
        adv["t"] = "0420"
        if "35" in request and "2" not in adv:
            adv["2"] = request["35"].replace("D", "=").split("=")[0]
        adv["90"] = (request.get("t", "0200") + request.get("11", "").rjust(6, "0")
                     + request.get("7", "").rjust(10, "0") + "0" * 22)
        self.queue_message(issuer_id, adv)

    def queue_message(self, issuer_id: str, adv: dict[str, str]) -> None:
        """Queue an advice for `issuer_id` (encrypted at rest); `retry_pending` sends it until answered."""
        adv = {k: v for k, v in adv.items() if k not in DROP_FIELDS and k != "35"}
        with unit.begin(self.engine) as conn:  # inside a request's job: queued with its answer
            conn.execute(insert(remote_reversals).values(
                issuer_id=issuer_id, message=self.vault.encrypt(json.dumps(adv)), attempts=0,
                acknowledged=False, created_at=datetime.now(UTC)))

    def pending(self) -> list[tuple[int, str, dict[str, str], int]]:
        """The advices still to send. One that would release an approval the journal shows delivered is
        dropped instead (see _delivered)."""
        with self.engine.connect().execution_options(sqlite_readonly=True) as conn:
            rows = conn.execute(select(remote_reversals).where(remote_reversals.c.acknowledged.is_(False))
                                .order_by(remote_reversals.c.id)).all()
            out = [(r.id, r.issuer_id, json.loads(self.vault.decrypt(r.message)), r.attempts) for r in rows]
            delivered = [row for row in out if _delivered(conn, row[2])]
        for row_id, issuer_id, msg, _attempts in delivered:
            log.warning("advice to %s for %s tid=%s stan=%s dropped: another switch process delivered that "
                        "approval", issuer_id, mask_pan(msg.get("2", "")), msg.get("41"), msg.get("90", "")[4:10])
            self._mark(row_id, True, "approval delivered by another switch process")
        dropped = {row[0] for row in delivered}
        return [row for row in out if row[0] not in dropped]

    def _mark(self, row_id: int, ok: bool, error: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(remote_reversals).where(remote_reversals.c.id == row_id).values(
                acknowledged=ok, attempts=remote_reversals.c.attempts + 1, last_error=error))

    @defer.inlineCallbacks
    def retry_pending(self, routes: dict[str, dict] | None = None):
        """Resend queued advices (reactor thread; DB work in a thread). Fires with the number acknowledged."""
        rows = yield threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), self.pending)
        routes = routes if routes is not None else (
            yield threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), self._routes))
        acked, failed = 0, set()
        for row_id, issuer_id, msg, _attempts in rows:
            route = routes.get(issuer_id)
            if not route or issuer_id in failed:
                continue  # first in, first out per issuer: a 0420 never overtakes the 0220 it reverses
            try:
                yield self._send(route, msg)
                ok, err = True, None
                acked += 1
            except Exception as exc:  # still down: keep it queued
                ok, err = False, type(exc).__name__
                failed.add(issuer_id)
            yield threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), self._mark, row_id, ok, err)
        return acked

    def _routes(self) -> dict[str, dict]:
        from switch.issuer.tables import issuers

        with self.engine.connect().execution_options(sqlite_readonly=True) as conn:
            return {r.issuer_id: json.loads(r.route) for r in conn.execute(select(issuers)) if r.route}


def _delivered(conn: Any, advice: dict[str, str]) -> bool:
    """True when `advice` would release an approval that a terminal was given. A timeout or a failed job
    queues a 0420 for an approval this process did not deliver. If another switch process got the same
    request and delivered the issuer's approval, the journal holds that 00, still "approved" (or
    "captured", a pre-authorisation its completion booked), and the advice (it names the request itself)
    would cancel it. A terminal's own reversal marks the original reversed in the same job, so its advice
    is still sent."""
    f90, tid = advice.get("90", ""), advice.get("41", "")
    if advice.get("t") != "0420" or len(f90) < 20 or not tid:
        return False
    found = conn.execute(select(auth_log.c.rc, auth_log.c.state).where(
        auth_log.c.tid == tid, auth_log.c.stan == f90[4:10], auth_log.c.f7 == f90[10:20],
        auth_log.c.mti_class == mti_class(f90[:4]))).first()
    return found is not None and found.rc == "00" and found.state in ("approved", "captured")
