"""Terminal flows against a real TCP host built from switch.server (tests/terminal/approver.py)."""

from __future__ import annotations

import json

import pytest

from terminal_agent.cardsource import open_reader
from terminal_agent.flows import Terminal
from terminal_agent.profile import load_profiles

from .approver import Approver
from .conftest import FIXTURES

pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")


@pytest.fixture
def profiles():
    return {p.tid.strip(): p for p in load_profiles(FIXTURES)}


@pytest.fixture
def host(call_in_reactor, reactor, cards, profiles):
    approver = Approver(cards.values(), profiles.values())
    call_in_reactor(approver.listen, reactor)
    yield approver
    call_in_reactor(approver.switch.stop)


def make_terminal(reactor, host, profiles, tmp_path, tid="POS00001", **kw):
    prof = profiles[tid].with_overrides(host=host.host, port=host.port, timeout=0.5, reversal_interval=0.05, **kw)
    return Terminal(prof, data_dir=tmp_path, reactor=reactor)


def state_text(tmp_path, tid="POS00001"):
    return (tmp_path / "terminals" / f"{tid}.json").read_text()


def test_sign_on_key_change_then_chip_pin_purchase(call_in_reactor, reactor, host, profiles, visa, tmp_path):
    term = make_terminal(reactor, host, profiles, tmp_path)
    try:
        assert call_in_reactor(term.echo).response_code == "00"
        signed = call_in_reactor(term.sign_on)
        assert signed.approved and signed.details["tpk_kcv"]        # new TPK from field 48, KCV checked
        opened = open_reader(None, visa, entry="chip")
        r = call_in_reactor(term.transact, "purchase", 1234, opened.reader, "1234")
        assert r.approved and r.response_code == "00" and r.approval_code and r.rrn
        assert r.card_decision == "TC" and r.issuer_authenticated is True
        req = host.seen[-1]
        assert req["t"] == "0200" and req["3"] == "000000" and req["4"] == "000000001234"
        assert req["22"] == "051" and req["23"] == "001" and "55" in req and "52" in req and "35" in req
        for f in ("2", "7", "11", "12", "13", "14", "25", "41", "42", "49"):
            assert f in req
        assert "476173******0010" in r.receipt("SHOP", "M1") and "APPROVED" in r.receipt()
        assert visa.pan not in state_text(tmp_path)                 # no clear PAN on disk
    finally:
        term.close()


def test_wrong_pin_is_declined(call_in_reactor, reactor, host, profiles, visa, tmp_path):
    term = make_terminal(reactor, host, profiles, tmp_path)
    try:
        r = call_in_reactor(term.transact, "purchase", 500, open_reader(None, visa, "swipe").reader, "9999")
        assert r.response_code == "55" and not r.approved
    finally:
        term.close()


def test_magstripe_through_emulated_reader_with_bad_lrc_retry(call_in_reactor, reactor, host, profiles, visa,
                                                               tmp_path):
    term = make_terminal(reactor, host, profiles, tmp_path)
    prompts: list[str] = []
    term.notify = prompts.append
    opened = open_reader("emulated", visa, entry="swipe", fault="bad_lrc")
    try:
        r = call_in_reactor(term.transact, "purchase", 700, opened.reader, "1234")
        assert r.approved and r.entry == "swipe"
        assert prompts == ["BAD READ (LRC) - PLEASE SWIPE AGAIN"]
        req = host.seen[-1]
        assert req["22"] == "021" and req["35"] == visa.track2_body() and "55" not in req
    finally:
        opened.close()
        term.close()


def test_contactless_mastercard_through_emulated_reader(call_in_reactor, reactor, host, profiles, mastercard,
                                                        tmp_path):
    term = make_terminal(reactor, host, profiles, tmp_path)
    opened = open_reader("emulated", mastercard, entry="contactless")
    try:
        r = call_in_reactor(term.transact, "purchase", 900, opened.reader, None)
        assert r.approved and r.card_decision == "TC" and host.seen[-1]["22"] == "071"
    finally:
        opened.close()
        term.close()


@pytest.mark.parametrize("tid,mode,field", [("POS00003", "dukpt", "53"), ("POS00004", "dukpt-aes", "62")])
def test_dukpt_pin(call_in_reactor, reactor, host, profiles, visa, tmp_path, tid, mode, field):
    term = make_terminal(reactor, host, profiles, tmp_path, tid=tid)
    assert term.profile.pin_mode == mode
    try:
        for _ in range(2):
            r = call_in_reactor(term.transact, "purchase", 100, open_reader(None, visa, "chip").reader, "1234")
            assert r.approved
        ksns = [m[field] for m in host.seen[-2:]]
        assert ksns[0] != ksns[1]                                    # a new key per transaction
    finally:
        term.close()


