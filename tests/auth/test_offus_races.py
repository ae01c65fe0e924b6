"""Two switch processes completing or reversing one remote pre-authorisation at once: the original's
journal row is locked by the first job (PostgreSQL; SQLite's single writer serialises them anyway), so
the second sees the first's outcome and one sale is booked."""

from __future__ import annotations

from switch.auth.context import AuthContext
from switch.auth.remote import RemoteIssuers
from switch.issuer.pan import PanVault
from switch.wallets.chart import interchange_account_id
from tests.auth.harness import FX, card, f7, request
from tests.auth.test_limits_counting import second_while_first_uncommitted

M1 = "000000000000001"


def _with_remote_approving(services) -> RemoteIssuers:
    """The REMOTEBANK route answered by a stub that approves (no network: the forward is the stub)."""
    remote = RemoteIssuers(None, services.store.engine, PanVault.from_hex(FX.card_data_key()))
    remote.forward = lambda ctx: {"39": "00", "38": "REM777"}
    services.remote = remote
    return remote


def _owed(funds) -> int:
    found = funds.w.ledger.lookup_accounts([interchange_account_id("REMOTEBANK", "682")])
    return found[0].debits_posted - found[0].credits_posted if found else 0


def _follow_up(auth: dict[str, str], mti: str, stan: str, amount: int) -> dict[str, str]:
    return {"t": mti, "3": "000000", "4": f"{amount:012d}", "7": f7(), "11": stan, "41": auth["41"], "42": M1,
            "49": "682", "90": "0100" + auth["11"] + auth["7"] + "0" * 22, "2": card("remote-issuer")["pan"]}


def _preauth(runner) -> dict[str, str]:
    auth = request("remote-issuer", mti="0100", amount=20_000)
    assert runner.run(AuthContext(request=auth))["39"] == "00"
    return auth


def test_two_completions_of_one_remote_preauth_at_once_book_one(both_world):
    runner, services, funds = both_world
    remote = _with_remote_approving(services)
    auth = _preauth(runner)
    owed = _owed(funds)
    jobs = [runner.prepare(AuthContext(request=_follow_up(auth, "0220", stan, 15_000)))[1]
            for stan in ("630001", "630002")]
    first, second = second_while_first_uncommitted(services, *jobs)
    assert (first["39"], second["39"]) == ("00", "25")  # the second finds the pre-authorisation closed
    assert _owed(funds) - owed == 15_000
    assert [m["11"] for _id, _issuer, m, _n in remote.pending() if m["t"] == "0220"] == ["630001"]


def test_a_completion_and_a_reversal_of_one_remote_preauth_at_once(both_world):
    runner, services, funds = both_world
    remote = _with_remote_approving(services)
    auth = _preauth(runner)
    owed = _owed(funds)
    complete = runner.prepare(AuthContext(request=_follow_up(auth, "0220", "631001", 15_000)))[1]
    reverse = runner.prepare(AuthContext(request=_follow_up(auth, "0400", "631002", 20_000)))[1]
    first, second = second_while_first_uncommitted(services, complete, reverse)
    assert (first["39"], second["39"]) == ("00", "13")  # reversing a completed pre-authorisation: refused
    assert _owed(funds) - owed == 15_000
    assert [m["t"] for _id, _issuer, m, _n in remote.pending()] == ["0220"]


def test_a_stray_timeout_advice_for_a_completed_preauth_is_dropped(world):
    """Another process's forward of the same 0100 timed out and queued a 0420, while this one delivered
    the approval and booked its completion: the 0420 would cancel a booked sale, so it is dropped."""
    runner, services, _funds = world
    remote = _with_remote_approving(services)
    auth = _preauth(runner)
    assert runner.run(AuthContext(request=_follow_up(auth, "0220", "632001", 20_000)))["39"] == "00"
    remote.queue_reversal("REMOTEBANK", auth)
    assert [m["t"] for _id, _issuer, m, _n in remote.pending()] == ["0220"]


def test_a_journalled_pan_that_cannot_be_decrypted_falls_back_to_the_request(world, caplog):
    """Another card-data key (or a damaged row): no 96, the follow-up's own PAN is used; the log says
    which row, without the ciphertext."""
    _runner, services, _funds = world
    blob = PanVault.from_hex("11" * 32).encrypt(card("remote-issuer")["pan"])
    assert services.journal.original_pan({"id": 7, "pan_enc": blob}) is None
    assert "journal row 7" in caplog.text and blob not in caplog.text
    assert services.journal.original_pan({"id": 8, "pan_enc": None}) is None
