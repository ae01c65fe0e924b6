"""The booking rules, in memory: one Batch applies a list of events to locked account state.

The database layer (core.py) loads and locks every row a batch can touch, runs the batch here, and
writes back what changed; so the rules below are the whole semantics and run at Python speed.
"""

from __future__ import annotations

from dataclasses import replace
from operator import attrgetter

from switch.ledger.types import (
    AMOUNT_MAX,
    ID_MAX,
    Account,
    CreateTransferResult,
    PendingStatus,
    Transfer,
    TransferFlags,
)

R = CreateTransferResult
F = TransferFlags
_LINKED, _PENDING, _POST, _VOID = int(F.LINKED), int(F.PENDING), int(F.POST_PENDING_TRANSFER), int(F.VOID_PENDING_TRANSFER)
_BAL_DR, _BAL_CR = int(F.BALANCING_DEBIT), int(F.BALANCING_CREDIT)
_DMNEC, _CMNED = 2, 4  # AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS, CREDITS_MUST_NOT_EXCEED_DEBITS
_NS = 1_000_000_000
_transfer_fields = attrgetter(*Transfer.__slots__)  # a Transfer as a tuple, in field order (in C)


class PendingState:
    __slots__ = ("transfer", "status", "expires_at", "new")

    def __init__(self, transfer: Transfer, status: int, expires_at: int | None, new: bool) -> None:
        self.transfer, self.status, self.expires_at, self.new = transfer, status, expires_at, new


