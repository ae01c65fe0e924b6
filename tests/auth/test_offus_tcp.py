"""Off-us acquiring over real TCP: a card of the remote issuer REMOTEBANK (BIN 431940) is forwarded to a
fake issuer host; its approval is booked to the merchant (interchange receivable -> unsettled, MDR fee N3
B11) in the request's job, its reversal voids that booking and is passed on as an advice, and a booking
the switch refuses (N8 suspended merchant, an error) answers a decline and releases the remote approval
with a queued 0420 advice. A remote pre-authorisation is booked by its completion, which is passed on to
the issuer as a 0220 advice."""

from __future__ import annotations

import struct

import iso8583
import pytest
from twisted.internet import protocol

from switch.ledger.audit import audit
from switch.wallets import Wallets
from switch.wallets.chart import interchange_account_id, interchange_payable_id
from tests.auth.harness import card, f7, request
from tests.auth.test_tcp import SPEC, Tcp, switch_with_issuer_host

M1 = "000000000000001"  # POS00001's merchant
ATM_MID = "000000000000002"  # ATM00001's owner


class FakeIssuer(protocol.Protocol):
    """The remote issuer host: answers every request with factory.rc (None: never answers) and
    acknowledges every advice, except the MTIs in factory.ignore; factory.hook runs first (a test's way to
    change things while the switch waits for the issuer)."""

    def dataReceived(self, data: bytes) -> None:
        msg, _ = iso8583.decode(data[2:], SPEC)
        f = self.factory
        f.received.append(msg)
        if f.hook is not None:
            f.hook(msg)
        if msg["t"] in f.ignore:
            return
        answer_mti = msg["t"][:2] + str(int(msg["t"][2]) + 1) + msg["t"][3]  # 0100 -> 0110, 0420 -> 0430
        advice = msg["t"] in ("0220", "0420")
        if f.rc is None or advice:
            if advice:  # acknowledged
                self._send({"t": answer_mti, "11": msg["11"], "41": msg["41"], "39": "00"})
            return
        out = {"t": answer_mti, "11": msg["11"], "41": msg["41"], "39": f.rc}
        if f.rc == "00":
            out["38"] = "REM777"
        self._send(out)

    def _send(self, out: dict[str, str]) -> None:
        raw, _ = iso8583.encode(out, SPEC)
        self.transport.write(struct.pack(">H", len(raw)) + bytes(raw))


@pytest.fixture(scope="module")
def switch(tmp_path_factory, reactor, call_in_reactor):
    host = protocol.Factory.forProtocol(FakeIssuer)
    host.received, host.rc, host.hook, host.ignore = [], "00", None, ()
    for running in switch_with_issuer_host(tmp_path_factory.mktemp("offus"), reactor, call_in_reactor, host):
        yield {**running, "host": host}


@pytest.fixture
def tcp(switch):
    switch["host"].rc, switch["host"].hook, switch["host"].ignore = "00", None, ()
    client = Tcp(switch["port"])
    yield client
    client.sock.close()


def _wallet(engine, mid: str = M1) -> int:
    """The merchant's whole position: available + unsettled - what it owes."""
    return sum(w["available"] + w["unsettled"] - w["receivable"] for w in Wallets(engine).merchant_wallets(mid))


def _interchange(engine) -> int:
    """What REMOTEBANK owes us for its cardholders' sales (debit balance of its interchange receivable)."""
    found = Wallets(engine).ledger.lookup_accounts([interchange_account_id("REMOTEBANK", "682")])
    return found[0].debits_posted - found[0].credits_posted if found else 0


def _payable(engine) -> int:
    """What we owe REMOTEBANK for refunds its cardholders got (credit balance of its interchange payable)."""
    found = Wallets(engine).ledger.lookup_accounts([interchange_payable_id("REMOTEBANK", "682")])
    return found[0].credits_posted - found[0].debits_posted if found else 0


def _fee(engine, amount: int, mid: str = M1) -> int:
    w = Wallets(engine)
    return w.contract(w.merchant(mid)).mdr_fee(amount, "682")


