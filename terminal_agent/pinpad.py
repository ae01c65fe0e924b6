"""The PIN pad: ISO 9564 format 0 PIN blocks under the working TPK, or under a DUKPT key (TDES or AES).

Wire conventions (documented in docs/requests.md for the switch side):
- fixed keys: the working TPK arrives in the 0810 answer to a 0800 key change (field 70 = 101) as field 48
  = TPK encrypted under the TMK (32 hex, TDES ECB of the 16-byte key) followed by its KCV (6 hex);
- TDES DUKPT (X9.24-1): field 52 = ISO-0 block under the transaction PIN key; field 53 = the KSN,
  right-justified and left-padded with F to the field's size; the host takes the rightmost 20 hex digits and
  left-pads with F when shorter (an 80-bit KSN whose first 16 bits are FFFF fits the 16 digits of ascii87);
- AES DUKPT (X9.24-3): field 62 = the 12-byte KSN (24 hex); field 52 = ISO-0 block under the 2TDEA PIN
  working key derived from the AES transaction key (X9.24-3 allows TDEA working keys), so field 52 keeps its
  8-byte size in every dialect.
PINs, clear blocks and clear keys stay in memory; nothing here logs.
"""

from __future__ import annotations

from dataclasses import dataclass

from psec import pinblock

from terminal_agent import dukpt
from terminal_agent.crypto import kcv, tdes_decrypt, tdes_encrypt


class PinPadError(Exception):
    pass


@dataclass
class PinData:
    """What the PIN entry adds to a request (field number -> value)."""

    fields: dict[str, str]

    def __repr__(self) -> str:
        return f"PinData(fields={sorted(self.fields)})"


class PinPad:
    """`mode`: "tpk" (fixed working key), "dukpt" (TDES) or "dukpt-aes".

    `state` is the terminal's persistent dict: the PIN pad keeps its DUKPT counter and working TPK there (the
    TPK only as a cryptogram under the TMK, never clear).
    """

    def __init__(self, *, mode: str = "tpk", tmk: str | None = None, tpk: str | None = None,
                 bdk: str | None = None, initial_ksn: str | None = None, state: dict | None = None,
                 ksn_field_size: int = 16) -> None:
        if mode not in ("tpk", "dukpt", "dukpt-aes"):
            raise PinPadError(f"unknown PIN pad mode {mode!r}")
        self.mode = mode
        self.state = state if state is not None else {}
        self._tmk = bytes.fromhex(tmk) if tmk else None
        self._tpk = bytes.fromhex(tpk) if tpk else None
        self.ksn_field_size = ksn_field_size
        if self.state.get("tpk_under_tmk") and self._tmk:
            self._tpk = tdes_decrypt(self._tmk, bytes.fromhex(self.state["tpk_under_tmk"]))
        if mode != "tpk":
            if not bdk:
                raise PinPadError("a DUKPT PIN pad needs the BDK to inject its initial key")
            aes = mode == "dukpt-aes"
            default_ksn = "123456789012345600000000" if aes else "FFFF9876543210E00000"
            self._initial_ksn = bytes.fromhex(initial_ksn or default_ksn)
            if len(self._initial_ksn) != (12 if aes else 10):
                raise PinPadError("initial KSN must be 12 bytes for AES DUKPT and 10 bytes for TDES DUKPT")
            # Key injection (done once in a secure room for a real device): the initial key for this KSN.
            key = bytes.fromhex(bdk)
            self._initial_key = (dukpt.aes_initial_key(key, self._initial_ksn[:8]) if aes
                                 else dukpt.tdes_ipek(key, self._initial_ksn))

    def __repr__(self) -> str:
        return f"PinPad(mode={self.mode!r})"

    @property
    def tpk_kcv(self) -> str | None:
        return kcv(self._tpk) if self._tpk else None

    def load_working_key(self, field48: str) -> str:
        """Install the TPK from a key-change answer: 32 hex under the TMK + 6 hex KCV. Returns the KCV."""
        if self._tmk is None:
            raise PinPadError("no TMK loaded: cannot accept a working key")
        value = field48.strip().upper()
        if len(value) < 32:
            raise PinPadError("key-change answer carries no key (field 48 too short)")
        clear = tdes_decrypt(self._tmk, bytes.fromhex(value[:32]))
        check = kcv(clear)
        if len(value) >= 38 and value[32:38] != check:
            raise PinPadError("working key check value mismatch: key not installed")
        self._tpk = clear
        self.state["tpk_under_tmk"] = value[:32]
        return check

    def pin_block(self, pin: str, pan: str) -> PinData:
        """Encrypt `pin` for `pan`; DUKPT pads advance their counter first (one key per transaction)."""
        if not (pin.isdigit() and 4 <= len(pin) <= 12):
            raise PinPadError("PIN must be 4 to 12 digits")
        clear = pinblock.encode_pinblock_iso_0(pin, pan)
        if self.mode == "tpk":
            if self._tpk is None:
                raise PinPadError("no working PIN key: run a key change (sign-on) first")
            return PinData({"52": tdes_encrypt(self._tpk, clear).hex().upper()})
        aes = self.mode == "dukpt-aes"
        counter = dukpt.next_counter(int(self.state.get("dukpt_counter", 0)), aes)
        self.state["dukpt_counter"] = counter
        ksn = dukpt.ksn_with_counter(self._initial_ksn, counter, aes)
        if aes:
            key = dukpt.aes_pin_key(self._initial_key, ksn, "2TDEA")
            return PinData({"52": tdes_encrypt(key, clear).hex().upper(), "62": ksn.hex().upper()})
        key = dukpt.tdes_pin_key(self._initial_key, ksn)
        ksn_hex = ksn.hex().upper()
        width = self.ksn_field_size
        if width < 20:
            if not ksn_hex.startswith("F" * (20 - width)):
                raise PinPadError(f"KSN does not fit field 53 ({width} digits): it must begin with F")
            ksn_hex = ksn_hex[20 - width:]
        return PinData({"52": tdes_encrypt(key, clear).hex().upper(), "53": ksn_hex.rjust(width, "F")})


def wrap_key_for_terminal(tmk_hex: str, tpk_hex: str) -> str:
    """Host side of a key change (used by tests and tools): field 48 = TPK under TMK + KCV."""
    tpk = bytes.fromhex(tpk_hex)
    return tdes_encrypt(bytes.fromhex(tmk_hex), tpk).hex().upper() + kcv(tpk)