class Batch:
    """Applies transfers in order; later events see the effects of earlier ones (TigerBeetle order)."""

    def __init__(self, accounts: dict[int, Account], existing: dict[int, Transfer],
                 pendings: dict[int, PendingState], now_ns: int) -> None:
        self.accounts = accounts
        self.existing = existing
        self.pendings = pendings
        self.now = now_ns
        self.new: dict[int, Transfer] = {}
        self.dirty_accounts: set[int] = set()
        self.dirty_pendings: set[int] = set()
        self.expired = 0
        self._undo: list | None = None

    # -- chains ---------------------------------------------------------------------------------------
    def run(self, transfers: list[Transfer]) -> list[CreateTransferResult]:
        results: list[CreateTransferResult] = [R.OK] * len(transfers)
        i, n = 0, len(transfers)
        while i < n:
            j = i
            while j < n and transfers[j].flags & _LINKED:
                j += 1
            if j == n:  # the last event of the batch must close its chain
                for k in range(i, n):
                    results[k] = R.LINKED_EVENT_FAILED
                results[n - 1] = R.LINKED_EVENT_CHAIN_OPEN
                break
            if i == j:
                results[i] = self._create(transfers[i])
            else:
                self._chain(transfers, i, j, results)
            i = j + 1
        return results

    def _chain(self, transfers: list[Transfer], i: int, j: int, results: list) -> None:
        self._undo = []
        try:
            for k in range(i, j + 1):
                result = self._create(transfers[k])
                if result is not R.OK:
                    self._rollback()
                    for m in range(i, j + 1):
                        results[m] = R.LINKED_EVENT_FAILED
                    results[k] = result
                    return
        finally:
            self._undo = None

    def _rollback(self) -> None:
        for entry in reversed(self._undo):
            kind = entry[0]
            if kind == "a":
                acct = entry[1]
                acct.debits_pending, acct.debits_posted, acct.credits_pending, acct.credits_posted = entry[2]
            elif kind == "t":
                del self.new[entry[1]]
                self.pendings.pop(entry[1], None)
            else:  # "p": a pending transfer's status
                self.pendings[entry[1]].status = entry[2]

    def _touch(self, acct: Account) -> None:
        if self._undo is not None:
            self._undo.append(("a", acct, (acct.debits_pending, acct.debits_posted,
                                           acct.credits_pending, acct.credits_posted)))
        self.dirty_accounts.add(acct.id)

    def _set_status(self, state: PendingState, pid: int, status: int) -> None:
        if self._undo is not None:
            self._undo.append(("p", pid, state.status))
        state.status = status
        self.dirty_pendings.add(pid)

    # -- expiry ---------------------------------------------------------------------------------------
    def expire_overdue(self) -> None:
        """Release every loaded hold whose timeout has passed (TigerBeetle expires them on its clock)."""
        for pid, state in self.pendings.items():
            if state.status == PendingStatus.PENDING and state.expires_at is not None and state.expires_at <= self.now:
                p = state.transfer
                dr, cr = self.accounts[p.debit_account_id], self.accounts[p.credit_account_id]
                self._touch(dr)
                self._touch(cr)
                dr.debits_pending -= p.amount
                cr.credits_pending -= p.amount
                self._set_status(state, pid, PendingStatus.EXPIRED)
                self.expired += 1

    # -- one transfer ---------------------------------------------------------------------------------
    def _create(self, t: Transfer) -> CreateTransferResult:
        if t.id == 0:
            return R.ID_MUST_NOT_BE_ZERO
        if t.id >= ID_MAX:
            return R.ID_MUST_NOT_BE_INT_MAX
        flags = t.flags
        if _flags_clash(flags):
            return R.FLAGS_ARE_MUTUALLY_EXCLUSIVE
        e = self.existing.get(t.id) or self.new.get(t.id)
        if e is not None:
            return _exists(t, e)
        if flags & (_POST | _VOID):
            return self._post_or_void(t)
        if t.debit_account_id == 0:
            return R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO
        if t.credit_account_id == 0:
            return R.CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO
        if t.debit_account_id == t.credit_account_id:
            return R.ACCOUNTS_MUST_BE_DIFFERENT
        if t.pending_id != 0:
            return R.PENDING_ID_MUST_BE_ZERO
        if not flags & _PENDING and t.timeout != 0:
            return R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER
        if t.amount < 0:
            return R.AMOUNT_MUST_NOT_BE_NEGATIVE
        if t.ledger == 0:
            return R.LEDGER_MUST_NOT_BE_ZERO
        if t.code == 0:
            return R.CODE_MUST_NOT_BE_ZERO
        dr = self.accounts.get(t.debit_account_id)
        if dr is None:
            return R.DEBIT_ACCOUNT_NOT_FOUND
        cr = self.accounts.get(t.credit_account_id)
        if cr is None:
            return R.CREDIT_ACCOUNT_NOT_FOUND
        if dr.ledger != cr.ledger:
            return R.ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER
        if t.ledger != dr.ledger:
            return R.TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS
        return self._book(t, dr, cr)

    def _book(self, t: Transfer, dr: Account, cr: Account) -> CreateTransferResult:
        amount, flags = t.amount, t.flags
        if flags & _BAL_DR:
            amount = min(amount, max(0, dr.credits_posted - dr.debits_pending - dr.debits_posted))
        if flags & _BAL_CR:
            amount = min(amount, max(0, cr.debits_posted - cr.credits_pending - cr.credits_posted))
        dr_total = dr.debits_pending + dr.debits_posted + amount
        cr_total = cr.credits_pending + cr.credits_posted + amount
        if dr_total > AMOUNT_MAX:
            return R.OVERFLOWS_DEBITS
        if cr_total > AMOUNT_MAX:
            return R.OVERFLOWS_CREDITS
        expires_at = None
        if flags & _PENDING and t.timeout:
            expires_at = self.now + t.timeout * _NS
            if expires_at > AMOUNT_MAX:
                return R.OVERFLOWS_TIMEOUT
        if dr.flags & _DMNEC and dr_total > dr.credits_posted:
            return R.EXCEEDS_CREDITS
        if cr.flags & _CMNED and cr_total > cr.debits_posted:
            return R.EXCEEDS_DEBITS
        self._touch(dr)
        self._touch(cr)
        stored = Transfer(*_transfer_fields(t))  # the caller's object stays as given (replace() is slow)
        stored.amount = amount
        if flags & _PENDING:
            dr.debits_pending += amount
            cr.credits_pending += amount
            self.pendings[t.id] = PendingState(stored, PendingStatus.PENDING, expires_at, True)
        else:
            dr.debits_posted += amount
            cr.credits_posted += amount
        self._add(stored)
        return R.OK

    def _add(self, stored: Transfer) -> None:
        stored.timestamp = self.now + len(self.new)
        self.new[stored.id] = stored
        if self._undo is not None:
            self._undo.append(("t", stored.id))

    def _post_or_void(self, t: Transfer) -> CreateTransferResult:
        if t.pending_id == 0:
            return R.PENDING_ID_MUST_NOT_BE_ZERO
        if t.pending_id == t.id:
            return R.PENDING_ID_MUST_BE_DIFFERENT
        if t.timeout != 0:
            return R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER
        if t.amount < 0:
            return R.AMOUNT_MUST_NOT_BE_NEGATIVE
        state = self.pendings.get(t.pending_id)
        if state is None:
            found = self.existing.get(t.pending_id) or self.new.get(t.pending_id)
            return R.PENDING_TRANSFER_NOT_PENDING if found else R.PENDING_TRANSFER_NOT_FOUND
        p = state.transfer
        mismatch = _pending_mismatch(t, p)
        if mismatch is not None:
            return mismatch
        if t.flags & _POST:
            amount = p.amount if t.amount == AMOUNT_MAX else t.amount
            if amount > p.amount:
                return R.EXCEEDS_PENDING_TRANSFER_AMOUNT
        else:
            if t.amount not in (0, p.amount, AMOUNT_MAX):
                return R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT
            amount = p.amount
        status = state.status
        if status == PendingStatus.POSTED:
            return R.PENDING_TRANSFER_ALREADY_POSTED
        if status == PendingStatus.VOIDED:
            return R.PENDING_TRANSFER_ALREADY_VOIDED
        if status == PendingStatus.EXPIRED:
            return R.PENDING_TRANSFER_EXPIRED
        dr, cr = self.accounts[p.debit_account_id], self.accounts[p.credit_account_id]
        if t.flags & _POST and (dr.debits_posted + amount > AMOUNT_MAX or cr.credits_posted + amount > AMOUNT_MAX):
            return R.OVERFLOWS_DEBITS
        self._touch(dr)
        self._touch(cr)
        dr.debits_pending -= p.amount
        cr.credits_pending -= p.amount
        if t.flags & _POST:
            dr.debits_posted += amount
            cr.credits_posted += amount
        self._set_status(state, t.pending_id, PendingStatus.POSTED if t.flags & _POST else PendingStatus.VOIDED)
        self._add(replace(t, debit_account_id=p.debit_account_id, credit_account_id=p.credit_account_id,
                          amount=amount, ledger=p.ledger, code=p.code,
                          user_data_64=t.user_data_64 or p.user_data_64,
                          user_data_32=t.user_data_32 or p.user_data_32))
        return R.OK


