"""The terminal: transaction flows over the lead's IsoClient, with automatic reversal that survives restarts.

Every method that talks to the host is a coroutine to be run on the reactor (`defer.ensureDeferred(...)`);
card reading and chip APDUs are blocking (pyserial) and run in the reactor's thread pool.

Automatic reversal: before a money-moving request leaves, the terminal writes an "in flight" record to its
state file. An answer clears it. No answer in time (or a dropped connection, or a card that refuses an
approval) turns it into a queued 0400; a 0400 without answer is repeated as 0420 (identical content, so the
host can recognise repeats) until a 0410/0430 arrives. Queued reversals stay on disk across restarts and are
sent before the next transaction. A terminal killed while waiting finds its in-flight record on restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twisted.internet import defer, threads
from twisted.internet.error import ConnectError
from twisted.internet.error import TimeoutError as ConnectTimeout

from switch.wire import ConnectionClosed, IsoClient, RequestTimeout, load_dialect
from switch.wire.mac import mac_input
from terminal_agent import messages
from terminal_agent.cards import mask_pan
from terminal_agent.cardsource import read_card_fields
from terminal_agent.crypto import retail_mac
from terminal_agent.emv_kernel import ChipSession
from terminal_agent.pinpad import PinPad
from terminal_agent.profile import TerminalProfile
from terminal_agent.readers.base import CardReader
from terminal_agent.receipt import TxnResult, meaning
from terminal_agent.state import TerminalState

log = logging.getLogger("acqsim.terminal")
REVERSIBLE = ("purchase", "cash", "refund", "preauth", "completion")


class Terminal:
    def __init__(self, profile: TerminalProfile, *, data_dir: str | Path, reactor: Any = None,
                 notify: Callable[[str], None] | None = None, mac_key: str | None = None,
                 durable: bool = True) -> None:
        if reactor is None:
            from twisted.internet import reactor as _reactor

            reactor = _reactor
        self.profile, self.reactor, self.notify = profile, reactor, notify or (lambda text: None)
        self.dialect = load_dialect(profile.dialect)
        device_key = bytes.fromhex(profile.tmk) if profile.tmk else None
        self.state = TerminalState.open(data_dir, profile.tid.strip(), device_key, durable)
        self.state.lock()
        ksn_size = _field_digits(self.dialect, "53", (20, 16))
        self.pinpad = PinPad(mode=profile.pin_mode, tmk=profile.tmk, tpk=profile.tpk, bdk=profile.bdk,
                             initial_ksn=profile.initial_ksn, state=self.state.data.setdefault("pinpad", {}),
                             ksn_field_size=ksn_size)
        mac_key = mac_key or (profile.tak if profile.mac_required else None)
        self.mac_key = bytes.fromhex(mac_key) if mac_key else None
        self.client: IsoClient | None = None
        self._flushing = False
        self._retry_loop: Any = None
        self._recover_in_flight()

    # --- connection ------------------------------------------------------------------------------------
    async def _connect(self) -> IsoClient:
        if self.client is None or not self.client.connected:
            p = self.profile
            self.client = await IsoClient.connect(self.reactor, p.host, p.port, p.dialect, p.framing, tpdu=p.tpdu,
                                                  timeout=min(p.timeout, 5.0))
        return self.client

    def _mac(self, msg: dict[str, str]) -> dict[str, str]:
        """Field 64: retail MAC over the encoded message up to the MAC field (terminals that MAC)."""
        if self.mac_key is None:
            return msg
        msg = dict(msg, **{"64": "0" * 16})
        msg["64"] = retail_mac(self.mac_key, mac_input(msg, self.dialect)).hex().upper()
        return msg

    async def exchange(self, msg: dict[str, str], timeout: float | None = None) -> dict[str, str] | None:
        """Send and wait for the answer; None when none came in time or the connection failed."""
        try:
            client = await self._connect()
            return await client.request(self._mac(msg), timeout or self.profile.timeout)
        except (RequestTimeout, ConnectionClosed, ConnectError, ConnectTimeout, defer.CancelledError) as exc:
            log.info("terminal %s: no answer to %s/%s: %s", self.profile.tid, msg.get("t"), msg.get("11"), exc)
            self._drop_connection()
            return None

    def _drop_connection(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def close(self) -> None:
        if self._retry_loop is not None and self._retry_loop.running:
            self._retry_loop.stop()
        self._drop_connection()
        self.state.unlock()

    def start_reversal_retry(self, interval: float | None = None) -> None:
        """Long-running agents: keep repeating queued reversals (0420) in the background until acknowledged."""
        from twisted.internet.task import LoopingCall

        def tick() -> defer.Deferred | None:
            if not self.state.data.get("reversals"):
                return None
            return defer.ensureDeferred(self.flush_reversals(max_attempts=1))

        self._retry_loop = LoopingCall(tick)
        self._retry_loop.clock = self.reactor
        self._retry_loop.start(interval or max(self.profile.reversal_interval, 1.0), now=False)

    # --- network management ------------------------------------------------------------------------------
    async def echo(self) -> TxnResult:
        return await self._network("echo", "301")

    async def sign_on(self, key_change: bool = True) -> TxnResult:
        """0800/001, then (fixed-key PIN pads) 0800/101: the 0810 carries the new TPK in field 48."""
        result = await self._network("sign-on", "001")
        if result.approved and key_change and self.profile.pin_mode == "tpk" and self.profile.tmk:
            kc = await self._network("sign-on", "101")
            if kc.approved and kc.details.get("field48"):
                try:
                    result.details["tpk_kcv"] = self.pinpad.load_working_key(kc.details.pop("field48"))
                    self.state.save()
                except Exception as exc:  # noqa: BLE001 - a bad key is reported, the old key stays
                    result.details["key_change"] = f"refused: {exc}"
            else:
                result.details["key_change"] = kc.response_code or "no answer"
        return result

    async def _network(self, kind: str, code: str) -> TxnResult:
        stan = self.state.next_stan()
        answer = await self.exchange(messages.network(self.profile, code, stan))
        res = self._result(kind, stan, answer)
        if answer and answer.get("48") and code == "101":
            res.details["field48"] = answer["48"]
        return res

    # --- financial flows --------------------------------------------------------------------------------
    async def transact(self, kind: str, amount: int, reader: CardReader,
                       pin: str | Callable[[], str | None] | None = None, attempts: int = 3) -> TxnResult:
        """purchase, cash, refund, balance or preauth with a card from `reader` (read in a worker thread).
        `pin` is the PIN or a blocking callable asked once the card is read (a PIN pad prompt)."""
        if kind == "cash" and self.profile.kind != "atm":
            raise ValueError("cash withdrawal is an ATM transaction (processing code 01)")
        await self.flush_reversals(max_attempts=1)
        p = self.profile
        pool = self.reactor.getThreadPool()
        card, session = await threads.deferToThreadPool(
            self.reactor, pool, read_card_fields, reader, amount=amount,
            currency=p.currency, country=p.country, txn_type=messages.EMV_TYPE[kind],
            terminal_type=p.terminal_type, capabilities=p.emv_capabilities, attempts=attempts, notify=self.notify)
        try:
            if callable(pin):
                pin = await threads.deferToThreadPool(self.reactor, pool, pin) or None
            if self.profile.kind == "atm" and not pin:
                raise ValueError("an ATM transaction needs the PIN")
            pin_fields = self.pinpad.pin_block(pin, card.pan).fields if pin else None
            if pin:
                self.state.save()  # the DUKPT counter moved on: never reuse a key
            stan = self.state.next_stan()
            msg = messages.financial(p, kind, stan, amount, card, pin_fields)
            return await self._send_financial(kind, msg, card.pan, card.entry, session)
        finally:
            await threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), reader.power_off)

    async def completion(self, preauth_stan: str, amount: int | None = None) -> TxnResult:
        """0220 completing an approved pre-authorisation of this batch (no card needed)."""
        entry = next((e for e in self.state.data["journal"] if e["stan"] == preauth_stan and e["kind"] == "preauth"
                      and e.get("rc") == "00" and not e.get("reversed")), None)
        if entry is None:
            raise ValueError(f"no approved pre-authorisation with STAN {preauth_stan} in this batch")
        original = self.state.unseal(entry["msg"])
        card = messages.CardFields(entry={"05": "chip", "07": "contactless", "01": "manual"}.get(
            original.get("22", "02")[:2], "swipe"), pan=original.get("2", ""), expiry=original.get("14", ""))
        msg = messages.financial(self.profile, "completion", self.state.next_stan(),
                                 entry["amount"] if amount is None else amount, card, original=original)
        if not card.pan:
            msg.pop("2", None)
        return await self._send_financial("completion", msg, card.pan, card.entry, None)

    async def _send_financial(self, kind: str, msg: dict[str, str], pan: str, entry: str,
                              session: ChipSession | None) -> TxnResult:
        stan = msg["11"]
        if kind in REVERSIBLE:
            self.state.data["in_flight"] = {"msg": self.state.seal(msg), "kind": kind}
            self.state.save()
        answer = await self.exchange(msg)
        res = self._result(kind, stan, answer, amount=int(msg["4"]), pan=pan, entry=entry)
        if session is not None:
            outcome = await threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), session.complete,
                                                      answer.get("39") if answer else None,
                                                      answer.get("55") if answer else None)
            res.issuer_authenticated = outcome.issuer_authenticated
            res.card_decision = "TC" if outcome.card_approved else "AAC"
            if res.approved and not outcome.card_approved:
                # The host approved but the card refused (ARPC missing or wrong): undo the approval.
                res.approved = False
                res.message = "DECLINED BY CARD - REVERSED" if outcome.issuer_authenticated is False \
                    else "DECLINED BY CARD (NO ISSUER AUTHENTICATION) - REVERSED"
                await self._reverse_now(msg, reason="card declined after approval", res=res)
        if answer is None and kind in REVERSIBLE:
            res.message = "NO ANSWER FROM HOST - REVERSAL SENT"
            await self._reverse_now(msg, reason="no answer", res=res)
        elif kind in REVERSIBLE:
            self.state.data.pop("in_flight", None)
        if answer is not None:
            self._journal(kind, msg, res)
        self.state.save()
        return res

    def _journal(self, kind: str, msg: dict[str, str], res: TxnResult) -> None:
        entry = {"stan": res.stan, "kind": kind, "mti": msg["t"], "f7": msg["7"], "amount": res.amount or 0,
                 "rc": res.response_code,
                 "approval": res.approval_code, "rrn": res.rrn, "pan": res.masked_pan, "entry": res.entry,
                 "reversed": res.reversal is not None, "when": res.when}
        if kind == "preauth":
            # The completion needs 7, 11, 2 (sealed) of the 0100 and the 37/38 the host gave it.
            entry["msg"] = self.state.seal({**msg, "37": res.rrn or "", "38": res.approval_code or ""})
        self.state.data.setdefault("journal", []).append(entry)

    def _result(self, kind: str, stan: str | None, answer: dict[str, str] | None, amount: int | None = None,
                pan: str | None = None, entry: str | None = None) -> TxnResult:
        rc = answer.get("39") if answer else None
        res = TxnResult(kind=kind, tid=self.profile.tid, stan=stan, response_code=rc,
                        approval_code=(answer or {}).get("38") or None, rrn=(answer or {}).get("37") or None,
                        amount=amount, currency=self.profile.currency, masked_pan=mask_pan(pan) if pan else None,
                        entry=entry, approved=rc == "00", message=meaning(rc))
        if answer and answer.get("54"):
            res.balance = _balance(answer["54"])
        return res

    # --- reversals --------------------------------------------------------------------------------------
    def _recover_in_flight(self) -> None:
        """A request that was in flight when the terminal died never got its answer: reverse it."""
        pending = self.state.data.pop("in_flight", None)
        if pending:
            original = self.state.unseal(pending["msg"])
            self._queue_reversal(original, reason="terminal restarted while waiting for the answer")
            self.state.save()

    def _queue_reversal(self, original: dict[str, str], reason: str) -> dict[str, Any]:
        rev = messages.reversal(self.profile, original, self.state.next_stan())
        record = {"msg": self.state.seal(rev), "original_stan": original["11"], "attempts": 0, "reason": reason}
        self.state.data.setdefault("reversals", []).append(record)
        self.state.data.pop("in_flight", None)
        self.state.save()
        return record

    async def _reverse_now(self, original: dict[str, str], reason: str, res: TxnResult) -> None:
        record = self._queue_reversal(original, reason)
        done = await self._send_reversal(record, max_attempts=3)
        res.reversal = "acknowledged" if done else "pending"
        if record.get("answer_rc"):
            res.details["reversal_rc"] = record["answer_rc"]

    async def _send_reversal(self, record: dict[str, Any], max_attempts: int) -> bool:
        """0400 first, then 0420 repeats; True once the host acknowledged. Any 0410/0430 is an acknowledgement
        except 91/96 (issuer or system unavailable): those mean "not done yet, send it again"."""
        for _ in range(max_attempts):
            msg = self.state.unseal(record["msg"])
            if record["attempts"] > 0 and msg["t"] == "0400":
                msg["t"] = "0420"  # the 0400 went unanswered: repeat as an advice, same 7 and 11
                record["msg"] = self.state.seal(msg)
            record["attempts"] += 1
            self.state.save()
            answer = await self.exchange(msg)
            if answer is not None:
                record["answer_rc"] = answer.get("39")
            if answer is not None and answer.get("39") not in ("91", "96"):
                self.state.data["reversals"] = [r for r in self.state.data.get("reversals", []) if r is not record]
                for e in self.state.data.get("journal", []):
                    if e["stan"] == record["original_stan"]:
                        e["reversed"] = True
                self.state.save()
                return True
            await _sleep(self.reactor, self.profile.reversal_interval)
        return False

    async def flush_reversals(self, max_attempts: int = 3) -> int:
        """Send every reversal still on disk; returns how many remain unacknowledged."""
        if self._flushing:  # the background retry is already at it
            return len(self.state.data.get("reversals", []))
        self._flushing = True
        try:
            for record in list(self.state.data.get("reversals", [])):
                if record in self.state.data.get("reversals", []):
                    await self._send_reversal(record, max_attempts)
        finally:
            self._flushing = False
        return len(self.state.data.get("reversals", []))

    async def reverse(self, stan: str | None = None) -> TxnResult:
        """Merchant-initiated reversal (void) of the last approved transaction, or of `stan`."""
        journal = [e for e in self.state.data.get("journal", []) if e.get("rc") == "00" and not e.get("reversed")
                   and e["kind"] in REVERSIBLE and (stan is None or e["stan"] == stan)]
        if not journal:
            raise ValueError("nothing to reverse in this batch" if stan is None else f"no approved STAN {stan}")
        e = journal[-1]
        original = {"t": e["mti"], "11": e["stan"], "7": e["f7"], "3": messages.PROCESSING[e["kind"]],
                    "4": messages.amount12(e["amount"]), "49": self.profile.currency}
        if e.get("rrn"):
            original["37"] = e["rrn"]
        record = self._queue_reversal(original, reason="merchant void")
        done = await self._send_reversal(record, max_attempts=3)
        rc = record.get("answer_rc")
        res = TxnResult(kind="reversal", tid=self.profile.tid, stan=self.state.unseal(record["msg"])["11"],
                        amount=e["amount"], currency=self.profile.currency, masked_pan=e.get("pan"),
                        response_code=rc, approved=done and rc == "00", rrn=e.get("rrn"),
                        reversal="acknowledged" if done else "pending",
                        message="REVERSED" if done and rc == "00" else (meaning(rc) if done else "REVERSAL PENDING"))
        return res

    # --- batch ------------------------------------------------------------------------------------------
    def batch_totals(self) -> messages.BatchTotals:
        return messages.totals(self.state.data.get("journal", []))

    async def batch_close(self) -> TxnResult:
        """0500 with the batch totals; on 00 the batch number advances and the journal starts afresh."""
        await self.flush_reversals(max_attempts=1)
        t = self.batch_totals()
        stan = self.state.next_stan()
        answer = await self.exchange(messages.batch_close(self.profile, stan, self.state.batch, t))
        res = self._result("batch-close", stan, answer)
        res.details = {"batch": self.state.batch, **t.as_dict()}
        if answer and res.response_code == "95":
            # Out of balance: show the host's totals next to ours, as terminals print them.
            res.details["host_totals"] = {k: int(answer[f]) for k, f in (("credit_count", "74"), ("debit_count", "76"),
                                          ("credit_amount", "86"), ("debit_amount", "88")) if answer.get(f, "").isdigit()}
        if res.approved:
            closed = self.state.data.setdefault("closed_batches", [])
            closed.append({"batch": self.state.batch, **t.as_dict(), "when": res.when})
            del closed[:-20]
            self.state.data["batch"] = self.state.batch % 999999 + 1
            self.state.data["journal"] = []
            self.state.save()
        return res


def _field_digits(dialect: Any, field: str, sizes: tuple[int, ...]) -> int:
    """How many hex digits `field` holds in this dialect (tried by encoding, as specs differ in units)."""
    for size in sizes:
        try:
            dialect.encode({"t": "0800", "11": "000001", field: "F" * size})
            return size
        except ValueError:
            continue
    return sizes[-1]


def _balance(field54: str) -> int | None:
    """Field 54 additional amounts: 20-character blocks (account type 2, amount type 2, currency 3, C/D 1,
    amount 12); the available (02) or ledger (01) balance."""
    best = None
    for i in range(0, len(field54) - 19, 20):
        block = field54[i : i + 20]
        value = int(block[8:20]) * (-1 if block[7] == "D" else 1)
        if block[2:4] == "02":
            return value
        best = value if best is None else best
    return best


def _sleep(reactor: Any, seconds: float) -> defer.Deferred:
    d: defer.Deferred = defer.Deferred()
    reactor.callLater(seconds, d.callback, None)
    return d
