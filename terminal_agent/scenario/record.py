"""Record and replay: the switch writes its traffic masked as JSONL; `acqsim scenario record` turns that
into a scenario file.

A recording line: {"ts": "2026-11-26T21:00:00.123Z", "dir": "in" | "out", "peer": "127.0.0.1:50514",
"msg": {...}}. Masked on write (PCI DSS, DESIGN "Card data"): field 2 as 6+4, tracks 35/36/45 reduced to the
masked PAN, PIN block 52 and MACs 64/128 as asterisks, ICC data 55 as its tag list without values.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import yaml

from switch.wire import decode_icc, mask_field, match_key
from terminal_agent.scenario import fixtures as fx

ENTRY = {"05": "chip", "07": "contactless", "90": "magstripe", "02": "magstripe", "01": "manual", "80": "fallback"}
KIND_BY_PROCESSING = {"00": "purchase", "01": "cash", "20": "refund", "31": "balance", "40": "transfer"}


def mask_message(msg: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in msg.items():
        if k in ("p", "1"):
            continue
        if k == "55":
            try:
                out[k] = "tags:" + ",".join(decode_icc(v))  # which tags were sent, never their values
            except Exception:
                out[k] = f"<{len(v) // 2} bytes>"
        elif k in ("64", "128"):
            out[k] = "*" * len(v)
        elif k == "103" and v.isdigit() and len(v) > 10:
            out[k] = mask_field("2", v)
        else:
            out[k] = mask_field(k, v)
    return out


class Recorder:
    """Appends masked messages to a JSONL file; thread-safe; one line per message, flushed at once."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] | None = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - lives with the recorder
        self._lock = threading.Lock()

    def record(self, direction: str, msg: dict[str, str], peer: Any = "") -> None:
        """direction: "in" (terminal -> switch) or "out" (switch -> terminal); peer: "host:port" or IAddress."""
        if direction not in ("in", "out"):
            raise ValueError("direction must be 'in' or 'out'")
        if not isinstance(peer, str):
            peer = f"{getattr(peer, 'host', '?')}:{getattr(peer, 'port', '?')}"
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        line = json.dumps({"ts": now, "dir": direction, "peer": peer, "msg": mask_message(msg)}, sort_keys=False)
        with self._lock:
            if self._fh is None:
                return
            self._fh.write(line + "\n")
            self._fh.flush()

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


def read_recording(path: str | Path) -> list[dict[str, Any]]:
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: not a JSON line: {exc.msg}") from None
        if not isinstance(rec, dict) or rec.get("dir") not in ("in", "out") or not isinstance(rec.get("msg"), dict):
            raise ValueError(f"{path}:{n}: expected {{dir: in|out, msg: {{...}}}}")
        out.append(rec)
    return out


def _card_ref(masked_pan: str, cards: dict[str, dict], labels: dict[str, str]) -> str:
    """A card name for a masked PAN: the fixture card with the same 6+4 when there is one."""
    if masked_pan in labels:
        return labels[masked_pan]
    name = f"card{len(labels) + 1}"
    match = None
    try:
        for label in fx.card_labels():
            c = fx.card(label, label)
            if c and mask_field("2", c.pan) == masked_pan:
                match = label
                break
    except Exception:  # no fixtures available: leave a placeholder the tester fills in
        match = None
    cards[name] = {"fixture": match} if match else {"pan": f"REPLACE-{masked_pan}"}
    labels[masked_pan] = name
    return name


def recording_to_scenario(records: list[dict[str, Any]], name: str = "recorded",
                          terminal: str | None = None) -> dict[str, Any]:
    """A scenario document (dict, ready for yaml.safe_dump) replaying the requests with the recorded codes."""
    answers: dict[tuple[str, tuple], dict] = {}
    for rec in records:
        if rec["dir"] == "out":
            answers.setdefault((rec.get("peer", ""), match_key(rec["msg"])), rec["msg"])
    cards: dict[str, dict] = {}
    labels: dict[str, str] = {}
    steps: list[dict[str, Any]] = []
    by_stan: dict[str, dict[str, Any]] = {}
    term: dict[str, str] | None = None
    for rec in records:
        msg = rec["msg"]
        if rec["dir"] != "in" or (terminal and msg.get("41", "").strip() != terminal):
            continue
        if term is None and msg.get("41"):
            tid = msg["41"].strip()
            term = {"fixture": tid} if _fixture_terminal(tid) else {"tid": tid, "mid": msg.get("42", "").strip()}
        step = _step_for(msg, cards, labels, by_stan)
        answer = answers.get((rec.get("peer", ""), _answer_key(msg)))
        if answer is None:
            step["outcome"] = "no_answer"
        else:
            exp: dict[str, Any] = {"39": answer.get("39", "")}
            for f in ("37", "38"):
                if f in answer:
                    exp[f] = {"present": True}
            step["expect"] = exp
        if msg.get("11"):
            by_stan[msg["11"]] = step
        steps.append(step)
    doc: dict[str, Any] = {"name": name, "description": "Recorded traffic replayed; card data came masked."}
    doc["terminal"] = term or {"tid": "TERM0001"}
    if cards:
        doc["cards"] = cards
    doc["steps"] = steps or [{"echo": None}]
    return doc


def _answer_key(msg: dict) -> tuple:
    return match_key(msg)


def _fixture_terminal(tid: str) -> bool:
    try:
        return fx.terminal(tid) is not None
    except Exception:
        return False


def _step_for(msg: dict[str, str], cards: dict, labels: dict, by_stan: dict) -> dict[str, Any]:
    mti, proc = msg.get("t", ""), msg.get("3", "")
    amount = int(msg["4"]) if msg.get("4", "").isdigit() else None
    if mti == "0800":
        kind = {"301": "echo", "001": "sign_on"}.get(msg.get("70", ""))
        if kind:
            return {kind: None}
    if mti in ("0200", "0100") and proc[:2] in KIND_BY_PROCESSING and msg.get("2", msg.get("35")):
        kind = "preauth" if mti == "0100" else KIND_BY_PROCESSING[proc[:2]]
        pan = msg.get("2") or msg["35"].split("=", 1)[0]
        params: dict[str, Any] = {"card": _card_ref(pan, cards, labels)}
        if kind != "balance" or amount:
            params["amount_minor"] = str(amount or 0)
        entry = ENTRY.get(msg.get("22", "")[:2])
        if entry:
            params["entry"] = entry
        params["pin"] = "52" in msg
        return {kind: params}
    if mti in ("0220", "0400", "0420") and msg.get("90"):
        orig = by_stan.get(msg["90"][4:10])
        if orig is not None:
            orig.setdefault("id", f"s{msg['90'][4:10]}")
            kind = "completion" if mti == "0220" else "reversal"
            params = {"original": orig["id"]}
            if mti == "0420":
                params["advice"] = True
            if kind == "completion" and amount is not None:
                params["amount_minor"] = str(amount)
            return {kind: params}
    if mti == "0500":
        return {"batch_close": None}
    skip = {"t", "7", "11", "12", "13", "41", "42", "2", "35", "36", "45", "52", "55", "64", "128"}
    return {"raw": {"mti": mti, "fields": {k: v for k, v in msg.items() if k not in skip}}}


def write_scenario(doc: dict[str, Any], out: IO[str]) -> None:
    out.write("# Generated by `acqsim scenario record` from a masked recording. Review the cards and\n"
              "# expectations before adding it to a library.\n")
    yaml.safe_dump(doc, out, sort_keys=False, default_flow_style=False, allow_unicode=True, width=110)
