"""Issue 9: `acqsim bench --json` runs the baseline and the switch under one generator and reports the
figures the issue names (a smoke run: the figures themselves are measured by hand, see docs/performance.md)."""

import json
import os
import subprocess
import sys


def test_bench_reports_every_figure_and_a_clean_audit(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    # 1,200 requests: the CPU figures come in 10 ms clock ticks, and 300 messages of the pinned baseline
    # (~45 us each) could round to none.
    run = subprocess.run([sys.executable, "-m", "switch.cli.main", "bench", "--count", "1200", "--connections", "4",
                          "--cards", "5", "--json"], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "ACQSIM_DATA_DIR": str(tmp_path), "TMPDIR": str(scratch)})
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)
    for key in ("tps", "p50_ms", "p95_ms", "p99_ms", "cpu_us_per_txn", "baseline_cpu_us_per_msg", "ratio", "audit_ok"):
        assert key in report, key
    assert report["audit_ok"] is True
    if len(os.sched_getaffinity(0)) > 1:  # the switch on a CPU of its own, the generator on the others
        cpus = report["report"]["cpus"]
        assert len(cpus["switch"]) == 1 and not set(cpus["switch"][0]) & set(cpus["generator"])
    assert report["report"]["switch"]["answered"] == 1200  # every request answered
    assert report["cpu_us_per_txn"] > report["baseline_cpu_us_per_msg"] > 0
    # Where the switch's CPU went, by thread: the reactor, the committer (checks and bookings), the fsync.
    by_thread = report["report"]["switch"]["cpu_us_per_txn_by_thread"]
    assert {"reactor", "committer"} <= set(by_thread) and all(us > 0 for us in by_thread.values())
    assert abs(sum(by_thread.values()) - report["cpu_us_per_txn"]) <= 0.25 * report["cpu_us_per_txn"]
    codes = report["report"]["switch"]["codes"]
    assert codes.get("purchase:00", 0) > 0 and any(k.startswith("decline:5") for k in codes)
    assert "decline:00" not in codes
    # The work directory held the plans (the bench cards' tracks and PIN blocks) and the database: gone.
    assert list(scratch.iterdir()) == []
