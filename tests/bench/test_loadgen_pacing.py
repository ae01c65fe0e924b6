"""At a fixed offered rate the generator's connections take turns (one send every 1/rate seconds), rather
than all sending at once every len(plan)/rate seconds - bursts that made `--rate` latencies measure the burst."""

from __future__ import annotations

import asyncio
import statistics
import time

from switch.bench import loadgen
from switch.wire import load_dialect


def test_sends_are_spread_over_the_interval():
    answer = load_dialect("ascii87").encode({"t": "0210", "39": "00"})
    frame = len(answer).to_bytes(2, "big") + answer
    arrivals: list[float] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readexactly(2)
                await reader.readexactly(int.from_bytes(head, "big"))
                arrivals.append(time.perf_counter())
                writer.write(frame)
        except asyncio.IncompleteReadError:
            writer.close()

    async def main() -> dict:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        plan = [[("purchase", b"0200-not-parsed-by-this-server")] * 6 for _ in range(4)]
        async with server:
            return await loadgen.run("127.0.0.1", port, plan, rate=100, duration=0, dialect_name="ascii87")

    result = asyncio.run(main())
    assert result["answered"] == 24
    gaps = [b - a for a, b in zip(sorted(arrivals), sorted(arrivals)[1:], strict=False)]
    # 100 tps offered: a send every 10 ms. Bursts of 4 would make three gaps in four about zero.
    assert statistics.median(gaps) > 0.005