def _reversal(sale: dict[str, str], stan: str, **fields: str) -> dict[str, str]:
    return {"t": "0400", "3": sale["3"], "4": sale["4"], "7": f7(), "11": stan, "41": sale["41"],
            "90": "0200" + sale["11"] + sale["7"] + "0" * 22, "2": card("remote-issuer")["pan"], **fields}


def _completion(auth: dict[str, str], stan: str, amount: int) -> dict[str, str]:
    """A 0220 for `amount` of the pre-authorisation `auth`, carrying its track 2 and PIN block (both to be
    dropped from the advice) and no field 2: the PAN comes from the journal."""
    return {"t": "0220", "3": "000000", "4": f"{amount:012d}", "7": f7(), "11": stan, "41": auth["41"],
            "42": M1, "49": "682", "90": "0100" + auth["11"] + auth["7"] + "0" * 22,
            "35": auth["35"], "52": auth["52"]}


def test_remote_approval_books_the_merchant_and_reversal_gives_it_back(switch, tcp):
    engine, remote = switch["engine"], switch["handler"].services.remote
    start, owed = _wallet(engine), _interchange(engine)
    sale = request("remote-issuer", amount=10_000)
    first = tcp.ask(sale)
    assert first["39"] == "00" and first["38"] == "REM777"
    assert _wallet(engine) - start == 10_000 - _fee(engine, 10_000)  # N3 MDR, B11 rounding, as on-us
    assert _interchange(engine) - owed == 10_000
    assert tcp.ask(sale) == first  # the same request again: its stored answer, not booked twice
    assert _wallet(engine) - start == 10_000 - _fee(engine, 10_000)
    assert audit(engine) == []
    rev = _reversal(sale, "616001")
    assert tcp.ask(rev)["39"] == "00"
    assert _wallet(engine) == start and _interchange(engine) == owed  # given back with the fee
    queued = remote.pending()[-1][2]
    assert queued["t"] == "0420" and queued["90"] == rev["90"]  # and the issuer is told
    assert tcp.ask(rev)["39"] == "00" and _wallet(engine) == start  # repeat: not reversed twice
    assert audit(engine) == []


def test_partial_reversal_of_an_offus_sale(switch, tcp):
    engine = switch["engine"]
    start, owed = _wallet(engine), _interchange(engine)
    sale = request("remote-issuer", amount=10_000)
    assert tcp.ask(sale)["39"] == "00"
    # Field 95: the sale stands at 6,000 (the fee of what stays is kept, N3).
    assert tcp.ask(_reversal(sale, "616002", **{"95": f"{6_000:012d}" + "0" * 30}))["39"] == "00"
    assert _wallet(engine) - start == 6_000 - _fee(engine, 6_000)
    assert _interchange(engine) - owed == 6_000
    assert tcp.ask(_reversal(sale, "616003"))["39"] == "00"  # then the rest
    assert _wallet(engine) == start and _interchange(engine) == owed
    assert audit(engine) == []


def test_remote_cash_at_an_atm_pays_the_atm_owner(switch, tcp):
    engine = switch["engine"]
    start = _wallet(engine, ATM_MID)
    resp = tcp.ask(request("remote-issuer", proc="010000", tid="ATM00001", amount=20_000))
    assert resp["39"] == "00"
    assert _wallet(engine, ATM_MID) - start == 20_000 - _fee(engine, 20_000, ATM_MID)
    assert audit(engine) == []


def test_only_the_remote_approval_is_booked_not_its_decline_or_timeout(switch, tcp):
    engine, host = switch["engine"], switch["host"]
    start, owed = _wallet(engine), _interchange(engine)
    assert tcp.ask(request("remote-issuer", amount=3_000))["39"] == "00"
    host.rc = "51"
    assert tcp.ask(request("remote-issuer", amount=5_000))["39"] == "51"
    host.rc = None  # silent: 91 after the route's timeout, reversal advice queued (issue 5)
    assert tcp.ask(request("remote-issuer", amount=7_000))["39"] == "91"
    assert _wallet(engine) - start == 3_000 - _fee(engine, 3_000)
    assert _interchange(engine) - owed == 3_000
    assert audit(engine) == []


