#!/usr/bin/env python3
"""Coverage-guided fuzzing on demand (issue 10), with atheris (libFuzzer for Python).

    python tools/fuzz/run.py --target decoder --seconds 600
    python tools/fuzz/run.py --target hsm --seconds 3600 --corpus /tmp/hsm-corpus
    python tools/fuzz/run.py --list

Targets: framereader, decoder (--dialect to pick one), tlv, hsm, rules, scenario, pci. The corpus starts
from valid inputs (tools/fuzz/targets.py) and grows in --corpus (default: a fresh temporary directory);
a crash or a hang (an input running longer than --timeout seconds) is written to --artifacts as
crash-*/timeout-* and the run stops with a non-zero status. Reproduce one with
`python tools/fuzz/run.py --target decoder ARTIFACT`.

Without atheris (pip install -e '.[fuzz]'), the same target's hypothesis tests in tests/fuzz run for
the requested time instead (random seeds, ACQSIM_FUZZ_SCALE raised).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from targets import TARGETS  # noqa: E402

# The hypothesis fallback: which tests cover each target.
PYTEST_TESTS = {
    "framereader": "tests/fuzz/test_fuzz_wire.py::test_frame_reader_garbage",
    "decoder": "tests/fuzz/test_fuzz_wire.py::test_decoder",
    "tlv": "tests/fuzz/test_fuzz_wire.py::test_decode_icc",
    "hsm": "tests/fuzz/test_fuzz_hsm.py::test_hsm_execute",
    "rules": "tests/fuzz/test_fuzz_loaders.py::test_rules_loader",
    "scenario": "tests/fuzz/test_fuzz_loaders.py::test_scenario_loader",
    "pci": "tests/fuzz/test_fuzz_security.py",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", choices=sorted(TARGETS))
    p.add_argument("--dialect", help="decoder target: fuzz one dialect only")
    p.add_argument("--seconds", type=int, default=600, help="total run time (default 600)")
    p.add_argument("--timeout", type=int, default=10, help="seconds one input may run before it is a hang")
    p.add_argument("--corpus", type=Path, help="corpus directory (kept between runs)")
    p.add_argument("--artifacts", type=Path, default=Path("fuzz-artifacts"), help="where crashes are written")
    p.add_argument("--max-len", type=int, default=4096)
    p.add_argument("--list", action="store_true", help="list the targets")
    p.add_argument("reproduce", nargs="*", help="run these inputs once instead of fuzzing")
    return p.parse_args(argv)


def run_atheris(args: argparse.Namespace, atheris) -> int:
    build = TARGETS[args.target]
    seeds_fn, make = build(args.dialect) if args.target == "decoder" else build()
    with atheris.instrument_imports(include=["switch", "hsm_emulator", "terminal_agent", "iso8583", "yaml"]):
        one = make()
        seeds = seeds_fn()
    if args.reproduce:
        for name in args.reproduce:
            one(Path(name).read_bytes())
            print(f"{name}: no crash")
        return 0
    corpus = args.corpus or Path(tempfile.mkdtemp(prefix=f"acqsim-{args.target}-corpus-"))
    corpus.mkdir(parents=True, exist_ok=True)
    if not any(corpus.iterdir()):
        for i, seed in enumerate(seeds):
            (corpus / f"seed-{i:03d}").write_bytes(seed)
    args.artifacts.mkdir(parents=True, exist_ok=True)
    libfuzzer = [sys.argv[0], str(corpus), f"-max_total_time={args.seconds}", f"-timeout={args.timeout}",
                 f"-max_len={args.max_len}", f"-artifact_prefix={args.artifacts}/", "-rss_limit_mb=2048",
                 "-print_final_stats=1"]
    print(f"fuzzing {args.target} for {args.seconds}s; corpus {corpus}; artifacts {args.artifacts}/", flush=True)
    atheris.Setup(libfuzzer, one)
    atheris.Fuzz()  # exits the process: 0 when the time ran out, non-zero on a crash
    return 0


def run_hypothesis(args: argparse.Namespace) -> int:
    """Fallback without atheris: repeat the target's hypothesis tests with random seeds until time is up."""
    print("atheris is not installed (pip install -e '.[fuzz]'): running the hypothesis fuzzers instead",
          flush=True)
    env = dict(os.environ, ACQSIM_FUZZ_RANDOM="1", ACQSIM_FUZZ_SCALE="20")
    deadline = time.monotonic() + args.seconds
    rounds = 0
    while time.monotonic() < deadline:
        rounds += 1
        rc = subprocess.call([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                              PYTEST_TESTS[args.target]], cwd=HERE.parents[1], env=env)
        if rc != 0:
            return rc
    print(f"{rounds} rounds without a failure")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.list or not args.target:
        for name in sorted(TARGETS):
            print(f"{name:12s} {PYTEST_TESTS[name]}")
        return 0 if args.list else 2
    try:
        import atheris
    except ImportError:
        return run_hypothesis(args)
    return run_atheris(args, atheris)


if __name__ == "__main__":
    sys.exit(main())
