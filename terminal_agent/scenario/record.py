"""Record and replay: the switch writes its traffic masked as JSONL; `acqsim scenario record` turns that
into a scenario file.

A recording line: {"ts": "2026-11-26T21:00:00.123Z", "dir": "in" | "out", "peer": "127.0.0.1:50514",
"msg": {...}}. Masked on write (PCI DSS, DESIGN "Card data"): field 2 as 6+4, tracks 35/36/45 reduced to the
masked PAN, PIN block 52 and MACs 64/128 as asterisks, ICC data 55 as its tag list without values.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import yaml

from switch.hostsim.yamlmarks import digits
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
        elif k in ("102", "103") and digits(v) and len(v) > 10:  # account ids: a card in transfers
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
    """A scenario document (dict, ready for yaml.safe_dump) replaying the requests with the recorded codes.

    The first terminal seen is the scenario's; a run of requests from another terminal becomes a one-session
    `parallel` block with that terminal (so its PIN blocks use its own key). A reversal or completion refers
    to its original by id when the original is at top level or in the same block.
    """
    answers: dict[tuple[str, tuple], deque[dict[str, Any]]] = {}
    for rec in records:
        if rec["dir"] == "out":
            answers.setdefault((rec.get("peer", ""), match_key(rec["msg"])), deque()).append(rec)
    first_of: dict[tuple[str, str], dict[str, Any]] = {}  # (tid, STAN) -> the first step that used it
    cards: dict[str, dict] = {}
    labels: dict[str, str] = {}
    steps: list[dict[str, Any]] = []
    main_tid: str | None = None
    block: dict[str, Any] | None = None  # the current other-terminal session
    visible: dict[tuple[str, str], dict[str, Any]] = {}  # (tid, STAN) -> step a later step may refer to
    term: dict[str, str] | None = None
    for rec in records:
        msg = rec["msg"]
        tid = msg.get("41", "").strip()
        if rec["dir"] != "in" or (terminal and tid != terminal):
            continue
        if main_tid is None and tid:
            main_tid = tid
            term = _terminal_ref(tid, msg)
        step = _step_for(msg, cards, labels, lambda stan, tid=tid, seen=visible: seen.get((tid, stan)))
        queue = answers.get((rec.get("peer", ""), _answer_key(msg)))
        answer_rec = queue.popleft() if queue else None  # answers pair with requests in order (same key twice)
        answer = answer_rec["msg"] if answer_rec else None
        _reuse_stan(first_of, tid, msg, step)
        gap = _gap_to_next(records, rec)
        if answer_rec is not None and gap is not None and (_seconds(rec, answer_rec) or 0) > gap:
            answer = None  # it came after the terminal had moved on: for the terminal it never came
        if answer is None:
            step["outcome"] = "no_answer"
            if gap is not None:  # the terminal waited this long before its next request: its timeout
                step["timeout"] = f"{max(gap * 0.9, 0.2):.1f}s"
        else:
            _masked_causes(step, msg, answer.get("39", ""), cards)
            exp: dict[str, Any] = {"39": answer.get("39", "")}
            for f in ("37", "38"):
                if f in answer:
                    exp[f] = {"present": True}
            step["expect"] = exp
        if tid == main_tid or not tid:
            if block is not None:  # leaving a block: its ids are not visible outside it
                visible = {k: v for k, v in visible.items() if k[0] == main_tid}
            block = None
            steps.append(step)
        else:
            if block is None or block["name"] != tid:
                visible = {k: v for k, v in visible.items() if k[0] == main_tid}
                block = {"name": tid, "terminal": _terminal_ref(tid, msg), "steps": []}
                steps.append({"parallel": [block]})
            block["steps"].append(step)
        if msg.get("11"):
            visible[(tid, msg["11"])] = step
    doc: dict[str, Any] = {"name": name, "description": "Recorded traffic replayed; card data came masked."}
    doc["terminal"] = term or {"tid": "TERM0001"}
    if cards:
        doc["cards"] = cards
    doc["steps"] = steps or [{"echo": None}]
    return doc


def _reuse_stan(first_of: dict, tid: str, msg: dict[str, str], step: dict[str, Any]) -> None:
    """A request that reuses an earlier request's STAN (a duplicate, or a 94 test) replays with the STAN and
    times the first one is given at run time, through captures."""
    stan = msg.get("11")
    params = next(iter(step.values()))
    if not stan or not isinstance(params, dict) or "card" not in params:
        return
    first = first_of.get((tid, stan))
    if first is None:
        first_of[(tid, stan)] = step
        return
    names = {f: f"f{f}_{stan}" for f in ("11", "7", "12", "13")}
    first.setdefault("capture", {}).update({v: f"request.{f}" for f, v in names.items()})
    params.setdefault("fields", {}).update({f: "${" + v + "}" for f, v in names.items()})


def _seconds(a: dict[str, Any], b: dict[str, Any]) -> float | None:
    """Seconds from record a to record b by their timestamps (None when one is missing)."""
    try:
        ta, tb = (datetime.fromisoformat(str(r.get("ts", "")).replace("Z", "+00:00")) for r in (a, b))
    except ValueError:
        return None
    return (tb - ta).total_seconds()


def _gap_to_next(records: list[dict[str, Any]], rec: dict[str, Any]) -> float | None:
    """Seconds until the same peer's next request (None when it sent none)."""
    after = False
    for r in records:
        if r is rec:
            after = True
        elif after and r["dir"] == "in" and r.get("peer") == rec.get("peer"):
            return _seconds(rec, r)
    return None