def test_merchant_suspended_during_the_forward_declines_and_reverses_the_approval(switch, tcp):
    """N8: the merchant is suspended while the switch waits for the issuer's approval: the booking is
    refused, so the terminal gets 05 (not 00 for money not booked) and the issuer a 0420 advice."""
    engine, host, remote = switch["engine"], switch["host"], switch["handler"].services.remote
    w = Wallets(engine)
    start, owed, queued = _wallet(engine), _interchange(engine), len(remote.pending())
    host.hook = lambda msg: w.set_merchant_status(M1, "suspended", "N8 test: contract conditions failed")
    sale = request("remote-issuer", amount=4_000)
    try:
        resp = tcp.ask(sale)
    finally:
        w.set_merchant_status(M1, "active")
    assert resp["39"] == "05" and "38" not in resp
    assert _wallet(engine) == start and _interchange(engine) == owed
    pending = remote.pending()
    assert len(pending) == queued + 1
    advice = pending[-1][2]
    assert advice["t"] == "0420" and advice["90"].startswith("0200" + sale["11"] + sale["7"])
    assert advice["4"] == sale["4"] and "35" not in advice and "52" not in advice


def test_booking_error_after_remote_approval_answers_96_and_reverses_it(switch, tcp, monkeypatch):
    """The request's transaction fails after the issuer approved: nothing kept here, so the advice is
    queued on its own (the one queued in the rolled-back job would be lost with it)."""
    engine, remote = switch["engine"], switch["handler"].services.remote
    funds = switch["handler"].services.funds

    def broken(*args, **kwargs):
        raise RuntimeError("ledger down")

    monkeypatch.setattr(funds, "offus", broken)
    start, queued = _wallet(engine), len(remote.pending())
    sale = request("remote-issuer", amount=2_000)
    resp = tcp.ask(sale)
    assert resp["39"] == "96" and "38" not in resp
    assert _wallet(engine) == start
    pending = remote.pending()
    assert len(pending) == queued + 1 and pending[-1][2]["11"] == sale["11"]


def test_remote_preauth_is_booked_by_its_completion_and_passed_on(switch, tcp, call_in_reactor):
    engine, host, remote = switch["engine"], switch["host"], switch["handler"].services.remote
    start, owed = _wallet(engine), _interchange(engine)
    auth = request("remote-issuer", mti="0100", amount=20_000)
    assert tcp.ask(auth)["39"] == "00"
    assert _wallet(engine) == start and _interchange(engine) == owed  # a pre-authorisation is not a sale
    assert tcp.ask(_completion(auth, "617001", 30_000))["39"] == "13"  # above what the issuer approved
    done = _completion(auth, "617002", 15_000)
    first = tcp.ask(done)
    assert first["39"] == "00"
    assert _wallet(engine) - start == 15_000 - _fee(engine, 15_000)  # N3 MDR, B11, as any off-us sale
    assert _interchange(engine) - owed == 15_000
    assert tcp.ask(done) == first and _interchange(engine) - owed == 15_000  # repeat: stored, booked once
    assert tcp.ask(_completion(auth, "617003", 5_000))["39"] == "25"  # the pre-authorisation is closed
    advice = remote.pending()[-1][2]
    assert advice["t"] == "0220" and advice["11"] == "617002" and advice["90"] == done["90"]
    assert advice["4"] == f"{15_000:012d}" and advice["2"] == card("remote-issuer")["pan"]
    assert "35" not in advice and "52" not in advice
    assert audit(engine) == []
    # The pre-authorisation is closed: reversing it is refused (the sale is the completion's), as on-us.
    queued = len(remote.pending())
    rev_auth = {"t": "0400", "3": "000000", "4": auth["4"], "7": f7(), "11": "617005", "41": auth["41"],
                "90": "0100" + auth["11"] + auth["7"] + "0" * 22, "2": card("remote-issuer")["pan"]}
    assert tcp.ask(rev_auth)["39"] == "13"
    assert _interchange(engine) - owed == 15_000 and len(remote.pending()) == queued
    # The completion's reversal voids its booking and tells the issuer with a 0420 naming the 0220.
    rev = {"t": "0400", "3": "000000", "4": done["4"], "7": f7(), "11": "617004", "41": auth["41"],
           "90": "0220" + done["11"] + done["7"] + "0" * 22}  # no PAN: the completion's journal row has it
    assert tcp.ask(rev)["39"] == "00"
    assert _wallet(engine) == start and _interchange(engine) == owed
    assert remote.pending()[-1][2]["t"] == "0420" and remote.pending()[-1][2]["90"] == rev["90"]
    assert audit(engine) == []
    # Both advices reach the issuer and are acknowledged (0230, 0430).
    host.received.clear()
    assert call_in_reactor(remote.retry_pending, timeout=30) >= 2
    sent = [(m["t"], m["11"]) for m in host.received]
    assert ("0220", "617002") in sent and ("0420", "617004") in sent
    assert remote.pending() == []


