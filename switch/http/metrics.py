"""A small metrics registry fed by the switch's answer hook, rendered in Prometheus text format 0.0.4.

Counters and histograms are updated on the reactor thread (answer hooks) and, for the HSM, from worker
threads; one lock keeps them consistent. No client library: the text format is a few lines.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HSM_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
TPS_WINDOW = 60  # seconds of per-second counts kept for the monitor's live chart

# Processing code's first two digits -> transaction type, for 01xx/02xx messages.
_PROC_TYPES = {"00": "purchase", "01": "cash", "09": "purchase_cashback", "20": "refund", "30": "balance",
               "31": "balance", "40": "transfer"}


def transaction_type(msg: dict[str, str]) -> str:
    """A label for a request or response: purchase, cash, refund, balance, transfer, preauth, completion,
    reversal, batch_close, network."""
    mti = msg.get("t", "")
    cls = mti[1:2]
    if cls == "1":
        return "preauth"
    if cls == "2":
        if mti[2:3] in ("2", "3"):  # 0220 advice / completion and its 0230 answer
            return "completion"
        return _PROC_TYPES.get(msg.get("3", "")[:2], "financial")
    if cls == "4":
        return "reversal"
    if cls == "5":
        return "batch_close"
    if cls == "8":
        return "network"
    return "other"


class Histogram:
    def __init__(self, buckets: Iterable[float]) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * (len(self.buckets) + 1)  # last one: +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        out, running = [], 0
        for bound, n in zip((*(_fmt(b) for b in self.buckets), "+Inf"), self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out


def _fmt(value: float) -> str:
    return repr(float(value)) if value != int(value) else f"{value:.1f}"


def _labels(**labels: str) -> str:
    if not labels:
        return ""
    body = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())
    return "{" + body + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class MetricsRegistry:
    """Counts answered transactions by type and response code, their latency, HSM call latency, and
    reads listener gauges (open connections ...) from the switch's factories when rendering."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.transactions: dict[tuple[str, str], int] = {}
        self.latency = Histogram(LATENCY_BUCKETS)
        self.hsm: dict[str, Histogram] = {}
        self._per_second: deque[list[int]] = deque(maxlen=TPS_WINDOW + 5)  # [second, count]
        self.http_requests: dict[str, int] = {}
        self.switch: Any = None
        self.started = clock()

    # -- feeding ------------------------------------------------------------------------------------------
    def attach(self, switch: Any) -> None:
        """Register on a `switch.server.Switch`: its answer hooks and its listeners' stats."""
        self.switch = switch
        if self.on_answer not in switch.answer_hooks:
            switch.answer_hooks.append(self.on_answer)

    def on_answer(self, response: dict[str, str], seconds: float) -> None:
        """Answer hook: one response sent, `seconds` after its request arrived."""
        key = (transaction_type(response), response.get("39", "") or "none")
        now = int(self._clock())
        with self._lock:
            self.transactions[key] = self.transactions.get(key, 0) + 1
            self.latency.observe(seconds)
            if self._per_second and self._per_second[-1][0] == now:
                self._per_second[-1][1] += 1
            else:
                self._per_second.append([now, 1])

    def observe_hsm(self, command: str, seconds: float) -> None:
        with self._lock:
            hist = self.hsm.get(command)
            if hist is None:
                hist = self.hsm[command] = Histogram(HSM_BUCKETS)
            hist.observe(seconds)

    def count_http(self, code: int) -> None:
        with self._lock:
            self.http_requests[str(code)] = self.http_requests.get(str(code), 0) + 1

    # -- reading ------------------------------------------------------------------------------------------
    def listener_stats(self) -> list[tuple[str, Any]]:
        factories = getattr(self.switch, "factories", None) or []
        return [(getattr(f, "name", str(i)), f.stats) for i, f in enumerate(factories)]

    def tps_series(self) -> list[int]:
        """Answers per second for the last TPS_WINDOW whole seconds, oldest first."""
        now = int(self._clock())
        with self._lock:
            counts = {s: n for s, n in self._per_second}
        return [counts.get(s, 0) for s in range(now - TPS_WINDOW, now)]

    def snapshot(self) -> dict:
        """The monitor page's view: live TPS, response code mix, latency histogram, connections."""
        series = self.tps_series()
        with self._lock:
            by_rc: dict[str, int] = {}
            by_type: dict[str, int] = {}
            for (kind, rc), n in self.transactions.items():
                by_rc[rc] = by_rc.get(rc, 0) + n
                by_type[kind] = by_type.get(kind, 0) + n
            latency = {"buckets": [{"le": le, "count": n} for le, n in self.latency.cumulative()],
                       "count": self.latency.count, "sum": self.latency.sum}
            hsm = {cmd: {"count": h.count, "sum": h.sum} for cmd, h in self.hsm.items()}
        listeners = [{"listener": name, "open_connections": s.open_connections,
                      "total_connections": s.total_connections, "requests": s.requests}
                     for name, s in self.listener_stats()]
        return {"tps": series[-1] if series else 0, "tps_series": series,
                "tps_avg_10s": round(sum(series[-10:]) / 10, 2), "by_response_code": by_rc,
                "by_type": by_type, "latency": latency, "hsm": hsm, "listeners": listeners,
                "open_connections": sum(item["open_connections"] for item in listeners),
                "uptime_seconds": round(self._clock() - self.started, 1)}

    def render(self) -> str:
        out: list[str] = []

        def head(name: str, kind: str, help_text: str) -> None:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")

        with self._lock:
            head("acqsim_transactions_total", "counter", "Answered ISO 8583 requests by type and response code.")
            for (kind, rc), n in sorted(self.transactions.items()):
                out.append(f"acqsim_transactions_total{_labels(type=kind, response_code=rc)} {n}")
            head("acqsim_response_seconds", "histogram", "Time from request received to answer sent.")
            _histogram_lines(out, "acqsim_response_seconds", self.latency, {})
            head("acqsim_hsm_seconds", "histogram", "HSM command latency by command.")
            for cmd, hist in sorted(self.hsm.items()):
                _histogram_lines(out, "acqsim_hsm_seconds", hist, {"command": cmd})
            head("acqsim_http_requests_total", "counter", "HTTP API requests by status code.")
            for code, n in sorted(self.http_requests.items()):
                out.append(f"acqsim_http_requests_total{_labels(code=code)} {n}")
        stats = self.listener_stats()
        for metric, attr, kind, help_text in (
                ("acqsim_open_connections", "open_connections", "gauge", "Open terminal connections."),
                ("acqsim_connections_total", "total_connections", "counter", "Accepted terminal connections."),
                ("acqsim_requests_total", "requests", "counter", "Decoded requests per listener."),
                ("acqsim_format_errors_total", "format_errors", "counter", "Undecodable messages per listener.")):
            head(metric, kind, help_text)
            for name, s in stats:
                out.append(f"{metric}{_labels(listener=name)} {getattr(s, attr, 0)}")
        head("acqsim_uptime_seconds", "gauge", "Seconds since the HTTP site was built.")
        out.append(f"acqsim_uptime_seconds {self._clock() - self.started:.3f}")
        return "\n".join(out) + "\n"


