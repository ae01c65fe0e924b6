"""Fuzz targets for tools/fuzz/run.py: each takes raw bytes from the fuzzer and raises only when the code
under test broke its contract (an undocumented exception, a malformed answer, card data in the clear).

Each target returns `(seeds, make)`: `seeds()` gives valid inputs to start the corpus from, `make()` the
one-input function. Imports of the code under test happen only inside them, after run.py has started
atheris' import instrumentation, so coverage is seen.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

Target = Callable[[bytes], None]


def _messages() -> list[dict]:
    from tests.fuzz.samples import MESSAGES

    return list(MESSAGES)


class _Raise(logging.Handler):
    """Turns an error logged by the HSM's catch-all ("internal error") into a crash the fuzzer keeps."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            raise AssertionError(f"internal error logged: {record.getMessage()}")


def framereader() -> tuple[Callable[[], list[bytes]], Callable[[], Target]]:
    def seeds() -> list[bytes]:
        return [bytes([i, 1]) + b"\x00\x05HELLO" for i in range(10)] + [b"\x03\x000005HELLO0010"]

    def make() -> Target:
        from switch.wire import PREFIXES, FrameError, FrameReader, Framing

        def one(data: bytes) -> None:
            if len(data) < 2:
                return
            framing = Framing(PREFIXES[data[0] % len(PREFIXES)], tpdu=bool(data[1] & 1),
                              max_frame=(16, 99, 512, 8192)[(data[1] >> 1) % 4])
            reader = FrameReader(framing)
            body, step = data[2:], 1 + data[1] % 17
            try:
                for i in range(0, len(body), step):
                    reader.feed(body[i:i + step])
                    assert reader.pending <= framing.prefix_len + framing.max_frame
            except FrameError:
                pass

        return one

    return seeds, make


def decoder(dialect: str | None = None) -> tuple[Callable[[], list[bytes]], Callable[[], Target]]:
    names = [dialect] if dialect else ["ascii87", "binary87", "bcd87", "ebcdic87"]

    def make() -> Target:
        from switch.wire import MessageError, load_dialect

        dialects = [load_dialect(n) for n in names]

        def one(data: bytes) -> None:
            if not data:
                return
            d = dialects[data[0] % len(dialects)]
            try:
                msg = d.decode(data[1:])
            except MessageError:
                return
            assert all(isinstance(v, str) for v in msg.values())

        return one

    def seeds() -> list[bytes]:
        from switch.wire import load_dialect

        return [bytes([i]) + load_dialect(n).encode(m) for i, n in enumerate(names) for m in _messages()]

    return seeds, make


def tlv() -> tuple[Callable[[], list[bytes]], Callable[[], Target]]:
    def make() -> Target:
        from switch.wire import TlvError, decode_icc

        def one(data: bytes) -> None:
            try:
                decode_icc(data)
            except TlvError:
                pass

        return one

    return lambda: [bytes.fromhex(m["55"]) for m in _messages() if "55" in m], make


def hsm() -> tuple[Callable[[], list[bytes]], Callable[[], Target]]:
    def make() -> Target:
        from hsm_emulator import Hsm
        from hsm_emulator.commands import response_code

        box = Hsm()
        logging.getLogger("hsm_emulator.audit").addHandler(_Raise())

        def one(data: bytes) -> None:
            out = box.execute(data)
            code = data[:2].decode("latin-1")
            expected = response_code(code) if len(code) == 2 and code.isalnum() else "ZZ"
            assert out[:2] == expected.encode("latin-1") and out[2:4].isalnum() and len(out) >= 4

        return one

    def seeds() -> list[bytes]:
        return [b"NC", b"BU0200406FBB23A5214DF", b"A00002U", b"HCU8463435FC4B4DAA0C49025272C29B12C;XU0",
                b"CYU8463435FC4B4DAA0C49025272C29B12C1234761739001010010;2512201",
                b"DCU8463435FC4B4DAA0C49025272C29B12CU8463435FC4B4DAA0C49025272C29B12C0412AC89ABCDEF67014567890123451"
                b"1234"]

    return seeds, make


def rules() -> tuple[Callable[[], list[bytes]], Callable[[], Target]]:
    def make() -> Target:
        from switch.hostsim import ConfigError, RuleSet
        from tests.fuzz.samples import ECHO, PURCHASE

        def one(data: bytes) -> None:
            try:
                rs = RuleSet.from_text(data.decode("utf-8", "replace"))
            except ConfigError:
                return
            for req in (PURCHASE, ECHO, {"t": "0200"}):
                rs.match(dict(req))

        return one

    def seeds() -> list[bytes]:
        from switch.paths import fixtures_dir

        return [p.read_bytes() for p in sorted((fixtures_dir() / "hostsim").glob("*.yaml"))]

    return seeds, make


def scenario() -> tuple[Callable[[], list[bytes]], Callable[[], Target]]:
    def src() -> Path:
        from switch.paths import fixtures_dir

        return fixtures_dir() / "scenarios"

    def make() -> Target:
        from terminal_agent.scenario import ConfigError, load_scenario

        # A private copy of the shipped scenarios, so relative includes of the mutated file resolve.
        tree = Path(tempfile.mkdtemp(prefix="acqsim-fuzz-")) / "scenarios"
        shutil.copytree(src(), tree)
        target = tree / "days" / "fuzz.yaml"

        def one(data: bytes) -> None:
            target.write_bytes(data)
            try:
                load_scenario(target)
            except ConfigError:
                pass

        return one

    return lambda: [p.read_bytes() for p in sorted(src().rglob("*.yaml"))], make


def pci() -> tuple[Callable[[], list[bytes]], Callable[[], Target]]:
    def make() -> Target:
        import re

        from switch.security.detect import scan_text

        run = re.compile(r"\d{7,}")

        def one(data: bytes) -> None:
            for hit in scan_text(data.decode("latin-1")):
                assert not run.search(hit.detail), "a finding printed a digit run in the clear"

        return one

    return lambda: [b"pan=4761739001010010 ;4761739001010010=2512201? %B4761739001010010^A/B^2512201",
            b'{"52": "0123456789ABCDEF", "cvv": "123", "tpk": "0123456789ABCDEF0123456789ABCDEF"}'], make


TARGETS: dict[str, Callable[..., tuple[Callable[[], list[bytes]], Callable[[], Target]]]] = {
    "framereader": framereader, "decoder": decoder, "tlv": tlv, "hsm": hsm, "rules": rules,
    "scenario": scenario, "pci": pci,
}