def test_offus_completion_at_a_suspended_merchant_is_declined_and_sends_nothing(switch, tcp):
    """N8: the merchant is suspended between the pre-authorisation and its completion."""
    engine, remote = switch["engine"], switch["handler"].services.remote
    auth = request("remote-issuer", mti="0100", amount=8_000)
    assert tcp.ask(auth)["39"] == "00"
    start, owed, queued = _wallet(engine), _interchange(engine), len(remote.pending())
    w = Wallets(engine)
    w.set_merchant_status(M1, "suspended", "N8 test: contract conditions failed")
    try:
        assert tcp.ask(_completion(auth, "618001", 8_000))["39"] == "05"
    finally:
        w.set_merchant_status(M1, "active")
    assert _wallet(engine) == start and _interchange(engine) == owed and len(remote.pending()) == queued
    assert tcp.ask(_completion(auth, "618002", 8_000))["39"] == "00"  # still open: completed once reinstated
    assert _interchange(engine) - owed == 8_000
    assert audit(engine) == []


def test_remote_refund_is_paid_by_the_merchant_and_owed_to_the_issuer(switch, tcp):
    engine = switch["engine"]
    start, owed, payable = _wallet(engine), _interchange(engine), _payable(engine)
    refund = request("remote-issuer", proc="200000", amount=2_500)
    first = tcp.ask(refund)
    assert first["39"] == "00" and first["38"] == "REM777"
    assert _wallet(engine) - start == -2_500  # N7: from the merchant's wallet (no MDR fee on a refund)
    assert _payable(engine) - payable == 2_500 and _interchange(engine) == owed
    assert tcp.ask(refund) == first and _payable(engine) - payable == 2_500  # repeat: booked once
    assert audit(engine) == []
    # The terminal voids it: the merchant gets its money back, the issuer is owed nothing and is told.
    rev = _reversal(refund, "619001")
    assert tcp.ask(rev)["39"] == "00"
    assert _wallet(engine) == start and _payable(engine) == payable
    advice = switch["handler"].services.remote.pending()[-1][2]
    assert advice["t"] == "0420" and advice["90"] == rev["90"]
    assert audit(engine) == []


def test_remote_refund_at_a_suspended_merchant_is_declined_and_its_approval_released(switch, tcp):
    """N8: suspended while the switch waits for the issuer: 05 to the terminal, 0420 to the issuer."""
    engine, host, remote = switch["engine"], switch["host"], switch["handler"].services.remote
    w = Wallets(engine)
    start, payable, queued = _wallet(engine), _payable(engine), len(remote.pending())
    host.hook = lambda msg: w.set_merchant_status(M1, "suspended", "N8 test: contract conditions failed")
    refund = request("remote-issuer", proc="200000", amount=1_500)
    try:
        assert tcp.ask(refund)["39"] == "05"
    finally:
        w.set_merchant_status(M1, "active")
    assert _wallet(engine) == start and _payable(engine) == payable
    pending = remote.pending()
    assert len(pending) == queued + 1 and pending[-1][2]["90"].startswith("0200" + refund["11"] + refund["7"])


