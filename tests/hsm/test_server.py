"""The TCP server and HsmClient over real sockets (server on port 0 in the session reactor)."""

import socket
import struct
import threading

import pytest

from hsm_emulator import Hsm, HsmClient
from hsm_emulator.errors import HsmConnectionError
from hsm_emulator.server import listen


@pytest.fixture(scope="module")
def server(reactor, call_in_reactor):
    hsm = Hsm()
    port = call_in_reactor(listen, reactor, hsm, "127.0.0.1", 0, 4)
    yield hsm, port.getHost().port
    call_in_reactor(port.stopListening)


def frame(body: bytes) -> bytes:
    return struct.pack(">H", len(body)) + body


def read_frame(s: socket.socket) -> bytes:
    n = struct.unpack(">H", recv_exact(s, 2))[0]
    return recv_exact(s, n)


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        assert chunk, "server closed the connection"
        buf += chunk
    return buf


@pytest.fixture
def sock(server):
    s = socket.create_connection(("127.0.0.1", server[1]), timeout=5)
    yield s
    s.close()


def test_nc_manual_example(sock, server):
    """The manual's NC example: header 1234 -> 1234ND00 + LMK check value (16H) + firmware (xxxx-xxxx)."""
    sock.sendall(frame(b"1234NC"))
    resp = read_frame(sock)
    assert resp[:8] == b"1234ND00"
    assert resp[8:24] == server[0].lmk.check_value.encode() and len(resp) == 24 + 9
    assert resp[28:29] == b"-"


def test_several_commands_in_one_segment_each_answered(sock):
    cmds = [b"0001NC", b"0002BU0200406FBB23A5214DF", b"0003B200040A0B"]
    sock.sendall(b"".join(frame(c) for c in cmds))
    answers = [read_frame(sock) for _ in cmds]
    assert answers[0].startswith(b"0001ND00")
    assert answers[1] == b"0002BV000035BBE340A4B763"
    assert answers[2] == b"0003B3000A0B"


def test_trailer_is_echoed(sock):
    sock.sendall(frame(b"9999BU0200406FBB23A5214DF\x19TRAILER-123"))
    assert read_frame(sock) == b"9999BV000035BBE340A4B763\x19TRAILER-123"


def test_unknown_command_malformed_field_and_short_frame(sock):
    sock.sendall(frame(b"0001XX123") + frame(b"0002CA" + b"G" * 40) + frame(b"00") + frame(b"0003BU02"))
    assert read_frame(sock) == b"0001XY68"
    assert read_frame(sock) == b"0002CB15"
    assert read_frame(sock) == b"00  ZZ15"
    assert read_frame(sock) == b"0003BV15"
    # still alive afterwards
    sock.sendall(frame(b"0004NC"))
    assert read_frame(sock).startswith(b"0004ND00")


def test_binary_garbage_never_crashes(sock):
    import os

    for i in range(50):
        body = b"%04d" % i + os.urandom(i * 7 % 120)
        sock.sendall(frame(body))
        resp = read_frame(sock)
        assert resp[:4] == body[:4] and len(resp) >= 8
    sock.sendall(frame(b"0000NC"))
    assert read_frame(sock).startswith(b"0000ND00")


def test_audit_log_has_caller_and_no_secrets(server, sock):
    hsm = server[0]
    sock.sendall(frame(b"0042CW0A61E674E88C6A7EEABC38C2B2BB492F4123456789012345;8701101"))
    assert read_frame(sock) == b"0042CX00561"
    rec = [r for r in list(hsm.audit) if r.code == "CW"][-1]
    assert rec.error == "00" and rec.caller.startswith("127.0.0.1:") and rec.duration_us >= 0
    # only these fields exist: nothing else (key, PAN, CVV) can be in a record
    assert rec._fields == ("time", "code", "error", "duration_us", "caller")
    assert "4123456789012345" not in repr(rec) and "0A61E674" not in repr(rec)


def test_header_length_configurable(reactor, call_in_reactor):
    port = call_in_reactor(listen, reactor, Hsm(), "127.0.0.1", 0, 0)
    try:
        with socket.create_connection(("127.0.0.1", port.getHost().port), timeout=5) as s:
            s.sendall(frame(b"NC"))
            assert read_frame(s).startswith(b"ND00")
    finally:
        call_in_reactor(port.stopListening)


# ----------------------------------------------------------------------------------- HsmClient
@pytest.fixture(scope="module")
def client(server):
    c = HsmClient("127.0.0.1", server[1], header_length=4, timeout=5)
    yield c
    c.close()