def test_atm_cash_and_balance(call_in_reactor, reactor, host, profiles, visa, tmp_path):
    term = make_terminal(reactor, host, profiles, tmp_path, tid="ATM00001")
    try:
        r = call_in_reactor(term.transact, "cash", 20000, open_reader(None, visa, "chip").reader, "1234")
        assert r.approved and host.seen[-1]["3"] == "010000" and host.seen[-1]["25"] == "02"
        b = call_in_reactor(term.transact, "balance", 0, open_reader(None, visa, "chip").reader, "1234")
        assert b.approved and b.balance == 123456 and host.seen[-1]["3"] == "310000"
    finally:
        term.close()


def test_preauth_completion_refund_and_batch_close(call_in_reactor, reactor, host, profiles, visa, stripe_only,
                                                   tmp_path):
    term = make_terminal(reactor, host, profiles, tmp_path)
    try:
        pre = call_in_reactor(term.transact, "preauth", 5000, open_reader(None, visa, "chip").reader, "1234")
        assert pre.approved and host.seen[-1]["t"] == "0100"
        comp = call_in_reactor(term.completion, pre.stan, 4500)
        req = host.seen[-1]
        assert comp.approved and req["t"] == "0220" and req["90"][:10] == "0100" + pre.stan
        assert req["38"] == pre.approval_code and req["4"] == "000000004500"
        ref = call_in_reactor(term.transact, "refund", 1000, open_reader(None, stripe_only, "swipe").reader, None)
        assert ref.approved and host.seen[-1]["3"] == "200000"
        t = term.batch_totals()
        assert (t.debit_count, t.debit_amount, t.credit_count, t.credit_amount) == (1, 4500, 1, 1000)
        close = call_in_reactor(term.batch_close)
        req = host.seen[-1]
        assert close.approved and req["t"] == "0500" and req["88"] == "0000000000004500" and req["60"] == "000001"
        assert term.state.batch == 2 and term.batch_totals().debit_count == 0
    finally:
        term.close()


def test_merchant_void_reverses_last(call_in_reactor, reactor, host, profiles, visa, tmp_path):
    term = make_terminal(reactor, host, profiles, tmp_path)
    try:
        sale = call_in_reactor(term.transact, "purchase", 300, open_reader(None, visa, "chip").reader, "1234")
        void = call_in_reactor(term.reverse)
        assert void.approved and host.seen[-1]["t"] == "0400" and host.seen[-1]["90"][4:10] == sale.stan
        assert term.batch_totals().debit_count == 0
    finally:
        term.close()


def test_no_answer_reverses_automatically(call_in_reactor, reactor, host, profiles, visa, tmp_path):
    term = make_terminal(reactor, host, profiles, tmp_path)
    host.mode["0200"] = "silent"
    try:
        r = call_in_reactor(term.transact, "purchase", 800, open_reader(None, visa, "chip").reader, "1234")
        assert r.response_code is None and not r.approved and r.reversal == "acknowledged"
        assert r.card_decision == "AAC"
        rev = host.seen[-1]
        assert rev["t"] == "0400" and rev["90"][4:10] == r.stan and "35" not in rev and "52" not in rev
        assert json.loads(state_text(tmp_path))["reversals"] == []
    finally:
        term.close()


def test_reversal_survives_killed_connection_and_restart(call_in_reactor, reactor, host, profiles, visa,
                                                          tmp_path):
    term = make_terminal(reactor, host, profiles, tmp_path)
    host.mode.update({"0200": "kill", "0400": "kill", "0420": "kill"})
    r = call_in_reactor(term.transact, "purchase", 900, open_reader(None, visa, "chip").reader, "1234")
    assert r.reversal == "pending"
    sent = [m["t"] for m in host.seen]
    assert sent[-4:] == ["0200", "0400", "0420", "0420"][-len(sent[-4:]):]
    stored = json.loads(state_text(tmp_path))["reversals"]
    assert len(stored) == 1 and stored[0]["msg"]["t"] == "0420" and visa.pan not in state_text(tmp_path)
    term.close()                                                     # the terminal is switched off
    host.mode.clear()
    again = make_terminal(reactor, host, profiles, tmp_path)        # ... and on again
    try:
        assert len(again.state.pending_reversals()) == 1
        assert call_in_reactor(again.flush_reversals) == 0
        last = host.seen[-1]
        assert last["t"] == "0420" and last["90"][4:10] == r.stan and last["11"] == stored[0]["msg"]["11"]
        assert last["2"] == visa.pan                                  # the sealed PAN came back for the host
    finally:
        again.close()


