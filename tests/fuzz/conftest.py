"""Bounded property-based fuzzing for CI (issue 10). ACQSIM_FUZZ_SCALE multiplies every test's example
count for a longer local run (e.g. ACQSIM_FUZZ_SCALE=50); CI runs derandomized, so a red run reproduces.
Coverage-guided runs for hours: tools/fuzz/run.py (docs/security.md)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SCALE = max(float(os.environ.get("ACQSIM_FUZZ_SCALE", "1")), 0.01)
CI_SEED_FIXED = os.environ.get("ACQSIM_FUZZ_RANDOM") != "1"


def fuzz_settings(examples: int, **kw) -> settings:
    """Hypothesis settings for one fuzz test: `examples` in CI, times ACQSIM_FUZZ_SCALE on demand."""
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,  # the shared 2-core machine makes per-example deadlines flaky; hangs are caught below
        derandomize=CI_SEED_FIXED,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                               HealthCheck.function_scoped_fixture],
        **kw,
    )
