"""Figures of a benchmark run: percentiles, CPU per transaction, the text report and the latency plot."""

from __future__ import annotations


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def figures(result: dict, cpu_seconds: float, by_thread: dict[str, float] | None = None) -> dict:
    """The generator's raw result plus the server's CPU seconds (and per thread name) -> the figures."""
    lat = result["latencies_ms"]
    answered = result["answered"]
    per_thread = {name: round(seconds / answered * 1e6, 1) for name, seconds in sorted(
        (by_thread or {}).items(), key=lambda item: -item[1]) if seconds > 0 and answered}
    return {
        "answered": answered,
        "timeouts": result["timeouts"],
        "seconds": round(result["seconds"], 3),
        "tps": round(answered / result["seconds"], 1) if result["seconds"] else 0.0,
        "p50_ms": percentile(lat, 50), "p95_ms": percentile(lat, 95), "p99_ms": percentile(lat, 99),
        "max_ms": lat[-1] if lat else 0.0,
        "cpu_seconds": round(cpu_seconds, 3),
        "cpu_us_per_txn": round(cpu_seconds / answered * 1e6, 1) if answered else None,
        "cpu_us_per_txn_by_thread": per_thread,
        "codes": result["codes"],
    }


def text_report(report: dict) -> str:
    lines = [f"acqsim bench: mode {report['mode']}, {report['db']}, {report['connections']} connections"]
    cpus = report.get("cpus")
    if isinstance(cpus, dict):
        lines.append(f"  CPUs: switch {' | '.join(','.join(map(str, c)) for c in cpus['switch'])}, "
                     f"generator {','.join(map(str, cpus['generator']))}")
    elif cpus:
        lines.append(f"  CPUs: {cpus}")
    for name in ("baseline", "switch", *(k for k in report if k.startswith("switch-"))):
        f = report.get(name)
        if not isinstance(f, dict):
            continue
        lines.append(f"  {name:<10} {f['answered']:>7} answered in {f['seconds']:>6.2f}s  {f['tps']:>8.1f} tps  "
                     f"p50 {f['p50_ms']:.2f} ms  p95 {f['p95_ms']:.2f} ms  p99 {f['p99_ms']:.2f} ms  "
                     f"max {f['max_ms']:.2f} ms  server CPU {f['cpu_us_per_txn']} us/txn")
        if name != "baseline" and f.get("cpu_us_per_txn_by_thread"):
            lines.append("  " + " " * 10 + " CPU by thread (us/txn): " + ", ".join(
                f"{thread} {us:.0f}" for thread, us in f["cpu_us_per_txn_by_thread"].items()))
    lines.append(f"  ratio (switch CPU per txn / baseline CPU per message): {report['ratio']}")
    codes = report["switch"]["codes"]
    lines.append("  outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(codes.items())))
    lines.append(f"  ledger audit: {'ok' if report['audit_ok'] else 'VIOLATIONS'}")
    return "\n".join(lines)


def plot(latencies_ms: list[float], path: str, title: str) -> None:
    """A latency histogram PNG (matplotlib, from the `bench` extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    ax.hist(latencies_ms, bins=100)
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("transactions")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