def test_killed_while_waiting_is_reversed_after_restart(call_in_reactor, reactor, host, profiles, visa, tmp_path):
    """The agent dies with a request in flight: on restart the in-flight record becomes a reversal."""
    term = make_terminal(reactor, host, profiles, tmp_path)
    term.state.data["in_flight"] = None
    from terminal_agent import messages

    card = messages.CardFields(entry="chip", pan=visa.pan, expiry=visa.expiry)
    msg = messages.financial(term.profile, "purchase", term.state.next_stan(), 1500, card)
    term.state.data["in_flight"] = {"msg": term.state.seal(msg), "kind": "purchase"}
    term.state.save()
    term.state.unlock()                                               # process killed: no clean close
    again = make_terminal(reactor, host, profiles, tmp_path)
    try:
        assert [r["original_stan"] for r in again.state.pending_reversals()] == [msg["11"]]
        assert call_in_reactor(again.flush_reversals) == 0 and host.seen[-1]["t"] == "0400"
    finally:
        again.close()


def test_stan_persists_across_restart(reactor, host, profiles, tmp_path):
    term = make_terminal(reactor, host, profiles, tmp_path)
    first = term.state.next_stan()
    term.close()
    again = make_terminal(reactor, host, profiles, tmp_path)
    try:
        assert int(again.state.next_stan()) == int(first) + 1
    finally:
        again.close()


def test_one_agent_per_terminal(reactor, host, profiles, tmp_path):
    term = make_terminal(reactor, host, profiles, tmp_path)
    try:
        with pytest.raises(RuntimeError):
            make_terminal(reactor, host, profiles, tmp_path)
    finally:
        term.close()


@pytest.mark.parametrize("dialect,framing", [("binary87", "len4"), ("bcd87", "bcd2"), ("ebcdic87", "ascii4")])
def test_other_dialects_with_dukpt_and_chip(call_in_reactor, reactor, cards, profiles, visa, tmp_path, dialect,
                                            framing):
    approver = Approver(cards.values(), profiles.values())
    call_in_reactor(approver.listen, reactor, dialect, framing)
    term = make_terminal(reactor, approver, profiles, tmp_path, tid="POS00003", dialect=dialect, framing=framing)
    try:
        r = call_in_reactor(term.transact, "purchase", 4200, open_reader(None, visa, "chip").reader, "1234")
        assert r.approved and r.issuer_authenticated is True
        assert approver.seen[-1]["53"].endswith("9876543210E00001")
    finally:
        term.close()
        call_in_reactor(approver.switch.stop)


def test_mac_terminal_sends_a_verifiable_field_64(call_in_reactor, reactor, host, profiles, visa, tmp_path):
    from switch.auth.mac import mac_input
    from terminal_agent.crypto import retail_mac

    tak = "7FD9012A430123C22ABF52FB9298C731"
    term = make_terminal(reactor, host, profiles, tmp_path, tak=tak, mac_required=True)
    try:
        call_in_reactor(term.transact, "purchase", 100, open_reader(None, visa, "swipe").reader, "1234")
        req = host.seen[-1]
        assert retail_mac(bytes.fromhex(tak), mac_input(req, "ascii87")).hex().upper() == req["64"]
    finally:
        term.close()


def test_background_retry_repeats_0420_until_acknowledged(call_in_reactor, reactor, host, profiles, visa,
                                                          tmp_path):
    import time

    term = make_terminal(reactor, host, profiles, tmp_path)
    host.mode.update({"0200": "silent", "0400": "silent", "0420": "silent"})
    try:
        r = call_in_reactor(term.transact, "purchase", 100, open_reader(None, visa, "swipe").reader, "1234")
        assert r.reversal == "pending"
        call_in_reactor(term.start_reversal_retry, 0.1)
        time.sleep(0.3)
        host.mode.clear()                                            # the host comes back
        deadline = time.monotonic() + 10
        while term.state.pending_reversals():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        sent = [m["t"] for m in host.seen if m["t"] in ("0400", "0420")]
        assert sent[0] == "0400" and set(sent[1:]) == {"0420"} and len(sent) >= 3
    finally:
        call_in_reactor(term.close)
