"""`acqsim ledger audit`: check the ledger's invariants."""

from __future__ import annotations

import argparse

from switch.cli.common import add_data_flags, add_json_flag, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ledger", help="double-entry ledger checks")
    sub = parser.add_subparsers(dest="ledger_command", metavar="COMMAND")
    sub.required = True
    audit = sub.add_parser("audit", help="check debits == credits, balances == transfers, limits, expired holds, wallet chains")
    add_data_flags(audit)
    add_json_flag(audit)
    audit.add_argument("--expire", action="store_true", help="release holds past their timeout first")
    audit.set_defaults(func=run_audit)


def run_audit(args: argparse.Namespace) -> int:
    from switch.ledger import Ledger, audit
    from switch.store import open_database
    from switch.wallets.audit import audit_wallets

    engine = open_database(args.db, args.data_dir)
    if args.expire:
        Ledger(engine).expire_pending()
    violations = audit(engine) + audit_wallets(engine)
    if args.json:
        print_json({"ok": not violations, "violations": violations})
    else:
        for v in violations:
            print(f"{v['check']}: {v['detail']}")
        print("ledger ok" if not violations else f"{len(violations)} violation(s)")
    return 0 if not violations else 1
