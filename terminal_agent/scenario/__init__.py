"""Scripted card scenarios: YAML files of terminal steps with expectations, run against any ISO 8583 host.

    from terminal_agent.scenario import load_scenario, Runner
    sc = load_scenario("fixtures/scenarios/pos_happy_day.yaml")      # ConfigError names file:line: key
    run = await Runner(reactor, "127.0.0.1", 8583).run_all([sc])     # RunResult (results.py)

Reporters: report.summary / report.junit_xml / report.json_report / html.render_html; recordings:
record.Recorder (written by the switch) and record.recording_to_scenario. Format: docs/scenarios.md.
"""

from terminal_agent.scenario.loader import ConfigError, load_scenario
from terminal_agent.scenario.runner import Runner

__all__ = ["ConfigError", "Runner", "load_scenario"]
