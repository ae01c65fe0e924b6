"""Issue 10 on the switch side: ISO 8583 over TLS and mutual TLS, through IsoClient."""

import pytest

from switch.security.certs import write_test_pki
from switch.security.tls import client_tls_options
from switch.wire import IsoClient

ECHO = {"t": "0800", "11": "000001", "41": "POS00001", "70": "301"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return write_test_pki(tmp_path_factory.mktemp("pki"))


def _echo(call_in_reactor, reactor, port, tls):
    async def run():
        client = await IsoClient.connect(reactor, "127.0.0.1", port, tls=tls)
        answer = await client.request(ECHO, timeout=5)
        client.close()
        return answer

    return call_in_reactor(run)


def test_tls_listener(start_switch, call_in_reactor, reactor, pki):
    _, port = start_switch(tls_cert=str(pki.server_cert), tls_key=str(pki.server_key))
    answer = _echo(call_in_reactor, reactor, port, client_tls_options(pki.ca_cert))
    assert (answer["t"], answer["39"]) == ("0810", "00")


def test_mutual_tls_refuses_a_client_without_a_good_certificate(start_switch, call_in_reactor, reactor, pki):
    _, port = start_switch(tls_cert=str(pki.server_cert), tls_key=str(pki.server_key), tls_ca=str(pki.ca_cert),
                           tls_client_auth=True)
    good = client_tls_options(pki.ca_cert, pki.client_cert, pki.client_key)
    assert _echo(call_in_reactor, reactor, port, good)["39"] == "00"
    for cert, key in ((None, None), (pki.rogue_client_cert, pki.rogue_client_key)):
        with pytest.raises(Exception):  # noqa: B017 - handshake failure or closed connection, both refusals
            _echo(call_in_reactor, reactor, port, client_tls_options(pki.ca_cert, cert, key))
