"""Field 55 -> the inputs of an ARQC check (KQ), and the issuer authentication data sent back."""

from __future__ import annotations

from functools import lru_cache
from operator import itemgetter

from switch.wire import decode_icc

AC_TAGS = ("9F02", "9F03", "9F1A", "95", "5F2A", "9A", "9C", "9F37", "82", "9F36")
REQUIRED = (*AC_TAGS, "9F26", "9F10")
_REQUIRED = frozenset(REQUIRED)
_ac_values = itemgetter(*AC_TAGS)


class IccDataError(ValueError):
    pass


def cvr_from_iad(scheme: str, iad_hex: str) -> str:
    """Card verification results inside 9F10: Visa CVN10 bytes 3-6, M/Chip bytes 2-7."""
    if len(iad_hex) % 2 or iad_hex.strip("0123456789ABCDEF"):  # not as decode_icc gives it: normalise
        iad_hex = bytes.fromhex(iad_hex).hex().upper()
    if scheme == "mastercard":
        return iad_hex[4:16]
    return iad_hex[6:14]


def arqc_inputs(field55: str, scheme: str) -> dict[str, str]:
    """Keyword arguments for Hsm.verify_arqc (minus keys, PAN, PSN and arc) from field 55."""
    try:
        tags = decode_icc(field55)
    except ValueError as exc:
        raise IccDataError(str(exc)) from None
    if not _REQUIRED <= tags.keys():
        missing = [t for t in REQUIRED if t not in tags]
        raise IccDataError(f"ICC data lacks {' '.join(missing)}")
    data = "".join(_ac_values(tags)) + cvr_from_iad(scheme, tags["9F10"])
    return {"atc": tags["9F36"], "unpredictable_number": tags["9F37"], "transaction_data": data,
            "arqc": tags["9F26"]}


@lru_cache(maxsize=128)  # a handful of response codes, asked for on every chip request
def arc_for(rc: str) -> str:
    """Authorisation response code as the card sees it: the two ASCII characters of field 39, in hex."""
    return rc.encode("ascii").hex().upper()


def issuer_auth_data(arpc: str, rc: str) -> str:
    """Tag 91 (ARPC method 1: ARPC || ARC) as field 55 TLV."""
    value = arpc + arc_for(rc)
    return f"91{len(value) // 2:02X}{value}"
