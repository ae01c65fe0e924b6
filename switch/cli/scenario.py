"""`acqsim scenario run FILES --target HOST:PORT` and `acqsim scenario record RECORDING -o FILE`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from switch.cli.common import CliError, add_json_flag, host_port


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("scenario", help="run scripted card scenarios; turn recordings into scenarios")
    sub = p.add_subparsers(dest="scenario_command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser("run", help="run scenario files against an ISO 8583 host (exit 0 only if all pass)")
    run.add_argument("files", nargs="+", metavar="FILE", help="scenario files or directories of *.yaml")
    run.add_argument("--target", type=host_port, metavar="HOST:PORT",
                     help="the ISO 8583 host (default: the scenario's target:, else 127.0.0.1:8583)")
    run.add_argument("--dialect", help="wire dialect name or spec file (default: the scenario's, else ascii87)")
    run.add_argument("--framing", help="len2, len4, ascii2, ascii4 or bcd2 (default: the scenario's, else len2)")
    run.add_argument("--tpdu", metavar="HEX", help="5-byte TPDU to send before each message (10 hex)")
    run.add_argument("--timeout", type=float, metavar="SECONDS", help="per-step timeout for every step")
    run.add_argument("--junit", metavar="PATH", help="write JUnit XML here")
    run.add_argument("--html", metavar="PATH", help="write a self-contained HTML report here")
    run.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    add_json_flag(run)
    run.set_defaults(func=cmd_run)

    rec = sub.add_parser("record", help="turn a (masked) switch recording into a scenario file")
    rec.add_argument("recording", metavar="RECORDING", help="JSONL recording written by the switch")
    rec.add_argument("-o", "--output", metavar="FILE", help="scenario file to write (default: stdout)")
    rec.add_argument("--name", help="scenario name (default: the recording's file name)")
    rec.add_argument("--terminal", metavar="TID", help="only this terminal's requests")
    rec.set_defaults(func=cmd_record)


def _expand(files: list[str]) -> list[Path]:
    out: list[Path] = []
    for f in files:
        p = Path(f)
        if p.is_dir():
            # Library files only: step files meant for `include:` live under a directory named "common".
            out.extend(sorted(x for x in p.rglob("*.yaml") if "common" not in x.relative_to(p).parts))
        elif p.is_file():
            out.append(p)
        else:
            raise CliError(f"{f}: no such file or directory")
    if not out:
        raise CliError("no scenario files found")
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from twisted.internet import defer, task

    from terminal_agent.scenario import html, report
    from terminal_agent.scenario.loader import ConfigError, load_scenario
    from terminal_agent.scenario.results import ScenarioResult
    from terminal_agent.scenario.runner import Runner, count_steps

    loaded = []
    for path in _expand(args.files):
        try:
            loaded.append(load_scenario(path))
        except ConfigError as exc:
            # A bad file fails the run (and shows in the reports) without stopping the other scenarios.
            loaded.append(ScenarioResult(name=path.stem, file=str(path), error=str(exc)))
            sys.stderr.write(f"acqsim: {exc}\n")
    if args.tpdu is not None and (len(args.tpdu) != 10 or not all(c in "0123456789abcdefABCDEF" for c in args.tpdu)):
        raise CliError("--tpdu expects 10 hex characters")
    from switch.wire import DialectError, Framing, load_dialect

    try:
        load_dialect(args.dialect or "ascii87")
        Framing(args.framing or "len2", tpdu=args.tpdu is not None)
    except (DialectError, ValueError) as exc:
        raise CliError(str(exc)) from None
    scenarios = [s for s in loaded if not isinstance(s, ScenarioResult)]
    progress = None
    if not args.no_progress and not args.json:
        progress = report.Progress(sum(count_steps(s.steps) for s in scenarios))
    host, port = args.target or (None, None)
    outcome: dict = {}

    async def main(reactor) -> None:
        runner = Runner(reactor, host, port, dialect=args.dialect, framing=args.framing, tpdu=args.tpdu,
                        timeout=args.timeout, progress=progress)
        outcome["run"] = await runner.run_all(scenarios)

    try:
        task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise CliError("the scenario run stopped on an internal error (see above)") from None
    run = outcome["run"]
    if progress:
        progress.finish()
    # Put the unloadable files back in their place so reports list every file given.
    results = iter(run.scenarios)
    run.scenarios = [x if isinstance(x, ScenarioResult) else next(results) for x in loaded]
    if args.junit:
        report.write_junit(run, args.junit)
    if args.html:
        html.write_html(run, args.html)
    if args.json:
        sys.stdout.write(report.json_report(run) + "\n")
    else:
        sys.stdout.write(report.summary(run) + "\n")
    return 0 if run.passed else 1


def cmd_record(args: argparse.Namespace) -> int:
    from terminal_agent.scenario.record import read_recording, recording_to_scenario, write_scenario

    try:
        records = read_recording(args.recording)
    except OSError as exc:
        raise CliError(f"{args.recording}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    doc = recording_to_scenario(records, name=args.name or Path(args.recording).stem, terminal=args.terminal)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            write_scenario(doc, out)
        sys.stderr.write(f"wrote {args.output}: {len(doc['steps'])} steps\n")
    else:
        write_scenario(doc, sys.stdout)
    return 0
