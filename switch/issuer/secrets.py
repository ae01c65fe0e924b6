"""Card verification data derived from the issuer's clear TEST keys (a test-lab card personalisation).

Used only when loading fixtures or issuing a test card: CVV, iCVV, PVV or IBM 3624 offset, track 2 and
the ICC master key for application cryptograms. The switch itself verifies through the HSM and never
holds these clear keys. psec and pyemv implement the published algorithms (checked against the published
vectors in tests/issuer).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import NamedTuple

from cryptography.utils import CryptographyDeprecationWarning
from psec import cvv as _cvv
from psec import pin as _pin
from pyemv import kd

# Track 2 discretionary data layout used by the test issuer: PVKI(1) PVV(4) CVV(3) then padding.
TRACK2_CVV_OFFSET = 5
TRACK2_PAD = "00000"


def ibm_validation_data(pan: str) -> str:
    """PIN validation data for IBM 3624: the 12 PAN digits left of the check digit."""
    return pan[-13:-1]


@dataclass(frozen=True)
class CardSecrets:
    cvv: str
    icvv: str
    pvv: str | None
    pin_offset: str | None
    track2: str
    icc_track2: str
    icc_mk_ac: str


def compute_card_secrets(keys: dict, pin_method: str, *, pan: str, pin: str, expiry: str,
                         service_code: str, psn: str = "00", bad_cvv: bool = False) -> CardSecrets:
    """All derived card data for `pan`; `pin` is the PIN the issuer records."""
    cvk = bytes.fromhex(keys["cvk"])
    pvk = bytes.fromhex(keys["pvk"])
    pvki = str(keys.get("pvki", "1"))
    # psec requires 16-byte (2-key) DES keys and cryptography warns about those; these are test keys in a
    # card-personalisation helper, so silence just that warning here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        cvv = _cvv.generate_cvv(cvk, pan, expiry, service_code)
        icvv = _cvv.generate_cvv(cvk, pan, expiry, "999")
        pvv = offset = None
        if pin_method == "pvv":
            pvv = _pin.generate_visa_pvv(pvk, pvki, pin, pan)
        else:
            vd = ibm_validation_data(pan)
            offset = _pin.generate_ibm3624_offset(pvk, keys.get("dec_table", "0123456789012345"), pin, vd,
                                                  0, len(vd), "F")
        mk = kd.derive_icc_mk_a(bytes.fromhex(keys["imk_ac"]), pan, psn).hex().upper()
    track_cvv = f"{(int(cvv) + 1) % 1000:03d}" if bad_cvv else cvv
    pv = (pvv or "0000")
    track2 = f"{pan}={expiry}{service_code}{pvki}{pv}{track_cvv}{TRACK2_PAD}"
    icc_track2 = f"{pan}D{expiry}{service_code}{pvki}{pv}{icvv}{TRACK2_PAD}"
    return CardSecrets(cvv=track_cvv, icvv=icvv, pvv=pvv, pin_offset=offset, track2=track2,
                       icc_track2=icc_track2, icc_mk_ac=mk)


class Track2(NamedTuple):
    """Track 2 as parsed for one request (never stored). A NamedTuple: built on every card request, and a
    frozen dataclass's __init__ costs three times as much."""

    pan: str
    expiry: str
    service_code: str
    discretionary: str

    @property
    def cvv(self) -> str:
        return self.discretionary[TRACK2_CVV_OFFSET:TRACK2_CVV_OFFSET + 3]


def parse_track2(text: str) -> Track2 | None:
    """Parse track 2 (or its ICC equivalent): PAN, '=' or 'D', YYMM, service code, discretionary data."""
    t = text.strip(";?").upper().rstrip("F")
    for sep in ("=", "D"):
        if sep in t:
            pan, _, rest = t.partition(sep)
            if len(rest) < 7 or not pan.isdigit():
                return None
            return Track2(pan=pan, expiry=rest[:4], service_code=rest[4:7], discretionary=rest[7:])
    return None
