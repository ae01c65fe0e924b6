"""The bare baseline: a Twisted server that only decodes each request with pyiso8583 and encodes a fixed answer.

    python -m switch.bench.baseline --port 0      (prints `listening baseline 127.0.0.1:PORT`)
"""

from __future__ import annotations

import argparse
import os

import iso8583
from twisted.internet import protocol, reactor

from switch.cli.common import cpu_list
from switch.wire import load_dialect


class _Bare(protocol.Protocol):
    def __init__(self, spec: dict):
        self.spec = spec
        self.buf = b""

    def dataReceived(self, data: bytes) -> None:
        self.buf += data
        while len(self.buf) >= 2:
            n = int.from_bytes(self.buf[:2], "big")
            if len(self.buf) < 2 + n:
                return
            frame, self.buf = self.buf[2:2 + n], self.buf[2 + n:]
            request, _ = iso8583.decode(frame, self.spec)
            answer = {"t": "0210", "11": request.get("11", "000000"), "41": request.get("41", ""), "39": "00"}
            raw, _ = iso8583.encode(answer, self.spec)
            self.transport.write(len(raw).to_bytes(2, "big") + bytes(raw))


class _Factory(protocol.Factory):
    def __init__(self, spec: dict):
        self.spec = spec

    def buildProtocol(self, addr):
        return _Bare(self.spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--dialect", default="ascii87")
    parser.add_argument("--cpus", type=cpu_list, help="run on these CPUs only (the bench's placement)")
    args = parser.parse_args()
    if args.cpus:
        os.sched_setaffinity(0, args.cpus)
    port = reactor.listenTCP(args.port, _Factory(load_dialect(args.dialect).spec), backlog=1024, interface=args.host)
    print(f"listening baseline {args.host}:{port.getHost().port}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
