"""The codec's fast path (switch/wire/fastcodec.py) must be taken on valid messages and then give exactly
pyiso8583's bytes and dicts; on anything else it must step aside, never answer differently."""

import iso8583
import pytest
from hypothesis import given
from hypothesis import strategies as st

from switch.wire import load_dialect
from switch.wire.codec import CodecError, Unsupported, compile_spec
from switch.wire.fastcodec import _FAST_MISS, _PLAN_LIMIT, _fast_decode, _fast_encode
from tests.wire.strategies import COMPILED, SETTINGS, field_value

# A chip purchase's fields, so the layouts the switch really sees are always among the examples.
PURCHASE = ["2", "3", "4", "7", "11", "12", "13", "14", "18", "22", "23", "25", "35", "37", "41", "42", "43",
            "49", "52", "55"]


@st.composite
def messages(draw, name):
    spec = load_dialect(name).spec
    fields = [k for k in spec if k.isdigit() and k not in ("1", "65")]
    keys = draw(st.one_of(st.just(PURCHASE), st.lists(st.sampled_from(fields), max_size=20, unique=True)))
    if draw(st.booleans()):
        keys = [*keys, *draw(st.lists(st.sampled_from([k for k in fields if int(k) > 64]), max_size=3, unique=True))]
    long = draw(st.booleans())
    msg = {"t": draw(st.sampled_from(["0100", "0200", "0210", "0420", "0800"]))}
    for key in dict.fromkeys(keys):
        msg[key] = field_value(spec[key], draw, long, alphabet="0123456789ABCXYZ =-D")
    return msg


def _encode_fast(codec, msg):
    fast = codec._fast
    return _fast_encode(fast, fast.eplans.get(tuple(msg)) or fast.encode_plan(msg), msg)


@pytest.mark.parametrize("name", COMPILED)
def test_shipped_byte_counted_dialects_have_a_fast_path(name):
    assert compile_spec(load_dialect(name).spec)._fast is not None


@pytest.mark.parametrize("name", COMPILED)
@SETTINGS
@given(data=st.data())
def test_fast_path_is_taken_and_equals_pyiso8583(name, data):
    spec = load_dialect(name).spec
    codec = compile_spec(spec)
    msg = data.draw(messages(name))
    raw = bytes(iso8583.encode(dict(msg), spec)[0])
    assert _encode_fast(codec, msg) == raw  # raises a miss if the fast path stepped aside
    assert _encode_fast(codec, msg) == raw  # and again from the cached plan
    expected = iso8583.decode(raw, spec)[0]
    assert _fast_decode(codec._fast, raw) == expected
    assert _fast_decode(codec._fast, raw) == expected


def _careful_decode(codec, raw):
    try:
        return codec._decode_careful(raw)
    except (CodecError, Unsupported) as exc:
        return type(exc)


@pytest.mark.parametrize("name", COMPILED)
@SETTINGS
@given(data=st.data())
def test_fast_decode_steps_aside_on_damaged_messages(name, data):
    spec = load_dialect(name).spec
    codec = compile_spec(spec)
    raw = bytearray(iso8583.encode(dict(data.draw(messages(name))), spec)[0])
    codec.decode(bytes(raw)) if raw else None  # the undamaged layout's plan is cached: damage must not fool it
    for _ in range(data.draw(st.integers(1, 4))):
        if raw and data.draw(st.booleans()):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
        elif data.draw(st.booleans()):
            raw = raw[: data.draw(st.integers(0, len(raw)))]
        else:
            raw += bytes(data.draw(st.binary(min_size=1, max_size=3)))
    try:
        got = _fast_decode(codec._fast, bytes(raw))
    except _FAST_MISS:
        return
    assert got == _careful_decode(codec, bytes(raw))


@pytest.mark.parametrize("name", COMPILED)
@SETTINGS
@given(data=st.data())
def test_fast_encode_steps_aside_on_bad_values(name, data):
    codec = compile_spec(load_dialect(name).spec)
    msg = data.draw(messages(name))
    key = data.draw(st.sampled_from(sorted(msg)))
    msg[key] = data.draw(st.one_of(st.text(max_size=60), st.binary(max_size=8), st.integers(), st.none()))
    try:
        careful = codec._encode_careful(msg)
    except Exception as exc:  # noqa: BLE001 - whatever it raises, the fast path must not answer
        careful = type(exc)
    try:
        got = _encode_fast(codec, msg)
    except _FAST_MISS:
        return
    assert got == careful
    assert codec.encode(msg) == careful


def test_errors_still_name_the_field_through_the_dialect():
    from switch.wire import MessageError

    dialect = load_dialect("ascii87")
    raw = dialect.encode({"t": "0200", "3": "000000", "11": "000001", "35": "4761739001010010=2512"})
    bad = raw.replace(b"214761", b"9X4761")  # field 35's length prefix
    with pytest.raises(MessageError) as info:
        dialect.decode(bad)
    assert info.value.field == "35" and info.value.partial["11"] == "000001"


def test_plan_caches_are_bounded():
    codec = compile_spec(load_dialect("binary87").spec)
    for n in range(_PLAN_LIMIT + 10):  # a peer sending ever new bitmaps, a caller ever new keys
        with pytest.raises(CodecError):
            codec.decode(b"0200" + (n << 8 | 1 << 62).to_bytes(8, "big"))
        assert codec.encode({"t": "0800", f"note{n}": "", "70": "301"})
    assert 0 < len(codec._fast.dplans) <= _PLAN_LIMIT
    assert 0 < len(codec._fast.eplans) <= _PLAN_LIMIT


@pytest.mark.parametrize("name, key, value", [
    ("binary87", "52", "01 23 45 67 89 AB CD EF"), ("ebcdic87", "55", "9F26 08 0102030405060708"),
    ("binary87", "55", "9F2608\n01020304"), ("ascii87", "4", "00000000010\u00e9"), ("ebcdic87", "41", "TERM\u20ac001"),
])
def test_fast_encode_refuses_what_pyiso8583_refuses(name, key, value):
    codec = compile_spec(load_dialect(name).spec)
    msg = {"t": "0200", "3": "000000", key: value}
    with pytest.raises(_FAST_MISS):
        _encode_fast(codec, msg)
    with pytest.raises(iso8583.EncodeError):
        iso8583.encode(dict(msg), load_dialect(name).spec)
