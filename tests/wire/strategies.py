"""Hypothesis strategies shared by the codec tests: field values that fit a dialect's field spec."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

COMPILED = ["ascii87", "binary87", "ebcdic87"]  # the dialects the compiled codec covers
# 80 random messages per test and dialect keep the default run fast (each costs 20-50 ms: hypothesis draws
# every field); ACQSIM_FUZZ_SCALE multiplies them for a longer run, as for the fuzz tests (tests/fuzz).
EXAMPLES = max(1, int(80 * float(os.environ.get("ACQSIM_FUZZ_SCALE", "1"))))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def field_value(spec: dict, draw, long: bool = False, alphabet: str = "0123456789ABCXYZ =-") -> str:
    """A value the field's spec accepts: its fixed length, else any length up to 40 (or the maximum)."""
    top = spec["max_len"] if long else min(spec["max_len"], 40)
    size = spec["max_len"] if spec["len_type"] == 0 else draw(st.integers(0, top))
    if spec["data_enc"] == "b":
        return draw(st.binary(min_size=size, max_size=size)).hex().upper()
    return draw(st.text(alphabet=alphabet, min_size=size, max_size=size))
