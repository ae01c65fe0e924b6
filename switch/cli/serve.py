"""`acqsim switch serve`: run the switch."""

from __future__ import annotations

import argparse
import logging
import sys

from switch.cli.common import CliError, add_data_flags, cpu_list, host_port, pin_to_cpus
from switch.server.listeners import ConfigError, ListenerConfig, load_config, parse_listen
from switch.wire import PREFIXES, DialectError


def register(sub) -> None:
    switch = sub.add_parser("switch", help="the ISO 8583 switch")
    cmds = switch.add_subparsers(dest="switch_command", metavar="COMMAND")
    cmds.required = True
    p = cmds.add_parser("serve", help="serve ISO 8583 on TCP (and the HTTP API)",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_data_flags(p)
    p.add_argument("--host", default="127.0.0.1", help="address of the first ISO 8583 listener")
    p.add_argument("--port", type=int, default=8583, help="port of the first listener (0: any free port)")
    p.add_argument("--dialect", default="ascii87", help="dialect of the first listener (a name in specs/ or a file)")
    p.add_argument("--framing", default="len2", choices=PREFIXES, help="length prefix of the first listener")
    p.add_argument("--tpdu", action="store_true", help="frames carry a 5-byte TPDU after the length")
    p.add_argument("--max-frame", type=int, default=8192, help="largest accepted frame, bytes")
    p.add_argument("--idle-timeout", type=float, default=300.0, help="close connections idle this long (s)")
    p.add_argument("--frame-timeout", type=float, default=10.0, help="close connections stalled mid-frame (s)")
    p.add_argument("--listen", action="append", default=[], metavar="DIALECT:FRAMING[:tpdu]@HOST:PORT",
                   help="another listener (repeatable)")
    p.add_argument("--http-port", type=int, default=8080, help="HTTP API port (0: any free port, -1: off)")
    p.add_argument("--tokens", metavar="FILE", help="HTTP API bearer tokens (default: fixtures/tokens.yaml)")
    p.add_argument("--hsm", type=host_port, metavar="HOST:PORT", help="remote HSM (default: in-process)")
    p.add_argument("--rules", metavar="FILE", help="host simulation rules for the first listener")
    p.add_argument("--tls-cert", metavar="PEM", help="serve the first listener over TLS with this certificate")
    p.add_argument("--tls-key", metavar="PEM", help="its private key (default: in the --tls-cert file)")
    p.add_argument("--tls-ca", metavar="PEM", help="CA that issues client certificates")
    p.add_argument("--tls-client-auth", action="store_true", help="require a client certificate (mutual TLS)")
    p.add_argument("--record", metavar="FILE", help="record the first listener's traffic (masked JSONL)")
    p.add_argument("--trace", action="store_true", help="log a masked dump of every message")
    p.add_argument("--hsm-audit-log", action="store_true",
                   help="log every in-process HSM command (always kept in the HSM's in-memory audit ring)")
    p.add_argument("--cpus", type=cpu_list, metavar="LIST",
                   help="run on these CPUs only (0, 0,2 or 0-3); one is enough: the pipeline's threads share "
                        "Python's GIL, and on one core they share its caches too (docs/performance.md)")
    p.add_argument("--approve-all", action="store_true",
                   help="answer every request 00 without the authorisation pipeline (wire testing)")
    p.set_defaults(func=serve)


def listener_configs(args) -> list[ListenerConfig]:
    """The first listener from flags, then --listen ones, then the config file's."""
    try:
        first = ListenerConfig(host=args.host, port=args.port, dialect=args.dialect, framing=args.framing,
                               tpdu=args.tpdu, max_frame=args.max_frame, idle_timeout=args.idle_timeout,
                               frame_timeout=args.frame_timeout, rules=args.rules, record=args.record,
                               tls_cert=args.tls_cert, tls_key=args.tls_key, tls_ca=args.tls_ca,
                               tls_client_auth=args.tls_client_auth)
        first.validate("switch serve")
        configs = [first] + [parse_listen(text, i + 1) for i, text in enumerate(args.listen)]
        if args.config:
            configs += load_config(args.config)["listeners"]
    except (ConfigError, DialectError) as exc:
        raise CliError(str(exc)) from None
    return configs


def serve(args) -> int:
    from twisted.internet import reactor

    from switch.service import SwitchOptions, build, read_config, start_http

    logging.basicConfig(level=logging.DEBUG if args.trace else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if not (args.trace or args.hsm_audit_log):
        # Three HSM commands per purchase: a log line each cost ~80 us of the hot path; the in-process
        # HSM still records every command (code, error, duration, caller) in its audit ring.
        logging.getLogger("hsm_emulator.audit").setLevel(logging.WARNING)
    configs = listener_configs(args)
    if args.cpus:
        pin_to_cpus(args.cpus)
    try:
        config = read_config(args.config)
    except (OSError, ValueError) as exc:
        raise CliError(f"{args.config}: {exc}") from None
    running = build(SwitchOptions(db=args.db, data_dir=args.data_dir, config=config, hsm=args.hsm,
                                  tokens=args.tokens, approve_all=args.approve_all), reactor)
    switch = running.switch
    for cfg in configs:
        cfg.trace = cfg.trace or args.trace
        try:
            host, port = switch.listen(reactor, cfg)
        except ConfigError as exc:
            raise CliError(str(exc)) from None
        except Exception as exc:  # CannotListenError and friends: one line, not a traceback
            raise CliError(f"cannot listen on {cfg.host}:{cfg.port}: {exc}") from None
        kind = "iso8583s" if cfg.tls_cert else "iso8583"
        print(f"listening {kind} {host}:{port}", flush=True)
    http = start_http(reactor, running, args.host, args.http_port)
    if http:
        print(f"listening http {http[0]}:{http[1]}", flush=True)
    reactor.run()
    return 0
