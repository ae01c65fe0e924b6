"""`acqsim hsm ...`: serve the payShield-style HSM, send it a raw host command, import a clear test key."""

from __future__ import annotations

import argparse
import logging
import sys

from switch.cli.common import CliError, add_json_flag, host_port, print_json


def register(sub) -> None:
    hsm = sub.add_parser("hsm", help="the software HSM (payShield host-command protocol)")
    cmds = hsm.add_subparsers(dest="hsm_command", metavar="COMMAND")
    cmds.required = True

    p = cmds.add_parser("serve", help="serve host commands on TCP", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="listen address")
    p.add_argument("--port", type=int, default=1500, help="TCP port (0: any free port)")
    p.add_argument("--header-length", type=int, default=4, help="message header length, echoed back")
    p.add_argument("--lmk", metavar="FILE", help="variant LMK file (default: the Thales test LMK in fixtures/hsm)")
    p.add_argument("--audit-log", metavar="FILE", help="write the audit log here (default: stderr)")
    p.add_argument("--quiet", action="store_true", help="no audit lines on stderr")
    p.add_argument("--tls-cert", metavar="PEM", help="serve TLS with this certificate (chain after the leaf)")
    p.add_argument("--tls-key", metavar="PEM", help="private key of --tls-cert")
    p.add_argument("--tls-ca", metavar="PEM", help="require client certificates issued by this CA (mutual TLS)")
    p.add_argument("--allow", action="append", metavar="CIDR", help="accept connections only from these networks")
    p.set_defaults(func=serve)

    p = cmds.add_parser("command", help="send one raw host command (no header) and print the answer")
    p.add_argument("target", type=host_port, metavar="HOST:PORT")
    p.add_argument("command", help="command text, e.g. NC or BU020... (\\x19 for a trailer delimiter)")
    p.add_argument("--header-length", type=int, default=4)
    p.add_argument("--timeout", type=float, default=2.0)
    add_json_flag(p)
    p.set_defaults(func=send_command)

    p = cmds.add_parser("import-key", help="encrypt a clear test key under the LMK (local, no server)")
    p.add_argument("clear", help="clear key, 16/32/48 hex characters")
    p.add_argument("--type", required=True, help="key type: name (ZPK, TPK, PVK, CVK, BDK, MK-AC ...) or code (001)")
    p.add_argument("--scheme", default="U", help="key scheme under the LMK: U, T, X, Y (Z for single length)")
    p.add_argument("--lmk", metavar="FILE", help="variant LMK file (default: the test LMK)")
    add_json_flag(p)
    p.set_defaults(func=import_key)


def _hsm(lmk_path):
    from hsm_emulator import Hsm

    try:
        return Hsm(lmk_path)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot load LMK {lmk_path}: {exc}") from None


def serve(args) -> int:
    from twisted.internet import reactor

    from hsm_emulator.server import listen

    if not 0 <= args.header_length <= 255:
        raise CliError("--header-length must be 0..255")
    hsm = _hsm(args.lmk)
    audit = logging.getLogger("hsm_emulator.audit")
    audit.setLevel(logging.INFO)
    audit.propagate = False
    if args.audit_log or not args.quiet:
        handler = logging.FileHandler(args.audit_log) if args.audit_log else logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s hsm-audit %(message)s"))
        audit.addHandler(handler)
    if bool(args.tls_cert) != bool(args.tls_key) or (args.tls_ca and not args.tls_cert):
        raise CliError("--tls-cert and --tls-key go together; --tls-ca needs them")
    try:
        if args.tls_cert or args.allow:
            from hsm_emulator.server import HsmFactory
            from switch.security.tls import listen as secure_listen
            from switch.security.tls import server_tls_options

            tls = (server_tls_options(args.tls_cert, args.tls_key, ca=args.tls_ca, require_client_cert=bool(args.tls_ca))
                   if args.tls_cert else None)
            port = secure_listen(reactor, args.port, HsmFactory(hsm, args.header_length), tls=tls,
                                 allowed_networks=args.allow, interface=args.host)
        else:
            port = listen(reactor, hsm, args.host, args.port, args.header_length)
    except Exception as exc:  # CannotListenError, unreadable certificate ...: one line, exit 2
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc}") from None
    addr = port.getHost()
    print(f"listening hsm {addr.host}:{addr.port}", flush=True)
    reactor.run()
    return 0


def send_command(args) -> int:
    from hsm_emulator.client import HsmClient
    from hsm_emulator.errors import HsmError

    raw = args.command.encode("latin-1").decode("unicode_escape").encode("latin-1")
    client = HsmClient(args.target[0], args.target[1], args.header_length, args.timeout)
    try:
        resp = client.execute(raw)
    except HsmError as exc:
        raise CliError(str(exc.reason or exc)) from None
    finally:
        client.close()
    text = resp.decode("latin-1")
    if args.json:
        print_json({"response_code": text[:2], "error_code": text[2:4], "data": text[4:]})
    else:
        print(text)
    return 0 if text[2:4] == "00" else 1


def import_key(args) -> int:
    from hsm_emulator.errors import HsmError

    hsm = _hsm(args.lmk)
    try:
        key, kcv = hsm.import_clear_key(args.clear, args.type, args.scheme)
    except HsmError as exc:
        raise CliError(f"cannot import key: {exc.reason or exc.code}") from None
    if args.json:
        print_json({"key": key, "kcv": kcv, "key_type": args.type})
    else:
        print(f"{key} {kcv}")
    return 0
