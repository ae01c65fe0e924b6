import pytest

from switch.server import ListenerConfig, Switch


@pytest.fixture
def start_switch(call_in_reactor):
    """start_switch(**listener_options) -> (switch, port) on a free port; stopped after the test."""
    started = []

    def start(switch=None, **options):
        from twisted.internet import reactor

        switch = switch or Switch()
        cfg = ListenerConfig(port=0, **options)
        _, port = call_in_reactor(switch.listen, reactor, cfg)
        started.append(switch)
        return switch, port

    yield start
    for switch in started:
        call_in_reactor(switch.stop)
