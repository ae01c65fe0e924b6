"""HsmClient: the typed HSM API over TCP host commands (blocking sockets, thread-safe, reconnecting).

Same methods and return values as `Hsm`; a transport failure raises HsmConnectionError (code 'ZZ').
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading

from hsm_emulator import pin as pinmod
from hsm_emulator.errors import HsmConnectionError, HsmError
from hsm_emulator.lmk import key_type_code


def _pan_psn(pan: str, psn: str) -> bytes:
    """KQ's pre-formatted PAN/PSN: the rightmost 16 digits of PAN || PSN, zero-filled on the left."""
    return bytes.fromhex((pan + (psn or "00")).rjust(16, "0")[-16:])


class HsmClient:
    """Blocking payShield host-command client. One TCP connection, one request at a time (a lock); a broken
    connection is reopened and the command retried once."""

    def __init__(self, host: str, port: int, header_length: int = 4, timeout: float = 2.0,
                 ssl_context: ssl.SSLContext | None = None, server_hostname: str | None = None) -> None:
        """`ssl_context` (e.g. switch.security.tls.ssl_client_context) puts the connection under TLS;
        the server name checked is `server_hostname`, else `host`."""
        self.host, self.port = host, port
        self.header_length = header_length
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname or host
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._seq = 0

    # ----------------------------------------------------------------------------------- transport
    def close(self) -> None:
        with self._lock:
            self._drop()

    def __enter__(self) -> HsmClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _drop(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def _connect(self) -> socket.socket:
        if self._sock is None:
            s = socket.create_connection((self.host, self.port), timeout=self.timeout)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.ssl_context is not None:
                try:
                    s = self.ssl_context.wrap_socket(s, server_hostname=self.server_hostname)
                except OSError:
                    s.close()
                    raise
            s.settimeout(self.timeout)
            self._sock = s
        return self._sock

    def _recv_exact(self, s: socket.socket, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("HSM closed the connection")
            buf += chunk
        return bytes(buf)

    def execute(self, command: bytes) -> bytes:
        """Send one host command (no header) and return the response after the header."""
        with self._lock:
            last: Exception | None = None
            for _attempt in range(2):
                self._seq = (self._seq + 1) % (10 ** self.header_length) if self.header_length else 0
                header = str(self._seq).zfill(self.header_length).encode() if self.header_length else b""
                frame = header + command
                try:
                    s = self._connect()
                    s.sendall(struct.pack(">H", len(frame)) + frame)
                    n = struct.unpack(">H", self._recv_exact(s, 2))[0]
                    data = self._recv_exact(s, n)
                except (OSError, ConnectionError) as exc:
                    # A timed-out or broken connection may still deliver a stale answer: never reuse it.
                    self._drop()
                    last = exc
                    if isinstance(exc, TimeoutError):
                        break
                    continue
                if data[: self.header_length] != header:
                    self._drop()
                    raise HsmConnectionError("response header does not match the request")
                return data[self.header_length :]
            raise HsmConnectionError(f"HSM {self.host}:{self.port} unavailable: {last}")

    def _call(self, command: str | bytes) -> tuple[str, bytes]:
        raw = command.encode("latin-1") if isinstance(command, str) else command
        resp = self.execute(raw)
        if len(resp) < 4:
            raise HsmConnectionError("short response")
        return resp[2:4].decode(), resp[4:]

    # ----------------------------------------------------------------------------------- typed API
    def import_clear_key(self, clear_hex: str, key_type: str, scheme: str = "U") -> tuple[str, str]:
        code = key_type_code(key_type)
        err, body = self._call(f"ZI{code}{scheme or 'Z'}{len(clear_hex):02d}{clear_hex.upper()}")
        if err != "00":
            raise HsmError(err, "import_clear_key")
        text = body.decode()
        return text[:-6], text[-6:]

    def generate_key(self, key_type: str, scheme: str = "U") -> tuple[str, str]:
        err, body = self._call(f"A00{key_type_code(key_type)}{scheme}")
        if err != "00":
            raise HsmError(err, "generate_key")
        text = body.decode()
        return text[:-6], text[-6:]

    def key_check_value(self, key: str, key_type: str, length: int = 6) -> str:
        flag = {16: "0", 33: "1", 32: "1", 49: "2", 48: "2"}.get(len(key), "1")
        err, body = self._call(f"BUFF{flag}{key};{key_type_code(key_type)};001")
        if err != "00":
            raise HsmError(err, "key_check_value")
        return body.decode()[:length]

    def verify_pin_pvv(self, *, tpk: str | None = None, pvk: str, pin_block: str, pin_block_format: str = "01",
                       pan: str, pvki: str, pvv: str, zpk: str | None = None) -> str:
        if (tpk is None) == (zpk is None):
            return "15"
        code = "DC" if zpk is None else "EC"
        acct = pinmod.account_number(pan)
        return self._call(f"{code}{tpk or zpk}{pvk}{pin_block}{pin_block_format}{acct}{pvki}{pvv}")[0]

    def verify_pin_ibm(self, *, tpk: str | None = None, pvk: str, pin_block: str, pin_block_format: str = "01",
                       pan: str, offset: str, dec_table: str, pin_validation_data: str, check_length: int = 4,
                       zpk: str | None = None) -> str:
        if (tpk is None) == (zpk is None):
            return "15"
        code = "DA" if zpk is None else "EA"
        acct = pinmod.account_number(pan)
        pvd = pin_validation_data.ljust(12, "F")[:12]
        return self._call(f"{code}{tpk or zpk}{pvk}12{pin_block}{pin_block_format}{check_length:02d}{acct}"
                          f"{dec_table}{pvd}{offset.ljust(12, 'F')}")[0]

    def verify_dukpt_pin_pvv(self, *, bdk: str, ksn: str, pin_block: str, pan: str, pvk: str, pvki: str,
                             pvv: str, aes: bool = False) -> str:
        if aes:
            return self._call(f"ZA0{bdk}{ksn}{len(pin_block):02d}{pin_block}{len(pan):02d}{pan}{pvk}{pvki}{pvv}")[0]
        acct = pinmod.account_number(pan)
        return self._call(f"CM{bdk}{pvk}A05{ksn.rjust(20, 'F')}{pin_block}{acct}{pvki}{pvv}")[0]

    def verify_dukpt_pin_ibm(self, *, bdk: str, ksn: str, pin_block: str, pan: str, pvk: str, offset: str,
                             dec_table: str, pin_validation_data: str, check_length: int = 4,
                             aes: bool = False) -> str:
        if aes:
            return "68"  # no host command for AES DUKPT with the IBM method (in-process Hsm only)
        acct = pinmod.account_number(pan)
        pvd = pin_validation_data.ljust(12, "F")[:12]
        return self._call(f"GO{bdk}{pvk}A05{ksn.rjust(20, 'F')}{pin_block}{check_length:02d}{acct}{dec_table}"
                          f"{pvd}{offset.ljust(12, 'F')}")[0]

    def _translate(self, code: str, src: str, dst: str, pin_block: str, pan: str, src_format: str,
                   dst_format: str, max_pin_length: int) -> tuple[str, str | None]:
        acct = pinmod.account_number(pan)
        err, body = self._call(f"{code}{src}{dst}{max_pin_length:02d}{pin_block}{src_format}{dst_format}{acct}")
        return err, (body[2:18].decode() if err == "00" else None)

    def translate_pin_tpk_to_zpk(self, *, tpk: str, zpk: str, pin_block: str, pan: str, src_format: str = "01",
                                 dst_format: str = "01", max_pin_length: int = 12) -> tuple[str, str | None]:
        return self._translate("CA", tpk, zpk, pin_block, pan, src_format, dst_format, max_pin_length)

    def translate_pin_zpk_to_zpk(self, *, src_zpk: str, dst_zpk: str, pin_block: str, pan: str,
                                 src_format: str = "01", dst_format: str = "01",
                                 max_pin_length: int = 12) -> tuple[str, str | None]:
        return self._translate("CC", src_zpk, dst_zpk, pin_block, pan, src_format, dst_format, max_pin_length)

    def translate_dukpt_pin(self, *, bdk: str, zpk: str, ksn: str, pin_block: str, pan: str,
                            dst_format: str = "01", aes: bool = False) -> tuple[str, str | None]:
        if aes:
            err, body = self._call(f"ZA1{bdk}{ksn}{len(pin_block):02d}{pin_block}{len(pan):02d}{pan}{zpk}{dst_format}")
        else:
            acct = pinmod.account_number(pan)
            err, body = self._call(f"G0{bdk}{zpk}A05{ksn.rjust(20, 'F')}{pin_block}{dst_format}{acct}")
        return err, (body[2:18].decode() if err == "00" else None)

    def derive_pvv(self, *, pvk: str, pin: str, pan: str, pvki: str = "1") -> str:
        acct = pinmod.account_number(pan)
        err, body = self._call(f"BA{pin.ljust(12, 'F')}{acct}")
        if err != "00":
            raise HsmError(err, "BA")
        err, body = self._call(f"DG{pvk}{body.decode()}{acct}{pvki}")
        if err != "00":
            raise HsmError(err, "DG")
        return body.decode()

    def ibm_offset(self, *, pvk: str, pin: str, pan: str, dec_table: str, pin_validation_data: str,
                   check_length: int = 4) -> str:
        acct = pinmod.account_number(pan)
        err, body = self._call(f"BA{pin.ljust(12, 'F')}{acct}")
        if err != "00":
            raise HsmError(err, "BA")
        err, off = self._call(f"DE{pvk}{body.decode()}{check_length:02d}{acct}{dec_table}"
                              f"{pin_validation_data.ljust(12, 'F')[:12]}")
        if err != "00":
            raise HsmError(err, "DE")
        return off.decode()

    def generate_cvv(self, *, cvk: str, pan: str, expiry_yymm: str, service_code: str) -> str:
        err, body = self._call(f"CW{cvk}{pan};{expiry_yymm}{service_code}")
        if err != "00":
            raise HsmError(err, "CW")
        return body.decode()

    def verify_cvv(self, *, cvk: str, pan: str, expiry_yymm: str, service_code: str, cvv: str) -> str:
        return self._call(f"CY{cvk}{cvv}{pan};{expiry_yymm}{service_code}")[0]

    def verify_arqc(self, *, scheme: str, mk_ac: str, pan: str, psn: str, atc: str, unpredictable_number: str,
                    transaction_data: str, arqc: str, arc: str | None) -> tuple[str, str | None]:
        scheme_id = {"visa": "0", "mastercard": "1"}.get(scheme)
        if scheme_id is None:
            return "15", None
        try:
            data = bytes.fromhex(transaction_data)
            if scheme == "mastercard":
                data += b"\x80"  # KQ only zero-fills: the host adds the M/Chip padding byte
            fields = (_pan_psn(pan, psn) + bytes.fromhex(atc) + bytes.fromhex(unpredictable_number)
                      + f"{len(data):02X}".encode() + data + b";" + bytes.fromhex(arqc)
                      + (bytes.fromhex(arc) if arc is not None else b""))
        except ValueError:
            return "15", None
        mode = "0" if arc is None else "1"
        err, body = self._call(f"KQ{mode}{scheme_id}{mk_ac}".encode() + fields)
        return err, (body[:8].hex().upper() if err == "00" and arc is not None and len(body) >= 8 else None)

    def _mac_cmd(self, code: str, tak: str, data: bytes, key_type: str) -> bytes:
        return f"{code}00131{key_type_code(key_type)}{tak}{len(data):04X}".encode() + data

    def generate_mac(self, *, tak: str, data: bytes, key_type: str = "TAK") -> str:
        err, body = self._call(self._mac_cmd("M6", tak, data, key_type))
        if err != "00":
            raise HsmError(err, "M6")
        return body.decode()

    def verify_mac(self, *, tak: str, data: bytes, mac: str, key_type: str = "TAK") -> str:
        if len(mac) == 8:
            cmd = f"M800031{key_type_code(key_type)}{tak}{len(data):04X}".encode() + data + mac.upper().encode()
        else:
            cmd = self._mac_cmd("M8", tak, data, key_type) + mac.upper().encode()
        return self._call(cmd)[0]
