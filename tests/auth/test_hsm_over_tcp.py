"""The same pipeline with the HSM over TCP (payShield host commands through HsmClient), as with
`acqsim switch serve --hsm HOST:PORT`: PIN (TPK and DUKPT), CVV, ARQC/ARPC and MAC answers match."""

from __future__ import annotations

import pytest

from switch.auth.context import AuthContext
from tests.auth.harness import icc_field55, request


@pytest.fixture
def remote_world(world, hsm, reactor, call_in_reactor):
    from hsm_emulator import HsmClient
    from hsm_emulator.server import listen

    port = call_in_reactor(listen, reactor, hsm, "127.0.0.1", 0)
    runner, services, funds = world
    client = HsmClient("127.0.0.1", port.getHost().port, timeout=10)
    services.hsm = client
    yield runner, services, funds
    client.close()
    call_in_reactor(port.stopListening)


def run(world, msg):
    return world[0].run(AuthContext(request=msg))


def test_pipeline_through_hsm_client(remote_world):
    assert run(remote_world, request("good-visa"))["39"] == "00"
    assert run(remote_world, request("good-mc"))["39"] == "00"  # IBM 3624 offset
    assert run(remote_world, request("mc-second", pin="0000"))["39"] == "55"
    assert run(remote_world, request("bad-cvv"))["39"] == "82"
    chip = run(remote_world, request("good-visa", chip=True, **{"55": icc_field55("good-visa", 1000)}))
    assert chip["39"] == "00" and chip["55"].startswith("910A")
    tampered = request("good-mc", chip=True, **{"55": icc_field55("good-mc", 1000, tamper=True)})
    assert run(remote_world, tampered)["39"] == "05"
    assert run(remote_world, request("good-visa", tid="POS00002", pin=None, **{"64": "0" * 16}))["39"] == "63"
