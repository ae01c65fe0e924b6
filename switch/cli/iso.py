"""`acqsim iso decode HEX`: a masked dump of one message for firmware testers."""

from __future__ import annotations

import sys

from switch.cli.common import CliError, add_json_flag, print_json
from switch.wire import (
    PREFIXES,
    DialectError,
    FrameError,
    FrameReader,
    Framing,
    MessageError,
    dump,
    load_dialect,
)


def register(sub) -> None:
    iso = sub.add_parser("iso", help="ISO 8583 message tools")
    cmds = iso.add_subparsers(dest="iso_command", metavar="COMMAND")
    cmds.required = True
    p = cmds.add_parser("decode", help="decode a message given in hex ('-' reads stdin) and print a dump")
    p.add_argument("hex", help="message bytes in hex, or - for stdin")
    p.add_argument("--dialect", default="ascii87")
    p.add_argument("--framing", choices=PREFIXES, help="the hex starts with this length prefix")
    p.add_argument("--tpdu", action="store_true", help="a 5-byte TPDU follows the length prefix")
    p.add_argument("--unmasked", action="store_true", help="show card data in the clear (test cards only)")
    add_json_flag(p)
    p.set_defaults(func=decode)


def decode(args) -> int:
    text = sys.stdin.read() if args.hex == "-" else args.hex
    try:
        data = bytes.fromhex("".join(text.split()))
    except ValueError:
        raise CliError("the message is not hex") from None
    try:
        dialect = load_dialect(args.dialect)
        if args.framing:
            frames = FrameReader(Framing(args.framing, tpdu=args.tpdu, max_frame=1 << 20)).feed(data)
            if not frames:
                raise CliError("the frame is shorter than its length prefix says")
            data = frames[0][1]
        msg = dialect.decode(data)
    except (DialectError, FrameError) as exc:
        raise CliError(str(exc)) from None
    except MessageError as exc:
        raise CliError(f"cannot decode as {args.dialect}: {exc}") from None
    if args.json:
        from switch.wire import mask_field

        print_json({k: (v if args.unmasked else mask_field(k, v)) for k, v in msg.items()})
    else:
        print(dump(msg, dialect.spec, mask=not args.unmasked, title=f"({dialect.name})"))
    return 0
