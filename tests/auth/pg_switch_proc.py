"""A switch process for the two-process PostgreSQL test: `python -m tests.auth.pg_switch_proc URL SCHEMA`.
Prints `listening iso8583 HOST:PORT` and serves until killed."""

from __future__ import annotations

import sys

from twisted.internet import reactor

from hsm_emulator import Hsm
from switch.auth import register_authorizer
from switch.server import ListenerConfig, Switch
from switch.store import open_database


def main() -> None:
    url, schema = sys.argv[1], sys.argv[2]
    engine = open_database(url, schema=schema)
    sw = Switch()
    register_authorizer(sw.router, engine, Hsm(), {}, reactor=reactor)
    host, port = sw.listen(reactor, ListenerConfig(port=0))
    print(f"listening iso8583 {host}:{port}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
