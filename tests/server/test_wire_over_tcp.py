"""Issue 2: every dialect and framing over real TCP, answered by the switch to messages built by pyiso8583."""

import pytest

from tests.server.wireclient import WireClient

REQUEST = {"t": "0200", "2": "4761739001010010", "3": "000000", "4": "000000001234", "7": "1126120000",
           "11": "000042", "12": "120000", "13": "1126", "22": "051", "41": "POS00001", "42": "MERCHANT0000001",
           "49": "682", "52": "0123456789ABCDEF", "55": "9F2608AABBCCDDEEFF0011"}


@pytest.mark.parametrize("dialect", ["ascii87", "binary87", "bcd87", "ebcdic87"])
@pytest.mark.parametrize("framing", ["len2", "len4", "ascii2", "ascii4", "bcd2"])
def test_dialect_and_framing_round_trip(start_switch, dialect, framing):
    _, port = start_switch(dialect=dialect, framing=framing)
    client = WireClient(port, dialect, framing)
    # ascii2 frames hold at most 99 bytes, so that framing gets a short purchase
    short = ("t", "3", "4", "11", "41", "49")
    request = {k: v for k, v in REQUEST.items() if k in short} if framing == "ascii2" else REQUEST
    client.send(request)
    answer = client.receive()
    assert answer["t"] == "0210"
    assert answer["39"] == "00"
    for key in ("3", "4", "7", "11", "12", "13", "41", "42", "49"):
        assert answer.get(key) == request.get(key)
    assert len(answer["37"]) == 12 and len(answer["38"]) == 6
    assert "2" not in answer and "52" not in answer and "55" not in answer
    client.close()


@pytest.mark.parametrize("dialect", ["ascii87", "bcd87"])
def test_tpdu_answered_with_addresses_swapped(start_switch, dialect):
    _, port = start_switch(dialect=dialect, framing="len2", tpdu=True)
    client = WireClient(port, dialect, "len2", tpdu=bytes.fromhex("6000120034"))
    client.send(REQUEST)
    assert client.receive()["39"] == "00"
    assert client.last_tpdu == bytes.fromhex("6000340012")


@pytest.mark.parametrize("mti, answer_mti", [
    ("0100", "0110"), ("0200", "0210"), ("0220", "0230"), ("0400", "0410"), ("0420", "0430"), ("0500", "0510"),
    ("0421", "0430"),
])
def test_every_request_class_gets_its_response_mti(start_switch, mti, answer_mti):
    _, port = start_switch()
    client = WireClient(port)
    client.send({**REQUEST, "t": mti})
    answer = client.receive()
    assert answer["t"] == answer_mti
    assert answer["11"] == "000042" and answer["41"] == "POS00001"


@pytest.mark.parametrize("code", ["301", "001", "002"])
def test_network_management(start_switch, code):
    switch, port = start_switch()
    client = WireClient(port)
    client.send({"t": "0800", "7": "1126120000", "11": "000001", "41": "POS00001", "70": code})
    answer = client.receive()
    assert (answer["t"], answer["39"], answer["70"], answer["11"]) == ("0810", "00", code, "000001")
    assert ("POS00001" in switch.netmgmt.signed_on) == (code == "001")


def test_unknown_network_code_and_missing_70(start_switch):
    _, port = start_switch()
    client = WireClient(port)
    client.send({"t": "0800", "11": "000001", "70": "999"})
    assert client.receive()["39"] == "12"
    client.send({"t": "0800", "11": "000002"})
    assert client.receive()["39"] == "30"


def test_readable_mti_with_bad_fields_gets_format_error(start_switch):
    switch, port = start_switch()
    client = WireClient(port)
    good = __import__("switch.wire", fromlist=["x"]).load_dialect("ascii87").encode(
        {"t": "0200", "3": "000000", "11": "000077", "41": "POS00001", "42": "MERCHANT0000001"})
    client.send_raw(client.framing.frame(good[:-4]))  # field 42 cut short
    answer = client.receive()
    assert (answer["t"], answer["39"], answer["11"]) == ("0210", "30", "000077")
    client.send(REQUEST)  # the connection keeps serving
    assert client.receive()["39"] == "00"
    assert switch.factories[0].stats.format_errors == 1


def test_unreadable_frame_closes_only_that_connection(start_switch):
    switch, port = start_switch()
    bystander = WireClient(port)
    attacker = WireClient(port)
    attacker.send_raw(attacker.framing.frame(b"\x00\xffgarbage\x13"))
    assert attacker.is_closed()
    bystander.send(REQUEST)
    assert bystander.receive()["39"] == "00"
    assert switch.factories[0].stats.unreadable == 1


def test_trace_logs_a_masked_dump(start_switch, caplog):
    import logging

    caplog.set_level(logging.DEBUG, logger="acqsim.switch")
    _, port = start_switch(trace=True)
    client = WireClient(port)
    client.send({**REQUEST, "35": "4761739001010010=28122011234567890"})
    assert client.receive()["39"] == "00"
    text = caplog.text
    assert "476173******0010" in text and "Primary Account Number" in text
    for secret in ("4761739001010010", "0123456789ABCDEF", "28122011234567890", "AABBCCDDEEFF0011"):
        assert secret not in text
