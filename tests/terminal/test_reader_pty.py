"""The emulated reader on a real pseudo-terminal, driven through pyserial by its /dev/pts path."""

from __future__ import annotations

import os

import pytest

from terminal_agent.readers import BadRead, EmulatedReader, SerialCardReader, read_with_retry


@pytest.fixture
def device():
    dev = EmulatedReader().start()
    yield dev
    dev.close()


@pytest.fixture
def reader(device):
    r = SerialCardReader(device.path)
    yield r
    r.close()


def test_device_is_a_real_pty(device):
    assert device.path.startswith("/dev/pts/")
    assert os.isatty(device.slave)


def test_identify_and_good_swipe(device, reader, visa):
    assert reader.identify().startswith("ACQSIM-EMU")
    device.swipe(visa)
    read = reader.read_card(timeout=5)
    assert read.kind == "swipe"
    assert read.track.pan == visa.pan and read.track.expiry == "2812" and read.track.service_code == "201"
    assert read.track.name == "TEST/CARDHOLDER"
    assert read.track.track2 == "4761739001010010=28122011143804400000"
    assert "4761739001010010" not in repr(read)


def test_reverse_swipe_reads(device, reader, visa):
    device.swipe(visa, fault="reverse")
    assert reader.read_card(timeout=5).track.pan == visa.pan


@pytest.mark.parametrize("fault,kind", [("bad_lrc", "lrc"), ("partial", "partial"), ("no_card", "no_card"),
                                        ("blank", "no_card")])
def test_faults_reported_as_bad_reads(device, reader, visa, fault, kind):
    device.swipe(visa, fault=fault)
    with pytest.raises(BadRead) as exc:
        reader.read_card(timeout=5)
    assert exc.value.kind == kind


def test_retry_after_bad_lrc_then_partial(device, reader, visa):
    device.swipe(visa, fault="bad_lrc")
    device.swipe(visa, fault="partial")
    device.swipe(visa)
    prompts: list[str] = []
    read = read_with_retry(reader, attempts=3, timeout=5, notify=prompts.append)
    assert read.track.pan == visa.pan
    assert prompts == ["BAD READ (LRC) - PLEASE SWIPE AGAIN", "PARTIAL READ - PLEASE SWIPE AGAIN"]


def test_retries_exhausted(device, reader, visa):
    for _ in range(2):
        device.swipe(visa, fault="bad_lrc")
    with pytest.raises(BadRead):
        read_with_retry(reader, attempts=2, timeout=5)


def test_timeout_without_card(device, reader):
    with pytest.raises(BadRead) as exc:
        reader.read_card(timeout=1)
    assert exc.value.kind in ("no_card", "timeout")


def test_line_noise_is_nakked_and_retransmitted(device, reader, visa):
    device.swipe(visa, fault="noise")
    assert reader.read_card(timeout=5).track.pan == visa.pan
    assert reader.frames.bad_frames == 1


def test_chip_insert_apdus_over_the_pty(device, reader, visa):
    device.insert(visa)
    read = reader.read_card(timeout=5)
    assert read.kind == "chip" and read.atr
    rapdu = read.channel.transmit(bytes.fromhex("00A4040007A000000003101000"))
    assert rapdu[-2:] == b"\x90\x00"
    reader.power_off()
    with pytest.raises(BadRead):
        reader.transmit(bytes.fromhex("00A4040007A000000003101000"))
