"""A tiny approving host built from the lead's switch.server, for the terminal tests.

It really checks what a terminal sends: PIN blocks (TPK, TDES DUKPT from field 53, AES DUKPT from field
62), the ARQC of field 55 (pyemv, as the HSM does) and answers tag 91 (ARPC method 1 + ARC). Modes make it
misbehave: "silent" never answers, "kill" drops the connection when a request arrives.
"""

from __future__ import annotations

import warnings

from cryptography.utils import CryptographyDeprecationWarning
from psec import pinblock
from pyemv import ac, kd, tlv
from twisted.internet import defer

from switch.server.app import Switch
from switch.server.listeners import ListenerConfig
from switch.server.router import Router, new_rrn
from terminal_agent import dukpt
from terminal_agent.crypto import tdes_decrypt
from terminal_agent.pinpad import wrap_key_for_terminal


class Approver:
    def __init__(self, cards, profiles, new_tpk: str = "0123456789ABCDEFFEDCBA9876543210") -> None:
        self.cards = {c.pan: c for c in cards}
        self.profiles = {p.tid.strip(): p for p in profiles}
        self.new_tpk = new_tpk
        self.tpk: dict[str, str] = {tid: p.tpk for tid, p in self.profiles.items() if p.tpk}
        self.mode: dict[str, str] = {}         # MTI -> "silent" | "kill"
        self.seen: list[dict] = []
        self.reversed: set[str] = set()
        router = Router(default=self.handle)
        self.switch = Switch(router, key_change=self.key_change)
        self.host, self.port = "127.0.0.1", 0
        self.protocols: list = []

    def listen(self, reactor, dialect: str = "ascii87", framing: str = "len2") -> int:
        self.host, self.port = self.switch.listen(reactor, ListenerConfig(port=0, dialect=dialect, framing=framing))
        factory = self.switch.factories[-1]
        build = factory.buildProtocol

        def tracked(addr):  # keep the server-side protocols so "kill" can drop them
            proto = build(addr)
            self.protocols.append(proto)
            return proto

        factory.buildProtocol = tracked
        return self.port

    def key_change(self, request, ctx):
        tid = request["41"].strip()
        self.tpk[tid] = self.new_tpk
        return {"39": "00", "48": wrap_key_for_terminal(self.profiles[tid].tmk, self.new_tpk)}

    def handle(self, request, ctx):
        self.seen.append(dict(request))
        mode = self.mode.get(request["t"])
        if mode == "silent":
            return defer.Deferred()  # never fires
        if mode == "kill":
            for proto in self.protocols:
                if proto.transport is not None:
                    proto.transport.abortConnection()
            return defer.Deferred()
        if request["t"] in ("0400", "0420"):
            self.reversed.add(request["90"][4:10])
            return {"39": "00"}
        if request["t"] == "0500":
            return {"39": "00"}
        card = self.cards.get(request.get("2", ""))
        if card is None:
            return {"39": "14"}
        answer = {"39": "00", "37": new_rrn(), "38": f"A{len(self.seen) % 100000:05d}"}
        if "52" in request and self.check_pin(request, card) is False:
            answer = {"39": "55"}
        if request.get("3", "").startswith("31"):
            answer["54"] = f"0002{request.get('49', '682')}C{123456:012d}"
        if "55" in request:
            answer["55"] = self.arpc(request, card, answer["39"])
        return answer

    def check_pin(self, request, card) -> bool:
        tid = request["41"].strip()
        prof = self.profiles[tid]
        block = bytes.fromhex(request["52"])
        if "62" in request:
            ksn = bytes.fromhex(request["62"])
            ik = dukpt.aes_initial_key(bytes.fromhex(prof.bdk), ksn[:8])
            key = dukpt.aes_pin_key(ik, ksn, "2TDEA")
        elif "53" in request:
            ksn = bytes.fromhex(request["53"][-20:].rjust(20, "F"))
            key = dukpt.tdes_pin_key(dukpt.tdes_ipek(bytes.fromhex(prof.bdk), ksn), ksn)
        else:
            key = bytes.fromhex(self.tpk[tid])
        try:
            return pinblock.decode_pinblock_iso_0(tdes_decrypt(key, block), card.pan) == card.pin
        except ValueError:
            return False

    def arpc(self, request, card, rc: str) -> str:
        t = tlv.decode(bytes.fromhex(request["55"]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            mk = kd.derive_icc_mk_a(bytes.fromhex(card.mk_ac), card.pan, card.psn)
            data = b"".join(t[x] for x in ("9F02", "9F03", "9F1A", "95", "5F2A", "9A", "9C", "9F37", "82", "9F36"))
            if card.scheme == "visa":
                sk, pad, cvr = mk, ac.PaddingType.VISA, t["9F10"][3:7]
            else:
                sk, pad, cvr = kd.derive_common_sk(mk, t["9F36"] + b"\0\0" + t["9F37"]), ac.PaddingType.EMV, \
                    t["9F10"][2:8]
            if ac.generate_ac(sk, data + cvr, pad) != t["9F26"]:
                raise AssertionError("bad ARQC from the terminal")
            arc = rc.encode()
            return tlv.encode({"91": ac.generate_arpc_1(mk, t["9F26"], arc) + arc}).hex().upper()
