"""Run scenarios against any ISO 8583 host over the wire layer's IsoClient (Twisted).

One TCP connection per session (the scenario itself, and each parallel session), opened at the first
message step and reopened after the host closes it. STANs come from one counter for the whole run that
starts at a random point, so back-to-back runs against one host are not taken for duplicates.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from twisted.internet import defer, task

from switch.wire import ConnectionClosed, IsoClient, MessageError, RequestTimeout, masked_hex, match_key
from terminal_agent.scenario import expect, messages
from terminal_agent.scenario.model import MissingVariable, Scenario, Step, Terminal, substitute
from terminal_agent.scenario.results import ERROR, FAILED, RunResult, ScenarioResult, StepResult

# How long a `duplicate` step waits after the answer for the second copy.
DUPLICATE_GRACE_S = 0.5


def count_steps(steps: list[Step]) -> int:
    """Message steps a list will report (repeats and parallel sessions included) - for the progress bar."""
    n = 0
    for s in steps:
        if s.kind == "parallel":
            n += s.repeat * sum(count_steps(sess.steps) for sess in s.sessions)
        elif s.kind != "wait":
            n += s.repeat
    return n


class StanCounter:
    def __init__(self, start: int | None = None) -> None:
        self.value = start if start is not None else int.from_bytes(os.urandom(3), "big") % 900_000

    def __call__(self) -> int:
        self.value = self.value % 999_999 + 1
        return self.value


@dataclass
class _Wire:
    host: str
    port: int
    dialect: str
    framing: str


@dataclass
class _Session:
    name: str
    terminal: Terminal
    variables: dict[str, str]
    ctx: messages.BuildContext
    wire: _Wire
    client: IsoClient | None = None
    unmatched: list[dict] = field(default_factory=list)


class Runner:
    """Runs scenarios; `progress(result: StepResult)` is called after each step."""

    def __init__(self, reactor: Any, host: str | None, port: int | None, dialect: str | None = None,
                 framing: str | None = None, tpdu: str | None = None, timeout: float | None = None,
                 progress: Callable[[StepResult], None] | None = None, stan_start: int | None = None) -> None:
        # Given here (the command line) they win; None falls back to the scenario's target/dialect/framing
        # keys, then to 127.0.0.1:8583, ascii87, len2.
        self.reactor, self.host, self.port = reactor, host, port
        self.dialect, self.framing, self.tpdu = dialect, framing, tpdu
        self.timeout = timeout  # overrides every scenario's default step timeout when set
        self.progress = progress or (lambda _r: None)
        self.next_stan = StanCounter(stan_start)

    async def run_all(self, scenarios: list[Scenario]) -> RunResult:
        target = f"{self.host}:{self.port}" if self.host else "per scenario (default 127.0.0.1:8583)"
        run = RunResult(target=target, started=datetime.now(UTC).isoformat(timespec="seconds"))
        t0 = time.monotonic()
        for sc in scenarios:
            run.scenarios.append(await self.run_scenario(sc))
        run.duration = time.monotonic() - t0
        return run

    async def run_scenario(self, sc: Scenario) -> ScenarioResult:
        result = ScenarioResult(name=sc.name, file=sc.file)
        t0 = time.monotonic()
        totals: dict[str, dict[str, int]] = {}
        ctx = messages.BuildContext(terminal=sc.terminal, cards=sc.cards, next_stan=self.next_stan,
                                    totals=totals.setdefault(sc.terminal.tid, {}))
        sess = _Session("main", sc.terminal, dict(sc.variables), ctx, self._wire(sc))
        try:
            await self._run_steps(sc, sess, sc.steps, result, totals)
        except Exception as exc:  # a bug must fail this scenario, not the whole run
            result.error = f"internal error: {type(exc).__name__}: {exc}"
        finally:
            self._close(sess)
        result.duration = time.monotonic() - t0
        return result

    async def _run_steps(self, sc: Scenario, sess: _Session, steps: list[Step], result: ScenarioResult,
                         totals: dict[str, dict[str, int]]) -> None:
        for step in steps:
            for i in range(step.repeat):
                label = step.name + (f" #{i + 1}" if step.repeat > 1 else "")
                if step.kind == "wait":
                    await task.deferLater(self.reactor, step.wait_s, lambda: None)
                elif step.kind == "parallel":
                    await self._parallel(sc, sess, step, result, totals)
                else:
                    r = await self._message_step(sc, sess, step, label)
                    result.steps.append(r)
                    self.progress(r)

    async def _parallel(self, sc: Scenario, parent: _Session, step: Step, result: ScenarioResult,
                        totals: dict[str, dict[str, int]]) -> None:
        runs = []
        for child in step.sessions:
            term = child.terminal or parent.terminal
            ctx = messages.BuildContext(terminal=term, cards=sc.cards, next_stan=self.next_stan,
                                        records=dict(parent.ctx.records), totals=totals.setdefault(term.tid, {}),
                                        atc=parent.ctx.atc)
            sess = _Session(f"{parent.name}/{child.name}" if parent.name != "main" else child.name, term,
                            dict(parent.variables), ctx, parent.wire)
            runs.append((sess, defer.ensureDeferred(self._run_steps(sc, sess, child.steps, result, totals))))
        try:
            outcomes = await defer.DeferredList([d for _, d in runs], consumeErrors=True)
        finally:
            for sess, _ in runs:
                self._close(sess)
        for (ok, value), (sess, _) in zip(outcomes, runs, strict=True):
            if not ok:  # a session that crashed is an errored step of that session, the others stand
                r = StepResult(scenario=sc.name, session=sess.name, name="session", kind="parallel",
                               file=step.file, line=step.line, status=ERROR,
                               failures=[f"internal error: {value.getErrorMessage()}"])
                result.steps.append(r)
                self.progress(r)

    def _wire(self, sc: Scenario) -> _Wire:
        host, port = self.host, self.port
        if host is None and sc.target:
            h, _, p = sc.target.rpartition(":")
            host, port = h or "127.0.0.1", int(p)
        return _Wire(host or "127.0.0.1", port or 8583, self.dialect or sc.dialect or "ascii87",
                     self.framing or sc.framing or "len2")

    def _close(self, sess: _Session) -> None:
        if sess.client is not None:
            sess.client.close()
            sess.client = None

    async def _connect(self, sess: _Session) -> IsoClient:
        if sess.client is None or sess.client.closed.called:
            w = sess.wire
            client = await IsoClient.connect(self.reactor, w.host, w.port, dialect=w.dialect, framing=w.framing,
                                             tpdu=self.tpdu)
            client.on_unmatched = sess.unmatched.append
            sess.client = client
        return sess.client

    async def _message_step(self, sc: Scenario, sess: _Session, step: Step, label: str) -> StepResult:
        r = StepResult(scenario=sc.name, session=sess.name, name=label, kind=step.kind, file=step.file,
                       line=step.line)
        t0 = time.monotonic()
        timeout = step.timeout or self.timeout or sc.timeout
        try:
            params = substitute(step.params, sess.variables)
            if step.kind == "raw" and params.get("hex") is not None:
                return await self._raw_bytes(sess, step, r, bytes.fromhex(str(params["hex"]).replace(" ", "")),
                                             timeout, t0)
            r.request = messages.build(step.kind, params, sess.ctx)
        except MissingVariable as exc:
            return self._error(r, f"variable ${{{exc.args[0]}}} is not set (captured by an earlier step?)", t0)
        except messages.BuildError as exc:
            return self._error(r, str(exc), t0)
        try:
            client = await self._connect(sess)
        except Exception as exc:  # any connect failure is this step's error, the run goes on
            return self._error(r, f"cannot connect to {sess.wire.host}:{sess.wire.port}: {exc}", t0)
        raw_before = client.last_raw_response
        seen_unmatched = len(sess.unmatched)
        try:
            r.response = await client.request(r.request, timeout=timeout)
            r.outcome = "answer"
        except RequestTimeout:
            r.outcome = "garbled" if _undecodable(client, raw_before) else "no_answer"
        except ConnectionClosed:
            r.outcome = "closed"
            sess.client = None
        except MessageError as exc:
            return self._error(r, f"cannot encode the request: {exc}", t0)
        if r.outcome == "answer" and step.outcome == "duplicate":
            await task.deferLater(self.reactor, DUPLICATE_GRACE_S, lambda: None)
            key = match_key(r.response)
            if any(match_key(m) == key for m in sess.unmatched[seen_unmatched:]):
                r.outcome = "duplicate"
        extra = len(sess.unmatched) - seen_unmatched
        if extra and r.outcome != "duplicate":
            r.notes.append(f"{extra} unmatched message(s) arrived during this step")
        if step.id:
            sess.ctx.records[step.id] = (r.request, r.response)
        self._judge(step, sess, r, timeout)
        r.duration = time.monotonic() - t0
        return r

    async def _raw_bytes(self, sess: _Session, step: Step, r: StepResult, payload: bytes, timeout: float,
                         t0: float) -> StepResult:
        """Send bytes as one frame (robustness tests) and take whatever comes first: any message, an
        undecodable frame, the connection closing, or nothing."""
        r.request = {"t": "raw"}
        r.notes.append(f"sent {masked_hex(payload)}")
        try:
            client = await self._connect(sess)
        except Exception as exc:
            return self._error(r, f"cannot connect to {sess.wire.host}:{sess.wire.port}: {exc}", t0)
        raw_before, seen = client.last_raw_response, len(sess.unmatched)
        client.send_raw(payload)
        deadline = time.monotonic() + timeout
        r.outcome = "no_answer"
        while time.monotonic() < deadline:
            if len(sess.unmatched) > seen:
                r.response, r.outcome = sess.unmatched[seen], "answer"
                del sess.unmatched[seen]
                break
            if _undecodable(client, raw_before):
                r.outcome = "garbled"
                break
            if client.closed.called:  # fired by connectionLost (Protocol.connected is not reset)
                r.outcome, sess.client = "closed", None
                break
            await task.deferLater(self.reactor, 0.02, lambda: None)  # poll: the client has no hook for all three
        self._judge(step, sess, r, timeout)
        r.duration = time.monotonic() - t0
        return r

    def _judge(self, step: Step, sess: _Session, r: StepResult, timeout: float) -> None:
        wanted = step.outcome
        got = r.outcome
        if got != wanted:
            r.failures.append(f"expected {_say(wanted)}, got {_say(got, timeout)}")
        if r.response is not None and got in ("answer", "duplicate"):
            r.failures.extend(expect.check(step.expect, r.request or {}, r.response, sess.variables))
            messages.count_total(sess.ctx, step.kind, r.request or {}, r.response)
        if step.capture and r.request is not None:
            r.failures.extend(expect.capture(step.capture, r.request, r.response, sess.variables))
        if r.failures:
            r.status = FAILED

    def _error(self, r: StepResult, message: str, t0: float) -> StepResult:
        r.status = ERROR
        r.failures.append(message)
        r.duration = time.monotonic() - t0
        return r


def _undecodable(client: IsoClient, raw_before: bytes | None) -> bool:
    """Did a frame arrive during the step that the dialect cannot decode? (A decodable one that matched
    nothing is an unmatched answer - e.g. a late answer to an earlier step - not garbage.)"""
    raw = client.last_raw_response
    if raw is None or raw is raw_before:
        return False
    try:
        client.dialect.decode(raw)
    except MessageError:
        return True
    return False


def _say(outcome: str, timeout: float | None = None) -> str:
    return {"answer": "an answer", "no_answer": "no answer" + (f" within {timeout:g}s" if timeout else ""),
            "closed": "the connection closed", "garbled": "an undecodable answer",
            "duplicate": "the answer twice"}[outcome]
