"""`acqsim wallet ...`: merchant wallet balances, statements, payouts and back-office runs."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from switch.cli.common import CliError, add_data_flags, add_json_flag, print_json


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


def _cmd(sub, name: str, help_: str, func, *, mid: bool = False, day: bool = False):
    p = sub.add_parser(name, help=help_)
    add_data_flags(p)
    add_json_flag(p)
    if mid:
        p.add_argument("mid", help="merchant id (field 42, 15 characters)")
    if day:
        p.add_argument("--date", type=_date, default=None, help="business date (default: today, UTC)")
    p.set_defaults(func=func)
    return p


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("wallet", help="merchant wallets: balances, statements, payouts")
    sub = parser.add_subparsers(dest="wallet_command", metavar="COMMAND")
    sub.required = True
    _cmd(sub, "show", "balances of a merchant's wallets (minor units)", show, mid=True)
    _cmd(sub, "list", "merchants and their status", list_merchants)
    st = _cmd(sub, "statement", "monthly statement, cycle 26th to 26th (N5)", statement, mid=True)
    st.add_argument("--currency", help="currency (default: every wallet of the merchant)")
    st.add_argument("--cycle", type=_date, help="a date in the billing cycle wanted (default: today)")
    st.add_argument("--from", dest="date_from", type=_date, help="period start (instead of --cycle)")
    st.add_argument("--to", dest="date_to", type=_date, help="period end, exclusive")
    st.add_argument("--format", choices=("json", "csv"), default=None, help="output format (default: json with --json, else csv)")
    po = _cmd(sub, "payouts", "payouts (scheduled, held, paid)", payouts)
    po.add_argument("mid", nargs="?", help="only this merchant")
    _cmd(sub, "settle", "settle unsettled funds and schedule payouts (N9)", settle, day=True).add_argument(
        "--mid", help="only this merchant")
    _cmd(sub, "pay", "execute payouts due by the date (suspended merchants held, N8)", pay, day=True)
    _cmd(sub, "cancel-payout", "cancel a payout order before its execution day (N10)", cancel_payout,
         day=True).add_argument("payout_id")
    _cmd(sub, "fees", "charge periodic fees due by the date (N4)", fees, day=True)
    _cmd(sub, "dormancy", "dormancy notices and write-offs (N16)", dormancy, day=True)
    sus = _cmd(sub, "suspend", "suspend a merchant: payments refused, payouts held (N8)", suspend, mid=True)
    sus.add_argument("--reason", required=True, help="reason and remedy told to the merchant")
    _cmd(sub, "reactivate", "reactivate a suspended merchant", reactivate, mid=True)
    _cmd(sub, "load-merchants", "load fixtures/merchants.yaml into the database", load_merchants)
    ic = _cmd(sub, "interchange", "off-us: what each remote issuer owes us and we owe it", interchange, day=True)
    ic.add_argument("--settle", action="store_true",
                    help="book the scheme's settlement for --date (default today): both sides cleared through the "
                         "settlement bank")


def _wallets(args: argparse.Namespace):
    from switch.store import open_database
    from switch.wallets import Wallets

    return Wallets(open_database(args.db, args.data_dir))


def _today(args: argparse.Namespace) -> dt.date:
    return args.date or dt.datetime.now(dt.UTC).date()


def _merchant(w, mid: str):
    m = w.merchant(mid)
    if m is None:
        raise CliError(f"unknown merchant {mid}")
    return m


def show(args: argparse.Namespace) -> int:
    w = _wallets(args)
    m = _merchant(w, args.mid)
    wallets = w.merchant_wallets(args.mid)
    if args.json:
        print_json({"mid": args.mid, "wallets": wallets})
        return 0
    print(f"{m.mid}  {m.name}  MCC {m.mcc}  {m.status}{'  (' + m.status_reason + ')' if m.status_reason else ''}")
    for x in wallets:
        print(f"  {x['currency']}  available {x['available']}  unsettled {x['unsettled']}  receivable {x['receivable']}")
    return 0


def list_merchants(args: argparse.Namespace) -> int:
    rows = [{"mid": m.mid, "name": m.name, "mcc": m.mcc, "currency": m.currency, "status": m.status,
             "contract": m.contract} for m in _wallets(args).merchants()]
    if args.json:
        print_json({"merchants": rows})
    else:
        for r in rows:
            print(f"{r['mid']}  {r['mcc']}  {r['currency']}  {r['status']:<11}  {r['contract']:<10}  {r['name']}")
    return 0


def statement(args: argparse.Namespace) -> int:
    from switch.wallets import cycle_bounds, statement_csv

    w = _wallets(args)
    _merchant(w, args.mid)
    if args.date_from or args.date_to:
        if not (args.date_from and args.date_to):
            raise CliError("--from and --to go together")
        start, end = args.date_from, args.date_to
    else:
        start, end = cycle_bounds(args.cycle or dt.datetime.now(dt.UTC).date())
    currencies = [args.currency] if args.currency else w.merchant_currencies(args.mid)
    try:
        statements = [w.statement(args.mid, c, start, end) for c in currencies]
    except ValueError as exc:
        raise CliError(str(exc)) from None
    fmt = args.format or ("json" if args.json else "csv")
    if fmt == "json":
        print_json(statements[0] if len(statements) == 1 else {"statements": statements})
    else:
        for s in statements:
            sys.stdout.write(statement_csv(s))
    return 0


def _emit(args: argparse.Namespace, key: str, rows: list) -> int:
    if args.json:
        print_json({key: rows})
    else:
        for r in rows:
            print(json.dumps(r, default=str))
        if not rows:
            print(f"no {key}")
    return 0


def payouts(args: argparse.Namespace) -> int:
    return _emit(args, "payouts", _wallets(args).payouts(args.mid))


def settle(args: argparse.Namespace) -> int:
    w = _wallets(args)
    day = _today(args)
    done = [{"key": o.key, "status": o.status, "amount": o.amount} for o in w.run_settlement(day, args.mid)]
    if args.json:
        print_json({"settlements": done, "payouts": w.schedule_payouts(day, args.mid)})
        return 0
    _emit(args, "settlements", done)
    return _emit(args, "payouts", w.schedule_payouts(day, args.mid))


def pay(args: argparse.Namespace) -> int:
    return _emit(args, "payouts", _wallets(args).execute_payouts(_today(args)))


def cancel_payout(args: argparse.Namespace) -> int:
    result = _wallets(args).cancel_payout(args.payout_id, _today(args))
    _emit(args, "payouts", [result])
    return 0 if result["status"] == "cancelled" else 1


def fees(args: argparse.Namespace) -> int:
    rows = [{"key": o.key, "status": o.status, "amount": o.amount, "note": o.detail}
            for o in _wallets(args).charge_periodic_fees(_today(args))]
    return _emit(args, "fees", rows)


def dormancy(args: argparse.Namespace) -> int:
    return _emit(args, "actions", _wallets(args).dormancy_run(_today(args)))


def suspend(args: argparse.Namespace) -> int:
    w = _wallets(args)
    _merchant(w, args.mid)
    w.set_merchant_status(args.mid, "suspended", args.reason)
    return _emit(args, "merchants", [{"mid": args.mid, "status": "suspended", "reason": args.reason}])


def reactivate(args: argparse.Namespace) -> int:
    w = _wallets(args)
    _merchant(w, args.mid)
    w.set_merchant_status(args.mid, "active", "")
    return _emit(args, "merchants", [{"mid": args.mid, "status": "active"}])


def load_merchants(args: argparse.Namespace) -> int:
    from switch.store import open_database
    from switch.wallets import load_merchant_fixtures

    n = load_merchant_fixtures(open_database(args.db, args.data_dir))
    return _emit(args, "loaded", [{"merchants": n}])


def interchange(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from switch.issuer.tables import issuers

    w = _wallets(args)
    with w.engine.connect() as conn:
        remote = list(conn.execute(select(issuers.c.issuer_id).where(issuers.c.kind == "remote")).scalars())
    settled = w.settle_interchanges(remote, _today(args)) if args.settle else []
    positions = w.interchange_positions(remote)
    if args.json:
        print_json({"positions": positions, **({"settled": settled} if args.settle else {})})
        return 0
    for s in settled:
        note = " (settled before for this date: the stored amounts)" if s["again"] else ""
        print(f"settled {s['issuer']} {s['currency']} for {s['date']}: received {s['received']}, paid {s['paid']}"
              f"{note}")
    for p in positions:
        print(f"{p['issuer']}  {p['currency']}  receivable {p['receivable']}  payable {p['payable']}  net {p['net']}")
    if not positions:
        print("no interchange with remote issuers yet")
    return 0