def test_client_typed_methods_match_in_process(server, client):
    from tests.hsm.test_api import _block

    hsm = server[0]
    tpk = client.import_clear_key("0123456789ABCDEFFEDCBA9876543210", "TPK")[0]
    assert tpk == hsm.import_clear_key("0123456789ABCDEFFEDCBA9876543210", "TPK")[0]
    pvk = client.import_clear_key("0123456789ABCDEFFEDCBA9876543210", "PVK")[0]
    zpk = client.import_clear_key("89B07A34A1B3F47F89B07A34A1B3F47F", "ZPK")[0]
    bdk = client.import_clear_key("0123456789ABCDEFFEDCBA9876543210", "BDK")[0]
    cvk = client.import_clear_key("0123456789ABCDEFFEDCBA9876543210", "CVK")[0]
    tak = client.import_clear_key("0123456789ABCDEFFEDCBA9876543210", "TAK")[0]
    pan = "4012345678909"
    pvv = client.derive_pvv(pvk=pvk, pin="1234", pan=pan, pvki="1")
    assert pvv == hsm.derive_pvv(pvk=pvk, pin="1234", pan=pan, pvki="1")
    kw = dict(tpk=tpk, pvk=pvk, pan=pan, pvki="1", pvv=pvv)
    assert client.verify_pin_pvv(pin_block=_block("1234"), **kw) == "00"
    assert client.verify_pin_pvv(pin_block=_block("1235"), **kw) == "01"
    err, block = client.translate_pin_tpk_to_zpk(tpk=tpk, zpk=zpk, pin_block=_block("1234"), pan=pan)
    assert (err, block) == hsm.translate_pin_tpk_to_zpk(tpk=tpk, zpk=zpk, pin_block=_block("1234"), pan=pan)
    assert client.verify_dukpt_pin_pvv(bdk=bdk, ksn="FFFF9876543210E00001", pin_block="1B9C1845EB993A7A",
                                       pan=pan, pvk=pvk, pvki="1", pvv=pvv) == "00"
    assert client.translate_dukpt_pin(bdk=bdk, zpk=zpk, ksn="FFFF9876543210E00001", pin_block="1B9C1845EB993A7A",
                                      pan=pan) == ("00", block)
    dec = "0123456789012345"
    off = client.ibm_offset(pvk=pvk, pin="2468", pan=pan, dec_table=dec, pin_validation_data="4012345N")
    assert off == hsm.ibm_offset(pvk=pvk, pin="2468", pan=pan, dec_table=dec, pin_validation_data="4012345N")
    assert client.verify_pin_ibm(tpk=tpk, pvk=pvk, pin_block=_block("2468"), pan=pan, offset=off, dec_table=dec,
                                 pin_validation_data="4012345N") == "00"
    card = dict(cvk=cvk, pan="4123456789012345", expiry_yymm="8701", service_code="101")
    assert client.generate_cvv(**card) == "561"
    assert client.verify_cvv(cvv="561", **card) == "00" and client.verify_cvv(cvv="560", **card) == "01"
    mac = client.generate_mac(tak=tak, data=b"\x00\x19binary;data")
    assert mac == hsm.generate_mac(tak=tak, data=b"\x00\x19binary;data")
    assert client.verify_mac(tak=tak, data=b"\x00\x19binary;data", mac=mac) == "00"
    assert client.verify_mac(tak=tak, data=b"\x00\x19binary;data", mac=mac[:8]) == "00"
    assert client.verify_mac(tak=tak, data=b"\x00\x19binary;datA", mac=mac) == "01"
    assert client.key_check_value(tpk, "TPK") == "08D7B4"


@pytest.mark.parametrize("scheme", ["visa", "mastercard"])
def test_client_arqc(server, client, scheme):
    from pyemv.cvn import MasterCardCVN16, VisaCVN10

    from tests.hsm.test_vectors import CVR, TAGS, TXN

    imk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    mk_ac = client.import_clear_key(imk.hex(), "MK-AC")[0]
    card = (VisaCVN10 if scheme == "visa" else MasterCardCVN16)(imk, imk, imk, "5413330089600010", "01")
    arqc = card.generate_ac(*TAGS, CVR)
    kw = dict(scheme=scheme, mk_ac=mk_ac, pan="5413330089600010", psn="01", atc="0001",
              unpredictable_number="3804823E", transaction_data=TXN.hex())
    assert client.verify_arqc(arqc=arqc.hex(), arc="3030", **kw) == ("00", card.generate_arpc(arqc, b"00").hex().upper())
    assert client.verify_arqc(arqc=arqc.hex(), arc=None, **kw) == ("00", None)
    assert client.verify_arqc(arqc="00" * 8, arc="3030", **kw) == ("01", None)


