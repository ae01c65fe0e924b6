"""`acqsim demo`: HSM, switch and emulated terminals run a mixed day; exit 0 only if every outcome matched."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import tempfile
from pathlib import Path

from switch.cli.common import CliError, add_json_flag, print_json


def register(sub) -> None:
    p = sub.add_parser("demo", help="run a mixed day of transactions through HSM, switch and emulated terminals")
    p.add_argument("--db", metavar="URL", help="database URL (default: SQLite in the demo's data directory)")
    p.add_argument("--data-dir", metavar="DIR", help="keep the demo's data here (default: a new temporary directory)")
    p.add_argument("--day", metavar="FILE", help="the day to run (default: fixtures/demo/day.yaml)")
    p.add_argument("--verbose", action="store_true", help="log what the switch does")
    add_json_flag(p)
    p.set_defaults(func=demo)


def demo(args) -> int:
    from twisted.internet import task

    from switch.demo import load_day

    logging.basicConfig(level=logging.INFO if args.verbose else logging.CRITICAL, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        steps = load_day(args.day)
    except (OSError, ValueError) as exc:
        raise CliError(str(exc)) from None
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="acqsim-demo-"))
    outcome: dict = {}
    try:
        task.react(lambda reactor: _run(reactor, steps, data_dir, args.db, outcome), [])
    except SystemExit as stop:  # react() always exits; the report comes after it
        if stop.code not in (0, None):
            sys.stderr.write("acqsim demo: the run stopped early (use --verbose to see why)\n")
    return _print(outcome, data_dir, args.json)


def _run(reactor, steps, data_dir: Path, db: str | None, outcome: dict):
    from twisted.internet import defer, threads

    from switch.demo import DemoStack, back_office, merchant_rows, run_day
    from switch.demo.report import progress

    async def main():
        stack = DemoStack(reactor, data_dir, db)
        sys.stderr.write(f"acqsim demo: switch on 127.0.0.1:{stack.port}, HSM on 127.0.0.1:{stack.hsm_port}, "
                         f"remote issuer REMOTEBANK on 127.0.0.1:{stack.remote_port}, data in {data_dir}\n")
        try:
            outcome["transactions"] = await run_day(stack, steps, progress)
            engine = stack.running.engine
            outcome["wallets_end_of_day"] = await threads.deferToThread(merchant_rows, engine)
            outcome["back_office"] = await threads.deferToThread(back_office, engine, dt.date.today())
            outcome["wallets"] = await threads.deferToThread(merchant_rows, engine)
        finally:
            stack.close()

    return defer.ensureDeferred(main())


def _print(outcome: dict, data_dir: Path, as_json: bool) -> int:
    from switch.demo.report import interchange_line, payouts_table, transactions_table, wallets_table

    rows = outcome.get("transactions", [])
    office = outcome.get("back_office", {})
    violations = office.get("violations", ["the demo did not finish"])
    ok = bool(rows) and all(r["ok"] for r in rows) and not violations
    if as_json:
        print_json({"ok": ok, "transactions": rows, "wallets": outcome.get("wallets", []),
                    "wallets_end_of_day": outcome.get("wallets_end_of_day", []),
                    "payouts": office.get("payouts", []), "interchange": office.get("interchange", []),
                    "audit": {"ok": not violations, "violations": violations},
                    "data_dir": str(data_dir)})
        return 0 if ok else 1
    print("\nTransactions\n" + transactions_table(rows))
    print("\nMerchant wallets at the end of the day\n" + wallets_table(outcome.get("wallets_end_of_day", [])))
    print("\nSettlement and payouts\n" + payouts_table(office.get("payouts", [])))
    print("\nMerchant wallets after settlement and payouts\n" + wallets_table(outcome.get("wallets", [])))
    for x in office.get("interchange", []):
        print(interchange_line(x))
    print(f"Ledger audit: {'ok' if not violations else violations}")
    matched = sum(1 for r in rows if r["ok"])
    print(f"\n{matched}/{len(rows)} outcomes matched their expectation: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1