def _flags_clash(flags: int) -> bool:
    post_void = flags & (_POST | _VOID)
    if post_void == (_POST | _VOID):
        return True
    return bool(post_void and flags & (_PENDING | _BAL_DR | _BAL_CR))


def _pending_mismatch(t: Transfer, p: Transfer) -> CreateTransferResult | None:
    if not p.flags & _PENDING:
        return R.PENDING_TRANSFER_NOT_PENDING
    if t.debit_account_id and t.debit_account_id != p.debit_account_id:
        return R.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID
    if t.credit_account_id and t.credit_account_id != p.credit_account_id:
        return R.PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID
    if t.ledger and t.ledger != p.ledger:
        return R.PENDING_TRANSFER_HAS_DIFFERENT_LEDGER
    if t.code and t.code != p.code:
        return R.PENDING_TRANSFER_HAS_DIFFERENT_CODE
    return None


def _exists(t: Transfer, e: Transfer) -> CreateTransferResult:
    """Same id again: `exists` only if every field the client chose matches the stored transfer."""
    if t.flags != e.flags:
        return R.EXISTS_WITH_DIFFERENT_FLAGS
    post_void = t.flags & (_POST | _VOID)
    if t.pending_id != e.pending_id:
        return R.EXISTS_WITH_DIFFERENT_PENDING_ID
    if not post_void or t.debit_account_id:
        if t.debit_account_id != e.debit_account_id:
            return R.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID
    if not post_void or t.credit_account_id:
        if t.credit_account_id != e.credit_account_id:
            return R.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID
    if post_void and t.amount in (0, AMOUNT_MAX):
        pass  # "the full amount" of a post, or a void: the stored amount is the pending one
    elif t.flags & (_BAL_DR | _BAL_CR):
        if t.amount < e.amount:  # a balancing transfer may have booked less than asked, never more
            return R.EXISTS_WITH_DIFFERENT_AMOUNT
    elif t.amount != e.amount:
        return R.EXISTS_WITH_DIFFERENT_AMOUNT
    if (t.user_data_64 or not post_void) and t.user_data_64 != e.user_data_64:
        return R.EXISTS_WITH_DIFFERENT_USER_DATA_64
    if (t.user_data_32 or not post_void) and t.user_data_32 != e.user_data_32:
        return R.EXISTS_WITH_DIFFERENT_USER_DATA_32
    if t.timeout != e.timeout:
        return R.EXISTS_WITH_DIFFERENT_TIMEOUT
    if t.code and t.code != e.code:
        return R.EXISTS_WITH_DIFFERENT_CODE
    return R.EXISTS
