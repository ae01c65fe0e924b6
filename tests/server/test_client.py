"""The Twisted IsoClient against the switch: matching by MTI class, terminal and STAN; timeouts."""

import pytest
from twisted.internet import defer

from switch.server import Router
from switch.wire import ConnectionClosed, IsoClient, RequestTimeout


def _purchase(stan):
    return {"t": "0200", "3": "000000", "4": "000000000500", "7": "1126120000", "11": stan, "41": "POS00001"}


@pytest.mark.parametrize("dialect, framing, tpdu", [("ascii87", "len2", None), ("bcd87", "bcd2", "6000010002"),
                                                    ("ebcdic87", "len4", None)])
def test_concurrent_requests_matched(start_switch, call_in_reactor, reactor, dialect, framing, tpdu):
    _, port = start_switch(dialect=dialect, framing=framing, tpdu=tpdu is not None)

    async def run():
        client = await IsoClient.connect(reactor, "127.0.0.1", port, dialect, framing, tpdu=tpdu)
        answers = await defer.gatherResults([client.request(_purchase(f"{i:06d}"), timeout=5) for i in range(20)])
        client.close()
        return answers

    answers = call_in_reactor(run)
    assert [a["11"] for a in answers] == [f"{i:06d}" for i in range(20)]
    assert all(a["t"] == "0210" and a["39"] == "00" for a in answers)


def test_request_timeout_and_connection_closed(start_switch, call_in_reactor, reactor):
    silent = Router(default=lambda request, ctx: defer.Deferred())  # never answers
    from switch.server import Switch

    _, port = start_switch(switch=Switch(router=silent))

    async def run():
        client = await IsoClient.connect(reactor, "127.0.0.1", port)
        with pytest.raises(RequestTimeout):
            await client.request(_purchase("000001"), timeout=0.2)
        pending = client.request(_purchase("000002"), timeout=5)
        client.close()
        with pytest.raises(ConnectionClosed):
            await pending
        return True

    assert call_in_reactor(run)
