"""The scenario library (fixtures/scenarios) against a switch this test starts: the lead's server with the
authorisation pipeline (switch.auth), the in-process HSM, a fresh SQLite database loaded with the shipped
fixtures, the library's host-simulation rules on the listener, and a remote issuer host for REMOTEBANK
(fixtures/hostsim/remote_issuer.yaml). Issue 7, "Done when"."""

from __future__ import annotations

from pathlib import Path

import pytest

from switch.paths import fixtures_dir

LIBRARY = fixtures_dir() / "scenarios"
FILES = sorted(p for p in LIBRARY.rglob("*.yaml") if "common" not in p.relative_to(LIBRARY).parts)


def start_full_switch(call_in_reactor, data_dir: Path, record: Path | None = None):
    """The switch with the pipeline on a fresh database; returns (switch, engine, port)."""
    auth = pytest.importorskip("switch.auth.authorizer", reason="authorisation pipeline not present")
    from twisted.internet import reactor

    from hsm_emulator import Hsm
    from switch.issuer.loader import load_all
    from switch.server import ListenerConfig, Switch
    from switch.store import open_database

    engine = open_database(None, data_dir)
    hsm = Hsm()
    load_all(engine, hsm)
    switch = Switch()
    handler = call_in_reactor(auth.register_authorizer, switch.router, engine, hsm, {}, reactor=reactor)
    cfg = ListenerConfig(port=0, rules=str(fixtures_dir() / "hostsim" / "library.yaml"),
                         record=str(record) if record else None)
    _, port = call_in_reactor(switch.listen, reactor, cfg)
    # REMOTEBANK's host (the off-us scenarios): a rules-only listener of the same switch, as in the demo.
    remote = ListenerConfig(port=0, rules=str(fixtures_dir() / "hostsim" / "remote_issuer.yaml"))
    _, remote_port = call_in_reactor(switch.listen, reactor, remote)
    handler.services.store.set_route("REMOTEBANK", "127.0.0.1", remote_port)
    return switch, engine, port


@pytest.fixture(scope="module")
def library_run(call_in_reactor, tmp_path_factory):
    from twisted.internet import reactor

    from terminal_agent.scenario import Runner, load_scenario

    recording = tmp_path_factory.mktemp("library-traffic") / "traffic.jsonl"
    switch, engine, port = start_full_switch(call_in_reactor, tmp_path_factory.mktemp("library-db"), recording)
    scenarios = [load_scenario(p) for p in FILES]
    run = call_in_reactor(Runner(reactor, "127.0.0.1", port).run_all, scenarios, timeout=240)
    run.recording = recording
    yield {Path(s.file).relative_to(LIBRARY).as_posix(): s for s in run.scenarios}, run
    call_in_reactor(switch.stop)
    engine.dispose()


@pytest.mark.parametrize("name", [p.relative_to(LIBRARY).as_posix() for p in FILES])
def test_library_scenario_passes(library_run, name):
    from terminal_agent.scenario.report import summary
    from terminal_agent.scenario.results import RunResult

    by_name, run = library_run
    result = by_name[name]
    assert result.passed, summary(RunResult(target=run.target, scenarios=[result]))


def test_library_covers_every_response_code_of_the_pipeline():
    codes = {p.name[3:5] for p in (LIBRARY / "codes").glob("rc_*.yaml")}
    wanted = {"00", "03", "05", "12", "13", "14", "25", "30", "41", "43", "51", "54", "55", "57", "58", "61", "62",
              "63", "65", "75", "82", "91", "94"}  # 96 (system error) cannot be caused on purpose
    assert wanted <= codes


def test_the_library_recorded_by_the_switch_replays_on_a_fresh_switch(library_run, call_in_reactor, tmp_path):
    """Record and replay at scale: the switch's masked recording of the whole library, turned into one
    scenario by `acqsim scenario record`'s code, passes against another freshly loaded switch - PINs and
    cryptograms were never recorded, the declines they caused are replayed from the answer codes."""
    from twisted.internet import reactor

    from terminal_agent.scenario import Runner, load_scenario
    from terminal_agent.scenario.record import read_recording, recording_to_scenario, write_scenario
    from terminal_agent.scenario.report import summary

    _, run = library_run
    text = run.recording.read_text()
    assert "4761739001010010" not in text and "5413330089010012" not in text
    replay = tmp_path / "replay.yaml"
    with open(replay, "w") as fh:
        write_scenario(recording_to_scenario(read_recording(run.recording), name="library replay"), fh)
    sc = load_scenario(replay)
    switch, engine, port = start_full_switch(call_in_reactor, tmp_path / "db")
    try:
        result = call_in_reactor(Runner(reactor, "127.0.0.1", port).run_all, [sc], timeout=240)
    finally:
        call_in_reactor(switch.stop)
        engine.dispose()
    assert result.passed, summary(result)
    assert len(result.scenarios[0].steps) == sum(len(s.steps) for s in run.scenarios)
