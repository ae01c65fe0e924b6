"""The authorisation path without sockets or threads: `python -m switch.bench.inproc [--count N]`.

Runs the bench plan's requests through decode -> checks (prepare) -> booking job (in group transactions,
committed as the switch does) -> encode on one thread and prints CPU microseconds per request for each
stage. It isolates the pipeline's own cost from the reactor and thread hand-offs that `acqsim bench`
also measures; `--profile PATH` writes a cProfile of the whole run.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path


def _setup(work: Path, cards: int):
    from hsm_emulator import Hsm
    from switch.auth.authorizer import build_services
    from switch.auth.runner import Runner
    from switch.bench.plan import make_bench_fixtures
    from switch.issuer.loader import ensure_fixtures
    from switch.store import open_database

    fixtures = make_bench_fixtures(work / "fixtures", cards)
    config = {"fixtures_dir": str(fixtures)}
    engine = open_database(None, work / "data")
    hsm = Hsm()
    ensure_fixtures(engine, hsm, config)
    return fixtures, engine, Runner(build_services(engine, hsm, config))


def run(count: int, group: int = 32, cards: int = 50, profile: str | None = None) -> dict[str, float]:
    from switch.auth.context import AuthContext
    from switch.bench.plan import build_plan
    from switch.ledger.unit import _bound, raw_sql, savepoint
    from switch.wire import load_dialect

    work = Path(tempfile.mkdtemp(prefix="acqsim-inproc-"))
    fixtures, engine, runner = _setup(work, cards)
    codec = load_dialect("ascii87")
    frames = [payload for _label, payload in build_plan(fixtures, "POS00001", 1, count, cards=cards)[0]]
    spent = dict.fromkeys(("decode", "prepare", "job", "commit", "encode"), 0.0)
    clock = time.process_time
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    conn = engine.connect()
    reads = raw_sql(engine)
    for start in range(0, len(frames), group):
        jobs = []
        requests = []
        t0 = clock()
        for payload in frames[start:start + group]:
            requests.append(codec.decode(payload))
        t1 = clock()
        with reads.snapshot():  # as the committer checks a group
            for request in requests:
                answer, job = runner.prepare(AuthContext(request=dict(request), listener_dialect="ascii87"))
                jobs.append((request, answer, job))
        spent["decode"] += t1 - t0
        spent["prepare"] += clock() - t1
        t0 = clock()
        transaction = conn.begin()
        answers = []
        with _bound(conn):
            for request, answer, job in jobs:
                if job is not None:
                    with savepoint(conn):
                        answer = job(conn)
                answers.append((request, answer))
        t1 = clock()
        transaction.commit()
        t2 = clock()
        spent["job"] += t1 - t0
        spent["commit"] += t2 - t1
        t0 = clock()
        for request, answer in answers:
            codec.encode({**request, **answer, "t": "0210"})
        spent["encode"] += clock() - t0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    conn.close()
    engine.dispose()
    shutil.rmtree(work, ignore_errors=True)  # the plan's cards and the database are not kept
    per = {k: round(v / len(frames) * 1e6, 1) for k, v in spent.items()}
    per["total"] = round(sum(per.values()), 1)
    return per


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m switch.bench.inproc", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--group", type=int, default=32)
    parser.add_argument("--profile", help="write a cProfile of the run to this path")
    args = parser.parse_args(argv)
    for stage, us in run(args.count, args.group, profile=args.profile).items():
        print(f"{stage:8s} {us:8.1f} us/request")


if __name__ == "__main__":
    main()
