"""Fuzz pci-scan's detectors (issue 10): any text is scanned without an exception, hits lie inside the
text, and no finding's description carries a digit run that could be card data in the clear."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from switch.security.detect import scan_named_value, scan_text
from tests.fuzz.conftest import fuzz_settings

PIECES = ["4761739001010010", "5413330089020011", ";", "=", "D", "^", "%B", "2512201", "57", "13", "5A08",
          "9F6B", "cvv", "cvc2", "pin", "pin_block", "tpk", "key", '"52"', "[ 52]", "field 52", ":", '"', " ",
          "\n", "0123456789ABCDEF", "123", "U", "F", "-", "4761 7390 0101 0010", "\xb2", "\x00"]
CLEAR_RUN = re.compile(r"\d{7,}")


@fuzz_settings(400)
@given(parts=st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=30))
def test_scan_text_never_leaks(parts):
    text = "".join(parts)
    for hit in scan_text(text):
        assert 0 <= hit.start <= hit.end <= len(text) + 8
        assert not CLEAR_RUN.search(hit.detail), hit.detail


@fuzz_settings(200)
@given(kind=st.sampled_from(["cvv", "pin", "key"]), name=st.text(max_size=20), value=st.text(max_size=60))
def test_named_values(kind, name, value):
    hit = scan_named_value(kind, name or kind, value)
    assert hit is None or not CLEAR_RUN.search(hit.detail)