def test_client_aes_dukpt(server, client):
    from hsm_emulator import dukpt, pin

    bdk = client.import_clear_key("FEDCBA9876543210F1F1F1F1F1F1F1F1", "BDK")[0]
    pvk = client.import_clear_key("0123456789ABCDEFFEDCBA9876543210", "PVK")[0]
    pan, ksn = "4012345678909", "123456789012345600000001"
    pvv = client.derive_pvv(pvk=pvk, pin="1234", pan=pan)
    key2 = dukpt.aes_working_key(bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1"), ksn, "pin", "2TDEA")
    from hsm_emulator.primitives import des_encrypt

    iso0 = des_encrypt(key2, pin.encode("1234", "01", pin.account_number(pan))).hex().upper()
    assert client.verify_dukpt_pin_pvv(bdk=bdk, ksn=ksn, pin_block=iso0, pan=pan, pvk=pvk, pvki="1", pvv=pvv, aes=True) == "00"
    key4 = dukpt.aes_working_key(bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1"), ksn, "pin", "AES128")
    iso4 = pin.encode_iso4(key4, "1234", pan).hex().upper()
    assert client.verify_dukpt_pin_pvv(bdk=bdk, ksn=ksn, pin_block=iso4, pan=pan, pvk=pvk, pvki="1", pvv=pvv, aes=True) == "00"
    assert client.verify_dukpt_pin_pvv(bdk=bdk, ksn=ksn, pin_block=iso4, pan=pan, pvk=pvk, pvki="1", pvv="0000", aes=True) == "01"


def test_client_threads_and_reconnect(server, client):
    results = []

    def worker():
        for _ in range(20):
            results.append(client.execute(b"BU0200406FBB23A5214DF"))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [b"BV000035BBE340A4B763"] * 80
    client._sock.close()  # the server side sees a dead connection; the client reconnects transparently
    assert client.execute(b"NC").startswith(b"ND00")


def test_client_unreachable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = HsmClient("127.0.0.1", port, timeout=0.5)
    with pytest.raises(HsmConnectionError):
        c.verify_cvv(cvk="U" + "0" * 32, pan="4123456789012345", expiry_yymm="8701", service_code="101", cvv="561")


def test_client_over_mutual_tls(reactor, call_in_reactor, tmp_path):
    """The HSM factory behind the security helper's TLS listener; HsmClient with a stdlib SSL context."""
    from hsm_emulator.server import HsmFactory
    from switch.security.certs import write_test_pki
    from switch.security.tls import listen as tls_listen
    from switch.security.tls import server_tls_options, ssl_client_context

    pki = write_test_pki(tmp_path)
    opts = server_tls_options(pki.server_cert, pki.server_key, ca=pki.ca_cert, require_client_cert=True)
    port = call_in_reactor(tls_listen, reactor, 0, HsmFactory(Hsm()), tls=opts, interface="127.0.0.1")
    try:
        ctx = ssl_client_context(pki.ca_cert, pki.client_cert, pki.client_key)
        with HsmClient("127.0.0.1", port.getHost().port, timeout=5, ssl_context=ctx) as c:
            assert c.execute(b"BU0200406FBB23A5214DF") == b"BV000035BBE340A4B763"
        no_cert = HsmClient("127.0.0.1", port.getHost().port, timeout=2, ssl_context=ssl_client_context(pki.ca_cert))
        with pytest.raises(HsmConnectionError):
            no_cert.execute(b"NC")
    finally:
        call_in_reactor(port.stopListening)


def test_client_dukpt_ibm(server, client):
    hsm = server[0]
    bdk = client.import_clear_key("0123456789ABCDEFFEDCBA9876543210", "BDK")[0]
    pvk = client.import_clear_key("AB9DF810753BE3B3CB3D2A455EADDCDF", "PVK")[0]
    pan, dec = "4012345678909", "0123456789012345"
    off = hsm.ibm_offset(pvk=pvk, pin="1234", pan=pan, dec_table=dec, pin_validation_data="401234567890")
    kw = dict(bdk=bdk, ksn="FFFF9876543210E00001", pan=pan, pvk=pvk, dec_table=dec,
              pin_validation_data="401234567890", check_length=4)
    assert client.verify_dukpt_pin_ibm(pin_block="1B9C1845EB993A7A", offset=off, **kw) == "00"
    assert hsm.verify_dukpt_pin_ibm(pin_block="1B9C1845EB993A7A", offset=off, **kw) == "00"
    wrong = str((int(off[0]) + 1) % 10) + off[1:]
    assert client.verify_dukpt_pin_ibm(pin_block="1B9C1845EB993A7A", offset=wrong, **kw) == "01"


def test_client_survives_server_idle_close(reactor, call_in_reactor):
    import time

    from hsm_emulator.server import HsmFactory

    port = call_in_reactor(reactor.listenTCP, 0, HsmFactory(Hsm(), idle_timeout=0.3), interface="127.0.0.1")
    try:
        with HsmClient("127.0.0.1", port.getHost().port, timeout=5) as c:
            assert c.execute(b"NC").startswith(b"ND00")
            time.sleep(0.8)  # the server closes the idle connection; the next call reconnects once
            assert c.execute(b"NC").startswith(b"ND00")
    finally:
        call_in_reactor(port.stopListening)
