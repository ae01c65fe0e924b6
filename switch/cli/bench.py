"""`acqsim bench`: load benchmark of the switch against a bare Twisted + pyiso8583 baseline."""

from __future__ import annotations

import sys

from switch.cli.common import CliError, add_json_flag, print_json


def register(sub) -> None:
    p = sub.add_parser("bench", help="load benchmark: throughput, latency and server CPU per transaction")
    p.add_argument("--mode", choices=("full", "hostsim"), default="full",
                   help="full authorisation pipeline, or host simulation rules only")
    p.add_argument("--count", type=int, default=4000, help="transactions to send (default 4000)")
    p.add_argument("--duration", type=float, default=0.0, help="or run this many seconds")
    p.add_argument("--connections", type=int, default=20, help="terminal connections (default 20)")
    p.add_argument("--rate", type=float, default=0.0, help="offered transactions per second (default: closed loop)")
    p.add_argument("--db", metavar="URL", help="database (default: SQLite in a temporary directory); "
                                                 "a PostgreSQL URL gets a fresh schema")
    p.add_argument("--processes", type=int, default=1, help="switch processes sharing the database")
    p.add_argument("--cards", type=int, default=50, help="bench cards to spread the load over")
    p.add_argument("--no-pin", dest="pin", action="store_false",
                   help="let the switch and the generator run on any CPU (default: each switch process on a CPU "
                        "of its own, the generator on the rest, when there are enough)")
    p.add_argument("--plot", metavar="PNG", help="write a latency histogram")
    add_json_flag(p)
    p.set_defaults(func=bench)


def bench(args) -> int:
    from switch.bench.report import plot, text_report
    from switch.bench.runner import BenchOptions, run

    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise CliError("--plot needs matplotlib: pip install 'acqsim[bench]'") from None
    if args.count < 1 or args.connections < 1 or args.processes < 1:
        raise CliError("--count, --connections and --processes must be positive")
    if args.duration < 0 or args.rate < 0 or args.cards < 1:
        raise CliError("--duration and --rate must not be negative, --cards must be positive")
    if args.processes > 1 and not (args.db or "").startswith("postgres"):
        raise CliError("several switch processes need a shared PostgreSQL database (--db postgresql://...)")
    options = BenchOptions(mode=args.mode, count=args.count, duration=args.duration, connections=args.connections,
                           rate=args.rate, db=args.db, processes=args.processes, cards=args.cards, pin=args.pin)
    sys.stderr.write("acqsim bench: building requests (PIN blocks, ARQCs), then baseline and switch runs...\n")
    try:
        report = run(options)
    except RuntimeError as exc:
        raise CliError(str(exc)) from None
    latencies = report["switch"].pop("_latencies", [])
    for key in list(report):
        if isinstance(report[key], dict):
            report[key].pop("_latencies", None)
    if args.plot:
        plot(latencies, args.plot, f"acqsim {args.mode}: latency at {report['switch']['tps']} tps")
    flat = {"tps": report["switch"]["tps"], "p50_ms": report["switch"]["p50_ms"],
            "p95_ms": report["switch"]["p95_ms"], "p99_ms": report["switch"]["p99_ms"],
            "max_ms": report["switch"]["max_ms"], "cpu_us_per_txn": report["switch"]["cpu_us_per_txn"],
            "baseline_cpu_us_per_msg": report["baseline"]["cpu_us_per_txn"], "ratio": report["ratio"],
            "audit_ok": report["audit_ok"]}
    if args.json:
        print_json(flat | {"report": report})
    else:
        print(text_report(report))
    return 0 if report["audit_ok"] else 1