def _masked_causes(step: dict[str, Any], msg: dict[str, str], code: str, cards: dict[str, dict]) -> None:
    """PIN blocks and cryptograms are never recorded, so a decline they caused is replayed by sending a
    wrong PIN (55, 75) or a spoilt ARQC (05 with chip data) - the cause the answer code names."""
    params = next(iter(step.values()))
    if not isinstance(params, dict) or "card" not in params:
        return
    if code in ("55", "75") and params.get("pin") is True:
        ref = cards.get(params["card"], {})
        card = fx.card(ref["fixture"], "x") if ref.get("fixture") else None
        right = card.pin if card and card.pin else "1234"
        params["pin"] = "".join(str((int(d) + 1) % 10) for d in right)
    if code == "05" and "55" in msg:
        params["arqc"] = "bad"


def _terminal_ref(tid: str, msg: dict[str, str]) -> dict[str, str]:
    return {"fixture": tid} if _fixture_terminal(tid) else {"tid": tid, "mid": msg.get("42", "").strip()}


def _answer_key(msg: dict) -> tuple:
    return match_key(msg)


def _fixture_terminal(tid: str) -> bool:
    try:
        return fx.terminal(tid) is not None
    except Exception:
        return False


def _step_for(msg: dict[str, str], cards: dict, labels: dict, original_of: Any) -> dict[str, Any]:
    mti, proc = msg.get("t", ""), msg.get("3", "")
    amount = int(msg["4"]) if digits(msg.get("4", "")) else None
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
        if kind == "transfer" and digits(msg.get("103", "").replace("*", "")):
            params["to_card"] = _card_ref(msg["103"], cards, labels)
        fields = _odd_fields(msg, kind)
        if fields:
            params["fields"] = fields
        return {kind: params}
    if mti in ("0220", "0400", "0420") and msg.get("90"):
        orig = original_of(msg["90"][4:10])
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
        # Replay the totals the terminal sent (the recording's run may have had other traffic in the batch).
        names = {"74": "credits", "76": "debits", "86": "credits_amount", "88": "debits_amount",
                 "75": "credit_reversals", "77": "debit_reversals", "87": "credit_reversals_amount",
                 "89": "debit_reversals_amount"}
        totals = {name: str(int(msg[f])) for f, name in names.items() if digits(msg.get(f, ""))}
        return {"batch_close": {"totals": totals} if totals else None}
    skip = {"t", "7", "11", "12", "13", "41", "42", "2", "35", "36", "45", "52", "55", "64", "128"}
    return {"raw": {"mti": mti, "fields": {k: v for k, v in msg.items() if k not in skip}}}


# What the runner builds itself for a card transaction; anything else the terminal sent is carried over,
# and anything of these it did not send is removed, so odd requests (surcharge, missing currency, a bad
# processing code) replay as they were. Masked fields (PAN, tracks, PIN block, ICC data, MACs) cannot be.
_BUILT = {"2", "3", "4", "7", "11", "12", "13", "14", "22", "23", "25", "35", "41", "42", "49", "52", "55"}
_MASKED = {"2", "35", "36", "45", "52", "55", "64", "102", "103", "128"}


def _odd_fields(msg: dict[str, str], kind: str) -> dict[str, Any]:
    from terminal_agent.scenario.messages import PROCESSING

    out: dict[str, Any] = {}
    for f, v in msg.items():
        if digits(f) and f not in _BUILT and f not in _MASKED:
            out[f] = v
    for f in ("12", "13", "25", "49"):
        if f not in msg:
            out[f] = None
    if msg.get("3") and msg["3"] != PROCESSING[kind]:
        out["3"] = msg["3"]
    return out


def write_scenario(doc: dict[str, Any], out: IO[str]) -> None:
    out.write("# Generated by `acqsim scenario record` from a masked recording. Review the cards and\n"
              "# expectations before adding it to a library.\n")
    yaml.safe_dump(doc, out, sort_keys=False, default_flow_style=False, allow_unicode=True, width=110)
