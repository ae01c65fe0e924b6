"""N15 limit counters: a request is counted by the limits step in the statement that reads the totals, and
comes off the counters again whenever it does not end approved (a decline after the limits step, or an
answer another process gave first)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import text

from switch.auth.context import AuthContext
from switch.auth.journal import AnsweredElsewhere
from switch.auth.policy import periods
from switch.ledger import unit
from tests.auth.harness import card, request


def counters(services, label: str) -> list[tuple]:
    card_id = services.store.find_card(card(label)["pan"]).card_id
    with services.store.engine.connect() as conn:
        return sorted(conn.execute(text('SELECT period, amount, "count" FROM iss_card_usage WHERE card_id = :c'),
                                   {"c": card_id}).all())


def run_job(services, job):
    """A job in its own transaction, answered as the committer answers it: when another process answered
    the request first, the transaction is rolled back and that answer given (Runner.failed)."""
    try:
        with unit.begin(services.store.engine) as conn, unit._bound(conn):
            return job(conn)
    except AnsweredElsewhere as elsewhere:
        return elsewhere.answer


def second_while_first_uncommitted(services, first, second) -> tuple[dict, dict]:
    """Run job `first` in a transaction held open for 0.3 s after it is done (journalled, not committed),
    and job `second` meanwhile, as another switch process would: (first's answer, second's answer)."""
    engine = services.store.engine
    first_done, answers = threading.Event(), {}

    def hold_first() -> None:
        with engine.begin() as conn, unit._bound(conn):
            answers["first"] = first(conn)
            first_done.set()
            time.sleep(0.3)

    holder = threading.Thread(target=hold_first)
    holder.start()
    assert first_done.wait(10)
    answers["second"] = run_job(services, second)
    holder.join(10)
    return answers["first"], answers["second"]


def test_an_approval_is_counted_once(world):
    runner, services, _ = world
    answer, job = runner.prepare(AuthContext(request=request("good-visa", amount=1500)))
    assert run_job(services, job)["39"] == "00"
    day, month = periods(AuthContext(request={}).now).values()
    assert counters(services, "good-visa") == [(day, 1500, 1), (month, 1500, 1)]


def test_a_decline_after_the_limits_step_leaves_the_counters_as_they_were(world):
    runner, services, _ = world
    _, job = runner.prepare(AuthContext(request=request("low-funds", amount=400)))
    assert run_job(services, job)["39"] == "00"
    before = counters(services, "low-funds")
    ctx = AuthContext(request=request("low-funds", amount=400))  # within every limit, beyond the funds
    _, job = runner.prepare(ctx)
    assert run_job(services, job)["39"] == "51" and ctx.step == "book"
    assert counters(services, "low-funds") == before


def test_a_decline_by_the_limits_step_itself_is_not_counted(world):
    runner, services, _ = world
    ctx = AuthContext(request=request("count-limit", amount=400))  # daily count limit 0
    _, job = runner.prepare(ctx)
    assert run_job(services, job)["39"] == "65" and ctx.step == "limits"
    day, month = periods(ctx.now).values()
    assert counters(services, "count-limit") == [(day, 0, 0), (month, 0, 0)]


def test_an_answer_another_process_gave_first_is_not_counted_twice(both_world):
    """Two switch processes got the same request: the journal keeps the first answer and the second
    process's count of it comes off again."""
    runner, services, _ = both_world
    msg = request("good-visa", amount=1500)
    first, job = runner.prepare(AuthContext(request=dict(msg)))
    _, second_job = runner.prepare(AuthContext(request=dict(msg)))  # checked before the first was journalled
    assert run_job(services, job)["39"] == "00"
    after_first = counters(services, "good-visa")
    assert run_job(services, second_job)["39"] == "00"  # the stored answer
    assert counters(services, "good-visa") == after_first


def test_a_request_journalled_meanwhile_by_another_transaction_gets_its_answer(both_world):
    """The second process's journal insert waits for the first's transaction (its key is taken, not yet
    committed), then inserts nothing and answers what the first stored; no error, so on PostgreSQL the
    second job's transaction stays usable without a SAVEPOINT around the insert."""
    runner, services, _ = both_world
    engine = services.store.engine
    msg = request("good-visa", amount=1500)
    _, first = runner.prepare(AuthContext(request=dict(msg)))
    _, second = runner.prepare(AuthContext(request=dict(msg)))
    first_answer, second_answer = second_while_first_uncommitted(services, first, second)
    assert first_answer["39"] == "00"
    assert second_answer == first_answer  # the same approval code and RRN: the stored answer
    day, month = periods(AuthContext(request={}).now).values()
    assert counters(services, "good-visa") == [(day, 1500, 1), (month, 1500, 1)]  # counted once (N15)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM auth_requests")).scalar() == 1


def test_a_booking_behind_another_process_decline_is_rolled_back(both_world):
    """Another process answered the request 91 (its database was too slow) without booking it; this one
    approved and booked it, then finds that answer in the journal. The terminal gets the 91, so this
    process's debit and count must go with it: the cardholder is never charged for a declined answer."""
    runner, services, funds = both_world
    msg = request("good-visa", amount=2500)
    slow = AuthContext(request=dict(msg))
    _, slow_job = runner.prepare(slow)
    _, job = runner.prepare(AuthContext(request=dict(msg)))  # checked before the 91 was journalled
    slow.deadline = time.monotonic() - 1
    assert run_job(services, slow_job)["39"] == "91"
    account = services.store.find_card(card("good-visa")["pan"]).account_id
    before = funds.balance(account)
    assert run_job(services, job)["39"] == "91"  # the stored answer
    assert funds.balance(account) == before  # its booking was rolled back with it
    assert counters(services, "good-visa") == []  # and its count (N15)


def test_a_reversal_another_process_gave_first_is_not_uncounted_twice(both_world):
    """Two processes got the same 0400 at once: the second read the original before the first committed
    its reversal, so it took the sale off the limit counters too (N15). Its journal insert then finds the
    first's answer, and its un-count is rolled back with the rest of its job."""
    runner, services, _ = both_world
    sale = request("good-visa", amount=1500)
    _, job = runner.prepare(AuthContext(request=dict(sale)))
    assert run_job(services, job)["39"] == "00"
    reversal = request("good-visa", mti="0400", amount=1500, pin=None,
                       **{"90": f"0200{sale['11']}{sale['7']}".ljust(42, "0")})
    _, first = runner.prepare(AuthContext(request=dict(reversal)))
    _, second = runner.prepare(AuthContext(request=dict(reversal)))
    first_answer, second_answer = second_while_first_uncommitted(services, first, second)
    assert first_answer["39"] == "00" and second_answer == first_answer
    day, month = periods(AuthContext(request={}).now).values()
    assert counters(services, "good-visa") == [(day, 0, 0), (month, 0, 0)]  # not -1500, -1
