"""`acqsim terminal ...`: one POS or ATM terminal agent on the command line.

    acqsim terminal purchase --tid POS00001 --card 4761739001010010 --amount 12.34 --pin 1234
    acqsim terminal cash --tid ATM00001 --card 4761739001010036 --reader emulated --amount 100 --pin 2468
    acqsim terminal interactive --tid POS00001 --reader /dev/ttyUSB0
    acqsim terminal emulate-reader --card 4761739001010010      # a reader on a pty for another process
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from switch.cli.common import CliError, add_json_flag, print_json

MONEY_ACTIONS = ("purchase", "refund", "cash", "balance", "preauth")
ACTIONS = MONEY_ACTIONS + ("complete", "reverse", "echo", "sign-on", "batch-close", "totals")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("terminal", help="a POS/ATM terminal agent (card readers, PIN pad, ISO 8583 flows)")
    sub = p.add_subparsers(dest="terminal_command", metavar="COMMAND")
    sub.required = True
    helps = {"purchase": "sale (0200, processing code 00)", "refund": "refund (0200, 20)",
             "cash": "ATM cash withdrawal (0200, 01)", "balance": "balance inquiry (0200, 31)",
             "preauth": "pre-authorisation (0100)", "complete": "complete a pre-authorisation (0220) by --stan",
             "reverse": "reverse (void) the last approved transaction or --stan; --pending resends queued ones",
             "echo": "echo test (0800/301)", "sign-on": "sign-on (0800/001) and key change (0800/101)",
             "batch-close": "close the batch (0500 with totals)", "totals": "print the open batch's totals"}
    for action in ACTIONS:
        a = sub.add_parser(action, help=helps[action])
        _common(a)
        if action in MONEY_ACTIONS:
            _card_flags(a)
        if action in ("complete", "reverse"):
            a.add_argument("--stan", metavar="STAN", help="the transaction to complete or reverse (6 digits)")
        if action == "complete":
            a.add_argument("--amount", help="final amount in major units (default: the pre-authorised amount)")
        if action == "reverse":
            a.add_argument("--pending", action="store_true", help="only resend reversals queued on disk")
        a.set_defaults(func=cmd_action, action=action)
    i = sub.add_parser("interactive", help="a terminal session: commands on stdin, cards from --reader")
    _common(i)
    _card_flags(i)
    i.set_defaults(func=cmd_interactive)
    e = sub.add_parser("emulate-reader", help="run an emulated card reader on a pseudo-terminal and print its path")
    e.add_argument("--fixtures", metavar="FILE", help="cards file (default: the shipped fixtures)")
    e.set_defaults(func=cmd_emulate_reader)


def _common(a: argparse.ArgumentParser) -> None:
    a.add_argument("--host", default=None, help="switch host (default 127.0.0.1)")
    a.add_argument("--port", type=int, default=None, help="switch ISO 8583 port (default 8583)")
    a.add_argument("--tid", default=None, help="terminal id from the fixtures (default POS00001, ATM00001 for cash)")
    a.add_argument("--dialect", default=None, help="ascii87, binary87, bcd87, ebcdic87 (default ascii87)")
    a.add_argument("--framing", default=None, help="len2, len4, ascii2, ascii4, bcd2 (default len2)")
    a.add_argument("--tpdu", metavar="HEX", default=None, help="5-byte TPDU (10 hex) before each message")
    a.add_argument("--timeout", type=float, default=None, help="seconds to wait for an answer (default 10)")
    a.add_argument("--data-dir", metavar="DIR", help="where terminal state lives (default: the acqsim data dir)")
    a.add_argument("--fixtures", metavar="FILE", help="cards/terminals file (default: the shipped fixtures)")
    add_json_flag(a)


def _card_flags(a: argparse.ArgumentParser) -> None:
    if not any(x.dest == "amount" for x in a._actions):
        a.add_argument("--amount", help="amount in major units, e.g. 12.34")
    a.add_argument("--card", metavar="PAN", help="a fixture card (handed over directly, or put in --reader emulated)")
    a.add_argument("--reader", metavar="emulated|PATH", help="'emulated' or a serial device path / pyserial URL")
    a.add_argument("--entry", choices=("chip", "swipe", "contactless", "manual"), default="chip",
                   help="how the card is presented (default chip; magstripe-only cards are swiped)")
    a.add_argument("--fault", choices=("bad_lrc", "partial", "no_card", "blank", "noise"),
                   help="emulated reader: a faulty first presentation (the agent retries)")
    a.add_argument("--pin", help="PIN typed on the PIN pad (prompted in interactive mode)")
    a.add_argument("--baudrate", type=int, default=9600, help="serial reader speed (default 9600)")


def _terminal(args: argparse.Namespace, tid: str) -> Any:
    from terminal_agent.api import open_terminal

    try:
        term = open_terminal(tid, host=args.host, port=args.port, dialect=args.dialect, framing=args.framing,
                             data_dir=args.data_dir, fixtures=args.fixtures, timeout=args.timeout,
                             notify=lambda text: sys.stderr.write(text + "\n"))
    except KeyError as exc:
        raise CliError(str(exc).strip("'\"")) from None
    except RuntimeError as exc:
        raise CliError(str(exc)) from None
    if args.tpdu:
        term.profile.tpdu = args.tpdu
    return term


def _emit(args: argparse.Namespace, result: Any, term: Any) -> int:
    if args.json:
        print_json(result.to_json())
    else:
        sys.stdout.write(result.receipt(term.profile.merchant_name, term.profile.mid))
    return 0 if result.approved else 1


def cmd_action(args: argparse.Namespace) -> int:
    from terminal_agent.api import call, parse_amount

    tid = args.tid or ("ATM00001" if args.action == "cash" else "POS00001")
    term = _terminal(args, tid)
    try:
        if args.action == "totals":
            t = term.batch_totals()
            doc = {"tid": tid, "batch": term.state.batch, **t.as_dict(),
                   "pending_reversals": len(term.state.pending_reversals())}
            print_json(doc) if args.json else sys.stdout.write(
                "".join(f"{k:>18}: {v}\n" for k, v in doc.items()))
            return 0
        if args.action == "echo":
            return _emit(args, call(term, term.echo), term)
        if args.action == "sign-on":
            return _emit(args, call(term, term.sign_on), term)
        if args.action == "batch-close":
            return _emit(args, call(term, term.batch_close), term)
        if args.action == "reverse":
            if args.pending:
                left = call(term, term.flush_reversals)
                print_json({"pending_reversals": left}) if args.json else print(f"pending reversals: {left}")
                return 0 if left == 0 else 1
            return _emit(args, call(term, term.reverse, args.stan), term)
        if args.action == "complete":
            if not args.stan:
                raise CliError("complete needs --stan of the pre-authorisation")
            amount = parse_amount(args.amount) if args.amount else None
            return _emit(args, call(term, term.completion, args.stan, amount), term)
        return _emit(args, _money(args, term, args.action, args.amount, args.pin), term)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    finally:
        _close(term)


def _money(args: argparse.Namespace, term: Any, kind: str, amount: str | None, pin: Any) -> Any:
    from terminal_agent.api import call, parse_amount
    from terminal_agent.cards import find_card
    from terminal_agent.cardsource import open_reader
    from terminal_agent.readers import BadRead

    if kind != "balance" and not amount:
        raise CliError(f"{kind} needs --amount")
    if not args.card and not args.reader:
        raise CliError("give a card: --card PAN (fixtures) and/or --reader emulated|PATH")
    card = None
    if args.card:
        try:
            card = find_card(args.card, args.fixtures)
        except KeyError as exc:
            raise CliError(str(exc).strip("'\"")) from None
    try:
        opened = open_reader(args.reader, card, entry=args.entry, fault=args.fault, baudrate=args.baudrate)
    except (OSError, ValueError) as exc:
        raise CliError(str(exc)) from None
    try:
        return call(term, term.transact, kind, parse_amount(amount), opened.reader, pin)
    except BadRead as exc:
        raise CliError(f"card not read: {exc}") from None
    finally:
        opened.close()


def _close(term: Any) -> None:
    from twisted.internet import defer, threads

    threads.blockingCallFromThread(term.reactor, lambda: defer.succeed(term.close()))


INTERACTIVE_HELP = """commands: purchase AMOUNT | refund AMOUNT | cash AMOUNT | balance | preauth AMOUNT |
          complete STAN [AMOUNT] | reverse [STAN] | pending | echo | sign-on | batch-close | totals | quit"""


def cmd_interactive(args: argparse.Namespace) -> int:
    """A terminal session: the cashier types commands; the card comes from the reader (a real port by path)."""
    from terminal_agent.api import call, parse_amount

    tid = args.tid or "POS00001"
    term = _terminal(args, tid)
    from twisted.internet import threads

    threads.blockingCallFromThread(term.reactor, lambda: defer_succeed(term.start_reversal_retry()))
    out = sys.stdout
    out.write(f"terminal {tid} ({term.profile.kind}) -> {term.profile.host}:{term.profile.port}\n{INTERACTIVE_HELP}\n")
    try:
        while True:
            out.write(f"{tid}> ")
            out.flush()
            line = sys.stdin.readline()
            if not line:
                return 0
            words = line.split()
            if not words:
                continue
            cmd, rest = words[0].lower(), words[1:]
            try:
                if cmd in ("quit", "exit"):
                    return 0
                if cmd == "help":
                    out.write(INTERACTIVE_HELP + "\n")
                elif cmd in MONEY_ACTIONS:
                    if cmd == "cash" and term.profile.kind != "atm":
                        raise ValueError("cash is an ATM transaction")
                    if cmd != "balance" and not rest:
                        raise ValueError(f"{cmd} AMOUNT")
                    out.write("PRESENT CARD\n")
                    out.flush()
                    _show(args, _money(args, term, cmd, rest[0] if rest else None, args.pin or _ask_pin), term)
                elif cmd == "complete":
                    amount = parse_amount(rest[1]) if len(rest) > 1 else None
                    _show(args, call(term, term.completion, rest[0], amount), term)
                elif cmd == "reverse":
                    _show(args, call(term, term.reverse, rest[0] if rest else None), term)
                elif cmd == "pending":
                    out.write(f"pending reversals: {call(term, term.flush_reversals)}\n")
                elif cmd == "echo":
                    _show(args, call(term, term.echo), term)
                elif cmd == "sign-on":
                    _show(args, call(term, term.sign_on), term)
                elif cmd == "batch-close":
                    _show(args, call(term, term.batch_close), term)
                elif cmd == "totals":
                    out.write(f"{term.batch_totals().as_dict()}\n")
                else:
                    out.write(f"unknown command {cmd!r}\n{INTERACTIVE_HELP}\n")
            except (CliError, ValueError, IndexError) as exc:
                out.write(f"error: {exc}\n")
    finally:
        _close(term)


def defer_succeed(value: Any) -> Any:
    from twisted.internet import defer

    return defer.succeed(value)


def _ask_pin() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("ENTER PIN (empty for none): ")
    sys.stdout.write("ENTER PIN: ")
    sys.stdout.flush()
    return sys.stdin.readline().strip()


def _show(args: argparse.Namespace, result: Any, term: Any) -> None:
    _emit(args, result, term)
    sys.stdout.flush()


def cmd_emulate_reader(args: argparse.Namespace) -> int:
    """An emulated reader for another process: prints `listening reader /dev/pts/N`, then reads
    `swipe|insert|tap PAN [FAULT]` lines on stdin (faults: bad_lrc partial no_card blank reverse noise)."""
    from terminal_agent.cards import find_card
    from terminal_agent.readers import EmulatedReader

    device = EmulatedReader().start()
    sys.stdout.write(f"listening reader {device.path}\n")
    sys.stdout.flush()
    try:
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            if words[0] in ("quit", "exit"):
                break
            try:
                mode = {"swipe": "swipe", "insert": "insert", "tap": "tap"}[words[0]]
                device.present(find_card(words[1], args.fixtures), mode, words[2] if len(words) > 2 else None)
                sys.stdout.write(f"{mode} queued\n")
            except (KeyError, IndexError, ValueError) as exc:
                sys.stdout.write(f"error: {exc}\n")
            sys.stdout.flush()
    finally:
        device.close()
    return 0
