"""Run terminal transactions from ordinary (blocking) Python: demos, benchmarks, scripts.

    from terminal_agent.api import run_transaction
    r = run_transaction("purchase", tid="POS00001", host="127.0.0.1", port=8583, card="4761739001010010",
                        amount="12.34", pin="1234", entry="chip")
    r.response_code, r.approval_code, r.rrn, r.receipt(...)

The reactor runs in a background thread (started on first use unless one is already running); the calls
block the caller until the transaction has finished. Code that already runs on the reactor thread uses
`Terminal` (terminal_agent.flows) directly with `defer.ensureDeferred(...)`.
"""

from __future__ import annotations

import threading
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from twisted.internet import defer, threads

from terminal_agent.cards import Card, find_card
from terminal_agent.cardsource import open_reader
from terminal_agent.flows import Terminal
from terminal_agent.profile import TerminalProfile, find_profile
from terminal_agent.receipt import TxnResult

KINDS = ("purchase", "cash", "refund", "balance", "preauth", "completion", "reverse", "echo", "sign-on",
         "batch-close")
_reactor_thread: threading.Thread | None = None


def ensure_reactor() -> Any:
    """The global reactor, running in a daemon thread if nothing runs it yet."""
    global _reactor_thread
    from twisted.internet import reactor

    if not reactor.running and _reactor_thread is None:
        _reactor_thread = threading.Thread(target=reactor.run, kwargs={"installSignalHandlers": False},
                                           name="acqsim-terminal-reactor", daemon=True)
        _reactor_thread.start()
        ready = threading.Event()
        reactor.callFromThread(ready.set)
        if not ready.wait(10):
            raise RuntimeError("reactor did not start")
    return reactor


def parse_amount(value: str | int | Decimal | None, exponent: int = 2) -> int:
    """Major units ("12.34") to minor units (1234); ints are taken as minor units already."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"bad amount {value!r}") from None
    minor = d.scaleb(exponent)
    if minor != minor.to_integral_value() or minor < 0:
        raise ValueError(f"amount {value} has more than {exponent} decimals or is negative")
    return int(minor)


def default_data_dir() -> Path:
    from switch.paths import default_data_dir as _d

    return _d()


def open_terminal(tid: str, *, host: str | None = None, port: int | None = None, dialect: str | None = None,
                  framing: str | None = None, data_dir: str | Path | None = None,
                  profile: TerminalProfile | None = None, fixtures: str | Path | None = None,
                  timeout: float | None = None, notify: Any = None, durable: bool = True) -> Terminal:
    """A Terminal for `tid` (profile from fixtures unless given), bound to the reactor thread.
    `durable=False` skips fsync of the state file (load generators)."""
    reactor = ensure_reactor()
    prof = profile or find_profile(tid, fixtures)
    prof = prof.with_overrides(host=host, port=port, dialect=dialect, framing=framing, timeout=timeout)
    return Terminal(prof, data_dir=data_dir or default_data_dir(), reactor=reactor, notify=notify, durable=durable)


def call(terminal: Terminal, coro_fn: Any, *args: Any, **kw: Any) -> Any:
    """Run terminal coroutine `coro_fn(*args)` on the reactor thread and wait for its result."""
    return threads.blockingCallFromThread(terminal.reactor, lambda: defer.ensureDeferred(coro_fn(*args, **kw)))


def run_transaction(kind: str, *, tid: str, host: str = "127.0.0.1", port: int = 8583,
                    card: str | Card | None = None, reader: str | None = None, entry: str = "chip",
                    amount: str | int | Decimal | None = None, pin: str | None = None,
                    dialect: str | None = None, framing: str | None = None, data_dir: str | Path | None = None,
                    fault: str | None = None, stan: str | None = None, timeout: float | None = None,
                    fixtures: str | Path | None = None, profile: TerminalProfile | None = None) -> TxnResult:
    """One complete terminal operation, blocking. `kind` is one of KINDS; `card` a PAN from the fixtures or
    a Card; `reader` None (card handed over directly), "emulated" or a serial path; `amount` in major units
    (str/Decimal) or minor units (int); `stan` names the pre-authorisation to complete or the transaction
    to reverse."""
    if kind not in KINDS:
        raise ValueError(f"unknown transaction kind {kind!r}")
    term = open_terminal(tid, host=host, port=port, dialect=dialect, framing=framing, data_dir=data_dir,
                         profile=profile, fixtures=fixtures, timeout=timeout)
    try:
        if kind == "echo":
            return call(term, term.echo)
        if kind == "sign-on":
            return call(term, term.sign_on)
        if kind == "batch-close":
            return call(term, term.batch_close)
        if kind == "reverse":
            return call(term, term.reverse, stan)
        minor = parse_amount(amount)
        if kind == "completion":
            if not stan:
                raise ValueError("completion needs the STAN of the pre-authorisation")
            return call(term, term.completion, stan, minor if amount is not None else None)
        the_card = find_card(card, fixtures) if isinstance(card, str) else card
        opened = open_reader(reader, the_card, entry=entry, fault=fault)
        try:
            return call(term, term.transact, kind, minor, opened.reader, pin)
        finally:
            opened.close()
    finally:
        threads.blockingCallFromThread(term.reactor, lambda: defer.succeed(term.close()))
