"""`acqsim bench`: the baseline and the switch, each driven by the same generator in its own process.

Server CPU per transaction comes from the server process's own accounting (/proc/PID/stat), read before
and after the measured run, so a busy machine slows the run but does not change the figure much.
"""

from __future__ import annotations

import pickle
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import yaml

from switch.bench.cpu import process_cpu_seconds, thread_cpu_seconds
from switch.bench.plan import build_plan, make_bench_fixtures
from switch.bench.procs import Server, cpu_plan, cpus_flag, python_module, run_generator
from switch.bench.report import figures


@dataclass
class BenchOptions:
    mode: str = "full"  # full: the authorisation pipeline; hostsim: host simulation rules only
    count: int = 4000
    duration: float = 0.0
    connections: int = 20
    rate: float = 0.0  # offered tps, 0 = closed loop (each connection sends when answered)
    db: str | None = None
    processes: int = 1
    cards: int = 50
    warmup: int = 400
    pin: bool = True  # each switch process on a CPU of its own, the generator on the rest (procs.cpu_plan)


def _pg_schema_url(url: str) -> tuple[str, str]:
    """A fresh schema for this run, so a benchmark never mixes with other data."""
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", schema


def _write_plans(work: Path, fixtures: Path, options: BenchOptions, parts: int) -> tuple[list[Path], Path]:
    per_conn = max(1, options.count // options.connections) if not options.duration else 100_000 // options.connections
    total_conns = options.connections
    plan = build_plan(fixtures, "POS00001", total_conns + 2, per_conn, cards=options.cards)
    warm, measured = plan[:2], plan[2:]
    warm = [frames[: max(1, options.warmup // 2)] for frames in warm]
    paths = []
    for i in range(parts):  # connections split between switch processes
        path = work / f"plan-{i}.pickle"
        path.write_bytes(pickle.dumps(measured[i::parts]))
        paths.append(path)
    warm_path = work / "warmup.pickle"
    warm_path.write_bytes(pickle.dumps(warm))
    return paths, warm_path


def _measure(server: Server, plan: Path, options: BenchOptions, generator_cpus: set[int] | None) -> dict:
    before, threads_before = process_cpu_seconds(server.pid), thread_cpu_seconds(server.pid)
    result = run_generator(str(plan), server.ports["iso8583"], options.rate, options.duration, "ascii87",
                           generator_cpus)
    spent = process_cpu_seconds(server.pid) - before
    threads = thread_cpu_seconds(server.pid)
    by_thread = {name: threads[name] - threads_before.get(name, 0.0) for name in threads}
    return figures(result, spent, by_thread) | {"_latencies": result["latencies_ms"]}


def run_baseline(plan: Path, warm: Path, options: BenchOptions, cpus: set[int] | None = None,
                 generator_cpus: set[int] | None = None) -> dict:
    """The bare server, pinned as the (first) switch is, so the ratio compares like with like."""
    server = Server(python_module("switch.bench.baseline", "--port", "0", *cpus_flag(cpus)), wait_for=("baseline",))
    server.ports["iso8583"] = server.ports["baseline"]
    try:
        run_generator(str(warm), server.ports["iso8583"], 0, 0, "ascii87", generator_cpus)
        return _measure(server, plan, options, generator_cpus)
    finally:
        server.stop()


def _switch_argv(work: Path, config: Path, db: str | None, rules: Path | None,
                 cpus: set[int] | None = None) -> list[str]:
    argv = python_module("switch.cli.main", "switch", "serve", "--port", "0", "--http-port", "-1",
                         "--config", str(config), "--data-dir", str(work / "data"), "--idle-timeout", "0",
                         *cpus_flag(cpus))
    if db:
        argv += ["--db", db]
    if rules:
        argv += ["--rules", str(rules)]
    return argv


def run(options: BenchOptions) -> dict:
    """One bench run in a work directory (and, on PostgreSQL, a schema) of its own, removed afterwards:
    the request plans hold the bench cards' tracks and PIN blocks, which must not stay on disk."""
    work = Path(tempfile.mkdtemp(prefix="acqsim-bench-"))
    db, schema = options.db, None
    if db and db.startswith("postgres"):
        db, schema = _pg_schema_url(db)
    try:
        return _run(options, work, db)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if schema is not None:
            _drop_schema(options.db, schema)


def _drop_schema(url: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


def _run(options: BenchOptions, work: Path, db: str | None) -> dict:
    fixtures = make_bench_fixtures(work / "fixtures", options.cards)
    config = work / "bench.yaml"
    config.write_text(yaml.safe_dump({"fixtures_dir": str(fixtures)}))
    rules = None
    if options.mode == "hostsim":
        rules = work / "rules.yaml"
        rules.write_text(yaml.safe_dump({"rules": [{"name": "approve all", "match": {}, "action": {"respond": "00"}}]}))
    plans, warm = _write_plans(work, fixtures, options, options.processes)
    report: dict = {"mode": options.mode, "db": "PostgreSQL" if db else "SQLite (WAL, synchronous=FULL)",
                    "connections": options.connections, "processes": options.processes}
    pinned = cpu_plan(options.processes) if options.pin else None
    switch_cpus, generator_cpus = pinned or ([None] * options.processes, None)
    report["cpus"] = ({"switch": [sorted(c) for c in switch_cpus], "generator": sorted(generator_cpus)}
                      if pinned else "not pinned")
    report["baseline"] = run_baseline(plans[0] if options.processes == 1 else _merged(work, plans), warm, options,
                                      switch_cpus[0], generator_cpus)
    servers = []
    try:
        # The first process loads the fixtures into the empty database; the others find them there.
        for cpus in switch_cpus:
            servers.append(Server(_switch_argv(work, config, db, rules, cpus)))
        run_generator(str(warm), servers[0].ports["iso8583"], 0, 0, "ascii87", generator_cpus)
        results = _parallel([(s, p) for s, p in zip(servers, plans, strict=True)], options, generator_cpus)
    finally:
        for server in servers:
            server.stop()
    report["switch"] = _combine(results)
    if options.processes > 1:
        for i, r in enumerate(results, 1):
            report[f"switch-{i}"] = r
    base = report["baseline"]["cpu_us_per_txn"]
    ours = report["switch"]["cpu_us_per_txn"]
    report["ratio"] = round(ours / base, 2) if base and ours else None
    report["audit_ok"], report["violations"] = _audit(db, work)
    return report


def _merged(work: Path, plans: list[Path]) -> Path:
    merged = [frames for p in plans for frames in pickle.loads(p.read_bytes())]
    path = work / "plan-all.pickle"
    path.write_bytes(pickle.dumps(merged))
    return path


def _parallel(pairs, options: BenchOptions, generator_cpus: set[int] | None) -> list[dict]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(pairs)) as pool:
        return list(pool.map(lambda pair: _measure(pair[0], pair[1], options, generator_cpus), pairs))


def _combine(results: list[dict]) -> dict:
    if len(results) == 1:
        return results[0]
    lat = sorted(x for r in results for x in r["_latencies"])
    seconds = max(r["seconds"] for r in results)
    combined = {"answered": sum(r["answered"] for r in results), "timeouts": sum(r["timeouts"] for r in results),
                "seconds": seconds, "cpu_seconds": round(sum(r["cpu_seconds"] for r in results), 3), "codes": {}}
    from switch.bench.report import percentile

    for r in results:
        for k, v in r["codes"].items():
            combined["codes"][k] = combined["codes"].get(k, 0) + v
    threads: dict[str, float] = {}
    for r in results:  # us per transaction of each process, weighted by what it answered
        for name, us in r.get("cpu_us_per_txn_by_thread", {}).items():
            threads[name] = threads.get(name, 0.0) + us * r["answered"] / max(combined["answered"], 1)
    combined["cpu_us_per_txn_by_thread"] = {name: round(us, 1) for name, us in
                                            sorted(threads.items(), key=lambda item: -item[1])}
    combined.update(tps=round(combined["answered"] / seconds, 1), p50_ms=percentile(lat, 50),
                    p95_ms=percentile(lat, 95), p99_ms=percentile(lat, 99), max_ms=lat[-1] if lat else 0.0,
                    cpu_us_per_txn=round(combined["cpu_seconds"] / combined["answered"] * 1e6, 1), _latencies=lat)
    return combined


def _audit(db: str | None, work: Path) -> tuple[bool, list]:
    from switch.ledger import audit
    from switch.store import open_database

    engine = open_database(db, work / "data", migrate=False)
    try:
        violations = audit(engine)
    finally:
        engine.dispose()
    return not violations, violations
