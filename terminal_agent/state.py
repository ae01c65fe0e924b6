"""Terminal state that survives restarts: STAN, batch number and totals, PIN pad counters, the journal of the
open batch and the queue of reversals not yet acknowledged.

One JSON file per terminal under <data dir>/terminals/<tid>.json, written atomically (temp file, fsync,
rename, fsync of the directory), guarded by an flock so two agents for one terminal never share a STAN.
The PAN of a queued reversal is the only card data kept; it is stored AES-GCM encrypted under a key derived
from the terminal's TMK (the device key), so the file holds no card data in the clear.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SENSITIVE_FIELDS = ("2",)            # kept encrypted in queued reversals
NEVER_STORED = ("35", "45", "52", "55", "53", "62")   # tracks, PIN blocks, ICC data, KSNs: dropped


def _empty() -> dict[str, Any]:
    return {"stan": 0, "batch": 1, "journal": [], "reversals": [], "pinpad": {}, "closed_batches": []}


class TerminalState:
    """Load with `TerminalState.open(data_dir, tid, device_key)`; mutate `.data`; call `save()`."""

    def __init__(self, path: Path, device_key: bytes | None, durable: bool = True) -> None:
        self.path = path
        self.durable = durable  # False: atomic rename without fsync (load generators; a crash may lose the
        #                         last writes but never tears the file)
        self.data: dict[str, Any] = _empty()
        self._lock_fd: int | None = None
        self._aead = AESGCM(HKDF(hashes.SHA256(), 32, b"acqsim-terminal", b"state-file").derive(device_key)) \
            if device_key else None
        if path.exists():
            self.data.update(json.loads(path.read_text(encoding="utf-8") or "{}"))

    @classmethod
    def open(cls, data_dir: str | Path, tid: str, device_key: bytes | None = None,
             durable: bool = True) -> TerminalState:
        folder = Path(data_dir) / "terminals"
        folder.mkdir(parents=True, exist_ok=True)
        if device_key is None:
            device_key = _local_device_key(folder)
        return cls(folder / f"{tid}.json", device_key, durable)

    # --- locking: one agent per terminal at a time --------------------------------------------------
    def lock(self) -> None:
        fd = os.open(str(self.path) + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RuntimeError(f"terminal state {self.path.name} is in use by another agent") from None
        self._lock_fd = fd
        self.reload()

    def unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    @contextmanager
    def locked(self) -> Iterator[TerminalState]:
        self.lock()
        try:
            yield self
        finally:
            self.unlock()

    def reload(self) -> None:
        self.data = _empty()
        if self.path.exists():
            self.data.update(json.loads(self.path.read_text(encoding="utf-8") or "{}"))

    def save(self) -> None:
        """Atomic replace: a crash leaves either the old or the new file, never a torn one."""
        fd, tmp = tempfile.mkstemp(prefix=self.path.name, suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.data, f, indent=1, sort_keys=True)
                f.flush()
                if self.durable:
                    os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        if not self.durable:
            return
        dfd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    # --- counters -------------------------------------------------------------------------------------
    def next_stan(self) -> str:
        """Next STAN (000001..999999, wrapping), saved before use so a crash never reuses one."""
        stan = int(self.data.get("stan", 0)) % 999999 + 1
        self.data["stan"] = stan
        self.save()
        return f"{stan:06d}"

    @property
    def batch(self) -> int:
        return int(self.data.get("batch", 1))

    # --- reversal queue -------------------------------------------------------------------------------
    def seal(self, msg: dict[str, str]) -> dict[str, Any]:
        """A message as stored on disk: sensitive fields encrypted, forbidden ones dropped."""
        out: dict[str, Any] = {k: v for k, v in msg.items() if k not in NEVER_STORED and k not in SENSITIVE_FIELDS}
        secret = {k: msg[k] for k in SENSITIVE_FIELDS if k in msg}
        if secret:
            if self._aead is None:
                raise RuntimeError("no device key to protect stored card data")
            nonce = os.urandom(12)
            blob = self._aead.encrypt(nonce, json.dumps(secret).encode(), self.path.name.encode())
            out["_sealed"] = base64.b64encode(nonce + blob).decode()
        return out

    def unseal(self, stored: dict[str, Any]) -> dict[str, str]:
        msg = {k: v for k, v in stored.items() if not k.startswith("_")}
        if "_sealed" in stored and self._aead is not None:
            raw = base64.b64decode(stored["_sealed"])
            msg.update(json.loads(self._aead.decrypt(raw[:12], raw[12:], self.path.name.encode())))
        return msg

    def queue_reversal(self, msg: dict[str, str], original_stan: str) -> None:
        self.data.setdefault("reversals", []).append(
            {"msg": self.seal(msg), "original_stan": original_stan, "attempts": 0})
        self.save()

    def pending_reversals(self) -> list[dict[str, Any]]:
        return list(self.data.get("reversals", []))

    def reversal_done(self, original_stan: str) -> None:
        self.data["reversals"] = [r for r in self.data.get("reversals", []) if r["original_stan"] != original_stan]
        self.save()


def _local_device_key(folder: Path) -> bytes:
    """Fallback device key when the profile has no TMK: random, kept beside the state with mode 0600."""
    key_file = folder / ".device-key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32))
    return key_file.read_bytes()