def test_advices_to_an_issuer_are_sent_in_order(switch, tcp, call_in_reactor):
    """A 0420 never overtakes the 0220 it reverses: after a failed send, the rest of that issuer's queue
    waits for the next round."""
    host, remote = switch["host"], switch["handler"].services.remote
    call_in_reactor(remote.retry_pending, timeout=30)  # what earlier tests queued
    assert remote.pending() == []
    auth = request("remote-issuer", mti="0100", amount=9_000)
    assert tcp.ask(auth)["39"] == "00"
    done = _completion(auth, "620001", 9_000)
    assert tcp.ask(done)["39"] == "00"
    rev = {"t": "0400", "3": "000000", "4": done["4"], "7": f7(), "11": "620002", "41": auth["41"],
           "90": "0220" + done["11"] + done["7"] + "0" * 22, "2": card("remote-issuer")["pan"]}
    assert tcp.ask(rev)["39"] == "00"
    host.ignore, host.received[:] = ("0220",), []
    assert call_in_reactor(remote.retry_pending, timeout=30) == 0
    assert [(m["t"], m["11"]) for m in host.received] == [("0220", "620001")]  # the 0420 waits
    host.ignore, host.received[:] = (), []
    assert call_in_reactor(remote.retry_pending, timeout=30) == 2
    assert [(m["t"], m["11"]) for m in host.received] == [("0220", "620001"), ("0420", "620002")]
    assert remote.pending() == []


def test_a_reversal_without_pan_reaches_the_issuer_of_its_original(switch, tcp):
    """The terminal agent's 0400 names its original by field 90 only: the journal kept the original's
    issuer and PAN (encrypted), so the sale is voided and the 0420 carries the PAN. A 0400 with another
    card's PAN is not taken for it."""
    from pathlib import Path

    from sqlalchemy import text

    from switch.security.report import ScanReport
    from switch.security.scan_db import scan_sqlite_file

    engine, remote = switch["engine"], switch["handler"].services.remote
    start, owed = _wallet(engine), _interchange(engine)
    sale = request("remote-issuer", amount=6_000)
    assert tcp.ask(sale)["39"] == "00"
    other = _reversal(sale, "621001", **{"2": card("good-visa")["pan"]})
    queued = len(remote.pending())
    assert tcp.ask(other)["39"] == "25"  # not the original's card
    assert _interchange(engine) - owed == 6_000 and len(remote.pending()) == queued
    rev = _reversal(sale, "621002")
    del rev["2"]
    assert tcp.ask(rev)["39"] == "00"
    assert _wallet(engine) == start and _interchange(engine) == owed
    advice = remote.pending()[-1][2]
    assert advice["t"] == "0420" and advice["90"] == rev["90"] and advice["2"] == card("remote-issuer")["pan"]
    switch["host"].rc = "51"
    declined = request("remote-issuer", amount=6_100)
    assert tcp.ask(declined)["39"] == "51"
    switch["host"].rc = "00"
    open_sale = request("remote-issuer", amount=6_200)
    assert tcp.ask(open_sale)["39"] == "00"
    onus = request("good-visa", amount=600)
    assert tcp.ask(onus)["39"] == "00"

    def stored(msg: dict[str, str]):
        with engine.connect() as conn:
            return conn.execute(text("SELECT issuer_id, pan_enc FROM auth_requests WHERE stan = :s AND tid = :t"),
                                {"s": msg["11"], "t": msg["41"]}).one()
    kept = stored(open_sale)
    assert kept.issuer_id == "REMOTEBANK" and kept.pan_enc and card("remote-issuer")["pan"] not in kept.pan_enc
    # Kept only while a follow-up may need it: not for a reversed sale, a decline, the reversal or on-us.
    assert [stored(m).pan_enc for m in (sale, declined, rev, onus)] == [None] * 4
    # The transaction lists (HTTP API, pages) show an off-us card masked 6+4, declines included.
    from switch.http.queries import transactions

    shown = {t["stan"]: t["pan_masked"] for t in transactions(engine, tid="POS00001", limit=1000)}
    masked = card("remote-issuer")["pan"][:6] + "******" + card("remote-issuer")["pan"][-4:]
    assert [shown[m["11"]] for m in (sale, declined, open_sale)] == [masked] * 3
    assert shown[onus["11"]] == card("good-visa")["pan"][:6] + "******" + card("good-visa")["pan"][-4:]
    report = ScanReport()
    scan_sqlite_file(Path(engine.url.database), report)
    assert report.clean, report.findings  # the PAN is kept encrypted only
