"""`acqsim fixtures load` / `acqsim fixtures show --json`: the shipped test data."""

from __future__ import annotations

import argparse

from switch.cli.common import CliError, add_data_flags, add_json_flag, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fixtures", help="load or print the shipped test data (cards, terminals, merchants)")
    fsub = p.add_subparsers(dest="fixtures_command", metavar="ACTION")
    fsub.required = True
    load = fsub.add_parser("load", help="load merchants, issuers, cards and terminals into the database")
    add_data_flags(load)
    add_json_flag(load)
    load.set_defaults(func=cmd_load)
    show = fsub.add_parser("show", help="print the test data: cards with PIN, track 2, CVV; terminal keys")
    add_data_flags(show)
    add_json_flag(show)
    show.set_defaults(func=cmd_show)


def cmd_load(args: argparse.Namespace) -> int:
    from switch.issuer.loader import load_all, read_config
    from switch.store import open_database

    try:
        config = read_config(args.config)
        engine = open_database(args.db, args.data_dir)
        counts = load_all(engine, None, config)
    except (OSError, ValueError) as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print_json({"loaded": counts})
    else:
        print("loaded " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from switch.issuer.fixtures import load_fixtures, show
    from switch.issuer.loader import read_config

    try:
        doc = show(load_fixtures(read_config(args.config).get("fixtures_dir")))
    except (OSError, ValueError, KeyError) as exc:
        raise CliError(f"bad fixtures: {exc}") from None
    if args.json:
        print_json(doc)
        return 0
    print("TEST DATA ONLY - clear PINs and keys on purpose")
    print(f"{'label':<20} {'pan':<19} {'exp':<4} {'pin':<4} {'cvv':<3} {'status':<8} {'balance':>10} expect")
    for c in doc["cards"]:
        print(f"{c.get('label', ''):<20} {c['pan']:<19} {c['expiry']:<4} {c['pin']:<4} {c['cvv']:<3} "
              f"{c['status']:<8} {c['balance']:>10} {c.get('expect', '')}")
    print()
    for t in doc["terminals"]:
        print(f"{t['tid']} {t['kind']} mid={t['mid']} cur={t['currency']} tpk={t['tpk']} mac={t['mac_required']}")
    print()
    for m in doc["merchants"]:
        print(f"{m['mid']} {m['mcc']} {m['currency']} {m['name']}")
    return 0
