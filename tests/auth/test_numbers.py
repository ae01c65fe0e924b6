"""RRN (field 37) and approval codes (field 38)."""

from __future__ import annotations

import time

from switch.auth import runner as runner_mod
from switch.auth.runner import APPROVAL_ALPHABET, Numbers


def expected_prefix(epoch: float) -> str:
    t = time.gmtime(epoch)
    return f"{t.tm_year % 10}{t.tm_yday:03d}{t.tm_hour:02d}"


def test_rrn_is_ydddhh_and_a_sequence_also_across_an_hour(monkeypatch):
    n = Numbers()
    now = [1_795_000_000 + 3599.5 - 1_795_000_000 % 3600]  # half a second before a UTC hour ends
    monkeypatch.setattr(runner_mod.time, "time", lambda: now[0])
    first, second = n.rrn(), n.rrn()
    assert len(first) == 12 and first[:6] == second[:6] == expected_prefix(now[0])
    assert int(second[6:]) == (int(first[6:]) + 1) % 1_000_000
    now[0] += 1
    third = n.rrn()
    assert third[:6] == expected_prefix(now[0]) != first[:6]


def test_approval_code_six_characters_of_the_alphabet():
    codes = {Numbers().approval() for _ in range(50)}
    assert all(len(c) == 6 and set(c) <= set(APPROVAL_ALPHABET) for c in codes) and len(codes) > 40
