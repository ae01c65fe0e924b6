"""The ISO 8583 wire layer: dialects as data, framing, EMV TLV, masked dumps and a Twisted client.

    from switch.wire import load_dialect, Framing, IsoClient, dump
    d = load_dialect("ascii87")
    raw = d.encode({"t": "0800", "7": "1126120000", "11": "000001", "70": "301"})
"""

from switch.wire.client import ConnectionClosed, IsoClient, RequestTimeout, match_key
from switch.wire.dialect import Dialect, DialectError, MessageError, dialect_names, load_dialect
from switch.wire.dump import dump, mask_field, masked_hex
from switch.wire.emv import TlvError, decode_icc, encode_icc, tag_names
from switch.wire.framing import PREFIXES, FrameError, FrameReader, Framing, answer_tpdu
from switch.wire.pan import luhn_digit, luhn_ok, mask_pan

__all__ = [
    "PREFIXES", "ConnectionClosed", "Dialect", "DialectError", "FrameError", "FrameReader", "Framing",
    "IsoClient", "MessageError", "RequestTimeout", "TlvError", "answer_tpdu", "decode_icc", "dialect_names",
    "dump", "encode_icc", "luhn_digit", "luhn_ok", "load_dialect", "mask_field", "mask_pan", "masked_hex", "match_key", "tag_names",
]