def _histogram_lines(out: list[str], name: str, hist: Histogram, labels: dict[str, str]) -> None:
    for le, n in hist.cumulative():
        out.append(f"{name}_bucket{_labels(**labels, le=le)} {n}")
    out.append(f"{name}_sum{_labels(**labels)} {hist.sum:.6f}")
    out.append(f"{name}_count{_labels(**labels)} {hist.count}")


class _TimedHsm:
    """Proxy over an Hsm / HsmClient: every public method call is timed into the registry."""

    def __init__(self, hsm: Any, registry: MetricsRegistry) -> None:
        self._hsm = hsm
        self._registry = registry

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._hsm, name)
        if name.startswith("_") or not callable(attr):
            return attr
        registry = self._registry

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                command = name
                if name == "execute" and args and isinstance(args[0], bytes | bytearray):
                    command = bytes(args[0][:2]).decode("ascii", "replace")  # host command code
                registry.observe_hsm(command, time.perf_counter() - start)

        # Kept on the proxy: __getattr__ runs only for names not found, so the wrapper is built once per
        # method instead of once per call on the authorisation hot path.
        self.__dict__[name] = timed
        return timed


def timed_hsm(hsm: Any, registry: MetricsRegistry) -> Any:
    """Wrap the HSM the pipeline uses so its latency shows in /metrics (acqsim_hsm_seconds)."""
    return _TimedHsm(hsm, registry)
