"""`acqsim terminal ...` in-process against the approving test host."""

from __future__ import annotations

import io
import json

import pytest

from switch.cli.main import main
from terminal_agent.readers import EmulatedReader

from .approver import Approver
from .conftest import FIXTURES

pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")


@pytest.fixture
def host(call_in_reactor, reactor, cards):
    from terminal_agent.profile import load_profiles

    approver = Approver(cards.values(), load_profiles(FIXTURES))
    call_in_reactor(approver.listen, reactor)
    yield approver
    call_in_reactor(approver.switch.stop)


def run(capsys, host, tmp_path, *argv):
    code = main(["terminal", *argv, "--port", str(host.port), "--data-dir", str(tmp_path),
                 "--fixtures", str(FIXTURES), "--timeout", "2"])
    return code, capsys.readouterr()


def test_purchase_json(capsys, host, tmp_path):
    code, out = run(capsys, host, tmp_path, "purchase", "--card", "4761739001010010", "--amount", "12.34",
                    "--pin", "1234", "--json")
    doc = json.loads(out.out)
    assert code == 0 and doc["response_code"] == "00" and doc["approval_code"] and doc["rrn"]
    assert doc["amount"] == 1234 and doc["masked_pan"] == "476173******0010"
    assert host.seen[-1]["4"] == "000000001234"


def test_receipt_and_decline_exit_code(capsys, host, tmp_path):
    code, out = run(capsys, host, tmp_path, "purchase", "--card", "4761739001010010", "--amount", "1",
                    "--pin", "0000", "--entry", "swipe", "--reader", "emulated", "--fault", "partial")
    assert code == 1
    assert "476173******0010" in out.out and "RESPONSE 55  INCORRECT PIN" in out.out
    assert "4761739001010010" not in out.out + out.err
    assert "PARTIAL READ" in out.err


def test_cash_defaults_to_the_atm_and_totals(capsys, host, tmp_path):
    code, _ = run(capsys, host, tmp_path, "cash", "--card", "4761739001010010", "--amount", "50", "--pin", "1234")
    assert code == 0 and host.seen[-1]["41"] == "ATM00001" and host.seen[-1]["3"] == "010000"
    code, out = run(capsys, host, tmp_path, "totals", "--tid", "ATM00001", "--json")
    assert json.loads(out.out)["debit_amount"] == 5000


def test_bad_input_is_a_one_line_error(capsys, host, tmp_path):
    code, out = run(capsys, host, tmp_path, "purchase", "--card", "4761739001010010")
    assert code == 2 and "needs --amount" in out.err
    code, out = run(capsys, host, tmp_path, "purchase", "--card", "4000000000000002", "--amount", "1")
    assert code == 2 and "not in the fixtures" in out.err


def test_interactive_reads_a_real_port_by_path(capsys, host, tmp_path, monkeypatch, visa):
    with EmulatedReader() as device:
        device.swipe(visa, fault="bad_lrc")
        device.swipe(visa)
        device.insert(visa)
        monkeypatch.setattr("sys.stdin", io.StringIO("echo\npurchase 2.50\n1234\nbalance\n1234\ntotals\nquit\n"))
        code, out = run(capsys, host, tmp_path, "interactive", "--reader", device.path)
    assert code == 0
    assert out.out.count("*** APPROVED ***") == 3 and "BAD READ (LRC)" in out.err
    assert "'debit_amount': 250" in out.out


def test_blocking_api_run_transaction(host, tmp_path):
    from terminal_agent.api import call, open_terminal, parse_amount, run_transaction

    r = run_transaction("purchase", tid="POS00001", host="127.0.0.1", port=host.port, card="4761739001010010",
                        amount="12.34", pin="1234", entry="contactless", reader="emulated", fixtures=FIXTURES,
                        data_dir=tmp_path)
    assert r.approved and r.amount == 1234 and r.entry == "contactless"
    assert run_transaction("echo", tid="POS00001", port=host.port, fixtures=FIXTURES, data_dir=tmp_path).approved
    term = open_terminal("POS00001", port=host.port, fixtures=FIXTURES, data_dir=tmp_path, durable=False)
    try:
        assert call(term, term.batch_close).approved
    finally:
        from twisted.internet import defer, threads

        threads.blockingCallFromThread(term.reactor, lambda: defer.succeed(term.close()))
    assert parse_amount("12.3") == 1230 and parse_amount(5) == 5
    with pytest.raises(ValueError):
        parse_amount("1.234")
