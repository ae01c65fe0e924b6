"""The load generator: its own process, pre-encoded frames, one request in flight per terminal connection.

    python -m switch.bench.loadgen PLAN.pickle --port P [--rate TPS] [--duration S]

A plan is a list of connections, each a list of (label, payload bytes). Messages are built before the clock
starts so the generator spends its time on the socket, not on crypto. Prints one JSON line of results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import sys
import time

from switch.cli.common import cpu_list
from switch.wire import load_dialect


async def _connection(host: str, port: int, frames: list[tuple[str, bytes]], interval: float, deadline: float,
                      results: dict, dialect, first_send: float = 0.0) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    latencies = results["latencies"]
    codes = results["codes"]
    next_send = first_send or time.perf_counter()
    try:
        for label, payload in frames:
            if interval:
                delay = next_send - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_send += interval
            if time.perf_counter() > deadline:
                return
            started = time.perf_counter()
            writer.write(len(payload).to_bytes(2, "big") + payload)
            try:
                head = await asyncio.wait_for(reader.readexactly(2), 10)
                body = await asyncio.wait_for(reader.readexactly(int.from_bytes(head, "big")), 10)
            except (TimeoutError, asyncio.IncompleteReadError):
                results["timeouts"] += 1
                return
            latencies.append(time.perf_counter() - started)
            code = dialect.decode(body).get("39", "??")
            key = f"{label}:{code}"
            codes[key] = codes.get(key, 0) + 1
    finally:
        writer.close()


async def run(host: str, port: int, plan: list[list[tuple[str, bytes]]], rate: float, duration: float,
              dialect_name: str) -> dict:
    dialect = load_dialect(dialect_name)
    results: dict = {"latencies": [], "codes": {}, "timeouts": 0}
    interval = len(plan) / rate if rate else 0.0
    started = time.perf_counter()
    deadline = started + duration if duration else float("inf")
    # At a fixed rate the connections take turns, one send every 1/rate seconds in all: started together
    # they would send in bursts of len(plan) at once, and the figures would measure the bursts.
    lead = 0.05 if interval else 0.0  # time to open the connections before the first send
    await asyncio.gather(*(_connection(host, port, frames, interval, deadline, results, dialect,
                                       started + lead + i * interval / len(plan) if interval else 0.0)
                           for i, frames in enumerate(plan)))
    elapsed = time.perf_counter() - started
    lat = sorted(results["latencies"])
    return {"answered": len(lat), "timeouts": results["timeouts"], "seconds": elapsed,
            "codes": results["codes"], "latencies_ms": [round(x * 1000, 3) for x in lat]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("plan")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=0.0, help="offered transactions per second (0: as fast as answered)")
    parser.add_argument("--duration", type=float, default=0.0)
    parser.add_argument("--dialect", default="ascii87")
    parser.add_argument("--cpus", type=cpu_list, help="run on these CPUs only (the bench's placement)")
    args = parser.parse_args()
    if args.cpus:
        os.sched_setaffinity(0, args.cpus)
    with open(args.plan, "rb") as f:
        plan = pickle.load(f)
    result = asyncio.run(run(args.host, args.port, plan, args.rate, args.duration, args.dialect))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
