"""The software HSM: host-command execution and the typed in-process API built on the same operations."""

from __future__ import annotations

import hmac
import logging
import time
from collections import deque
from pathlib import Path
from typing import NamedTuple

from hsm_emulator import dukpt, emv, pin
from hsm_emulator.cardcrypto import IccKeyCache, cvv_value
from hsm_emulator.errors import HsmError, digits
from hsm_emulator.lmk import Lmk, check_parity, kcv_hex, key_type_code
from hsm_emulator.mac import cmac, iso9797_mac
from hsm_emulator.primitives import des_decrypt, des_encrypt, odd_parity

audit_logger = logging.getLogger("hsm_emulator.audit")

FIRMWARE = "0007-E000"
_new_tuple = tuple.__new__


class AuditRecord(NamedTuple):
    """One command in the audit log: no key, PIN, PIN block or card data, by construction."""

    time: float
    code: str
    error: str
    duration_us: int
    caller: str


class Hsm:
    """Software payShield: variant LMK key store, host commands (`execute`) and typed methods.

    Thread-safe and without I/O; typed methods return payShield error codes ("00" ok, "01" verification
    failure, ...) and never raise for a cryptographic "no".
    """

    def __init__(self, lmk: Lmk | str | Path | None = None, firmware: str = FIRMWARE,
                 audit_size: int = 10000) -> None:
        self.lmk = lmk if isinstance(lmk, Lmk) else Lmk.from_file(lmk)
        self.firmware = firmware
        self.audit: deque[AuditRecord] = deque(maxlen=audit_size)
        # Derived ICC master keys (clear, in this object only): one derivation per card, not per ARQC.
        self.icc_keys = IccKeyCache()

    # ----------------------------------------------------------------------------------- host commands
    def execute(self, command: bytes, caller: str = "in-process") -> bytes:
        """One host command (code + fields, optional X'19' + trailer) -> response (code + error + fields)."""
        from hsm_emulator.commands import COMMANDS, TRAILER_DELIMITER, Reader, response_code

        start = time.perf_counter()
        code = command[:2].decode("latin-1")
        resp_code = response_code(code)
        handler = COMMANDS.get(code)
        trailer = b""
        if handler is None:
            err, body = "68", b""  # payShield: command not recognised / disabled
        else:
            reader = Reader(command[2:])
            try:
                out = handler(self, reader)
                if reader.pos < reader.end:
                    if reader.data[reader.pos] == TRAILER_DELIMITER and reader.end - reader.pos - 1 <= 32:
                        trailer = reader.data[reader.pos :]
                    else:
                        raise HsmError("15", "unexpected data after the last field")
                err = "00"
                if isinstance(out, tuple):  # (error, body) for commands answering data with a non-00 code
                    err, out = out
                body = out.encode("latin-1") if isinstance(out, str) else out
            except HsmError as exc:
                err, body = exc.code, b""
            except Exception:  # never crash the server on a malformed command
                audit_logger.exception("internal error in %s", code)
                err, body = "15", b""
        self._audit(code, err, start, caller)
        return resp_code.encode("latin-1") + err.encode() + body + trailer

    def _audit(self, code: str, err: str, start: float, caller: str) -> None:
        # Runs for every command: no record when the audit ring is off (audit_size=0), and tuple.__new__
        # skips AuditRecord's Python-level __new__.
        us = int((time.perf_counter() - start) * 1e6)
        if self.audit.maxlen:
            self.audit.append(_new_tuple(AuditRecord, (time.time(), code, err, us, caller)))
        if audit_logger.isEnabledFor(logging.INFO):
            audit_logger.info("cmd=%s err=%s us=%d caller=%s", code, err, us, caller)

    # ----------------------------------------------------------------------------------- key helpers
    def key(self, text: str, key_type: str, parity_error: str = "10") -> bytes:
        """Decrypt a key under the LMK and check its parity (payShield error `parity_error` if bad)."""
        return self.lmk.decrypt_checked(text, key_type, parity_error)

    def import_clear_key(self, clear_hex: str, key_type: str, scheme: str = "U") -> tuple[str, str]:
        """Clear test key -> (key under LMK, KCV 6H). For loading fixtures (a test-lab key ceremony).

        The key is stored bit for bit (an AES BDK must not be parity-adjusted); a DES key without odd
        parity is refused later with the command's parity error, as a payShield does.
        """
        try:
            clear = bytes.fromhex(clear_hex)
        except ValueError:
            raise HsmError("15", "key is not hex") from None
        if len(clear) not in (8, 16, 24):
            raise HsmError("15", "key must be 8, 16 or 24 bytes")
        if len(clear) == 8:
            scheme = ""
        return self.lmk.encrypt_key(clear, key_type_code(key_type), scheme), kcv_hex(clear)

    def generate_key(self, key_type: str, scheme: str = "U") -> tuple[str, str]:
        import secrets

        length = {"U": 16, "X": 16, "T": 24, "Y": 24}.get(scheme.upper(), 8)
        clear = odd_parity(secrets.token_bytes(length))
        return self.lmk.encrypt_key(clear, key_type_code(key_type), scheme), kcv_hex(clear)

    def key_check_value(self, key: str, key_type: str, length: int = 6) -> str:
        return kcv_hex(self.lmk.decrypt_key(key, key_type), length)

    # ----------------------------------------------------------------------------------- PIN core
    def _pin_from_block(self, key: bytes, block: str, fmt: str, account12: str) -> str:
        """Decrypt a TDES PIN block and extract the PIN (never leaves the HSM except via PVV/offset math)."""
        if fmt not in pin.TDES_FORMATS:
            raise HsmError("23", f"invalid PIN block format {fmt}")
        try:
            raw = bytes.fromhex(block)
        except ValueError:
            raise HsmError("15", "PIN block is not hex") from None
        if len(raw) != 8:
            raise HsmError("15", "PIN block must be 16 hex characters")
        return pin.decode(des_decrypt(key, raw), fmt, account12)

    def pin_to_block(self, key: bytes, clear_pin: str, fmt: str, account12: str) -> str:
        if fmt not in pin.TDES_FORMATS:
            raise HsmError("23", f"invalid PIN block format {fmt}")
        return des_encrypt(key, pin.encode(clear_pin, fmt, account12)).hex().upper()

    def translate_pin(self, src: bytes, dst: bytes, block: str, src_fmt: str, dst_fmt: str,
                      account12: str, max_len: int = 12) -> tuple[int, str]:
        p = self._pin_from_block(src, block, src_fmt, account12)
        if len(p) > max_len:
            raise HsmError("24", "PIN longer than the maximum")
        return len(p), self.pin_to_block(dst, p, dst_fmt, account12)

    @staticmethod
    def pvv_matches(pvk: bytes, clear_pin: str, account12: str, pvki: str, pvv: str) -> bool:
        if len(pvk) != 16:
            raise HsmError("27", "PVK not double length")
        if not (digits(pvki) and len(pvki) == 1 and digits(pvv) and len(pvv) == 4):
            raise HsmError("15", "PVKI/PVV")
        return hmac.compare_digest(pin.visa_pvv(pvk, pvki, clear_pin, account12), pvv)

    # ----------------------------------------------------------------------------------- typed API
    def _guard(self, code: str, fn) -> str:
        start = time.perf_counter()
        try:
            err = fn()
        except HsmError as exc:
            err = exc.code
        except (ValueError, TypeError, KeyError, IndexError):  # malformed argument: payShield 15, not a crash
            err = "15"
        self._audit(code, err, start, "in-process")
        return err

    def _pin_key(self, tpk: str | None, zpk: str | None) -> bytes:
        if (tpk is None) == (zpk is None):
            raise HsmError("15", "give exactly one of tpk and zpk")
        return self.key(tpk, "TPK") if tpk is not None else self.key(zpk, "ZPK")

    def verify_pin_pvv(self, *, tpk: str | None = None, pvk: str, pin_block: str, pin_block_format: str = "01",
                       pan: str, pvki: str, pvv: str, zpk: str | None = None) -> str:
        """DC (TPK) or EC (ZPK): Visa PVV verification -> '00' ok, '01' wrong PIN, other = error."""
        def run() -> str:
            key = self._pin_key(tpk, zpk)
            pvk_clear = self.key(pvk, "PVK", "11")
            acct = pin.account_number(pan)
            p = self._pin_from_block(key, pin_block, pin_block_format, acct)
            return "00" if self.pvv_matches(pvk_clear, p, acct, pvki, pvv) else "01"
        return self._guard("DC" if zpk is None else "EC", run)

    def verify_pin_ibm(self, *, tpk: str | None = None, pvk: str, pin_block: str, pin_block_format: str = "01",
                       pan: str, offset: str, dec_table: str, pin_validation_data: str, check_length: int = 4,
                       zpk: str | None = None) -> str:
        """DA (TPK) or EA (ZPK): IBM 3624 offset verification."""
        def run() -> str:
            key = self._pin_key(tpk, zpk)
            pvk_clear = self.key(pvk, "PVK", "11")
            acct = pin.account_number(pan)
            p = self._pin_from_block(key, pin_block, pin_block_format, acct)
            pvd = pin.expand_pvd(pin_validation_data, acct)
            return "00" if pin.ibm_verify(pvk_clear, p, dec_table, pvd, offset, check_length) else "01"
        return self._guard("DA" if zpk is None else "EA", run)

    def _dukpt_pin(self, bdk: str, ksn: str, pin_block: str, pan: str, aes: bool = False) -> str:
        """PIN from a DUKPT terminal's block.

        TDES (X9.24-1): ISO format 0 under the PIN variant of the transaction key. AES (X9.24-3, AES-128 BDK,
        12-byte KSN): a 16-hex block is ISO format 0 under the 2TDEA PIN working key (what terminals with
        8-byte field 52 send); a 32-hex block is ISO format 4 under the AES-128 PIN working key.
        """
        bdk_clear = self.lmk.decrypt_key(bdk, "BDK")
        if aes:
            if len(bdk_clear) != 16:
                raise HsmError("27", "AES DUKPT needs an AES-128 BDK")
            if len(pin_block) == 16:
                key = dukpt.aes_working_key(bdk_clear, ksn, "pin", "2TDEA")
                return self._pin_from_block(key, pin_block, "01", pin.account_number(pan))
            key = dukpt.aes_working_key(bdk_clear, ksn, "pin", "AES128")
            try:
                block = bytes.fromhex(pin_block)
            except ValueError:
                raise HsmError("15", "PIN block is not hex") from None
            if len(block) != 16:
                raise HsmError("15", "format 4 PIN block must be 32 hex characters")
            return pin.decode_iso4(key, block, pan)
        check_parity(bdk_clear, "10")
        return self._pin_from_block(dukpt.tdes_pin_key(bdk_clear, ksn), pin_block, "01", pin.account_number(pan))

    def verify_dukpt_pin_pvv(self, *, bdk: str, ksn: str, pin_block: str, pan: str, pvk: str, pvki: str,
                             pvv: str, aes: bool = False) -> str:
        """PIN from a DUKPT terminal checked against the PVV (CM for TDES; AES DUKPT in-process only)."""
        def run() -> str:
            p = self._dukpt_pin(bdk, ksn, pin_block, pan, aes)
            pvk_clear = self.key(pvk, "PVK", "11")
            return "00" if self.pvv_matches(pvk_clear, p, pin.account_number(pan), pvki, pvv) else "01"
        return self._guard("CM", run)

    def verify_dukpt_pin_ibm(self, *, bdk: str, ksn: str, pin_block: str, pan: str, pvk: str, offset: str,
                             dec_table: str, pin_validation_data: str, check_length: int = 4,
                             aes: bool = False) -> str:
        """PIN from a DUKPT terminal checked with the IBM 3624 offset (GO for TDES; AES in-process only)."""
        def run() -> str:
            p = self._dukpt_pin(bdk, ksn, pin_block, pan, aes)
            acct = pin.account_number(pan)
            pvd = pin.expand_pvd(pin_validation_data, acct)
            ok = pin.ibm_verify(self.key(pvk, "PVK", "11"), p, dec_table, pvd, offset, check_length)
            return "00" if ok else "01"
        return self._guard("GO", run)

    def translate_pin_tpk_to_zpk(self, *, tpk: str, zpk: str, pin_block: str, pan: str,
                                 src_format: str = "01", dst_format: str = "01",
                                 max_pin_length: int = 12) -> tuple[str, str | None]:
        """CA: (error code, PIN block under the ZPK or None)."""
        return self._translate("CA", "TPK", tpk, zpk, pin_block, pan, src_format, dst_format, max_pin_length)

    def translate_pin_zpk_to_zpk(self, *, src_zpk: str, dst_zpk: str, pin_block: str, pan: str,
                                 src_format: str = "01", dst_format: str = "01",
                                 max_pin_length: int = 12) -> tuple[str, str | None]:
        """CC: (error code, PIN block under the destination ZPK or None)."""
        return self._translate("CC", "ZPK", src_zpk, dst_zpk, pin_block, pan, src_format, dst_format,
                               max_pin_length)

    def _translate(self, code, src_type, src, dst, block, pan, sf, df, max_len) -> tuple[str, str | None]:
        result: list[str] = []

        def run() -> str:
            s = self.key(src, src_type, "10")
            d = self.key(dst, "ZPK", "11")
            result.append(self.translate_pin(s, d, block, sf, df, pin.account_number(pan), max_len)[1])
            return "00"
        err = self._guard(code, run)
        return err, (result[0] if result else None)

    def translate_dukpt_pin(self, *, bdk: str, zpk: str, ksn: str, pin_block: str, pan: str,
                            dst_format: str = "01", aes: bool = False) -> tuple[str, str | None]:
        """G0 (TDES DUKPT) or AES DUKPT -> (error code, PIN block under the ZPK)."""
        result: list[str] = []

        def run() -> str:
            p = self._dukpt_pin(bdk, ksn, pin_block, pan, aes)
            result.append(self.pin_to_block(self.key(zpk, "ZPK", "11"), p, dst_format, pin.account_number(pan)))
            return "00"
        err = self._guard("G0", run)
        return err, (result[0] if result else None)

    def derive_pvv(self, *, pvk: str, pin: str, pan: str, pvki: str = "1") -> str:
        """PVV of a clear PIN (card issuing in the test lab; the PIN is not stored or logged)."""
        from hsm_emulator import pin as pinmod

        pvk_clear = self.key(pvk, "PVK")
        return pinmod.visa_pvv(pvk_clear, pvki, pin, pinmod.account_number(pan))

    def ibm_offset(self, *, pvk: str, pin: str, pan: str, dec_table: str, pin_validation_data: str,
                   check_length: int = 4) -> str:
        from hsm_emulator import pin as pinmod

        acct = pinmod.account_number(pan)
        return pinmod.ibm_offset(self.key(pvk, "PVK"), pin, dec_table, pinmod.expand_pvd(pin_validation_data, acct),
                                 check_length).ljust(12, "F")

    def generate_cvv(self, *, cvk: str, pan: str, expiry_yymm: str, service_code: str) -> str:
        return cvv_value(self.key(cvk, "CVK"), pan, expiry_yymm, service_code)

    def verify_cvv(self, *, cvk: str, pan: str, expiry_yymm: str, service_code: str, cvv: str) -> str:
        """CY: '00' when the CVV/CVV2/iCVV (service code 000/999 by convention) matches, '01' when not."""
        def run() -> str:
            want = cvv_value(self.key(cvk, "CVK"), pan, expiry_yymm, service_code)
            return "00" if hmac.compare_digest(want, cvv) else "01"
        return self._guard("CY", run)

    def verify_arqc(self, *, scheme: str, mk_ac: str, pan: str, psn: str, atc: str, unpredictable_number: str,
                    transaction_data: str, arqc: str, arc: str | None) -> tuple[str, str | None]:
        """KQ mode 1 (mode 0 when `arc` is None): (error code, ARPC hex or None)."""
        result: list[str] = []

        def run() -> str:
            imk = self.key(mk_ac, "MK-AC")
            try:
                args = [bytes.fromhex(x) for x in (atc, unpredictable_number, transaction_data, arqc)]
                arc_b = bytes.fromhex(arc) if arc is not None else None
            except ValueError:
                raise HsmError("15", "hex field expected") from None
            ok, arpc = emv.verify_arqc(scheme, imk, pan, psn, args[0], args[1], args[2], args[3], arc_b,
                                       icc_keys=self.icc_keys)
            if arpc is not None:
                result.append(arpc.hex().upper())
            return "00" if ok else "01"
        err = self._guard("KQ", run)
        return err, (result[0] if result else None)

    def generate_mac(self, *, tak: str, data: bytes, key_type: str = "TAK") -> str:
        """M6 algorithm 3 padding 1 (ISO 9797-1): 16 hex characters."""
        return iso9797_mac(self.key(tak, key_type), data, 3, 1).hex().upper()

    def verify_mac(self, *, tak: str, data: bytes, mac: str, key_type: str = "TAK") -> str:
        """M8: '00' when `mac` (8 or 16 hex characters, a prefix of the full MAC) matches, else '01'."""
        def run() -> str:
            full = iso9797_mac(self.key(tak, key_type), data, 3, 1).hex().upper()
            return "00" if len(mac) in (8, 16) and hmac.compare_digest(full[: len(mac)], mac.upper()) else "01"
        return self._guard("M8", run)

    def generate_cmac(self, *, key: str, data: bytes, key_type: str = "TAK", length: int = 16) -> str:
        """AES-CMAC (RFC 4493) under a 16-byte key stored under the LMK (held as a double-length key: the
        variant LMK has no AES keys, so the emulator keeps AES-128 keys in scheme U); hex of `length` bytes."""
        return cmac(self.lmk.decrypt_key(key, key_type), data, length).hex().upper()

    def verify_cmac(self, *, key: str, data: bytes, mac: str, key_type: str = "TAK") -> str:
        def run() -> str:
            n = len(mac) // 2
            if not 4 <= n <= 16:
                raise HsmError("15", "MAC length")
            want = cmac(self.lmk.decrypt_key(key, key_type), data, n).hex().upper()
            return "00" if hmac.compare_digest(want, mac.upper()) else "01"
        return self._guard("M8", run)
