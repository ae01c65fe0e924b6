import json

import iso8583
import iso8583.specs
import pytest

from switch.wire import DialectError, MessageError, dialect_names, load_dialect

SAMPLE = {
    "t": "0200", "2": "4761739001010010", "3": "000000", "4": "000000001000", "7": "1126213000",
    "11": "000001", "12": "213000", "13": "1126", "22": "051", "35": "4761739001010010=25122011143804400000",
    "41": "POS00001", "42": "MERCHANT0000001", "49": "682", "52": "0123456789ABCDEF",
    "55": "9F2608AABBCCDDEEFF00119F360200018202198095050000000000", "64": "1122334455667788",
    "90": "020000000100000000000000000000000000000000",
}


def test_all_four_dialects_ship():
    assert {"ascii87", "binary87", "bcd87", "ebcdic87"} <= set(dialect_names())


@pytest.mark.parametrize("name", ["ascii87", "binary87", "bcd87", "ebcdic87"])
def test_round_trip(name):
    dialect = load_dialect(name)
    decoded = dialect.decode(dialect.encode(SAMPLE))
    assert {k: decoded[k] for k in SAMPLE} == SAMPLE


@pytest.mark.parametrize("name", ["ascii87", "binary87", "bcd87", "ebcdic87"])
def test_peek_mti(name):
    dialect = load_dialect(name)
    assert dialect.peek_mti(dialect.encode(SAMPLE)) == "0200"


def test_ascii87_is_pyiso8583_default_ascii():
    raw, _ = iso8583.encode(dict(SAMPLE), iso8583.specs.default_ascii)
    assert load_dialect("ascii87").encode(SAMPLE) == bytes(raw)


def test_binary87_is_pyiso8583_default():
    raw, _ = iso8583.encode(dict(SAMPLE), iso8583.specs.default)
    assert load_dialect("binary87").encode(SAMPLE) == bytes(raw)


def test_bcd87_packs_numerics():
    raw = load_dialect("bcd87").encode({"t": "0800", "11": "000123", "70": "301"})
    assert raw[:2] == b"\x08\x00"  # BCD MTI
    assert b"\x00\x01\x23" in raw  # STAN in 3 bytes
    assert raw.endswith(b"\x03\x01")  # n3 left-padded with 0


def test_ebcdic87_uses_cp500():
    raw = load_dialect("ebcdic87").encode({"t": "0800", "11": "000123", "70": "301"})
    assert raw[:4] == "0800".encode("cp500")


def test_bad_message_names_field_and_keeps_mti():
    dialect = load_dialect("ascii87")
    raw = dialect.encode({"t": "0200", "3": "000000", "11": "000007", "41": "POS00001"})
    with pytest.raises(MessageError) as err:
        dialect.decode(raw[:-3])  # truncated field 41
    assert err.value.mti == "0200"
    assert err.value.field == "41"
    assert err.value.partial["11"] == "000007"


def test_encode_error_names_field():
    with pytest.raises(MessageError) as err:
        load_dialect("ascii87").encode({"t": "0200", "3": "1234567"})
    assert err.value.field == "3"


def _write(tmp_path, doc):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_bad_dialect_file_names_file_and_field(tmp_path):
    doc = json.loads(open(__import__("switch.paths").paths.specs_dir() / "ascii87.json").read())
    del doc["fields"]["4"]["max_len"]
    with pytest.raises(DialectError, match=r"mine\.json: field 4: missing max_len"):
        load_dialect(_write(tmp_path, doc))


@pytest.mark.parametrize("mutation, message", [
    (lambda f: f["2"].update(data_enc="klingon"), "field 2: data_enc 'klingon' is not a known encoding"),
    (lambda f: f["3"].update(len_type=7), "field 3: len_type must be 0..4"),
    (lambda f: f.update({"129": f["2"]}), "field '129' is not an ISO 8583 field"),
    (lambda f: f.pop("t"), "field t: missing"),
])
def test_dialect_validation(tmp_path, mutation, message):
    doc = json.loads(open(__import__("switch.paths").paths.specs_dir() / "ascii87.json").read())
    mutation(doc["fields"])
    with pytest.raises(DialectError, match=message):
        load_dialect(_write(tmp_path, doc))


def test_invalid_json_names_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"fields":\n  {,}\n}')
    with pytest.raises(DialectError, match=r"broken\.json: line 2"):
        load_dialect(str(path))


def test_unknown_dialect():
    with pytest.raises(DialectError, match="unknown dialect 'nope'"):
        load_dialect("nope")
