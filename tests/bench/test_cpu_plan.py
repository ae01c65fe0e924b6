"""Issue 9: the bench gives each switch process a CPU of its own and the generator the rest; `--cpus`
lists are parsed as taskset writes them."""

import argparse
import os

import pytest

from switch.bench.procs import cpu_plan
from switch.cli.common import cpu_list


def test_cpu_lists():
    assert cpu_list("0") == {0}
    assert cpu_list("0,2") == {0, 2}
    assert cpu_list("1-3,7") == {1, 2, 3, 7}
    for bad in ("", "a", "3-1", "1-", "-1", "1,,2", "0-99999999999", "5000"):
        with pytest.raises(argparse.ArgumentTypeError):
            cpu_list(bad)


def test_plan_gives_the_generator_what_the_switches_leave(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert cpu_plan(1) == ([{0}], {1, 2, 3})
    assert cpu_plan(2) == ([{0}, {1}], {2, 3})
    assert cpu_plan(4) is None  # the generator would have no CPU of its own: nothing is pinned
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {5})
    assert cpu_plan(1) is None
