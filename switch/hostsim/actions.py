"""What a matched host-simulation rule makes the switch do, and `execute` that does it on a connection.

Kinds (firmware testers' list, issue 7): respond with a code and fields, delay (wait N ms, then answer),
no_answer, close the connection, garble the answer, duplicate the answer, late answer (after N ms -
meant to exceed the terminal's timeout). delay/late/garble/duplicate answer with the rule's own code and
fields when it gives a code, otherwise with the real pipeline's answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import defer, task

KINDS = ("respond", "delay", "no_answer", "close", "garble", "duplicate", "late")

# Fields a host echoes from the request (DESIGN: the server echoes 3, 4, 7, 11, 12, 13, 37, 41, 42, 49).
ECHOED = ("3", "4", "7", "11", "12", "13", "22", "32", "37", "41", "42", "49", "70", "90")

# Garbling XORs every body byte with this: digits become letters, BCD nibbles invalid, so no dialect can
# decode the MTI; the length prefix stays right, so the terminal reads exactly one bad message.
_GARBLE_MASK = 0x5A


def response_mti(mti: str) -> str:
    """0200 -> 0210, 0421 -> 0430 (repeats answer as the original)."""
    function = int(mti[2])
    return f"{mti[:2]}{function + 1 if function % 2 == 0 else function}0"


def cents_code(request: dict[str, str]) -> str:
    """"The cents give the response code": field 4 000000001051 -> "51"."""
    return (request.get("4") or "00")[-2:].zfill(2)


def garble(data: bytes) -> bytes:
    """The encoded answer made undecodable, same length (framing added afterwards stays valid)."""
    return bytes(b ^ _GARBLE_MASK for b in data)


@dataclass
class Action:
    kind: str
    rule: str = ""  # the rule's name, for logs
    code: str | None = None  # "51", or "cents"; None: the pipeline answers (delay/late/garble/duplicate)
    fields: dict[str, str] = field(default_factory=dict)
    delay_ms: int = 0

    @property
    def answers_itself(self) -> bool:
        return self.code is not None or self.kind == "respond"

    def response_for(self, request: dict[str, str]) -> dict[str, str]:
        """The rule's own answer: response MTI, echoed fields, 39 and the rule's fields (null removes)."""
        resp = {"t": response_mti(request.get("t", "0200"))}
        for key in ECHOED:
            if key in request:
                resp[key] = request[key]
        code = self.code or "00"
        resp["39"] = cents_code(request) if code == "cents" else code
        for k, v in self.fields.items():
            if v is None:
                resp.pop(k, None)
            else:
                resp[k] = v
        return resp


def execute(action: Action, request: dict[str, str], *, answer: Callable[[dict], Any],
            encode: Callable[[dict], bytes], write: Callable[[bytes], None], close: Callable[[], None],
            clock: Any) -> defer.Deferred:
    """Carry out `action` for one request on one connection. Fires when done (after the last write).

    answer(request) -> dict | Deferred[dict]: the real pipeline's full answer. encode(dict) -> bytes: the
    listener's dialect. write(bytes): frame and send one message. close(): drop the connection.
    """
    if action.kind == "close":
        close()
        return defer.succeed(None)
    if action.kind == "no_answer":
        return defer.succeed(None)
    # The answer is worked out at once and held back: a slow or late host has still booked the request,
    # which is what makes a terminal's timeout-then-reversal meaningful.
    if action.answers_itself:
        d = defer.succeed(action.response_for(request))
    else:
        d = defer.maybeDeferred(answer, request)
    if action.delay_ms > 0:
        def _hold(response: dict[str, str]) -> defer.Deferred:
            return task.deferLater(clock, action.delay_ms / 1000.0, lambda: response)

        d.addCallback(_hold)

    def _send(response: dict[str, str]) -> None:
        data = encode(response)
        if action.kind == "garble":
            data = garble(data)
        write(data)
        if action.kind == "duplicate":
            write(data)

    d.addCallback(_send)
    return d
